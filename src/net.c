/* net.c: forward, backward and exact empirical kernels of one hypernetwork sample.
 *
 * Layout: one slab holds every buffer; the struct keeps named views into it
 * (llm.c style).  Everything is sized in hntk_net_alloc for batch_cap inputs.
 */
#include "hyperntk/net.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "gnet.h"
#include "hyperntk/error.h"
#include "hyperntk/rng.h"

#define SQRT2 HNTK_SQRT2
#define HNTK_PI 3.14159265358979323846

struct hntk_net {
    hntk_hyper_arch arch;
    int L;
    long batch_cap;
    long B;                       /* inputs in the last forward */
    long n[HNTK_MAX_DEPTH + 1];   /* f widths n_0..n_L (n_L = P) */
    long P;
    long C;                       /* g's outputs m_H */
    hntk_glayout g;                   /* g's widths and offsets */

    double *slab;
    double *W[HNTK_MAX_DEPTH + 1]; /* W^l (n_l, n_{l-1}), l = 1..L */
    double *b[HNTK_MAX_DEPTH + 1]; /* b^l (n_l), l = 1..L; NULL without biases */
    double beta;                   /* bias scale (0: none) */
    double *Y[HNTK_MAX_DEPTH + 1]; /* (B, n_l), l = 1..L */
    double *Q[HNTK_MAX_DEPTH];     /* (B, n_l), l = 0..L-1 */
    double *E[HNTK_MAX_DEPTH + 1]; /* (B, n_l), l = 1..L */
    double *gpre;                  /* (B, pre_len): g^1..g^H of every input */
    double *gact;                  /* (B, act_len): a^0..a^{H-1} of every input */
    double *h;                     /* (B, C) */
    double *dg, *da;               /* (m_max) backward scratch through g */
    double *ff_freq;               /* (k, z_dim) Fourier frequencies / s, or NULL */
    double *ff_phase;              /* (k) */
    int ff_fixed;                  /* 1: features installed by hntk_net_fix_fourier, not redrawn */
    double *gram_a, *gram_b;       /* (B, B) scratch of the Gram products */
};

/* ---------------------------------------------------------------- sizes */

static void derive_sizes(hntk_net *net, const hntk_hyper_arch *a)
{
    net->arch = *a;
    net->L = a->f_depth;
    net->P = hntk_f_out_dim(a);
    net->C = hntk_g_outputs(a);
    net->beta = a->bias_scale;
    for (int l = 0; l <= net->L; l++) net->n[l] = hntk_f_layer_width(a, l);
    hntk_glayout_init(&net->g, a);
}

/* Doubles in the slab, in the order carve_slab lays them out. */
static size_t slab_doubles(const hntk_net *net, long B)
{
    size_t d = 0;
    for (int l = 1; l <= net->L; l++) d += (size_t)net->n[l] * (size_t)net->n[l - 1]; /* W */
    if (net->beta > 0)
        for (int l = 1; l <= net->L; l++) d += (size_t)net->n[l];                    /* b */
    for (int l = 1; l <= net->L; l++) d += 2 * (size_t)B * (size_t)net->n[l];        /* Y, E */
    for (int l = 0; l < net->L; l++) d += (size_t)B * (size_t)net->n[l];             /* Q */
    d += (size_t)B * (size_t)(net->g.pre_len + net->g.act_len + net->C);                  /* gpre, gact, h */
    d += 2 * (size_t)net->g.m_max;                                                       /* dg, da */
    if (net->arch.fourier_k > 0) d += (size_t)net->arch.fourier_k * (size_t)(net->arch.z_dim + 1);
    d += 2 * (size_t)B * (size_t)B;                                                    /* gram_a, gram_b */
    return d;
}

