/* test_hessian.c: dK^h/dt (hessian.h) against independent references.
 *
 * 1. An explicit Hessian, brute force: a naive scalar-loop hypernetwork in
 *    this file (no BLAS, no net.c code) evaluated on hyper-dual numbers
 *    (x + a e1 + b e2 + ab e1 e2, e1^2 = e2^2 = 0) with the ReLU masks frozen
 *    at w gives d^2 h / dw_p dw_q exactly, for every pair of the N_w weights.
 *    Three passes split it: f's output jets fed to g as (v, v_a, v_b, 0) give
 *    the g-curvature term v_a^T Hess_v g v_b; (v, 0, 0, v_ab) give the f term
 *    c . v_ab; the full jet gives Hess h.  The explicit matrices, contracted
 *    with rho = sum_k r_k grad h(u_k) and grad h(u_j) (both from the naive
 *    code's own e1-parts), are compared with hntk_hess_mixed term by term and
 *    in total; the full Hessian equals H_g + H_f (the appendix's split).
 * 2. The finite-difference change of K^h (hntk_net_ntk_gram) over explicit
 *    steps w -+ eps rho, masks checked not to flip: the central difference
 *    converges to hntk_hess_velocity's dK/dt with the O(eps^2) law (error
 *    ratio 4 when eps halves), residuals r = h - y of the training set.
 * 3. A plain MLP (H = 1): the g term is exactly 0.
 * 4. Bad arguments are refused with their value named. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hyperntk/hyperntk.h"
#include "testing.h"

#define SQRT2 1.41421356237309504880
enum { MAXB = 8, MAXW = 256, MAXN = 16 };

/* ---- the naive reference: hyper-dual numbers ---- */
typedef struct { double v, a, b, ab; } hd;

static hd hd_mul(hd x, hd y)
{
    hd r = {x.v * y.v, x.a * y.v + x.v * y.a, x.b * y.v + x.v * y.b,
            x.ab * y.v + x.a * y.b + x.b * y.a + x.v * y.ab};
    return r;
}
static hd hd_add(hd x, hd y) { return (hd){x.v + y.v, x.a + y.a, x.b + y.b, x.ab + y.ab}; }
static hd hd_scale(hd x, double s) { return (hd){s * x.v, s * x.a, s * x.b, s * x.ab}; }
static hd hd_relu2(hd x) { return x.v > 0.0 ? hd_scale(x, SQRT2) : (hd){0, 0, 0, 0}; } /* mask of the value */

typedef struct {
    hntk_hyper_arch a;
    int L, H;
    long n[HNTK_MAX_DEPTH + 1], m[HNTK_MAX_DEPTH + 1], off[HNTK_MAX_DEPTH + 1], woff[HNTK_MAX_DEPTH + 1], P, Nw;
    double w[MAXW];
} naive;

static void naive_init(naive *nv, hntk_net *net)
{
    nv->a = *hntk_net_arch(net);
    nv->L = nv->a.f_depth;
    nv->H = nv->a.g_depth;
    nv->P = hntk_f_out_dim(&nv->a);
    long o = 0;
    for (int l = 0; l <= nv->L; l++) nv->n[l] = hntk_f_layer_width(&nv->a, l);
    for (int l = 0; l <= nv->H; l++) nv->m[l] = hntk_g_layer_width(&nv->a, l);
    for (int l = 1; l <= nv->H; l++) nv->off[l] = hntk_g_chunk_offset(&nv->a, l);
    for (int l = 1; l <= nv->L; l++) {
        nv->woff[l] = o;
        memcpy(nv->w + o, hntk_net_weights(net, l), sizeof(double) * (size_t)(nv->n[l] * nv->n[l - 1]));
        o += nv->n[l] * nv->n[l - 1];
    }
    nv->Nw = o;
}

