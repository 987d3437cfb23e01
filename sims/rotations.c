/* rotations.c: `hyperntk rotations`: the rotation-prediction sensitivity study of
 * the appendix's section 2.1 (docs/theory.md §9.2, docs/rotations.md).
 *
 * Task: an image I of the data (Fashion-MNIST by default); a1, a2 uniform on
 * [0, 360) degrees, redrawn on every access; x = I rotated by a1 (read by f),
 * z = I rotated by a1 + a2 (read by g), both 784 pixels (rotate.h: bilinear
 * about the centre, fill 0) times one constant (mean |x|^2 = 784 over the
 * first training images); label = the multiple of 360/K degrees nearest to a2
 * (K = 12 classes, 345..360 wraps to 0).  Cross-entropy, plain SGD with
 * minibatches, rate mu of the minibatch MEAN loss (the engine's gradient is
 * of the summed loss: each step applies mu / |batch|).  f: depth 4, width 200;
 * g: depths x widths, K outputs.  Parametrizations: ntk (the theory's model,
 * docs/theory.md §1) or standard (the authors': stdparam.h); biases with --bias.
 *
 * Cell (g depth, g width, lr), samples = runs 0..R-1 (grid.h: threads and MPI
 * ranks share the runs of a cell; the checkpoint after every cell).  Run r is
 * a function of (seed, r) only: its initial weights (sample r of "rotatnet"),
 * its SGD order (hntk_train_permutation under derive_key("rotatshf", r)), its
 * angles (stream (derive_key("rotatang", e + 1), r, 6100, image) in epoch e,
 * (derive_key("rotatang", 0), r, 6100, test image) for the fixed test angles);
 * the same for every cell, so the cells differ only in g and the rate.
 * Per run and epoch: test accuracy and loss on the test images (after epoch
 * 0..E), the running training loss and accuracy.  A run whose loss becomes
 * non-finite stops (NaN afterwards); the summaries count it at chance, 1/K.
 * Schema: docs/file-formats.md. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "grid.h"
#include "opts.h"
#include "hyperntk/rotate.h"
#include "hyperntk/stdparam.h"

static const char *CMD = "rotations";

#define KEY_NET 0x726f7461746e6574ULL /* "rotatnet" */
#define KEY_SHUF 0x726f746174736866ULL /* "rotatshf" */
#define KEY_ANG 0x726f74617461676eULL /* "rotatang" */

enum { SIDE = 28, NPIX = SIDE * SIDE, MAX_LIST = 16 };
enum { P_NTK = 0, P_STANDARD = 1 };
static const char *const param_choices[] = {"ntk", "standard", NULL};

typedef struct {
    const char *data;
    int param;
    int bias;
    int f_depth;
    long f_width;
    opts_list g_depths, g_widths, lr_exps;
    long runs, epochs, train_images, test_images, batch, classes;
    grid_run_opts run;
} rot_opts;

#define F(field) offsetof(rot_opts, field)
static const opt_spec SPECS[] = {
    {"data", "DIR", OPT_STRING, F(data), 0, 0, "/usr/share/datasets/fashion-mnist",
     "directory of the IDX files train-images-idx3-ubyte[.gz] and t10k-images-idx3-ubyte[.gz]\n"
     "(Debian's dataset-fashion-mnist; MNIST's files work the same)", OPT_CONFIG},
    {"parametrization", "P", OPT_CHOICE, F(param), 0, 0, "standard",
     "standard: the authors' (weights N(0, 1/fan-in), no 1/sqrt in f nor in g; stdparam.h);\n"
     "ntk: the theory's model (docs/theory.md §1).  Both without biases unless --bias", OPT_CONFIG, param_choices},
    {"bias", NULL, OPT_FLAG, F(bias), 0, 0, NULL,
     "add a bias to every layer of f and of g (as the authors did; bias scale 1, g's biases are outputs\n"
     "of f; standard: N(0, 1/fan-in) at initialization, ntk: N(0, 1); docs/theory.md §8.4, stdparam.h)", OPT_CONFIG},
    {"f-depth", "L", OPT_INT, F(f_depth), 2, HNTK_MAX_DEPTH, "4", "weight layers of f", OPT_CONFIG},
    {"f-width", "n", OPT_LONG, F(f_width), 1, 100000, "200", "hidden width of f", OPT_CONFIG},
    {"g-depths", "LIST", OPT_LIST, F(g_depths), 2, HNTK_MAX_DEPTH, NULL, "weight layers H of g", OPT_CONFIG, NULL, 1,
     MAX_LIST},
    {"g-widths", "LIST", OPT_LIST, F(g_widths), 1, 100000, NULL, "hidden widths m of g", OPT_CONFIG | OPT_INCREASING,
     NULL, 1, MAX_LIST},
    {"lr-exponents", "LIST", OPT_LIST, F(lr_exps), -12, 3, NULL,
     "learning rates mu = 10^j of the minibatch mean loss, j in LIST", OPT_CONFIG | OPT_INCREASING, NULL, 1,
     MAX_LIST},
    {"runs", "R", OPT_LONG, F(runs), 2, 100000, NULL, "independent runs per cell (run r: initialization, order and\n"
     "angles of (seed, r), the same in every cell)", OPT_CONFIG},
    {"epochs", "E", OPT_LONG, F(epochs), 1, 10000, NULL, "SGD epochs over the training images", OPT_CONFIG},
    {"train-images", "N", OPT_LONG, F(train_images), 1, 60000, NULL, "training images (the first N of the file)",
     OPT_CONFIG},
    {"test-images", "T", OPT_LONG, F(test_images), 1, 10000, NULL, "test images (the first T of t10k)", OPT_CONFIG},
    {"batch", "b", OPT_LONG, F(batch), 1, 4096, "32", "SGD minibatch size (the appendix does not state it)",
     OPT_CONFIG},
    {"classes", "K", OPT_LONG, F(classes), 2, 360, "12", "angle classes: the nearest multiple of 360/K degrees",
     OPT_CONFIG},
    GRID_RUN_SPECS(rot_opts, "cells"),
};
#undef F

