#!/usr/bin/env python3
"""PyTorch peer of hyperntk: the same hypernetwork, checked and timed side by side.

1. Check.  For each configuration, `hyperntk kernel --dump-weights` exports one
   sample's weights W^1..W^L (raw N(0,1) entries), the inputs, h and that
   sample's empirical hyperkernel K^h.  This script builds the same network in
   PyTorch (float64, docs/theory.md §1: 1/sqrt(fan-in) in the forward,
   sqrt(2) relu, f's output cut into g's row-major chunks V^l), loads the
   weights, and computes K^h = J J^T from the explicit Jacobian
   J = dh/dw (B x N_w, torch.autograd.functional.jacobian).  It must equal
   hyperntk's (layer-wise factorization, no Jacobian) to 1e-10, relative to
   the largest entry; h must agree likewise.

2. Timing.  The same Monte Carlo job -- the Figure 1(b) configuration (L = 3,
   H = 2, f width 500, g width 800, 42 inputs on the circle), N samples, the
   per-entry mean and variance of K^h and of the NNGP h(u)h(u') -- run by
   `hyperntk kernel` and by PyTorch (weights from torch.randn: timing only),
   on 1 thread and on T threads, and the ratio.  Target: hyperntk >= 5x.

Usage: torch_peer.py --hyperntk PATH [--work DIR] [--check-only] [--samples N]
                     [--threads T] [--fig1b-check]
Exit status: 0 when every check passes (timings are reported, never asserted),
1 when a check fails, 2 on bad usage.
Needs python3-torch, python3-h5py and python3-numpy (Debian).  The files are read with the
project's Python package (python/hyperntk, hyperntk.load), found beside this script.
"""

import argparse
import math
import os
import subprocess
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import hyperntk as hyperntk_py  # noqa: E402  (hyperntk_py.load: the dumped weights, inputs and kernels)

TOLERANCE = 1e-10
SQRT2 = math.sqrt(2.0)


# ---------------------------------------------------------------- the network

class Arch:
    """Widths of f (n_0..n_L) and g (m_0..m_H), as include/hyperntk/arch.h."""

    def __init__(self, f_depth, f_width, x_dim, g_depth, g_width, z_dim, fourier=0):
        self.L, self.H = f_depth, g_depth
        m0 = fourier if fourier > 0 else z_dim
        self.m = [m0] + [g_width] * (g_depth - 1) + [1]
        # chunk l (1-based) of v is V^l, m_l x m_{l-1}, row-major, consecutive
        self.offsets = [0]
        for l in range(1, self.H + 1):
            self.offsets.append(self.offsets[-1] + self.m[l] * self.m[l - 1])
        self.P = self.offsets[-1]
        self.n = [x_dim] + [f_width] * (f_depth - 1) + [self.P]

    def param_count(self):
        return sum(self.n[l] * self.n[l - 1] for l in range(1, self.L + 1))

    @classmethod
    def from_dump(cls, attrs):
        return cls(int(attrs["f_depth"]), int(attrs["f_width"]), int(attrs["x_dim"]), int(attrs["g_depth"]),
                   int(attrs["g_width"]), int(attrs["z_dim"]), int(attrs["fourier"]))


def relu2(y):
    """sqrt(2) relu, the activation of f and g."""
    return SQRT2 * torch.relu(y)


def hypernet_forward(arch, weights, X, A0):
    """h (B) for inputs X (B, n_0) and g-inputs A0 (B, m_0); weights W^l (n_l, n_{l-1})."""
    q = X
    for l, W in enumerate(weights, start=1):
        y = q @ W.T / math.sqrt(arch.n[l - 1])
        q = relu2(y) if l < arch.L else y
    v = q  # (B, P): f's output, the weights of g
    a = A0
    B = X.shape[0]
    for l in range(1, arch.H + 1):
        V = v[:, arch.offsets[l - 1]:arch.offsets[l]].reshape(B, arch.m[l], arch.m[l - 1])
        g = torch.bmm(V, a.unsqueeze(-1)).squeeze(-1) / math.sqrt(arch.m[l - 1])
        a = relu2(g) if l < arch.H else g
    return a[:, 0]


