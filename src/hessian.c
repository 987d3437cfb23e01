/* hessian.c: dK^h/dt by first-order jets of the backward pass along the
 * loss gradient rho, masks fixed (see hessian.h, docs/theory.md §8.1).
 *
 * Layout (row-major, one slab):
 *   S, EE, T   (B, B)        S^l = Q^{l-1} Q^{l-1}^T / n_{l-1}, E^l E^l^T, scratch
 *   Mg, Mf     (B, B)        the two terms of M (hntk_hess_velocity)
 *   Qd[l]      (B, n_l)      t-coefficient of Q^l, l = 1..L-1 (Qd^0 = 0); Qd[L] = vdot (B, P)
 *   Eg[l]      (B, n_l)      t-coefficient of E^l from g's curvature alone (Eg[L] = cdot)
 *   Ef[l]      (B, n_l)      t-coefficient of E^l from f's weights alone (Ef[L] = 0)
 *   tmp        (B, max(n_max, B))   rho products and (S^l diag(r)), (E^l E^l^T diag(r))
 *   g scratch  per input: pred, actd (t-coefficients of g^l, a^l; the values are the net's),
 *              dg, dgd, da, dad (backward values and t-coefficients)
 */
#include "hyperntk/hessian.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "gnet.h"
#include "hyperntk/error.h"

#define SQRT2 HNTK_SQRT2

struct hntk_hess_ws {
    hntk_hyper_arch arch;
    int L;
    long batch_cap, P, n_max;
    long n[HNTK_MAX_DEPTH + 1];
    hntk_glayout g;
    double *slab;
    double *S, *EE, *T, *Mg, *Mf;
    double *Qd[HNTK_MAX_DEPTH + 1];
    double *Eg[HNTK_MAX_DEPTH + 1];
    double *Ef[HNTK_MAX_DEPTH + 1];
    double *tmp;
    double *pred, *actd, *dg, *dgd, *da, *dad;
};

static void derive_sizes(hntk_hess_ws *ws, const hntk_hyper_arch *a, long batch_cap)
{
    ws->arch = *a;
    ws->L = a->f_depth;
    ws->batch_cap = batch_cap;
    ws->P = hntk_f_out_dim(a);
    ws->n_max = 1;
    for (int l = 0; l <= ws->L; l++) {
        ws->n[l] = hntk_f_layer_width(a, l);
        if (ws->n[l] > ws->n_max) ws->n_max = ws->n[l];
    }
    hntk_glayout_init(&ws->g, a);
}

static long tmp_cols(const hntk_hess_ws *ws) { return ws->n_max > ws->batch_cap ? ws->n_max : ws->batch_cap; }

static size_t slab_doubles(const hntk_hess_ws *ws)
{
    size_t B = (size_t)ws->batch_cap, d = 5 * B * B;
    for (int l = 1; l <= ws->L; l++) d += 3 * B * (size_t)ws->n[l]; /* Qd, Eg, Ef */
    d += B * (size_t)tmp_cols(ws);
    d += (size_t)(ws->g.pre_len + ws->g.act_len) + 4 * (size_t)ws->g.m_max;
    return d;
}

size_t hntk_hess_ws_bytes(const hntk_hyper_arch *a, long batch_cap)
{
    hntk_hess_ws tmp;
    derive_sizes(&tmp, a, batch_cap);
    return sizeof(hntk_hess_ws) + sizeof(double) * slab_doubles(&tmp);
}