#define QUICK_HELP "the theory's parametrization (ntk), where the task trains at this scale: g depths\n" \
                   "                           3, 8, widths 25, 50, 100, mu = 10^-1..10^1, 2 runs, 4 epochs on 2000\n" \
                   "                           training and 500 test images (about 15 minutes on 2 shared cores)"
#define QUICK_SETTINGS "parametrization=ntk g-depths=3,8 g-widths=25,50,100 lr-exponents=-1,0,1 runs=2 epochs=4 " \
                       "train-images=2000 test-images=500"
static const opt_preset PRESETS[] = {
    {"default", "the same as --quick", QUICK_SETTINGS},
    {"quick", QUICK_HELP, QUICK_SETTINGS},
    {"standard", "the authors' standard parametrization at a small scale: g depths 3, 8, widths 50, 100,\n"
                 "                           200, mu = 10^-7..10^-5 (where it trains at all), 2 runs, 3 epochs on 1000\n"
                 "                           training and 500 test images (about 7 CPU-minutes)",
     "parametrization=standard g-depths=3,8 g-widths=50,100,200 lr-exponents=-7,-6,-5 runs=2 epochs=3 "
     "train-images=1000 test-images=500"},
    {"paper", "the appendix (standard parametrization): g depths 3, 6, 8, widths 50, 100, 200,\n"
              "                           mu = 10^-7..1, 100 runs, 40 epochs, 60000/10000 images (core-years: a\n"
              "                           cluster job, docs/rotations.md)",
     "parametrization=standard g-depths=3,6,8 g-widths=50,100,200 lr-exponents=-7,-6,-5,-4,-3,-2,-1,0 runs=100 "
     "epochs=40 train-images=60000 test-images=10000"},
};

static const opt_command COMMAND = {
    .cmd = "rotations",
    .synopsis = "--out OUT.h5 [--quick | --standard | --paper] [OPTIONS]",
    .summary = "The appendix's rotation-prediction sensitivity study (section 2.1): f reads an image rotated by\n"
               "a1, g the image rotated by a1 + a2, the class is a2 to the nearest 30 degrees; test accuracy\n"
               "after SGD against the learning rate, per depth and width of g, mean and standard deviation\n"
               "over runs (docs/rotations.md).  The default is the quick preset (--quick names it).",
    .footer = GRID_FOOTER,
    OPTS_SPECS(SPECS),
    OPTS_PRESETS(PRESETS),
};

/* ---- the data and the run's layout ---- */

typedef struct {
    const rot_opts *o;
    double *train, *test; /* (N, 784), (T, 784): pixels / 255 times scale */
    double scale;
    long Hn, Wn, Ln, D;   /* depths, widths, rates; statistics per run */
    uint64_t key_net, key_shuf, key_ang;
} rot_data;

/* Per run: [test_acc (E+1) | test_loss (E+1) | train_loss (E) | train_acc (E) | diverged epoch (1)] */
static long run_dim(long E) { return 4 * E + 3; }

static hntk_hyper_arch cell_arch(const rot_opts *o, long H, long m)
{
    hntk_hyper_arch a = {.f_depth = o->f_depth, .f_width = o->f_width, .x_dim = NPIX, .g_depth = (int)H,
                         .g_width = m, .z_dim = NPIX, .fourier_scale = 1.0, .g_out = o->classes,
                         .bias_scale = o->bias ? 1.0 : 0.0};
    return a;
}

