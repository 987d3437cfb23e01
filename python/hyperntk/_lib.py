"""ctypes bindings of libhyperntk.so: where the library is found, the C structs, errors.

The library is looked for, in this order (the first that exists is loaded):

1. the environment variable ``HYPERNTK_LIBRARY``: a path to ``libhyperntk.so`` (or ``.so.0``);
2. the installed package's ``_location.py`` (written by ``cmake --install``): the library of
   that installation, relative to the package's folder;
3. the build tree: ``<repository>/build/lib/libhyperntk.so`` when the package is imported from
   ``<repository>/python`` (``PYTHONPATH=$PWD/python`` after ``scripts/build``);
4. the system's loader (``ctypes.util.find_library("hyperntk")``, e.g. after ``ldconfig``).

Nothing is loaded until the first call that needs C (``kernel_fn``, ``empirical``);
``hyperntk.load`` needs only h5py.
"""

import ctypes
import ctypes.util
import os

c_double_p = ctypes.POINTER(ctypes.c_double)

HNTK_EINVAL = 1


class HyperntkError(RuntimeError):
    """An error of the C library: ``status`` (its code, e.g. 1), ``status_name``
    (e.g. ``"invalid argument"``) and the library's message (``hntk_last_error()``),
    which names the bad value and the accepted range."""

    def __init__(self, status, status_name, message):
        super().__init__("%s: %s" % (status_name, message))
        self.status = status
        self.status_name = status_name
        self.message = message


class Arch(ctypes.Structure):
    """hntk_hyper_arch (include/hyperntk/arch.h)."""
    _fields_ = [("f_depth", ctypes.c_int), ("f_width", ctypes.c_long), ("x_dim", ctypes.c_long),
                ("g_depth", ctypes.c_int), ("g_width", ctypes.c_long), ("z_dim", ctypes.c_long),
                ("fourier_k", ctypes.c_long), ("fourier_scale", ctypes.c_double),
                ("g_out", ctypes.c_long), ("bias_scale", ctypes.c_double)]


class CrossOut(ctypes.Structure):
    """hntk_cross_out (include/hyperntk/analytic.h)."""
    _fields_ = [("ntk", c_double_p), ("nngp", c_double_p), ("f_ntk", c_double_p), ("f_nngp", c_double_p),
                ("g_ntk", c_double_p)]


class EmpiricalSpec(ctypes.Structure):
    """hntk_empirical_spec (include/hyperntk/empirical.h)."""
    _fields_ = [("arch", Arch), ("lazy", ctypes.c_int), ("seed", ctypes.c_uint64), ("samples", ctypes.c_long),
                ("fourier_fixed", ctypes.c_int), ("budget_bytes", ctypes.c_size_t)]


class EmpiricalOut(ctypes.Structure):
    """hntk_empirical_out (include/hyperntk/empirical.h)."""
    _fields_ = [("mean", c_double_p), ("var", c_double_p), ("se", c_double_p), ("samples", c_double_p)]


_lib = None
_path = None


def _candidates():
    here = os.path.dirname(os.path.abspath(__file__))
    env = os.environ.get("HYPERNTK_LIBRARY")
    if env:
        return [("HYPERNTK_LIBRARY", env)]
    found = []
    try:
        from . import _location  # written by cmake --install
        found.append(("the installation (_location.py)", os.path.normpath(os.path.join(here, _location.LIBRARY))))
    except ImportError:
        pass
    found.append(("the build tree", os.path.normpath(os.path.join(here, "..", "..", "build", "lib",
                                                                   "libhyperntk.so"))))
    system = ctypes.util.find_library("hyperntk")
    if system:
        found.append(("the system loader", system))
    return found


def library():
    """The loaded ctypes library (loaded at the first call)."""
    global _lib, _path
    if _lib is not None:
        return _lib
    tried = []
    for where, path in _candidates():
        if where != "the system loader" and not os.path.exists(path):
            tried.append("%s: %s (missing)" % (where, path))
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append("%s: %s (%s)" % (where, path, e))
            continue
        _declare(lib)
        _lib, _path = lib, path
        return lib
    raise HyperntkError(0, "library not found",
                        "cannot load libhyperntk.so; tried " + "; ".join(tried) +
                        ". Build it (scripts/build, or cmake --build build) or set HYPERNTK_LIBRARY to its path")


def library_path():
    """The path of the shared library in use (loading it if needed)."""
    library()
    return _path


def _declare(lib):
    lib.hntk_last_error.restype = ctypes.c_char_p
    lib.hntk_last_error.argtypes = []
    lib.hntk_status_name.restype = ctypes.c_char_p
    lib.hntk_status_name.argtypes = [ctypes.c_int]
    lib.hntk_version.restype = ctypes.c_char_p
    lib.hntk_version.argtypes = []
    lib.hntk_git_revision.restype = ctypes.c_char_p
    lib.hntk_git_revision.argtypes = []
    lib.hntk_mc_max_threads.restype = ctypes.c_int
    lib.hntk_mc_max_threads.argtypes = []
    lib.hntk_limit_cross.restype = ctypes.c_int
    lib.hntk_limit_cross.argtypes = [ctypes.POINTER(Arch), ctypes.c_int, ctypes.c_long, c_double_p, c_double_p,
                                     ctypes.c_long, c_double_p, c_double_p, ctypes.POINTER(CrossOut)]
    lib.hntk_fourier_draw.restype = None
    lib.hntk_fourier_draw.argtypes = [ctypes.POINTER(Arch), ctypes.c_uint64, ctypes.c_uint32, c_double_p,
                                      c_double_p]
    lib.hntk_fourier_features.restype = None
    lib.hntk_fourier_features.argtypes = [ctypes.c_long, ctypes.c_long, c_double_p, c_double_p, ctypes.c_long,
                                          c_double_p, c_double_p]
    lib.hntk_empirical_run.restype = ctypes.c_int
    lib.hntk_empirical_run.argtypes = [ctypes.POINTER(EmpiricalSpec), ctypes.c_long, c_double_p, c_double_p,
                                       ctypes.POINTER(EmpiricalOut)]


def check(status):
    """Raise HyperntkError with the library's message when status != 0."""
    if status:
        lib = library()
        raise HyperntkError(status, lib.hntk_status_name(status).decode(), lib.hntk_last_error().decode())


def ptr(array):
    """A double * to a C-contiguous float64 numpy array, or NULL for None."""
    if array is None:
        return None
    return array.ctypes.data_as(c_double_p)
