#!/usr/bin/env bash
# `hyperntk widelr` end to end on a tiny configuration of the real data
# (Fashion-MNIST from dataset-fashion-mnist; skipped, exit 77, without it):
# errors naming the bad value; bit-identical results on 1 and 2 threads (the
# wall times under /timing excepted); --stop-after-cells then resume gives the
# file of an uninterrupted run; a wide cell stopped by SIGTERM after an epoch
# resumes from its per-epoch state to the same file; the schema and sanity of
# the values (accuracies in [0, 1], the standard parametrization's NTK about
# n times the ntk one's, the mean-field one's about 1/n times).
# Usage: test_widelr.sh PATH/TO/hyperntk WORKDIR
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/tests/cli/harness.sh"
require_fashion_mnist

"$bin" --help | grep -q "widelr" && ok || bad "hyperntk --help does not list widelr"
"$bin" widelr --help > help.txt && grep -q -- "--lr-exponents" help.txt && grep -q -- "--paper" help.txt &&
  grep -q "meanfield" help.txt && ok || bad "widelr --help: $(head -3 help.txt)"

t=(widelr --widths 8,32 --train-images 200 --test-images 100 --epochs 2 --runs 2 --batch 20 --ntk-inputs 16 --seed 3)
expect_error "bad param" 2 "--params 'ntk,nope': 'nope' is not a parametrization" -- "$bin" "${t[@]}" --params ntk,nope --out bad.h5
expect_error "twice" 2 "ntk is listed twice" -- "$bin" "${t[@]}" --params ntk,ntk --out bad.h5
expect_error "exponent" 2 "--lr-exponents '3': expected" -- "$bin" "${t[@]}" --lr-exponents 3 --out bad.h5
expect_error "scales" 2 "has 3 values and --lr-scales" -- "$bin" "${t[@]}" --lr-exponents 0,0.5,1 --lr-scales 1,2 --out bad.h5
expect_error "batch" 2 "--batch 500 exceeds --train-images 200" -- "$bin" "${t[@]}" --batch 500 --out bad.h5
expect_error "epochs 0" 2 "--epochs: '0' .* 1\.\." -- "$bin" "${t[@]}" --epochs 0 --out bad.h5
expect_error "missing data" 1 "no nodata/train-images-idx3-ubyte.gz nor nodata/train-images-idx3-ubyte" -- \
  "$bin" "${t[@]}" --data nodata --out bad.h5
expect_error "budget" 2 "over --mem-budget" -- "$bin" "${t[@]}" --mem-budget 0.001 --out bad.h5
[ ! -e bad.h5 ] && ok || bad "a failed run left bad.h5"

OMP_NUM_THREADS=1 "$bin" "${t[@]}" --out one.h5 > one.txt 2> one.err && ok || bad "1 thread: $(tail -3 one.err)"
OMP_NUM_THREADS=2 "$bin" "${t[@]}" --out two.h5 --log two.log > two.txt 2> two.err && ok || bad "2 threads: $(tail -3 two.err)"
"$bin" compare one.h5 two.h5 --ignore /timing > cmp.txt && ok || bad "1 vs 2 threads differ: $(head -5 cmp.txt)"
grep -q "epoch 2/2: test accuracy" two.log && ok || bad "--log has no epoch lines: $(head -3 two.log)"
grep -q "standard" one.txt && grep -q "lambda0" one.txt && ok || bad "report: $(head -5 one.txt)"
OMP_NUM_THREADS=2 "$bin" "${t[@]}" --out res.h5 --stop-after-cells 5 > /dev/null 2> stop.err
[ $? -eq 3 ] && [ -e res.h5.ckpt ] && [ ! -e res.h5 ] && ok || bad "--stop-after-cells 5: $(tail -2 stop.err)"
OMP_NUM_THREADS=2 "$bin" "${t[@]}" --out res.h5 > /dev/null 2> res.err && grep -q "resuming" res.err && ok ||
  bad "resume: $(tail -2 res.err)"
