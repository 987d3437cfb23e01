/* stdparam.c: the authors' standard parametrization on the NTK engine (see stdparam.h). */
#include "hyperntk/stdparam.h"

#include <math.h>

#include "hyperntk/error.h"
#include "hyperntk/net.h"
#include "blas.h"

/* s of row `row` of layer l: 1 for l < L and for the rows of f's last layer
 * that are g's biases c^k; m_{k-1} for the rows of chunk V^k; 0 out of range. */
static double row_factor(const hntk_hyper_arch *a, int l, long row)
{
    if (l < 1 || l > a->f_depth || row < 0 || row >= hntk_f_layer_width(a, l)) return 0.0;
    if (l < a->f_depth) return 1.0;
    for (int k = a->g_depth; k >= 1; k--) {
        if (row < hntk_g_chunk_offset(a, k)) continue;
        long boff = hntk_g_bias_offset(a, k);
        return boff >= 0 && row >= boff ? 1.0 : (double)hntk_g_layer_width(a, k - 1);
    }
    return 0.0;
}

double hntk_stdparam_rate(const hntk_hyper_arch *a, int l, long row)
{
    return (double)hntk_f_layer_width(a, l - 1 >= 0 ? l - 1 : 0) * row_factor(a, l, row);
}

double hntk_stdparam_bias_rate(const hntk_hyper_arch *a, int l, long row)
{
    return a->bias_scale > 0 ? row_factor(a, l, row) : 0.0;
}

static int check_arch(const hntk_hyper_arch *a)
{
    if (a->bias_scale != 0 && a->bias_scale != 1)
        return hntk_fail(HNTK_EINVAL, "bias_scale = %g is out of range for the standard parametrization: accepted 0 "
                                      "(no biases) or 1", a->bias_scale);
    return HNTK_OK;
}

int hntk_stdparam_init(hntk_train *t)
{
    hntk_net *net = hntk_train_net(t);
    const hntk_hyper_arch *a = hntk_net_arch(net);
    int st = check_arch(a);
    if (st) return st;
    for (int l = 1; l <= a->f_depth; l++) {
        long rows = hntk_f_layer_width(a, l), n = hntk_f_layer_width(a, l - 1);
        double *W = hntk_net_weights(net, l), *b = hntk_net_biases(net, l);
        for (long r = 0; r < rows; r++) {
            double s = row_factor(a, l, r);
            if (s != 1.0) cblas_dscal((int)n, sqrt(s), W + r * n, 1);
            if (b) b[r] *= sqrt(s / (double)n); /* N(0, s/n): the authors' bias N(0, 1/n) times sqrt(s) */
        }
    }
    return HNTK_OK;
}

int hntk_stdparam_apply(hntk_train *t, double mu)
{
    if (!isfinite(mu)) return hntk_fail(HNTK_EINVAL, "learning rate mu = %g is not finite", mu);
    hntk_net *net = hntk_train_net(t);
    const hntk_hyper_arch *a = hntk_net_arch(net);
    int st = check_arch(a);
    if (st) return st;
    for (int l = 1; l <= a->f_depth; l++) {
        long rows = hntk_f_layer_width(a, l), n = hntk_f_layer_width(a, l - 1);
        const double *G = hntk_train_grad(t, l), *Gb = hntk_train_bias_grad(t, l);
        double *W = hntk_net_weights(net, l), *b = hntk_net_biases(net, l);
        if (l < a->f_depth) { /* s = 1 on every row: one update */
            cblas_daxpy((int)(rows * n), -mu * (double)n, G, 1, W, 1);
            if (b) cblas_daxpy((int)rows, -mu, Gb, 1, b, 1);
            continue;
        }
        /* the last layer chunk by chunk: V^k's rows (s = m_{k-1}), then c^k's (s = 1) */
        for (int k = 1; k <= a->g_depth; k++) {
            long first = hntk_g_chunk_offset(a, k), mk = hntk_g_layer_width(a, k);
            double s = (double)hntk_g_layer_width(a, k - 1);
            cblas_daxpy((int)(mk * (long)s * n), -mu * (double)n * s, G + first * n, 1, W + first * n, 1);
            if (b) cblas_daxpy((int)(mk * (long)s), -mu * s, Gb + first, 1, b + first, 1);
            long boff = hntk_g_bias_offset(a, k);
            if (boff >= 0) {
                cblas_daxpy((int)(mk * n), -mu * (double)n, G + boff * n, 1, W + boff * n, 1);
                cblas_daxpy((int)mk, -mu, Gb + boff, 1, b + boff, 1);
            }
        }
    }
    return HNTK_OK;
}

int hntk_stdparam_weights(hntk_train *t, double *w)
{
    hntk_net *net = hntk_train_net(t);
    const hntk_hyper_arch *a = hntk_net_arch(net);
    long off = 0;
    for (int l = 1; l <= a->f_depth; l++) {
        long rows = hntk_f_layer_width(a, l), cols = hntk_f_layer_width(a, l - 1);
        const double *W = hntk_net_weights(net, l), *b = hntk_net_biases(net, l);
        for (long r = 0; r < rows; r++) {
            double c = sqrt(hntk_stdparam_rate(a, l, r));
            for (long j = 0; j < cols; j++) w[off + r * cols + j] = W[r * cols + j] / c;
        }
        off += rows * cols;
        if (b) {
            for (long r = 0; r < rows; r++) w[off + r] = b[r] / sqrt(row_factor(a, l, r));
            off += rows;
        }
    }
    return HNTK_OK;
}
