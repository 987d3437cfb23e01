#!/usr/bin/env bash
# `hyperntk compare`: exit 0 same, 1 different, 2 error; --rtol/--atol; provenance
# attributes ignored unless --strict; the report names what differs.  Files come
# from the program itself (`hyperntk inputs`) and from h5py (python3-h5py,
# python3-numpy); without h5py the h5py part says it was skipped.
# Usage: test_compare.sh PATH/TO/hyperntk WORKDIR
here=$(cd "$(dirname "$0")" && pwd)
. "$here/harness.sh"

# expect CODE DESCRIPTION -- ARGS...: run `hyperntk compare ARGS`, check the exit code.
expect() {
  local want=$1 what=$2
  shift 3
  "$bin" compare "$@" > out.txt 2> err.txt
  local code=$?
  [ $code -eq "$want" ] && ok || bad "$what: exit $code, expected $want: $(cat out.txt err.txt)"
}

# ---- usage ----
"$bin" compare --help > help.txt 2>&1 && ok || bad "--help failed"
for word in --rtol --atol --strict --no-ignore --ignore --ignore-attr --quiet --help "default 0" "0..1e+300" \
  command_line wall_time_seconds "Exit status: 0 same, 1 different, 2 error"; do
  grep -q -- "$word" help.txt && ok || bad "--help does not mention '$word'"
done
expect 2 "one file" -- only.h5
expect 2 "unknown option" -- --frobnicate a.h5 b.h5
expect 2 "--rtol -1" -- --rtol -1 a.h5 b.h5
grep -q -- "--rtol: '-1' is not a number in range (accepted 0..1e+300)" err.txt && ok || bad "--rtol -1 message: $(cat err.txt)"
expect 2 "--rtol abc" -- --rtol abc a.h5 b.h5
grep -q -- "--rtol: 'abc'" err.txt && ok || bad "--rtol abc message: $(cat err.txt)"
expect 2 "--atol nan" -- --atol nan a.h5 b.h5
expect 2 "--atol 1e400" -- --atol 1e400 a.h5 b.h5
expect 2 "--ignore ''" -- --ignore "" a.h5 b.h5

# ---- files written by the program: provenance-only differences ----
"$bin" inputs --out a.h5 --count 3 --seed 4 > /dev/null 2>&1 && ok || bad "inputs a.h5"
sleep 1 # a different created_utc too
"$bin" inputs --out b.h5 --count 3 --seed 4 > /dev/null 2>&1 && ok || bad "inputs b.h5"
"$bin" inputs --out c.h5 --count 3 --seed 5 > /dev/null 2>&1 && ok || bad "inputs c.h5"
expect 0 "a file with itself" -- a.h5 a.h5
grep -q "^same: a.h5 and a.h5 (bit for bit" out.txt && ok || bad "same: $(cat out.txt)"
expect 0 "provenance-only difference (command line, date)" -- a.h5 b.h5
expect 1 "provenance-only difference with --strict" -- --strict a.h5 b.h5
grep -q "/@command_line: 'hyperntk inputs --out a.h5" out.txt && ok || bad "strict report: $(cat out.txt)"
expect 1 "provenance-only difference with --no-ignore" -- --no-ignore a.h5 b.h5
expect 0 "--strict with the differing attributes ignored" -- --strict a.h5 b.h5 --ignore command_line \
  --ignore created_utc --ignore wall_time_seconds
expect 1 "another seed" -- a.h5 c.h5
grep -q "^/x: " out.txt && grep -q "^/@seed: 1 of 1 values differ" out.txt && ok || bad "seed report: $(cat out.txt)"
expect 1 "another seed, even with a tolerance" -- --rtol 1e-12 a.h5 c.h5
"$bin" compare --quiet a.h5 c.h5 > out.txt 2>&1
[ $? -eq 1 ] && [ ! -s out.txt ] && ok || bad "--quiet printed: $(cat out.txt)"

# ---- errors: exit 2, never 1 ----
expect 2 "missing file" -- a.h5 missing.h5
grep -q "missing.h5" err.txt && grep -q "No such file" err.txt && ok || bad "missing file message: $(cat err.txt)"
echo "not hdf5" > text.h5
expect 2 "a text file" -- text.h5 a.h5
grep -q "text.h5': not an HDF5 file" err.txt && ok || bad "text file message: $(cat err.txt)"

