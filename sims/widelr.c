/* widelr.c: `hyperntk widelr`: wide one-hidden-layer networks trained with a
 * learning rate that grows with the width (the appendix's section 2.2 and
 * Figure 2; Remark 1 of the main text: "wide networks train with a rate
 * o(n)"), under three parametrizations (mlp.h, docs/theory.md §8.5).
 *
 * The network: h(x) = f(x) in R^10, f of depth 2 and width n on x in R^784
 * (Fashion-MNIST, or MNIST with --data), g of depth 1 reading z = 1 with
 * g_out = 10 (docs/theory.md §1.4, §8.4); cross-entropy, minibatch SGD
 * (train.h), no biases.  The rate lr = c n^p is that of the mean loss over
 * the training images, i.e. of the minibatch mean loss in every SGD step
 * (PyTorch's SGD with reduction='mean'); the engine's eta is lr / N.
 *
 * Cell (parametrization, exponent p, width n, run r): the weights of run r
 * (the same for every parametrization and rate; meanfield scales W^2), the
 * SGD order of run r, E epochs; after every epoch the test accuracy and the
 * mean test loss; at initialization and at the end the top eigenvalue of the
 * empirical NTK of output 0 with the layer rates, divided by the number of
 * its inputs (the curvature of the mean loss's function-space step:
 * gradient descent on the squared loss diverges beyond lr = 2/lambda).
 * Cells wider than --state-width save their weights after every epoch and
 * resume from there.  Schema: docs/file-formats.md; reading: README. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gsl/gsl_eigen.h>
#include <gsl/gsl_matrix.h>

#include "cli.h"
#include "commands.h"
#include "grid.h"
#include "opts.h"
#include "hyperntk/mlp.h"

static const char *CMD = "widelr";

#define KEY_DATA 0x776964656c726474ULL /* "widelrdt": the training and test subsets */
#define KEY_NET 0x776964656c726e74ULL  /* "widelrnt": the initial weights (sample = run) */
#define KEY_SGD 0x776964656c727367ULL  /* "widelrsg": the SGD order (derive_key(that, run), epoch) */

enum { SIDE = 28, NPIX = SIDE * SIDE, NCLASS = 10, MAX_EXPS = 8 };

typedef struct {
    const char *data;
    long train_images, test_images;
    opts_list widths;
    const char *params, *exps;
    const char *scales;
    long epochs, batch, runs, ntk_inputs, state_width;
    const char *log;
    grid_run_opts run;
} widelr_opts;

#define F(field) offsetof(widelr_opts, field)
static const opt_spec SPECS[] = {
    {"data", "DIR", OPT_STRING, F(data), 0, 0, "/usr/share/datasets/fashion-mnist",
     "directory of the IDX files train-/t10k-images-idx3-ubyte[.gz] and -labels-idx1-ubyte[.gz]\n"
     "(Debian's dataset-fashion-mnist by default; MNIST's files work the same)", OPT_CONFIG},
    {"train-images", "N", OPT_LONG, F(train_images), 1, 60000, NULL,
     "training images (a random subset of the training file, the same for every cell)", OPT_CONFIG},
    {"test-images", "T", OPT_LONG, F(test_images), 1, 10000, NULL, "test images (a random subset of the test file)",
     OPT_CONFIG},
    {"widths", "LIST", OPT_LIST, F(widths), 1, 1048576, NULL, "hidden widths n", OPT_CONFIG | OPT_INCREASING},
    {"params", "LIST", OPT_STRING, F(params), 0, 0, "ntk,standard,meanfield",
     "parametrizations (comma-separated): ntk (the theory's: N(0,1) weights, 1/sqrt(fan-in)\n"
     "in the forward pass), standard (N(0,1/fan-in) weights, no factor: layer rates n_{l-1}),\n"
     "meanfield (output (1/n) sum_i a_i sigma(w_i.x/sqrt(d)): W^2 scaled by 1/sqrt(n), its rate 1/n)",
     OPT_CONFIG},
    {"lr-exponents", "LIST", OPT_STRING, F(exps), 0, 0, "0.5,1",
     "exponents p of the rates lr = c n^p (comma-separated, each in -2..2)", OPT_CONFIG},
    {"lr-scales", "LIST", OPT_STRING, F(scales), 0, 0, "1",
     "the constants c of lr = c n^p (rate of the mean loss; the engine's eta is lr/N): one for\n"
     "every exponent, or one per exponent (comma-separated, each in 1e-12..1e12)", OPT_CONFIG},
    {"epochs", "E", OPT_LONG, F(epochs), 1, 10000, NULL, "SGD epochs", OPT_CONFIG},
    {"batch", "b", OPT_LONG, F(batch), 1, 60000, "64", "minibatch size", OPT_CONFIG},
    {"runs", "R", OPT_LONG, F(runs), 1, 1000, NULL, "runs per (parametrization, rate, width): initializations and SGD orders",
     OPT_CONFIG},
    {"ntk-inputs", "B", OPT_LONG, F(ntk_inputs), 2, 4096, "256",
     "training images of the empirical NTK whose top eigenvalue is measured", OPT_CONFIG},
    {"state-width", "n", OPT_LONG, F(state_width), 1, 1e9, "50000",
     "cells of this width or wider save their weights after every epoch in\n"
     "OUT.h5.ckpt.cellK (2 x 8 n 784 bytes at the peak) and resume from the last epoch", 0},
    {"log", "FILE", OPT_STRING, F(log), 0, 0, NULL, "also append the progress lines to FILE", 0},
    GRID_RUN_SPECS(widelr_opts, "cells"),
};
#undef F

static const opt_preset PRESETS[] = {
    {"default", "widths 100, 1000, 10^4, 10000 training and 2000 test images, 5 epochs,\n"
                "                           2 runs, the 3 parametrizations, lr = n^0.5 and n^1 (about 15 min on 2 cores, estimated)",
     "widths=100,1000,10000 train-images=10000 test-images=2000 epochs=5 runs=2"},
    {"quick", "widths 100, 1000, 10^4, 3000 training and 1000 test images, 4 epochs, 2 runs:\n"
              "                           6.5 min of compute, 3.5 min on 2 cores",
     "widths=100,1000,10000 train-images=3000 test-images=1000 epochs=4 runs=2"},
    {"edge", "where training breaks: constant rates lr = 10..3000 (p = 0) for ntk and meanfield at\n"
             "                           widths 100, 1000, 10^4, 3000 training / 1000 test images, 2 epochs, 2 runs (24 min\n"
             "                           of compute, 12 min on 2 cores)",
     "widths=100,1000,10000 train-images=3000 test-images=1000 epochs=2 runs=2 params=ntk,meanfield "
     "lr-exponents=0 lr-scales=10,30,100,300,1000,3000"},
    {"paper", "the appendix's widths 100..2.5x10^5 on all 60000 training and 10000 test\n"
              "                           images, 10 epochs, 3 runs (about 2 days on 2 cores, 13.9 GiB: README)",
     "widths=100,1000,10000,250000 train-images=60000 test-images=10000 epochs=10 runs=3"},
};

