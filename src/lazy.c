/* lazy.c: exact lazy sampling of f's weights by Gaussian conditioning
 * (docs/theory.md §7), and one sample of K^h and h on top of it.
 *
 * Per layer l, W = W^l (n_out x n_in) is represented by
 *   U  (ku x n_in)   orthonormal rows: the queried input directions
 *   A  (ku x n_out)  row i = W U_i
 *   V  (kv x n_out)  orthonormal rows: the queried output directions
 *   Bm (kv x n_in)   row j = W^T V_j
 * (rows of these row-major arrays are the "columns" of docs/theory.md §7).
 * Given them W = V Bm^T + (I - V V^T) A U^T + (I - V V^T) W~ (I - U U^T).
 *
 * The g part is the dense network's own (src/gnet.c), so the conventions are
 * literally the same (chunk order, 1/sqrt(m_{l-1}) factors).
 *
 * Determinism: dot products and norms are plain C loops with a fixed order;
 * BLAS is used only for dgemv, whose OpenBLAS kernels compute every output
 * element in one thread.
 */
#include "hyperntk/lazy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "gnet.h"
#include "hyperntk/error.h"
#include "hyperntk/rng.h"

#define SQRT2 HNTK_SQRT2
/* A query whose residual after projection is below LAZY_TOL |q| lies in the
 * span of the directions already queried and is answered from them. */
#define LAZY_TOL 1e-10

typedef struct {
    long n_in, n_out;
    long ku_cap, kv_cap;
    long ku, kv;
    uint32_t nq; /* queries so far in this sample: the row of the next stream */
    uint32_t tensor;
    double *U, *A, *V, *Bm;
} lazy_mat;

struct hntk_lazy {
    hntk_hyper_arch arch;
    int L;
    long batch_cap, B;
    long n[HNTK_MAX_DEPTH + 1];
    long P;
    hntk_glayout g;                   /* g's widths and offsets */
    int fault;
    int taylor_order;                 /* room for the jet queries of one Taylor call per sample */
    uint64_t seed;                    /* (seed, sample) of the current sample */
    uint32_t sample;

    double *slab;
    lazy_mat mat[HNTK_MAX_DEPTH + 1]; /* l = 1..L */
    double *Q[HNTK_MAX_DEPTH];        /* (B, n_l), l = 0..L-1 */
    double *E[HNTK_MAX_DEPTH + 1];    /* (B, n_l), l = 1..L; E^L = c */
    double *Yv;                       /* (B, P) = v */
    double *gpre, *gact, *h;
    double *dg, *da;
    double *gram_e, *gram_q; /* (B, B) scratch of hntk_lazy_ntk_gram */
    double *coef; /* (max_rank + 2): projection coefficients */
    double *coef2;
};

/* ---------------------------------------------------------------- sizes */

static void derive_sizes(hntk_lazy *lz, const hntk_hyper_arch *a)
{
    lz->arch = *a;
    lz->L = a->f_depth;
    lz->P = hntk_f_out_dim(a);
    for (int l = 0; l <= lz->L; l++) lz->n[l] = hntk_f_layer_width(a, l);
    hntk_glayout_init(&lz->g, a);
}

static long min_l(long a, long b) { return a < b ? a : b; }

/* Basis capacities of layer l for a batch of B: B forward directions, plus
 * the orders 1..min(l-1, R) of Q^{l-1}'s jets for each input when the sampler
 * serves a Taylor call (taylor.h); B backward directions (none on layer 1). */
static void layer_caps(const hntk_lazy *lz, int l, long B, long *ku, long *kv)
{
    long jet_orders = min_l(l - 1, lz->taylor_order);
    *ku = min_l(B * (1 + jet_orders), lz->n[l - 1]);
    *kv = l >= 2 ? min_l(B, lz->n[l]) : 0; /* layer 1 is never queried backward */
}

/* The most directions any basis holds: the length of the coefficient scratch. */
static long max_rank(const hntk_lazy *lz, long B)
{
    long k = 1;
    for (int l = 1; l <= lz->L; l++) {
        long ku, kv;
        layer_caps(lz, l, B, &ku, &kv);
        if (ku > k) k = ku;
        if (kv > k) k = kv;
    }
    return k;
}

