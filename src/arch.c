/* arch.c: derived sizes of an architecture and its validation (docs/theory.md §1). */
#include "hyperntk/arch.h"

#include <math.h>

#include "hyperntk/error.h"

hntk_hyper_arch hntk_mlp_arch(int depth, long width, long in_dim)
{
    hntk_hyper_arch a = {0};
    a.f_depth = depth;
    a.f_width = width;
    a.x_dim = in_dim;
    a.g_depth = 1;
    a.g_width = 1;
    a.z_dim = 1;
    return a;
}

hntk_hyper_arch hntk_hyper_arch_make(int f_depth, long f_width, long x_dim, int g_depth, long g_width, long z_dim)
{
    hntk_hyper_arch a = {0};
    a.f_depth = f_depth;
    a.f_width = f_width;
    a.x_dim = x_dim;
    a.g_depth = g_depth;
    a.g_width = g_width;
    a.z_dim = z_dim;
    a.fourier_scale = 1.0;
    return a;
}

long hntk_g_layer_width(const hntk_hyper_arch *a, int l)
{
    if (l == 0) return a->fourier_k > 0 ? a->fourier_k : a->z_dim;
    if (l == a->g_depth) return hntk_g_outputs(a);
    return a->g_width;
}

long hntk_g_outputs(const hntk_hyper_arch *a) { return a->g_out > 0 ? a->g_out : 1; }

int hntk_arch_require_theory(const hntk_hyper_arch *a, const char *who)
{
    if (a->g_out > 1)
        return hntk_fail(HNTK_EINVAL, "g_out = %ld is out of range for %s: accepted 0 or 1 (one output; "
                                      "several outputs only in the training engine, train.h)", a->g_out, who);
    if (a->bias_scale != 0)
        return hntk_fail(HNTK_EINVAL, "bias_scale = %g is out of range for %s: accepted 0 (no biases; biases "
                                      "only in the training engine, train.h)", a->bias_scale, who);
    return HNTK_OK;
}

long hntk_g_chunk_offset(const hntk_hyper_arch *a, int l)
{
    long off = 0, bias = a->bias_scale > 0;
    for (int j = 1; j < l; j++) off += hntk_g_layer_width(a, j) * (hntk_g_layer_width(a, j - 1) + bias);
    return off;
}

long hntk_g_bias_offset(const hntk_hyper_arch *a, int l)
{
    if (!(a->bias_scale > 0)) return -1;
    return hntk_g_chunk_offset(a, l) + hntk_g_layer_width(a, l) * hntk_g_layer_width(a, l - 1);
}

long hntk_f_out_dim(const hntk_hyper_arch *a) { return hntk_g_chunk_offset(a, a->g_depth + 1); }

long hntk_f_layer_width(const hntk_hyper_arch *a, int l)
{
    if (l == 0) return a->x_dim;
    if (l == a->f_depth) return hntk_f_out_dim(a);
    return a->f_width;
}

long hntk_param_count(const hntk_hyper_arch *a)
{
    long n = 0;
    for (int l = 1; l <= a->f_depth; l++)
        n += hntk_f_layer_width(a, l) * (hntk_f_layer_width(a, l - 1) + (a->bias_scale > 0));
    return n;
}

static int check_range_long(const char *name, long value, long lo, long hi)
{
    if (value < lo || value > hi)
        return hntk_fail(HNTK_EINVAL, "%s = %ld is out of range: accepted %ld..%ld", name, value, lo, hi);
    return HNTK_OK;
}

int hntk_hyper_arch_validate(const hntk_hyper_arch *a)
{
    int st;
    if (!a) return hntk_fail(HNTK_EINVAL, "architecture is NULL");
    if ((st = check_range_long("f_depth", a->f_depth, 1, HNTK_MAX_DEPTH))) return st;
    if ((st = check_range_long("g_depth", a->g_depth, 1, HNTK_MAX_DEPTH))) return st;
    if ((st = check_range_long("x_dim", a->x_dim, 1, HNTK_MAX_WIDTH))) return st;
    if ((st = check_range_long("z_dim", a->z_dim, 1, HNTK_MAX_WIDTH))) return st;
    if (a->f_depth > 1 && (st = check_range_long("f_width", a->f_width, 1, HNTK_MAX_WIDTH))) return st;
    if (a->g_depth > 1 && (st = check_range_long("g_width", a->g_width, 1, HNTK_MAX_WIDTH))) return st;
    if ((st = check_range_long("fourier_k", a->fourier_k, 0, HNTK_MAX_WIDTH))) return st;
    if ((st = check_range_long("g_out", a->g_out, 0, HNTK_MAX_WIDTH))) return st;
    if (!(a->bias_scale >= 0 && a->bias_scale <= 1e6))
        return hntk_fail(HNTK_EINVAL, "bias_scale = %g is out of range: accepted 0 (no biases) or 0..1e6", a->bias_scale);
    if (a->fourier_k > 0 && !(a->fourier_scale > 0 && isfinite(a->fourier_scale)))
        return hntk_fail(HNTK_EINVAL, "fourier_scale = %g is out of range: accepted a finite value > 0",
                         a->fourier_scale);
    /* Each chunk of g is at most 2^20 x 2^20 = 2^40 and H <= 32, so P < 2^46 cannot
     * overflow a 64-bit long; but P is a BLAS dimension and must fit an int. */
    long P = hntk_f_out_dim(a);
    if (P > HNTK_MAX_DIM)
        return hntk_fail(HNTK_EINVAL,
                         "g's weight count P = %ld (f's output dimension) is out of range: accepted 1..%ld",
                         P, HNTK_MAX_DIM);
    return HNTK_OK;
}
