#!/usr/bin/env bash
# `hyperntk thm1` end to end: --help shows every preset's values; every bad option
# value exits 2 naming the value and the accepted range; the --quick run and its
# table (exact zeros above L*H, the Holm-corrected verdicts); the schema of its
# result file (read back through the library by --from, which checks every
# dataset's shape; descriptions, integer widths, the enum verdict and dimension
# scales when h5dump is there), and --from on the committed results/thm1.h5 (the
# older schema); bit-identical results for 1 and 2 threads; resumption after
# --stop-after-cells and after a real SIGTERM, identical to an uninterrupted run
# (`hyperntk compare`), and a checkpoint of other arguments refused.
# Usage: test_thm1.sh PATH/TO/hyperntk WORKDIR
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/tests/cli/harness.sh"
export OMP_NUM_THREADS=2


# ---- help: every option, and every preset's values ----
"$bin" thm1 --help > help.txt && ok || bad "--help: non-zero exit"
for opt in --quick --paper --mlp --configs --widths --samples --samples-l2 --orders --fit-widths --bootstrap --alpha \
           --seed --export-dir --from --bench --restart --stop-after-cells --mem-budget; do
  grep -q -- "$opt" help.txt && ok || bad "--help does not mention $opt"
done
# preset NAME SETTINGS...: the block of preset NAME in --help shows every setting
preset() {
  local name=$1
  shift
  awk -v n="$name" '/^  \(default: / || /^  --[a-z]+ / { on = (index($0, "(default: " n ")") || index($0, "--" n " ")) }
                    /^Options:/ { on = 0 } on' help.txt > preset.txt
  for s in "$@"; do grep -qF -- "$s" preset.txt || { bad "--help: preset $name does not show $s"; return; }; done
  ok
}
preset default "configs=L2_H1,L2_H2,L2_H3,L3_H1,L3_H2,L3_H3" "--mlp: MLP_L2,MLP_L3,MLP_L4" \
  "widths=64,128,256,512,1024,2048,4096" samples=1500 samples-l2=4000 bootstrap=1000 fit-widths=5 orders=6
preset quick "configs=L2_H1,L2_H2,L3_H2" "--mlp: MLP_L2,MLP_L3" "widths=32,64,128,256,512" samples=400 \
  samples-l2=1000 bootstrap=300 fit-widths=4 orders=4
preset paper "configs=L2_H1,L2_H2,L2_H3,L3_H1,L3_H2,L3_H3,L4_H2" "--mlp: MLP_L2,MLP_L3,MLP_L4,MLP_L5" \
  "widths=64,128,256,512,1024,2048,4096,8192" samples=4000 samples-l2=10000 bootstrap=2000 fit-widths=5 orders=8
grep -q "Holm" help.txt && grep -q "erfc" help.txt && ok || bad "--help does not document the slope test"

