#!/usr/bin/env bash
# `hyperntk kernel` end to end: help, every validation error path, malformed
# inputs, a run whose file follows docs/file-formats.md, determinism across
# thread counts, and no result file left behind by a failed or interrupted run.
# Usage: test_kernel.sh PATH/TO/hyperntk WORKDIR
. "$(dirname "$0")/harness.sh"

# expect_failure "description" REGEX -- command...: non-zero exit and stderr matching REGEX
expect_failure() {
  local what=$1 regex=$2
  shift 3
  "$@" > out.txt 2> err.txt
  local code=$?
  if [ $code -ne 0 ] && grep -Eq -- "$regex" err.txt; then ok; else
    bad "$what: exit $code, stderr: $(cat err.txt)"; fi
}

# ---- help ----
"$bin" --help | grep -q "kernel" && ok || bad "hyperntk --help does not list kernel"
for cmd in kernel inputs; do
  "$bin" $cmd --help | grep -q "Usage: hyperntk $cmd" && ok || bad "$cmd --help"
done
expect_failure "unknown command" "unknown command 'frobnicate'" -- "$bin" frobnicate

# ---- inputs ----
"$bin" inputs --out in.h5 --count 3 --x-dim 3 --z-dim 2 --seed 5 > /dev/null && ok || bad "inputs"
"$bin" inputs --out circle.h5 --kind circle --thetas 5 --x-dim 2 --z-dim 2 > /dev/null && ok || bad "circle inputs"

# ---- validation errors: each names the bad value and the accepted range ----
run=("$bin" kernel --inputs in.h5 --out bad.h5 --f-width 20 --g-width 5 --samples 4)
expect_failure "f-depth 0" "--f-depth: '0' .* 1\.\.32" -- "${run[@]}" --f-depth 0
expect_failure "f-depth 33" "--f-depth: '33' .* 1\.\.32" -- "${run[@]}" --f-depth 33
expect_failure "g-depth 0" "--g-depth: '0' .* 1\.\.32" -- "${run[@]}" --g-depth 0
expect_failure "negative f-width" "--f-width: '-3' .* 1\.\.1048576" -- "${run[@]}" --f-width -3
expect_failure "g-width 0" "--g-width: '0' .* 1\.\.1048576" -- "${run[@]}" --g-width 0
expect_failure "samples 1" "--samples: '1' .* 2\.\." -- "${run[@]}" --samples 1
expect_failure "samples text" "--samples: 'many'" -- "${run[@]}" --samples many
expect_failure "negative seed" "--seed: '-1' .* 0\.\." -- "${run[@]}" --seed -1
expect_failure "fractional width" "--f-width: '2.5'" -- "${run[@]}" --f-width 2.5
expect_failure "fourier scale 0" "--fourier-scale: '0'" -- "${run[@]}" --fourier 4 --fourier-scale 0
expect_failure "bad variant" "variant.*'nonsense'.*paper.*authors-code" -- "${run[@]}" --variant nonsense
expect_failure "unknown option" "'--bogus'" -- "${run[@]}" --bogus
expect_failure "bad fourier-draw" "--fourier-draw: 'sometimes' .*per-sample, fixed" -- "${run[@]}" --fourier 3 --fourier-draw sometimes
expect_failure "fourier-draw without features" "--fourier-draw fixed: no Fourier features.*1\.\.1048576" -- "${run[@]}" --fourier-draw fixed
expect_failure "fourier-mean-draws 5" "--fourier-mean-draws: '5' .* 100\.\.1000000000" -- "${run[@]}" --fourier 3 --fourier-mean-draws 5
expect_failure "negative fourier" "--fourier: '-1' .* 0\.\.1048576" -- "${run[@]}" --fourier -1
expect_failure "dump-sample without dump" "--dump-sample needs --dump-weights FILE \(given: --dump-sample 2 alone\)" -- "${run[@]}" --dump-sample 2
expect_failure "dump-sample out of range" "--dump-sample: 4 is not a sample of this run: accepted 0\.\.3" -- "${run[@]}" --dump-weights d.h5 --dump-sample 4
expect_failure "rows -1" "--rows: '-1' .* 0\.\.1000000" -- "${run[@]}" --rows -1
expect_failure "missing inputs option" "--inputs FILE is required" -- "$bin" kernel --out bad.h5
expect_failure "missing out option" "--out FILE is required" -- "$bin" kernel --inputs in.h5
expect_failure "memory budget" "budget" -- "${run[@]}" --f-width 200000 --mem-budget 1
[ ! -e bad.h5 ] && ok || bad "a failed run left bad.h5"