def g_inputs(Z, freqs=None, phases=None):
    """a^0: z itself, or Fourier features sqrt(2) cos(w_i . z + b_i) (docs/theory.md §4)."""
    if freqs is None:
        return Z
    return SQRT2 * torch.cos(Z @ freqs.T + phases)


def jacobian_kernel(arch, weights, X, A0):
    """K^h = J J^T with J = dh/dw (B, N_w), built explicitly by autograd
    (vectorized over the B outputs; J^l J^l^T summed per layer, so the blocks
    J^l (B, n_l n_{l-1}) are never concatenated)."""
    def h_of(*ws):
        return hypernet_forward(arch, ws, X, A0)

    jac = torch.autograd.functional.jacobian(h_of, tuple(weights), vectorize=True)
    B = X.shape[0]
    K = torch.zeros(B, B)
    for j in jac:
        J = j.reshape(B, -1)
        K += J @ J.T
    return K


def factorized_kernel(arch, weights, X, A0):
    """K^h by hyperntk's own algorithm written in PyTorch (docs/theory.md §2):
    one backward pass of sum_b h(u_b) gives every E^l = dh/dY^l (row b depends on
    input b only), then K = sum_l (E^l E^l^T) o (Q^{l-1} Q^{l-1}^T) / n_{l-1}.
    Returns (K, h).  A stronger peer than the explicit Jacobian."""
    qs, ys = [X], []
    q = X
    for l, W in enumerate(weights, start=1):
        y = q @ W.T / math.sqrt(arch.n[l - 1])
        if l == 1:
            y.requires_grad_(True)
        ys.append(y)
        q = relu2(y)
        if l < arch.L:
            qs.append(q)
    v = ys[-1]
    a = A0
    B = X.shape[0]
    for l in range(1, arch.H + 1):
        V = v[:, arch.offsets[l - 1]:arch.offsets[l]].reshape(B, arch.m[l], arch.m[l - 1])
        g = torch.bmm(V, a.unsqueeze(-1)).squeeze(-1) / math.sqrt(arch.m[l - 1])
        a = relu2(g) if l < arch.H else g
    h = a[:, 0]
    E = torch.autograd.grad(h.sum(), ys)
    with torch.no_grad():
        K = torch.zeros(B, B)
        for l in range(1, arch.L + 1):
            Q = qs[l - 1]
            K += (E[l - 1] @ E[l - 1].T) * (Q @ Q.T) / arch.n[l - 1]
    return K, h.detach()


# ---------------------------------------------------------------- hyperntk

def run(cmd, env=None):
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    if result.returncode != 0:
        sys.exit("torch_peer: command failed (%d): %s\n%s%s" % (result.returncode, " ".join(cmd), result.stdout,
                                                                result.stderr))
    return result.stdout


def make_inputs(hyperntk, path, kind, count, x_dim, z_dim):
    cmd = [hyperntk, "inputs", "--out", path, "--kind", kind, "--x-dim", str(x_dim), "--z-dim", str(z_dim)]
    cmd += ["--thetas", str(count - 1)] if kind == "circle" else ["--count", str(count)]
    run(cmd)


# ---------------------------------------------------------------- 1. check