/* Doubles of the slab (as a double, to detect overflow). */
static double slab_doubles(const hntk_lazy *lz, long B)
{
    double d = 0.0;
    for (int l = 1; l <= lz->L; l++) {
        long ku, kv;
        layer_caps(lz, l, B, &ku, &kv);
        d += (double)(ku + kv) * ((double)lz->n[l - 1] + (double)lz->n[l]);
    }
    for (int l = 0; l < lz->L; l++) d += (double)B * (double)lz->n[l];  /* Q */
    for (int l = 1; l <= lz->L; l++) d += (double)B * (double)lz->n[l]; /* E */
    d += (double)B * (double)lz->P;                                      /* v */
    d += (double)B * (double)(lz->g.pre_len + lz->g.act_len + 1);
    d += 2.0 * (double)lz->g.m_max + 2.0 * (double)(max_rank(lz, B) + 2) + 2.0 * (double)B * (double)B;
    return d;
}

static void carve_slab(hntk_lazy *lz)
{
    double *p = lz->slab;
    long B = lz->batch_cap;
    for (int l = 1; l <= lz->L; l++) {
        lazy_mat *M = &lz->mat[l];
        M->n_in = lz->n[l - 1];
        M->n_out = lz->n[l];
        layer_caps(lz, l, B, &M->ku_cap, &M->kv_cap);
        M->tensor = HNTK_LAZY_TENSOR_BASE + (uint32_t)l;
        M->U = p; p += M->ku_cap * M->n_in;
        M->A = p; p += M->ku_cap * M->n_out;
        M->V = p; p += M->kv_cap * M->n_out;
        M->Bm = p; p += M->kv_cap * M->n_in;
    }
    for (int l = 0; l < lz->L; l++) { lz->Q[l] = p; p += B * lz->n[l]; }
    for (int l = 1; l <= lz->L; l++) { lz->E[l] = p; p += B * lz->n[l]; }
    lz->Yv = p; p += B * lz->P;
    lz->gpre = p; p += B * lz->g.pre_len;
    lz->gact = p; p += B * lz->g.act_len;
    lz->h = p; p += B;
    lz->dg = p; p += lz->g.m_max;
    lz->da = p; p += lz->g.m_max;
    lz->gram_e = p; p += B * B;
    lz->gram_q = p; p += B * B;
    lz->coef = p; p += max_rank(lz, B) + 2;
    lz->coef2 = p; p += max_rank(lz, B) + 2;
}

int hntk_lazy_validate(const hntk_hyper_arch *a)
{
    if (!a) return hntk_fail(HNTK_EINVAL, "architecture is NULL");
    if (a->fourier_k != 0)
        return hntk_fail(HNTK_EINVAL,
                         "fourier_k = %ld is out of range for the lazy sampler: accepted 0 (Fourier features "
                         "are not implemented in lazy.c v1; use hntk_net)",
                         a->fourier_k);
    hntk_hyper_arch b = *a;
    if (b.f_depth > 1) {
        if (a->f_width < 1 || a->f_width > HNTK_LAZY_MAX_WIDTH)
            return hntk_fail(HNTK_EINVAL, "f_width = %ld is out of range: accepted 1..%ld", a->f_width,
                             HNTK_LAZY_MAX_WIDTH);
        b.f_width = 1; /* everything else as hntk_hyper_arch_validate */
    }
    int st = hntk_hyper_arch_validate(&b);
    return st ? st : hntk_arch_require_theory(a, "the lazy sampler");
}

size_t hntk_lazy_bytes(const hntk_hyper_arch *a, long batch_cap) { return hntk_lazy_bytes_taylor(a, batch_cap, 0); }

size_t hntk_lazy_bytes_taylor(const hntk_hyper_arch *a, long batch_cap, int taylor_order)
{
    hntk_lazy tmp;
    derive_sizes(&tmp, a);
    tmp.taylor_order = taylor_order;
    double bytes = (double)sizeof(hntk_lazy) + 8.0 * slab_doubles(&tmp, batch_cap);
    if (!(bytes < 9.0e18)) return 0;
    return (size_t)bytes;
}

