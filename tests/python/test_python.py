#!/usr/bin/env python3
"""The Python package against the C program, the theory page and its own contract.

ctest runs it with Debian's python3 (numpy, h5py):
    test_python.py PATH/TO/hyperntk WORKDIR
with PYTHONPATH=<repository>/python and HYPERNTK_LIBRARY=<build>/lib/libhyperntk.so.
Checks: kernel_fn against `hyperntk analytic`'s /analytic/* on the same inputs (every kernel,
both variants, raw z, k -> infinity and fixed Fourier features) to 1e-14 (the measured
difference is printed; it is 0); against docs/theory.md §6; shapes, symmetry and broadcasting
for B1 != B2; empirical against `hyperntk kernel --save-samples` bit for bit (dense, lazy,
fixed Fourier features); bad inputs raise exceptions (wrong shapes, NaN, non-contiguous,
integer and float32 arrays, bad names); load() on result files; the examples of
docs/python.md and of the README run.  Exit 0 all passed, 1 a failure, 77 skipped (no numpy
or h5py).
"""
import os
import re
import subprocess
import sys
import time

try:
    import numpy as np
    import h5py  # noqa: F401  (load needs it)
except ImportError as e:
    print("skipped: %s (apt-get install python3-numpy python3-h5py); the Python package was NOT tested" % e)
    sys.exit(77)

import hyperntk

program, work = os.path.abspath(sys.argv[1]), sys.argv[2]
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.makedirs(work, exist_ok=True)
os.chdir(work)
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL: " + what, file=sys.stderr)


def run(*args, env=None):
    r = subprocess.run([program] + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=env)
    if r.returncode:
        raise SystemExit("hyperntk %s failed (%d): %s" % (" ".join(map(str, args)), r.returncode, r.stderr))
    return r.stdout


