/* train.c: loss gradients through the backward pass, GD and SGD (train.h). */
#include "hyperntk/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "hyperntk/error.h"
#include "hyperntk/rng.h"

struct hntk_train {
    hntk_net *net;
    hntk_hyper_arch arch;
    hntk_loss loss;
    int L;
    long N;                        /* training inputs (the permutation's length) */
    long cap;                      /* inputs per forward pass (the network's batch capacity) */
    long C;                        /* g's outputs */
    long ty;                       /* doubles per target: C (squared loss) or 1 (a class label) */
    long n[HNTK_MAX_DEPTH + 1];    /* f widths n_0..n_L */
    long n_max;                    /* max_l n_l */
    long B;                        /* inputs of the last loss_grad */
    double rate[HNTK_MAX_DEPTH + 1]; /* per-layer learning-rate factors (1 unless set) */
    double brate[HNTK_MAX_DEPTH + 1]; /* the same for the biases */
    double beta;                   /* bias scale (0: no biases) */
    double *slab;
    double *G[HNTK_MAX_DEPTH + 1]; /* (n_l, n_{l-1}) gradients */
    double *Gb[HNTK_MAX_DEPTH + 1]; /* (n_l) bias gradients, NULL without biases */
    double *Er;                    /* (cap, n_max) diag(r) E^l (one output) */
    double *r;                     /* (cap, C) dC/dh */
    double *Xb, *Zb, *yb;          /* (cap, x_dim), (cap, z_dim), (cap, ty) a minibatch */
    long *perm;                    /* (N) */
};

static long target_len(const hntk_hyper_arch *a, hntk_loss loss)
{
    return loss == HNTK_LOSS_CROSS_ENTROPY ? 1 : hntk_g_outputs(a);
}

static size_t slab_doubles(const hntk_hyper_arch *a, long cap, hntk_loss loss, long *n_max)
{
    size_t d = 0;
    long nm = 1;
    for (int l = 1; l <= a->f_depth; l++) {
        long nl = hntk_f_layer_width(a, l), np = hntk_f_layer_width(a, l - 1);
        d += (size_t)nl * (size_t)(np + (a->bias_scale > 0));
        if (nl > nm) nm = nl;
    }
    long C = hntk_g_outputs(a);
    if (C == 1) d += (size_t)cap * (size_t)nm; /* Er */
    d += (size_t)cap * (size_t)(a->x_dim + a->z_dim + C + target_len(a, loss));
    if (n_max) *n_max = nm;
    return d;
}

static long config_cap(long n_train, const hntk_train_config *cfg)
{
    return cfg && cfg->batch_cap > 0 ? cfg->batch_cap : n_train;
}

size_t hntk_train_bytes_config(const hntk_hyper_arch *a, long n_train, const hntk_train_config *cfg)
{
    long cap = config_cap(n_train, cfg);
    hntk_loss loss = cfg ? cfg->loss : HNTK_LOSS_SQUARED;
    return sizeof(hntk_train) + sizeof(double) * slab_doubles(a, cap, loss, NULL) + sizeof(long) * (size_t)n_train +
           hntk_net_bytes(a, cap);
}

size_t hntk_train_bytes(const hntk_hyper_arch *a, long n_train) { return hntk_train_bytes_config(a, n_train, NULL); }

int hntk_train_alloc(const hntk_hyper_arch *a, long n_train, size_t budget_bytes, hntk_train **out)
{
    return hntk_train_alloc_config(a, n_train, NULL, budget_bytes, out);
}