int hntk_lazy_alloc(const hntk_hyper_arch *a, long batch_cap, size_t budget_bytes, hntk_lazy **out)
{
    return hntk_lazy_alloc_taylor(a, batch_cap, 0, budget_bytes, out);
}

int hntk_lazy_alloc_taylor(const hntk_hyper_arch *a, long batch_cap, int taylor_order, size_t budget_bytes,
                           hntk_lazy **out)
{
    *out = NULL;
    int st = hntk_lazy_validate(a);
    if (st) return st;
    if (batch_cap < 1 || batch_cap > HNTK_LAZY_MAX_BATCH)
        return hntk_fail(HNTK_EINVAL, "batch size = %ld is out of range: accepted 1..%ld", batch_cap,
                         HNTK_LAZY_MAX_BATCH);
    if (taylor_order < 0 || taylor_order > HNTK_LAZY_MAX_TAYLOR_ORDER)
        return hntk_fail(HNTK_EINVAL, "Taylor order = %d is out of range: accepted 0..%d", taylor_order,
                         HNTK_LAZY_MAX_TAYLOR_ORDER);
    size_t bytes = hntk_lazy_bytes_taylor(a, batch_cap, taylor_order);
    if (bytes == 0) return hntk_fail(HNTK_EINVAL, "lazy sampler workspace size overflows (f width %ld)", a->f_width);
    if (budget_bytes > 0 && bytes > budget_bytes)
        return hntk_fail(HNTK_EBUDGET,
                         "lazy sampler workspace needs %.3g GiB (f width %ld, P = %ld, batch %ld), "
                         "over the memory budget of %.3g GiB",
                         bytes / 1073741824.0, a->f_width, hntk_f_out_dim(a), batch_cap,
                         budget_bytes / 1073741824.0);
    hntk_lazy *lz = calloc(1, sizeof *lz);
    if (!lz) return hntk_fail(HNTK_ENOMEM, "cannot allocate the lazy sampler descriptor");
    derive_sizes(lz, a);
    lz->batch_cap = batch_cap;
    lz->taylor_order = taylor_order;
    lz->slab = malloc((size_t)(8.0 * slab_doubles(lz, batch_cap)));
    if (!lz->slab) {
        free(lz);
        return hntk_fail(HNTK_ENOMEM, "cannot allocate %.3g GiB for the lazy sampler workspace",
                         bytes / 1073741824.0);
    }
    carve_slab(lz);
    *out = lz;
    return HNTK_OK;
}

void hntk_lazy_free(hntk_lazy *lz)
{
    if (!lz) return;
    free(lz->slab);
    free(lz);
}

const hntk_hyper_arch *hntk_lazy_arch(const hntk_lazy *lz) { return &lz->arch; }
const double *hntk_lazy_output(const hntk_lazy *lz) { return lz->h; }
const double *hntk_lazy_f_output(const hntk_lazy *lz) { return lz->Yv; }
const double *hntk_lazy_dh_dv(const hntk_lazy *lz) { return lz->E[lz->L]; }
long hntk_lazy_batch(const hntk_lazy *lz) { return lz->B; }
int hntk_lazy_taylor_order(const hntk_lazy *lz) { return lz->taylor_order; }
const double *hntk_lazy_activation(const hntk_lazy *lz, int l) { return l < lz->L ? lz->Q[l] : lz->Yv; }
const double *hntk_lazy_dh_dy(const hntk_lazy *lz, int l) { return lz->E[l]; }
void hntk_lazy_set_fault(hntk_lazy *lz, int fault) { lz->fault = fault; }

void hntk_lazy_rank(const hntk_lazy *lz, int l, long *forward, long *backward)
{
    if (forward) *forward = lz->mat[l].ku;
    if (backward) *backward = lz->mat[l].kv;
}