int hntk_hess_ws_alloc(const hntk_hyper_arch *a, long batch_cap, size_t budget_bytes, hntk_hess_ws **out)
{
    *out = NULL;
    int st = hntk_hyper_arch_validate(a);
    if (!st) st = hntk_arch_require_theory(a, "the Hessian workspace");
    if (st) return st;
    if (batch_cap < 1 || batch_cap > (1L << 24))
        return hntk_fail(HNTK_EINVAL, "batch size = %ld is out of range: accepted 1..%ld", batch_cap, 1L << 24);
    size_t bytes = hntk_hess_ws_bytes(a, batch_cap);
    if (budget_bytes > 0 && bytes > budget_bytes)
        return hntk_fail(HNTK_EBUDGET,
                         "the kernel-velocity workspace needs %.3g GiB (f width %ld, batch %ld), over the memory "
                         "budget of %.3g GiB",
                         bytes / 1073741824.0, a->f_width, batch_cap, budget_bytes / 1073741824.0);
    hntk_hess_ws *ws = calloc(1, sizeof *ws);
    if (!ws) return hntk_fail(HNTK_ENOMEM, "cannot allocate the kernel-velocity workspace descriptor");
    derive_sizes(ws, a, batch_cap);
    ws->slab = calloc(slab_doubles(ws), sizeof(double));
    if (!ws->slab) {
        free(ws);
        return hntk_fail(HNTK_ENOMEM, "cannot allocate %.3g GiB for the kernel-velocity workspace",
                         bytes / 1073741824.0);
    }
    double *p = ws->slab;
    size_t B = (size_t)batch_cap;
    ws->S = p; p += B * B;
    ws->EE = p; p += B * B;
    ws->T = p; p += B * B;
    ws->Mg = p; p += B * B;
    ws->Mf = p; p += B * B;
    for (int l = 1; l <= ws->L; l++) { ws->Qd[l] = p; p += B * (size_t)ws->n[l]; }
    for (int l = 1; l <= ws->L; l++) { ws->Eg[l] = p; p += B * (size_t)ws->n[l]; }
    for (int l = 1; l <= ws->L; l++) { ws->Ef[l] = p; p += B * (size_t)ws->n[l]; }
    ws->tmp = p; p += B * (size_t)tmp_cols(ws);
    ws->pred = p; p += ws->g.pre_len;
    ws->actd = p; p += ws->g.act_len;
    ws->dg = p; p += ws->g.m_max;
    ws->dgd = p; p += ws->g.m_max;
    ws->da = p; p += ws->g.m_max;
    ws->dad = p;
    *out = ws;
    return HNTK_OK;
}

void hntk_hess_ws_free(hntk_hess_ws *ws)
{
    if (!ws) return;
    free(ws->slab);
    free(ws);
}

static int same_arch(const hntk_hyper_arch *a, const hntk_hyper_arch *b)
{
    return a->f_depth == b->f_depth && a->f_width == b->f_width && a->x_dim == b->x_dim &&
           a->g_depth == b->g_depth && a->g_width == b->g_width && a->z_dim == b->z_dim &&
           a->fourier_k == b->fourier_k && (a->fourier_k == 0 || a->fourier_scale == b->fourier_scale);
}

/* dot = sqrt(2) 1[y > 0] o x, n entries (the masks of the value y). */
static void masked(double *dot, const double *y, const double *x, long n)
{
    for (long c = 0; c < n; c++) dot[c] = y[c] > 0.0 ? SQRT2 * x[c] : 0.0;
}

/* cdot (P) = d/dt c(v + t vd) at t = 0 = Hess_v g(z; v) vd, for one input:
 * the jets (value, t-coefficient) of g's forward, then of its backward. */
