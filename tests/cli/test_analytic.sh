#!/usr/bin/env bash
# `hyperntk analytic` end to end: help and error paths, one set against
# `hyperntk kernel`'s /analytic/* (bit for bit, raw z and fixed Fourier
# features), two sets (shapes; swapping the sets transposes every kernel,
# bit for bit), 1 and 2 threads bit-identical, the file's schema.
# Usage: test_analytic.sh PATH/TO/hyperntk WORKDIR
. "$(dirname "$0")/harness.sh"

"$bin" --help | grep -q "^  analytic " && ok || bad "hyperntk --help does not list analytic"
"$bin" analytic --help | grep -q "Usage: hyperntk analytic" && ok || bad "analytic --help"

"$bin" inputs --out a.h5 --count 5 --x-dim 3 --z-dim 2 --seed 2 > /dev/null && ok || bad "inputs a"
"$bin" inputs --out b.h5 --count 7 --x-dim 3 --z-dim 2 --seed 3 > /dev/null && ok || bad "inputs b"
"$bin" inputs --out c.h5 --count 4 --x-dim 4 --z-dim 2 --seed 3 > /dev/null && ok || bad "inputs c"

# ---- errors name the bad value and what is accepted ----
run=("$bin" analytic --inputs a.h5 --out bad.h5)
expect_error "bad kernel" 2 "--kernels: 'bogus' is not one of ntk, nngp, f_ntk, f_nngp, g_ntk" -- "${run[@]}" --kernels ntk,bogus
expect_error "empty kernels" 2 "--kernels: ',' names no kernel" -- "${run[@]}" --kernels ,
expect_error "seed without features" 2 "--seed 3: nothing is random here" -- "${run[@]}" --seed 3
expect_error "fourier-draw without features" 2 "--fourier-draw fixed: no Fourier features" -- "${run[@]}" --fourier-draw fixed
expect_error "g-depth 0" 2 "--g-depth: '0' .* 1\.\.32" -- "${run[@]}" --g-depth 0
expect_error "bad variant" 2 "--variant: 'nonsense'.*paper, authors-code" -- "${run[@]}" --variant nonsense
expect_error "dimensions differ" 2 "--inputs2 c.h5 has x_dim = 4, z_dim = 2; accepted: those of --inputs a.h5 \(x_dim = 3, z_dim = 2\)" -- "${run[@]}" --inputs2 c.h5
expect_error "missing file" 1 "nonexistent.h5" -- "${run[@]}" --inputs2 nonexistent.h5
expect_error "budget" 2 "memory budget" -- "${run[@]}" --mem-budget 1e-6
expect_error "no --out" 2 "--out FILE is required" -- "$bin" analytic --inputs a.h5
[ ! -e bad.h5 ] && ok || bad "a refused run left bad.h5"

# ---- one set: hyperntk kernel's limits, bit for bit ----
same() { # same FILE1 DS1 FILE2 DS2: the exported columns (17 digits, exact) are identical
  "$bin" export "$1" "$2" | grep -v '^#' > x1.txt && "$bin" export "$3" "$4" | grep -v '^#' > x2.txt &&
    [ -s x1.txt ] && cmp -s x1.txt x2.txt
}
"$bin" kernel --inputs a.h5 --out kern.h5 --samples 2 --f-width 8 --g-width 4 --rows 0 > /dev/null && ok || bad "kernel"
"$bin" analytic --inputs a.h5 --out one.h5 > one.txt && ok || bad "analytic one set: $(cat one.txt)"
same kern.h5 /analytic/ntk one.h5 /analytic/ntk && ok || bad "Theta^h differs from kernel's"
same kern.h5 /analytic/nngp one.h5 /analytic/nngp && ok || bad "Lambda^H differs from kernel's"
grep -Eq "^ +0 +0 +6 +1 +3 +1 +2$" one.txt && ok || bad "u = u' row should read Theta^h 6 Lambda^H 1 Theta^f 3 S 1 Theta^g 2"
"$bin" kernel --inputs a.h5 --out kernf.h5 --samples 2 --f-width 8 --g-width 4 --rows 0 --fourier 7 --fourier-draw fixed \
  --fourier-scale 0.6 --seed 4 > /dev/null && ok || bad "kernel fixed features"
