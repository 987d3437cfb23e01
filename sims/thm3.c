/* thm3.c: `hyperntk thm3`: the second half of Theorem 3 of Littwin et al.
 * (appendix Eq. 73, docs/theory.md §8.1-§8.2): does the hyperkernel stay put
 * under training only when both networks are wide?
 *
 * Cell (a, g) of a grid of widths n of f times widths m of g (cell
 * c = a G + g, samples c N .. c N + N - 1 of the seed, as thm2) draws N
 * initializations.  Per initialization, on a training set U (B inputs with
 * targets y) and T test inputs:
 *   - t = 0: dK/dt(U, U) under gradient flow on C = 1/2 |h(U) - y|^2,
 *     learning rate 1, exactly (hessian.h), split into the term through g's
 *     curvature (Eq. 80) and the term through f's second derivative (Eq. 84);
 *     each as ||dK_x/dt||_F / ||Theta^h(U,U)||_F;
 *   - training (--steps > 0): T steps of full-batch GD (or epochs of
 *     minibatch SGD) with eta = lr / lambda_max(Theta^h(U,U)) (LAPACK dsyevd);
 *     the drift ||K_T - K_0||_F / ||K_0||_F of the training Gram and the RMS
 *     distance of the trained network's predictions to the linearized
 *     dynamics r_{t+1} = (I - eta K) r_t, h(test) -= eta K(test, U) r_t, with
 *     K = the sample's own K_0 and with the analytic Theta^h (hntk_limit_cross).
 * Per cell: the RMS over samples of the dK/dt norms and the means of the
 * training statistics, with bootstrap standard errors and 95% intervals;
 * at the end edge and diagonal slopes (gridfit.h).  Dense weights only.
 * Schema: docs/file-formats.md; reading: docs/thm3.md. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "grid.h"
#include "opts.h"
#include "hyperntk/gridfit.h"
#include "hyperntk/hessian.h"
#include "hyperntk/stats.h"
#include "hyperntk/train.h"

static const char *CMD = "thm3";

/* dsyevd's workspace for an (n, n) matrix: the matrix, the values, work; iwork. */
#define EIG_DOUBLES(n) ((n) * (n) + (n) + 1 + 6 * (n) + 2 * (n) * (n))
#define EIG_INTS(n) (3 + 5 * (n))

/* LAPACK (OpenBLAS): eigenvalues of a symmetric matrix. */
extern void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
                    double *work, const int *lwork, int *iwork, const int *liwork, int *info);

/* Stream codes under the seed (rng.h, hntk_rng_derive_key): "thm3shuf" (SGD
 * order: key derive(derive(seed, code), sample)), "thm3boot" (cell bootstrap). */
#define KEY_SHUF 0x74686d3373687566ULL
#define KEY_BOOT 0x74686d33626f6f74ULL

enum { TAIL_POINTS = 3, CELL_BOOT = 200, MAX_INPUTS = 64 };
#define SAMPLE_DIM(B, M) (NST + 3 * (B) * (B) + 2 * (M) + (M) * (M))

typedef struct {
    int f_depth, g_depth;
    long x_dim, z_dim, train, test;
    uint64_t inputs_seed;
    const char *inputs_file;
    opts_list f_widths, g_widths;
    long A, G;
    long samples, steps, sgd_batch;
    double lr;
    int save_samples;
    grid_run_opts run;
} thm3_opts;

#define F(field) offsetof(thm3_opts, field)
static const opt_spec SPECS[] = {
    {"f-widths", "LIST", OPT_LIST, F(f_widths), 1, HNTK_MAX_WIDTH, NULL, "widths n of f", OPT_CONFIG | OPT_INCREASING},
    {"g-widths", "LIST", OPT_LIST, F(g_widths), 1, HNTK_MAX_WIDTH, NULL,
     "widths m of g (with --g-depth 1, a plain MLP: one value, unused)", OPT_CONFIG | OPT_INCREASING},
    {"f-depth", "L", OPT_INT, F(f_depth), 2, HNTK_MAX_DEPTH, "3", "weight layers of f", OPT_CONFIG},
    {"g-depth", "H", OPT_INT, F(g_depth), 1, HNTK_MAX_DEPTH, "2",
     "weight layers of g (1: h = f, a plain MLP; needs --z-dim 1, z = 1)", OPT_CONFIG},
    {"x-dim", "n0", OPT_LONG, F(x_dim), 1, HNTK_MAX_WIDTH, "3", "dimension of x (generated inputs)", OPT_CONFIG},
    {"z-dim", "m0", OPT_LONG, F(z_dim), 1, HNTK_MAX_WIDTH, "3", "dimension of z (generated inputs)", OPT_CONFIG},
    {"train", "B", OPT_LONG, F(train), 2, MAX_INPUTS, "8",
     "generated training inputs u_b = (x_b, z_b), random directions with |x|^2 = n0, |z|^2 = m0,\n"
     "targets y_b ~ N(0,1) from the stream (inputs-seed, 0, 6002, 0)", OPT_CONFIG},
    {"test", "T", OPT_LONG, F(test), 1, MAX_INPUTS, "4",
     "generated test inputs (the rows after the training inputs of the same streams)", OPT_CONFIG},
    {"inputs", "FILE", OPT_STRING, F(inputs_file), 0, 0, NULL,
     "training set from an HDF5 file with float64 datasets x (B, n0), z (B, m0), y (B)\n"
     "(overrides --train, --x-dim, --z-dim; the test inputs stay generated)", OPT_CONFIG},
    {"inputs-seed", "S", OPT_SEED, F(inputs_seed), 0, 0, "1", "seed of the generated inputs and targets", OPT_CONFIG},
    {"samples", "N", OPT_LONG, F(samples), 8, 2147483647.0, NULL,
     "initializations per cell; cell c uses samples c*N..c*N+N-1", OPT_CONFIG},
    {"steps", "T", OPT_LONG, F(steps), 0, 1000000, "0",
     "gradient-descent steps (epochs with --sgd-batch) after t = 0 (0: dK/dt at t = 0 only)", OPT_CONFIG},
    {"sgd-batch", "b", OPT_LONG, F(sgd_batch), 0, MAX_INPUTS, "0",
     "0: full-batch GD; b > 0: minibatch SGD with batches of b (train.h's shuffles)", OPT_CONFIG},
    {"lr", "c", OPT_DOUBLE, F(lr), 1e-6, 1.99, "0.5",
     "learning rate eta = c / lambda_max(Theta^h(U,U)) (the linearized GD is stable for c < 2)", OPT_CONFIG},
    {"save-samples", NULL, OPT_FLAG, F(save_samples), 0, 0, NULL,
     "write every sample's statistics and dK_g/dt, dK_f/dt on U to /samples", OPT_CONFIG},
    GRID_RUN_SPECS(thm3_opts, "cells"),
};
#undef F

