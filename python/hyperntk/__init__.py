"""hyperntk: infinite-width hypernetworks h(x, z) = g(z; f(x)) from Python.

A thin ctypes layer over the C library libhyperntk.so (numpy in, numpy out):

* ``kernel_fn(x1, z1, x2, z2, ...)``: the infinite-width kernels between two sets of inputs,
  neural-tangents style (``get=('nngp', 'ntk')``): Theta^h, Lambda^H, and Theta^f, S, Theta^g;
* ``empirical(x, z, ...)``: the Monte Carlo of ``hyperntk kernel`` (the same numbers, bit for bit,
  for the same seed): mean, variance and standard error of K^h, of h(u)h(u') and of the g-part;
* ``load(path)``: any hyperntk result file as a dict of numpy arrays with its attributes and axes.

Errors of the library are raised as ``HyperntkError`` with the library's own message; bad Python
arguments as ``TypeError`` / ``ValueError``.  Theory and definitions: docs/theory.md; this
package: docs/python.md.
"""

import collections
import ctypes
import math
import os

import numpy as np

from ._lib import HyperntkError, library_path
from . import _lib

__all__ = ["kernel_fn", "empirical", "load", "Result", "HyperntkError", "library_path", "version", "KERNELS"]

#: The kernels of ``kernel_fn``, in the library's order (``get`` names), and what each is.
KERNELS = collections.OrderedDict([
    ("ntk", "Theta^h(u, u'): the hyperkernel, Theta^f * Theta^g (docs/theory.md §3.4)"),
    ("nngp", "Lambda^H(u, u'): the NNGP of the hypernetwork, the covariance of h (§3.3)"),
    ("f_ntk", "Theta^f(x, x'): the NTK of f per output coordinate (§3.2)"),
    ("f_nngp", "S(x, x') = Sigma^L(x, x'): the NNGP of f, the covariance of each of its outputs (§3.2)"),
    ("g_ntk", "Theta^g(u, u'): the g-part of the hyperkernel (§3.4)"),
])
_VARIANTS = {"paper": 0, "authors-code": 1}
_SAMPLERS = {"dense": 0, "lazy": 1}
_MAX_DEPTH = 32
_SEED_MAX = 2 ** 63 - 1


def version():
    """The C library's version and git revision, e.g. ``'0.1.0 (git 6161006...)'``."""
    lib = _lib.library()
    return "%s (git %s)" % (lib.hntk_version().decode(), lib.hntk_git_revision().decode())


# ---------------------------------------------------------------- arguments

def _array(name, a):
    """a as a numpy array, refused unless float64, C-contiguous, 1-D or 2-D and finite."""
    if a is None:
        raise TypeError("%s is None; accepted: a float64 numpy array" % name)
    arr = np.asarray(a)
    if arr.dtype != np.float64:
        raise TypeError("%s has dtype %s; accepted: float64 (convert with %s.astype(np.float64))"
                        % (name, arr.dtype, name))
    if arr.ndim not in (1, 2):
        raise ValueError("%s has shape %s; accepted: (batch, dim) or (dim,) for one input" % (name, arr.shape))
    if not arr.flags.c_contiguous:
        raise ValueError("%s is not C-contiguous (a strided view?); accepted: a C-contiguous array "
                         "(np.ascontiguousarray(%s))" % (name, name))
    if arr.size == 0:
        raise ValueError("%s has shape %s; accepted: at least one input of dimension >= 1" % (name, arr.shape))
    return arr


def _pair(xname, x, zname, z):
    """(X, Z) of one set, each (B, dim): a 1-D x or z is one input, broadcast to the other's batch."""
    x, z = _array(xname, x), _array(zname, z)
    bx = x.shape[0] if x.ndim == 2 else 1
    bz = z.shape[0] if z.ndim == 2 else 1
    if x.ndim == 2 and z.ndim == 2 and bx != bz:
        raise ValueError("%s has %d inputs and %s %d (shapes %s and %s); accepted: the same batch, or one of "
                         "them 1-D (one input, shared by every input of the other)"
                         % (xname, bx, zname, bz, x.shape, z.shape))
    B = max(bx, bz)
    if x.ndim == 1:
        x = np.ascontiguousarray(np.broadcast_to(x, (B, x.shape[0])))
    if z.ndim == 1:
        z = np.ascontiguousarray(np.broadcast_to(z, (B, z.shape[0])))
    return x, z