"$bin" analytic --inputs a.h5 --out onef.h5 --fourier 7 --fourier-draw fixed --fourier-scale 0.6 --seed 4 > /dev/null && ok ||
  bad "analytic fixed features"
same kernf.h5 /analytic/ntk_drawn_features onef.h5 /analytic/ntk && ok || bad "fixed features: Theta^h differs from kernel's"
same kernf.h5 /analytic/nngp_drawn_features onef.h5 /analytic/nngp && ok || bad "fixed features: Lambda^H differs"
same kernf.h5 /fourier/freqs onef.h5 /fourier/freqs && ok || bad "fixed features: not the same frequencies"
"$bin" kernel --inputs a.h5 --out kernl.h5 --samples 2 --f-width 8 --g-width 4 --rows 0 --fourier 7 --fourier-scale 0.6 \
  --fourier-mean-draws 100 > /dev/null && ok || bad "kernel, k -> infinity"
"$bin" analytic --inputs a.h5 --out onel.h5 --fourier 7 --fourier-scale 0.6 > /dev/null && ok || bad "analytic k -> infinity"
same kernl.h5 /analytic/ntk onel.h5 /analytic/ntk && ok || bad "k -> infinity: Theta^h differs from kernel's"
"$bin" analytic --inputs a.h5 --out auth.h5 --variant authors-code > /dev/null && ok || bad "authors-code"
! same one.h5 /analytic/ntk auth.h5 /analytic/ntk && ok || bad "the authors-code variant gives the paper's Theta^h"
same one.h5 /analytic/nngp auth.h5 /analytic/nngp && ok || bad "the variant changed Lambda^H"

# ---- two sets ----
"$bin" analytic --inputs a.h5 --inputs2 b.h5 --out ab.h5 > /dev/null && ok || bad "analytic a b"
"$bin" analytic --inputs b.h5 --inputs2 a.h5 --out ba.h5 > /dev/null && ok || bad "analytic b a"
for k in ntk nngp f_ntk f_nngp g_ntk; do
  "$bin" export ab.h5 /analytic/$k | grep -v '^#' > x1.txt
  [ "$(wc -l < x1.txt)" -eq 5 ] && [ "$(awk '{print NF}' x1.txt | sort -u)" = "7" ] && ok || bad "/analytic/$k is not 5 x 7"
  "$bin" export ba.h5 /analytic/$k --transpose | grep -v '^#' > x2.txt
  cmp -s x1.txt x2.txt && ok || bad "/analytic/$k: K(b, a) is not K(a, b)^T bit for bit"
done
[ "$("$bin" export ab.h5 --attr batch2)" = "7" ] && ok || bad "attribute batch2"
"$bin" analytic --inputs a.h5 --inputs2 b.h5 --out nt.h5 --kernels nngp,ntk > /dev/null && ok || bad "--kernels nngp,ntk"
"$bin" export nt.h5 /analytic/f_ntk > /dev/null 2>&1 && bad "--kernels nngp,ntk wrote f_ntk" || ok
same ab.h5 /analytic/nngp nt.h5 /analytic/nngp && ok || bad "--kernels changed Lambda^H"

# ---- 1 and 2 threads: the same file ----
mkdir -p one two
(cd one && OMP_NUM_THREADS=1 "$bin" analytic --inputs ../a.h5 --inputs2 ../b.h5 --out k.h5 > /dev/null) && ok || bad "1 thread"
(cd two && OMP_NUM_THREADS=2 "$bin" analytic --inputs ../a.h5 --inputs2 ../b.h5 --out k.h5 > /dev/null) && ok || bad "2 threads"
"$bin" compare one/k.h5 two/k.h5 > cmp.txt && ok || bad "1 and 2 threads differ: $(cat cmp.txt)"
ls ./*.tmp.* > /dev/null 2>&1 && bad "temporary files left" || ok

summary