static void carve_slab(hntk_net *net)
{
    double *p = net->slab;
    long B = net->batch_cap;
    for (int l = 1; l <= net->L; l++) { net->W[l] = p; p += net->n[l] * net->n[l - 1]; }
    for (int l = 1; l <= net->L; l++) {
        net->b[l] = NULL;
        if (net->beta > 0) { net->b[l] = p; p += net->n[l]; }
    }
    for (int l = 1; l <= net->L; l++) { net->Y[l] = p; p += B * net->n[l]; }
    for (int l = 1; l <= net->L; l++) { net->E[l] = p; p += B * net->n[l]; }
    for (int l = 0; l < net->L; l++) { net->Q[l] = p; p += B * net->n[l]; }
    net->gpre = p; p += B * net->g.pre_len;
    net->gact = p; p += B * net->g.act_len;
    net->h = p; p += B * net->C;
    net->dg = p; p += net->g.m_max;
    net->da = p; p += net->g.m_max;
    net->ff_freq = net->ff_phase = NULL;
    if (net->arch.fourier_k > 0) {
        net->ff_freq = p; p += net->arch.fourier_k * net->arch.z_dim;
        net->ff_phase = p; p += net->arch.fourier_k;
    }
    net->gram_a = p; p += B * B;
    net->gram_b = p; p += B * B;
}

size_t hntk_net_bytes(const hntk_hyper_arch *a, long batch_cap)
{
    hntk_net tmp;
    derive_sizes(&tmp, a);
    return sizeof(hntk_net) + sizeof(double) * slab_doubles(&tmp, batch_cap);
}

int hntk_net_alloc(const hntk_hyper_arch *a, long batch_cap, size_t budget_bytes, hntk_net **out)
{
    *out = NULL;
    int st = hntk_hyper_arch_validate(a);
    if (st) return st;
    /* B^2 doubles of Gram scratch must stay addressable: cap B at 2^24. */
    if (batch_cap < 1 || batch_cap > (1L << 24))
        return hntk_fail(HNTK_EINVAL, "batch size = %ld is out of range: accepted 1..%ld", batch_cap, 1L << 24);
    size_t bytes = hntk_net_bytes(a, batch_cap);
    if (budget_bytes > 0 && bytes > budget_bytes)
        return hntk_fail(HNTK_EBUDGET,
                         "network workspace needs %.3g GiB (f width %ld, P = %ld, batch %ld), "
                         "over the memory budget of %.3g GiB",
                         bytes / 1073741824.0, a->f_width, hntk_f_out_dim(a), batch_cap,
                         budget_bytes / 1073741824.0);
    hntk_net *net = calloc(1, sizeof *net);
    if (!net) return hntk_fail(HNTK_ENOMEM, "cannot allocate the network descriptor");
    derive_sizes(net, a);
    net->batch_cap = batch_cap;
    net->slab = malloc(sizeof(double) * slab_doubles(net, batch_cap));
    if (!net->slab) {
        free(net);
        return hntk_fail(HNTK_ENOMEM, "cannot allocate %.3g GiB for the network workspace", bytes / 1073741824.0);
    }
    carve_slab(net);
    *out = net;
    return HNTK_OK;
}

void hntk_net_free(hntk_net *net)
{
    if (!net) return;
    free(net->slab);
    free(net);
}

const hntk_hyper_arch *hntk_net_arch(const hntk_net *net) { return &net->arch; }
double *hntk_net_weights(hntk_net *net, int l) { return net->W[l]; }
double *hntk_net_biases(hntk_net *net, int l) { return net->b[l]; }
double *hntk_net_fourier_freqs(hntk_net *net) { return net->ff_freq; }
double *hntk_net_fourier_phases(hntk_net *net) { return net->ff_phase; }
const double *hntk_net_output(const hntk_net *net) { return net->h; }
const double *hntk_net_f_output(const hntk_net *net) { return net->Y[net->L]; }
const double *hntk_net_dh_dv(const hntk_net *net) { return net->E[net->L]; }
const double *hntk_net_dh_dy(const hntk_net *net, int l) { return net->E[l]; }
const double *hntk_net_activation(const hntk_net *net, int l) { return net->Q[l]; }

/* ---------------------------------------------------------------- sampling */

