#!/usr/bin/env bash
# hyperntk against an independent framework: bench/torch_peer.py rebuilds the
# hypernetwork in PyTorch (float64), loads the weights `hyperntk kernel
# --dump-weights` exported and checks h and K^h (explicit Jacobian J J^T, and
# the factorization written in PyTorch) to 1e-10 relative, on four
# configurations including Figure 1(b)'s; then a short timing run exercises the
# timing code (its numbers are printed, never asserted).
# Needs python3-torch, python3-h5py, python3-numpy (scripts/install-deps); when
# no python3 can import torch and h5py the test says it was skipped and passes.
# Usage: test_torch_peer.sh PATH/TO/hyperntk WORKDIR
here=$(cd "$(dirname "$0")" && pwd)
peer=$here/../../bench/torch_peer.py
. "$here/harness.sh"

# The python3 on PATH may be another installation (pyenv, a venv) than Debian's,
# which is where python3-torch installs: try both.
find_python torch,h5py,numpy
if [ -z "$python" ]; then
  echo "skipped: PyTorch not installed (no python3 imports torch, h5py and numpy; scripts/install-deps installs"
  echo "python3-torch python3-h5py python3-numpy).  The PyTorch equality check did NOT run."
  exit 0
fi
echo "using $python ($("$python" -c 'import torch; print("PyTorch", torch.__version__)'))"

# ---- the dump option's own errors ----
"$bin" inputs --out in.h5 --count 3 > /dev/null && ok || bad "inputs"
"$bin" kernel --inputs in.h5 --out k.h5 --samples 3 --dump-sample 1 > out.txt 2> err.txt
[ $? -eq 2 ] && grep -q -- "--dump-sample needs --dump-weights FILE" err.txt && ok || bad "dump-sample alone: $(cat err.txt)"
"$bin" kernel --inputs in.h5 --out k.h5 --samples 3 --dump-weights d.h5 --dump-sample 3 > out.txt 2> err.txt
[ $? -eq 2 ] && grep -q "3 is not a sample of this run: accepted 0..2" err.txt && ok || bad "dump-sample 3: $(cat err.txt)"
"$bin" kernel --inputs in.h5 --out k.h5 --samples 3 --dump-weights k.h5 > out.txt 2> err.txt
[ $? -eq 2 ] && grep -q "also the --out file" err.txt && ok || bad "dump onto --out: $(cat err.txt)"
[ ! -e d.h5 ] && ok || bad "a refused run left d.h5"

# ---- the dumped sample is sample I of the run: same bits at 1 and 2 threads ----
args=(kernel --inputs in.h5 --f-width 30 --g-width 6 --samples 4 --seed 3 --dump-sample 2)
OMP_NUM_THREADS=1 "$bin" "${args[@]}" --out k1.h5 --dump-weights d1.h5 > /dev/null && ok || bad "dump run (1 thread)"
OMP_NUM_THREADS=2 "$bin" "${args[@]}" --out k2.h5 --dump-weights d2.h5 > /dev/null && ok || bad "dump run (2 threads)"
for name in /W1 /W2 /W3 /x /z /h /ntk; do
  # (the first line of export names the file)
  "$bin" export d1.h5 "$name" 2> /dev/null | grep -v '^#' > a.txt && "$bin" export d2.h5 "$name" 2> /dev/null |
    grep -v '^#' > b.txt && [ -s a.txt ] && cmp -s a.txt b.txt && ok ||
    bad "dataset $name missing or different between thread counts"
done
[ "$("$bin" export d1.h5 --attr sample)" = "2" ] && ok || bad "attribute sample is not 2"

# ---- PyTorch: equality checks (4 configurations) and a short timing run ----
"$python" "$peer" --hyperntk "$bin" --work peer --fig1b-check --samples 4 --jacobian-samples 2 > peer.txt 2>&1
code=$?
cat peer.txt
[ $code -eq 0 ] && ok || bad "torch_peer.py exited $code"
[ "$(grep -c ' ok$' peer.txt)" -eq 4 ] && ok || bad "expected 4 configurations checked ok"
grep -q "^\[check\] 4 passed, 0 failed" peer.txt && ok || bad "check summary"
grep -Eq "^  1 +[0-9.]+ explicit Jacobian J J\^T +[0-9.]+ +[0-9.]+x" peer.txt && ok || bad "no 1-thread timing row"
grep -Eq "^  2 +[0-9.]+ factorized" peer.txt && ok || bad "no 2-thread timing row"

summary