"$bin" compare one.h5 res.h5 --ignore /timing > cmp2.txt && ok || bad "resumed file differs: $(head -5 cmp2.txt)"
[ ! -e res.h5.ckpt ] && ok || bad "the checkpoint was not removed"

# a wide cell with per-epoch state, stopped by SIGTERM after its first epoch
w=(widelr --widths 3000 --params ntk --lr-exponents 0.5 --runs 1 --train-images 600 --test-images 100 --epochs 3
   --ntk-inputs 16 --state-width 1000 --seed 3)
OMP_NUM_THREADS=1 "$bin" "${w[@]}" --out ref.h5 > /dev/null 2> ref.err && ok || bad "state run: $(tail -2 ref.err)"
OMP_NUM_THREADS=1 "$bin" "${w[@]}" --out st.h5 --log st.log > /dev/null 2> st.err &
pid=$!
for i in $(seq 1 1200); do
  grep -q "epoch 1/3: test" st.log 2> /dev/null && break
  sleep 0.05
done
kill -TERM $pid
wait $pid
code=$?
if [ -e st.h5 ]; then
  echo "note: the run finished before SIGTERM; per-epoch resumption not exercised"
else
  [ $code -ne 0 ] && [ -e st.h5.ckpt.cell0 ] && ok || bad "SIGTERM: exit $code, no st.h5.ckpt.cell0: $(tail -2 st.err)"
  ls st.h5.tmp.* > /dev/null 2>&1 && bad "a temporary was left behind" || ok
  OMP_NUM_THREADS=1 "$bin" "${w[@]}" --out st.h5 --log st.log > /dev/null 2> st2.err && grep -q "resuming after epoch" st.log &&
    ok || bad "per-epoch resume: $(tail -2 st2.err)"
  [ ! -e st.h5.ckpt.cell0 ] && ok || bad "the epoch state was not removed"
fi
"$bin" compare ref.h5 st.h5 --ignore /timing > cmp3.txt && ok || bad "epoch-resumed file differs: $(head -5 cmp3.txt)"

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
for p in ("ntk", "standard", "meanfield"):
    a = f[p + "/test_accuracy"][...]
    need(a.shape == (2, 2, 2, 3), p + " accuracy shape %s" % (a.shape,))
    fin = a[np.isfinite(a)]
    need(np.all((fin >= 0) & (fin <= 1)), p + " accuracy outside [0, 1]")
    need(f[p + "/lambda_init"].shape == (2, 2, 2), p + " lambda shape")
    need(f[p + "/test_accuracy"].dims[1].label == "width n", p + " width scale")
ln, ls, lm = (f[p + "/lambda_init"][0, :, 0] for p in ("ntk", "standard", "meanfield"))
n = f["widths"][...]
need(np.all(ls / ln > 0.3 * n) and np.all(ls / ln < 3 * n + 800), "standard / ntk lambda %s for n %s" % (ls / ln, n))
need(np.allclose(lm * n, ln, rtol=1), "meanfield lambda x n %s vs ntk %s" % (lm * n, ln))
need(np.all(f["ntk/lambda_init"][...] == f["ntk/lambda_init"][0:1]), "lambda_init depends on the rate")
need(np.allclose(f["lr_table"][...], np.array([n ** 0.5, n ** 1.0])), "lr table")
l = f["ntk/test_loss"][0, :, :, :]
need(np.all(l[..., -1] < l[..., 0]), "ntk at lr = sqrt(n): the test loss does not decrease: %s" % l)
need(f["/figure/ntk/p0.5/test_accuracy"].shape == (3, 2), "figure shape")
need(f["/data/train_index"].shape == (200,) and len(set(f["/data/train_index"][...])) == 200, "train index")
need(f.attrs["params"] == "ntk,standard,meanfield" and f.attrs["epochs"] == 2, "attributes")
if bad:
    print("\n".join(bad)); sys.exit(1)
PY
else
  echo "note: no python3 with numpy and h5py: the schema checks were skipped"
fi
summary