void hntk_fourier_draw(const hntk_hyper_arch *a, uint64_t seed, uint32_t sample, double *freq, double *phase)
{
    long k = a->fourier_k;
    if (k <= 0) return;
    hntk_fill_normal_matrix(seed, sample, HNTK_TENSOR_FOURIER_W, 1.0 / a->fourier_scale, freq, (size_t)k,
                            (size_t)a->z_dim);
    hntk_stream s;
    hntk_stream_init(&s, seed, sample, HNTK_TENSOR_FOURIER_B, 0);
    hntk_stream_uniforms(&s, phase, (size_t)k);
    for (long i = 0; i < k; i++) phase[i] = HNTK_PI * (2.0 * phase[i] - 1.0);
}

int hntk_net_fix_fourier(hntk_net *net, const double *freq, const double *phase)
{
    long k = net->arch.fourier_k;
    if (k <= 0) return hntk_fail(HNTK_EINVAL, "hntk_net_fix_fourier: the network has no Fourier features (fourier_k = 0)");
    if (!freq != !phase)
        return hntk_fail(HNTK_EINVAL, "hntk_net_fix_fourier: freq and phase must both be given or both be NULL");
    if (!freq) {
        net->ff_fixed = 0;
        return HNTK_OK;
    }
    memcpy(net->ff_freq, freq, sizeof(double) * (size_t)(k * net->arch.z_dim));
    memcpy(net->ff_phase, phase, sizeof(double) * (size_t)k);
    net->ff_fixed = 1;
    return HNTK_OK;
}

int hntk_net_fourier_fixed(const hntk_net *net) { return net->ff_fixed; }

void hntk_net_sample_weights(hntk_net *net, uint64_t seed, uint32_t sample)
{
    for (int l = 1; l <= net->L; l++)
        hntk_fill_normal_matrix(seed, sample, (uint32_t)(HNTK_TENSOR_F_LAYER0 + l), 1.0, net->W[l],
                                (size_t)net->n[l], (size_t)net->n[l - 1]);
    if (net->beta > 0)
        for (int l = 1; l <= net->L; l++)
            hntk_fill_normal_matrix(seed, sample, (uint32_t)(HNTK_TENSOR_F_BIAS0 + l), 1.0, net->b[l], 1,
                                    (size_t)net->n[l]);
    /* w_i ~ N(0, s^-2 I), b_i ~ U[-pi, pi] (docs/theory.md §4). */
    /* Not redrawn when fixed for the run (hntk_net_fix_fourier). */
    if (net->arch.fourier_k > 0 && !net->ff_fixed)
        hntk_fourier_draw(&net->arch, seed, sample, net->ff_freq, net->ff_phase);
}

/* ---------------------------------------------------------------- forward */

/* g's input a^0 (m_0) for one raw z (z_dim). */
static void g_input(const hntk_net *net, const double *z, double *a0)
{
    long k = net->arch.fourier_k, zd = net->arch.z_dim;
    if (k == 0) {
        memcpy(a0, z, sizeof(double) * (size_t)zd);
        return;
    }
    for (long i = 0; i < k; i++) {
        const double *w = net->ff_freq + i * zd;
        double t = net->ff_phase[i];
        for (long j = 0; j < zd; j++) t += w[j] * z[j];
        a0[i] = SQRT2 * cos(t);
    }
}

/* g on B inputs: input b's weights are V + b * v_stride (P each), its outputs
 * h (B, C); fills gpre and gact. */
static void g_batch(hntk_net *net, const double *V, long v_stride, long B, const double *Z, double *h)
{
    long C = net->C, out_off = net->g.pre_off[net->g.H];
    for (long b = 0; b < B; b++) {
        double *act = net->gact + b * net->g.act_len, *pre = net->gpre + b * net->g.pre_len;
        g_input(net, Z + b * net->arch.z_dim, act);
        h[b * C] = hntk_g_forward(&net->g, V + b * v_stride, pre, act);
        for (long c = 1; c < C; c++) h[b * C + c] = pre[out_off + c];
    }
}

