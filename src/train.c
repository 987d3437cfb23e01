/* train.c: squared-loss gradients through the backward pass, GD and SGD (train.h). */
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
    int L;
    long N;                        /* training inputs (the network's batch capacity) */
    long n[HNTK_MAX_DEPTH + 1];    /* f widths n_0..n_L */
    long n_max;                    /* max_l n_l */
    long B;                        /* inputs of the last loss_grad */
    double *slab;
    double *G[HNTK_MAX_DEPTH + 1]; /* (n_l, n_{l-1}) gradients */
    double *Er;                    /* (N, n_max) diag(r) E^l */
    double *r;                     /* (N) residuals */
    double *Xb, *Zb, *yb;          /* (N, x_dim), (N, z_dim), (N) a minibatch */
    long *perm;                    /* (N) */
};

static size_t slab_doubles(const hntk_hyper_arch *a, long N, long *n_max)
{
    size_t d = 0;
    long nm = 1;
    for (int l = 1; l <= a->f_depth; l++) {
        long nl = hntk_f_layer_width(a, l), np = hntk_f_layer_width(a, l - 1);
        d += (size_t)nl * (size_t)np;
        if (nl > nm) nm = nl;
    }
    d += (size_t)N * (size_t)nm + (size_t)N * (size_t)(a->x_dim + a->z_dim + 2);
    if (n_max) *n_max = nm;
    return d;
}

size_t hntk_train_bytes(const hntk_hyper_arch *a, long n_train)
{
    return sizeof(hntk_train) + sizeof(double) * slab_doubles(a, n_train, NULL) + sizeof(long) * (size_t)n_train +
           hntk_net_bytes(a, n_train);
}

int hntk_train_alloc(const hntk_hyper_arch *a, long n_train, size_t budget_bytes, hntk_train **out)
{
    *out = NULL;
    int st = hntk_hyper_arch_validate(a);
    if (st) return st;
    if (n_train < 1 || n_train > (1L << 24))
        return hntk_fail(HNTK_EINVAL, "training set of %ld inputs is out of range: accepted 1..%ld", n_train, 1L << 24);
    size_t bytes = hntk_train_bytes(a, n_train);
    if (budget_bytes > 0 && bytes > budget_bytes)
        return hntk_fail(HNTK_EBUDGET, "the trainer needs %.3g GiB (f width %ld, %ld training inputs), over the "
                                       "memory budget of %.3g GiB", bytes / 1073741824.0, a->f_width, n_train,
                         budget_bytes / 1073741824.0);
    hntk_train *t = calloc(1, sizeof *t);
    if (!t) return hntk_fail(HNTK_ENOMEM, "cannot allocate the trainer");
    t->arch = *a;
    t->L = a->f_depth;
    t->N = n_train;
    size_t d = slab_doubles(a, n_train, &t->n_max);
    t->slab = malloc(sizeof(double) * d);
    t->perm = malloc(sizeof(long) * (size_t)n_train);
    if (!t->slab || !t->perm || (st = hntk_net_alloc(a, n_train, 0, &t->net))) {
        free(t->slab);
        free(t->perm);
        free(t);
        return st ? st : hntk_fail(HNTK_ENOMEM, "cannot allocate %.3g GiB for the trainer", bytes / 1073741824.0);
    }
    double *p = t->slab;
    for (int l = 0; l <= t->L; l++) t->n[l] = hntk_f_layer_width(a, l);
    for (int l = 1; l <= t->L; l++) { t->G[l] = p; p += t->n[l] * t->n[l - 1]; }
    t->Er = p; p += n_train * t->n_max;
    t->r = p; p += n_train;
    t->yb = p; p += n_train;
    t->Xb = p; p += n_train * a->x_dim;
    t->Zb = p; p += n_train * a->z_dim;
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
const double *hntk_train_residuals(const hntk_train *t) { return t->r; }

int hntk_train_loss_grad(hntk_train *t, long B, const double *X, const double *Z, const double *y, double scale,
                         double *loss)
{
    if (B < 1 || B > t->N)
        return hntk_fail(HNTK_EINVAL, "batch of %ld inputs is out of range: accepted 1..%ld", B, t->N);
    if (!isfinite(scale)) return hntk_fail(HNTK_EINVAL, "gradient scale = %g is not finite", scale);
    for (long b = 0; b < B; b++)
        if (!isfinite(y[b])) return hntk_fail(HNTK_EINVAL, "target y[%ld] = %g is not finite", b, y[b]);
    int st = hntk_net_forward(t->net, B, X, Z, NULL);
    if (st) return st;
    hntk_net_backward(t->net);
    const double *h = hntk_net_output(t->net);
    double c = 0.0;
    for (long b = 0; b < B; b++) {
        t->r[b] = h[b] - y[b];
        c += 0.5 * t->r[b] * t->r[b];
    }
    t->B = B;
    for (int l = 1; l <= t->L; l++) {
        long nl = t->n[l], np = t->n[l - 1];
        const double *E = hntk_net_dh_dy(t->net, l), *Q = hntk_net_activation(t->net, l - 1);
        for (long b = 0; b < B; b++)
            for (long i = 0; i < nl; i++) t->Er[b * nl + i] = t->r[b] * E[b * nl + i];
        /* G^l (n_l, n_{l-1}) = scale (diag(r) E^l)^T Q^{l-1} / sqrt(n_{l-1}) */
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nl, (int)np, (int)B, scale / sqrt((double)np),
                    t->Er, (int)nl, Q, (int)np, 0.0, t->G[l], (int)np);
    }
    if (loss) *loss = c;
    return HNTK_OK;
}

int hntk_train_apply(hntk_train *t, double eta)
{
    if (!isfinite(eta)) return hntk_fail(HNTK_EINVAL, "learning rate eta = %g is not finite", eta);
    for (int l = 1; l <= t->L; l++) {
        long k = t->n[l] * t->n[l - 1];
        cblas_daxpy((int)k, -eta, t->G[l], 1, hntk_net_weights(t->net, l), 1);
    }
    return HNTK_OK;
}

int hntk_train_gd_step(hntk_train *t, long N, const double *X, const double *Z, const double *y, double eta,
                       double *loss)
{
    if (!isfinite(eta)) return hntk_fail(HNTK_EINVAL, "learning rate eta = %g is not finite", eta);
    int st = hntk_train_loss_grad(t, N, X, Z, y, 1.0, loss);
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
    if (batch < 1 || batch > N)
        return hntk_fail(HNTK_EINVAL, "minibatch size = %ld is out of range: accepted 1..%ld (the training set)",
                         batch, N);
    if (!isfinite(eta)) return hntk_fail(HNTK_EINVAL, "learning rate eta = %g is not finite", eta);
    int st = hntk_train_permutation(key, epoch, N, t->perm);
    if (st) return st;
    long xd = t->arch.x_dim, zd = t->arch.z_dim, steps = 0;
    double sum = 0.0;
    for (long start = 0; start < N; start += batch) {
        long b = N - start < batch ? N - start : batch;
        for (long k = 0; k < b; k++) {
            long i = t->perm[start + k];
            memcpy(t->Xb + k * xd, X + i * xd, sizeof(double) * (size_t)xd);
            memcpy(t->Zb + k * zd, Z + i * zd, sizeof(double) * (size_t)zd);
            t->yb[k] = y[i];
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
