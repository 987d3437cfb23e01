#!/usr/bin/env bash
# The installed package: `cmake --install` into WORKDIR/prefix, then
#  - examples/ configured with find_package(hyperntk) (hyperntk::hyperntk), built and run;
#  - examples/cross_kernel.c compiled with `pkg-config --cflags --libs hyperntk` and run;
#  - the installed program runs;
#  - the installed Python package imports from the prefix and loads the prefix's library
#    (HYPERNTK_LIBRARY unset), and computes a kernel (skipped without numpy).
# Usage: test_install.sh BUILD_DIR SOURCE_DIR WORKDIR CMAKE [PYTHON]
set -u
build=$1 src=$2 work=$3 cmake=$4 python=${5:-}
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
prefix=$work/prefix

"$cmake" --install "$build" --prefix "$prefix" > install.log 2>&1 && ok || bad "cmake --install: $(tail -5 install.log)"
for f in include/hyperntk/hyperntk.h include/hyperntk/analytic.h lib/libhyperntk.so lib/libhyperntk.a bin/hyperntk \
         lib/cmake/hyperntk/hyperntkConfig.cmake lib/pkgconfig/hyperntk.pc lib/python3/dist-packages/hyperntk/__init__.py \
         lib/python3/dist-packages/hyperntk/_location.py; do
  [ -e "$prefix/$f" ] && ok || bad "not installed: $f"
done

# find_package(hyperntk)
"$cmake" -S "$src/examples" -B ex -DCMAKE_PREFIX_PATH="$prefix" > ex.log 2>&1 && "$cmake" --build ex >> ex.log 2>&1 &&
  ok || bad "examples/ against the installed package: $(tail -20 ex.log)"
ex/cross_kernel > run.txt 2>&1 && grep -q "^  0.334148 " run.txt && grep -q "g_depth = 0: invalid argument: hntk_limit_cross: g_depth = 0, accepted range \[1, 32\]" run.txt &&
  ok || bad "cross_kernel (CMake): $(cat run.txt)"
ldd ex/cross_kernel | grep -q "$prefix/lib/libhyperntk.so" && ok || bad "cross_kernel does not use the installed library: $(ldd ex/cross_kernel)"

# pkg-config
if command -v pkg-config > /dev/null; then
  flags=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs hyperntk) && ok || bad "pkg-config hyperntk"
  cc -std=c11 -o pc_example "$src/examples/cross_kernel.c" $flags -lm > pc.log 2>&1 && ok || bad "cc with pkg-config: $(cat pc.log)"
  LD_LIBRARY_PATH=$prefix/lib ./pc_example > pc.txt 2>&1 && grep -q "^  0.334148 " pc.txt && ok || bad "pkg-config example: $(cat pc.txt)"
else
  echo "pkg-config not installed: the pkg-config build was not checked"
fi

"$prefix/bin/hyperntk" --version > v.txt 2>&1 && grep -q "^hyperntk 0" v.txt && ok || bad "installed program: $(cat v.txt)"

# the installed Python package
if [ -n "$python" ] && "$python" -c "import numpy" > /dev/null 2>&1; then
  env -u HYPERNTK_LIBRARY PYTHONPATH="$prefix/lib/python3/dist-packages" "$python" -c "
import numpy as np, hyperntk
assert hyperntk.library_path().startswith('$prefix/'), hyperntk.library_path()
k = hyperntk.kernel_fn(np.array([[1.0, 1.0]]), np.array([[1.0, 1.0]]), np.array([[1.0, -1.0]]), np.array([[-1.0, 1.0]]), f_depth=3, g_depth=3)
assert abs(k.ntk[0, 0] - 0.334148) < 5e-7, k
print('installed Python package:', hyperntk.library_path(), k.ntk[0, 0])
" > py.txt 2>&1 && ok || bad "installed Python package: $(cat py.txt)"
  cat py.txt
else
  echo "skipped: no python3 with numpy; the installed Python package was NOT checked"
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