static const opt_preset PRESETS[] = {
    {"default", "6 x 5 widths (f 16..512, g 8..128), 8 training and 4 test inputs, 64 samples,\n"
                "                           100 GD steps at lr 0.5 (about 1 minute on 2 cores)",
     "f-widths=16,32,64,128,256,512 g-widths=8,16,32,64,128 samples=64 steps=100"},
    {"quick", "3 x 3 widths, 16 samples, 20 GD steps: seconds",
     "f-widths=16,64,256 g-widths=8,32,128 samples=16 steps=20"},
    {"t0", "dK/dt at t = 0 only, 7 x 6 widths (f 16..1024, g 8..256), 128 samples (minutes)",
     "f-widths=16,32,64,128,256,512,1024 g-widths=8,16,32,64,128,256 samples=128 steps=0"},
    {"mlp", "the plain-MLP case (g-depth 1, z-dim 1): f 16..2048, 64 samples, 100 GD steps\n"
            "                           (about 5 minutes on 2 cores)",
     "f-widths=16,32,64,128,256,512,1024,2048 g-widths=1 g-depth=1 z-dim=1 samples=64 steps=100"},
    {"paper", "paper scale: 9 x 8 widths (f 16..4096, g 8..1024), 8 training and 4 test inputs,\n"
              "                           256 samples, 200 GD steps at lr 0.5.  Estimated (an extrapolation from 8 samples of\n"
              "                           every cell with 0 and 4 steps): about 24 core-hours (1.7 core-s per step and sample\n"
              "                           over the grid), 12 hours on the lab's 2 cores; 1.7 GiB with 2 threads (0.8 GiB per\n"
              "                           thread at f 4096 x g 1024).  A cluster job: mpirun -np K splits the samples; Slurm:\n"
              "                           docs/cluster.md",
     "f-widths=16,32,64,128,256,512,1024,2048,4096 g-widths=8,16,32,64,128,256,512,1024 samples=256 steps=200"},
};

static const opt_command COMMAND = {
    .cmd = "thm3",
    .synopsis = "--out OUT.h5 [--quick | --t0 | --mlp | --paper] [OPTIONS]",
    .summary = "Theorem 3, second half: does the hyperkernel stay put under training only when both networks\n"
               "are wide?  Per cell of a grid of widths of f and g: dK/dt at initialization (gradient flow on\n"
               "the squared loss), exactly, as its term through g's curvature and its term through f's second\n"
               "derivative, relative to Theta^h; with --steps, the drift of K over GD/SGD training and the\n"
               "distance of the trained predictions to the linearized dynamics with K_0 and with Theta^h\n"
               "(docs/thm3.md).",
    .footer = GRID_FOOTER,
    OPTS_SPECS(SPECS),
    OPTS_PRESETS(PRESETS),
};

/* ---- per-sample statistics ---- */
enum { S_DKG, S_DKF, S_DK, S_K0DEV, S_DRIFT, S_LIN_TEST_EMP, S_LIN_TEST_ANA, S_LIN_TRAIN_EMP, S_LIN_TRAIN_ANA,
       S_LOSS0, S_LOSST, S_MOVE_TEST, S_UNSTABLE, NST };
enum { NT0 = S_DRIFT }; /* the statistics of t = 0 */
static const char *const ST_NAMES[NST] = {"dK_g", "dK_f", "dK", "K0_dev", "drift", "lin_test_emp", "lin_test_theta",
                                          "lin_train_emp", "lin_train_theta", "loss_0", "loss_T", "move_test",
                                          "lin_unstable"};
/* How a cell summarizes a statistic over its samples: 1 RMS, 0 mean, 2 median (the
 * distances to the linearized dynamics: a K_0 whose lambda_max exceeds 2 / eta makes
 * that model diverge, and one such sample would decide a mean). */
static const int ST_RMS[NST] = {1, 1, 1, 1, 0, 2, 2, 2, 2, 0, 0, 2, 0};
static const char *const ST_WHAT[NST] = {
    "RMS over samples of ||dK_g/dt(U,U)||_F / ||Theta^h(U,U)||_F, the term through g's curvature (Eq. 80)",
    "RMS over samples of ||dK_f/dt(U,U)||_F / ||Theta^h(U,U)||_F, the term through f's second derivative (Eq. 84)",
    "RMS over samples of ||dK/dt(U,U)||_F / ||Theta^h(U,U)||_F, dK/dt = dK_g/dt + dK_f/dt",
    "RMS over samples of ||K_0(U,U) - Theta^h(U,U)||_F / ||Theta^h(U,U)||_F",
    "mean over samples of ||K_T(U,U) - K_0(U,U)||_F / ||K_0(U,U)||_F after training",
    "median over samples of the RMS over test inputs of h_T - h_lin, linearized dynamics with the sample's K_0",
    "the same with the analytic Theta^h (hntk_limit_cross for the test-train block)",
    "median over samples of the RMS over training inputs of h_T - h_lin (K_0)",
    "the same with Theta^h",
    "mean over samples of the loss C = 1/2 sum_b (h(u_b) - y_b)^2 at initialization",
    "mean over samples of the loss after training",
    "median over samples of the RMS over test inputs of h_T - h_0 (how far the test predictions moved)",
    "fraction of samples with eta lambda_max(K_0(U,U)) >= 2: the linearized GD with K_0 diverges"};

/* Per thread: what a worker holds besides the pool's network, sized for one cell. */
typedef struct {
    hntk_hyper_arch arch;
    int ready;
    hntk_train *t;
    hntk_hess_ws *hs;
    double *K0, *KT, *Mg, *Mf, *h0, *hT, *r, *lin, *rr, *eig; /* eig: dsyevd's matrix, values, work */
    long *perm;
    int *iwork;
} thm3_cache;

