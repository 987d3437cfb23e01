#!/usr/bin/env bash
# `hyperntk bench --quick`: every row of every section is printed (a smoke run:
# no timing is asserted -- performance is read from the ratios, never tested
# against a clock), and the option errors name the bad value.
# Usage: test_bench.sh PATH/TO/hyperntk WORKDIR
. "$(dirname "$0")/harness.sh"

"$bin" --help | grep -q "^  bench " && ok || bad "hyperntk --help does not list bench"
"$bin" bench --help | grep -q "Usage: hyperntk bench" && ok || bad "bench --help"

OMP_NUM_THREADS=2 "$bin" bench --quick > out.txt 2> err.txt
code=$?
[ $code -eq 0 ] && ok || bad "bench --quick exited $code: $(cat err.txt)"

# has "LABEL" REGEX: one line of the output matches
has() { grep -Eq -- "$2" out.txt && ok || bad "no $1 row (regex: $2)"; }
has "machine" "^machine: [0-9]+ CPUs"
has "load" "^load average at start: "
# Gram: the dgemm reference and all 9 cells of B x n, each with its ratio to dgemm
has "dgemm reference" "reference: OpenBLAS dgemm [0-9]+x[0-9]+x[0-9]+, 1 thread: [0-9.]+ GFLOP/s"
for n in 512 2048 4096; do
  for B in 1 16 128; do
    has "Gram B=$B n=$n" "^ +$B +$n +[0-9.]+ +[0-9.]+ +[0-9.]+% +[0-9.]+ "
  done
done
[ "$(grep -Ec '>= 50% +(met|MISSED)' out.txt)" -eq 2 ] && ok || bad "Gram target rows (B=128, n>=2048) without a verdict"
# sampler: GSL reference, ours on 1 and 2 threads with ratios, reproducibility
has "GSL reference" "reference: GSL gsl_ran_gaussian_ziggurat \+ mt19937, 1 thread: +[0-9.]+ M/s"
has "sampler 1 thread" "ziggurat, 1 thread: +[0-9.]+ M/s +[0-9.]+x GSL +target >= 4x +(met|MISSED)"
has "sampler 2 threads" "ziggurat, 2 threads: +[0-9.]+ M/s +[0-9.]+x GSL +[0-9.]+x 1 thread"
has "bit-reproducible" "bit-reproducible: yes"
# Monte Carlo: both configurations, 1 and 2 threads, ratio, target, stage breakdown
has "memory bandwidth" "memory read bandwidth .* 1 thread [0-9.]+ GB/s, 2 threads [0-9.]+ GB/s"
has "MC fig1b" "^  Figure 1\(b\): L=3 H=2 f 500 g 800, B=42 +[0-9.]+ +[0-9.]+ +[0-9.]+x +>= 1.8x .*(met|MISSED)"
has "MC fig1a cell" "^  Figure 1\(a\) cell: L=3 H=2 f 1600 g 640, B=2 +[0-9.]+ +[0-9.]+ +[0-9.]+x +>= 1.8x .*(met|MISSED)"
has "MC fig1a widest" "^  Figure 1\(a\) widest: L=3 H=2 f 3200 g 1280, B=2 +[0-9.]+ +[0-9.]+ +[0-9.]+x +>= 1.8x .*(met|MISSED)"
[ "$(grep -c 'one sample on 1 thread: .* weights .* forward .* backward .* Grams' out.txt)" -eq 3 ] && ok ||
  bad "per-stage breakdown missing"
# Taylor: available (taylor.h) with its ratio, or said plainly to be unavailable
has "Taylor" "(K\^\(1\.\.6\) of the pair: [0-9.]+ ms = [0-9.]+x the reference +target <= R \+ 2 = 8)|(\[taylor\] not available)"
# memory: the reference and the ratio
has "memory reference" "reference: weights \+ activations \(hntk_net_bytes\) [0-9.]+ MiB per thread x 2"
has "memory peak" "peak RSS [0-9.]+ MiB - resident at start [0-9.]+ MiB = [0-9.]+ MiB = [0-9.]+x the reference"
# summary: every ratio again
has "summary" "^\[summary\] every ratio"
[ "$(sed -n '/^\[summary\]/,$p' out.txt | grep -Ec ' (met|MISSED|-)$')" -ge 19 ] && ok || bad "summary has too few rows"

# the lazy section: lazy vs dense samples per second and the width scaling, with verdicts (never asserted)
grep -q "^\[lazy\]" out.txt && ok || bad "no [lazy] section"
grep -Eq "lazy / dense samples per second: [0-9.]+x +target >= 100x +(met|MISSED)" out.txt && ok || bad "no lazy / dense row"
grep -Eq "n = 10\^6 / n = 10\^4: [0-9.]+x .*target <= 130 +(met|MISSED)" out.txt && ok || bad "no lazy scaling row"
# --only runs just the named sections
"$bin" bench --quick --only taylor > only.txt 2>&1 && ok || bad "bench --only taylor failed: $(cat only.txt)"
grep -q "^\[taylor\]" only.txt && ! grep -q "^\[gram\]" only.txt && ok || bad "--only taylor ran other sections"

