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

# expect_error "description" CODE REGEX -- command...: the command exits with
# status CODE and its stderr matches REGEX (an error path that unexpectedly
# runs must not hang the test: 60 s at most).
expect_error() {
  local what=$1 want=$2 regex=$3
  shift 4
  timeout 60 "$@" > out.txt 2> err.txt
  local code=$?
  if [ $code -eq "$want" ] && grep -Eq -- "$regex" err.txt; then ok; else
    bad "$what: exit $code (want $want), stderr: $(cat err.txt)"; fi
}

# find_python MODULES: sets $python to a python3 that imports every module of
# the comma list MODULES (the one on PATH, which may be a pyenv or a venv, else
# Debian's /usr/bin/python3, where python3-h5py and python3-torch install), or
# to "" when none does.
find_python() {
  python=
  local candidate
  for candidate in python3 /usr/bin/python3; do
    if command -v "$candidate" > /dev/null 2>&1 && "$candidate" -c "import $1" > /dev/null 2>&1; then
      python=$candidate
      return
    fi
  done
}

# require_fashion_mnist: exits 77 (ctest: skipped) saying so when Debian's
# dataset-fashion-mnist is not installed; sets $data to its directory.
require_fashion_mnist() {
  data=/usr/share/datasets/fashion-mnist
  if [ ! -e "$data/train-images-idx3-ubyte.gz" ] || [ ! -e "$data/t10k-images-idx3-ubyte.gz" ]; then
    echo "skipped: $data not installed (apt-get install dataset-fashion-mnist, or scripts/install-deps)"
    exit 77
  fi
}

# require_mpi: exits 0 saying the test did NOT run when hyperntk was built
# without MPI or mpirun is missing; otherwise prints the MPI line of --version
# and sets the launcher array $mpi (more ranks than cores, root in CI, no
# binding, OMP_NUM_THREADS passed on; timeout: a hang is a failure).
require_mpi() {
  if "$bin" --version | grep -q "^MPI: none"; then
    echo "skipped: hyperntk was built without MPI (install libopenmpi-dev openmpi-bin and rebuild).  The MPI test did NOT run."
    exit 0
  fi
  if ! command -v mpirun > /dev/null 2>&1; then
    echo "skipped: hyperntk was built with MPI but mpirun is not on PATH (install openmpi-bin).  The MPI test did NOT run."
    exit 0
  fi
  "$bin" --version | grep "^MPI:"
  mpi=(timeout 300 mpirun --oversubscribe --bind-to none -x OMP_NUM_THREADS)
  [ "$(id -u)" -eq 0 ] && mpi+=(--allow-run-as-root)
  return 0
}