int hntk_train_alloc_config(const hntk_hyper_arch *a, long n_train, const hntk_train_config *cfg,
                            size_t budget_bytes, hntk_train **out)
{
    *out = NULL;
    int st = hntk_hyper_arch_validate(a);
    if (st) return st;
    if (n_train < 1 || n_train > (1L << 30))
        return hntk_fail(HNTK_EINVAL, "training set of %ld inputs is out of range: accepted 1..%ld", n_train, 1L << 30);
    hntk_loss loss = cfg ? cfg->loss : HNTK_LOSS_SQUARED;
    if (loss != HNTK_LOSS_SQUARED && loss != HNTK_LOSS_CROSS_ENTROPY)
        return hntk_fail(HNTK_EINVAL, "loss = %d is not a loss: accepted %d (squared) or %d (cross-entropy)", (int)loss,
                         (int)HNTK_LOSS_SQUARED, (int)HNTK_LOSS_CROSS_ENTROPY);
    if (loss == HNTK_LOSS_CROSS_ENTROPY && hntk_g_outputs(a) < 2)
        return hntk_fail(HNTK_EINVAL, "cross-entropy with g_out = %ld output(s): accepted g_out = 2..%ld (one output "
                                      "per class)", hntk_g_outputs(a), HNTK_MAX_WIDTH);
    long cap = config_cap(n_train, cfg);
    if (cap < 1 || cap > (1L << 24))
        return hntk_fail(HNTK_EINVAL, "batch capacity = %ld is out of range: accepted 1..%ld", cap, 1L << 24);
    size_t bytes = hntk_train_bytes_config(a, n_train, cfg);
    if (budget_bytes > 0 && bytes > budget_bytes)
        return hntk_fail(HNTK_EBUDGET, "the trainer needs %.3g GiB (f width %ld, batches of %ld inputs), over the "
                                       "memory budget of %.3g GiB", bytes / 1073741824.0, a->f_width, cap,
                         budget_bytes / 1073741824.0);
    hntk_train *t = calloc(1, sizeof *t);
    if (!t) return hntk_fail(HNTK_ENOMEM, "cannot allocate the trainer");
    t->arch = *a;
    t->loss = loss;
    t->L = a->f_depth;
    t->N = n_train;
    t->cap = cap;
    t->C = hntk_g_outputs(a);
    t->ty = target_len(a, loss);
    size_t d = slab_doubles(a, cap, loss, &t->n_max);
    t->slab = malloc(sizeof(double) * d);
    t->perm = malloc(sizeof(long) * (size_t)n_train);
    if (!t->slab || !t->perm || (st = hntk_net_alloc(a, cap, 0, &t->net))) {
        free(t->slab);
        free(t->perm);
        free(t);
        return st ? st : hntk_fail(HNTK_ENOMEM, "cannot allocate %.3g GiB for the trainer", bytes / 1073741824.0);
    }
    double *p = t->slab;
    for (int l = 0; l <= t->L; l++) t->n[l] = hntk_f_layer_width(a, l);
    t->beta = a->bias_scale;
    for (int l = 1; l <= t->L; l++) t->rate[l] = t->brate[l] = 1.0;
    for (int l = 1; l <= t->L; l++) { t->G[l] = p; p += t->n[l] * t->n[l - 1]; }
    for (int l = 1; l <= t->L; l++) {
        t->Gb[l] = NULL;
        if (t->beta > 0) { t->Gb[l] = p; p += t->n[l]; }
    }
    t->Er = NULL;
    if (t->C == 1) { t->Er = p; p += cap * t->n_max; }
    t->r = p; p += cap * t->C;
    t->yb = p; p += cap * t->ty;
    t->Xb = p; p += cap * a->x_dim;
    t->Zb = p; p += cap * a->z_dim;
    *out = t;
    return HNTK_OK;
}

void hntk_train_free(hntk_train *t)
{
    if (!t) return;
    hntk_net_free(t->net);
    free(t->slab);
    free(t->perm);
    free(t);
}

hntk_net *hntk_train_net(hntk_train *t) { return t->net; }
const double *hntk_train_grad(const hntk_train *t, int l) { return t->G[l]; }
const double *hntk_train_bias_grad(const hntk_train *t, int l) { return t->Gb[l]; }
const double *hntk_train_residuals(const hntk_train *t) { return t->r; }
long hntk_train_batch_cap(const hntk_train *t) { return t->cap; }