int hntk_net_forward(hntk_net *net, long B, const double *X, const double *Z, double *h_out)
{
    if (B < 1 || B > net->batch_cap)
        return hntk_fail(HNTK_EINVAL, "batch of %ld inputs is out of range: accepted 1..%ld", B, net->batch_cap);
    net->B = B;
    memcpy(net->Q[0], X, sizeof(double) * (size_t)(B * net->n[0]));
    for (int l = 1; l <= net->L; l++) {
        long nl = net->n[l], np = net->n[l - 1];
        /* Y^l (B, n_l) = Q^{l-1} (B, n_{l-1}) W^l^T / sqrt(n_{l-1}) */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)nl, (int)np, 1.0 / sqrt((double)np),
                    net->Q[l - 1], (int)np, net->W[l], (int)np, 0.0, net->Y[l], (int)nl);
        if (net->beta > 0) /* + beta 1 b^l^T */
            for (long r = 0; r < B; r++) cblas_daxpy((int)nl, net->beta, net->b[l], 1, net->Y[l] + r * nl, 1);
        if (l < net->L) hntk_relu_sqrt2(net->Q[l], net->Y[l], B * nl);
    }
    const double *V = net->Y[net->L];
    g_batch(net, V, net->P, B, Z, net->h);
    if (h_out) memcpy(h_out, net->h, sizeof(double) * (size_t)(B * net->C));
    return HNTK_OK;
}

int hntk_net_g_eval(hntk_net *net, const double *v, long B, const double *Z, double *h_out)
{
    if (B < 1 || B > net->batch_cap)
        return hntk_fail(HNTK_EINVAL, "batch of %ld inputs of g is out of range: accepted 1..%ld", B, net->batch_cap);
    g_batch(net, v, 0, B, Z, h_out);
    return HNTK_OK;
}

/* ---------------------------------------------------------------- backward */

void hntk_net_backward(hntk_net *net) { hntk_net_backward_seeded(net, NULL); }

void hntk_net_backward_seeded(hntk_net *net, const double *seed)
{
    long B = net->B, C = net->C;
    const double *V = net->Y[net->L];
    for (long b = 0; b < B; b++)
        hntk_g_backward(&net->g, V + b * net->P, net->gpre + b * net->g.pre_len, net->gact + b * net->g.act_len,
                        seed ? seed + b * C : NULL, net->E[net->L] + b * net->P, net->dg, net->da);
    for (int l = net->L; l >= 2; l--) {
        long nl = net->n[l], np = net->n[l - 1];
        /* E^{l-1} (B, n_{l-1}) = (E^l (B, n_l) W^l (n_l, n_{l-1}) / sqrt(n_{l-1})) o sqrt(2) 1[Y^{l-1} > 0] */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)B, (int)np, (int)nl, 1.0 / sqrt((double)np),
                    net->E[l], (int)nl, net->W[l], (int)np, 0.0, net->E[l - 1], (int)np);
        double *e = net->E[l - 1];
        const double *y = net->Y[l - 1];
        for (long i = 0; i < B * np; i++) e[i] = y[i] > 0.0 ? SQRT2 * e[i] : 0.0;
    }
}

long hntk_net_batch(const hntk_net *net) { return net->B; }
const double *hntk_net_g_preacts(const hntk_net *net) { return net->gpre; }
const double *hntk_net_g_acts(const hntk_net *net) { return net->gact; }

void hntk_net_weight_grad(const hntk_net *net, long b, int l, double *grad)
{
    long nl = net->n[l], np = net->n[l - 1];
    const double *e = net->E[l] + b * nl, *q = net->Q[l - 1] + b * np;
    double scale = 1.0 / sqrt((double)np);
    for (long i = 0; i < nl; i++)
        for (long j = 0; j < np; j++) grad[i * np + j] = e[i] * scale * q[j];
}

/* ---------------------------------------------------------------- Gram matrices */

/* Copy the upper triangle of K (B x B) into its lower triangle. */
static void symmetrize_upper(double *K, long B)
{
    for (long i = 0; i < B; i++)
        for (long j = 0; j < i; j++) K[i * B + j] = K[j * B + i];
}