static void cell_index(const rot_data *d, long c, long *h, long *w, long *l)
{
    *l = c % d->Ln;
    *w = (c / d->Ln) % d->Wn;
    *h = c / (d->Ln * d->Wn);
}

/* The pair (x, z) and the label of image `img` of `pix` under stream key `key`, run r. */
static void make_pair(const rot_data *d, const double *pix, uint64_t key, long run, long img, double *x, double *z,
                      double *label)
{
    hntk_stream s;
    double u[2];
    hntk_stream_init(&s, key, (uint32_t)run, HNTK_TENSOR_ROTATION, (uint32_t)img);
    hntk_stream_uniforms(&s, u, 2);
    double a1 = 360.0 * u[0], a2 = 360.0 * u[1];
    hntk_rotate_image(pix + img * NPIX, SIDE, SIDE, a1, x);
    hntk_rotate_image(pix + img * NPIX, SIDE, SIDE, a1 + a2, z);
    *label = (double)hntk_rotation_label(a2, (int)d->o->classes);
}

static size_t run_bytes(const rot_opts *o, const hntk_hyper_arch *a)
{
    hntk_train_config cfg = {.loss = HNTK_LOSS_CROSS_ENTROPY, .batch_cap = o->batch};
    return hntk_train_bytes_config(a, o->train_images, &cfg) +
           sizeof(double) * (size_t)(o->batch * (2 * NPIX + 1)) + sizeof(long) * (size_t)o->train_images;
}

/* Test accuracy and mean loss of the network on the T test images (fixed angles of run r). */
static int evaluate(const rot_data *d, hntk_train *t, long run, double *X, double *Z, double *y, double *acc,
                    double *loss)
{
    const rot_opts *o = d->o;
    uint64_t key = hntk_rng_derive_key(d->key_ang, 0);
    long T = o->test_images, right = 0;
    double sum = 0.0;
    for (long s = 0; s < T; s += o->batch) {
        long b = T - s < o->batch ? T - s : o->batch, k;
        for (long i = 0; i < b; i++) make_pair(d, d->test, key, run, s + i, X + i * NPIX, Z + i * NPIX, y + i);
        double c;
        int st = hntk_train_evaluate(t, b, X, Z, y, &c, &k);
        if (st) return st;
        sum += c, right += k;
    }
    *acc = (double)right / (double)T;
    *loss = sum / (double)T;
    return HNTK_OK;
}

/* One run: train from (seed, run) and record its statistics. */
static int rot_sample(void *ctx, long run, double *out)
{
    hntk_worker *wk = ctx;
    const grid_cell *cell = wk->job;
    const rot_data *d = cell->driver;
    const rot_opts *o = d->o;
    long hi, wi, li, E = o->epochs, N = o->train_images, K = o->classes, B = o->batch;
    cell_index(d, cell->index, &hi, &wi, &li);
    double mu = pow(10.0, (double)o->lr_exps.v[li]);
    double *test_acc = out, *test_loss = out + E + 1, *train_loss = out + 2 * (E + 1), *train_acc = train_loss + E;
    double *div = train_acc + E;
    for (long k = 0; k < run_dim(E); k++) out[k] = NAN;
    *div = 0.0;
    hntk_train_config cfg = {.loss = HNTK_LOSS_CROSS_ENTROPY, .batch_cap = B};
    hntk_train *t = NULL;
    double *X = malloc(sizeof(double) * (size_t)(B * NPIX)), *Z = malloc(sizeof(double) * (size_t)(B * NPIX));
    double *y = malloc(sizeof(double) * (size_t)B);
    long *perm = malloc(sizeof(long) * (size_t)N);
    int st = X && Z && y && perm ? hntk_train_alloc_config(&cell->arch, N, &cfg, 0, &t)
                                 : hntk_fail(HNTK_ENOMEM, "cannot allocate a run's minibatch");
    if (!st) {
        hntk_net_sample_weights(hntk_train_net(t), d->key_net, (uint32_t)run);
        if (o->param == P_STANDARD) st = hntk_stdparam_init(t);
    }
    if (!st) st = evaluate(d, t, run, X, Z, y, &test_acc[0], &test_loss[0]);
    uint64_t key_order = hntk_rng_derive_key(d->key_shuf, (uint64_t)run);
    for (long e = 0; e < E && !st; e++) {
        uint64_t key_e = hntk_rng_derive_key(d->key_ang, (uint64_t)e + 1);
        st = hntk_train_permutation(key_order, (uint32_t)e, N, perm);
        double lsum = 0.0;
        long right = 0;
        int bad = 0;
        for (long s = 0; s < N && !st && !bad; s += B) {
            long b = N - s < B ? N - s : B;
            for (long i = 0; i < b; i++) make_pair(d, d->train, key_e, run, perm[s + i], X + i * NPIX, Z + i * NPIX, y + i);
            double c;
            st = hntk_train_loss_grad(t, b, X, Z, y, 1.0, &c); /* the gradient of the summed minibatch loss */
            if (st) break;
            if (!isfinite(c)) {
                bad = 1;
                break;
            }
            lsum += c;
            const double *r = hntk_train_residuals(t); /* softmax - e_y: argmax of r + e_y is the prediction */
            for (long i = 0; i < b; i++) {
                long best = 0, lab = (long)y[i];
                double bv = r[i * K] + (lab == 0);
                for (long k = 1; k < K; k++) {
                    double v = r[i * K + k] + (lab == k);
                    if (v > bv) bv = v, best = k;
                }
                right += best == lab;
            }
            /* SGD on the minibatch mean loss with rate mu: mu / b times the summed loss's gradient */
            st = o->param == P_STANDARD ? hntk_stdparam_apply(t, mu / (double)b) : hntk_train_apply(t, mu / (double)b);
        }
        if (st) break;
        if (bad) {
            *div = (double)(e + 1);
            break;
        }
        train_loss[e] = lsum / (double)N;
        train_acc[e] = (double)right / (double)N;
        st = evaluate(d, t, run, X, Z, y, &test_acc[e + 1], &test_loss[e + 1]);
        if (!st && !(isfinite(test_loss[e + 1]))) {
            *div = (double)(e + 1);
            test_acc[e + 1] = test_loss[e + 1] = NAN;
            break;
        }
    }
    hntk_train_free(t);
    free(X), free(Z), free(y), free(perm);
    return st;
}

