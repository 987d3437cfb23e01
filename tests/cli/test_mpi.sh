#!/usr/bin/env bash
# `mpirun -np K hyperntk kernel ...`: the samples are split across the ranks,
# reduced in sample order, and rank 0 writes a file bit-identical (apart from
# timing attributes) to the single-process run with the same seed, for K = 2
# and 3, any thread count per rank, and sample counts that do not divide
# evenly.  Only rank 0 prints; a failing run stops every rank and leaves no
# file.  Skipped, saying so, when hyperntk was built without MPI.
# Usage: test_mpi.sh PATH/TO/hyperntk WORKDIR
. "$(dirname "$0")/harness.sh"

# Two cores here: --oversubscribe allows more ranks than cores; Open MPI refuses root
# without --allow-run-as-root (CI runs as root).  timeout: a hang is a failure.
require_mpi

"$bin" inputs --out in.h5 --count 5 --x-dim 3 --z-dim 2 --seed 8 > /dev/null && ok || bad "inputs"

# run DIR NP THREADS ARGS...: the same command line (so the same command_line
# attribute) in its own folder; NP = 0 is the single-process run
run() {
  local dir=$1 np=$2 threads=$3
  shift 3
  mkdir -p "$dir"
  if [ "$np" -eq 0 ]; then
    (cd "$dir" && OMP_NUM_THREADS=$threads "$bin" "$@" > out.txt 2> err.txt)
  else
    (cd "$dir" && OMP_NUM_THREADS=$threads "${mpi[@]}" -np "$np" "$bin" "$@" > out.txt 2> err.txt)
  fi
}

args=(kernel --inputs ../in.h5 --f-depth 3 --f-width 120 --g-depth 2 --g-width 24 --samples 37 --seed 21 --out k.h5
      --dump-weights d.h5 --dump-sample 29)
run single 0 2 "${args[@]}" && ok || bad "single-process run: $(cat single/err.txt)"
for case in "2 1" "2 2" "3 1" "3 2"; do
  set -- $case
  dir=np$1_t$2
  if run "$dir" "$1" "$2" "${args[@]}"; then ok; else bad "mpirun -np $1 (OMP_NUM_THREADS=$2): $(cat $dir/err.txt)"; continue; fi
  "$bin" compare single/k.h5 "$dir/k.h5" > cmp.txt 2>&1 && ok ||
    bad "mpirun -np $1 with $2 threads per rank differs from the single process: $(cat cmp.txt)"
  "$bin" compare single/d.h5 "$dir/d.h5" > cmp.txt 2>&1 && ok ||
    bad "the weight dump under mpirun -np $1 differs: $(cat cmp.txt)"
  # only rank 0 prints: one table, one 'wrote' line naming the ranks
  [ "$(grep -c 'K^h mean' "$dir/out.txt")" -eq 1 ] && ok || bad "-np $1: the table is printed $(grep -c 'K^h mean' "$dir/out.txt") times"
  grep -q "wrote k.h5 (.* on $1 MPI ranks x $2 threads)" "$dir/out.txt" && ok || bad "-np $1: no 'wrote ... MPI ranks' line"
  ls "$dir"/*.tmp.* > /dev/null 2>&1 && bad "-np $1 left temporaries: $(ls "$dir"/*.tmp.*)" || ok
done

# fewer samples than ranks x threads: the last ranks have nothing to do
args2=(kernel --inputs ../in.h5 --f-width 40 --g-width 8 --samples 2 --seed 5 --out k.h5)
run small1 0 1 "${args2[@]}" && run small3 3 2 "${args2[@]}" && "$bin" compare small1/k.h5 small3/k.h5 > cmp.txt 2>&1 &&
  ok || bad "2 samples on 3 ranks: $(cat cmp.txt small3/err.txt 2> /dev/null)"

# a different seed changes the file (the comparison can fail)
run seed 2 1 kernel --inputs ../in.h5 --f-depth 3 --f-width 120 --g-depth 2 --g-width 24 --samples 37 --seed 22 \
  --out k.h5 && ok || bad "run with seed 22"
"$bin" compare single/k.h5 seed/k.h5 > /dev/null 2>&1 && bad "seeds 21 and 22 gave identical files" || ok

# the other drivers: Theorem 1 (its medians and bootstrap see every sample through the
# engine's `collect`, whichever rank computed it) and Figure 1(a)/(b) quick presets
t1args=(thm1 --configs L2_H2,L3_H1 --widths 16,32,64 --fit-widths 3 --samples 30 --samples-l2 30 --bootstrap 100 --orders 3
        --seed 4 --out t.h5)
rm -f cmp.txt
run thm1_single 0 2 "${t1args[@]}" && run thm1_np2 2 1 "${t1args[@]}" &&
  "$bin" compare thm1_single/t.h5 thm1_np2/t.h5 > cmp.txt 2>&1 && ok ||
  bad "thm1 under mpirun -np 2 differs from the single process: $(cat cmp.txt thm1_np2/err.txt 2> /dev/null)"
t1lazy=("${t1args[@]}" --sampler lazy)
run thm1_lazy_single 0 2 "${t1lazy[@]}" && run thm1_lazy_np2 2 1 "${t1lazy[@]}" &&
  "$bin" compare thm1_lazy_single/t.h5 thm1_lazy_np2/t.h5 > cmp.txt 2>&1 && ok ||
  bad "thm1 --sampler lazy under mpirun -np 2 differs from the single process: $(cat cmp.txt thm1_lazy_np2/err.txt 2> /dev/null)"
for fig in fig1a fig1b; do
  run ${fig}_single 0 2 $fig --quick --out f.h5 && run ${fig}_np2 2 1 $fig --quick --out f.h5 &&
    "$bin" compare ${fig}_single/f.h5 ${fig}_np2/f.h5 > cmp.txt 2>&1 && ok ||
    bad "$fig --quick under mpirun -np 2 differs from the single process: $(cat cmp.txt ${fig}_np2/err.txt 2> /dev/null)"
done

# a failing run stops every rank (no hang), exits non-zero, writes nothing
run failing 2 1 kernel --inputs ../in.h5 --f-width 0 --out k.h5
code=$?
[ $code -ne 0 ] && [ $code -ne 124 ] && ok || bad "an invalid option under mpirun exited $code (124 = hung)"
grep -q -- "--f-width: '0'" failing/err.txt && ok || bad "the error message is missing: $(cat failing/err.txt)"
[ ! -e failing/k.h5 ] && ok || bad "a failed MPI run left k.h5"
run missing 2 1 kernel --inputs ../nonexistent.h5 --out k.h5
code=$?
[ $code -ne 0 ] && [ $code -ne 124 ] && ok || bad "a missing inputs file under mpirun exited $code (124 = hung)"

# the engine itself under 2 and 3 ranks (tests/unit/test_mc_parallel.c: serial
# reduction bit for bit, `collect` in order on every rank, errors and stops on
# every rank), when the unit tests were built beside the program
unit=$(dirname "$bin")/tests/test_mc_parallel
if [ -x "$unit" ]; then
  for np in 2 3; do
    OMP_NUM_THREADS=2 "${mpi[@]}" -np $np "$unit" > unit.txt 2>&1 && grep -q "^[0-9]* passed, 0 failed" unit.txt && ok ||
      bad "test_mc_parallel under mpirun -np $np: $(tail -5 unit.txt)"
  done
else
  echo "note: $unit not built; the engine's own MPI test did not run"
fi

summary