# ---- files written by h5py: values, tolerances, structure ----
find_python h5py,numpy
if [ -z "$python" ]; then
  echo "skipped (part): no python3 imports h5py and numpy (apt-get install python3-h5py python3-numpy);"
  echo "the tolerance and structure checks did NOT run."
  summary
  exit $?
fi

"$python" - << 'EOF' || bad "h5py could not write the test files"
import h5py, numpy as np

def write(path, change=None):
    m = np.array([[1.5, -2.25, np.nan], [1e-300, 0.0, 3.0]])
    widths = np.array([4, 8, 16], dtype=np.int64)
    if change == "value":
        m[0, 1] *= 1 + 1e-14
    with h5py.File(path, "w") as f:
        f.attrs["program"] = "hyperntk"
        f.attrs["command_line"] = "hyperntk fake --out " + path
        f.attrs["created_utc"] = "2026-01-0%dT00:00:00Z" % (2 if change == "provenance" else 1)
        f.attrs["host"] = "elsewhere" if change == "provenance" else "here"
        f.attrs["wall_time_seconds"] = 2.5 if change == "provenance" else 1.25
        f.attrs["seed"] = np.int64(7)
        f["g/m"] = m.T if change == "shape" else m
        f["g/m"].attrs["description"] = "a matrix"
        f["widths"] = widths.astype(np.float64) if change == "dtype" else widths
        if change != "missing":
            f["theta"] = np.linspace(0, 1, 5)
        f["g"].attrs["angle"] = 0.5 * (1 + 1e-14) if change == "attr" else 0.5

for name in ["base", "copy", "value", "shape", "dtype", "missing", "provenance", "attr"]:
    write(name + ".h5", name)
EOF

expect 0 "the same content written twice (NaN at the same place)" -- base.h5 copy.h5
expect 1 "one value changed by 1e-14 relative" -- base.h5 value.h5
grep -q "^/g/m: 1 of 6 values differ; max |a-b| .* at \[0, 1\] (a -2.25, b -2.2500000000000" out.txt &&
  grep -q "max |a-b|/|b| 1[.0-9]*e-14 at \[0, 1\]" out.txt && ok || bad "value report: $(cat out.txt)"
expect 0 "within --rtol 1e-12" -- --rtol 1e-12 base.h5 value.h5
expect 1 "beyond --rtol 1e-16" -- --rtol 1e-16 base.h5 value.h5
expect 0 "within --atol 1e-12" -- --atol 1e-12 base.h5 value.h5
expect 0 "the differing group ignored" -- --ignore /g base.h5 value.h5
expect 1 "a numeric attribute changed by 1e-14" -- base.h5 attr.h5
grep -q "^/g@angle: 1 of 1 values differ" out.txt && ok || bad "attribute report: $(cat out.txt)"
expect 0 "the attribute within --rtol 1e-12" -- --rtol 1e-12 base.h5 attr.h5
expect 0 "the attribute ignored (--ignore-attr)" -- --ignore-attr angle base.h5 attr.h5
expect 1 "another shape" -- --rtol 1 --atol 1 base.h5 shape.h5
grep -q "^/g/m: shape (2, 3) vs (3, 2)" out.txt && ok || bad "shape report: $(cat out.txt)"
expect 1 "another dtype" -- --rtol 1 base.h5 dtype.h5
grep -q "^/widths: dtype int64 vs float64" out.txt && ok || bad "dtype report: $(cat out.txt)"
expect 1 "a missing dataset" -- base.h5 missing.h5
grep -q "^/theta: only in the first file" out.txt && ok || bad "missing report: $(cat out.txt)"
expect 1 "an extra dataset" -- missing.h5 base.h5
grep -q "^/theta: only in the second file" out.txt && ok || bad "extra report: $(cat out.txt)"
expect 0 "provenance-only difference" -- base.h5 provenance.h5
expect 1 "provenance-only difference with --strict" -- --strict base.h5 provenance.h5
for a in command_line created_utc host wall_time_seconds; do
  grep -q "^/@$a: " out.txt && ok || bad "strict report lacks $a: $(cat out.txt)"
done

summary