void hntk_net_ntk_gram(hntk_net *net, double *K)
{
    long B = net->B;
    double *EE = net->gram_a, *QQ = net->gram_b;
    for (long i = 0; i < B * B; i++) K[i] = 0.0;
    for (int l = 1; l <= net->L; l++) {
        long nl = net->n[l], np = net->n[l - 1];
        /* upper triangles of E^l E^l^T and Q^{l-1} Q^{l-1}^T / n_{l-1} (B, B) */
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)B, (int)nl, 1.0, net->E[l], (int)nl, 0.0, EE,
                    (int)B);
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)B, (int)np, 1.0 / (double)np, net->Q[l - 1],
                    (int)np, 0.0, QQ, (int)B);
        /* with biases, + beta^2 E^l E^l^T (the gradients of beta b^l) */
        double bb = net->beta * net->beta;
        for (long i = 0; i < B; i++)
            for (long j = i; j < B; j++) K[i * B + j] += EE[i * B + j] * (QQ[i * B + j] + bb);
    }
    symmetrize_upper(K, B);
}

int hntk_net_sample_ntk_gram(hntk_net *net, uint64_t seed, uint32_t sample, long B, const double *X,
                             const double *Z, double *K)
{
    hntk_net_sample_weights(net, seed, sample);
    int st = hntk_net_forward(net, B, X, Z, NULL);
    if (st) return st;
    hntk_net_backward(net);
    hntk_net_ntk_gram(net, K);
    return HNTK_OK;
}

double hntk_net_ntk_gram_flops(const hntk_hyper_arch *a, long B)
{
    /* dsyrk on (B, k) computes B(B+1)/2 dot products of length k: B(B+1) k flops. */
    double flops = 0.0;
    for (int l = 1; l <= a->f_depth; l++)
        flops += (double)B * (double)(B + 1) *
                     (double)(hntk_f_layer_width(a, l) + hntk_f_layer_width(a, l - 1)) +
                 (double)B * (double)(B + 1); /* the Hadamard accumulation */
    return flops;
}

void hntk_net_nngp_gram(const hntk_net *net, double *K)
{
    long B = net->B, C = net->C;
    for (long i = 0; i < B; i++)
        for (long j = 0; j < B; j++) {
            double s = 0.0;
            for (long c = 0; c < C; c++) s += net->h[i * C + c] * net->h[j * C + c];
            K[i * B + j] = s;
        }
}

void hntk_net_g_gram(hntk_net *net, double *K)
{
    long B = net->B, P = net->P;
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)B, (int)P, 1.0, net->E[net->L], (int)P, 0.0, K,
                (int)B);
    symmetrize_upper(K, B);
}

/* ---------------------------------------------------------------- f-NTK */

struct hntk_fntk_ws {
    long P, n_max;
    double *Ji, *Jj, *Ji_next, *Jj_next; /* (P, n_max) Jacobian blocks dv/dy^l of inputs i and j */
    double *Kf;                          /* (P, P) */
};

static long f_hidden_max(const hntk_hyper_arch *a)
{
    long n_max = 1;
    for (int l = 1; l < a->f_depth; l++)
        if (hntk_f_layer_width(a, l) > n_max) n_max = hntk_f_layer_width(a, l);
    return n_max;
}

size_t hntk_fntk_ws_bytes(const hntk_hyper_arch *a)
{
    double P = (double)hntk_f_out_dim(a), n_max = (double)f_hidden_max(a);
    double d = 4.0 * P * n_max + P * P;
    return sizeof(hntk_fntk_ws) + (size_t)(d * sizeof(double));
}

int hntk_fntk_ws_alloc(const hntk_net *net, size_t budget_bytes, hntk_fntk_ws **out)
{
    *out = NULL;
    size_t bytes = hntk_fntk_ws_bytes(&net->arch);
    if (budget_bytes > 0 && bytes > budget_bytes)
        return hntk_fail(HNTK_EBUDGET, "the f-NTK workspace needs %.3g GiB (P = %ld outputs), over the budget of %.3g GiB",
                         bytes / 1073741824.0, net->P, budget_bytes / 1073741824.0);
    hntk_fntk_ws *ws = calloc(1, sizeof *ws);
    if (!ws) return hntk_fail(HNTK_ENOMEM, "cannot allocate the f-NTK workspace");
    ws->P = net->P;
    ws->n_max = f_hidden_max(&net->arch);
    size_t blk = (size_t)ws->P * (size_t)ws->n_max;
    double *p = malloc(sizeof(double) * (4 * blk + (size_t)ws->P * (size_t)ws->P));
    if (!p) {
        free(ws);
        return hntk_fail(HNTK_ENOMEM, "cannot allocate %.3g GiB for the f-NTK workspace", bytes / 1073741824.0);
    }
    ws->Ji = p;
    ws->Jj = p + blk;
    ws->Ji_next = p + 2 * blk;
    ws->Jj_next = p + 3 * blk;
    ws->Kf = p + 4 * blk;
    *out = ws;
    return HNTK_OK;
}

