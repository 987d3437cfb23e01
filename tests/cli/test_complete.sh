#!/usr/bin/env bash
# `hyperntk complete` end to end on a tiny configuration of the real data
# (Fashion-MNIST from dataset-fashion-mnist; skipped, exit 77, without it):
# errors naming the bad file or value; bit-identical results on 1 and 2
# threads (the wall times under /timing excepted); --stop-after-cells then
# resume gives the file of an uninterrupted run; the schema; the trained
# hypernetwork's loss decreases; every MSE finite, the kernels beat the mean
# image at the largest size; the IDX errors of a broken --data directory.
# Usage: test_complete.sh PATH/TO/hyperntk WORKDIR
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/tests/cli/harness.sh"
require_fashion_mnist

"$bin" --help | grep -q "complete" && ok || bad "hyperntk --help does not list complete"
"$bin" complete --help > help.txt && grep -q -- "--ridges" help.txt && grep -q -- "--paper" help.txt && ok ||
  bad "complete --help: $(head -3 help.txt)"

t=(complete --train-sizes 8,24 --splits 2 --test-images 4 --val-images 3 --subset-images 16 --coords 6
   --f-width 32 --g-width 8 --fourier-features 8 --epochs 3 --lrs 0.05,0.2 --interp-train 12 --interp-steps 3
   --show 2 --seed 3)
expect_error "missing data" 1 "no nodata/train-images-idx3-ubyte.gz nor nodata/train-images-idx3-ubyte" -- \
  "$bin" "${t[@]}" --data nodata --out bad.h5
mkdir -p broken && printf '\x00\x00\x08\x03\x00\x00\x00\x02' > broken/train-images-idx3-ubyte
expect_error "truncated images" 1 "broken/train-images-idx3-ubyte: truncated IDX header" -- \
  "$bin" "${t[@]}" --data broken --out bad.h5
expect_error "ridges" 2 "--ridges 'x': expected" -- "$bin" "${t[@]}" --ridges x --out bad.h5
expect_error "splits 1" 2 "--splits: '1' .* 2\.\." -- "$bin" "${t[@]}" --splits 1 --out bad.h5
[ ! -e bad.h5 ] && ok || bad "a failed run left bad.h5"

OMP_NUM_THREADS=1 "$bin" "${t[@]}" --out one.h5 > one.txt 2> one.err && ok || bad "1 thread: $(tail -3 one.err)"
OMP_NUM_THREADS=2 "$bin" "${t[@]}" --out two.h5 > two.txt 2> two.err && ok || bad "2 threads: $(tail -3 two.err)"
"$bin" compare one.h5 two.h5 --ignore /timing > cmp.txt && ok || bad "1 vs 2 threads differ: $(head -5 cmp.txt)"
OMP_NUM_THREADS=2 "$bin" "${t[@]}" --out res.h5 --stop-after-cells 3 > /dev/null 2> stop.err
[ $? -eq 3 ] && [ -e res.h5.ckpt ] && ok || bad "--stop-after-cells 3: $(tail -2 stop.err)"
OMP_NUM_THREADS=2 "$bin" "${t[@]}" --out res.h5 > /dev/null 2> res.err && grep -q "resuming" res.err && ok ||
  bad "resume: $(tail -2 res.err)"
"$bin" compare one.h5 res.h5 --ignore /timing > cmp2.txt && ok || bad "resumed file differs: $(head -5 cmp2.txt)"

find_python numpy,h5py
if [ -n "$python" ]; then
  "$python" - one.h5 <<'PY' && ok || bad "schema / values of one.h5"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
bad = []
def need(c, what):
    if not c: bad.append(what)
def walk(name, obj):
    if isinstance(obj, h5py.Dataset):
        need(len(obj.attrs.get("description", "")) > 0, name + " has no description")
f.visititems(walk)
m = f["/table/mse"][...]
need(m.shape == (2, 2, 4), "table shape %s" % (m.shape,))
need(np.all(np.isfinite(m)) and np.all(m > 0) and np.all(m < 1), "MSE out of (0, 1): %s" % m)
for meth in ("hyperkernel", "hypergp", "hypernet", "mean_image"):
    need(f["/mse/" + meth].shape == (2, 2, 2, 4), meth + " shape")
# more data helps the hyperkernel on completion (8 -> 24 images; split means)
need(m[0, 1, 0] < m[0, 0, 0], "hyperkernel MSE %g at N = 24 not below %g at N = 8" % (m[0, 1, 0], m[0, 0, 0]))
# the chosen lr's training loss decreases over the epochs in every cell
loss = f["/train/loss"][...]
need(np.all(loss[..., -1] < loss[..., 0]), "training loss does not decrease: %s" % loss[..., [0, -1]])
need(set(np.unique(f["/selected/eps_hyperkernel"][...])) <= set(f["/validation/ridges"][...]), "eps not a candidate")
need(f["/interp/hyperkernel"].shape == (2, 3, 28, 28), "interp shape")
# the hyperkernel strip's ends are the two completions, its middle their average (linearity)
hk = f["/interp/hyperkernel"][0]
need(np.allclose(hk[1], 0.5 * (hk[0] + hk[2]), atol=1e-12), "hyperkernel interpolation is not the cross-fade")
need(f["/inputs/features"].shape == (784, 8) and f["/images/split_order"].shape[0] == 2, "inputs")
need(f.attrs["ridges"] == "0.01,0.1,1", "ridges attribute")
if bad:
    print("\n".join(bad)); sys.exit(1)
PY
else
  echo "note: no python3 with numpy and h5py: the schema checks were skipped"
fi
summary