# ---- malformed or missing inputs files ----
expect_failure "missing inputs file" "nonexistent.h5" -- "$bin" kernel --inputs nonexistent.h5 --out bad.h5
echo "not an HDF5 file" > text.h5
expect_failure "text inputs file" "text.h5" -- "$bin" kernel --inputs text.h5 --out bad.h5
ls ./*.tmp.* > /dev/null 2>&1 && bad "temporary files left: $(ls ./*.tmp.*)" || ok

# ---- a run, its schema and its agreement with the limit ----
args=(kernel --inputs ../in.h5 --f-depth 2 --f-width 300 --g-depth 2 --g-width 40 --samples 60 --seed 9)
# the same command (so the same command_line attribute) in two folders, with 1 and 2 threads
mkdir -p one two
(cd one && OMP_NUM_THREADS=1 "$bin" "${args[@]}" --out t.h5 > ../t1.txt 2>&1) && ok || bad "kernel run (1 thread): $(cat t1.txt)"
(cd two && OMP_NUM_THREADS=2 "$bin" "${args[@]}" --out t.h5 > ../t2.txt 2>&1) && ok || bad "kernel run (2 threads): $(cat t2.txt)"
grep -q "K^h mean" t1.txt && ok || bad "no table printed"
"$bin" compare one/t.h5 two/t.h5 > cmp.txt 2>&1 && ok || bad "1 and 2 threads differ: $(cat cmp.txt)"
cp one/t.h5 t1.h5
for name in /analytic/ntk /analytic/nngp /empirical/ntk_mean /empirical/ntk_var /empirical/nngp_mean \
            /empirical/nngp_var /empirical/ntk_stderr /inputs/x; do
  "$bin" export t1.h5 "$name" > col.txt 2> err.txt && ok || bad "dataset $name missing: $(cat err.txt)"
done
[ "$(grep -vc '^#' col.txt)" -eq 3 ] && ok || bad "/inputs/x should have 3 rows"
for attr in f_depth f_width g_depth g_width x_dim z_dim samples seed variant version git_revision wall_time_seconds; do
  "$bin" export t1.h5 --attr "$attr" > /dev/null 2>&1 && ok || bad "attribute $attr missing"
done
[ "$("$bin" export t1.h5 --attr f_width)" = "300" ] && ok || bad "f_width attribute is not 300"
expect_failure "a result file is not an inputs file" "t1.h5.*'x'" -- "$bin" kernel --inputs t1.h5 --out bad.h5
# a different seed must change the result (the comparison can fail)
(cd two && OMP_NUM_THREADS=2 "$bin" "${args[@]}" --seed 10 --out ../t3.h5) > /dev/null 2>&1
"$bin" compare t1.h5 t3.h5 > /dev/null 2>&1 && bad "seeds 9 and 10 gave identical files" || ok

# ---- Fourier features: each draw mode with its own, labelled reference ----
four=(kernel --inputs ../in.h5 --f-depth 2 --f-width 100 --g-depth 2 --g-width 20 --samples 30 --seed 4 --fourier 3)
mkdir -p f1 f2
(cd f1 && OMP_NUM_THREADS=1 "$bin" "${four[@]}" --fourier-draw fixed --out fx.h5 > ../fx1.txt 2>&1) && ok || bad "fixed run: $(cat fx1.txt)"
(cd f2 && OMP_NUM_THREADS=2 "$bin" "${four[@]}" --fourier-draw fixed --out fx.h5 > ../fx2.txt 2>&1) && ok || bad "fixed run (2 threads)"
"$bin" compare f1/fx.h5 f2/fx.h5 > cmp.txt 2>&1 && ok || bad "fixed features: 1 and 2 threads differ: $(cat cmp.txt)"
grep -q "reference: the limit for the features drawn" fx1.txt && ok || bad "fixed run does not name its reference: $(cat fx1.txt)"
grep -q "k -> infinity limit" fx1.txt && ok || bad "fixed run does not show the k -> infinity z"
for name in /analytic/ntk_drawn_features /analytic/nngp_drawn_features /fourier/input_kernel /fourier/freqs \
            /fourier/phases /analytic/ntk; do
  "$bin" export f1/fx.h5 "$name" > /dev/null 2> err.txt && ok || bad "fixed: dataset $name missing: $(cat err.txt)"
done
[ "$("$bin" export f1/fx.h5 --attr z_reference)" = "/analytic/ntk_drawn_features" ] && ok || bad "fixed: z_reference"
[ "$("$bin" export f1/fx.h5 --attr fourier_draw)" = "fixed" ] && ok || bad "fixed: fourier_draw attribute"
"$bin" export f1/fx.h5 --attr description --object /analytic/ntk 2>&1 | grep -q "k -> infinity" && ok ||
  bad "/analytic/ntk is not described as the k -> infinity limit"
(cd f1 && "$bin" "${four[@]}" --out ps.h5 > ../ps.txt 2>&1) && ok || bad "per-sample run: $(cat ps.txt)"
grep -q "no closed form for H >= 2" ps.txt && ok || bad "per-sample H=2 run does not say there is no closed form"
"$bin" export f1/ps.h5 /analytic/ntk_feature_mean /analytic/ntk_feature_mean_stderr > /dev/null 2>&1 && ok ||
  bad "per-sample: /analytic/ntk_feature_mean missing"
[ "$("$bin" export f1/ps.h5 --attr z_reference)" = "/analytic/ntk_feature_mean" ] && ok || bad "per-sample: z_reference"
"$bin" compare f1/ps.h5 f1/fx.h5 > /dev/null 2>&1 && bad "fixed and per-sample features gave the same file" || ok
(cd f1 && "$bin" "${four[@]}" --g-depth 1 --out h1.h5 > ../h1.txt 2>&1) && ok || bad "per-sample H=1 run: $(cat h1.txt)"
grep -q "k -> infinity limit, exact for per-sample features when H = 1" h1.txt && ok || bad "H=1 reference: $(cat h1.txt)"
# fixed features in the dump are the run's
(cd f1 && "$bin" "${four[@]}" --fourier-draw fixed --out fx3.h5 --dump-weights dump.h5 --dump-sample 3 > /dev/null 2>&1) &&
  "$bin" export f1/dump.h5 /fourier_phases 2>/dev/null | grep -v '^#' > dp.txt &&
  "$bin" export f1/fx.h5 /fourier/phases | grep -v '^#' > fp.txt && [ -s dp.txt ] && cmp -s dp.txt fp.txt && ok || bad "the dump's Fourier phases are not the run's fixed ones"

# ---- --sampler lazy (lazy.h) and --save-samples ----
expect_failure "lazy with fourier" "--sampler lazy with --fourier 3: .*no Fourier features" -- "${run[@]}" --sampler lazy --fourier 3
expect_failure "lazy with fntk" "--sampler lazy with --fntk: " -- "${run[@]}" --sampler lazy --fntk
expect_failure "lazy with dump" "--sampler lazy with --dump-weights: .*never draws" -- "${run[@]}" --sampler lazy --dump-weights d.h5
expect_failure "bad sampler" "--sampler: 'sparse' .*dense, lazy" -- "${run[@]}" --sampler sparse
expect_failure "save-samples budget" "--save-samples .*2 x 100000000 samples x 3 x 3.*--mem-budget" -- "${run[@]}" --samples 100000000 --save-samples --mem-budget 1
"$bin" kernel --help | grep -q -- "--sampler S" && "$bin" kernel --help | grep -q -- "--save-samples" && ok || bad "kernel --help lacks --sampler or --save-samples"
for s in dense lazy; do
  "$bin" kernel --inputs in.h5 --out ks_$s.h5 --f-width 64 --g-width 32 --samples 2000 --seed 11 --sampler $s --save-samples \
    > /dev/null 2> err.txt && ok || bad "kernel --sampler $s --save-samples: $(cat err.txt)"
  [ "$("$bin" export ks_$s.h5 --attr sampler 2> /dev/null)" = "$s" ] && ok || bad "kernel sampler attribute is not $s"
done
py=/usr/bin/python3
if [ -x $py ] && $py -c "import h5py, scipy.stats" 2> /dev/null; then
  # the saved samples: shape (N, B, B), described, their mean the recorded mean; then dense vs lazy
  # (the same distribution, independent draws): two-sample KS on K^h(u_0, u_1) and the NNGP, p > 1e-3
  $py - ks_dense.h5 ks_lazy.h5 > ks.txt 2>&1 << 'PY' && ok || bad "saved samples / KS dense vs lazy: $(cat ks.txt)"
import sys, h5py, numpy as np
from scipy.stats import ks_2samp
f = [h5py.File(n, "r") for n in sys.argv[1:3]]
for g in f:
    for d in ("ntk", "nngp"):
        x = g["/samples/" + d]
        assert x.shape == (2000, 3, 3), x.shape
        assert len(x.attrs["description"]) > 10
        assert np.abs(x[:].mean(0) - g["/empirical/%s_mean" % d][:]).max() < 1e-10
for d in ("ntk", "nngp"):
    p = ks_2samp(f[0]["/samples/" + d][:, 0, 1], f[1]["/samples/" + d][:, 0, 1]).pvalue
    print(d, "KS p-value", p)
    assert p > 1e-3, (d, p)
PY
else
  echo "SKIP: KS dense vs lazy (/usr/bin/python3 with h5py and scipy missing)"
fi

# ---- interruption: a signal mid-run leaves neither the result nor a temporary ----
# (SIGTERM: a background job of a non-interactive shell starts with SIGINT ignored.)
"$bin" kernel --inputs in.h5 --f-width 2000 --g-width 200 --samples 100000 --out int.h5 > /dev/null 2>&1 &
pid=$!
sleep 1
kill -TERM $pid
wait $pid
code=$?
[ $code -ne 0 ] && ok || bad "interrupted run exited 0"
[ ! -e int.h5 ] && ! ls int.h5.tmp.* > /dev/null 2>&1 && ok || bad "interrupted run left a file"

summary
