# harness.sh: sourced by every tests/cli/test_*.sh, which ctest runs as
#   bash test_X.sh PATH/TO/hyperntk WORKDIR
# Sets $bin (the program, absolute) and moves into a fresh $work; ok/bad count
# the checks; summary prints the closing line ctest's log and CI read and gives
# the script its exit status.
set -u
bin=$(realpath "$1")
work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
summary() {
  echo "$pass passed, $fail failed"
  [ $fail -eq 0 ]
}