int hntk_train_set_layer_rate(hntk_train *t, int l, double factor)
{
    if (l < 1 || l > t->L) return hntk_fail(HNTK_EINVAL, "layer l = %d is out of range: accepted 1..%d", l, t->L);
    if (!(factor > 0) || !isfinite(factor))
        return hntk_fail(HNTK_EINVAL, "learning-rate factor of layer %d = %g is out of range: accepted a finite value > 0",
                         l, factor);
    t->rate[l] = factor;
    return HNTK_OK;
}

int hntk_train_set_bias_rate(hntk_train *t, int l, double factor)
{
    if (!(t->beta > 0)) return hntk_fail(HNTK_EINVAL, "hntk_train_set_bias_rate: the network has no biases (bias_scale = 0)");
    if (l < 1 || l > t->L) return hntk_fail(HNTK_EINVAL, "layer l = %d is out of range: accepted 1..%d", l, t->L);
    if (!(factor > 0) || !isfinite(factor))
        return hntk_fail(HNTK_EINVAL, "bias learning-rate factor of layer %d = %g is out of range: accepted a finite "
                                      "value > 0", l, factor);
    t->brate[l] = factor;
    return HNTK_OK;
}

/* Targets of B inputs: finite, and for cross-entropy integer labels 0..C-1. */
static int check_targets(const hntk_train *t, long B, const double *y)
{
    for (long i = 0; i < B * t->ty; i++) {
        if (!isfinite(y[i])) return hntk_fail(HNTK_EINVAL, "target y[%ld] = %g is not finite", i, y[i]);
        if (t->loss == HNTK_LOSS_CROSS_ENTROPY && (y[i] != floor(y[i]) || y[i] < 0 || y[i] > (double)(t->C - 1)))
            return hntk_fail(HNTK_EINVAL, "class label y[%ld] = %g is out of range: accepted an integer 0..%ld", i, y[i],
                             t->C - 1);
    }
    return HNTK_OK;
}

/* Loss of one input's outputs h (C) with target y, and dC/dh into r (C).
 *   squared:        1/2 |h - y|^2,                    r = h - y
 *   cross-entropy:  log sum_c exp h_c - h_label,       r = softmax(h) - e_label
 * (log-sum-exp shifted by max_c h_c: no overflow). */
static double input_loss(hntk_loss loss, long C, const double *h, const double *y, double *r)
{
    if (loss == HNTK_LOSS_SQUARED) {
        double c = 0.0;
        for (long k = 0; k < C; k++) {
            r[k] = h[k] - y[k];
            c += 0.5 * r[k] * r[k];
        }
        return c;
    }
    long label = (long)y[0];
    double mx = h[0];
    for (long k = 1; k < C; k++) mx = h[k] > mx ? h[k] : mx;
    double s = 0.0;
    for (long k = 0; k < C; k++) s += exp(h[k] - mx);
    double lse = mx + log(s);
    for (long k = 0; k < C; k++) r[k] = exp(h[k] - lse) - (k == label ? 1.0 : 0.0);
    return lse - h[label];
}