# ---- every bad value: exit 2, the value and the accepted range ----
a=("$bin" thm1 --out bad.h5 --configs L2_H1 --widths 16,32 --samples 20 --bootstrap 100 --fit-widths 2)
expect_error "configs L1" 2 "--configs: 'L1_H2'.* 2\.\.32" -- "${a[@]}" --configs L1_H2
expect_error "configs H0" 2 "--configs: 'L2_H0'.* 1\.\.32" -- "${a[@]}" --configs L2_H0
expect_error "configs syntax" 2 "--configs: 'L3H2' is not L<depth>_H<depth>.* 2\.\.32" -- "${a[@]}" --configs L3H2
expect_error "configs empty item" 2 "--configs: 'L2_H1,,L3_H2'" -- "${a[@]}" --configs L2_H1,,L3_H2
expect_error "configs twice" 2 "'L2_H1' is listed twice" -- "${a[@]}" --configs L2_H1,L2_H1
expect_error "configs with --mlp" 2 "does not combine with --configs" -- "${a[@]}" --mlp
expect_error "widths decreasing" 2 "--widths: 16 after 32.*increasing" -- "${a[@]}" --widths 32,16
expect_error "widths one" 2 "--widths: '64' .*2\.\.40 integers.* 1\.\.10000000" -- "${a[@]}" --widths 64
expect_error "widths 0" 2 "--widths: '0,16' .*bad: '0'.* 1\.\.10000000" -- "${a[@]}" --widths 0,16
expect_error "samples 5" 2 "--samples: '5' .* 10\.\.100000000" -- "${a[@]}" --samples 5
expect_error "samples-l2 9" 2 "--samples-l2: '9' .* 10\.\.100000000" -- "${a[@]}" --samples-l2 9
expect_error "orders 0" 2 "--orders: '0' .* 1\.\.64" -- "${a[@]}" --orders 0
expect_error "g-width 0" 2 "--g-width: '0' .* 1\.\.1048576" -- "${a[@]}" --g-width 0
expect_error "x-dim 1" 2 "--x-dim: '1' .* 2\.\.1048576" -- "${a[@]}" --x-dim 1
expect_error "z-dim 1" 2 "--z-dim: '1' .* 2\.\.1048576" -- "${a[@]}" --z-dim 1
expect_error "angle 4" 2 "--angle: '4' .*radians.* 0\.\.pi" -- "${a[@]}" --angle 4
expect_error "angle 2pi" 2 "--angle: '2pi' .* 0\.\.pi" -- "${a[@]}" --angle 2pi
expect_error "pair" 2 "--pair: 'up' .*off, diag" -- "${a[@]}" --pair up
expect_error "fit-widths 1" 2 "--fit-widths: '1' .* 2\.\.40" -- "${a[@]}" --fit-widths 1
expect_error "fit-widths > widths" 2 "--fit-widths: '3' is more than the 2 widths \(accepted 2\.\.2\)" -- "${a[@]}" --fit-widths 3
expect_error "bootstrap 99" 2 "--bootstrap: '99' .* 100\.\.1000000" -- "${a[@]}" --bootstrap 99
expect_error "decide 0" 2 "--decide: '0' .* 0\.01\.\.10" -- "${a[@]}" --decide 0
expect_error "alpha 0.6" 2 "--alpha: '0.6' .* 1e-06\.\.0\.5" -- "${a[@]}" --alpha 0.6
expect_error "seed -1" 2 "--seed: '-1'.* 0\.\.9223372036854775807" -- "${a[@]}" --seed -1
expect_error "stop-after -2" 2 "--stop-after-cells: '-2' .* -1\.\." -- "${a[@]}" --stop-after-cells -2
expect_error "bench-seconds 0" 2 "--bench-seconds: '0' .* 0\.01\.\.60" -- "${a[@]}" --bench-seconds 0
expect_error "mem-budget 0" 2 "--mem-budget: '0' .* 1e-06\.\." -- "${a[@]}" --mem-budget 0
expect_error "presets" 2 "exclude each other" -- "${a[@]}" --quick --paper
expect_error "unknown option" 2 "unknown or incomplete option '--bogus'" -- "${a[@]}" --bogus
expect_error "stray argument" 2 "unexpected argument 'extra'" -- "${a[@]}" extra
expect_error "missing out" 2 "--out FILE is required" -- "$bin" thm1 --quick
expect_error "from without export-dir" 2 "needs --export-dir" -- "$bin" thm1 --from x.h5
expect_error "from with out" 2 "neither --out nor --bench" -- "$bin" thm1 --from x.h5 --export-dir d --out y.h5
expect_error "memory budget" 2 "over the memory budget.*--mem-budget" -- "$bin" thm1 --quick --mem-budget 0.000001 --out bad.h5
expect_error "missing directory" 1 "the directory 'nodir' does not exist" -- "${a[@]}" --out nodir/x.h5
[ ! -e bad.h5 ] && [ ! -e bad.h5.ckpt ] && ok || bad "a failed run left bad.h5 or its checkpoint"

