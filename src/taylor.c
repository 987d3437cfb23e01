/* taylor.c: K^(r) for r = 1..R by truncated Taylor polynomials (jets) along
 * the direction v = grad_w h(u_j), with the ReLU masks fixed at t = 0
 * (docs/theory.md §2.4).
 *
 * Layout (row-major, one slab, named views):
 *   fjet[l]  (Rf_l, B, n_l)    orders 1..Rf_l of Y^l, Rf_l = min(l, R) (Y^l has degree l);
 *                              for l < L overwritten in place by the orders of
 *                              Q^l = sqrt(2) mask^l o Y^l.  Order 0 is the net's own
 *                              forward (Q^l, v = Y^L), so masks agree with it exactly.
 *   dots     (Rf_max, B)       s_q[i] = Q^{l-1}_q(u_i) . Q^{l-1}(u_j) / n_{l-1}
 *   act0/1   (R+1, m_max)      jets of a^{l-1} / a^l of g for one input (ping-pong)
 *   pre      (R+1, m_max)      jet of g^l for one input
 *   coeff    (B, R+1)          c_k(u_i) = [t^k] h(u_i; w + t v)
 */
#include "hyperntk/taylor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "gnet.h"
#include "hyperntk/error.h"
#include "hyperntk/lazy.h"

#define SQRT2 1.41421356237309504880

struct hntk_taylor_ws {
    hntk_hyper_arch arch;
    int L, H, R;
    long batch_cap;
    long n[HNTK_MAX_DEPTH + 1];      /* f widths n_0..n_L (n_L = P) */
    long m[HNTK_MAX_DEPTH + 1];      /* g widths m_0..m_H */
    long g_off[HNTK_MAX_DEPTH + 2];  /* offset of chunk V^l in v */
    int Rf[HNTK_MAX_DEPTH + 1];      /* positive orders of Y^l kept: min(l, R) */
    long P, m_max;

    double *slab;
    double *fjet[HNTK_MAX_DEPTH + 1]; /* (Rf_l, B, n_l), l = 1..L */
    double *dots;                     /* (Rf_max, batch_cap) */
    double *act0, *act1, *pre;        /* (R+1, m_max) */
    double *coeff;                    /* (batch_cap, R+1) */
};

/* Where the jets read the sample from: the dense network's weights and
 * passes, or the lazy sampler's answers and passes (the same views). */
typedef struct {
    hntk_net *net;                        /* dense: W^l explicit; NULL when lazy */
    hntk_lazy *lz;                        /* lazy: W^l q by conditioning; NULL when dense */
    const double *Q[HNTK_MAX_DEPTH + 1];  /* Q^l (B, n_l), l = 0..L-1; Q[L] = v (B, P) */
    const double *E[HNTK_MAX_DEPTH + 1];  /* E^l = dh/dY^l (B, n_l), l = 1..L */
    const double *freq, *phase;           /* Fourier features (dense only) */
} jet_source;

static int min_int(long a, long b) { return (int)(a < b ? a : b); }

long hntk_taylor_degree(const hntk_hyper_arch *a) { return (long)a->f_depth * (long)a->g_depth; }

static void derive_sizes(hntk_taylor_ws *ws, const hntk_hyper_arch *a, long batch_cap, int R)
{
    ws->arch = *a;
    ws->L = a->f_depth;
    ws->H = a->g_depth;
    ws->R = R;
    ws->batch_cap = batch_cap;
    ws->P = hntk_f_out_dim(a);
    for (int l = 0; l <= ws->L; l++) {
        ws->n[l] = hntk_f_layer_width(a, l);
        ws->Rf[l] = min_int(l, R);
    }
    ws->m_max = 1;
    for (int l = 0; l <= ws->H; l++) {
        ws->m[l] = hntk_g_layer_width(a, l);
        if (ws->m[l] > ws->m_max) ws->m_max = ws->m[l];
    }
    for (int l = 1; l <= ws->H + 1; l++) ws->g_off[l] = hntk_g_chunk_offset(a, l);
}

static size_t slab_doubles(const hntk_taylor_ws *ws)
{
    size_t B = (size_t)ws->batch_cap, d = 0;
    for (int l = 1; l <= ws->L; l++) d += (size_t)ws->Rf[l] * B * (size_t)ws->n[l];
    d += (size_t)ws->Rf[ws->L] * B;                       /* dots */
    d += 3 * (size_t)(ws->R + 1) * (size_t)ws->m_max;     /* act0, act1, pre */
    d += B * (size_t)(ws->R + 1);                         /* coeff */
    return d;
}

size_t hntk_taylor_ws_bytes(const hntk_hyper_arch *a, long batch_cap, int R)
{
    hntk_taylor_ws tmp;
    derive_sizes(&tmp, a, batch_cap, R);
    return sizeof(hntk_taylor_ws) + sizeof(double) * slab_doubles(&tmp);
}