typedef struct {
    const thm3_opts *o;
    long B, T, M;        /* training, test, all inputs */
    double *X, *Z, *y;   /* (M, x_dim), (M, z_dim), (B) */
    double *theta;       /* (B, B) Theta^h(U, U) */
    double *theta_xu;    /* (M, B): rows 0..B-1 Theta^h(U,U), then Theta^h(test, U) */
    double theta_norm, lambda_max, eta;
    uint64_t key_shuf, key_boot;
    thm3_cache *cache;   /* one per thread */
    int threads;
} thm3_data;

static hntk_hyper_arch cell_arch(const thm3_opts *o, long n, long m)
{
    hntk_hyper_arch a = {0};
    a.f_depth = o->f_depth;
    a.f_width = n;
    a.x_dim = o->x_dim;
    a.g_depth = o->g_depth;
    a.g_width = m;
    a.z_dim = o->z_dim;
    a.fourier_scale = 1.0;
    return a;
}

static void cache_free(thm3_cache *c)
{
    hntk_train_free(c->t);
    hntk_hess_ws_free(c->hs);
    free(c->K0);
    free(c->perm);
    free(c->eig);
    free(c->iwork);
    memset(c, 0, sizeof *c);
}

static size_t cache_bytes(const hntk_hyper_arch *a, long B, long M)
{
    return hntk_train_bytes(a, B) + hntk_hess_ws_bytes(a, M) + sizeof(double) * (size_t)(4 * M * M + 5 * M) +
           sizeof(long) * (size_t)B + sizeof(double) * (size_t)(EIG_DOUBLES(B)) + sizeof(int) * (size_t)EIG_INTS(B);
}

static int same_arch(const hntk_hyper_arch *a, const hntk_hyper_arch *b) { return !memcmp(a, b, sizeof *a); }

/* lambda_max of a symmetric (B, B) matrix S by LAPACK dsyevd; eig (EIG_DOUBLES(B)), iwork (EIG_INTS(B)). */
static int lambda_max_ws(const double *S, long B, long lds, double *eig, int *iwork, double *out)
{
    int n = (int)B, lwork = 1 + 6 * n + 2 * n * n, liwork = 3 + 5 * n, info = 0;
    for (long i = 0; i < B; i++) memcpy(eig + i * B, S + i * lds, sizeof(double) * (size_t)B);
    dsyevd_("N", "U", &n, eig, &n, eig + B * B, eig + B * B + B, &lwork, iwork, &liwork, &info);
    *out = eig[B * B + B - 1];
    if (info != 0) return hntk_fail(HNTK_EINVAL, "LAPACK dsyevd failed on a (%ld, %ld) kernel matrix (info = %d)", B, B, info);
    return HNTK_OK;
}

/* Size a thread's cache for the cell's architecture (once per cell and thread). */
static int cache_ready(thm3_cache *c, const hntk_hyper_arch *a, long B, long M)
{
    if (c->ready && same_arch(&c->arch, a)) return HNTK_OK;
    cache_free(c);
    int st = hntk_train_alloc(a, B, 0, &c->t);
    if (!st) st = hntk_hess_ws_alloc(a, M, 0, &c->hs);
    if (!st) {
        double *p = malloc(sizeof(double) * (size_t)(4 * M * M + 5 * M));
        c->perm = malloc(sizeof(long) * (size_t)B);
        c->eig = malloc(sizeof(double) * (size_t)EIG_DOUBLES(B));
        c->iwork = malloc(sizeof(int) * (size_t)EIG_INTS(B));
        if (!p || !c->perm || !c->eig || !c->iwork) {
            free(p);
            st = hntk_fail(HNTK_ENOMEM, "cannot allocate a worker's training scratch");
        } else {
            c->K0 = p, c->KT = p + M * M, c->Mg = p + 2 * M * M, c->Mf = p + 3 * M * M;
            p += 4 * M * M;
            c->h0 = p, c->hT = p + M, c->r = p + 2 * M, c->lin = p + 3 * M, c->rr = p + 4 * M;
        }
    }
    if (st) {
        cache_free(c);
        return st;
    }
    c->arch = *a;
    c->ready = 1;
    return HNTK_OK;
}

/* ||A||_F of the leading (B, B) block of a (M, M) matrix, or of A - C when C is given (stride B). */
static double block_norm(const double *A, long M, long B, const double *C)
{
    double s = 0.0;
    for (long i = 0; i < B; i++)
        for (long j = 0; j < B; j++) {
            double v = A[i * M + j] - (C ? C[i * B + j] : 0.0);
            s += v * v;
        }
    return sqrt(s);
}

/* The linearized dynamics over the same schedule as the network: lin (M)
 * starts at h_0; each step on the index set S (|S| = s of the B training
 * inputs, GD: all) does lin -= eta (B/s) K(:, S) (lin(S) - y(S)).  K (M, ldk):
 * column k < B is training input k. */
static void linearized(const thm3_data *d, thm3_cache *c, uint64_t key, const double *K, long ldk, double *lin)
{
    const thm3_opts *o = d->o;
    long B = d->B, M = d->M;
    memcpy(lin, c->h0, sizeof(double) * (size_t)M);
    long b = o->sgd_batch > 0 ? o->sgd_batch : B;
    for (long t = 0; t < o->steps; t++) {
        if (o->sgd_batch > 0) hntk_train_permutation(key, (uint32_t)t, B, c->perm);
        else
            for (long k = 0; k < B; k++) c->perm[k] = k;
        for (long s0 = 0; s0 < B; s0 += b) {
            long s1 = s0 + b < B ? s0 + b : B, ns = s1 - s0;
            double f = d->eta * (double)B / (double)ns;
            for (long q = s0; q < s1; q++) c->rr[q] = lin[c->perm[q]] - d->y[c->perm[q]];
            for (long i = 0; i < M; i++) {
                double s = 0.0;
                for (long q = s0; q < s1; q++) s += K[i * ldk + c->perm[q]] * c->rr[q];
                lin[i] -= f * s;
            }
        }
    }
}