/* Loss of B <= cap inputs; G^l <- scale dC/dW^l + keep G^l (keep 0 or 1). */
static int loss_grad(hntk_train *t, long B, const double *X, const double *Z, const double *y, double scale,
                     double keep, double *loss)
{
    int st = check_targets(t, B, y);
    if (st) return st;
    st = hntk_net_forward(t->net, B, X, Z, NULL);
    if (st) return st;
    const double *h = hntk_net_output(t->net);
    long C = t->C;
    double c = 0.0;
    for (long b = 0; b < B; b++) c += input_loss(t->loss, C, h + b * C, y + b * t->ty, t->r + b * C);
    t->B = B;
    /* One output: E^l = dh/dY^l, weighted afterwards (diag(r) E^l); several:
     * E^l = d(sum_b r_b . h(u_b))/dY^l directly from a seeded backward. */
    if (C == 1) hntk_net_backward(t->net);
    else hntk_net_backward_seeded(t->net, t->r);
    for (int l = 1; l <= t->L; l++) {
        long nl = t->n[l], np = t->n[l - 1];
        const double *E = hntk_net_dh_dy(t->net, l), *Q = hntk_net_activation(t->net, l - 1);
        if (C == 1) {
            for (long b = 0; b < B; b++)
                for (long i = 0; i < nl; i++) t->Er[b * nl + i] = t->r[b] * E[b * nl + i];
            E = t->Er;
        }
        /* G^l (n_l, n_{l-1}) = scale (diag(r) E^l)^T Q^{l-1} / sqrt(n_{l-1}) + keep G^l */
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nl, (int)np, (int)B, scale / sqrt((double)np), E,
                    (int)nl, Q, (int)np, keep, t->G[l], (int)np);
        if (t->beta > 0) { /* Gb^l (n_l) = scale beta sum_b (diag(r) E^l)_b + keep Gb^l */
            double *gb = t->Gb[l];
            if (keep == 0.0)
                for (long i = 0; i < nl; i++) gb[i] = 0.0;
            for (long b = 0; b < B; b++) cblas_daxpy((int)nl, scale * t->beta, E + b * nl, 1, gb, 1);
        }
    }
    if (loss) *loss = c;
    return HNTK_OK;
}

int hntk_train_loss_grad(hntk_train *t, long B, const double *X, const double *Z, const double *y, double scale,
                         double *loss)
{
    if (B < 1 || B > t->cap)
        return hntk_fail(HNTK_EINVAL, "batch of %ld inputs is out of range: accepted 1..%ld", B, t->cap);
    if (!isfinite(scale)) return hntk_fail(HNTK_EINVAL, "gradient scale = %g is not finite", scale);
    return loss_grad(t, B, X, Z, y, scale, 0.0, loss);
}

int hntk_train_apply(hntk_train *t, double eta)
{
    if (!isfinite(eta)) return hntk_fail(HNTK_EINVAL, "learning rate eta = %g is not finite", eta);
    for (int l = 1; l <= t->L; l++) {
        long k = t->n[l] * t->n[l - 1];
        cblas_daxpy((int)k, -eta * t->rate[l], t->G[l], 1, hntk_net_weights(t->net, l), 1);
        if (t->beta > 0) cblas_daxpy((int)t->n[l], -eta * t->brate[l], t->Gb[l], 1, hntk_net_biases(t->net, l), 1);
    }
    return HNTK_OK;
}

int hntk_train_full_grad(hntk_train *t, long N, const double *X, const double *Z, const double *y, double *loss)
{
    if (N < 1 || N > t->N)
        return hntk_fail(HNTK_EINVAL, "training set of %ld inputs is out of range: accepted 1..%ld", N, t->N);
    long xd = t->arch.x_dim, zd = t->arch.z_dim;
    double sum = 0.0;
    for (long start = 0; start < N; start += t->cap) { /* chunks of the batch capacity, gradients summed */
        long b = N - start < t->cap ? N - start : t->cap;
        double c;
        int st = loss_grad(t, b, X + start * xd, Z + start * zd, y + start * t->ty, 1.0, start ? 1.0 : 0.0, &c);
        if (st) return st;
        sum += c;
    }
    if (loss) *loss = sum;
    return HNTK_OK;
}

int hntk_train_gd_step(hntk_train *t, long N, const double *X, const double *Z, const double *y, double eta,
                       double *loss)
{
    if (!isfinite(eta)) return hntk_fail(HNTK_EINVAL, "learning rate eta = %g is not finite", eta);
    int st = hntk_train_full_grad(t, N, X, Z, y, loss);
    return st ? st : hntk_train_apply(t, eta);
}

/* Uniform on 0..n-1 (n >= 1) by Lemire's multiply-shift with rejection: unbiased. */
static uint64_t bounded(hntk_stream *s, uint64_t n)
{
    uint64_t thresh = (0 - n) % n; /* 2^64 mod n */
    for (;;) {
        uint64_t x = hntk_stream_u64(s);
        unsigned __int128 m = (unsigned __int128)x * n;
        if ((uint64_t)m >= thresh) return (uint64_t)(m >> 64);
    }
}