/* f's output jets (P) at w + a da + b db (da, db: flat directions, NULL = 0), masks of the value. */
static void naive_f(const naive *nv, const double *x, const double *da, const double *db, hd *v)
{
    hd q[MAXN * MAXN], y[MAXW];
    long np = nv->n[0];
    for (long k = 0; k < np; k++) q[k] = (hd){x[k], 0, 0, 0};
    for (int l = 1; l <= nv->L; l++) {
        long nl = nv->n[l];
        const double *W = nv->w + nv->woff[l];
        for (long i = 0; i < nl; i++) {
            hd s = {0, 0, 0, 0};
            for (long k = 0; k < np; k++) {
                long p = nv->woff[l] + i * np + k;
                hd wik = {W[i * np + k], da ? da[p] : 0.0, db ? db[p] : 0.0, 0.0};
                s = hd_add(s, hd_mul(wik, q[k]));
            }
            y[i] = hd_scale(s, 1.0 / sqrt((double)np));
        }
        for (long i = 0; i < nl; i++) q[i] = l < nv->L ? hd_relu2(y[i]) : y[i];
        np = nl;
    }
    for (long p = 0; p < nv->P; p++) v[p] = q[p];
}

static hd naive_g(const naive *nv, const double *z, const hd *v)
{
    hd act[MAXN * MAXN], pre[MAXN * MAXN];
    long mp = nv->m[0];
    for (long k = 0; k < mp; k++) act[k] = (hd){z[k], 0, 0, 0};
    for (int l = 1; l <= nv->H; l++) {
        long ml = nv->m[l];
        for (long i = 0; i < ml; i++) {
            hd s = {0, 0, 0, 0};
            for (long k = 0; k < mp; k++) s = hd_add(s, hd_mul(v[nv->off[l] + i * mp + k], act[k]));
            pre[i] = hd_scale(s, 1.0 / sqrt((double)mp));
        }
        for (long i = 0; i < ml; i++) act[i] = l < nv->H ? hd_relu2(pre[i]) : pre[i];
        mp = ml;
    }
    return act[0];
}

/* Signs of every pre-activation of f and g at w + t d (naive, plain doubles). */
static long naive_signs(const naive *nv, const double *x, const double *z, const double *d, double t,
                        unsigned char *s, double *min_abs)
{
    double q[MAXW], y[MAXW], act[MAXW], pre[MAXW], v[MAXW];
    long np = nv->n[0], c = 0;
    for (long k = 0; k < np; k++) q[k] = x[k];
    for (int l = 1; l <= nv->L; l++) {
        long nl = nv->n[l];
        for (long i = 0; i < nl; i++) {
            double a = 0.0;
            for (long k = 0; k < np; k++) {
                long p = nv->woff[l] + i * np + k;
                a += (nv->w[p] + (d ? t * d[p] : 0.0)) * q[k];
            }
            y[i] = a / sqrt((double)np);
        }
        for (long i = 0; i < nl; i++) {
            if (l < nv->L) {
                s[c++] = y[i] > 0.0;
                if (fabs(y[i]) < *min_abs) *min_abs = fabs(y[i]);
                q[i] = y[i] > 0.0 ? SQRT2 * y[i] : 0.0;
            } else q[i] = y[i];
        }
        np = nl;
    }
    memcpy(v, q, sizeof(double) * (size_t)nv->P);
    long mp = nv->m[0];
    for (long k = 0; k < mp; k++) act[k] = z[k];
    for (int l = 1; l < nv->H; l++) {
        long ml = nv->m[l];
        for (long i = 0; i < ml; i++) {
            double a = 0.0;
            for (long k = 0; k < mp; k++) a += v[nv->off[l] + i * mp + k] * act[k];
            pre[i] = a / sqrt((double)mp);
            s[c++] = pre[i] > 0.0;
            if (fabs(pre[i]) < *min_abs) *min_abs = fabs(pre[i]);
        }
        for (long i = 0; i < ml; i++) act[i] = pre[i] > 0.0 ? SQRT2 * pre[i] : 0.0;
        mp = ml;
    }
    return c;
}

enum { PART_FULL, PART_G, PART_F };

/* The (part of the) mixed second derivative of h(u) along e_p and e_q (NULL: first derivative along da only). */
static double naive_mixed(const naive *nv, const double *x, const double *z, const double *da, const double *db,
                          int part, double *grad_a)
{
    hd v[MAXW];
    naive_f(nv, x, da, db, v);
    if (part == PART_G)
        for (long p = 0; p < nv->P; p++) v[p].ab = 0.0;
    if (part == PART_F)
        for (long p = 0; p < nv->P; p++) v[p].a = v[p].b = 0.0;
    hd h = naive_g(nv, z, v);
    if (grad_a) *grad_a = h.a;
    return h.ab;
}