void hntk_fntk_ws_free(hntk_fntk_ws *ws)
{
    if (!ws) return;
    free(ws->Ji);
    free(ws);
}

static double row_dot(const double *a, const double *b, long n)
{
    double s = 0.0;
    for (long i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* J^{l}(x_b) (P, n_l) = J^{l+1}(x_b) (P, n_{l+1}) W^{l+1} / sqrt(n_l), columns masked by
 * sqrt(2) 1[Y^l_b > 0].  For l = L-1, J^L = I, so J^{L-1} = W^L / sqrt(n_{L-1}) masked. */
static void jacobian_step(const hntk_net *net, int l, long b, const double *J_up, double *J)
{
    long P = net->P, nl = net->n[l], nu = net->n[l + 1];
    double scale = 1.0 / sqrt((double)nl);
    if (l + 1 == net->L) {
        for (long p = 0; p < P; p++)
            for (long j = 0; j < nl; j++) J[p * nl + j] = scale * net->W[l + 1][p * nl + j];
    } else {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)P, (int)nl, (int)nu, scale, J_up, (int)nu,
                    net->W[l + 1], (int)nl, 0.0, J, (int)nl);
    }
    const double *y = net->Y[l] + b * nl;
    for (long p = 0; p < P; p++)
        for (long j = 0; j < nl; j++) J[p * nl + j] = y[j] > 0.0 ? SQRT2 * J[p * nl + j] : 0.0;
}

void hntk_net_fntk(const hntk_net *net, hntk_fntk_ws *ws, long i, long j, double *Kf)
{
    long P = net->P;
    int L = net->L;
    /* l = L: dv/dy^L = I, so the term is s_L I with s_l = q^{l-1}(x_i).q^{l-1}(x_j) / n_{l-1}. */
    double sL = row_dot(net->Q[L - 1] + i * net->n[L - 1], net->Q[L - 1] + j * net->n[L - 1], net->n[L - 1]) /
                (double)net->n[L - 1];
    for (long p = 0; p < P * P; p++) Kf[p] = 0.0;
    for (long p = 0; p < P; p++) Kf[p * P + p] = sL;
    double *Ji = ws->Ji, *Jj = ws->Jj, *Ji_next = ws->Ji_next, *Jj_next = ws->Jj_next;
    for (int l = L - 1; l >= 1; l--) {
        long nl = net->n[l];
        jacobian_step(net, l, i, Ji, Ji_next);
        jacobian_step(net, l, j, Jj, Jj_next);
        double *t = Ji; Ji = Ji_next; Ji_next = t;
        t = Jj; Jj = Jj_next; Jj_next = t;
        double sl = row_dot(net->Q[l - 1] + i * net->n[l - 1], net->Q[l - 1] + j * net->n[l - 1], net->n[l - 1]) /
                    (double)net->n[l - 1];
        /* Kf += s_l J^l(x_i) J^l(x_j)^T  (P, P) */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)P, (int)P, (int)nl, sl, Ji, (int)nl, Jj,
                    (int)nl, 1.0, Kf, (int)P);
    }
}

void hntk_net_fntk_stats(const hntk_net *net, hntk_fntk_ws *ws, long i, long j, double *diag_mean,
                         double *off_rms)
{
    long P = net->P;
    hntk_net_fntk(net, ws, i, j, ws->Kf);
    double diag = 0.0, off2 = 0.0;
    for (long p = 0; p < P; p++)
        for (long q = 0; q < P; q++) {
            double k = ws->Kf[p * P + q];
            if (p == q) diag += k;
            else off2 += k * k;
        }
    *diag_mean = diag / (double)P;
    *off_rms = P > 1 ? sqrt(off2 / ((double)P * (double)(P - 1))) : 0.0;
}