void hntk_lazy_nngp_gram(const hntk_lazy *lz, double *K)
{
    long B = lz->B;
    for (long i = 0; i < B; i++)
        for (long j = 0; j < B; j++) K[i * B + j] = lz->h[i] * lz->h[j];
}

/* ---------------------------------------------------------------- conditioning */

/* Fixed-order dot product (4 partial sums): the same bits on every thread. */
static double dot(const double *a, const double *b, long n)
{
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    long i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

/* G (B x B, upper triangle i <= j) = X X^T for the rows of X (B, n), in one
 * pass over X: blocks of GRAM_BLOCK entries stay in cache while every pair
 * is summed over them (fixed order: the same bits on every thread). */
enum { GRAM_BLOCK = 512 };
static void gram_upper(const double *X, long B, long n, double *G)
{
    for (long i = 0; i < B * B; i++) G[i] = 0.0;
    for (long c0 = 0; c0 < n; c0 += GRAM_BLOCK) {
        long len = n - c0 < GRAM_BLOCK ? n - c0 : GRAM_BLOCK;
        for (long i = 0; i < B; i++)
            for (long j = i; j < B; j++) G[i * B + j] += dot(X + i * n + c0, X + j * n + c0, len);
    }
}

/* c (k) = Bas (k x n) x;   y (n) += alpha Bas^T c. */
static void proj(const double *Bas, long k, long n, const double *x, double *c)
{
    if (k > 0) cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)k, (int)n, 1.0, Bas, (int)n, x, 1, 0.0, c, 1);
}
static void expand(const double *Bas, long k, long n, double alpha, const double *c, double *y)
{
    if (k > 0) cblas_dgemv(CblasRowMajor, CblasTrans, (int)k, (int)n, alpha, Bas, (int)n, c, 1, 1.0, y, 1);
}

/* |x - Bas^T c| without storing the residual (the basis is full). */
static double residual_norm(const double *Bas, long k, long n, const double *x, const double *c)
{
    double ss = 0.0;
    for (long i = 0; i < n; i++) {
        double r = x[i];
        for (long a = 0; a < k; a++) r -= Bas[a * n + i] * c[a];
        ss += r * r;
    }
    return sqrt(ss);
}

/* One query of W (fwd = 1: W q; fwd = 0: W^T q), written to ans.
 *   Bas, Ans (k rows): the basis on q's side and its answers;
 *   Oth, OAns (j rows): the basis on the answer's side and its answers.
 * Forward: (Bas, Ans, Oth, OAns) = (U, A, V, Bm);  backward: (V, Bm, U, A). */
