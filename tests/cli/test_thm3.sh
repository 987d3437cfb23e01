#!/usr/bin/env bash
# `hyperntk thm3` end to end: help and validation errors naming the value and
# range; a small grid with GD and one with SGD bit-identical on 1 and 2
# threads (dK/dt at t = 0 and training); --stop-after-cells then resume gives
# the file of an uninterrupted run; the MLP case has a g term of exactly 0;
# every dataset described.  (The training statistics are recomputed from the
# saved samples by tests/python/test_thm3.py; dK/dt itself by test_hessian.)
# Usage: test_thm3.sh PATH/TO/hyperntk WORKDIR
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/tests/cli/harness.sh"

"$bin" --help | grep -q "thm3" && ok || bad "hyperntk --help does not list thm3"
"$bin" thm3 --help > help.txt && grep -q "Usage: hyperntk thm3" help.txt && grep -q -- "--sgd-batch" help.txt &&
  grep -q -- "--paper" help.txt && ok || bad "thm3 --help: $(head -3 help.txt)"

a=("$bin" thm3 --out bad.h5 --f-widths 8,16 --g-widths 4,8 --samples 8)
expect_error "samples 7" 2 "--samples: '7' .* 8\.\." -- "${a[@]}" --samples 7
expect_error "lr 2" 2 "--lr: '2' .*1\.99" -- "${a[@]}" --lr 2
expect_error "train 65" 2 "--train: '65' .* 2\.\.64" -- "${a[@]}" --train 65
expect_error "sgd batch" 2 "--sgd-batch 9 is larger than the 8 training inputs: accepted 0..8" -- "${a[@]}" --sgd-batch 9
expect_error "mlp z-dim" 2 "--g-depth 1 .* needs --z-dim 1 .*not 3" -- "${a[@]}" --g-depth 1
expect_error "missing out" 2 "--out FILE is required" -- "$bin" thm3 --quick
[ ! -e bad.h5 ] && ok || bad "a failed run left bad.h5"

g=(thm3 --f-widths 8,32 --g-widths 4,16 --samples 10 --steps 6 --test 3)
for mode in gd sgd; do
  extra=(); [ $mode = sgd ] && extra=(--sgd-batch 3)
  OMP_NUM_THREADS=1 "$bin" "${g[@]}" "${extra[@]}" --save-samples --out ${mode}1.h5 > ${mode}1.txt 2> ${mode}1.err && ok || bad "$mode 1 thread: $(cat ${mode}1.err)"
  OMP_NUM_THREADS=2 "$bin" "${g[@]}" "${extra[@]}" --save-samples --out ${mode}2.h5 > ${mode}2.txt 2> ${mode}2.err && ok || bad "$mode 2 threads: $(cat ${mode}2.err)"
  "$bin" compare ${mode}1.h5 ${mode}2.h5 > cmp.txt && ok || bad "$mode: 1 and 2 threads differ: $(cat cmp.txt)"
done
grep -q "term through g's curvature" gd2.txt && grep -q "drift over training" gd2.txt && grep -q "minibatch SGD" sgd2.txt &&
  ok || bad "thm3 report incomplete"

export OMP_NUM_THREADS=2
"$bin" "${g[@]}" --save-samples --out part.h5 --stop-after-cells 2 > /dev/null 2>&1
[ $? -eq 3 ] && [ -e part.h5.ckpt ] && [ ! -e part.h5 ] && ok || bad "--stop-after-cells: no exit 3 or no checkpoint"
"$bin" "${g[@]}" --save-samples --out part.h5 > /dev/null 2> part.err && "$bin" compare part.h5 gd2.h5 > cmp.txt && ok ||
  bad "resumed run differs: $(cat cmp.txt part.err)"

# the plain MLP: the term through g's curvature is exactly 0
"$bin" thm3 --mlp --f-widths 8,32 --samples 8 --steps 3 --out mlp.h5 > mlp.txt 2> mlp.err && ok || bad "mlp: $(cat mlp.err)"
v=$("$bin" export mlp.h5 dK_g --no-header | tr '\n' ' ')
[ "$(echo $v)" = "0 0" ] && ok || bad "MLP dK_g = '$v', want 0 0"

find_python h5py,numpy
if [ -n "$python" ]; then
  "$python" "$src/tests/check_result_files.py" gd2.h5 sgd2.h5 mlp.h5 > chk.txt 2>&1 && ok || bad "undescribed datasets: $(cat chk.txt)"
fi
summary