static void describe_cell(const void *data, long c, grid_cell *cell)
{
    const rot_data *d = data;
    const rot_opts *o = d->o;
    long hi, wi, li;
    cell_index(d, c, &hi, &wi, &li);
    long H = o->g_depths.v[hi], m = o->g_widths.v[wi];
    cell->arch = cell_arch(o, H, m);
    cell->needs = (hntk_pool_needs){.batch = 1};
    cell->samples = o->runs;
    cell->first_sample = 0;
    cell->key = d->key_net;
    cell->sample_dim = d->D;
    cell->own_bytes = run_bytes(o, &cell->arch);
    /* per run: 3 passes over the training images per epoch, 1 over the test images per evaluation */
    cell->cost = (double)hntk_param_count(&cell->arch) *
                 (3.0 * (double)o->epochs * (double)o->train_images + (double)(o->epochs + 1) * (double)o->test_images);
    snprintf(cell->label, sizeof cell->label, "cell %ld/%ld (H = %ld, m = %ld, mu = 1e%ld)", c + 1,
             d->Hn * d->Wn * d->Ln, H, m, o->lr_exps.v[li]);
}

static int cell_values(const grid_cell *cell, const hntk_stats_moments *acc, const double *samples, double *values)
{
    (void)acc;
    memcpy(values, samples, sizeof(double) * (size_t)(cell->samples * cell->sample_dim));
    return HNTK_OK;
}

/* ---- the result ---- */

/* mean and sample standard deviation of v[k stride], k < n */
static void mean_sd(const double *v, long n, long stride, double *mean, double *sd)
{
    double m = 0.0, s = 0.0;
    for (long k = 0; k < n; k++) m += v[k * stride];
    m /= (double)n;
    for (long k = 0; k < n; k++) s += (v[k * stride] - m) * (v[k * stride] - m);
    *mean = m;
    *sd = n > 1 ? sqrt(s / (double)(n - 1)) : 0.0;
}

