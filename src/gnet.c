/* gnet.c: the implicit network g's forward and backward passes (see gnet.h). */
#include "gnet.h"

#include <math.h>

#include "blas.h"

void hntk_glayout_init(hntk_glayout *g, const hntk_hyper_arch *a)
{
    g->H = a->g_depth;
    g->m_max = 0;
    for (int l = 0; l <= g->H; l++) {
        g->m[l] = hntk_g_layer_width(a, l);
        if (g->m[l] > g->m_max) g->m_max = g->m[l];
    }
    for (int l = 1; l <= g->H + 1; l++) g->off[l] = hntk_g_chunk_offset(a, l);
    g->beta = a->bias_scale;
    for (int l = 1; l <= g->H; l++) g->boff[l] = hntk_g_bias_offset(a, l);
    long pre = 0, act = 0;
    for (int l = 1; l <= g->H; l++) { g->pre_off[l] = pre; pre += g->m[l]; }
    for (int l = 0; l < g->H; l++) { g->act_off[l] = act; act += g->m[l]; }
    g->pre_len = pre;
    g->act_len = act;
}

HNTK_VECTOR_SELECT void hntk_relu_sqrt2(double *q, const double *y, long n)
{
    for (long i = 0; i < n; i++) {
        double w = HNTK_SQRT2 * y[i];
        q[i] = y[i] > 0.0 ? w : 0.0;
    }
}

HNTK_VECTOR_SELECT void hntk_mask_scaled(double *restrict e, const double *restrict q, long n, double c)
{
    for (long i = 0; i < n; i++) {
        double w = c * e[i];
        e[i] = q[i] > 0.0 ? w : 0.0;
    }
}

double hntk_g_forward(const hntk_glayout *g, const double *v, double *pre, double *act)
{
    for (int l = 1; l <= g->H; l++) {
        long ml = g->m[l], mp = g->m[l - 1];
        const double *V = v + g->off[l];      /* (m_l, m_{l-1}) */
        const double *a_prev = act + g->act_off[l - 1];
        double *gl = pre + g->pre_off[l];
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)ml, (int)mp, 1.0 / sqrt((double)mp), V, (int)mp,
                    a_prev, 1, 0.0, gl, 1);
        if (g->beta > 0) cblas_daxpy((int)ml, g->beta, v + g->boff[l], 1, gl, 1);
        if (l < g->H) hntk_relu_sqrt2(act + g->act_off[l], gl, ml);
    }
    return pre[g->pre_off[g->H]];
}

/* dg holds dh/dg^l while walking l = H..1. */
void hntk_g_backward(const hntk_glayout *g, const double *v, const double *pre, const double *act,
                     const double *seed, double *c, double *dg, double *da)
{
    for (long i = 0; i < g->m[g->H]; i++) dg[i] = seed ? seed[i] : 1.0; /* d(seed . h)/dg^H */
    for (int l = g->H; l >= 1; l--) {
        long ml = g->m[l], mp = g->m[l - 1];
        double scale = 1.0 / sqrt((double)mp);
        const double *a_prev = act + g->act_off[l - 1];
        double *C = c + g->off[l]; /* dh/dV^l (m_l, m_{l-1}) = dg (x) a^{l-1} / sqrt(m_{l-1}) */
        for (long i = 0; i < ml; i++) {
            double gi = dg[i] * scale;
            for (long j = 0; j < mp; j++) C[i * mp + j] = gi * a_prev[j];
        }
        if (g->beta > 0) /* dh/dc^l = beta dg */
            for (long i = 0; i < ml; i++) c[g->boff[l] + i] = g->beta * dg[i];
        if (l == 1) break;
        /* dh/da^{l-1} = V^l^T dg / sqrt(m_{l-1});  dh/dg^{l-1} = that * sqrt(2) 1[g^{l-1} > 0] */
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)ml, (int)mp, scale, v + g->off[l], (int)mp, dg, 1, 0.0, da,
                    1);
        const double *g_prev = pre + g->pre_off[l - 1];
        for (long j = 0; j < mp; j++) dg[j] = g_prev[j] > 0.0 ? HNTK_SQRT2 * da[j] : 0.0;
    }
}