int hntk_taylor_ws_alloc(const hntk_hyper_arch *a, long batch_cap, int R, size_t budget_bytes,
                         hntk_taylor_ws **out)
{
    *out = NULL;
    /* wider than a dense network can be: only the lazy sampler can serve it */
    int st = a->f_width > HNTK_MAX_WIDTH ? hntk_lazy_validate(a) : hntk_hyper_arch_validate(a);
    if (!st) st = hntk_arch_require_theory(a, "the Taylor engine");
    if (st) return st;
    if (batch_cap < 1 || batch_cap > (1L << 24))
        return hntk_fail(HNTK_EINVAL, "batch size = %ld is out of range: accepted 1..%ld", batch_cap, 1L << 24);
    if (R < 1 || R > HNTK_TAYLOR_MAX_ORDER)
        return hntk_fail(HNTK_EINVAL, "Taylor order R = %d is out of range: accepted 1..%d", R,
                         HNTK_TAYLOR_MAX_ORDER);
    size_t bytes = hntk_taylor_ws_bytes(a, batch_cap, R);
    if (budget_bytes > 0 && bytes > budget_bytes)
        return hntk_fail(HNTK_EBUDGET,
                         "Taylor workspace needs %.3g GiB (f width %ld, batch %ld, R = %d), over the memory "
                         "budget of %.3g GiB",
                         bytes / 1073741824.0, a->f_width, batch_cap, R, budget_bytes / 1073741824.0);
    hntk_taylor_ws *ws = calloc(1, sizeof *ws);
    if (!ws) return hntk_fail(HNTK_ENOMEM, "cannot allocate the Taylor workspace descriptor");
    derive_sizes(ws, a, batch_cap, R);
    ws->slab = calloc(slab_doubles(ws), sizeof(double));
    if (!ws->slab) {
        free(ws);
        return hntk_fail(HNTK_ENOMEM, "cannot allocate %.3g GiB for the Taylor workspace", bytes / 1073741824.0);
    }
    double *p = ws->slab;
    size_t B = (size_t)batch_cap;
    for (int l = 1; l <= ws->L; l++) { ws->fjet[l] = p; p += (size_t)ws->Rf[l] * B * (size_t)ws->n[l]; }
    ws->dots = p; p += (size_t)ws->Rf[ws->L] * B;
    ws->act0 = p; p += (size_t)(R + 1) * (size_t)ws->m_max;
    ws->act1 = p; p += (size_t)(R + 1) * (size_t)ws->m_max;
    ws->pre = p; p += (size_t)(R + 1) * (size_t)ws->m_max;
    ws->coeff = p;
    *out = ws;
    return HNTK_OK;
}

void hntk_taylor_ws_free(hntk_taylor_ws *ws)
{
    if (!ws) return;
    free(ws->slab);
    free(ws);
}

int hntk_taylor_order(const hntk_taylor_ws *ws) { return ws->R; }
const double *hntk_taylor_coefficients(const hntk_taylor_ws *ws) { return ws->coeff; }

static int same_arch(const hntk_hyper_arch *a, const hntk_hyper_arch *b)
{
    return a->f_depth == b->f_depth && a->f_width == b->f_width && a->x_dim == b->x_dim &&
           a->g_depth == b->g_depth && a->g_width == b->g_width && a->z_dim == b->z_dim &&
           a->fourier_k == b->fourier_k && (a->fourier_k == 0 || a->fourier_scale == b->fourier_scale);
}

/* ---------------------------------------------------------------- f */

/* Y (rows, n_l) = alpha Qin W^l^T for Qin (rows, n_{l-1}): one dgemm on the
 * dense weights, or more queries of the lazy sample (the same W^l). */
static int apply_weights(const jet_source *src, int l, long rows, long np, long nl, double alpha, const double *Qin,
                         double *Y)
{
    if (src->lz) return hntk_lazy_apply(src->lz, l, rows, Qin, alpha, Y);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)nl, (int)np, alpha, Qin, (int)np,
                hntk_net_weights(src->net, l), (int)np, 0.0, Y, (int)nl);
    return HNTK_OK;
}

/* Orders 1..Rf_l of Y^l for the whole batch (l = 1..L), from the orders 0..Rf_{l-1}
 * of Q^{l-1} (order 0: the sample's activations; orders >= 1: fjet[l-1] after masking):
 *   Y^l_k = Q^{l-1}_k W^l^T / sqrt(n_{l-1}) + s_{k-1} (x) E^l_j,
 *   s_q[i] = Q^{l-1}_q(u_i) . Q^{l-1}(u_j) / n_{l-1}. */