static int finish(const void *data, const hntk_checkpoint *ck, const opts_output *out)
{
    const rot_data *d = data;
    const rot_opts *o = d->o;
    long Hn = d->Hn, Wn = d->Wn, Ln = d->Ln, R = o->runs, E = o->epochs, D = d->D, C = Hn * Wn * Ln;
    double chance = 1.0 / (double)o->classes;
    size_t nr = (size_t)(C * R);
    double *tacc = malloc(sizeof(double) * nr * (size_t)(E + 1)), *tloss = malloc(sizeof(double) * nr * (size_t)(E + 1));
    double *trl = malloc(sizeof(double) * nr * (size_t)E), *tra = malloc(sizeof(double) * nr * (size_t)E);
    double *dive = malloc(sizeof(double) * nr), *filled = malloc(sizeof(double) * (size_t)R);
    double *fmean = malloc(sizeof(double) * (size_t)C), *fsd = malloc(sizeof(double) * (size_t)C);
    double *emean = malloc(sizeof(double) * (size_t)(C * (E + 1))), *esd = malloc(sizeof(double) * (size_t)(C * (E + 1)));
    double *lmean = malloc(sizeof(double) * (size_t)(C * E)), *ndiv = malloc(sizeof(double) * (size_t)C);
    double *fig_lr = malloc(sizeof(double) * (size_t)(C * 7)), *fig_ep = malloc(sizeof(double) * (size_t)(C * (E + 1) * 7));
    double *lrs = malloc(sizeof(double) * (size_t)Ln);
    int st = tacc && tloss && trl && tra && dive && filled && fmean && fsd && emean && esd && lmean && ndiv && fig_lr &&
                     fig_ep && lrs
                 ? HNTK_OK
                 : hntk_fail(HNTK_ENOMEM, "cannot allocate the results of %ld cells", C);
    for (long l = 0; l < Ln && !st; l++) lrs[l] = pow(10.0, (double)o->lr_exps.v[l]);
    for (long c = 0; c < C && !st; c++) {
        const double *v = hntk_checkpoint_values(ck, c);
        long hi, wi, li;
        cell_index(d, c, &hi, &wi, &li);
        ndiv[c] = 0;
        for (long r = 0; r < R; r++) {
            const double *s = v + r * D;
            memcpy(tacc + (c * R + r) * (E + 1), s, sizeof(double) * (size_t)(E + 1));
            memcpy(tloss + (c * R + r) * (E + 1), s + E + 1, sizeof(double) * (size_t)(E + 1));
            memcpy(trl + (c * R + r) * E, s + 2 * (E + 1), sizeof(double) * (size_t)E);
            memcpy(tra + (c * R + r) * E, s + 2 * (E + 1) + E, sizeof(double) * (size_t)E);
            dive[c * R + r] = s[D - 1];
            ndiv[c] += s[D - 1] > 0;
        }
        for (long e = 0; e <= E; e++) {
            for (long r = 0; r < R; r++) {
                double a = tacc[(c * R + r) * (E + 1) + e];
                filled[r] = isfinite(a) ? a : chance;
            }
            mean_sd(filled, R, 1, &emean[c * (E + 1) + e], &esd[c * (E + 1) + e]);
            double *row = fig_ep + (c * (E + 1) + e) * 7;
            row[0] = (double)o->g_depths.v[hi], row[1] = (double)o->g_widths.v[wi], row[2] = lrs[li], row[3] = (double)e;
            row[4] = emean[c * (E + 1) + e], row[5] = esd[c * (E + 1) + e], row[6] = ndiv[c];
        }
        fmean[c] = emean[c * (E + 1) + E], fsd[c] = esd[c * (E + 1) + E];
        for (long e = 0; e < E; e++) {
            double s = 0.0;
            long n = 0;
            for (long r = 0; r < R; r++) {
                double x = trl[(c * R + r) * E + e];
                if (isfinite(x)) s += x, n++;
            }
            lmean[c * E + e] = n ? s / (double)n : NAN;
        }
        double *row = fig_lr + c * 7;
        row[0] = (double)o->g_depths.v[hi], row[1] = (double)o->g_widths.v[wi], row[2] = lrs[li];
        row[3] = fmean[c], row[4] = fsd[c], row[5] = fsd[c] / sqrt((double)R), row[6] = ndiv[c];
    }
    /* the report */
    if (!st) {
        printf("hyperntk rotations: %s parametrization (%s), f depth %d width %ld; %ld runs x %ld epochs on %ld "
               "training and %ld test images, batch %ld, %ld classes (chance %.4f)\n",
               param_choices[o->param], o->bias ? "with biases" : "no biases", o->f_depth, o->f_width, R, E, o->train_images, o->test_images, o->batch,
               o->classes, chance);
        printf("test accuracy after %ld epochs, mean +- sd over runs (diverged runs counted at chance; [k]: k diverged)\n",
               E);
        for (long hi = 0; hi < Hn; hi++) {
            printf("\ng depth %ld\n%8s", o->g_depths.v[hi], "m \\ mu");
            for (long l = 0; l < Ln; l++) {
                char h[32];
                snprintf(h, sizeof h, "1e%ld", o->lr_exps.v[l]);
                printf("  %17s", h);
            }
            printf("\n");
            for (long wi = 0; wi < Wn; wi++) {
                printf("%8ld", o->g_widths.v[wi]);
                for (long l = 0; l < Ln; l++) {
                    long c = (hi * Wn + wi) * Ln + l;
                    char buf[64];
                    if (ndiv[c] > 0) snprintf(buf, sizeof buf, "%.4f+-%.4f[%ld]", fmean[c], fsd[c], (long)ndiv[c]);
                    else snprintf(buf, sizeof buf, "%.4f+-%.4f", fmean[c], fsd[c]);
                    printf("  %17s", buf);
                }
                printf("\n");
            }
        }
        /* the claims: wider g better at every rate that trains; deeper g lower */
        printf("\nclaim 1 (f fixed, g wider -> higher test accuracy, at every rate that trains: best width's mean > "
               "chance + 0.02):\n");
        for (long hi = 0; hi < Hn; hi++)
            for (long l = 0; l < Ln; l++) {
                double best = 0.0;
                int mono = 1;
                for (long wi = 0; wi < Wn; wi++) {
                    long c = (hi * Wn + wi) * Ln + l;
                    if (fmean[c] > best) best = fmean[c];
                    if (wi > 0 && !(fmean[c] > fmean[c - Ln])) mono = 0;
                }
                if (best <= chance + 0.02) continue;
                printf("  H = %ld, mu = 1e%ld: %s (", o->g_depths.v[hi], o->lr_exps.v[l], mono ? "increases" : "does not increase");
                for (long wi = 0; wi < Wn; wi++) {
                    long c = (hi * Wn + wi) * Ln + l;
                    printf("%s%ld: %.4f +- %.4f", wi ? ", " : "", o->g_widths.v[wi], fmean[c], fsd[c] / sqrt((double)R));
                }
                printf("; +- standard errors)\n");
            }
        if (Hn > 1) {
            printf("claim 2 (deeper g -> lower final accuracy): cells (m, mu) where accuracy falls with every added depth:\n");
            long held = 0, tested = 0;
            for (long wi = 0; wi < Wn; wi++)
                for (long l = 0; l < Ln; l++) {
                    int falls = 1, trains = 0;
                    for (long hi = 0; hi < Hn; hi++) {
                        long c = (hi * Wn + wi) * Ln + l;
                        if (fmean[c] > chance + 0.02) trains = 1;
                        if (hi > 0 && !(fmean[c] < fmean[c - Wn * Ln])) falls = 0;
                    }
                    if (!trains) continue;
                    tested++, held += falls;
                }
            printf("  %ld of %ld trained (m, mu) cells\n", held, tested);
        }
    }
    if (!st && grid_is_root()) {
        hntk_h5 *f;
        st = hntk_h5_create(o->run.out, &f);
        if (st) goto done;
        long dh[1] = {Hn}, dw[1] = {Wn}, dl[1] = {Ln};
        long d5[3] = {C, R, E + 1}, d5t[3] = {C, R, E}, d4[2] = {C, R}, dc[1] = {C};
        long d3[3] = {Hn, Wn, Ln}, d4e[4] = {Hn, Wn, Ln, E + 1}, d4t[4] = {Hn, Wn, Ln, E};
        long dfl[2] = {C, 7}, dfe[2] = {C * (E + 1), 7};
        static const char *const sc[4] = {"g_depths", "g_widths", "learning_rates", NULL};
        double *cd = malloc(sizeof(double) * (size_t)(3 * C));
        if (!cd) st = hntk_fail(HNTK_ENOMEM, "out of memory");
        for (long c = 0; c < C && cd; c++) {
            long hi, wi, li;
            cell_index(d, c, &hi, &wi, &li);
            cd[c] = (double)o->g_depths.v[hi], cd[C + c] = (double)o->g_widths.v[wi], cd[2 * C + c] = lrs[li];
        }
        if (!st) st = hntk_h5_write_long(f, "g_depths", 1, dh, o->g_depths.v, "depths H of g (weight layers) (G_depths)");
        if (!st) st = hntk_h5_make_scale(f, "g_depths", "g depth H");
        if (!st) st = hntk_h5_write_long(f, "g_widths", 1, dw, o->g_widths.v, "hidden widths m of g (G_widths)");
        if (!st) st = hntk_h5_make_scale(f, "g_widths", "g width m");
        if (!st) st = hntk_h5_write_described(f, "learning_rates", 1, dl, lrs, "SGD learning rates mu of the minibatch "
                                              "mean loss: each step moves by -mu/|batch| times the summed loss's "
                                              "gradient (rates)", NULL);
        if (!st) st = hntk_h5_make_scale(f, "learning_rates", "learning rate mu");
        if (!st) st = hntk_h5_write_scaled(f, "test_accuracy", 3, d5, tacc, "test accuracy per run after epoch 0..E "
                                           "(0: at initialization); NaN after a divergence (cells, runs, E+1); cell c "
                                           "is (cell_depth[c], cell_width[c], cell_lr[c])", NULL, NULL);
        if (!st) st = hntk_h5_write_scaled(f, "test_loss", 3, d5, tloss, "mean cross-entropy per test image, per run "
                                           "after epoch 0..E; NaN after a divergence (cells, runs, E+1)", "nats", NULL);
        if (!st) st = hntk_h5_write_scaled(f, "train_loss", 3, d5t, trl, "mean cross-entropy per training pair over "
                                           "epoch e's minibatches, each before its step (cells, runs, E)", "nats", NULL);
        if (!st) st = hntk_h5_write_scaled(f, "train_accuracy", 3, d5t, tra, "fraction of epoch e's training pairs "
                                           "classified right, each before its step (cells, runs, E)", NULL, NULL);
        if (!st) st = hntk_h5_write_scaled(f, "diverged_epoch", 2, d4, dive, "epoch 1..E in which the run's loss became "
                                           "non-finite (training stopped), 0 if never (cells, runs)", NULL, NULL);
        if (!st) st = hntk_h5_write_described(f, "cell_depth", 1, dc, cd, "g depth of cell c (cells: depth-major, then "
                                              "width, then rate)", NULL);
        if (!st) st = hntk_h5_write_described(f, "cell_width", 1, dc, cd + C, "g width of cell c (cells)", NULL);
        if (!st) st = hntk_h5_write_described(f, "cell_lr", 1, dc, cd + 2 * C, "learning rate mu of cell c (cells)", NULL);
        if (!st) st = hntk_h5_write_scaled(f, "final_accuracy_mean", 3, d3, fmean, "test accuracy after E epochs, mean "
                                           "over runs, diverged runs counted at chance 1/K (depths, widths, rates)",
                                           NULL, sc);
        if (!st) st = hntk_h5_write_scaled(f, "final_accuracy_std", 3, d3, fsd, "its sample standard deviation over "
                                           "runs (depths, widths, rates)", NULL, sc);
        if (!st) st = hntk_h5_write_scaled(f, "diverged_runs", 3, d3, ndiv, "runs that diverged (depths, widths, rates)",
                                           NULL, sc);
        if (!st) st = hntk_h5_write_scaled(f, "accuracy_mean", 4, d4e, emean, "test accuracy after epoch 0..E, mean over "
                                           "runs, diverged at chance (depths, widths, rates, E+1)", NULL, sc);
        if (!st) st = hntk_h5_write_scaled(f, "accuracy_std", 4, d4e, esd, "its sample standard deviation over runs "
                                           "(depths, widths, rates, E+1)", NULL, sc);
        if (!st) st = hntk_h5_write_scaled(f, "train_loss_mean", 4, d4t, lmean, "train_loss averaged over the runs that "
                                           "did not diverge (NaN: none) (depths, widths, rates, E)", "nats", sc);
        if (!st) st = hntk_h5_write_described(f, "/figure/by_lr", 2, dfl, fig_lr, "one row per cell (depth-major, then "
                                              "width, then rate): g depth, g width, mu, final accuracy mean, sd, standard "
                                              "error, diverged runs (cells, 7)", NULL);
        if (!st) st = hntk_h5_write_described(f, "/figure/by_epoch", 2, dfe, fig_ep, "one row per cell and epoch: g "
                                              "depth, g width, mu, epoch, accuracy mean, sd, diverged runs (cells x "
                                              "(E+1), 7)", NULL);
        long dsc[1] = {1};
        if (!st) st = hntk_h5_write_described(f, "/data/x_scale", 1, dsc, &d->scale, "x and z are scale times the "
                                              "rotated pixel intensities in [0, 1]: mean |x|^2 = 784 over the first "
                                              "min(N, 1000) training images, unrotated (1)", NULL);
        if (!st) st = hntk_h5_attr_string(f, "/", "biases", o->bias ? "every layer of f and of g, scale 1 (g's biases "
                                          "are outputs of f, after each chunk V^k); initialization N(0, 1/fan-in) "
                                          "(standard) or N(0, 1) (ntk)" : "none");
        if (!st) st = hntk_h5_attr_string(f, "/", "activation", "sqrt(2) relu in f and g (relu with He-scaled weights)");
        if (!st) st = hntk_h5_attr_string(f, "/", "parametrization_detail", o->param == P_STANDARD ?
                                          "standard (the authors'): f weights N(0, 1/fan-in), no 1/sqrt(n) in f, no "
                                          "1/sqrt(m) in g; realised on the NTK engine by W = c w row by row, SGD rate "
                                          "factors c^2 = n_{l-1}, n_{L-1} m_{k-1} for chunk k of f's last layer "
                                          "(stdparam.h)" :
                                          "ntk (docs/theory.md §1): N(0,1) weights, 1/sqrt(fan-in) in the forward "
                                          "passes of f and g");
        if (!st) st = hntk_h5_attr_string(f, "/", "learning_rate_meaning", "mu of the minibatch mean loss; the engine "
                                          "applies mu/|batch| to the gradient of the summed minibatch loss");
        if (!st) st = hntk_h5_attr_string(f, "/", "rotation", "bilinear about the image centre (13.5, 13.5), fill 0, "
                                          "counterclockwise; exact for multiples of 90 degrees (rotate.h)");
        if (!st) st = hntk_h5_attr_string(f, "/", "label_rule", "class floor(a2 K/360 + 1/2) mod K: the nearest multiple "
                                          "of 360/K degrees, boundaries upward, [360 - 180/K, 360) wraps to 0");
        if (!st) st = hntk_h5_attr_string(f, "/", "streams", "run r: weights sample r of derive_key(seed, "
                                          "\"rotatnet\"); SGD order hntk_train_permutation(derive_key(derive_key(seed, "
                                          "\"rotatshf\"), r), e); angles (a1, a2) = 360 x the two uniforms of stream "
                                          "(derive_key(derive_key(seed, \"rotatang\"), e + 1), r, 6100, image) in "
                                          "epoch e, code 0 for the test images");
        if (!st) st = hntk_h5_attr_double(f, "/", "chance", chance);
        st = opts_commit_result(f, st, &COMMAND, o, out);
        free(cd);
    }
done:
    free(tacc), free(tloss), free(trl), free(tra), free(dive), free(filled), free(fmean), free(fsd), free(emean);
    free(esd), free(lmean), free(ndiv), free(fig_lr), free(fig_ep), free(lrs);
    return st;
}