static int query(hntk_lazy *lz, lazy_mat *M, int fwd, uint64_t seed, uint32_t sample, const double *q,
                 double *ans)
{
    long nq_dim = fwd ? M->n_in : M->n_out, na_dim = fwd ? M->n_out : M->n_in;
    double *Bas = fwd ? M->U : M->V, *Ans = fwd ? M->A : M->Bm;
    const double *Oth = fwd ? M->V : M->U, *OAns = fwd ? M->Bm : M->A;
    long *k = fwd ? &M->ku : &M->kv;
    long cap = fwd ? M->ku_cap : M->kv_cap, j = fwd ? M->kv : M->ku;
    uint32_t row = M->nq++;
    double *c = lz->coef, *c2 = lz->coef2;

    double qn = sqrt(dot(q, q, nq_dim));
    /* Candidate new direction in the next free row of Bas (scratch if full). */
    int can_grow = *k < cap;
    double rn = 0.0;
    for (long i = 0; i < *k; i++) c[i] = 0.0;
    if (can_grow) {
        double *r = Bas + *k * nq_dim;
        memcpy(r, q, sizeof(double) * (size_t)nq_dim);
        /* Classical Gram-Schmidt, repeated once when the first pass cancelled
         * more than half of |q|^2 (the DGKS criterion: "twice is enough"); a
         * wide layer's queries are nearly orthogonal to the few directions
         * held, so most need one pass. */
        rn = qn;
        for (int pass = 0; pass < 2 && *k > 0; pass++) {
            double before = rn;
            proj(Bas, *k, nq_dim, r, c2);
            expand(Bas, *k, nq_dim, -1.0, c2, r);
            for (long i = 0; i < *k; i++) c[i] += c2[i];
            rn = sqrt(dot(r, r, nq_dim));
            if (rn >= 0.70710678118654752440 * before) break; /* |r|^2 >= |before|^2 / 2 */
        }
    } else {
        /* Basis full: answerable only when q lies in its span (always when k = dimension). */
        proj(Bas, *k, nq_dim, q, c);
        if (*k < nq_dim && residual_norm(Bas, *k, nq_dim, q, c) > LAZY_TOL * qn)
            return hntk_fail(HNTK_EINVAL,
                             "lazy sampler: layer %u needs more than %ld %s directions (the workspace's capacity)",
                             M->tensor - HNTK_LAZY_TENSOR_BASE, cap, fwd ? "forward" : "backward");
    }
    if (can_grow && rn > LAZY_TOL * qn && rn > 0.0) {
        double *u = Bas + *k * nq_dim;
        double inv = 1.0 / rn;
        for (long i = 0; i < nq_dim; i++) u[i] *= inv;
        double *g = Ans + *k * na_dim;
        hntk_stream s;
        hntk_stream_init(&s, seed, sample, M->tensor, row);
        hntk_stream_normals(&s, g, (size_t)na_dim);
        int keep_mean = !(fwd ? lz->fault == HNTK_LAZY_FAULT_NO_FORWARD_MEAN
                              : lz->fault == HNTK_LAZY_FAULT_NO_BACKWARD_MEAN);
        if (j > 0) {
            /* g <- g - Oth^T (Oth g) + Oth^T (OAns u) */
            double *t = c2;
            proj(Oth, j, na_dim, g, t);
            if (keep_mean) {
                for (long i = 0; i < j; i++) t[i] = dot(OAns + i * nq_dim, u, nq_dim) - t[i];
            } else {
                for (long i = 0; i < j; i++) t[i] = -t[i];
            }
            expand(Oth, j, na_dim, 1.0, t, g);
        }
        c[*k] = rn;
        (*k)++;
    }
    /* ans = Ans^T c */
    memset(ans, 0, sizeof(double) * (size_t)na_dim);
    expand(Ans, *k, na_dim, 1.0, c, ans);
    return HNTK_OK;
}

static void reset(hntk_lazy *lz)
{
    for (int l = 1; l <= lz->L; l++) {
        lz->mat[l].ku = lz->mat[l].kv = 0;
        lz->mat[l].nq = 0;
    }
}

void hntk_lazy_reset(hntk_lazy *lz) { reset(lz); }

int hntk_lazy_query(hntk_lazy *lz, int l, int transpose, uint64_t seed, uint32_t sample, const double *q,
                    double *ans)
{
    if (l < 1 || l > lz->L)
        return hntk_fail(HNTK_EINVAL, "layer = %d is out of range: accepted 1..%d", l, lz->L);
    return query(lz, &lz->mat[l], !transpose, seed, sample, q, ans);
}

/* ---------------------------------------------------------------- one sample */

/* y <- c relu(y), branch-free so that it vectorizes (the signs of a wide
 * layer are random: a branch per entry mispredicts). */
HNTK_VECTOR_SELECT static void relu_scaled(double *restrict y, long n, double c)
{
    for (long i = 0; i < n; i++) {
        double v = y[i], w = c * v; /* computed unconditionally: a select, not a branch */
        y[i] = v > 0.0 ? w : 0.0;
    }
}