static int f_layer_jet(hntk_taylor_ws *ws, const jet_source *src, int l, long B, long j)
{
    long nl = ws->n[l], np = ws->n[l - 1];
    int Rin = ws->Rf[l - 1], Rout = ws->Rf[l]; /* Rout == Rin or Rin + 1 */
    const double *Q0 = src->Q[l - 1];                         /* (B, n_{l-1}) */
    const double *qj = Q0 + j * np;                           /* Q^{l-1}(u_j) */
    const double *ej = src->E[l] + j * nl;                    /* E^l(u_j) */
    const double *Qin = ws->fjet[l - 1];                      /* (Rin, B, n_{l-1}), NULL-free when Rin > 0 */
    double *Y = ws->fjet[l];                                  /* (Rout, B, n_l) */
    double inv_sqrt = 1.0 / sqrt((double)np), inv_n = 1.0 / (double)np;

    /* W-part of orders 1..Rin, on the stacked orders. */
    if (Rin > 0) {
        int st = apply_weights(src, l, Rin * B, np, nl, inv_sqrt, Qin, Y);
        if (st) return st;
    }
    if (Rout > Rin) memset(Y + (size_t)Rin * (size_t)(B * nl), 0, sizeof(double) * (size_t)(B * nl));

    /* s_0..s_{Rout-1} (Rout, B): order 0 from the sample, the others from the jet. */
    double *s = ws->dots;
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)B, (int)np, inv_n, Q0, (int)np, qj, 1, 0.0, s, 1);
    if (Rout > 1)
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)((Rout - 1) * B), (int)np, inv_n, Qin, (int)np, qj, 1, 0.0,
                    s + B, 1);
    /* rank-one part of every order at once: Y (Rout B, n_l) += s (Rout B) (x) E^l_j (n_l) */
    cblas_dger(CblasRowMajor, (int)(Rout * B), (int)nl, 1.0, s, 1, ej, 1, Y, (int)nl);

    if (l < ws->L)
        for (int k = 0; k < Rout; k++) /* Q^l_k = sqrt(2) mask^l o Y^l_k, masks of t = 0: Q^l > 0 iff Y^l > 0 */
            hntk_mask_scaled(Y + (size_t)k * (size_t)(B * nl), src->Q[l], B * nl, SQRT2);
    return HNTK_OK;
}

/* ---------------------------------------------------------------- g */

/* a^0 (m_0) of g for one raw z, exactly as net.c computes it. */
static void g_input(hntk_taylor_ws *ws, const jet_source *src, const double *z, double *a0)
{
    long k = ws->arch.fourier_k, zd = ws->arch.z_dim;
    if (k == 0) {
        memcpy(a0, z, sizeof(double) * (size_t)zd);
        return;
    }
    const double *freq = src->freq, *phase = src->phase;
    for (long i = 0; i < k; i++) {
        const double *w = freq + i * zd;
        double t = phase[i];
        for (long c = 0; c < zd; c++) t += w[c] * z[c];
        a0[i] = SQRT2 * cos(t);
    }
}

/* Jets of g on input i: V^l(t) = sum_p t^p V^l_p (p = 0..Rf_L) from f's output jet,
 *   g^l_k = sum_{p+q=k} V^l_p a^{l-1}_q / sqrt(m_{l-1}),   a^l_k = sqrt(2) mask(g^l_0) o g^l_k,
 * truncated at R; writes c_0..c_R of h = g^H into coeff. */
static void g_jet(hntk_taylor_ws *ws, const jet_source *src, long B, long i, const double *z, double *coeff)
{
    int R = ws->R, L = ws->L, Dv = ws->Rf[L];
    long ld = ws->m_max;
    const double *v0 = src->Q[L] + i * ws->P;
    double *act = ws->act0, *next = ws->act1, *pre = ws->pre;
    g_input(ws, src, z, act); /* order 0 only: a^0 does not depend on t */
    int Dprev = 0;            /* degree of a^{l-1}: min(R, (l-1) L) */
    for (int l = 1; l <= ws->H; l++) {
        long ml = ws->m[l], mp = ws->m[l - 1];
        double scale = 1.0 / sqrt((double)mp);
        int Dl = min_int((long)l * L, R);
        memset(pre, 0, sizeof(double) * (size_t)(Dl + 1) * (size_t)ld);
        /* order 0 exactly as net.c (same call), so the masks agree bit for bit */
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)ml, (int)mp, scale, v0 + ws->g_off[l], (int)mp, act, 1, 0.0,
                    pre, 1);
        for (int p = 0; p <= Dv; p++) {
            const double *Vp =
                (p == 0 ? v0 : ws->fjet[L] + ((size_t)(p - 1) * (size_t)B + (size_t)i) * (size_t)ws->P) +
                ws->g_off[l]; /* (m_l, m_{l-1}) */
            int q0 = p == 0 ? 1 : 0;            /* (p, q) = (0, 0) done above */
            int q1 = min_int(Dprev, R - p);     /* orders p + q <= R */
            if (q1 < q0) continue;
            /* pre rows p+q0..p+q1 (., m_l) += act rows q0..q1 (., m_{l-1}) V_p^T / sqrt(m_{l-1}) */
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, q1 - q0 + 1, (int)ml, (int)mp, scale,
                        act + (size_t)q0 * (size_t)ld, (int)ld, Vp, (int)mp, 1.0, pre + (size_t)(p + q0) * (size_t)ld,
                        (int)ld);
        }
        if (l < ws->H) {
            for (int k = 0; k <= Dl; k++)
                for (long c = 0; c < ml; c++)
                    next[(size_t)k * (size_t)ld + (size_t)c] = pre[c] > 0.0 ? SQRT2 * pre[(size_t)k * (size_t)ld + (size_t)c] : 0.0;
            double *t = act; act = next; next = t;
        }
        Dprev = Dl;
    }
    for (int k = 0; k <= R; k++) coeff[k] = k <= Dprev ? pre[(size_t)k * (size_t)ld] : 0.0;
}