/* ---- the data ---- */

static int read_images(const char *dir, const char *base, long want, double *out, const char *opt)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.gz", dir, base);
    FILE *fp = fopen(path, "rb");
    if (fp) fclose(fp);
    else snprintf(path, sizeof path, "%s/%s", dir, base);
    fp = fopen(path, "rb");
    if (!fp)
        return hntk_fail(HNTK_EIO, "no %s/%s.gz nor %s/%s: --data DIR must hold the IDX files of MNIST or "
                         "Fashion-MNIST (apt-get install dataset-fashion-mnist)", dir, base, dir, base);
    fclose(fp);
    hntk_idx im;
    int st = hntk_idx_read(path, 3, &im);
    if (st) return st;
    if (im.dims[1] != SIDE || im.dims[2] != SIDE)
        st = hntk_fail(HNTK_EFORMAT, "%s: images of %ld x %ld pixels, expected 28 x 28", path, im.dims[1], im.dims[2]);
    else if (im.dims[0] < want)
        st = hntk_fail(HNTK_EINVAL, "%s %ld: %s holds %ld images", opt, want, path, im.dims[0]);
    for (long i = 0; i < want * NPIX && !st; i++) out[i] = im.data[i] / 255.0;
    hntk_idx_free(&im);
    return st;
}