# ---- the quick preset ----
"$bin" thm1 --quick --out quick.h5 --export-dir run > quick.txt 2> quick.err && ok || bad "--quick: $(tail -3 quick.err)"
[ -f quick.h5 ] && [ ! -e quick.h5.ckpt ] && ! ls | grep -q '\.tmp\.' && ok || bad "--quick left: $(ls)"
grep -q "cell 15/15 (L3_H2, n = 512) done" quick.err && ok || bad "no per-cell progress lines off a terminal"
for g in L2_H1 L2_H2 L3_H2; do grep -q "^$g: " quick.txt && ok || bad "table lacks configuration $g"; done
grep -q "verdict (median)" quick.txt && grep -q "p (p Holm)" quick.txt && grep -q "Holm over" quick.txt \
  && ok || bad "table lacks the verdict or the Holm columns"
# L2_H1 has degree L*H = 2: orders 3 and 4 are exactly zero, and nothing is nonzero above the degree
[ "$(grep -c 'exact 0 (r > L\*H)' quick.txt)" -eq 2 ] && ok || bad "expected 2 exact-zero rows (L2_H1, r = 3, 4)"
grep -q "ERROR" quick.txt && bad "nonzero K^(r) above L*H" || ok

# ---- schema: read back through the library (every dataset's shape is checked) ----
"$bin" thm1 --from quick.h5 --export-dir from > from.txt 2>&1 && ok || bad "--from quick.h5: $(cat from.txt)"
diff -r run from > /dev/null && ok || bad "columns exported from the file differ from those of the run"
[ "$(grep -vc '^#' run/index.dat)" -eq 3 ] && ok || bad "index.dat should list 3 configurations"
for g in L2_H1 L2_H2 L3_H2; do # 5 widths; n + 4 columns per order, R = 4
  awk '!/^#/ { rows++; if (NF != 17) bad = 1 } END { exit !(rows == 5 && !bad) }' "run/$g.dat" && ok ||
    bad "run/$g.dat: want 5 rows of 17 columns"
done
# the committed result, written before integer widths and enum verdicts, still exports
"$bin" thm1 --from "$src/results/thm1.h5" --export-dir committed > from.txt 2>&1 &&
  [ "$(grep -vc '^#' committed/index.dat)" -eq 6 ] && ok || bad "--from results/thm1.h5: $(cat from.txt)"
attr() { "$bin" export "$1" --attr "$2" 2> /dev/null; }
[ "$(attr quick.h5 preset) $(attr quick.h5 configs) $(attr quick.h5 samples) $(attr quick.h5 orders)" = \
  "quick L2_H1,L2_H2,L3_H2 400 4" ] && ok || bad "configuration attributes"
if command -v h5dump > /dev/null 2>&1; then
  check_dims() { h5dump -H -d "$1" quick.h5 | grep -q "DATASPACE  SIMPLE { ( $2 )" && ok || bad "$1: dimensions are not ( $2 )"; }
  check_dims /L3_H2/widths "5"
  check_dims /L3_H2/orders "4"
  check_dims /L3_H2/median "5, 4"
  check_dims /L3_H2/median_ci "5, 4, 2"
  check_dims /L3_H2/slope_ci "4, 2"
  check_dims /L3_H2/slope_pvalue_holm "4"
  check_dims /L3_H2/local_slope "4, 4"
  check_dims /L3_H2/k_samples "5, 400, 4"
  check_dims /L2_H1/k_samples "5, 1000, 4"
  h5dump -H -d /L3_H2/verdict quick.h5 | grep -q "H5T_ENUM" && ok || bad "verdict is not an enum"
  h5dump -H -d /L3_H2/widths quick.h5 | grep -q "H5T_STD_I64" && ok || bad "widths are not int64"
  h5dump -A -d /L3_H2/median quick.h5 | grep -q '"description"' && ok || bad "median has no description"
  h5dump -A -d /L3_H2/median quick.h5 | grep -q 'DIMENSION_LIST' && ok || bad "median has no dimension scales"