def check(hyperntk, work, name, cfg):
    inputs = os.path.join(work, name + "_in.h5")
    dump = os.path.join(work, name + "_dump.h5")
    make_inputs(hyperntk, inputs, cfg["kind"], cfg["B"], cfg["x_dim"], cfg["z_dim"])
    cmd = [hyperntk, "kernel", "--inputs", inputs, "--out", os.path.join(work, name + "_k.h5"),
           "--f-depth", str(cfg["L"]), "--f-width", str(cfg["n"]), "--g-depth", str(cfg["H"]),
           "--g-width", str(cfg["m"]), "--samples", str(cfg["sample"] + 2), "--seed", str(cfg["seed"]),
           "--dump-weights", dump, "--dump-sample", str(cfg["sample"]), "--rows", "0"]
    if cfg.get("fourier"):
        cmd += ["--fourier", str(cfg["fourier"]), "--fourier-scale", "0.7"]
    run(cmd)
    f = hyperntk_py.load(dump)
    arch = Arch.from_dump(f.attrs)
    weights = [torch.from_numpy(f["/W%d" % l]) for l in range(1, arch.L + 1)]
    X = torch.from_numpy(f["/x"])
    Z = torch.from_numpy(f["/z"])
    h_ours = f["/h"]
    K_ours = f["/ntk"]
    freqs = phases = None
    if arch.m[0] != int(f.attrs["z_dim"]) or int(f.attrs["fourier"]) > 0:
        freqs = torch.from_numpy(f["/fourier_freqs"])
        phases = torch.from_numpy(f["/fourier_phases"])
    sample = int(f.attrs["sample"])
    for l, W in enumerate(weights, start=1):
        assert W.shape == (arch.n[l], arch.n[l - 1]), "W%d has shape %s" % (l, tuple(W.shape))
    A0 = g_inputs(Z, freqs, phases)
    t0 = time.perf_counter()
    with torch.no_grad():
        h_torch = hypernet_forward(arch, weights, X, A0).numpy()
    K_torch = jacobian_kernel(arch, weights, X, A0).detach().numpy()
    seconds = time.perf_counter() - t0
    K_fact = factorized_kernel(arch, weights, X, A0)[0].numpy()
    scale = np.max(np.abs(K_ours))
    err_h = np.max(np.abs(h_torch - h_ours)) / np.max(np.abs(h_ours))
    err_K = np.max(np.abs(K_torch - K_ours)) / scale
    err_F = np.max(np.abs(K_fact - K_ours)) / scale
    big = np.abs(K_ours) >= 1e-3 * scale
    err_K_entry = np.max(np.abs(K_torch - K_ours)[big] / np.abs(K_ours)[big])
    ok = err_h <= TOLERANCE and err_K <= TOLERANCE and err_F <= TOLERANCE
    print("  %-42s B=%-3d N_w=%-8d sample %d: h %.1e, K^h (Jacobian) %.1e [entrywise %.1e], "
          "K^h (PyTorch factorized) %.1e, %.2f s  %s"
          % (cfg["label"], X.shape[0], arch.param_count(), sample, err_h, err_K, err_K_entry, err_F, seconds,
             "ok" if ok else "FAILED"))
    return ok


CHECKS = {
    "small": dict(label="L=3 H=2 n=64 m=16, circle", L=3, n=64, H=2, m=16, kind="circle", B=9, x_dim=2,
                  z_dim=2, seed=5, sample=1),
    "deep_g": dict(label="L=2 H=3 n=50 m=12, random, Fourier k=6", L=2, n=50, H=3, m=12, kind="random", B=5,
                   x_dim=3, z_dim=4, fourier=6, seed=11, sample=2),
    "mlp_like": dict(label="L=4 H=1 n=40, random (g linear)", L=4, n=40, H=1, m=1, kind="random", B=4,
                     x_dim=5, z_dim=3, seed=3, sample=0),
    "fig1b": dict(label="Figure 1(b): L=3 H=2 n=500 m=800, circle", L=3, n=500, H=2, m=800, kind="circle",
                  B=42, x_dim=2, z_dim=2, seed=1, sample=7),
}


# ---------------------------------------------------------------- 2. timing