static const opt_command COMMAND = {
    .cmd = "widelr",
    .synopsis = "--out OUT.h5 [--quick | --paper] [OPTIONS]",
    .summary = "Wide one-hidden-layer networks (10 outputs, cross-entropy, SGD) on Fashion-MNIST trained with\n"
               "lr = c n^p (the appendix's sqrt(n), and n to show where training breaks) in the ntk, standard\n"
               "and mean-field parametrizations: test accuracy and loss per epoch, the empirical NTK's top\n"
               "eigenvalue (the predicted breaking rate) at initialization and at the end.",
    .footer = "Resuming: after each cell the completed cells are saved atomically in OUT.h5.ckpt (and\n"
              "wide cells after each epoch, --state-width).  Interrupted (Ctrl-C, SIGTERM, SIGHUP: it\n"
              "stops after the current SGD step), the same command continues and writes the same file\n"
              "as an uninterrupted run (the wall times under /timing excepted).\n"
              "Threads: OMP_NUM_THREADS cells at once (one trainer each, BLAS on one thread); the result\n"
              "is bit-identical for any thread count.  Single process (no MPI): run the paper preset's\n"
              "widths as separate jobs (README).  Theory: docs/theory.md §8.5.",
    OPTS_SPECS(SPECS),
    OPTS_PRESETS(PRESETS),
};

/* ---- the data ---- */

typedef struct {
    const widelr_opts *o;
    long N, T, W, P, K, R, E, cells, cell_dim;
    int param[HNTK_PARAM_COUNT];
    double exps[MAX_EXPS], scale[MAX_EXPS];
    double *Xtr, *ytr, *Xte, *yte, *ones; /* (N, 784), (N), (T, 784), (T), (max(N, T)) */
    long *itr, *ite;                      /* file indices of the subsets */
    uint64_t key_net, key_sgd;
    char *config;
} widelr_data;

/* Offsets in a cell's values: per epoch 0..E accuracy, test loss, training
 * loss (NaN at 0), seconds; then the scalars. */
enum { V_LAMBDA0, V_LAMBDA1, V_DIVERGED, V_LR, V_EPOCHS_DONE, NSCAL };
static long off_acc(const widelr_data *d) { (void)d; return 0; }
static long off_loss(const widelr_data *d) { return d->E + 1; }
static long off_train(const widelr_data *d) { return 2 * (d->E + 1); }
static long off_sec(const widelr_data *d) { return 3 * (d->E + 1); }
static long off_scal(const widelr_data *d) { return 4 * (d->E + 1); }

static void cell_coords(const widelr_data *d, long c, int *p, long *k, long *w, long *r)
{
    *r = c % d->R;
    c /= d->R;
    *w = c % d->W;
    c /= d->W;
    *k = c % d->K;
    *p = d->param[c / d->K];
}

static double cell_lr(const widelr_data *d, long k, long n) { return d->scale[k] * pow((double)n, d->exps[k]); }

static double cell_cost(const widelr_data *d, long c)
{
    int p; long k, w, r;
    cell_coords(d, c, &p, &k, &w, &r);
    return (double)d->o->widths.v[w] * ((double)d->E * (2.0 * (double)d->N + (double)d->T) + 4.0 * (double)d->o->ntk_inputs);
}

static int read_idx_file(const char *dir, const char *base, int rank, hntk_idx *x)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.gz", dir, base);
    if (access(path, R_OK) != 0) snprintf(path, sizeof path, "%s/%s", dir, base);
    if (access(path, R_OK) != 0)
        return hntk_fail(HNTK_EIO, "no %s/%s.gz nor %s/%s: --data DIR must hold the IDX files of MNIST or "
                         "Fashion-MNIST (apt-get install dataset-fashion-mnist, or scripts/install-deps)", dir, base,
                         dir, base);
    return hntk_idx_read(path, rank, x);
}

/* Images of `prefix` (train or t10k): the first `want` of a random permutation,
 * each scaled to |x|^2 = 784 (docs/theory.md §1.3), labels as doubles. */
static int load_subset(widelr_data *d, const char *prefix, uint32_t which, long want, double **X, double **y, long **idx)
{
    char bi[64], bl[64];
    snprintf(bi, sizeof bi, "%s-images-idx3-ubyte", prefix);
    snprintf(bl, sizeof bl, "%s-labels-idx1-ubyte", prefix);
    hntk_idx im = {0}, lb = {0};
    int st = read_idx_file(d->o->data, bi, 3, &im);
    if (!st && (im.dims[1] != SIDE || im.dims[2] != SIDE))
        st = hntk_fail(HNTK_EFORMAT, "%s/%s: images of %ld x %ld pixels, expected 28 x 28", d->o->data, bi, im.dims[1],
                       im.dims[2]);
    if (!st) st = read_idx_file(d->o->data, bl, 1, &lb);
    if (!st && lb.dims[0] != im.dims[0])
        st = hntk_fail(HNTK_EFORMAT, "%s: %ld labels for %ld images in %s: expected one per image", d->o->data,
                       lb.dims[0], im.dims[0], bi);
    if (!st && want > im.dims[0])
        st = hntk_fail(HNTK_EINVAL, "%ld %s images asked for, but %s/%s holds %ld", want, prefix, d->o->data, bi,
                       im.dims[0]);
    long *perm = NULL;
    if (!st) {
        perm = malloc(sizeof(long) * (size_t)im.dims[0]);
        *X = malloc(sizeof(double) * (size_t)want * NPIX);
        *y = malloc(sizeof(double) * (size_t)want);
        *idx = malloc(sizeof(long) * (size_t)want);
        if (!perm || !*X || !*y || !*idx) st = hntk_fail(HNTK_ENOMEM, "cannot allocate %ld images", want);
    }
    if (!st) st = hntk_train_permutation(hntk_rng_derive_key(d->o->run.seed, KEY_DATA), which, im.dims[0], perm);
    for (long i = 0; i < want && !st; i++) {
        long j = perm[i];
        const unsigned char *q = im.data + j * NPIX;
        double s = 0.0;
        for (long p = 0; p < NPIX; p++) s += (double)q[p] * (double)q[p];
        if (lb.data[j] >= NCLASS) {
            st = hntk_fail(HNTK_EFORMAT, "%s/%s: label %d of image %ld is not a class 0..9", d->o->data, bl, lb.data[j], j);
            break;
        }
        double scale = s > 0 ? sqrt((double)NPIX / s) : 0.0;
        for (long p = 0; p < NPIX; p++) (*X)[i * NPIX + p] = scale * (double)q[p];
        (*y)[i] = (double)lb.data[j];
        (*idx)[i] = j;
    }
    free(perm);
    hntk_idx_free(&im), hntk_idx_free(&lb);
    return st;
}