fi
# types, descriptions and dimension scales, through h5py when it is installed
py=
for p in python3 /usr/bin/python3; do "$p" -c "import h5py" > /dev/null 2>&1 && { py=$p; break; }; done
if [ -n "$py" ]; then
  "$py" - quick.h5 > py.txt 2>&1 << 'EOF' && ok || bad "types, descriptions or scales: $(cat py.txt)"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
for g in ("L2_H1", "L2_H2", "L3_H2"):
    grp = f[g]
    assert grp["widths"].dtype.kind == "i" and list(grp["widths"][()]) == [32, 64, 128, 256, 512], "widths"
    assert list(grp["orders"][()]) == [1, 2, 3, 4], "orders"
    names = h5py.check_enum_dtype(grp["verdict"].dtype)
    assert names == {"nonzero_above_degree": -2, "disagrees": -1, "undecided": 0, "agrees": 1, "exact_zero": 2}, names
    for name, d in grp.items():
        assert d.attrs.get("description"), g + "/" + name + " has no description"
    for name in ("median", "median_ci", "mean", "rms", "k_samples", "rescaled_quantiles"):
        assert grp[name].dims[0].label == "f width n", name
    for name in ("median", "slope", "slope_pvalue", "slope_pvalue_holm", "verdict", "local_slope"):
        axis = 0 if grp[name].ndim == 1 else 1
        assert grp[name].dims[axis].label == "order r", name
    assert grp["k_samples"].dims[2].label == "order r"
    holm, p = grp["slope_pvalue_holm"][()], grp["slope_pvalue"][()]
    assert all(not (a < b) for a, b in zip(holm, p)), "Holm-adjusted p below the raw p"
EOF
elif ! command -v h5dump > /dev/null 2>&1; then
  echo "note: neither h5dump nor h5py installed: dataset types and scales not checked"
fi

# ---- determinism: 1 and 2 threads give the same table and file ----
d=(thm1 --configs L2_H2,MLP_L3 --widths 16,32,64 --samples 40 --bootstrap 100 --fit-widths 2 --orders 3 --out run.h5)
for t in 1 2; do
  mkdir "t$t"
  (cd "t$t" && OMP_NUM_THREADS=$t "$bin" "${d[@]}" --export-dir cols > table.txt 2> /dev/null) && ok || bad "OMP_NUM_THREADS=$t run"
  sed -e '/^wrote /d' "t$t/table.txt" > "t$t.txt"
done
diff t1.txt t2.txt > /dev/null && ok || bad "the table depends on the thread count"
diff -r t1/cols t2/cols > /dev/null && ok || bad "the exported columns depend on the thread count"
"$bin" compare t1/run.h5 t2/run.h5 > cmp.txt 2>&1 && ok || bad "files differ between 1 and 2 threads: $(cat cmp.txt)"

# ---- the lazy sampler: 1 and 2 threads give the same file; it differs from dense;
# widths beyond a dense network's limit need it ----
dl=(thm1 --configs L2_H2,L3_H2,MLP_L3 --widths 16,32,64 --samples 40 --bootstrap 100 --fit-widths 2 --orders 3
    --sampler lazy --out lazy.h5)
for t in 1 2; do
  mkdir "lazy$t"
  (cd "lazy$t" && OMP_NUM_THREADS=$t "$bin" "${dl[@]}" > table.txt 2> err.txt) && ok ||
    bad "--sampler lazy with OMP_NUM_THREADS=$t: $(cat lazy$t/err.txt)"