int hntk_cmd_rotations(int argc, char **argv)
{
    rot_opts o;
    memset(&o, 0, sizeof o);
    opts_state state;
    int st = grid_parse(&COMMAND, argc, argv, &o, &o.run, &state);
    if (st) return st < 0 ? CLI_EXIT_OK : st;
    rot_data d = {.o = &o, .Hn = o.g_depths.n, .Wn = o.g_widths.n, .Ln = o.lr_exps.n, .D = run_dim(o.epochs)};
    d.key_net = hntk_rng_derive_key(o.run.seed, KEY_NET);
    d.key_shuf = hntk_rng_derive_key(o.run.seed, KEY_SHUF);
    d.key_ang = hntk_rng_derive_key(o.run.seed, KEY_ANG);
    for (long h = 0; h < d.Hn && !st; h++) {
        hntk_hyper_arch a = cell_arch(&o, o.g_depths.v[h], o.g_widths.v[d.Wn - 1]);
        st = hntk_hyper_arch_validate(&a);
    }
    if (!st) {
        d.train = malloc(sizeof(double) * (size_t)(o.train_images * NPIX));
        d.test = malloc(sizeof(double) * (size_t)(o.test_images * NPIX));
        if (!d.train || !d.test) st = hntk_fail(HNTK_ENOMEM, "cannot allocate the images");
    }
    if (!st) st = read_images(o.data, "train-images-idx3-ubyte", o.train_images, d.train, "--train-images");
    if (!st) st = read_images(o.data, "t10k-images-idx3-ubyte", o.test_images, d.test, "--test-images");
    if (!st) {
        long n = o.train_images < 1000 ? o.train_images : 1000;
        double s = 0.0;
        for (long i = 0; i < n * NPIX; i++) s += d.train[i] * d.train[i];
        d.scale = sqrt((double)NPIX * (double)n / s);
        for (long i = 0; i < o.train_images * NPIX; i++) d.train[i] *= d.scale;
        for (long i = 0; i < o.test_images * NPIX; i++) d.test[i] *= d.scale;
    }
    opts_output out = {&state, argc, argv, 0.0};
    grid_spec grid = {.cmd = CMD, .what = "cells", .cells = d.Hn * d.Wn * d.Ln, .cell_dim = o.runs * d.D,
                      .collect = 1, .sample = rot_sample, .driver = &d, .describe = describe_cell,
                      .values = cell_values};
    int code = grid_main(st, &grid, &COMMAND, &o, 1, &o.run, &out, finish);
    free(d.train), free(d.test);
    return code;
}
