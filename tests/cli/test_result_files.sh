#!/usr/bin/env bash
# Every dataset of the committed result files (results/*.h5) carries a non-empty
# `description` attribute: tests/check_result_files.py lists the ones that do not.
# Also checks the checker on files made here (one described, one not).  Needs
# python3-h5py; when no python3 imports h5py the test says it was skipped and passes.
# Usage: test_result_files.sh PATH/TO/hyperntk WORKDIR
here=$(cd "$(dirname "$0")" && pwd)
checker=$here/../check_result_files.py
. "$here/harness.sh"

find_python h5py,numpy
if [ -z "$python" ]; then
  echo "skipped: no python3 imports h5py and numpy (apt-get install python3-h5py python3-numpy)."
  echo "The result files were NOT checked for descriptions."
  exit 0
fi

# ---- the checker itself, on files made here ----
"$python" - << 'PY' || bad "h5py could not write the test files"
import h5py, numpy as np
with h5py.File("good.h5", "w") as f:
    f["a"] = np.zeros(3); f["a"].attrs["description"] = "zeros"
    f["g/b"] = np.ones(2); f["g/b"].attrs["description"] = np.bytes_(b"ones, fixed-length")
with h5py.File("bad.h5", "w") as f:
    f["a"] = np.zeros(3); f["a"].attrs["description"] = "zeros"
    f["g/nodesc"] = np.ones(2)
    f["g/empty"] = np.ones(2); f["g/empty"].attrs["description"] = "  "
PY
"$python" "$checker" good.h5 > out.txt 2>&1 && grep -q "all 2 datasets in 1 result files have a description" out.txt &&
  ok || bad "checker on a described file: $(cat out.txt)"
"$python" "$checker" bad.h5 > out.txt 2>&1
[ $? -eq 1 ] && grep -qx "bad.h5: /g/empty" out.txt && grep -qx "bad.h5: /g/nodesc" out.txt &&
  ! grep -q "bad.h5: /a" out.txt && grep -q "^2 of 3 datasets" out.txt && ok || bad "checker on bad.h5: $(cat out.txt)"
"$python" "$checker" missing.h5 > out.txt 2>&1
[ $? -eq 2 ] && grep -q "missing.h5: cannot read" out.txt && ok || bad "checker on a missing file: $(cat out.txt)"

# ---- files the program writes now: hyperntk analytic (one and two input sets, fixed features) ----
"$bin" inputs --out in1.h5 --count 3 > /dev/null && "$bin" inputs --out in2.h5 --count 4 --seed 2 > /dev/null &&
  "$bin" analytic --inputs in1.h5 --out an1.h5 > /dev/null &&
  "$bin" analytic --inputs in1.h5 --inputs2 in2.h5 --out an2.h5 --fourier 5 --fourier-draw fixed > /dev/null && ok ||
  bad "hyperntk analytic could not write its files"
"$python" "$checker" an1.h5 an2.h5 > out.txt 2>&1 && grep -q "all .* datasets in 2 result files have a description" out.txt &&
  ok || bad "hyperntk analytic wrote a dataset without a description: $(cat out.txt)"

# ---- hyperntk thm2 (a 2 x 2 grid, with --save-samples) ----
"$bin" thm2 --f-widths 5,10 --g-widths 3,6 --samples 40 --null-replicates 2 --save-samples --out t2.h5 > /dev/null 2>&1 &&
  "$python" "$checker" t2.h5 > out.txt 2>&1 && grep -q "all .* datasets in 1 result files have a description" out.txt &&
  ok || bad "hyperntk thm2 wrote a dataset without a description: $(cat out.txt)"

# ---- hyperntk thm3 (a 2 x 2 grid with training, with --save-samples) ----
"$bin" thm3 --f-widths 5,10 --g-widths 3,6 --samples 8 --steps 3 --save-samples --out t3.h5 > /dev/null 2>&1 &&
  "$python" "$checker" t3.h5 > out.txt 2>&1 && grep -q "all .* datasets in 1 result files have a description" out.txt &&
  ok || bad "hyperntk thm3 wrote a dataset without a description: $(cat out.txt)"

# ---- the committed results ----
"$python" "$checker" > out.txt 2>&1
code=$?
[ $code -eq 0 ] && ok || bad "datasets in results/*.h5 without a description (exit $code):
$(cat out.txt)"
tail -1 out.txt
summary