static void g_tangent(hntk_hess_ws *ws, const double *pre, const double *act, const double *v, const double *vd,
                      double *cd)
{
    const hntk_glayout *g = &ws->g;
    int H = g->H;
    double *pred = ws->pred, *actd = ws->actd;
    memset(actd, 0, sizeof(double) * (size_t)g->m[0]); /* a^0 does not move */
    for (int l = 1; l <= H; l++) {
        long ml = g->m[l], mp = g->m[l - 1];
        double s = 1.0 / sqrt((double)mp);
        double *gd = pred + g->pre_off[l];
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)ml, (int)mp, s, vd + g->off[l], (int)mp, act + g->act_off[l - 1],
                    1, 0.0, gd, 1);
        if (l > 1)
            cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)ml, (int)mp, s, v + g->off[l], (int)mp,
                        actd + g->act_off[l - 1], 1, 1.0, gd, 1);
        if (l < H) masked(actd + g->act_off[l], pre + g->pre_off[l], gd, ml);
    }
    double *dg = ws->dg, *dgd = ws->dgd, *da = ws->da, *dad = ws->dad;
    dg[0] = 1.0;
    dgd[0] = 0.0;
    for (int l = H; l >= 1; l--) {
        long ml = g->m[l], mp = g->m[l - 1];
        double s = 1.0 / sqrt((double)mp);
        const double *a = act + g->act_off[l - 1], *ad = actd + g->act_off[l - 1];
        double *C = cd + g->off[l]; /* d/dt [dg (x) a / sqrt(m)] */
        for (long i = 0; i < ml; i++)
            for (long j = 0; j < mp; j++) C[i * mp + j] = s * (dgd[i] * a[j] + dg[i] * ad[j]);
        if (l == 1) break;
        const double *V = v + g->off[l], *Vd = vd + g->off[l];
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)ml, (int)mp, s, V, (int)mp, dg, 1, 0.0, da, 1);
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)ml, (int)mp, s, Vd, (int)mp, dg, 1, 0.0, dad, 1);
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)ml, (int)mp, s, V, (int)mp, dgd, 1, 1.0, dad, 1);
        const double *gp = pre + g->pre_off[l - 1];
        masked(dg, gp, da, mp);
        masked(dgd, gp, dad, mp);
    }
}

/* M (B, B) += (A B^T) o F, with A, Bm (B, k). */
static void add_hadamard(hntk_hess_ws *ws, long B, long k, const double *A, const double *Bm, double alpha,
                         const double *F, double *M)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)B, (int)k, alpha, A, (int)k, Bm, (int)k, 0.0,
                ws->T, (int)B);
    for (long i = 0; i < B * B; i++) M[i] += ws->T[i] * F[i];
}

