#!/usr/bin/env bash
# test_thm1.sh: `hyperntk thm1`: usage errors (exit 2, message naming the value and
# the accepted range), the --quick run and its table, the schema of its result file
# (read back through the library by --from, which checks every dataset's shape),
# and bit-identical results for 1 and 2 threads.
# Arguments: path to hyperntk, work directory (created).
set -euo pipefail
BIN=$1
WORK=$2
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# ---- help
"$BIN" thm1 --help > help.txt || fail "--help: non-zero exit"
for opt in --quick --paper --mlp --configs --widths --samples --orders --seed --export-dir --from --bench; do
    grep -q -- "$opt" help.txt || fail "--help does not mention $opt"
done

# ---- usage errors
expect_usage() {
    local want=$1
    shift
    local code=0
    "$BIN" thm1 "$@" > /dev/null 2> err.txt || code=$?
    [ "$code" -eq 2 ] || fail "thm1 $*: exit code $code, want 2"
    grep -q -- "$want" err.txt || fail "thm1 $*: message '$(cat err.txt)' lacks '$want'"
}
expect_usage "--out FILE is required" --quick
expect_usage "widths must increase" --widths 64,32 --out x.h5
expect_usage "2..32" --configs L1_H2 --out x.h5
expect_usage "is not L<depth>_H<depth>" --configs L3H2 --out x.h5
expect_usage "listed twice" --configs L2_H1,L2_H1 --out x.h5
expect_usage "10..100000000" --samples 5 --out x.h5
expect_usage "1..64" --orders 0 --out x.h5
expect_usage "off, diag" --pair up --out x.h5
expect_usage "exclude each other" --quick --paper --out x.h5
expect_usage "more than the 2 widths" --widths 64,128 --fit-widths 3 --out x.h5
expect_usage "needs --export-dir" --from x.h5
expect_usage "unknown or incomplete option" --bogus
expect_usage "over the memory budget" --quick --mem-budget 0.000001 --out x.h5
[ ! -e x.h5 ] || fail "a failed run left x.h5 behind"

# ---- the quick preset
"$BIN" thm1 --quick --out quick.h5 --export-dir run > quick.txt || fail "--quick: non-zero exit"
[ -f quick.h5 ] || fail "--quick wrote no quick.h5"
if ls | grep -q '\.tmp\.'; then fail "temporary files left: $(ls)"; fi
for g in L2_H1 L2_H2 L3_H2; do
    grep -q "^$g: " quick.txt || fail "table lacks configuration $g"
done
grep -q "verdict (median)" quick.txt || fail "table lacks the verdict column"
# L2_H1 has degree L*H = 2: orders 3 and 4 are exactly zero, and nothing is nonzero above the degree
[ "$(grep -c 'exact 0 (r > L\*H)' quick.txt)" -eq 2 ] || fail "expected 2 exact-zero rows (L2_H1, r = 3, 4)"
if grep -q "ERROR" quick.txt; then fail "nonzero K^(r) above L*H"; fi

# ---- schema: read back through the library (every dataset's shape is checked)
"$BIN" thm1 --from quick.h5 --export-dir from > from.txt || fail "--from quick.h5: $(cat from.txt)"
diff -r run from > /dev/null || fail "columns exported from the file differ from those of the run"
[ "$(grep -vc '^#' run/index.dat)" -eq 3 ] || fail "index.dat should list 3 configurations"
for g in L2_H1 L2_H2 L3_H2; do
    # 5 widths; n + 4 columns per order, R = 4
    awk '!/^#/ { rows++; if (NF != 17) bad = 1 } END { exit !(rows == 5 && !bad) }' "run/$g.dat" ||
        fail "run/$g.dat: want 5 rows of 17 columns"
done

# Also through the lead's `hyperntk export` or h5dump, when either is available.
if "$BIN" --help 2> /dev/null | grep -q '^  export '; then
    "$BIN" export quick.h5 /L3_H2/median > median.txt || fail "hyperntk export /L3_H2/median"
    awk '!/^#/ && NF { rows++; if (NF != 4) bad = 1 } END { exit !(rows == 5 && !bad) }' median.txt ||
        fail "/L3_H2/median is not 5 x 4"
    "$BIN" export quick.h5 /L3_H2/slope_ci > slope_ci.txt || fail "hyperntk export /L3_H2/slope_ci"
    awk '!/^#/ && NF { rows++; if (NF != 2) bad = 1 } END { exit !(rows == 4 && !bad) }' slope_ci.txt ||
        fail "/L3_H2/slope_ci is not 4 x 2"
fi
if command -v h5dump > /dev/null; then
    check_dims() {
        h5dump -H -d "$1" quick.h5 | grep -q "DATASPACE  SIMPLE { ( $2 )" || fail "$1: dimensions are not ( $2 )"
    }
    check_dims /L3_H2/widths "5"
    check_dims /L3_H2/median "5, 4"
    check_dims /L3_H2/rms "5, 4"
    check_dims /L3_H2/median_ci "5, 4, 2"
    check_dims /L3_H2/rms_ci "5, 4, 2"
    check_dims /L3_H2/slope "4"
    check_dims /L3_H2/slope_ci "4, 2"
    check_dims /L3_H2/predicted "4"
    check_dims /L3_H2/local_slope "4, 4"
    check_dims /L3_H2/k_samples "5, 400, 4"
    check_dims /L2_H1/k_samples "5, 1000, 4"
fi

# ---- determinism: the same result for 1 and 2 threads (timings aside); the same
# command line in two directories, so that even the command_line attribute agrees
for t in 1 2; do
    mkdir "t$t"
    (cd "t$t" && OMP_NUM_THREADS=$t "$BIN" thm1 --configs L2_H2,MLP_L3 --widths 16,32,64 --samples 40 \
        --bootstrap 100 --fit-widths 2 --out run.h5 --export-dir cols > table.txt) ||
        fail "OMP_NUM_THREADS=$t run failed"
    sed -E -e 's/, [0-9.]+ s$//' -e '/^wrote /d' "t$t/table.txt" > "t$t.txt"
done
diff t1.txt t2.txt > /dev/null || fail "the table depends on the thread count"
diff -r t1/cols t2/cols > /dev/null || fail "the exported columns depend on the thread count"
if "$BIN" --help 2> /dev/null | grep -q '^  compare '; then
    "$BIN" compare t1/run.h5 t2/run.h5 > compare.txt || fail "result files differ between 1 and 2 threads: $(cat compare.txt)"
fi

echo "test_thm1: all checks passed"