/* ---------------------------------------------------------------- entry point */

/* Checks shared by both entry points. */
static int check_call(const hntk_taylor_ws *ws, const hntk_hyper_arch *arch, long B, long j)
{
    if (!same_arch(arch, &ws->arch))
        return hntk_fail(HNTK_EINVAL, "the Taylor workspace was sized for another architecture than the network's");
    if (B < 1 || B > ws->batch_cap)
        return hntk_fail(HNTK_EINVAL, "batch of %ld inputs is out of range: accepted 1..%ld (workspace)", B,
                         ws->batch_cap);
    if (j < 0 || j >= B)
        return hntk_fail(HNTK_EINVAL, "direction input j = %ld is out of range: accepted 0..%ld", j, B - 1);
    return HNTK_OK;
}

/* The jets of the sample in src, then K (B, R). */
static int jets(hntk_taylor_ws *ws, const jet_source *src, long B, const double *Z, long j, double *K)
{
    for (int l = 1; l <= ws->L; l++) {
        int st = f_layer_jet(ws, src, l, B, j);
        if (st) return st;
    }
    int R = ws->R;
    for (long i = 0; i < B; i++) {
        double *c = ws->coeff + (size_t)i * (size_t)(R + 1);
        g_jet(ws, src, B, i, Z + i * ws->arch.z_dim, c);
        double fact = 1.0;
        for (int r = 1; r <= R; r++) {
            fact *= (double)r;
            K[(size_t)i * (size_t)R + (size_t)(r - 1)] = fact * c[r];
        }
    }
    return HNTK_OK;
}

int hntk_taylor_kernels(hntk_net *net, hntk_taylor_ws *ws, long B, const double *X, const double *Z, long j,
                        double *K)
{
    int st = check_call(ws, hntk_net_arch(net), B, j);
    if (st) return st;
    st = hntk_net_forward(net, B, X, Z, NULL);
    if (st) return st;
    hntk_net_backward(net);
    jet_source src = {.net = net, .freq = hntk_net_fourier_freqs(net), .phase = hntk_net_fourier_phases(net)};
    for (int l = 0; l < ws->L; l++) src.Q[l] = hntk_net_activation(net, l);
    src.Q[ws->L] = hntk_net_f_output(net);
    for (int l = 1; l <= ws->L; l++) src.E[l] = hntk_net_dh_dy(net, l);
    return jets(ws, &src, B, Z, j, K);
}

int hntk_taylor_kernels_lazy(hntk_lazy *lz, hntk_taylor_ws *ws, uint64_t seed, uint32_t sample, long B,
                             const double *X, const double *Z, long j, double *K)
{
    int st = check_call(ws, hntk_lazy_arch(lz), B, j);
    if (st) return st;
    if (hntk_lazy_taylor_order(lz) < ws->R)
        return hntk_fail(HNTK_EINVAL,
                         "the lazy sampler has room for Taylor orders up to %d, the workspace asks for R = %d "
                         "(allocate it with hntk_lazy_alloc_taylor(..., %d, ...))",
                         hntk_lazy_taylor_order(lz), ws->R, ws->R);
    st = hntk_lazy_sample(lz, seed, sample, B, X, Z);
    if (st) return st;
    jet_source src = {.lz = lz};
    for (int l = 0; l <= ws->L; l++) src.Q[l] = hntk_lazy_activation(lz, l);
    for (int l = 1; l <= ws->L; l++) src.E[l] = hntk_lazy_dh_dy(lz, l);
    return jets(ws, &src, B, Z, j, K);
}