int hntk_hess_mixed(hntk_net *net, hntk_hess_ws *ws, const double *r, double *Mg, double *Mf)
{
    if (!same_arch(hntk_net_arch(net), &ws->arch))
        return hntk_fail(HNTK_EINVAL, "the kernel-velocity workspace was sized for another architecture than the network's");
    long B = hntk_net_batch(net);
    if (B < 1 || B > ws->batch_cap)
        return hntk_fail(HNTK_EINVAL, "batch of %ld inputs (the network's last forward) is out of range: accepted 1..%ld "
                         "(workspace)", B, ws->batch_cap);
    for (long k = 0; k < B; k++)
        if (!isfinite(r[k])) return hntk_fail(HNTK_EINVAL, "residual weight r[%ld] = %g is not finite", k, r[k]);
    int L = ws->L;
    long P = ws->P;
    double *S = ws->S, *EE = ws->EE, *tmp = ws->tmp;

    /* ---- forward jets along rho: Yd^l = Qd^{l-1} W^l^T / sqrt(n_{l-1}) + (S^l diag(r)) E^l ---- */
    for (int l = 1; l <= L; l++) {
        long nl = ws->n[l], np = ws->n[l - 1];
        const double *Q = hntk_net_activation(net, l - 1), *E = hntk_net_dh_dy(net, l);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)B, (int)np, 1.0 / (double)np, Q, (int)np, Q,
                    (int)np, 0.0, S, (int)B);
        for (long i = 0; i < B; i++)
            for (long k = 0; k < B; k++) tmp[i * B + k] = S[i * B + k] * r[k];
        double *Yd = ws->Qd[l];
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)B, (int)nl, (int)B, 1.0, tmp, (int)B, E, (int)nl,
                    0.0, Yd, (int)nl);
        if (l > 1)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)nl, (int)np, 1.0 / sqrt((double)np),
                        ws->Qd[l - 1], (int)np, hntk_net_weights(net, l), (int)np, 1.0, Yd, (int)nl);
        if (l < L) masked(Yd, hntk_net_activation(net, l), Yd, B * nl); /* Q^l > 0 iff Y^l > 0 */
    }

    /* ---- g: cdot = Hess_v g(z; v) vdot per input, the top of the g-term's backward jet ---- */
    const double *v = hntk_net_f_output(net), *gpre = hntk_net_g_preacts(net), *gact = hntk_net_g_acts(net);
    for (long i = 0; i < B; i++)
        g_tangent(ws, gpre + i * ws->g.pre_len, gact + i * ws->g.act_len, v + i * P, ws->Qd[L] + i * P,
                  ws->Eg[L] + i * P);
    memset(ws->Ef[L], 0, sizeof(double) * (size_t)(B * P));

    /* ---- backward jets and the Gram sums, from the top layer down:
     *   Eg^{l-1} = mask o (Eg^l W^l / sqrt(n_{l-1}))
     *   Ef^{l-1} = mask o (Ef^l W^l / sqrt(n_{l-1}) + (E^l E^l^T diag(r)) Q^{l-1} / n_{l-1})
     *   Mg += (Eg^l E^l^T) o S^l,   Mf += (Ef^l E^l^T) o S^l + (E^l E^l^T) o (Qd^{l-1} Q^{l-1}^T) / n_{l-1} ---- */
    if (Mg) memset(Mg, 0, sizeof(double) * (size_t)(B * B));
    if (Mf) memset(Mf, 0, sizeof(double) * (size_t)(B * B));
    for (int l = L; l >= 1; l--) {
        long nl = ws->n[l], np = ws->n[l - 1];
        const double *Q = hntk_net_activation(net, l - 1), *E = hntk_net_dh_dy(net, l);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)B, (int)np, 1.0 / (double)np, Q, (int)np, Q,
                    (int)np, 0.0, S, (int)B);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)B, (int)nl, 1.0, E, (int)nl, E, (int)nl,
                    0.0, EE, (int)B);
        if (Mg) add_hadamard(ws, B, nl, ws->Eg[l], E, 1.0, S, Mg);
        if (Mf) {
            add_hadamard(ws, B, nl, ws->Ef[l], E, 1.0, S, Mf);
            if (l > 1) add_hadamard(ws, B, np, ws->Qd[l - 1], Q, 1.0 / (double)np, EE, Mf);
        }
        if (l == 1) break;
        const double *W = hntk_net_weights(net, l);
        double s = 1.0 / sqrt((double)np);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)B, (int)np, (int)nl, s, ws->Eg[l], (int)nl, W,
                    (int)np, 0.0, ws->Eg[l - 1], (int)np);
        masked(ws->Eg[l - 1], Q, ws->Eg[l - 1], B * np);
        for (long i = 0; i < B; i++)
            for (long k = 0; k < B; k++) tmp[i * B + k] = EE[i * B + k] * r[k];
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)B, (int)np, (int)B, 1.0 / (double)np, tmp, (int)B,
                    Q, (int)np, 0.0, ws->Ef[l - 1], (int)np);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)B, (int)np, (int)nl, s, ws->Ef[l], (int)nl, W,
                    (int)np, 1.0, ws->Ef[l - 1], (int)np);
        masked(ws->Ef[l - 1], Q, ws->Ef[l - 1], B * np);
    }
    return HNTK_OK;
}

int hntk_hess_velocity(hntk_net *net, hntk_hess_ws *ws, long B, const double *X, const double *Z, const double *r,
                       double *dKg, double *dKf, double *dK)
{
    if (!same_arch(hntk_net_arch(net), &ws->arch))
        return hntk_fail(HNTK_EINVAL, "the kernel-velocity workspace was sized for another architecture than the network's");
    if (B < 1 || B > ws->batch_cap)
        return hntk_fail(HNTK_EINVAL, "batch of %ld inputs is out of range: accepted 1..%ld (workspace)", B,
                         ws->batch_cap);
    int st = hntk_net_forward(net, B, X, Z, NULL);
    if (st) return st;
    hntk_net_backward(net);
    double *Mg = ws->Mg, *Mf = ws->Mf;
    st = hntk_hess_mixed(net, ws, r, Mg, Mf);
    if (st) return st;
    for (long i = 0; i < B; i++)
        for (long j = 0; j < B; j++) {
            double g = -(Mg[i * B + j] + Mg[j * B + i]), f = -(Mf[i * B + j] + Mf[j * B + i]);
            if (dKg) dKg[i * B + j] = g;
            if (dKf) dKf[i * B + j] = f;
            if (dK) dK[i * B + j] = g + f;
        }
    return HNTK_OK;
}