/* ---- the set-up ---- */
typedef struct {
    hntk_hyper_arch a;
    long B;
    double X[MAXB * 8], Z[MAXB * 8], y[MAXB];
} setup;

static setup make_setup(int L, long n, long x_dim, int H, long m, long z_dim, long fourier_k, long B)
{
    setup s;
    memset(&s, 0, sizeof s);
    s.a.f_depth = L, s.a.f_width = n, s.a.x_dim = x_dim, s.a.g_depth = H, s.a.g_width = m, s.a.z_dim = z_dim;
    s.a.fourier_k = fourier_k, s.a.fourier_scale = 1.0;
    s.B = B;
    hntk_random_directions(3, HNTK_TENSOR_INPUT_X, s.X, (size_t)B, (size_t)x_dim);
    hntk_random_directions(3, HNTK_TENSOR_INPUT_Z, s.Z, (size_t)B, (size_t)z_dim);
    for (long b = 0; b < B; b++) s.y[b] = sin(0.7 + 1.3 * (double)b);
    return s;
}

static double max_abs(const double *a, long n)
{
    double m = 0.0;
    for (long i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}

/* 1: against the explicit Hessians.  Fourier features are handled by
 * feeding the naive g the net's a^0 (hntk_net_g_acts). */
static void check_explicit(const setup *s, const char *name, double *worst)
{
    hntk_net *net;
    hntk_hess_ws *ws;
    CHECK(hntk_net_alloc(&s->a, s->B, 0, &net) == HNTK_OK, "%s: net: %s", name, hntk_last_error());
    CHECK(hntk_hess_ws_alloc(&s->a, s->B, 0, &ws) == HNTK_OK, "%s: ws: %s", name, hntk_last_error());
    hntk_net_sample_weights(net, 21, 4);
    long B = s->B;
    double r[MAXB], Mg[MAXB * MAXB], Mf[MAXB * MAXB], h[MAXB];
    hntk_net_forward(net, B, s->X, s->Z, h);
    hntk_net_backward(net);
    for (long b = 0; b < B; b++) r[b] = b % 3 == 2 ? 0.0 : h[b] - s->y[b]; /* some inputs outside the training set */
    CHECK(hntk_hess_mixed(net, ws, r, Mg, Mf) == HNTK_OK, "%s: mixed: %s", name, hntk_last_error());

    naive nv;
    naive_init(&nv, net);
    long Nw = nv.Nw, act_len = 0;
    for (int l = 0; l < nv.H; l++) act_len += nv.m[l];
    const double *acts = hntk_net_g_acts(net);
    /* gradients from the naive code: e1-part along each basis vector */
    double *G = calloc((size_t)(B * Nw), sizeof(double)), *e = calloc((size_t)Nw, sizeof(double));
    double *f = calloc((size_t)Nw, sizeof(double));
    double *Hs[3];
    for (int k = 0; k < 3; k++) Hs[k] = calloc((size_t)(Nw * Nw), sizeof(double));
    double gmax = 0.0;
    for (long b = 0; b < B; b++) {
        const double *a0 = acts + b * act_len;
        for (long p = 0; p < Nw; p++) {
            e[p] = 1.0;
            naive_mixed(&nv, s->X + b * s->a.x_dim, a0, e, NULL, PART_FULL, &G[b * Nw + p]);
            e[p] = 0.0;
        }
        /* the library's gradients, for the record: rank-one dh/dW^l */
        long o = 0;
        for (int l = 1; l <= nv.L; l++) {
            hntk_net_weight_grad(net, b, l, f + o);
            o += nv.n[l] * nv.n[l - 1];
        }
        for (long p = 0; p < Nw; p++) gmax = fmax(gmax, fabs(f[p] - G[b * Nw + p]));
    }
    CHECK(gmax < 1e-13, "%s: naive gradients differ from net.c's by %.3g", name, gmax);
    double *rho = calloc((size_t)Nw, sizeof(double));
    for (long b = 0; b < B; b++)
        for (long p = 0; p < Nw; p++) rho[p] += r[b] * G[b * Nw + p];

    double err[3] = {0, 0, 0}, scale[3] = {0, 0, 0}, split = 0.0, hscale = 0.0;
    double *ea = calloc((size_t)Nw, sizeof(double)), *eb = calloc((size_t)Nw, sizeof(double));
    for (long i = 0; i < B; i++) {
        const double *a0 = acts + i * act_len;
        for (long p = 0; p < Nw; p++)
            for (long q = 0; q < Nw; q++) {
                ea[p] = 1.0, eb[q] = 1.0;
                for (int k = 0; k < 3; k++)
                    Hs[k][p * Nw + q] = naive_mixed(&nv, s->X + i * s->a.x_dim, a0, ea, eb, k, NULL);
                ea[p] = 0.0, eb[q] = 0.0;
            }
        for (long p = 0; p < Nw * Nw; p++) {
            split = fmax(split, fabs(Hs[PART_FULL][p] - Hs[PART_G][p] - Hs[PART_F][p]));
            hscale = fmax(hscale, fabs(Hs[PART_FULL][p]));
        }
        for (long j = 0; j < B; j++) {
            double ref[3] = {0, 0, 0};
            for (int k = 0; k < 3; k++)
                for (long p = 0; p < Nw; p++) {
                    double t = 0.0;
                    for (long q = 0; q < Nw; q++) t += Hs[k][p * Nw + q] * G[j * Nw + q];
                    ref[k] += rho[p] * t;
                }
            double got[3] = {Mg[i * B + j] + Mf[i * B + j], Mg[i * B + j], Mf[i * B + j]};
            for (int k = 0; k < 3; k++) {
                err[k] = fmax(err[k], fabs(got[k] - ref[k]));
                scale[k] = fmax(scale[k], fabs(ref[k]));
            }
        }
    }
    double rel[3];
    for (int k = 0; k < 3; k++) rel[k] = err[k] / fmax(scale[0], 1e-300);
    printf("%s: explicit Hessian (N_w = %ld): max |diff| / max |M| total %.2e, g term %.2e, f term %.2e; "
           "max |M_g| %.3g, max |M_f| %.3g; |H - H_g - H_f| / |H| %.2e\n",
           name, Nw, rel[0], rel[1], rel[2], scale[1], scale[2], split / hscale);
    for (int k = 0; k < 3; k++) CHECK(rel[k] < 1e-12, "%s: term %d differs from the explicit Hessian by %.3g", name, k, rel[k]);
    CHECK(split / hscale < 1e-13, "%s: explicit H != H_g + H_f: %.3g", name, split / hscale);
    CHECK(scale[2] > 1e-3 * scale[0], "%s: the f term is not exercised (%.3g)", name, scale[2]);
    if (s->a.g_depth > 1) CHECK(scale[1] > 1e-3 * scale[0], "%s: the g term is not exercised (%.3g)", name, scale[1]);
    else CHECK(max_abs(Mg, B * B) == 0.0, "%s: MLP g term is %.3g, not exactly 0", name, max_abs(Mg, B * B));
    for (int k = 0; k < 3; k++) *worst = fmax(*worst, rel[k]);
    for (int k = 0; k < 3; k++) free(Hs[k]);
    free(G), free(e), free(f), free(rho), free(ea), free(eb);
    hntk_hess_ws_free(ws);
    hntk_net_free(net);
}

/* 2: the finite-difference change of K^h along -rho. */
static void check_fd(const setup *s, const char *name)
{
    long B = s->B;
    hntk_train *t;
    hntk_hess_ws *ws;
    CHECK(hntk_train_alloc(&s->a, B, 0, &t) == HNTK_OK, "%s: train: %s", name, hntk_last_error());
    CHECK(hntk_hess_ws_alloc(&s->a, B, 0, &ws) == HNTK_OK, "%s: ws: %s", name, hntk_last_error());
    hntk_net *net = hntk_train_net(t);
    hntk_net_sample_weights(net, 8, 2);
    double loss, dK[MAXB * MAXB], dKg[MAXB * MAXB], dKf[MAXB * MAXB], r[MAXB];
    CHECK(hntk_train_loss_grad(t, B, s->X, s->Z, s->y, 1.0, &loss) == HNTK_OK, "%s: %s", name, hntk_last_error());
    memcpy(r, hntk_train_residuals(t), sizeof(double) * (size_t)B);
    CHECK(hntk_hess_velocity(net, ws, B, s->X, s->Z, r, dKg, dKf, dK) == HNTK_OK, "%s: %s", name, hntk_last_error());
    double summax = 0.0;
    for (long i = 0; i < B * B; i++) summax = fmax(summax, fabs(dKg[i] + dKf[i] - dK[i]));
    CHECK(summax == 0.0, "%s: dKg + dKf != dK (%.3g)", name, summax);

    /* rho (dense) from the training engine, and the saved weights */
    int L = s->a.f_depth;
    double *w0[HNTK_MAX_DEPTH + 1], *rho[HNTK_MAX_DEPTH + 1];
    long sz[HNTK_MAX_DEPTH + 1];
    for (int l = 1; l <= L; l++) {
        sz[l] = hntk_f_layer_width(&s->a, l) * hntk_f_layer_width(&s->a, l - 1);
        w0[l] = malloc(sizeof(double) * (size_t)sz[l]);
        rho[l] = malloc(sizeof(double) * (size_t)sz[l]);
        memcpy(w0[l], hntk_net_weights(net, l), sizeof(double) * (size_t)sz[l]);
        memcpy(rho[l], hntk_train_grad(t, l), sizeof(double) * (size_t)sz[l]);
    }
    naive nv;
    naive_init(&nv, net);
    double flat[MAXW];
    {
        long o = 0;
        for (int l = 1; l <= L; l++) { memcpy(flat + o, rho[l], sizeof(double) * (size_t)sz[l]); o += sz[l]; }
    }
    /* steps small against the weights (O(1) entries): eps max|rho| = 4e-3, 2e-3, 1e-3 */
    double rmax = max_abs(flat, nv.Nw), eps[3] = {4e-3 / rmax, 2e-3 / rmax, 1e-3 / rmax};
    double errs[3], Kp[MAXB * MAXB], Km[MAXB * MAXB], scale = max_abs(dK, B * B);
    long act_len = 0;
    for (int l = 0; l < nv.H; l++) act_len += nv.m[l];
    for (int e = 0; e < 3; e++) {
        /* masks: no pre-activation of any input changes sign at w -+ eps rho */
        long flips = 0;
        for (long b = 0; b < B; b++) {
            unsigned char s0[MAXW], s1[MAXW], s2[MAXW];
            double mn = INFINITY;
            long c = naive_signs(&nv, s->X + b * s->a.x_dim, s->Z + b * s->a.z_dim, NULL, 0.0, s0, &mn);
            naive_signs(&nv, s->X + b * s->a.x_dim, s->Z + b * s->a.z_dim, flat, -eps[e], s1, &mn);
            naive_signs(&nv, s->X + b * s->a.x_dim, s->Z + b * s->a.z_dim, flat, eps[e], s2, &mn);
            for (long k = 0; k < c; k++) flips += (s0[k] != s1[k]) + (s0[k] != s2[k]);
        }
        CHECK(flips == 0, "%s: %ld ReLU masks flip at eps = %g: the difference is not of one polynomial", name, flips,
              eps[e]);
        for (int sign = -1; sign <= 1; sign += 2) {
            for (int l = 1; l <= L; l++) {
                double *W = hntk_net_weights(net, l);
                for (long k = 0; k < sz[l]; k++) W[k] = w0[l][k] - sign * eps[e] * rho[l][k];
            }
            hntk_net_forward(net, B, s->X, s->Z, NULL);
            hntk_net_backward(net);
            hntk_net_ntk_gram(net, sign < 0 ? Kp : Km); /* Kp = K(w + eps rho), Km = K(w - eps rho) */
        }
        /* gradient flow: w(t) = w - t rho, so dK/dt ~ (K(w - eps rho) - K(w + eps rho)) / (2 eps) */
        double err = 0.0;
        for (long i = 0; i < B * B; i++) err = fmax(err, fabs((Km[i] - Kp[i]) / (2.0 * eps[e]) - dK[i]));
        errs[e] = err / scale;
    }
    for (int l = 1; l <= L; l++) {
        memcpy(hntk_net_weights(net, l), w0[l], sizeof(double) * (size_t)sz[l]);
        free(w0[l]), free(rho[l]);
    }
    printf("%s: central FD of K^h over w -+ eps rho: max rel err %.3g, %.3g, %.3g at eps max|rho| = 4e-3, 2e-3, 1e-3 "
           "(ratios %.3f, %.3f; |dK/dt| max %.3g)\n", name, errs[0], errs[1], errs[2], errs[0] / errs[1],
           errs[1] / errs[2], scale);
    CHECK(errs[2] < 1e-4, "%s: FD disagrees: %.3g", name, errs[2]);
    CHECK(fabs(errs[0] / errs[1] - 4.0) < 0.3 && fabs(errs[1] / errs[2] - 4.0) < 0.3,
          "%s: the FD error does not fall as eps^2 (ratios %.3f, %.3f): not a truncation error", name,
          errs[0] / errs[1], errs[1] / errs[2]);
    hntk_hess_ws_free(ws);
    hntk_train_free(t);
}

static void check_errors(void)
{
    setup s = make_setup(3, 4, 3, 2, 3, 2, 0, 4), s2 = make_setup(3, 5, 3, 2, 3, 2, 0, 4);
    hntk_net *net;
    hntk_hess_ws *ws;
    hntk_net_alloc(&s.a, 4, 0, &net);
    hntk_hess_ws_alloc(&s2.a, 4, 0, &ws);
    hntk_net_sample_weights(net, 1, 0);
    double r[4] = {1, 2, 3, 4}, M[16];
    hntk_net_forward(net, 4, s.X, s.Z, NULL);
    hntk_net_backward(net);
    CHECK(hntk_hess_mixed(net, ws, r, M, M) == HNTK_EINVAL, "another architecture accepted");
    hntk_hess_ws_free(ws);
    hntk_hess_ws_alloc(&s.a, 2, 0, &ws);
    CHECK(hntk_hess_mixed(net, ws, r, M, M) == HNTK_EINVAL && strstr(hntk_last_error(), "4 inputs"),
          "batch over the workspace's: %s", hntk_last_error());
    hntk_hess_ws_free(ws);
    hntk_hess_ws_alloc(&s.a, 4, 0, &ws);
    r[2] = NAN;
    CHECK(hntk_hess_mixed(net, ws, r, M, M) == HNTK_EINVAL && strstr(hntk_last_error(), "r[2]"),
          "NaN residual: %s", hntk_last_error());
    hntk_hess_ws_free(ws);
    CHECK(hntk_hess_ws_alloc(&s.a, 0, 0, &ws) == HNTK_EINVAL && strstr(hntk_last_error(), "batch size = 0"),
          "batch 0: %s", hntk_last_error());
    hntk_hess_ws_free(ws);
    hntk_net_free(net);
}

int main(void)
{
    double worst = 0.0;
    setup a = make_setup(3, 4, 3, 2, 3, 2, 0, 5);   /* L = 3, H = 2 */
    setup b = make_setup(2, 3, 2, 3, 2, 2, 0, 4);   /* L = 2, H = 3 */
    setup c = make_setup(3, 5, 3, 1, 1, 1, 0, 5);   /* a plain MLP */
    for (long i = 0; i < c.B; i++) c.Z[i] = 1.0;
    setup d = make_setup(2, 3, 2, 2, 3, 2, 3, 4);   /* Fourier features, k = 3 */
    setup e = make_setup(2, 2, 2, 1, 1, 1, 0, 7);   /* MLP with a batch wider than every layer */
    for (long i = 0; i < e.B; i++) e.Z[i] = 1.0;
    check_explicit(&a, "L3H2", &worst);
    check_explicit(&b, "L2H3", &worst);
    check_explicit(&c, "MLP L3", &worst);
    check_explicit(&d, "L2H2 fourier", &worst);
    check_explicit(&e, "MLP L2 B > n", &worst);
    check_fd(&a, "L3H2");
    check_fd(&b, "L2H3");
    check_fd(&c, "MLP L3");
    check_errors();
    printf("largest relative difference to the explicit Hessians: %.3g\n", worst);
    return TEST_SUMMARY();
}