# the analytic section runs only when named: cross-kernels against the naive loop, the same bits
! grep -q "^\[analytic\]" out.txt && ok || bad "the default sections include analytic"
"$bin" bench --quick --only analytic > an.txt 2>&1 && ok || bad "bench --only analytic failed: $(cat an.txt)"
grep -Eq "reference, naive loop, 1 thread: +[0-9.]+ ns per pair" an.txt && grep -q "(same bits: yes)" an.txt &&
  grep -Eq "hntk_limit_cross, 2 threads: +[0-9.]+ ns per pair +[0-9.]+x the reference +1000 x 1000 pairs" an.txt && ok ||
  bad "bench --only analytic rows: $(cat an.txt)"

# the regress section runs only when named: Cholesky of a hyperkernel Gram against dgemm, its assembly
# against the dgemm's time, the direct cross-kernel's same bits (quick: U = 50 images x 20 pixels)
! grep -q "^\[regress\]" out.txt && ok || bad "the default sections include regress"
"$bin" bench --quick --only regress > rg.txt 2>&1 && ok || bad "bench --only regress failed: $(cat rg.txt)"
grep -Eq "reference: OpenBLAS dgemm 1000x1000x1000 \(C = K K\), 1 thread: [0-9.]+ s, [0-9.]+ GFLOP/s" rg.txt &&
  grep -Eq "Cholesky factor \+ solve: [0-9.]+ s, [0-9.]+ GFLOP/s = [0-9.]+% of dgemm +target >= 70% at n >= 20000 +-" rg.txt &&
  grep -Eq "Gram assembly, 1 thread: [0-9.]+ s .* = [0-9.]+ of the dgemm's time +target <= 0.25 at n >= 20000 +-" rg.txt &&
  grep -Eq "Gram assembly, 2 threads: .*same bits: yes" rg.txt && grep -Eq "per entry = [0-9.]+x the indexed assembly's; same bits: yes" rg.txt &&
  grep -Eq "relative residual .* = [0-9.e-]+$" rg.txt && ok || bad "bench --only regress rows: $(cat rg.txt)"
"$bin" bench --quick --only regress --regress-images 3 --regress-coords 2 > rg2.txt 2>&1 &&
  grep -q "n = 6 rows" rg2.txt && ok || bad "bench --only regress, 6 rows: $(cat rg2.txt)"
"$bin" bench --regress-coords 785 > e.txt 2>&1
[ $? -eq 2 ] && grep -q -- "--regress-coords: '785' .*1\.\.784" e.txt && ok || bad "--regress-coords 785: $(cat e.txt)"

# errors name the bad value and what is accepted
"$bin" bench --only frob > e.txt 2>&1
[ $? -eq 2 ] && grep -q "'frob' is not one of gram, sampler, mc, taylor, memory, lazy" e.txt && ok || bad "--only frob: $(cat e.txt)"
"$bin" bench --seconds 0 > e.txt 2>&1
[ $? -eq 2 ] && grep -q -- "--seconds: '0'" e.txt && ok || bad "--seconds 0: $(cat e.txt)"
"$bin" bench --simd sse > e.txt 2>&1
[ $? -eq 2 ] && grep -q -- "--simd: 'sse' is not one of the choices (accepted none, avx2, avx512)" e.txt && ok || bad "--simd sse: $(cat e.txt)"
"$bin" bench --threads 1 > e.txt 2>&1
[ $? -eq 2 ] && grep -q -- "--threads: '1' .* 2\.\.256" e.txt && ok || bad "--threads 1: $(cat e.txt)"
"$bin" bench --only , > e.txt 2>&1
[ $? -eq 2 ] && grep -q -- "--only: ',' names no section" e.txt && ok || bad "--only ,: $(cat e.txt)"
"$bin" bench --batches 1,0 > e.txt 2>&1
[ $? -eq 2 ] && grep -q -- "--batches: '1,0' .*(bad: '0') (accepted 1\.\.4096)" e.txt && ok || bad "--batches 1,0: $(cat e.txt)"
"$bin" bench --widths 20000 > e.txt 2>&1
[ $? -eq 2 ] && grep -q -- "--widths: '20000' .*1\.\.16384" e.txt && ok || bad "--widths 20000: $(cat e.txt)"
"$bin" bench --count 10 > e.txt 2>&1
[ $? -eq 2 ] && grep -q -- "--count: '10' .*65536\.\.1000000000000" e.txt && ok || bad "--count 10: $(cat e.txt)"
"$bin" bench --bogus > e.txt 2>&1
[ $? -eq 2 ] && grep -q -- "'--bogus'" e.txt && ok || bad "--bogus: $(cat e.txt)"
# the help shows every default and range, and --quick as a preset with its settings
"$bin" bench --help > h.txt
grep -q -- "--quick .*smoke run" h.txt && grep -q "seconds=0.02 count=1048576" h.txt && ok || bad "bench --help: --quick preset"
grep -q "default 1,16,128; 1\.\.64 values, each 1\.\.4096" h.txt && ok || bad "bench --help: --batches default and range"
# a small run with given sizes (--quick with --batches/--widths overriding the preset's gram sizes)
"$bin" bench --quick --only gram --batches 2 --widths 64 > g.txt 2>&1 && grep -Eq "^ +2 +64 +[0-9.]+" g.txt && ok ||
  bad "bench --only gram --batches 2 --widths 64: $(cat g.txt)"

summary
