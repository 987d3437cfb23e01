#!/usr/bin/env bash
# `mpirun -np K hyperntk thm2 / thm3` on small grids: each cell's samples (and
# thm2's energy-distance null pairs, a Monte Carlo job of their own) are split
# across the ranks, and rank 0 writes a file bit-identical (apart from timing
# attributes) to the single-process run, for K = 2 and 3 with 1 and 2 threads
# per rank and sample counts that do not divide evenly; --save-samples, so
# every sample's values are compared too, among them thm3's trained networks
# (GD and minibatch SGD: h_T, K_T per sample).  Only rank 0 prints (one report,
# one progress line per cell, one 'wrote ... MPI ranks' line); no temporaries
# and no checkpoint are left.  A thm3 run stopped after 2 cells on 2 ranks
# resumes on 3 to the same file.  Skipped, saying so, when hyperntk was built
# without MPI or mpirun is missing (as test_mpi.sh).  A sanitizer build runs
# one case (ranks x threads) per driver and mode, without the dense thm2 and the resume.
# Usage: test_mpi_thm.sh PATH/TO/hyperntk WORKDIR
. "$(dirname "$0")/harness.sh"

require_mpi

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

# check NAME HEADER CELLS CASES ARGS...: the single-process run (2 threads), then
# every "NP THREADS" of CASES under mpirun, each compared with it
check() {
  local name=$1 header=$2 cells=$3 cases=$4
  shift 4
  run ${name}_single 0 2 "$@" && ok || { bad "$name single process: $(cat ${name}_single/err.txt)"; return; }
  local case np t dir
  for case in $cases; do
    np=${case%x*} t=${case#*x} dir=${name}_np${np}_t$t
    if run "$dir" "$np" "$t" "$@"; then ok; else bad "$name mpirun -np $np ($t threads): $(cat $dir/err.txt)"; continue; fi
    "$bin" compare ${name}_single/r.h5 "$dir/r.h5" > cmp.txt 2>&1 && ok ||
      bad "$name under mpirun -np $np with $t threads per rank differs from the single process: $(cat cmp.txt)"
    [ "$(grep -c "$header" "$dir/out.txt")" -eq 1 ] && ok ||
      bad "$name -np $np: the report is printed $(grep -c "$header" "$dir/out.txt") times"
    grep -q "wrote r.h5 (.* on $np MPI ranks x $t threads" "$dir/out.txt" && ok || bad "$name -np $np: no 'wrote ... MPI ranks' line"
    [ "$(grep -c "cell $cells/$cells" "$dir/err.txt")" -eq 1 ] && ok ||
      bad "$name -np $np: the progress of the last cell is printed $(grep -c "cell $cells/$cells" "$dir/err.txt") times"
    ls "$dir" | grep -Eq '\.tmp\.|\.ckpt' && bad "$name -np $np left temporaries: $(ls "$dir")" || ok
  done
}

# Under the sanitizers (the ctest label `sanitize`) an mpirun costs several seconds (MPI's start
# and LeakSanitizer's slow unwinder at exit): there one case per driver and mode, which between
# them still run 2 and 3 ranks and 1 and 2 threads (the bits are checked by the other pass).
thm2_cases="2x1 2x2 3x1 3x2" gd_cases=$thm2_cases sgd_cases="2x2 3x1" dense_cases="3x1" sanitized=0
if ldd "$bin" 2> /dev/null | grep -q libasan; then
  thm2_cases="3x1" gd_cases="2x2" sgd_cases="3x1" dense_cases="" sanitized=1
  echo "sanitizer build: ranks x threads thm2 $thm2_cases, thm3 GD $gd_cases, SGD $sgd_cases only; no dense thm2, no resume"
fi

# Theorem 2: 2 x 2 widths, 45 samples (not a multiple of ranks x threads), 3 inputs,
# 5 null pairs (6 energy distances over the ranks); the lazy sampler, and dense once
t2=(thm2 --f-widths 25,100 --g-widths 10,40 --inputs 3 --samples 45 --null-replicates 5 --sampler lazy --save-samples
    --out r.h5)
check thm2 "^hyperntk thm2:" 4 "$thm2_cases" "${t2[@]}"
if [ -n "$dense_cases" ]; then
  check thm2_dense "^hyperntk thm2:" 4 "$dense_cases" thm2 --f-widths 16,32 --g-widths 4,8 --inputs 2 --samples 20 \
    --null-replicates 2 --sampler dense --out r.h5
fi

# Theorem 3: 2 x 2 widths, 10 samples, 6 GD steps on 8 training and 3 test inputs; minibatch SGD
t3=(thm3 --f-widths 8,32 --g-widths 4,16 --samples 10 --steps 6 --test 3 --save-samples --out r.h5)
check thm3_gd "^hyperntk thm3:" 4 "$gd_cases" "${t3[@]}"
check thm3_sgd "^hyperntk thm3:" 4 "$sgd_cases" "${t3[@]}" --sgd-batch 3
grep -q "minibatch SGD" thm3_sgd_np3_t1/out.txt && ok || bad "thm3 --sgd-batch: the report does not say minibatch SGD"

if [ $sanitized -eq 0 ]; then
  # stopped after 2 cells on 2 ranks (exit 3, checkpoint kept), resumed on 3 ranks: the same file
  run resume 2 1 "${t3[@]}" --stop-after-cells 2
  code=$?
  [ $code -eq 3 ] && [ -e resume/r.h5.ckpt ] && [ ! -e resume/r.h5 ] && ok ||
    bad "thm3 --stop-after-cells 2 under mpirun -np 2: exit $code, $(ls resume) (want 3, r.h5.ckpt)"
  run resume 3 2 "${t3[@]}" && [ "$(grep -c 'resuming from r.h5.ckpt: 2 of 4 cells already done' resume/err.txt)" -eq 1 ] &&
    "$bin" compare thm3_gd_single/r.h5 resume/r.h5 > cmp.txt 2>&1 &&
    ok || bad "thm3 resumed on 3 ranks differs: $(cat cmp.txt resume/err.txt 2> /dev/null)"
  [ ! -e resume/r.h5.ckpt ] && ok || bad "the resumed run left its checkpoint"
fi

summary