done
"$bin" compare lazy1/lazy.h5 lazy2/lazy.h5 > cmp.txt 2>&1 && ok || bad "lazy files differ between 1 and 2 threads: $(cat cmp.txt)"
grep -q "^  3 .*exact 0" lazy1/table.txt && bad "L2_H2 r = 3 is not above the degree 4" || ok
grep -q "L3_H2: L = 3, H = 2" lazy1/table.txt && ok || bad "lazy run prints no L3_H2 table"
mkdir dense_same && (cd dense_same && "$bin" "${dl[@]}" --sampler dense > /dev/null 2>&1) && ok || bad "dense twin of the lazy run"
"$bin" compare dense_same/lazy.h5 lazy1/lazy.h5 > /dev/null 2>&1 && bad "lazy and dense runs gave the same file" || ok
expect_error "dense beyond 2^20" 2 "--widths: 2097152 is out of range for --sampler dense: accepted 1\.\.1048576 \(--sampler lazy: up to 10000000\)" -- \
  "$bin" thm1 --configs L2_H1 --widths 64,2097152 --fit-widths 2 --out wide.h5
[ ! -e wide.h5 ] && ok || bad "a refused run wrote wide.h5"

# ---- --stop-after-cells 1, then the same command: identical to t1/run.h5 ----
mkdir part
(cd part && "$bin" "${d[@]}" --stop-after-cells 1 > /dev/null 2> ../err.txt); code=$?
[ $code -eq 3 ] && grep -q "stopped after 1 new cells.*1 of 6" err.txt && [ -e part/run.h5.ckpt ] && [ ! -e part/run.h5 ] \
  && ok || bad "--stop-after-cells 1: exit $code, $(cat err.txt)"
# a checkpoint of other arguments is refused, naming --restart
(cd part && "$bin" "${d[@]}" --samples 41 > /dev/null 2> ../err.txt); code=$?
[ $code -eq 2 ] && grep -q -- "--restart" err.txt && ok || bad "foreign checkpoint: exit $code, $(cat err.txt)"
(cd part && "$bin" "${d[@]}" > /dev/null 2> ../err.txt) && grep -q "resuming from run.h5.ckpt: 1 of 6" err.txt \
  && ok || bad "resume after --stop-after-cells: $(cat err.txt)"
[ ! -e part/run.h5.ckpt ] && ok || bad "the checkpoint was not removed after the final write"
"$bin" compare t1/run.h5 part/run.h5 > cmp.txt 2>&1 && ok || bad "resumed file differs: $(cat cmp.txt)"

# ---- SIGTERM mid-run, then the same command: identical to an uninterrupted run ----
# Three quick cells, then one of a few seconds; SIGTERM once the first cell is saved.
s=(thm1 --configs L2_H1,L3_H2 --widths 16,2048 --samples 200 --samples-l2 40 --bootstrap 100 --fit-widths 2 --orders 3
   --out s.h5)
mkdir ref sig
(cd ref && "$bin" "${s[@]}" > /dev/null 2>&1) && ok || bad "signal reference run"
(cd sig && exec "$bin" "${s[@]}" > /dev/null 2> ../sig.err) &
pid=$!
for _ in $(seq 400); do [ -e sig/s.h5.ckpt ] && break; sleep 0.025; done
kill -TERM $pid
wait $pid
code=$?
[ $code -eq 143 ] && grep -q "interrupted by signal 15 after .* of 4 cells" sig.err && ok ||
  bad "SIGTERM: exit $code (want 143, killed by SIGTERM): $(cat sig.err)"
[ -e sig/s.h5.ckpt ] && [ ! -e sig/s.h5 ] && ! ls sig/*.tmp.* > /dev/null 2>&1 && ok ||
  bad "SIGTERM: want the checkpoint, no result, no temporaries: $(ls sig)"
(cd sig && "$bin" "${s[@]}" > /dev/null 2> ../sig.err) && grep -q "resuming from s.h5.ckpt" sig.err && ok ||
  bad "resume after SIGTERM: $(cat sig.err)"
"$bin" compare ref/s.h5 sig/s.h5 > cmp.txt 2>&1 && ok || bad "file resumed after SIGTERM differs: $(cat cmp.txt)"

# ---- --bench runs (tiny) ----
"$bin" thm1 --bench --configs L2_H2 --widths 8,16 --orders 3 --bench-seconds 0.01 > bench.txt 2>&1 &&
  grep -q "L2_H2" bench.txt && ok || bad "--bench: $(cat bench.txt)"

summary