static int parse_params(widelr_data *d)
{
    const char *s = d->o->params;
    d->P = 0;
    while (*s) {
        size_t len = strcspn(s, ",");
        int found = -1;
        for (int p = 0; hntk_param_names[p]; p++)
            if (strlen(hntk_param_names[p]) == len && !strncmp(s, hntk_param_names[p], len)) found = p;
        if (found < 0 || d->P >= HNTK_PARAM_COUNT)
            return hntk_fail(HNTK_EINVAL, "--params '%s': '%.*s' is not a parametrization: accepted a comma-separated list "
                             "of ntk, standard, meanfield (each once)", d->o->params, (int)len, s);
        for (long q = 0; q < d->P; q++)
            if (d->param[q] == found)
                return hntk_fail(HNTK_EINVAL, "--params '%s': %s is listed twice", d->o->params, hntk_param_names[found]);
        d->param[d->P++] = found;
        s += len;
        if (*s == ',') s++;
    }
    if (d->P == 0) return hntk_fail(HNTK_EINVAL, "--params is empty: accepted a comma-separated list of ntk, standard, meanfield");
    return HNTK_OK;
}

static int parse_list(const char *opt, const char *text, double lo, double hi, double *v, long *n)
{
    const char *p = text;
    *n = 0;
    while (*p) {
        char *end;
        double x = strtod(p, &end);
        if (end == p || !isfinite(x) || x < lo || x > hi || *n >= MAX_EXPS)
            return hntk_fail(HNTK_EINVAL, "--%s '%s': expected up to %d numbers in %g..%g separated by commas", opt, text,
                             MAX_EXPS, lo, hi);
        v[(*n)++] = x;
        p = end;
        if (*p == ',') p++;
        else if (*p) return hntk_fail(HNTK_EINVAL, "--%s '%s': expected numbers separated by commas", opt, text);
    }
    if (*n == 0) return hntk_fail(HNTK_EINVAL, "--%s is empty: expected at least one number", opt);
    return HNTK_OK;
}

/* The rates c_k n^p_k: --lr-exponents and --lr-scales of equal length, or one of them of length 1. */
static int parse_rates(widelr_data *d)
{
    double e[MAX_EXPS], c[MAX_EXPS];
    long ne = 0, nc = 0;
    int st = parse_list("lr-exponents", d->o->exps, -2, 2, e, &ne);
    if (!st) st = parse_list("lr-scales", d->o->scales, 1e-12, 1e12, c, &nc);
    if (!st && ne != nc && ne != 1 && nc != 1)
        st = hntk_fail(HNTK_EINVAL, "--lr-exponents '%s' has %ld values and --lr-scales '%s' %ld: accepted the same "
                       "number, or one of them a single value", d->o->exps, ne, d->o->scales, nc);
    d->K = ne > nc ? ne : nc;
    for (long k = 0; k < d->K && !st; k++) d->exps[k] = e[ne == 1 ? 0 : k], d->scale[k] = c[nc == 1 ? 0 : k];
    for (long k = 0; k < d->K && !st; k++)
        for (long j = 0; j < k; j++)
            if (d->exps[j] == d->exps[k] && d->scale[j] == d->scale[k])
                st = hntk_fail(HNTK_EINVAL, "the rate %g n^%g is listed twice (--lr-scales, --lr-exponents)", d->scale[k],
                               d->exps[k]);
    return st;
}

/* ---- progress (rank 0, stderr and --log) ---- */

typedef struct {
    double start, total, done, run_done;
    FILE *log;
    int tty;
} progress;