int hntk_train_permutation(uint64_t key, uint32_t epoch, long N, long *perm)
{
    if (N < 1) return hntk_fail(HNTK_EINVAL, "permutation of N = %ld elements: accepted N >= 1", N);
    hntk_stream s;
    hntk_stream_init(&s, key, epoch, HNTK_TENSOR_SHUFFLE, 0);
    for (long i = 0; i < N; i++) perm[i] = i;
    for (long i = N - 1; i >= 1; i--) { /* Fisher-Yates */
        long j = (long)bounded(&s, (uint64_t)(i + 1));
        long tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
    return HNTK_OK;
}

int hntk_train_sgd_epoch(hntk_train *t, uint64_t key, uint32_t epoch, long N, const double *X, const double *Z,
                         const double *y, long batch, double eta, double *loss)
{
    if (N < 1 || N > t->N)
        return hntk_fail(HNTK_EINVAL, "training set of %ld inputs is out of range: accepted 1..%ld", N, t->N);
    long bmax = N < t->cap ? N : t->cap;
    if (batch < 1 || batch > bmax)
        return hntk_fail(HNTK_EINVAL, "minibatch size = %ld is out of range: accepted 1..%ld (the training set and "
                                      "the batch capacity)", batch, bmax);
    if (!isfinite(eta)) return hntk_fail(HNTK_EINVAL, "learning rate eta = %g is not finite", eta);
    int st = hntk_train_permutation(key, epoch, N, t->perm);
    if (st) return st;
    long xd = t->arch.x_dim, zd = t->arch.z_dim, ty = t->ty, steps = 0;
    double sum = 0.0;
    for (long start = 0; start < N; start += batch) {
        long b = N - start < batch ? N - start : batch;
        for (long k = 0; k < b; k++) {
            long i = t->perm[start + k];
            memcpy(t->Xb + k * xd, X + i * xd, sizeof(double) * (size_t)xd);
            memcpy(t->Zb + k * zd, Z + i * zd, sizeof(double) * (size_t)zd);
            memcpy(t->yb + k * ty, y + i * ty, sizeof(double) * (size_t)ty);
        }
        double scale = (double)N / (double)b, c;
        st = hntk_train_loss_grad(t, b, t->Xb, t->Zb, t->yb, scale, &c);
        if (st) return st;
        hntk_train_apply(t, eta);
        sum += scale * c;
        steps++;
    }
    if (loss) *loss = sum / (double)steps;
    return HNTK_OK;
}

int hntk_train_evaluate(hntk_train *t, long N, const double *X, const double *Z, const double *y, double *loss,
                        long *correct)
{
    if (N < 1) return hntk_fail(HNTK_EINVAL, "evaluation set of %ld inputs: accepted N >= 1", N);
    if (correct && t->loss != HNTK_LOSS_CROSS_ENTROPY)
        return hntk_fail(HNTK_EINVAL, "hntk_train_evaluate: accuracy needs the cross-entropy loss (class labels)");
    int st = check_targets(t, N, y);
    if (st) return st;
    long xd = t->arch.x_dim, zd = t->arch.z_dim, C = t->C, hits = 0;
    double sum = 0.0;
    for (long start = 0; start < N; start += t->cap) {
        long b = N - start < t->cap ? N - start : t->cap;
        st = hntk_net_forward(t->net, b, X + start * xd, Z + start * zd, NULL);
        if (st) return st;
        const double *h = hntk_net_output(t->net);
        for (long k = 0; k < b; k++) {
            const double *hk = h + k * C, *yk = y + (start + k) * t->ty;
            sum += input_loss(t->loss, C, hk, yk, t->r);
            if (t->loss == HNTK_LOSS_CROSS_ENTROPY) {
                long best = 0; /* the first maximum */
                for (long c = 1; c < C; c++)
                    if (hk[c] > hk[best]) best = c;
                hits += best == (long)yk[0];
            }
        }
    }
    if (loss) *loss = sum;
    if (correct) *correct = hits;
    return HNTK_OK;
}