int hntk_lazy_sample(hntk_lazy *lz, uint64_t seed, uint32_t sample, long B, const double *X, const double *Z)
{
    if (B < 1 || B > lz->batch_cap)
        return hntk_fail(HNTK_EINVAL, "batch of %ld inputs is out of range: accepted 1..%ld", B, lz->batch_cap);
    int L = lz->L;
    lz->B = B;
    lz->seed = seed;
    lz->sample = sample;
    reset(lz);
    /* forward through f: B queries per layer */
    memcpy(lz->Q[0], X, sizeof(double) * (size_t)(B * lz->n[0]));
    for (int l = 1; l <= L; l++) {
        long nl = lz->n[l], np = lz->n[l - 1];
        double scale = 1.0 / sqrt((double)np);
        double *Y = l < L ? lz->Q[l] : lz->Yv;
        for (long b = 0; b < B; b++) {
            double *y = Y + b * nl;
            int st = query(lz, &lz->mat[l], 1, seed, sample, lz->Q[l - 1] + b * np, y);
            if (st) return st;
            if (l < L) relu_scaled(y, nl, SQRT2 * scale);
            else
                for (long i = 0; i < nl; i++) y[i] *= scale;
        }
    }
    /* g forward and backward per input */
    for (long b = 0; b < B; b++) {
        double *act = lz->gact + b * lz->g.act_len, *pre = lz->gpre + b * lz->g.pre_len;
        const double *v = lz->Yv + b * lz->P;
        memcpy(act, Z + b * lz->arch.z_dim, sizeof(double) * (size_t)lz->arch.z_dim);
        lz->h[b] = hntk_g_forward(&lz->g, v, pre, act);
        hntk_g_backward(&lz->g, v, pre, act, NULL, lz->E[L] + b * lz->P, lz->dg, lz->da);
    }
    /* backward through f: e^{l-1} = (W^l^T e^l / sqrt(n_{l-1})) o sqrt(2) 1[y^{l-1} > 0];
     * y^{l-1} > 0 exactly where q^{l-1} > 0. */
    for (int l = L; l >= 2; l--) {
        long nl = lz->n[l], np = lz->n[l - 1];
        double scale = SQRT2 / sqrt((double)np);
        for (long b = 0; b < B; b++) {
            double *e = lz->E[l - 1] + b * np;
            const double *qp = lz->Q[l - 1] + b * np;
            int st = query(lz, &lz->mat[l], 0, seed, sample, lz->E[l] + b * nl, e);
            if (st) return st;
            hntk_mask_scaled(e, qp, np, scale);
        }
    }
    return HNTK_OK;
}

void hntk_lazy_ntk_gram(const hntk_lazy *lz, double *K)
{
    long B = lz->B;
    int L = lz->L;
    double *ge = lz->gram_e, *gq = lz->gram_q;
    /* K = sum_l (E^l E^l^T) o (Q^{l-1} Q^{l-1}^T) / n_{l-1} */
    for (long i = 0; i < B * B; i++) K[i] = 0.0;
    for (int l = 1; l <= L; l++) {
        long nl = lz->n[l], np = lz->n[l - 1];
        gram_upper(lz->E[l], B, nl, ge);
        gram_upper(lz->Q[l - 1], B, np, gq);
        for (long i = 0; i < B; i++)
            for (long j = i; j < B; j++) K[i * B + j] += ge[i * B + j] * (gq[i * B + j] / (double)np);
    }
    for (long i = 0; i < B; i++)
        for (long j = 0; j < i; j++) K[i * B + j] = K[j * B + i];
}

int hntk_lazy_sample_ntk_gram(hntk_lazy *lz, uint64_t seed, uint32_t sample, long B, const double *X,
                              const double *Z, double *K)
{
    int st = hntk_lazy_sample(lz, seed, sample, B, X, Z);
    if (st) return st;
    hntk_lazy_ntk_gram(lz, K);
    return HNTK_OK;
}

int hntk_lazy_apply(hntk_lazy *lz, int l, long rows, const double *Q, double alpha, double *Y)
{
    if (l < 1 || l > lz->L) return hntk_fail(HNTK_EINVAL, "layer = %d is out of range: accepted 1..%d", l, lz->L);
    lazy_mat *M = &lz->mat[l];
    for (long r = 0; r < rows; r++) {
        double *y = Y + r * M->n_out;
        int st = query(lz, M, 1, lz->seed, lz->sample, Q + r * M->n_in, y);
        if (st) return st;
        for (long i = 0; i < M->n_out; i++) y[i] *= alpha;
    }
    return HNTK_OK;
}