def time_ours(hyperntk, work, inputs, samples, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    cmd = [hyperntk, "kernel", "--inputs", inputs, "--out", os.path.join(work, "timing_k.h5"), "--f-depth", "3",
           "--f-width", "500", "--g-depth", "2", "--g-width", "800", "--samples", str(samples), "--rows", "0"]
    t0 = time.perf_counter()
    run(cmd, env)
    return time.perf_counter() - t0  # the whole program: start-up, analytic limit and file included


def time_torch(inputs, samples, threads, method):
    """The same job in PyTorch: per sample fresh N(0,1) weights, h and K^h by the
    explicit Jacobian (method "jacobian") or by the factorization ("factorized"),
    Welford mean/variance of K^h and of h h^T.  Seconds."""
    torch.set_num_threads(threads)
    arch = Arch(3, 500, 2, 2, 800, 2)
    f = hyperntk_py.load(inputs)
    X = torch.from_numpy(f["/x"])
    Z = torch.from_numpy(f["/z"])
    B = X.shape[0]
    gen = torch.Generator().manual_seed(1)
    mean = torch.zeros(2, B, B, dtype=torch.float64)
    m2 = torch.zeros_like(mean)
    t0 = time.perf_counter()
    for s in range(samples):
        weights = [torch.randn(arch.n[l], arch.n[l - 1], generator=gen, dtype=torch.float64)
                   for l in range(1, arch.L + 1)]
        if method == "jacobian":
            K = jacobian_kernel(arch, weights, X, Z)
            with torch.no_grad():
                h = hypernet_forward(arch, weights, X, Z)
        else:
            K, h = factorized_kernel(arch, weights, X, Z)
        x = torch.stack([K.detach(), torch.outer(h, h)])
        delta = x - mean
        mean += delta / (s + 1)
        m2 += delta * (x - mean)
    return time.perf_counter() - t0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hyperntk", required=True, help="path to the hyperntk program")
    p.add_argument("--work", default="torch_peer_work", help="folder for the files exchanged (default %(default)s)")
    p.add_argument("--check-only", action="store_true", help="only the equality checks, no timing")
    p.add_argument("--fig1b-check", action="store_true",
                   help="also check the Figure 1(b) configuration (a 42 x 1.45M Jacobian, ~0.5 GB)")
    p.add_argument("--samples", type=int, default=100, help="samples of the timed job (default %(default)s)")
    p.add_argument("--jacobian-samples", type=int, default=6,
                   help="samples timed with the explicit Jacobian, ~2 s each (default %(default)s)")
    p.add_argument("--threads", type=int, default=2, help="threads of the multi-threaded timing (default %(default)s)")
    args = p.parse_args()
    if args.samples < 2 or args.threads < 1:
        p.error("--samples must be >= 2 and --threads >= 1")
    torch.set_default_dtype(torch.float64)
    os.makedirs(args.work, exist_ok=True)
    hyperntk = os.path.abspath(args.hyperntk)

    import h5py
    print("torch_peer: PyTorch %s, numpy %s, h5py %s (files read by hyperntk.load)"
          % (torch.__version__, np.__version__, h5py.__version__))
    print("[check] hyperntk's h and K^h against PyTorch's (float64): K^h = J J^T from the explicit Jacobian\n"
          "  J = dh/dw, and K^h by the factorization written in PyTorch; max |difference| / max |entry|,\n"
          "  tolerance %.0e" % TOLERANCE)
    names = ["small", "deep_g", "mlp_like"] + (["fig1b"] if args.fig1b_check else [])
    torch.set_num_threads(2)
    results = [check(hyperntk, args.work, name, CHECKS[name]) for name in names]
    passed = sum(results)
    print("[check] %d passed, %d failed" % (passed, len(results) - passed))
    if args.check_only:
        return 0 if passed == len(results) else 1

    inputs = os.path.join(args.work, "fig1b_inputs.h5")
    make_inputs(hyperntk, inputs, "circle", 42, 2, 2)
    n = args.samples
    n_jac = max(2, min(n, args.jacobian_samples))
    load = open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else ["?"]
    print("[timing] the Figure 1(b) Monte Carlo job: L=3 H=2 f 500 g 800, 42 inputs on the circle, mean and\n"
          "  variance of K^h and of the NNGP over the samples.  hyperntk: the whole `hyperntk kernel` run\n"
          "  (start-up, limits and file included), %d samples, best of 2.  PyTorch: torch.randn weights,\n"
          "  K^h, Welford; the explicit Jacobian on %d samples (the issue's peer), the factorization on %d.\n"
          "  Load average at start: %s" % (n, n_jac, n, " ".join(load)))
    print("  %-8s %13s %-28s %13s %9s %8s %8s" % ("threads", "hyperntk s/s", "PyTorch method", "PyTorch s/s",
                                                   "ratio", "target", "verdict"))
    for threads in sorted({1, args.threads}):
        ours = n / min(time_ours(hyperntk, args.work, inputs, n, threads) for _ in range(2))
        for method, count in (("jacobian", n_jac), ("factorized", n)):
            theirs = count / time_torch(inputs, count, threads, method)
            ratio = ours / theirs
            target = ">= 5x" if method == "jacobian" else "-"
            verdict = ("met" if ratio >= 5 else "MISSED") if method == "jacobian" else "-"
            label = "explicit Jacobian J J^T" if method == "jacobian" else "factorized (hyperntk's)"
            print("  %-8d %13.2f %-28s %13.2f %8.1fx %8s %8s" % (threads, ours, label, theirs, ratio, target,
                                                                verdict))
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