def raises(exc, pattern, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except exc as e:
        check(re.search(pattern, str(e)) is not None, "%s: message %r does not match %r" % (fn.__name__, str(e),
                                                                                            pattern))
        return
    except Exception as e:  # another exception type
        check(False, "%s raised %s (%s), expected %s" % (fn.__name__, type(e).__name__, e, exc.__name__))
        return
    check(False, "%s did not raise %s (%s)" % (fn.__name__, exc.__name__, pattern))


print("hyperntk %s from %s" % (hyperntk.version(), hyperntk.library_path()))
run("inputs", "--out", "a.h5", "--count", 6, "--x-dim", 3, "--z-dim", 2, "--seed", 2)
run("inputs", "--out", "b.h5", "--count", 9, "--x-dim", 3, "--z-dim", 2, "--seed", 3)
A, Bf = hyperntk.load("a.h5"), hyperntk.load("b.h5")
x1, z1, x2, z2 = A["/x"], A["/z"], Bf["x"], Bf["z"]
ALL = tuple(hyperntk.KERNELS)

# ---- 1. kernel_fn against the C program's /analytic/* ----
worst = 0.0
cases = [([], {}), (["--variant", "authors-code"], {"variant": "authors-code"}),
         (["--f-depth", 4, "--g-depth", 3], {"f_depth": 4, "g_depth": 3}),
         (["--fourier", 5, "--fourier-scale", 0.7], {"fourier": {"scale": 0.7}}),
         (["--fourier", 5, "--fourier-scale", 0.7, "--fourier-draw", "fixed", "--seed", 9],
          {"fourier": {"k": 5, "scale": 0.7, "seed": 9}})]
for flags, kw in cases:
    for two in (True, False):
        out = "c.h5"
        run("analytic", "--inputs", "a.h5", *(["--inputs2", "b.h5"] if two else []), "--out", out, *flags)
        ref = hyperntk.load(out)
        k = hyperntk.kernel_fn(x1, z1, *((x2, z2) if two else ()), get=ALL, **kw)
        for n in ALL:
            d = float(np.max(np.abs(getattr(k, n) - ref["/analytic/" + n])))
            worst = max(worst, d)
            check(d <= 1e-14, "kernel_fn %s %s (%s): max |difference| %.3g > 1e-14" % (n, kw, two, d))
print("kernel_fn against hyperntk analytic: %d cases x 5 kernels, max |difference| %.3g" % (2 * len(cases), worst))

# ---- 2. docs/theory.md §6 (6 decimals) ----
xa, xb, za, zb = np.array([1.0, 1.0]), np.array([1.0, -1.0]), np.array([1.0, 1.0]), np.array([-1.0, 1.0])
k = hyperntk.kernel_fn(xa, za, xb, zb, f_depth=3, g_depth=3, get=ALL)
for n, want in (("f_nngp", 0.493731), ("f_ntk", 0.685709), ("g_ntk", 0.487303), ("ntk", 0.334148),
                ("nngp", 0.197902)):
    check(abs(getattr(k, n)[0, 0] - want) <= 5e-7, "§6 %s = %.7f, want %.6f" % (n, getattr(k, n)[0, 0], want))
ka = hyperntk.kernel_fn(xa, za, xb, zb, f_depth=3, g_depth=3, get=("ntk", "g_ntk"), variant="authors-code")
check(abs(ka.ntk[0, 0] - 0.394950) <= 5e-7 and abs(ka.g_ntk[0, 0] - 0.575974) <= 5e-7, "§6 authors-code values")
check(abs(hyperntk.kernel_fn(xa, za, xb, zb, get="ntk")[0, 0] - 0.218268) <= 5e-7, "§6 H = 2: 0.218268")
kd = hyperntk.kernel_fn(xa, za, f_depth=3, g_depth=3, get=("ntk", "nngp"))
check(kd.ntk[0, 0] == 9.0 and kd.nngp[0, 0] == 1.0, "u = u': Theta^h = L H = 9, Lambda^H = 1 exactly")
t = np.linspace(0, np.pi / 2, 3)
zc = np.sqrt(2.0) * np.stack([np.cos(t), np.sin(t)], 1)  # z = (1, 0) scaled, z' at angle t
kc = hyperntk.kernel_fn(xa, zc[0], xa, zc, f_depth=3, g_depth=3)
check(np.allclose(kc.ntk[0], [9.0, 5.3565, 2.0571], atol=5e-5, rtol=0) and
      np.allclose(kc.nngp[0], [1.0, 0.7922, 0.4937], atol=5e-5, rtol=0), "§6 sweep over t: %s %s" % (kc.ntk, kc.nngp))

# ---- 3. shapes, symmetry, broadcasting ----
k = hyperntk.kernel_fn(x1, z1, x2, z2, get=ALL)
check(all(getattr(k, n).shape == (6, 9) for n in ALL), "shapes (B1, B2) = (6, 9)")
check(k._fields == ALL, "namedtuple fields in the order of get")
kt = hyperntk.kernel_fn(x2, z2, x1, z1, get=ALL)
check(all(np.array_equal(getattr(k, n), getattr(kt, n).T) for n in ALL), "K(b, a) = K(a, b)^T bit for bit")
ks = hyperntk.kernel_fn(x1, z1)
check(type(ks).__name__ == "Kernel" and ks._fields == ("nngp", "ntk"), "default get: Kernel(nngp, ntk)")
check(np.array_equal(ks.ntk, ks.ntk.T) and np.array_equal(ks.nngp, ks.nngp.T), "one set: exactly symmetric")
check(isinstance(hyperntk.kernel_fn(x1, z1, get="ntk"), np.ndarray), "get='ntk' returns the array")
kb = hyperntk.kernel_fn(x1, z1[0], x2, z2[0], get="ntk")
kf = hyperntk.kernel_fn(x1, np.repeat(z1[:1], 6, 0), x2, np.repeat(z2[:1], 9, 0), get="ntk")
check(kb.shape == (6, 9) and np.array_equal(kb, kf), "a 1-D z is shared by every x (broadcast)")
check(hyperntk.kernel_fn(x1[0], z1[0], x2, z2, get="ntk").shape == (1, 9), "one input (1-D x and z): (1, B2)")

# ---- 4. empirical against hyperntk kernel, bit for bit ----
for label, flags, kw in (("dense", [], {}), ("lazy", ["--sampler", "lazy"], {"sampler": "lazy"}),
                         ("fixed Fourier", ["--fourier", 4, "--fourier-draw", "fixed", "--fourier-scale", 0.8],
                          {"fourier": {"k": 4, "scale": 0.8, "draw": "fixed"}})):
    args = ["kernel", "--inputs", "a.h5", "--out", "e.h5", "--f-depth", 3, "--f-width", 40, "--g-depth", 2,
            "--g-width", 7, "--samples", 13, "--seed", 5, "--rows", 0, "--save-samples"] + flags
    for threads in ("1", "2"):
        t0 = time.perf_counter()
        run(*args, env=dict(os.environ, OMP_NUM_THREADS=threads))
        t_c = time.perf_counter() - t0
        ref = hyperntk.load("e.h5")
        t0 = time.perf_counter()
        e = hyperntk.empirical(x1, z1, f_depth=3, f_width=40, g_depth=2, g_width=7, samples=13, seed=5,
                               per_sample=True, **kw)
        t_py = time.perf_counter() - t0
        for name in ("ntk_mean", "ntk_var", "ntk_stderr", "nngp_mean", "nngp_var", "nngp_stderr", "gpart_mean",
                     "gpart_var", "gpart_stderr"):
            check(np.array_equal(e[name], ref["/empirical/" + name]), "empirical %s (%s, kernel on %s threads) is "
                  "not kernel's bit for bit: max |diff| %.3g" % (name, label, threads,
                                                                 np.max(np.abs(e[name] - ref["/empirical/" + name]))))
        check(np.array_equal(e["ntk_samples"], ref["/samples/ntk"]) and
              np.array_equal(e["nngp_samples"], ref["/samples/nngp"]), "per-sample values (%s)" % label)
    print("empirical (%s) = hyperntk kernel bit for bit; 13 samples: Python %.3f s, program %.3f s"
          % (label, t_py, t_c))
e2 = hyperntk.empirical(x1, z1, f_width=40, g_width=7, samples=13, seed=6)
check(not np.array_equal(e2["ntk_mean"], e["ntk_mean"]), "another seed gives other numbers")

# ---- 5. bad inputs: exceptions, never a crash ----
raises(ValueError, r"x1 has shape \(2, 3, 3\); accepted: \(batch, dim\)", hyperntk.kernel_fn, np.zeros((2, 3, 3)), z1)
raises(ValueError, r"x1 has 6 inputs and z1 5", hyperntk.kernel_fn, x1, z1[:5])
raises(ValueError, r"accepted: the same x_dim and z_dim", hyperntk.kernel_fn, x1, z1, x2[:, :2].copy(), z2)
raises(ValueError, r"x2 is given and z2 is None", hyperntk.kernel_fn, x1, z1, x2)
xn = x1.copy()
xn[2, 1] = np.nan
raises(hyperntk.HyperntkError, r"invalid argument: hntk_limit_cross: X1\[2, 1\] = nan, accepted: finite",
       hyperntk.kernel_fn, xn, z1)
zi = z2.copy()
zi[4, 0] = np.inf
raises(hyperntk.HyperntkError, r"Z2\[4, 0\] = inf", hyperntk.kernel_fn, x1, z1, x2, zi)
raises(hyperntk.HyperntkError, r"hntk_empirical_run: X\[2, 1\] = nan", hyperntk.empirical, xn, z1, samples=2)
raises(ValueError, r"x1 is not C-contiguous", hyperntk.kernel_fn, np.zeros((6, 6))[:, ::2], z1)
raises(TypeError, r"x1 has dtype int64; accepted: float64", hyperntk.kernel_fn, np.ones((6, 3), dtype=np.int64), z1)
raises(TypeError, r"z has dtype float32", hyperntk.empirical, x1, z1.astype(np.float32))
raises(ValueError, r"get: 'ntk2' is not a kernel; accepted: ntk, nngp", hyperntk.kernel_fn, x1, z1, get=("ntk2",))
raises(ValueError, r"variant = 'Paper'; accepted: 'paper', 'authors-code'", hyperntk.kernel_fn, x1, z1,
       variant="Paper")
raises(ValueError, r"f_depth = 0; accepted range 1\.\.32", hyperntk.kernel_fn, x1, z1, f_depth=0)
raises(ValueError, r"fourier\['scale'\] = -1", hyperntk.kernel_fn, x1, z1, fourier={"scale": -1})
raises(ValueError, r"fourier keys \['s'\]", hyperntk.kernel_fn, x1, z1, fourier={"s": 1})
raises(ValueError, r"samples = 1; accepted range 2\.\.", hyperntk.empirical, x1, z1, samples=1)
raises(ValueError, r"sampler = 'fast'; accepted: 'dense', 'lazy'", hyperntk.empirical, x1, z1, sampler="fast")
raises(hyperntk.HyperntkError, r"fourier", hyperntk.empirical, x1, z1, sampler="lazy", samples=2,
       fourier={"k": 3})
raises(hyperntk.HyperntkError, r"memory budget", hyperntk.empirical, x1, z1, samples=2, budget_bytes=1000)
raises(ValueError, r"g_width = 0; accepted range 1\.\.", hyperntk.empirical, x1, z1, g_width=0)
raises(TypeError, r"f_width = 2.5; accepted: an integer", hyperntk.empirical, x1, z1, f_width=2.5)
# a library refusal that Python does not pre-empt: the pool's architecture check
raises(hyperntk.HyperntkError, r"f_width = 2000000", hyperntk.empirical, x1, z1, samples=2, f_width=2000000)
# the library not found: a clear error, in a fresh interpreter
r = subprocess.run([sys.executable, "-c", "import hyperntk, numpy; hyperntk.kernel_fn(numpy.ones((1, 2)), "
                    "numpy.ones((1, 2)))"], env=dict(os.environ, HYPERNTK_LIBRARY="/nonexistent/libhyperntk.so"),
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
check(r.returncode == 1 and "HYPERNTK_LIBRARY: /nonexistent/libhyperntk.so (missing)" in r.stderr,
      "a missing library: %s" % r.stderr[-300:])

# ---- 6. load ----
run("analytic", "--inputs", "a.h5", "--inputs2", "b.h5", "--out", "c.h5")
c = hyperntk.load("c.h5")
check(c.dims("/analytic/ntk") == ["input i (--inputs)", "input j (--inputs2)"], "axis labels: %s" %
      c.dims("/analytic/ntk"))
check(c.meta["/analytic/ntk"]["scales"] == ["/rows", "/cols"] and list(c["/cols"]) == list(range(9)), "scales")
check(c.meta["/analytic/nngp"]["description"].startswith("Lambda^H"), "descriptions")
check(c.attrs["subcommand"] == "analytic" and c.attrs["f_depth"] == 3 and c.attrs["variant"] == "paper", "attrs")
check("analytic/ntk" in c and c["analytic/ntk"] is c["/analytic/ntk"], "keys with or without the leading /")
fig1a = os.path.join(root, "results", "fig1a.h5")
if os.path.exists(fig1a):
    f = hyperntk.load(fig1a)
    check(f.dims("/var")[0] == "f width n" and f["/var"].shape == (len(f["/f_widths"]), len(f["/g_widths"])),
          "results/fig1a.h5: /var's axes")

# ---- 7. timings: Python calls against the C program (printed, not asserted) ----
run("inputs", "--out", "big1.h5", "--count", 1000, "--x-dim", 16, "--z-dim", 4, "--seed", 7)
run("inputs", "--out", "big2.h5", "--count", 1000, "--x-dim", 16, "--z-dim", 4, "--seed", 8)
t0 = time.perf_counter()
run("analytic", "--inputs", "big1.h5", "--inputs2", "big2.h5", "--out", "big.h5", "--kernels", "ntk,nngp")
t_c = time.perf_counter() - t0
b1, b2 = hyperntk.load("big1.h5"), hyperntk.load("big2.h5")
t0 = time.perf_counter()
kbig = hyperntk.kernel_fn(b1["x"], b1["z"], b2["x"], b2["z"])
t_py = time.perf_counter() - t0
ref = hyperntk.load("big.h5")
check(np.array_equal(kbig.ntk, ref["/analytic/ntk"]) and np.array_equal(kbig.nngp, ref["/analytic/nngp"]),
      "10^3 x 10^3: kernel_fn = hyperntk analytic bit for bit")
print("10^3 x 10^3 pairs, Theta^h and Lambda^H: kernel_fn %.3f s, `hyperntk analytic` (whole program, file "
      "included) %.3f s" % (t_py, t_c))

# ---- 8. the examples of docs/python.md and of the README run ----
for doc in ("docs/python.md", "README.md"):
    text = open(os.path.join(root, doc)).read()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    blocks = [b for b in blocks if re.search(r"^import .*\bhyperntk\b", b, re.M) or doc == "docs/python.md"]
    check(len(blocks) >= 1, "%s has Python examples" % doc)
    for i, code in enumerate(blocks):
        env = dict(os.environ, HYPERNTK_PROGRAM=program)
        r = subprocess.run([sys.executable, "-c", code], cwd=work, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        check(r.returncode == 0, "%s example %d failed:\n%s\n%s" % (doc, i + 1, code, r.stderr[-2000:]))

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