static double rms_diff(const double *a, const double *b, long from, long to)
{
    double s = 0.0;
    for (long i = from; i < to; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
    return sqrt(s / (double)(to - from));
}

/* One initialization: out = [NST statistics | dK_g/dt(U,U) (B, B) | dK_f/dt(U,U) (B, B) | h_0 (M) | h_T (M) |
 * K_0 (M, M) | K_T(U,U) (B, B)] (SAMPLE_DIM; h_T and K_T NaN without training). */
static int thm3_sample(void *ctx, long sample, double *out)
{
    hntk_worker *w = ctx;
    const grid_cell *cell = w->job;
    const thm3_data *d = cell->driver;
    const thm3_opts *o = d->o;
    long B = d->B, M = d->M;
    if (w->index < 0 || w->index >= d->threads)
        return hntk_fail(HNTK_EINVAL, "worker %d has no training cache (%d threads)", w->index, d->threads);
    thm3_cache *c = &d->cache[w->index];
    int st = cache_ready(c, &cell->arch, B, M);
    if (st) return st;
    hntk_net *net = w->net;
    hntk_net_sample_weights(net, cell->key, (uint32_t)sample);
    st = hntk_net_forward(net, M, d->X, d->Z, c->h0);
    if (st) return st;
    hntk_net_backward(net);
    hntk_net_ntk_gram(net, c->K0);
    double loss0 = 0.0;
    for (long k = 0; k < M; k++) {
        c->r[k] = k < B ? c->h0[k] - d->y[k] : 0.0; /* rho: the training-set gradient */
        if (k < B) loss0 += 0.5 * c->r[k] * c->r[k];
    }
    st = hntk_hess_mixed(net, c->hs, c->r, c->Mg, c->Mf);
    if (st) return st;
    double *dg = out + NST, *df = dg + B * B, sg = 0.0, sf = 0.0, s = 0.0;
    for (long i = 0; i < B; i++)
        for (long j = 0; j < B; j++) {
            double g = -(c->Mg[i * M + j] + c->Mg[j * M + i]), f = -(c->Mf[i * M + j] + c->Mf[j * M + i]);
            dg[i * B + j] = g, df[i * B + j] = f;
            sg += g * g, sf += f * f, s += (g + f) * (g + f);
        }
    out[S_DKG] = sqrt(sg) / d->theta_norm;
    out[S_DKF] = sqrt(sf) / d->theta_norm;
    out[S_DK] = sqrt(s) / d->theta_norm;
    out[S_K0DEV] = block_norm(c->K0, M, B, d->theta) / d->theta_norm;
    out[S_LOSS0] = loss0;
    for (int k = S_DRIFT; k < NST; k++)
        if (k != S_LOSS0) out[k] = NAN;
    double *h0s = df + B * B, *hTs = h0s + M, *K0s = hTs + M, *KTs = K0s + M * M;
    memcpy(h0s, c->h0, sizeof(double) * (size_t)M);
    memcpy(K0s, c->K0, sizeof(double) * (size_t)(M * M));
    for (long i = 0; i < M; i++) hTs[i] = NAN;
    for (long i = 0; i < B * B; i++) KTs[i] = NAN;
    if (o->steps == 0) return HNTK_OK;

    /* training, from the same weights */
    hntk_net *tn = hntk_train_net(c->t);
    for (int l = 1; l <= cell->arch.f_depth; l++)
        memcpy(hntk_net_weights(tn, l), hntk_net_weights(net, l),
               sizeof(double) * (size_t)(hntk_f_layer_width(&cell->arch, l) * hntk_f_layer_width(&cell->arch, l - 1)));
    uint64_t key = hntk_rng_derive_key(d->key_shuf, (uint64_t)sample);
    for (long t = 0; t < o->steps && !st; t++)
        st = o->sgd_batch > 0 ? hntk_train_sgd_epoch(c->t, key, (uint32_t)t, B, d->X, d->Z, d->y, o->sgd_batch, d->eta, NULL)
                              : hntk_train_gd_step(c->t, B, d->X, d->Z, d->y, d->eta, NULL);
    if (st) return st;
    /* the trained network on every input (the pool's network: the same batch capacity M) */
    for (int l = 1; l <= cell->arch.f_depth; l++)
        memcpy(hntk_net_weights(net, l), hntk_net_weights(tn, l),
               sizeof(double) * (size_t)(hntk_f_layer_width(&cell->arch, l) * hntk_f_layer_width(&cell->arch, l - 1)));
    st = hntk_net_forward(net, M, d->X, d->Z, c->hT);
    if (st) return st;
    hntk_net_backward(net);
    hntk_net_ntk_gram(net, c->KT);
    double k0 = 0.0, dk = 0.0, lossT = 0.0;
    for (long i = 0; i < B; i++) {
        for (long j = 0; j < B; j++) {
            double a = c->K0[i * M + j], b = c->KT[i * M + j];
            k0 += a * a, dk += (b - a) * (b - a);
        }
        lossT += 0.5 * (c->hT[i] - d->y[i]) * (c->hT[i] - d->y[i]);
    }
    out[S_DRIFT] = sqrt(dk / k0);
    memcpy(hTs, c->hT, sizeof(double) * (size_t)M);
    for (long i = 0; i < B; i++) memcpy(KTs + i * B, c->KT + i * M, sizeof(double) * (size_t)B);
    double lmax;
    st = lambda_max_ws(c->K0, B, M, c->eig, c->iwork, &lmax);
    if (st) return st;
    out[S_UNSTABLE] = d->eta * lmax >= 2.0;
    out[S_LOSST] = lossT;
    linearized(d, c, key, c->K0, M, c->lin);
    out[S_LIN_TEST_EMP] = rms_diff(c->hT, c->lin, B, M);
    out[S_LIN_TRAIN_EMP] = rms_diff(c->hT, c->lin, 0, B);
    linearized(d, c, key, d->theta_xu, B, c->lin);
    out[S_LIN_TEST_ANA] = rms_diff(c->hT, c->lin, B, M);
    out[S_LIN_TRAIN_ANA] = rms_diff(c->hT, c->lin, 0, B);
    out[S_MOVE_TEST] = rms_diff(c->hT, c->h0, B, M);
    return HNTK_OK;
}

static void describe_cell(const void *data, long c, grid_cell *cell)
{
    const thm3_data *d = data;
    const thm3_opts *o = d->o;
    long n = o->f_widths.v[c / o->G], m = o->g_widths.v[c % o->G];
    cell->arch = cell_arch(o, n, m);
    cell->needs = (hntk_pool_needs){.batch = d->M};
    cell->samples = o->samples;
    cell->first_sample = c * o->samples;
    cell->key = o->run.seed;
    cell->sample_dim = SAMPLE_DIM(d->B, d->M);
    cell->X = d->X;
    cell->Z = d->Z;
    if (o->g_depth == 1) snprintf(cell->label, sizeof cell->label, "cell %ld/%ld (MLP n = %ld)", c + 1, o->A * o->G, n);
    else snprintf(cell->label, sizeof cell->label, "cell %ld/%ld (n = %ld, m = %ld)", c + 1, o->A * o->G, n, m);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The statistic k over samples idx (NULL: all): RMS, mean or median (scratch (N) for the median). */
static double center(const double *x, long N, long dim, int k, const long *idx, double *scratch)
{
    if (ST_RMS[k] == 2) {
        for (long i = 0; i < N; i++) scratch[i] = x[(idx ? idx[i] : i) * dim + k];
        qsort(scratch, (size_t)N, sizeof(double), cmp_double);
        return N % 2 ? scratch[N / 2] : 0.5 * (scratch[N / 2 - 1] + scratch[N / 2]);
    }
    double s = 0.0;
    for (long i = 0; i < N; i++) {
        double v = x[(idx ? idx[i] : i) * dim + k];
        s += ST_RMS[k] == 1 ? v * v : v;
    }
    s /= (double)N;
    return ST_RMS[k] == 1 ? sqrt(s) : s;
}

/* ---- per-cell values: [NST x (center, se, ci low, ci high) | samples (N x sample_dim) with --save-samples] ---- */
static int cell_values(const grid_cell *cell, const hntk_stats_moments *acc, const double *samples, double *values)
{
    (void)acc;
    const thm3_data *d = cell->driver;
    const thm3_opts *o = d->o;
    long N = cell->samples, dim = cell->sample_dim;
    int nst = o->steps > 0 ? NST : NT0;
    double *boot = malloc(sizeof(double) * (size_t)(NST * CELL_BOOT));
    double *scratch = malloc(sizeof(double) * (size_t)(N > CELL_BOOT ? N : CELL_BOOT));
    long *idx = malloc(sizeof(long) * (size_t)N);
    int st = boot && scratch && idx ? HNTK_OK : hntk_fail(HNTK_ENOMEM, "cannot allocate a cell's bootstrap");
    for (long r = 0; r < CELL_BOOT && !st; r++) {
        st = hntk_stats_bootstrap_indices(d->key_boot, r, (uint32_t)cell->index, N, N, idx);
        for (int k = 0; k < nst && !st; k++) boot[k * CELL_BOOT + r] = center(samples, N, dim, k, idx, scratch);
    }
    for (int k = 0; k < NST && !st; k++) {
        double *v = values + 4 * k;
        if (k >= nst) {
            v[0] = v[1] = v[2] = v[3] = NAN;
            continue;
        }
        double ci[2];
        v[0] = center(samples, N, dim, k, NULL, scratch);
        st = hntk_stats_bootstrap_interval(boot + k * CELL_BOOT, 1, CELL_BOOT, 0.95, 0.05, scratch, ci, &v[1]);
        v[2] = ci[0], v[3] = ci[1];
    }
    if (!st && o->save_samples) memcpy(values + 4 * NST, samples, sizeof(double) * (size_t)(N * dim));
    free(boot), free(scratch), free(idx);
    return st;
}

/* ---- the report and the file ---- */

typedef struct {
    long cells;
    double *v[NST][4];  /* (A, G): center, se, ci low, ci high */
    double *samples;    /* (A, G, N, sample_dim) with --save-samples */
    hntk_gridfit_edge e[NST][HNTK_GRIDFIT_EDGES];
} thm3_result;

static void result_free(thm3_result *r)
{
    for (int k = 0; k < NST; k++)
        for (int q = 0; q < 4; q++) free(r->v[k][q]);
    free(r->samples);
}

static void print_grid(const char *title, const thm3_opts *o, const double *v, const double *w)
{
    printf("%s\n%9s", title, "n \\ m");
    for (long g = 0; g < o->G; g++) printf(" %19ld", o->g_widths.v[g]);
    printf("\n");
    for (long a = 0; a < o->A; a++) {
        printf("%9ld", o->f_widths.v[a]);
        for (long g = 0; g < o->G; g++) {
            char buf[64];
            snprintf(buf, sizeof buf, "%.4g+-%.2g", v[a * o->G + g], w[a * o->G + g]);
            printf(" %19s", buf);
        }
        printf("\n");
    }
}

static void print_report(const thm3_opts *o, const thm3_data *d, const thm3_result *r)
{
    printf("hyperntk thm3: L=%d H=%d%s, %ld training and %ld test inputs, %ld samples per cell, seed %llu\n",
           o->f_depth, o->g_depth, o->g_depth == 1 ? " (plain MLP)" : "", d->B, d->T, o->samples,
           (unsigned long long)o->run.seed);
    printf("||Theta^h(U,U)||_F = %.6g, lambda_max = %.6g", d->theta_norm, d->lambda_max);
    if (o->steps > 0)
        printf("; %s, %ld %s, eta = %.4g / lambda_max = %.6g", o->sgd_batch > 0 ? "minibatch SGD" : "full-batch GD",
               o->steps, o->sgd_batch > 0 ? "epochs" : "steps", o->lr, d->eta);
    printf("\n\n");
    static const char *const titles[NST] = {
        "dK/dt at t = 0, term through g's curvature: RMS ||dK_g/dt||_F / ||Theta^h||_F +- bootstrap se",
        "dK/dt at t = 0, term through f's second derivative: RMS ||dK_f/dt||_F / ||Theta^h||_F",
        "dK/dt at t = 0, total: RMS ||dK/dt||_F / ||Theta^h||_F",
        "K_0 against the limit: RMS ||K_0 - Theta^h||_F / ||Theta^h||_F",
        "drift over training: mean ||K_T - K_0||_F / ||K_0||_F",
        "trained against linearized (K_0) predictions: median RMS over test inputs of h_T - h_lin",
        "trained against linearized (Theta^h) predictions: median RMS over test inputs of h_T - h_lin",
        NULL, NULL, NULL, NULL,
        "how far the test predictions moved: median RMS over test inputs of h_T - h_0",
        "fraction of samples whose K_0 makes the linearized GD diverge (eta lambda_max(K_0) >= 2)"};
    int nst = o->steps > 0 ? NST : NT0;
    for (int k = 0; k < nst; k++) {
        if (!titles[k]) continue;
        if (o->g_depth == 1 && k == S_DKG) continue;
        print_grid(titles[k], o, r->v[k][0], r->v[k][1]);
        if (k != S_UNSTABLE) grid_print_edges("  along the edges and the diagonal (log-log slopes; a floor: slope 0)", &o->f_widths,
                             &o->g_widths, r->e[k], NULL, o->G == 1 ? 2 : HNTK_GRIDFIT_EDGES); /* one g: the f axis */
        printf("\n");
    }
    if (o->steps > 0) {
        printf("loss at t = 0 and after training, mean over samples\n%9s %8s %12s %12s %14s %14s\n", "n", "m", "C_0",
               "C_T", "lin train K0", "lin train Th");
        for (long c = 0; c < r->cells; c++)
            printf("%9ld %8ld %12.4g %12.4g %14.4g %14.4g\n", o->f_widths.v[c / o->G], o->g_widths.v[c % o->G],
                   r->v[S_LOSS0][0][c], r->v[S_LOSST][0][c], r->v[S_LIN_TRAIN_EMP][0][c], r->v[S_LIN_TRAIN_ANA][0][c]);
    }
}

static int write_grid(hntk_h5 *f, const char *name, const thm3_opts *o, const double *v, const char *what)
{
    long dims[2] = {o->A, o->G};
    static const char *const scales[2] = {"f_widths", "g_widths"};
    return hntk_h5_write_scaled(f, name, 2, dims, v, what, NULL, scales);
}

static int write_results(const thm3_opts *o, const thm3_data *d, const thm3_result *r, const opts_output *out)
{
    long A = o->A, G = o->G, B = d->B, T = d->T, M = d->M, N = o->samples, dim = SAMPLE_DIM(B, M);
    hntk_h5 *f;
    int st = hntk_h5_create(o->run.out, &f);
    if (st) return st;
    long ad[1] = {A}, gd[1] = {G}, xd[2] = {B, o->x_dim}, zd[2] = {B, o->z_dim}, yd[1] = {B}, td[2] = {B, B},
         xtd[2] = {T, o->x_dim}, ztd[2] = {T, o->z_dim}, ctd[2] = {T, B};
    st = hntk_h5_write_long(f, "f_widths", 1, ad, o->f_widths.v, "widths n of f, the rows of the grid (A)");
    if (!st) st = hntk_h5_make_scale(f, "f_widths", "f width n");
    if (!st) st = hntk_h5_write_long(f, "g_widths", 1, gd, o->g_widths.v, "widths m of g, the columns of the grid (G)");
    if (!st) st = hntk_h5_make_scale(f, "g_widths", "g width m");
    int nst = o->steps > 0 ? NST : NT0;
    for (int k = 0; k < nst && !st; k++) {
        char name[96], text[400];
        st = write_grid(f, ST_NAMES[k], o, r->v[k][0], ST_WHAT[k]);
        snprintf(name, sizeof name, "%s_stderr", ST_NAMES[k]);
        snprintf(text, sizeof text, "bootstrap standard deviation of %s (200 resamples of the samples) (A, G)", ST_NAMES[k]);
        if (!st) st = write_grid(f, name, o, r->v[k][1], text);
        snprintf(name, sizeof name, "%s_ci_low", ST_NAMES[k]);
        snprintf(text, sizeof text, "lower end of the bootstrap 95%% percentile interval of %s (A, G)", ST_NAMES[k]);
        if (!st) st = write_grid(f, name, o, r->v[k][2], text);
        snprintf(name, sizeof name, "%s_ci_high", ST_NAMES[k]);
        snprintf(text, sizeof text, "upper end of the bootstrap 95%% percentile interval of %s (A, G)", ST_NAMES[k]);
        if (!st) st = write_grid(f, name, o, r->v[k][3], text);
        if (!st && k != S_K0DEV && (k < S_LIN_TRAIN_EMP || k == S_MOVE_TEST)) st = hntk_gridfit_write_edges(f, ST_NAMES[k], r->e[k], ST_NAMES[k]);
    }
    if (!st) st = hntk_h5_describe(f, "/fit", "edge and diagonal log-log slopes over the grid (gridfit.h)", NULL);
    if (!st) st = hntk_h5_attr_string(f, "/fit", "edges", HNTK_GRIDFIT_EDGE_NAMES);
    if (!st) st = hntk_h5_attr_long(f, "/fit", "tail_points", TAIL_POINTS);
    if (!st) st = hntk_h5_write_described(f, "/inputs/x", 2, xd, d->X, "training inputs x_b of f (B, x_dim)", NULL);
    if (!st) st = hntk_h5_write_described(f, "/inputs/z", 2, zd, d->Z, "training inputs z_b of g (B, z_dim)", NULL);
    if (!st) st = hntk_h5_write_described(f, "/inputs/y", 1, yd, d->y, "training targets y_b (B)", NULL);
    if (!st) st = hntk_h5_write_described(f, "/inputs/x_test", 2, xtd, d->X + B * o->x_dim, "test inputs x of f (T, x_dim)", NULL);
    if (!st) st = hntk_h5_write_described(f, "/inputs/z_test", 2, ztd, d->Z + B * o->z_dim, "test inputs z of g (T, z_dim)", NULL);
    if (!st) st = hntk_h5_write_described(f, "theta", 2, td, d->theta, "Theta^h(U, U), the analytic hyperkernel on the "
                                          "training inputs (B, B)", NULL);
    if (!st) st = hntk_h5_write_described(f, "theta_test", 2, ctd, d->theta_xu + B * B, "Theta^h(test, U), the "
                                          "analytic cross-kernel (hntk_limit_cross) (T, B)", NULL);
    if (!st) st = hntk_h5_attr_double(f, "theta", "lambda_max", d->lambda_max);
    if (!st) st = hntk_h5_attr_double(f, "/", "eta", d->eta);
    if (!st && o->save_samples) {
        long N1 = N, sd[4] = {A, G, N1, nst}, kd[4] = {A, G, N1, B * B};
        static const char *const scales[4] = {"f_widths", "g_widths", NULL, NULL};
        double *s = malloc(sizeof(double) * (size_t)(A * G * N * NST)), *kg = malloc(sizeof(double) * (size_t)(A * G * N * B * B)),
               *kf = malloc(sizeof(double) * (size_t)(A * G * N * B * B));
        if (!s || !kg || !kf) st = hntk_fail(HNTK_ENOMEM, "cannot allocate the samples");
        for (long c = 0; c < A * G && !st; c++)
            for (long i = 0; i < N; i++) {
                const double *v = r->samples + (c * N + i) * dim;
                memcpy(s + (c * N + i) * nst, v, sizeof(double) * (size_t)nst);
                memcpy(kg + (c * N + i) * B * B, v + NST, sizeof(double) * (size_t)(B * B));
                memcpy(kf + (c * N + i) * B * B, v + NST + B * B, sizeof(double) * (size_t)(B * B));
            }
        if (!st) st = hntk_h5_write_scaled(f, "/samples/stats", 4, sd, s, "every sample's statistics in sample order, "
                                           "columns in the order of the attribute columns (A, G, samples, K)", NULL, scales);
        if (!st) st = hntk_h5_attr_string(f, "/samples/stats", "columns",
                                          o->steps > 0 ? "dK_g dK_f dK K0_dev drift lin_test_emp lin_test_theta "
                                                         "lin_train_emp lin_train_theta loss_0 loss_T move_test lin_unstable"
                                                       : "dK_g dK_f dK K0_dev");
        if (!st) st = hntk_h5_write_scaled(f, "/samples/dK_g", 4, kd, kg, "dK_g/dt(U, U) at t = 0 per sample, the term "
                                           "through g's curvature, (B, B) row-major per sample (A, G, samples, B*B)", NULL, scales);
        if (!st) st = hntk_h5_write_scaled(f, "/samples/dK_f", 4, kd, kf, "dK_f/dt(U, U) at t = 0 per sample, the term "
                                           "through f's second derivative; dK/dt = dK_g + dK_f (A, G, samples, B*B)",
                                           NULL, scales);
        free(s), free(kg), free(kf);
        /* h_0, h_T (M), K_0 (M, M), K_T(U,U) (B, B) per sample */
        static const char *const nm[4] = {"/samples/h_0", "/samples/h_T", "/samples/K_0", "/samples/K_T"};
        static const char *const what[4] = {
            "h(u) at initialization on the training then the test inputs, per sample (A, G, samples, B + T)",
            "h(u) after training, likewise; NaN without --steps (A, G, samples, B + T)",
            "the empirical K^h at initialization on the training then the test inputs, (B+T, B+T) row-major per "
            "sample (A, G, samples, (B+T)^2)",
            "the empirical K^h(U, U) after training, (B, B) row-major per sample; NaN without --steps (A, G, samples, B*B)"};
        long off[4] = {NST + 2 * B * B, NST + 2 * B * B + M, NST + 2 * B * B + 2 * M, NST + 2 * B * B + 2 * M + M * M};
        long len[4] = {M, M, M * M, B * B};
        long dd[4][4] = {{A, G, N, M}, {A, G, N, M}, {A, G, N, M * M}, {A, G, N, B * B}};
        for (int q = 0; q < 4 && !st; q++) {
            double *buf = malloc(sizeof(double) * (size_t)(A * G * N * len[q]));
            if (!buf) st = hntk_fail(HNTK_ENOMEM, "cannot allocate the samples");
            for (long c = 0; c < A * G * N && !st; c++)
                memcpy(buf + c * len[q], r->samples + c * dim + off[q], sizeof(double) * (size_t)len[q]);
            if (!st) st = hntk_h5_write_scaled(f, nm[q], 4, dd[q], buf, what[q], NULL, scales);
            free(buf);
        }
    }
    return opts_commit_result(f, st, &COMMAND, o, out);
}

static int finish(const void *data, const hntk_checkpoint *ck, const opts_output *out)
{
    const thm3_data *d = data;
    const thm3_opts *o = d->o;
    long A = o->A, G = o->G, C = A * G, N = o->samples, dim = SAMPLE_DIM(d->B, d->M);
    thm3_result r = {.cells = C};
    int st = HNTK_OK;
    for (int k = 0; k < NST && !st; k++)
        for (int q = 0; q < 4 && !st; q++)
            if (!(r.v[k][q] = malloc(sizeof(double) * (size_t)C))) st = HNTK_ENOMEM;
    if (!st && o->save_samples && !(r.samples = malloc(sizeof(double) * (size_t)(C * N * dim)))) st = HNTK_ENOMEM;
    if (st) {
        result_free(&r);
        return hntk_fail(HNTK_ENOMEM, "cannot allocate the results of %ld cells", C);
    }
    for (long c = 0; c < C; c++) {
        const double *v = hntk_checkpoint_values(ck, c);
        for (int k = 0; k < NST; k++)
            for (int q = 0; q < 4; q++) r.v[k][q][c] = v[4 * k + q];
        if (o->save_samples) memcpy(r.samples + c * N * dim, v + 4 * NST, sizeof(double) * (size_t)(N * dim));
    }
    int nst = o->steps > 0 ? NST : NT0;
    for (int k = 0; k < nst && !st; k++)
        st = hntk_gridfit_edges(A, G, o->f_widths.v, o->g_widths.v, r.v[k][0], r.v[k][1], TAIL_POINTS, r.e[k]);
    if (!st) print_report(o, d, &r);
    if (!st && grid_is_root()) st = write_results(o, d, &r, out);
    result_free(&r);
    return st;
}

/* lambda_max of a symmetric (B, B) matrix (set-up only: allocates). */
static int lambda_max(const double *S, long B, double *out)
{
    double *a = malloc(sizeof(double) * (size_t)EIG_DOUBLES(B));
    int *iw = malloc(sizeof(int) * (size_t)EIG_INTS(B));
    int st = a && iw ? lambda_max_ws(S, B, B, a, iw, out) : hntk_fail(HNTK_ENOMEM, "cannot allocate the eigenvalue workspace");
    free(a), free(iw);
    return st;
}

/* The inputs: the training set (generated or from --inputs) and the generated test inputs. */
static int setup_inputs(thm3_opts *o, thm3_data *d)
{
    double *Xf = NULL, *Zf = NULL, *yf = NULL;
    long Bf = 0, xd = o->x_dim, zd = o->z_dim;
    int st = HNTK_OK;
    if (o->inputs_file) {
        st = hntk_h5_read_inputs(o->inputs_file, &Bf, &xd, &Xf, &zd, &Zf);
        long dims[1] = {0};
        if (!st) st = hntk_h5_read(o->inputs_file, "y", 1, dims, &yf);
        if (!st && dims[0] != Bf)
            st = hntk_fail(HNTK_EINVAL, "%s: dataset y has %ld entries, x and z have %ld rows: they must agree",
                           o->inputs_file, dims[0], Bf);
        if (!st && (Bf < 2 || Bf > MAX_INPUTS))
            st = hntk_fail(HNTK_EINVAL, "%s holds %ld training inputs: accepted 2..%d", o->inputs_file, Bf, MAX_INPUTS);
        if (!st) o->train = Bf, o->x_dim = xd, o->z_dim = zd;
    }
    if (!st && o->g_depth == 1 && o->z_dim != 1)
        st = hntk_fail(HNTK_EINVAL, "--g-depth 1 (a plain MLP, h = f) needs --z-dim 1 (z = 1), not %ld", o->z_dim);
    if (!st && o->g_depth == 1 && o->g_widths.n != 1)
        st = hntk_fail(HNTK_EINVAL, "--g-depth 1 (a plain MLP) has no width of g: give one --g-widths value, not %d",
                       (int)o->g_widths.n);
    if (!st && o->sgd_batch > o->train)
        st = hntk_fail(HNTK_EINVAL, "--sgd-batch %ld is larger than the %ld training inputs: accepted 0..%ld",
                       o->sgd_batch, o->train, o->train);
    long B = o->train, T = o->test, M = B + T;
    d->B = B, d->T = T, d->M = M;
    if (!st) {
        d->X = malloc(sizeof(double) * (size_t)(M * o->x_dim));
        d->Z = malloc(sizeof(double) * (size_t)(M * o->z_dim));
        d->y = malloc(sizeof(double) * (size_t)B);
        d->theta = malloc(sizeof(double) * (size_t)(B * B));
        d->theta_xu = malloc(sizeof(double) * (size_t)(M * B));
        if (!d->X || !d->Z || !d->y || !d->theta || !d->theta_xu) st = hntk_fail(HNTK_ENOMEM, "cannot allocate the inputs");
    }
    if (!st) {
        hntk_random_directions(o->inputs_seed, HNTK_TENSOR_INPUT_X, d->X, (size_t)M, (size_t)o->x_dim);
        hntk_random_directions(o->inputs_seed, HNTK_TENSOR_INPUT_Z, d->Z, (size_t)M, (size_t)o->z_dim);
        if (o->g_depth == 1)
            for (long i = 0; i < M; i++) d->Z[i] = 1.0;
        hntk_stream s;
        hntk_stream_init(&s, o->inputs_seed, 0, HNTK_TENSOR_TARGETS, 0);
        hntk_stream_normals(&s, d->y, (size_t)B);
        if (o->inputs_file) {
            memcpy(d->X, Xf, sizeof(double) * (size_t)(B * o->x_dim));
            memcpy(d->Z, Zf, sizeof(double) * (size_t)(B * o->z_dim));
            memcpy(d->y, yf, sizeof(double) * (size_t)B);
            for (long b = 0; b < B && !st; b++)
                if (!isfinite(d->y[b])) st = hntk_fail(HNTK_EINVAL, "%s: y[%ld] = %g is not finite", o->inputs_file, b, d->y[b]);
            if (!st && o->g_depth == 1)
                for (long b = 0; b < B && !st; b++)
                    if (d->Z[b] != 1.0)
                        st = hntk_fail(HNTK_EINVAL, "%s: z[%ld] = %g, but --g-depth 1 (a plain MLP) needs z = 1",
                                       o->inputs_file, b, d->Z[b]);
        }
    }
    free(Xf), free(Zf), free(yf);
    return st;
}

int hntk_cmd_thm3(int argc, char **argv)
{
    thm3_opts o;
    memset(&o, 0, sizeof o);
    opts_state state;
    int st = grid_parse(&COMMAND, argc, argv, &o, &o.run, &state);
    if (st) return st < 0 ? CLI_EXIT_OK : st;
    o.A = o.f_widths.n;
    o.G = o.g_widths.n;
    thm3_data d = {.o = &o};
    st = setup_inputs(&o, &d);
    hntk_hyper_arch widest = cell_arch(&o, o.f_widths.v[o.A - 1], o.g_widths.v[o.G - 1]);
    if (!st) st = grid_validate_widest(&widest, SAMPLER_DENSE, "--f-widths");
    long B = d.B, M = d.M;
    if (!st) st = hntk_limit_batch(&widest, HNTK_VARIANT_PAPER, B, d.X, d.Z, d.theta, NULL);
    if (!st) {
        hntk_cross_out co = {.ntk = d.theta_xu + B * B};
        st = hntk_limit_cross(&widest, HNTK_VARIANT_PAPER, d.T, d.X + B * o.x_dim, d.Z + B * o.z_dim, B, d.X, d.Z, &co);
        memcpy(d.theta_xu, d.theta, sizeof(double) * (size_t)(B * B));
    }
    if (!st) {
        double s = 0.0;
        for (long i = 0; i < B * B; i++) s += d.theta[i] * d.theta[i];
        d.theta_norm = sqrt(s);
        st = lambda_max(d.theta, B, &d.lambda_max);
        d.eta = o.lr / d.lambda_max;
        d.key_shuf = hntk_rng_derive_key(o.run.seed, KEY_SHUF);
        d.key_boot = hntk_rng_derive_key(o.run.seed, KEY_BOOT);
    }
    d.threads = hntk_mc_max_threads();
    if (!st) {
        /* the trainers and velocity workspaces the workers hold besides the pool's networks */
        size_t extra = (size_t)d.threads * cache_bytes(&widest, B, M), budget = (size_t)(o.run.budget_gib * 1073741824.0);
        if (extra > budget)
            st = hntk_fail(HNTK_EBUDGET, "the %d workers' trainers need %.3g GiB at f width %ld, over the memory budget of "
                           "%.3g GiB (--mem-budget)", d.threads, extra / 1073741824.0, widest.f_width, o.run.budget_gib);
    }
    if (!st && !(d.cache = calloc((size_t)d.threads, sizeof(thm3_cache))))
        st = hntk_fail(HNTK_ENOMEM, "cannot allocate the workers' caches");
    opts_output out = {&state, argc, argv, 0.0};
    grid_spec grid = {.cmd = CMD, .what = "cells", .cells = o.A * o.G,
                      .cell_dim = 4 * NST + (o.save_samples ? o.samples * SAMPLE_DIM(B, M) : 0), .collect = 1,
                      .sample = thm3_sample, .driver = &d, .describe = describe_cell, .values = cell_values};
    int code = grid_main(st, &grid, &COMMAND, &o, 1, &o.run, &out, finish);
    for (int t = 0; d.cache && t < d.threads; t++) cache_free(&d.cache[t]);
    free(d.cache);
    free(d.X), free(d.Z), free(d.y), free(d.theta), free(d.theta_xu);
    return code;
}