static void progress_line(progress *pr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress_line(progress *pr, const char *fmt, ...)
{
    char msg[400], eta[64] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    double el = cli_now() - pr->start, frac = pr->total > 0 ? pr->done / pr->total : 1.0;
    if (pr->run_done > 0 && pr->done < pr->total) {
        double rem = el * (pr->total - pr->done) / pr->run_done;
        snprintf(eta, sizeof eta, ", ETA %.0fm%02.0fs", floor(rem / 60), fmod(rem, 60));
    }
    fprintf(stderr, "%s: [%3.0f%%%s] %s\n", CMD, 100.0 * frac, eta, msg);
    if (pr->log) {
        fprintf(pr->log, "%s: [%.1f s, %3.0f%%%s] %s\n", CMD, el, 100.0 * frac, eta, msg);
        fflush(pr->log);
    }
}

/* ---- one cell ---- */

static char *state_path(const widelr_opts *o, long c)
{
    size_t len = strlen(o->run.out) + 40;
    char *p = malloc(len);
    if (p) snprintf(p, len, "%s.ckpt.cell%ld", o->run.out, c);
    return p;
}

static int save_state(const widelr_data *d, long c, hntk_net *net, long n, long epoch, const double *values)
{
    char *path = state_path(d->o, c);
    if (!path) return hntk_fail(HNTK_ENOMEM, "out of memory");
    hntk_h5 *f;
    int st = hntk_h5_create(path, &f);
    long d1[2] = {n, NPIX}, d2[2] = {NCLASS, n}, dv[1] = {d->cell_dim};
    if (!st) {
        st = hntk_h5_write_described(f, "W1", 2, d1, hntk_net_weights(net, 1), "W^1 after the epoch (n, 784)", NULL);
        if (!st) st = hntk_h5_write_described(f, "W2", 2, d2, hntk_net_weights(net, 2), "W^2 after the epoch (10, n)", NULL);
        if (!st) st = hntk_h5_write_described(f, "values", 1, dv, values, "the cell's values so far", NULL);
        if (!st) st = hntk_h5_attr_string(f, "/", "config", d->config);
        if (!st) st = hntk_h5_attr_long(f, "/", "cell", c);
        if (!st) st = hntk_h5_attr_long(f, "/", "epoch", epoch);
        if (!st) st = hntk_h5_commit(f);
        else hntk_h5_abort(f);
    }
    free(path);
    return st;
}

/* The saved state of cell c, if any (*epoch = 0 when none). */
static int load_state(const widelr_data *d, long c, hntk_net *net, long n, long *epoch, double *values)
{
    *epoch = 0;
    char *path = state_path(d->o, c);
    if (!path) return hntk_fail(HNTK_ENOMEM, "out of memory");
    int st = HNTK_OK;
    if (d->o->run.restart || access(path, R_OK) != 0) {
        if (d->o->run.restart) unlink(path);
        free(path);
        return HNTK_OK;
    }
    size_t cap = strlen(d->config) + 2;
    char *cfg = malloc(cap);
    long cell = -1, e = 0, dims[2];
    double *w1 = NULL, *w2 = NULL, *v = NULL;
    if (!cfg) st = hntk_fail(HNTK_ENOMEM, "out of memory");
    if (!st) st = hntk_h5_read_attr_string(path, "/", "config", cfg, cap);
    if (!st) st = hntk_h5_read_attr_long(path, "/", "cell", &cell);
    if (!st) st = hntk_h5_read_attr_long(path, "/", "epoch", &e);
    if (!st && (strcmp(cfg, d->config) != 0 || cell != c || e < 1 || e > d->E))
        st = hntk_fail(HNTK_EINVAL, "%s was written for another configuration or cell (cell %ld, epoch %ld): remove it "
                       "or run with --restart", path, cell, e);
    long w1d[2] = {n, NPIX}, w2d[2] = {NCLASS, n}, vd[1] = {d->cell_dim};
    if (!st) st = hntk_h5_read_shaped(path, "W1", 2, w1d, dims, &w1);
    if (!st) st = hntk_h5_read_shaped(path, "W2", 2, w2d, dims, &w2);
    if (!st) st = hntk_h5_read_shaped(path, "values", 1, vd, dims, &v);
    if (!st) {
        memcpy(hntk_net_weights(net, 1), w1, sizeof(double) * (size_t)n * NPIX);
        memcpy(hntk_net_weights(net, 2), w2, sizeof(double) * (size_t)n * NCLASS);
        memcpy(values, v, sizeof(double) * (size_t)d->cell_dim);
        *epoch = e;
    }
    free(cfg), free(w1), free(w2), free(v), free(path);
    return st;
}

static void remove_state(const widelr_data *d, long c)
{
    char *path = state_path(d->o, c);
    if (path) unlink(path);
    free(path);
}

/* lambda_max of K_0 / B on the first B training images (mlp.h). */
static int top_eigen(const widelr_data *d, hntk_net *net, const double rho[2], double *lambda)
{
    long B = d->o->ntk_inputs < d->N ? d->o->ntk_inputs : d->N, n = hntk_net_arch(net)->f_width;
    double *work = malloc(sizeof(double) * hntk_mlp1_ntk_work(B, n)), *K = malloc(sizeof(double) * (size_t)(B * B));
    int st = work && K ? hntk_mlp1_ntk(net, rho, 0, B, d->Xtr, work, K)
                       : hntk_fail(HNTK_ENOMEM, "cannot allocate the NTK of %ld inputs at width %ld", B, n);
    if (!st) {
        int finite = 1;
        for (long i = 0; i < B * B; i++) finite &= isfinite(K[i]) != 0;
        if (!finite) *lambda = NAN;
        else {
            gsl_matrix_view m = gsl_matrix_view_array(K, (size_t)B, (size_t)B);
            gsl_vector *ev = gsl_vector_alloc((size_t)B);
            gsl_eigen_symm_workspace *ws = gsl_eigen_symm_alloc((size_t)B);
            if (!ev || !ws) st = hntk_fail(HNTK_ENOMEM, "cannot allocate the eigensolver");
            else {
                gsl_eigen_symm(&m.matrix, ev, ws);
                double mx = gsl_vector_get(ev, 0);
                for (size_t i = 1; i < (size_t)B; i++) mx = fmax(mx, gsl_vector_get(ev, i));
                *lambda = mx / (double)B;
            }
            if (ev) gsl_vector_free(ev);
            if (ws) gsl_eigen_symm_free(ws);
        }
    }
    free(work), free(K);
    return st;
}

static int run_cell(const widelr_data *d, long c, double *values, progress *pr, const char *label)
{
    const widelr_opts *o = d->o;
    int p; long k, w, r;
    cell_coords(d, c, &p, &k, &w, &r);
    long n = o->widths.v[w], N = d->N, E = d->E, b = o->batch < N ? o->batch : N;
    double lr = cell_lr(d, k, n), eta = lr / (double)N, rho[2], w2s;
    hntk_hyper_arch a = hntk_mlp1_arch(n, NPIX, NCLASS);
    hntk_train_config cfg = {.loss = HNTK_LOSS_CROSS_ENTROPY, .batch_cap = b};
    hntk_train *t = NULL;
    long *perm = malloc(sizeof(long) * (size_t)N);
    double *Xb = malloc(sizeof(double) * (size_t)b * NPIX), *yb = malloc(sizeof(double) * (size_t)b);
    int st = perm && Xb && yb ? hntk_mlp1_param(p, n, NPIX, rho, &w2s) : hntk_fail(HNTK_ENOMEM, "out of memory");
    if (!st) st = hntk_train_alloc_config(&a, N, &cfg, 0, &t);
    hntk_net *net = st ? NULL : hntk_train_net(t);
    for (long i = 0; i < d->cell_dim; i++) values[i] = NAN;
    double *sc = values + off_scal(d);
    long e0 = 0;
    if (!st) {
        hntk_net_sample_weights(net, d->key_net, (uint32_t)r);
        st = hntk_mlp1_param_apply(t, p);
    }
    int use_state = n >= o->state_width;
    if (!st && use_state) {
        st = load_state(d, c, net, n, &e0, values);
        if (!st && e0 > 0) {
#pragma omp critical(widelr_progress)
            {
                pr->done += cell_cost(d, c) * (double)e0 / (double)E;
                progress_line(pr, "%s: resuming after epoch %ld from %s.ckpt.cell%ld", label, e0, o->run.out, c);
            }
        }
    }
    if (!st && e0 == 0) {
        sc[V_LR] = lr;
        sc[V_DIVERGED] = -1;
        st = top_eigen(d, net, rho, &sc[V_LAMBDA0]);
        double loss;
        long hits;
        double t0 = cli_now();
        if (!st) st = hntk_train_evaluate(t, d->T, d->Xte, d->ones, d->yte, &loss, &hits);
        if (!st) {
            values[off_acc(d)] = (double)hits / (double)d->T;
            values[off_loss(d)] = loss / (double)d->T;
            values[off_sec(d)] = cli_now() - t0;
            sc[V_EPOCHS_DONE] = 0;
        }
    }
    uint64_t key = hntk_rng_derive_key(d->key_sgd, (uint64_t)r);
    int diverged = sc[V_DIVERGED] >= 0;
    for (long e = e0 + 1; e <= E && !st && !diverged; e++) {
        double t0 = cli_now(), sum = 0.0, last = t0;
        long steps = 0, nsteps = (N + b - 1) / b;
        st = hntk_train_permutation(key, (uint32_t)(e - 1), N, perm);
        /* hntk_train_sgd_epoch step by step (the same operations: minibatch gradient times N/|batch|,
         * W^l -= eta rho_l G^l), so that a signal stops it between two steps */
        for (long s0 = 0; s0 < N && !st; s0 += b) {
            long bb = N - s0 < b ? N - s0 : b;
            for (long i = 0; i < bb; i++) {
                memcpy(Xb + i * NPIX, d->Xtr + perm[s0 + i] * NPIX, sizeof(double) * NPIX);
                yb[i] = d->ytr[perm[s0 + i]];
            }
            double scale = (double)N / (double)bb, cl;
            st = hntk_train_loss_grad(t, bb, Xb, d->ones, yb, scale, &cl);
            if (!st) st = hntk_train_apply(t, eta);
            sum += scale * cl;
            steps++;
            if (grid_stop_signal) st = HNTK_EINTR;
            if (!st && cli_now() - last > 30.0) {
                last = cli_now();
#pragma omp critical(widelr_progress)
                progress_line(pr, "%s: epoch %ld/%ld, step %ld/%ld", label, e, E, steps, nsteps);
            }
        }
        if (st) break;
        double loss;
        long hits;
        st = hntk_train_evaluate(t, d->T, d->Xte, d->ones, d->yte, &loss, &hits);
        if (st) break;
        values[off_acc(d) + e] = (double)hits / (double)d->T;
        values[off_loss(d) + e] = loss / (double)d->T;
        values[off_train(d) + e] = sum / (double)steps / (double)N;
        values[off_sec(d) + e] = cli_now() - t0;
        sc[V_EPOCHS_DONE] = (double)e;
        if (!isfinite(values[off_train(d) + e]) || !isfinite(values[off_loss(d) + e])) {
            sc[V_DIVERGED] = (double)e;
            diverged = 1;
        }
#pragma omp critical(widelr_progress)
        {
            pr->done += cell_cost(d, c) / (double)E, pr->run_done += cell_cost(d, c) / (double)E;
            progress_line(pr, "%s: epoch %ld/%ld: test accuracy %.4f, test loss %.4g, training loss %.4g (%.1f s)%s",
                          label, e, E, values[off_acc(d) + e], values[off_loss(d) + e], values[off_train(d) + e],
                          values[off_sec(d) + e], diverged ? ": DIVERGED (non-finite loss), stopped" : "");
        }
        if (use_state && e < E && !diverged) st = save_state(d, c, net, n, e, values);
    }
    if (!st) {
        long left = E - (long)sc[V_EPOCHS_DONE];
#pragma omp critical(widelr_progress)
        pr->done += cell_cost(d, c) * (double)left / (double)E, pr->run_done += cell_cost(d, c) * (double)left / (double)E;
        if (diverged) sc[V_LAMBDA1] = NAN;
        else st = top_eigen(d, net, rho, &sc[V_LAMBDA1]);
    }
    hntk_train_free(t);
    free(perm), free(Xb), free(yb);
    return st;
}

/* ---- results ---- */

/* The figure's name of rate k: "p0.5" when every rate has the same constant, else "c30_p0". */
static void rate_tag(const widelr_data *d, long k, char *buf, size_t cap)
{
    int same = 1;
    for (long j = 0; j < d->K; j++) same &= d->scale[j] == d->scale[0];
    if (same) snprintf(buf, cap, "p%g", d->exps[k]);
    else snprintf(buf, cap, "c%g_p%g", d->scale[k], d->exps[k]);
}

static int write_results(const widelr_data *d, const hntk_checkpoint *ck, const opts_output *out)
{
    const widelr_opts *o = d->o;
    long P = d->P, K = d->K, W = d->W, R = d->R, E1 = d->E + 1, C = d->cells;
    hntk_h5 *f;
    int st = hntk_h5_create(o->run.out, &f);
    if (st) return st;
    size_t per = (size_t)C * (size_t)E1;
    double *acc = malloc(sizeof(double) * per), *loss = malloc(sizeof(double) * per), *tr = malloc(sizeof(double) * per);
    double *sec = malloc(sizeof(double) * per), *scal = malloc(sizeof(double) * (size_t)(C * NSCAL));
    double *mean = malloc(sizeof(double) * (size_t)(P * K * W * E1) * 4), *lrs = malloc(sizeof(double) * (size_t)(K * W));
    double *fig = malloc(sizeof(double) * (size_t)(E1 * W)), *ep = malloc(sizeof(double) * (size_t)E1);
    if (!acc || !loss || !tr || !sec || !scal || !mean || !lrs || !fig || !ep) {
        st = hntk_fail(HNTK_ENOMEM, "cannot allocate the results");
        goto done;
    }
    for (long c = 0; c < C; c++) {
        const double *v = hntk_checkpoint_values(ck, c);
        for (long e = 0; e < E1; e++) {
            acc[c * E1 + e] = v[off_acc(d) + e], loss[c * E1 + e] = v[off_loss(d) + e];
            tr[c * E1 + e] = v[off_train(d) + e], sec[c * E1 + e] = v[off_sec(d) + e];
        }
        for (int s = 0; s < NSCAL; s++) scal[c * NSCAL + s] = v[off_scal(d) + s];
    }
    /* means and standard deviations over runs (NaN when any run diverged before that epoch) */
    double *am = mean, *asd = mean + P * K * W * E1, *lm = asd + P * K * W * E1, *lsd = lm + P * K * W * E1;
    for (long g = 0; g < P * K * W; g++)
        for (long e = 0; e < E1; e++) {
            double sa = 0, sl = 0, qa = 0, ql = 0;
            for (long r = 0; r < R; r++) sa += acc[(g * R + r) * E1 + e], sl += loss[(g * R + r) * E1 + e];
            sa /= (double)R, sl /= (double)R;
            for (long r = 0; r < R; r++) {
                double x = acc[(g * R + r) * E1 + e] - sa, y = loss[(g * R + r) * E1 + e] - sl;
                qa += x * x, ql += y * y;
            }
            am[g * E1 + e] = sa, lm[g * E1 + e] = sl;
            asd[g * E1 + e] = R > 1 ? sqrt(qa / (double)(R - 1)) : NAN;
            lsd[g * E1 + e] = R > 1 ? sqrt(ql / (double)(R - 1)) : NAN;
        }
    for (long k = 0; k < K; k++)
        for (long w = 0; w < W; w++) lrs[k * W + w] = cell_lr(d, k, o->widths.v[w]);
    for (long e = 0; e < E1; e++) ep[e] = (double)e;
    long dw[1] = {W}, dk[1] = {K}, dp[1] = {P}, de[1] = {E1}, dr[1] = {R};
    long d4[4] = {K, W, R, E1}, d3[3] = {K, W, R}, dm[3] = {K, W, E1}, dl[2] = {K, W};
    static const char *const s4[4] = {"/lr_exponents", "/widths", "/runs", "/epochs"};
    static const char *const s3[3] = {"/lr_exponents", "/widths", "/runs"};
    static const char *const sm[3] = {"/lr_exponents", "/widths", "/epochs"};
    long *pcodes = malloc(sizeof(long) * (size_t)P), *runs = malloc(sizeof(long) * (size_t)R);
    if (!pcodes || !runs) st = hntk_fail(HNTK_ENOMEM, "out of memory");
    for (long q = 0; q < P && !st; q++) pcodes[q] = d->param[q];
    for (long r = 0; r < R && !st; r++) runs[r] = r;
    if (!st) st = hntk_h5_write_long(f, "widths", 1, dw, o->widths.v, "hidden widths n (W)");
    if (!st) st = hntk_h5_make_scale(f, "widths", "width n");
    if (!st) st = hntk_h5_write_described(f, "lr_exponents", 1, dk, d->exps, "exponents p of the rates lr = c n^p (K)", NULL);
    if (!st) st = hntk_h5_make_scale(f, "lr_exponents", "rate exponent p");
    if (!st) st = hntk_h5_write_long(f, "params", 1, dp, pcodes, "parametrizations run (P): 0 ntk, 1 standard, 2 meanfield; "
                                     "each has its group /NAME (mlp.h, docs/theory.md §8.5)");
    if (!st) {
        const char *names[HNTK_PARAM_COUNT];
        for (long q = 0; q < P; q++) names[q] = hntk_param_names[d->param[q]];
        st = hntk_h5_attr_string_array(f, "params", "names", P, names);
    }
    if (!st) st = hntk_h5_write_long(f, "runs", 1, dr, runs, "run r: initial weights sample r, SGD order r (R)");
    if (!st) st = hntk_h5_make_scale(f, "runs", "run");
    if (!st) st = hntk_h5_write_described(f, "epochs", 1, de, ep, "epochs 0..E (0: at initialization) (E + 1)", NULL);
    if (!st) st = hntk_h5_make_scale(f, "epochs", "epoch");
    if (!st) st = hntk_h5_write_described(f, "lr_table", 2, dl, lrs, "the rates lr = c n^p (K, W)", NULL);
    const char *what[NSCAL] = {"lambda_init", "lambda_end", "diverged_epoch", "lr", "epochs_done"};
    const char *desc[NSCAL] = {
        "top eigenvalue of the empirical NTK of output 0 with the layer rates (mlp.h) on the first ntk_inputs training "
        "images, divided by their number, at initialization: GD on the mean squared loss with this kernel diverges "
        "beyond lr = 2/lambda; the cross-entropy's curvature per logit is at most 1/2, 1/C at uniform predictions "
        "(K, W, R)",
        "the same after the last epoch (NaN after a divergence) (K, W, R)",
        "the epoch whose training or test loss was not finite (training stopped there), -1 when none (K, W, R)",
        "the rate lr = c n^p of the mean loss (K, W, R)", "epochs trained (K, W, R)"};
    size_t blk = (size_t)(K * W * R), blk1 = blk * (size_t)E1;
    double *tmp = malloc(sizeof(double) * blk), *broke = malloc(sizeof(double) * blk);
    if ((!tmp || !broke) && !st) st = hntk_fail(HNTK_ENOMEM, "out of memory");
    for (long q = 0; q < P && !st; q++) {
        const char *pn = hntk_param_names[d->param[q]];
        char nm[160], ds[400];
#define NAME(x) (snprintf(nm, sizeof nm, "/%s/%s", pn, (x)), nm)
        snprintf(ds, sizeof ds, "the %s parametrization (mlp.h): datasets over (lr exponent, width, run[, epoch])", pn);
        st = hntk_h5_write_scaled(f, NAME("test_accuracy"), 4, d4, acc + q * blk1, "fraction of the test images whose "
                                  "largest output is the label, after each epoch; NaN after a divergence (K, W, R, E + 1)",
                                  NULL, s4);
        if (!st) st = hntk_h5_describe(f, (snprintf(nm, sizeof nm, "/%s", pn), nm), ds, NULL);
        if (!st) st = hntk_h5_write_scaled(f, NAME("test_loss"), 4, d4, loss + q * blk1, "mean cross-entropy over the test "
                                           "images after each epoch; NaN after a divergence (K, W, R, E + 1)", "nats", s4);
        if (!st) st = hntk_h5_write_scaled(f, NAME("train_loss"), 4, d4, tr + q * blk1, "mean over the epoch's SGD steps of "
                                           "the minibatch mean cross-entropy before each step (running estimate; NaN at "
                                           "epoch 0) (K, W, R, E + 1)", "nats", s4);
        for (int s2 = 0; s2 < NSCAL && !st; s2++) {
            for (size_t c = 0; c < blk; c++) tmp[c] = scal[(q * blk + c) * NSCAL + s2];
            st = hntk_h5_write_scaled(f, NAME(what[s2]), 3, d3, tmp, desc[s2], NULL, s3);
        }
        for (size_t c = 0; c < blk; c++) {
            const double *l = loss + (q * blk + c) * (size_t)E1;
            broke[c] = !(l[E1 - 1] < l[0]);
        }
        if (!st) st = hntk_h5_write_scaled(f, NAME("broke"), 3, d3, broke, "1 when training broke: the final test loss is "
                                           "not below the initial one (or not finite), else 0 (K, W, R)", NULL, s3);
        size_t mb = (size_t)(K * W * E1);
        if (!st) st = hntk_h5_write_scaled(f, NAME("test_accuracy_mean"), 3, dm, am + q * mb, "test_accuracy averaged over "
                                           "the runs (K, W, E + 1)", NULL, sm);
        if (!st) st = hntk_h5_write_scaled(f, NAME("test_accuracy_sd"), 3, dm, asd + q * mb, "its standard deviation over "
                                           "the runs (n - 1; NaN for one run) (K, W, E + 1)", NULL, sm);
        if (!st) st = hntk_h5_write_scaled(f, NAME("test_loss_mean"), 3, dm, lm + q * mb, "test_loss averaged over the runs "
                                           "(K, W, E + 1)", "nats", sm);
        if (!st) st = hntk_h5_write_scaled(f, NAME("test_loss_sd"), 3, dm, lsd + q * mb, "its standard deviation over the "
                                           "runs (K, W, E + 1)", "nats", sm);
        snprintf(nm, sizeof nm, "/timing/%s/epoch_seconds", pn);
        if (!st) st = hntk_h5_write_scaled(f, nm, 4, d4, sec + q * blk1, "wall seconds of each epoch (at 0: the initial "
                                           "evaluation), not reproducible (K, W, R, E + 1)", "s", s4);
#undef NAME
    }
    free(tmp), free(broke), free(pcodes), free(runs);
    /* the figure: per parametrization and exponent, (E + 1, W) matrices of the run means */
    for (long q = 0; q < P && !st; q++)
        for (long k = 0; k < K && !st; k++)
            for (int m = 0; m < 2 && !st; m++) {
                const double *src = m ? lm : am;
                for (long e = 0; e < E1; e++)
                    for (long w = 0; w < W; w++) fig[e * W + w] = src[((q * K + k) * W + w) * E1 + e];
                char name[128], tag[32], dsc[200];
                rate_tag(d, k, tag, sizeof tag);
                snprintf(name, sizeof name, "/figure/%s/%s/%s", hntk_param_names[d->param[q]], tag,
                         m ? "test_loss" : "test_accuracy");
                snprintf(dsc, sizeof dsc, "%s at lr = %g n^%g, %s parametrization: rows epochs 0..E, columns widths "
                         "(E + 1, W)", m ? "test_loss_mean" : "test_accuracy_mean", d->scale[k], d->exps[k],
                         hntk_param_names[d->param[q]]);
                long df[2] = {E1, W};
                st = hntk_h5_write_described(f, name, 2, df, fig, dsc, m ? "nats" : NULL);
            }
    if (!st) st = hntk_h5_describe(f, "/figure", "the test_accuracy_mean and test_loss_mean of each parametrization and "
                                   "exponent as (epochs, widths) matrices for gnuplot (Makefile.plots widelr)", NULL);
    long dn[1] = {d->N}, dt[1] = {d->T};
    if (!st) st = hntk_h5_write_long(f, "/data/train_index", 1, dn, d->itr, "indices in the training file of the training "
                                     "images: the first N of hntk_train_permutation(derive_key(seed, \"widelrdt\"), 0, "
                                     "60000) (N)");
    if (!st) st = hntk_h5_write_long(f, "/data/test_index", 1, dt, d->ite, "indices in the test file of the test images "
                                     "(the same permutation's epoch 1 over 10000) (T)");
    if (!st) st = hntk_h5_attr_string(f, "/data", "scaling", "x = pixel values scaled per image to |x|^2 = 784");
    if (!st) st = hntk_h5_describe(f, "/timing", "wall times, not reproducible (ignored by the comparisons)", NULL);
    if (!st) st = hntk_h5_attr_string(f, "/", "lr_convention", "lr is the rate of the mean loss over the training images "
                                      "(equivalently of each minibatch's mean loss); the engine's eta = lr / N");
    if (!st) st = hntk_h5_attr_string(f, "/", "network", "f depth 2, width n, x_dim 784; g depth 1 on z = 1, g_out 10 "
                                      "(h = f(x) in R^10); no biases; cross-entropy; SGD (train.h)");
done:
    free(acc), free(loss), free(tr), free(sec), free(scal), free(mean), free(lrs), free(fig), free(ep);
    return opts_commit_result(f, st, &COMMAND, o, out);
}

static void print_report(const widelr_data *d, const hntk_checkpoint *ck)
{
    const widelr_opts *o = d->o;
    printf("hyperntk widelr: %ld training and %ld test images of %s, %ld epochs, batch %ld, %ld run(s), lr = c n^p, "
           "c = %s (rate of the mean loss)\n", d->N, d->T, o->data, d->E, o->batch, d->R, o->scales);
    printf("%-10s %7s %5s %8s %10s %10s %16s %16s %10s %9s\n", "param", "c", "p", "n", "lr", "lambda0", "final accuracy",
           "final test loss", "best acc", "diverged");
    for (long g = 0; g < d->P * d->K * d->W; g++) {
        long c0 = g * d->R;
        int p; long k, w, r;
        cell_coords(d, c0, &p, &k, &w, &r);
        double sa = 0, sa2 = 0, sl = 0, sl2 = 0, best = 0, lam = 0;
        long div = 0;
        for (long r2 = 0; r2 < d->R; r2++) {
            const double *v = hntk_checkpoint_values(ck, c0 + r2);
            double a = v[off_acc(d) + d->E], l = v[off_loss(d) + d->E];
            sa += a, sa2 += a * a, sl += l, sl2 += l * l;
            for (long e = 0; e <= d->E; e++)
                if (v[off_acc(d) + e] > best) best = v[off_acc(d) + e];
            div += v[off_scal(d) + V_DIVERGED] >= 0;
            lam += v[off_scal(d) + V_LAMBDA0] / (double)d->R;
        }
        double R = (double)d->R, ma = sa / R, ml = sl / R;
        double sda = d->R > 1 ? sqrt(fmax(sa2 - R * ma * ma, 0) / (R - 1)) : 0, sdl = d->R > 1 ? sqrt(fmax(sl2 - R * ml * ml, 0) / (R - 1)) : 0;
        char ba[40], bl[40];
        snprintf(ba, sizeof ba, "%.4f+-%.4f", ma, sda);
        snprintf(bl, sizeof bl, "%.4g+-%.2g", ml, sdl);
        printf("%-10s %7g %5g %8ld %10.4g %10.4g %16s %16s %10.4f %6ld/%ld\n", hntk_param_names[p], d->scale[k], d->exps[k], o->widths.v[w],
               cell_lr(d, k, o->widths.v[w]), lam, ba, bl, best, div, d->R);
    }
    printf("lambda0: top eigenvalue of the empirical NTK / B at initialization (mlp.h): GD on the squared loss breaks "
           "beyond lr = 2/lambda0; the cross-entropy's curvature (<= 1/2 per logit, 1/10 at uniform predictions) "
           "moves that edge up by 4..20x\n");
}

int hntk_cmd_widelr(int argc, char **argv)
{
    widelr_opts o;
    memset(&o, 0, sizeof o);
    opts_state state;
    int st = grid_parse(&COMMAND, argc, argv, &o, &o.run, &state);
    if (st) return st < 0 ? CLI_EXIT_OK : st;
    widelr_data d = {.o = &o};
    d.N = o.train_images, d.T = o.test_images, d.W = o.widths.n, d.E = o.epochs, d.R = o.runs;
    st = parse_params(&d);
    if (!st) st = parse_rates(&d);
    if (!st && o.batch > d.N)
        st = hntk_fail(HNTK_EINVAL, "--batch %ld exceeds --train-images %ld: accepted 1..%ld", o.batch, d.N, d.N);
    d.cells = d.P * d.K * d.W * d.R;
    d.cell_dim = 4 * (d.E + 1) + NSCAL;
    int threads = hntk_mc_max_threads();
    long busy = threads < d.cells ? threads : d.cells;
    if (!st) {
        hntk_hyper_arch widest = hntk_mlp1_arch(o.widths.v[d.W - 1], NPIX, NCLASS);
        st = hntk_hyper_arch_validate(&widest);
        hntk_train_config cfg = {.loss = HNTK_LOSS_CROSS_ENTROPY, .batch_cap = o.batch};
        long n = widest.f_width, B = o.ntk_inputs;
        double bytes = (double)hntk_train_bytes_config(&widest, d.N, &cfg) + 8.0 * (double)hntk_mlp1_ntk_work(B, n) +
                       (n >= o.state_width ? 16.0 * (double)n * (NPIX + NCLASS) : 0.0);
        double data = 8.0 * (double)(d.N + d.T) * (NPIX + 2);
        if (!st && busy * bytes + data > o.run.budget_gib * 1073741824.0)
            st = hntk_fail(HNTK_EBUDGET, "%ld trainer(s) at width %ld need %.3g GiB (%.3g GiB each, with the NTK and the "
                           "epoch state) and the images %.3g GiB, over --mem-budget %.3g GiB: use fewer threads "
                           "(OMP_NUM_THREADS) or smaller widths", busy, n, (busy * bytes + data) / 1073741824.0,
                           bytes / 1073741824.0, data / 1073741824.0, o.run.budget_gib);
    }
    if (!st) st = load_subset(&d, "train", 0, d.N, &d.Xtr, &d.ytr, &d.itr);
    if (!st) st = load_subset(&d, "t10k", 1, d.T, &d.Xte, &d.yte, &d.ite);
    long mx = d.N > d.T ? d.N : d.T;
    if (!st && !(d.ones = malloc(sizeof(double) * (size_t)mx))) st = hntk_fail(HNTK_ENOMEM, "out of memory");
    for (long i = 0; i < mx && !st; i++) d.ones[i] = 1.0;
    d.key_net = hntk_rng_derive_key(o.run.seed, KEY_NET);
    d.key_sgd = hntk_rng_derive_key(o.run.seed, KEY_SGD);

    hntk_h5_install_signal_cleanup();
    grid_signals_install();
    char *ckpath = NULL;
    hntk_checkpoint *ck = NULL;
    long computed = 0, started = 0, loaded = 0;
    progress pr = {.start = cli_now()};
    if (!st) st = grid_check_out_dir(o.run.out);
    if (!st) st = opts_config_string(&COMMAND, &o, 1, &d.config);
    if (!st && !(ckpath = grid_checkpoint_path(o.run.out))) st = hntk_fail(HNTK_ENOMEM, "out of memory");
    if (!st) st = hntk_checkpoint_open(ckpath, d.config, d.cells, d.cell_dim, !o.run.restart, &ck);
    if (!st && o.log && !(pr.log = fopen(o.log, "a")))
        st = hntk_fail(HNTK_EIO, "--log %s: cannot open it for appending", o.log);
    if (!st) {
        loaded = hntk_checkpoint_cells_done(ck);
        if (loaded > 0) fprintf(stderr, "hyperntk widelr: resuming from %s: %ld of %ld cells done\n", ckpath, loaded, d.cells);
        for (long c = 0; c < d.cells; c++) {
            pr.total += cell_cost(&d, c);
            if (hntk_checkpoint_is_done(ck, c)) pr.done += cell_cost(&d, c);
        }
    }
    int fail = st, stopped = 0;
    /* cells on the threads, the costliest first (dynamic: the narrow ones fill in) */
    long *order = st ? NULL : malloc(sizeof(long) * (size_t)d.cells);
    if (!st && !order) fail = st = hntk_fail(HNTK_ENOMEM, "out of memory");
    for (long i = 0; i < (st ? 0 : d.cells); i++) {
        long j = i;
        for (; j > 0 && cell_cost(&d, order[j - 1]) < cell_cost(&d, i); j--) order[j] = order[j - 1];
        order[j] = i;
    }
#pragma omp parallel for schedule(dynamic, 1) num_threads(busy > 0 ? busy : 1)
    for (long i = 0; i < (st ? 0 : d.cells); i++) {
        long c = order[i];
        int go = 0;
#pragma omp critical(widelr_cells)
        {
            if (!hntk_checkpoint_is_done(ck, c) && !fail && !stopped && !grid_stop_signal) {
                if (o.run.stop_after >= 0 && started >= o.run.stop_after) stopped = 1;
                else go = 1, started++;
            }
        }
        if (!go) continue;
        double *values = malloc(sizeof(double) * (size_t)d.cell_dim);
        int p; long k, w, r;
        cell_coords(&d, c, &p, &k, &w, &r);
        char label[160];
        snprintf(label, sizeof label, "cell %ld/%ld (%s, n = %ld, lr = %.4g = %g n^%g, run %ld)", c + 1, d.cells,
                 hntk_param_names[p], o.widths.v[w], cell_lr(&d, k, o.widths.v[w]), d.scale[k], d.exps[k], r);
        double t0 = cli_now();
        int s = values ? run_cell(&d, c, values, &pr, label) : hntk_fail(HNTK_ENOMEM, "out of memory");
#pragma omp critical(widelr_cells)
        {
            if (!s) {
                s = hntk_checkpoint_store(ck, c, values, cli_now() - t0);
                if (!s && o.widths.v[w] >= o.state_width) remove_state(&d, c);
                computed++;
            }
            if (s == HNTK_EINTR) stopped = 1;
            else if (s && !fail) {
                fail = s;
                cli_report(CMD, s);
            }
        }
        free(values);
    }
    int code;
    if (fail) code = fail == st ? cli_report(CMD, st) : CLI_EXIT_FAILURE;
    else if (stopped || grid_stop_signal || hntk_checkpoint_cells_done(ck) < d.cells) {
        grid_report_stop(CMD, computed, o.run.stop_after, hntk_checkpoint_cells_done(ck), d.cells, "cells", ckpath);
        code = GRID_EXIT_INCOMPLETE;
    } else {
        print_report(&d, ck);
        opts_output out = {&state, argc, argv, hntk_checkpoint_seconds(ck)};
        st = write_results(&d, ck, &out);
        if (!st) st = hntk_checkpoint_remove(ck);
        if (!st) grid_print_wrote(o.run.out, out.wall, threads, loaded);
        code = st ? cli_report(CMD, st) : CLI_EXIT_OK;
    }
    if (pr.log) fclose(pr.log);
    free(order);
    hntk_checkpoint_free(ck);
    free(ckpath), free(d.config);
    free(d.Xtr), free(d.ytr), free(d.Xte), free(d.yte), free(d.ones), free(d.itr), free(d.ite);
    if (code == GRID_EXIT_INCOMPLETE) grid_die_if_signalled();
    return code;
}