def _int(name, value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError("%s = %r; accepted: an integer in %d..%d" % (name, value, lo, hi))
    if not lo <= value <= hi:
        raise ValueError("%s = %d; accepted range %d..%d" % (name, value, lo, hi))
    return int(value)


def _positive(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError("%s = %r; accepted: a finite number > 0" % (name, value))
    return float(value)


def _choice(name, value, choices):
    if value not in choices:
        raise ValueError("%s = %r; accepted: %s" % (name, value, ", ".join(repr(c) for c in choices)))
    return choices[value]


def _fourier_spec(fourier, z_dim, for_empirical=False):
    """Normalize ``fourier`` to a dict with 'mode' in limit / draw / given / per-sample / fixed."""
    if fourier is None:
        return None
    if not isinstance(fourier, dict):
        raise TypeError("fourier = %r; accepted: None or a dict (docs/python.md)" % (fourier,))
    keys = set(fourier)
    if for_empirical:
        allowed = {"k", "scale", "draw"}
        if not keys <= allowed or "k" not in keys:
            raise ValueError("fourier keys %s; accepted: k (required), scale, draw ('per-sample' or 'fixed')"
                             % sorted(keys))
        draw = fourier.get("draw", "per-sample")
        _choice("fourier['draw']", draw, {"per-sample": 0, "fixed": 1})
        return {"mode": draw, "k": _int("fourier['k']", fourier["k"], 1, 1 << 20),
                "scale": _positive("fourier['scale']", fourier.get("scale", 1.0))}
    if keys <= {"scale"}:
        return {"mode": "limit", "scale": _positive("fourier['scale']", fourier.get("scale", 1.0))}
    if keys <= {"k", "scale", "seed"} and "k" in keys:
        return {"mode": "draw", "k": _int("fourier['k']", fourier["k"], 1, 1 << 20),
                "scale": _positive("fourier['scale']", fourier.get("scale", 1.0)),
                "seed": _int("fourier['seed']", fourier.get("seed", 1), 0, _SEED_MAX)}
    if keys == {"freqs", "phases"}:
        w, b = _array("fourier['freqs']", fourier["freqs"]), _array("fourier['phases']", fourier["phases"])
        if w.ndim != 2 or w.shape[1] != z_dim or b.ndim != 1 or b.shape[0] != w.shape[0]:
            raise ValueError("fourier['freqs'] has shape %s and fourier['phases'] %s; accepted (k, z_dim = %d) "
                             "and (k,)" % (w.shape, b.shape, z_dim))
        return {"mode": "given", "freqs": w, "phases": b}
    raise ValueError("fourier keys %s; accepted: {'scale'} (the k -> infinity kernel), {'k', 'scale', 'seed'} "
                     "(k features drawn as `hyperntk kernel --fourier-draw fixed`), or {'freqs', 'phases'}"
                     % sorted(keys))


def _features(lib, spec, z_dim, *Zs):
    """g's input for fixed features: (freqs, phases, [Phi of each Z])."""
    if spec["mode"] == "given":
        w, b = spec["freqs"], spec["phases"]
    else:
        k = spec["k"]
        w, b = np.empty((k, z_dim)), np.empty(k)
        arch = _lib.Arch(f_depth=1, x_dim=1, g_depth=1, z_dim=z_dim, fourier_k=k, fourier_scale=spec["scale"])
        lib.hntk_fourier_draw(ctypes.byref(arch), spec["seed"], 0xFFFFFFFF, _lib.ptr(w), _lib.ptr(b))
    k = w.shape[0]
    phis = []
    for Z in Zs:
        phi = np.empty((Z.shape[0], k))
        lib.hntk_fourier_features(k, z_dim, _lib.ptr(w), _lib.ptr(b), Z.shape[0], _lib.ptr(Z), _lib.ptr(phi))
        phis.append(phi)
    return w, b, phis


# ---------------------------------------------------------------- kernel_fn

def kernel_fn(x1, z1, x2=None, z2=None, f_depth=3, g_depth=2, get=("nngp", "ntk"), variant="paper",
              fourier=None):
    """The infinite-width kernels of the hypernetwork between two sets of inputs.

    Inputs u_i = (x1[i], z1[i]) and u'_j = (x2[j], z2[j]): ``x1`` (B1, x_dim) and ``z1`` (B1, z_dim)
    float64 C-contiguous arrays (a 1-D ``x1`` or ``z1`` is one input, shared by every input of the
    other), likewise ``x2``, ``z2`` (B2, ...); ``x2 = z2 = None`` is the first set again (the result
    is then exactly symmetric).  Every kernel is a (B1, B2) float64 array; entry (i, j) is the
    closed form of docs/theory.md §3 for the pair, bit for bit what ``hyperntk analytic`` writes.

    f_depth, g_depth: weight layers L of f and H of g (1..32).
    get: a name or a tuple of names among ``KERNELS``: 'ntk' (Theta^h), 'nngp' (Lambda^H),
        'f_ntk' (Theta^f), 'f_nngp' (S), 'g_ntk' (Theta^g).  A name returns that array; a tuple
        returns a namedtuple ``Kernel`` with those fields, in that order (as neural-tangents).
    variant: 'paper' (§3.4, the default) or 'authors-code' (§3.5: no S(x, x') in the backward
        products; for comparisons only).
    fourier: g's input kernel.  None: z.z'/z_dim.  ``{'scale': s}``: the k -> infinity Fourier
        kernel exp(-|z - z'|^2 / (2 s^2)) (§4.1).  ``{'k': k, 'scale': s, 'seed': S}``: the kernel
        of k features drawn as ``hyperntk kernel --fourier k --fourier-scale s --fourier-draw fixed
        --seed S`` draws them (§4.2).  ``{'freqs': W (k, z_dim), 'phases': b (k,)}``: given features
        sqrt(2) cos(W z + b) (W already divided by s).

    Raises TypeError / ValueError for bad arguments (naming them and what is accepted) and
    HyperntkError with the library's message for what the library refuses (NaN or inf inputs,
    depths out of range, ...).  OpenMP over rows (OMP_NUM_THREADS); any thread count gives the
    same bits.
    """
    lib = _lib.library()
    X1, Z1 = _pair("x1", x1, "z1", z1)
    if (x2 is None) != (z2 is None):
        raise ValueError("x2 is %s and z2 is %s; accepted: both None (the first set again) or both arrays"
                         % ("None" if x2 is None else "given", "None" if z2 is None else "given"))
    one_set = x2 is None
    X2, Z2 = (X1, Z1) if one_set else _pair("x2", x2, "z2", z2)
    if X2.shape[1] != X1.shape[1] or Z2.shape[1] != Z1.shape[1]:
        raise ValueError("x1, z1 have dimensions (%d, %d) and x2, z2 (%d, %d); accepted: the same x_dim and z_dim"
                         % (X1.shape[1], Z1.shape[1], X2.shape[1], Z2.shape[1]))
    names = (get,) if isinstance(get, str) else tuple(get)
    if not names:
        raise ValueError("get = %r names no kernel; accepted names: %s" % (get, ", ".join(KERNELS)))
    for n in names:
        if n not in KERNELS:
            raise ValueError("get: %r is not a kernel; accepted: %s" % (n, ", ".join(KERNELS)))
    v = _choice("variant", variant, _VARIANTS)
    L = _int("f_depth", f_depth, 1, _MAX_DEPTH)
    H = _int("g_depth", g_depth, 1, _MAX_DEPTH)
    spec = _fourier_spec(fourier, Z1.shape[1])
    z_dim, k, scale = Z1.shape[1], 0, 1.0
    if spec and spec["mode"] == "limit":
        k, scale = 1, spec["scale"]  # k only switches the k -> infinity kernel on
    elif spec:
        _, _, phis = _features(lib, spec, z_dim, Z1) if one_set else _features(lib, spec, z_dim, Z1, Z2)
        Z1 = phis[0]
        Z2 = Z1 if one_set else phis[1]
        z_dim = Z1.shape[1]
    B1, B2 = X1.shape[0], X2.shape[0]
    outs = {n: np.empty((B1, B2)) for n in set(names)}
    arch = _lib.Arch(f_depth=L, x_dim=X1.shape[1], g_depth=H, z_dim=z_dim, fourier_k=k, fourier_scale=scale)
    cross = _lib.CrossOut(**{n: _lib.ptr(outs.get(n)) for n in KERNELS})
    _lib.check(lib.hntk_limit_cross(ctypes.byref(arch), v, B1, _lib.ptr(X1), _lib.ptr(Z1), B2, _lib.ptr(X2),
                                    _lib.ptr(Z2), ctypes.byref(cross)))
    if isinstance(get, str):
        return outs[get]
    return collections.namedtuple("Kernel", names)(*(outs[n] for n in names))


# ---------------------------------------------------------------- empirical

def empirical(x, z, f_depth=3, f_width=1000, g_depth=2, g_width=200, samples=100, seed=1, sampler="dense",
              fourier=None, per_sample=False, budget_bytes=None):
    """The Monte Carlo of ``hyperntk kernel``: empirical kernels over independent initializations.

    Inputs ``x`` (B, x_dim) and ``z`` (B, z_dim) as in ``kernel_fn`` (float64, C-contiguous; a
    1-D one is broadcast).  Sample s of ``seed`` draws every weight of f from the counter-based
    streams (seed, s): the result is that of ``hyperntk kernel --inputs IN.h5 --f-depth L
    --f-width n --g-depth H --g-width m --samples N --seed S --sampler dense|lazy`` on the same
    inputs, bit for bit, for any thread count (OMP_NUM_THREADS).  The defaults are kernel's.

    sampler: 'dense' (every weight drawn) or 'lazy' (Gaussian conditioning, include/hyperntk/lazy.h:
        exact in distribution, not the same numbers as dense; f widths up to 2^31 - 1; no Fourier).
    fourier: None (g reads z) or ``{'k': k, 'scale': s, 'draw': 'per-sample' | 'fixed'}`` (kernel's
        --fourier, --fourier-scale, --fourier-draw).
    per_sample: also return every sample's values, (N, B, B) each (24 N B^2 bytes).
    budget_bytes: memory budget of the run (default 3/4 of physical memory; 0: none).

    Returns a dict of (B, B) arrays: 'ntk_mean', 'ntk_var', 'ntk_stderr' (K^h), 'nngp_mean',
    'nngp_var', 'nngp_stderr' (h(u_i) h(u_j)), 'gpart_mean', 'gpart_var', 'gpart_stderr'
    (c(u_i).c(u_j)) -- kernel's /empirical/* -- and with per_sample 'ntk_samples',
    'nngp_samples', 'gpart_samples' (N, B, B).  The call holds the GIL released; Ctrl-C is seen
    when it returns.
    """
    lib = _lib.library()
    X, Z = _pair("x", x, "z", z)
    B = X.shape[0]
    s = _choice("sampler", sampler, _SAMPLERS)
    spec = _fourier_spec(fourier, Z.shape[1], for_empirical=True)
    arch = _lib.Arch(f_depth=_int("f_depth", f_depth, 1, _MAX_DEPTH),
                     f_width=_int("f_width", f_width, 1, 2 ** 31 - 1), x_dim=X.shape[1],
                     g_depth=_int("g_depth", g_depth, 1, _MAX_DEPTH), g_width=_int("g_width", g_width, 1, 1 << 20),
                     z_dim=Z.shape[1], fourier_k=spec["k"] if spec else 0,
                     fourier_scale=spec["scale"] if spec else 1.0)
    N = _int("samples", samples, 2, 2 ** 31 - 1)
    if budget_bytes is None:
        budget_bytes = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 4 * 3
    budget = _int("budget_bytes", budget_bytes, 0, 2 ** 63 - 1)
    c_spec = _lib.EmpiricalSpec(arch=arch, lazy=s, seed=_int("seed", seed, 0, _SEED_MAX), samples=N,
                                fourier_fixed=1 if spec and spec["mode"] == "fixed" else 0, budget_bytes=budget)
    mean, var, se = (np.empty((3, B, B)) for _ in range(3))
    every = np.empty((N, 3, B, B)) if per_sample else None
    out = _lib.EmpiricalOut(mean=_lib.ptr(mean), var=_lib.ptr(var), se=_lib.ptr(se), samples=_lib.ptr(every))
    _lib.check(lib.hntk_empirical_run(ctypes.byref(c_spec), B, _lib.ptr(X), _lib.ptr(Z), ctypes.byref(out)))
    result = {}
    for q, name in enumerate(("ntk", "nngp", "gpart")):
        result[name + "_mean"], result[name + "_var"], result[name + "_stderr"] = mean[q], var[q], se[q]
        if per_sample:
            result[name + "_samples"] = np.ascontiguousarray(every[:, q])
    return result


# ---------------------------------------------------------------- load

class Result(dict):
    """A result file: ``r['/analytic/ntk']`` (or ``r['analytic/ntk']``) is a dataset as a numpy
    array; ``r.attrs`` the root attributes (configuration and provenance, strings decoded);
    ``r.meta[name]`` the dataset's attributes (``description``, ``units``, ...), its axis labels
    (``'dims'``: the dimension scales' names, None where an axis has none), the paths of those
    scales (``'scales'``) and, for enum datasets, ``'enum'``: {name: code}."""

    def __init__(self, path):
        super().__init__()
        self.path = path
        self.attrs = {}
        self.meta = {}

    @staticmethod
    def _key(name):
        return name if name.startswith("/") else "/" + name

    def __getitem__(self, name):
        return dict.__getitem__(self, self._key(name))

    def __contains__(self, name):
        return dict.__contains__(self, self._key(name))

    def get(self, name, default=None):
        return dict.get(self, self._key(name), default)

    def dims(self, name):
        """The axis labels of dataset ``name`` (None for an axis without a dimension scale)."""
        return self.meta[self._key(name)]["dims"]


def _decode(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.dtype.kind in "OS":
        return [_decode(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def load(path):
    """Read a hyperntk result file (any subcommand's, docs/file-formats.md) into a ``Result``: a dict
    of numpy arrays keyed by dataset path ('/analytic/ntk'), with ``.attrs`` (root attributes) and
    ``.meta`` (each dataset's attributes and axis labels).  Needs h5py (python3-h5py)."""
    import h5py
    result = Result(path)
    with h5py.File(path, "r") as f:
        result.attrs = {k: _decode(v) for k, v in f.attrs.items()}
        names = []
        f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
        for name in sorted(names):
            d = f[name]
            key = "/" + name
            result[key] = d[()]
            meta = {k: _decode(v) for k, v in d.attrs.items() if k not in ("DIMENSION_LIST", "REFERENCE_LIST",
                                                                            "CLASS", "NAME")}
            labels, scales = [], []
            for axis in d.dims:
                labels.append(axis.label or None)
                scales.append(axis[0].name if len(axis) else None)
            meta["dims"], meta["scales"] = labels, scales
            enum = h5py.check_enum_dtype(d.dtype)
            if enum:
                meta["enum"] = dict(enum)
            result.meta[key] = meta
    return result
