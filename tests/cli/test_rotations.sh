#!/usr/bin/env bash
# `hyperntk rotations` end to end on a tiny configuration of the real data
# (Fashion-MNIST from dataset-fashion-mnist; skipped, exit 77, without it):
# help and errors naming the value and range; both parametrizations run;
# bit-identical results on 1 and 2 threads and on 2 MPI ranks; --stop-after-cells then resume
# gives the file of an uninterrupted run; the schema (every dataset described;
# biases: none; the figure tables' rows and ranges: accuracies in [0, 1],
# epoch 0 the same in every cell of a (depth, width): the same initialization
# and test angles for every rate).
# Usage: test_rotations.sh PATH/TO/hyperntk WORKDIR
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/tests/cli/harness.sh"
require_fashion_mnist

"$bin" --help | grep -q "rotations" && ok || bad "hyperntk --help does not list rotations"
"$bin" rotations --help > help.txt && grep -q -- "--parametrization" help.txt && grep -q -- "--paper" help.txt &&
  grep -q -- "--quick" help.txt && ok || bad "rotations --help: $(head -3 help.txt)"

t=(rotations --f-width 16 --g-depths 2,3 --g-widths 4,8 --lr-exponents -2,-1 --runs 2 --epochs 2 --train-images 48
   --test-images 20 --batch 16 --seed 5)
expect_error "runs 1" 2 "--runs: '1' .* 2\.\." -- "$bin" "${t[@]}" --runs 1 --out bad.h5
expect_error "g-depth 1" 2 "--g-depths: '1' .* 2\.\.32" -- "$bin" "${t[@]}" --g-depths 1 --out bad.h5
expect_error "parametrization" 2 "--parametrization: 'mup'.*ntk, standard" -- "$bin" "${t[@]}" --parametrization mup --out bad.h5
expect_error "missing data" 1 "no nodata/train-images-idx3-ubyte.gz nor nodata/train-images-idx3-ubyte" -- \
  "$bin" "${t[@]}" --data nodata --out bad.h5
expect_error "missing out" 2 "--out FILE is required" -- "$bin" rotations
[ ! -e bad.h5 ] && ok || bad "a failed run left bad.h5"

for p in ntk standard; do
  OMP_NUM_THREADS=1 "$bin" "${t[@]}" --parametrization $p --out ${p}1.h5 > ${p}1.txt 2> ${p}1.err && ok ||
    bad "$p, 1 thread: $(tail -3 ${p}1.err)"
  OMP_NUM_THREADS=2 "$bin" "${t[@]}" --parametrization $p --out ${p}2.h5 > ${p}2.txt 2> ${p}2.err && ok ||
    bad "$p, 2 threads: $(tail -3 ${p}2.err)"
  "$bin" compare ${p}1.h5 ${p}2.h5 > cmp.txt && ok || bad "$p: 1 and 2 threads differ: $(head -5 cmp.txt)"
  grep -q "test accuracy after 2 epochs" ${p}2.txt && ok || bad "$p: no table: $(head -5 ${p}2.txt)"
done
"$bin" compare ntk2.h5 standard2.h5 > /dev/null 2>&1 && bad "ntk and standard give the same file" || ok
[ "$("$bin" export standard2.h5 --attr biases)" = none ] && [ "$("$bin" export ntk2.h5 --attr parametrization)" = ntk ] &&
  ok || bad "attributes biases/parametrization: $("$bin" export standard2.h5 --attr biases)"

# --bias: every layer of f and g gets a bias; a different file, the same for 1 and 2 threads
OMP_NUM_THREADS=1 "$bin" "${t[@]}" --parametrization standard --bias --out bias1.h5 > bias1.txt 2> bias1.err && ok ||
  bad "--bias, 1 thread: $(tail -3 bias1.err)"
OMP_NUM_THREADS=2 "$bin" "${t[@]}" --parametrization standard --bias --out bias2.h5 > /dev/null 2> bias2.err &&
  "$bin" compare bias1.h5 bias2.h5 > cmp.txt && ok || bad "--bias: 1 and 2 threads differ: $(head -5 cmp.txt)"
"$bin" compare bias1.h5 standard1.h5 > /dev/null 2>&1 && bad "--bias changed nothing" || ok
grep -q "standard parametrization (with biases)" bias1.txt && "$bin" export bias1.h5 --attr biases | grep -q "every layer" &&
  ok || bad "--bias not reported: $(head -2 bias1.txt)"

# resume after --stop-after-cells: the same file
export OMP_NUM_THREADS=2
"$bin" "${t[@]}" --parametrization ntk --out part.h5 --stop-after-cells 3 > /dev/null 2> stop.err
[ $? -eq 3 ] && [ -e part.h5.ckpt ] && [ ! -e part.h5 ] && ok || bad "--stop-after-cells: $(tail -2 stop.err)"
"$bin" "${t[@]}" --parametrization ntk --out part.h5 > /dev/null 2> part.err && grep -q resuming part.err &&
  "$bin" compare part.h5 ntk2.h5 > cmp.txt && ok || bad "resumed run differs: $(cat cmp.txt part.err)"

# 2 MPI ranks x 1 thread share the runs of every cell (grid.h): the file of one process with 2 threads
if ! "$bin" --version | grep -q "^MPI: none" && command -v mpirun > /dev/null 2>&1; then
  mpi=(timeout 300 mpirun --oversubscribe --bind-to none -x OMP_NUM_THREADS)
  [ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root)
  OMP_NUM_THREADS=1 "${mpi[@]}" -np 2 "$bin" "${t[@]}" --parametrization ntk --out mpi.h5 > /dev/null 2> mpi.err &&
    "$bin" compare mpi.h5 ntk2.h5 > cmp.txt && ok || bad "2 MPI ranks differ: $(cat cmp.txt; tail -3 mpi.err)"
else
  echo "note: no MPI build or no mpirun: the MPI check did NOT run"
fi

# the figure tables: 8 cells x 7 columns; 8 x 3 epoch rows; accuracies in [0, 1]
"$bin" export ntk2.h5 /figure/by_lr --no-header > bylr.txt
awk 'NF != 7 || $4 < 0 || $4 > 1 || $5 < 0 { bad = 1 } END { exit bad || NR != 8 }' bylr.txt && ok ||
  bad "/figure/by_lr: $(cat bylr.txt)"
"$bin" export ntk2.h5 /figure/by_epoch --no-header > byep.txt
# epoch 0 (at initialization) is the same for both rates of a (depth, width): same weights, same test angles
awk '$4 == 0 { k = $1 " " $2; if (k in a && a[k] != $5) bad = 1; a[k] = $5 } END { exit bad || NR != 24 }' byep.txt &&
  ok || bad "/figure/by_epoch: epoch 0 differs across rates: $(cat byep.txt)"
find_python h5py,numpy
if [ -n "$python" ]; then
  "$python" "$src/tests/check_result_files.py" ntk2.h5 standard2.h5 > chk.txt 2>&1 && ok || bad "undescribed datasets: $(cat chk.txt)"
fi
summary
