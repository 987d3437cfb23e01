/* complete.c: `hyperntk complete`: hyperkernel regression against a trained
 * hypernetwork on image completion and inpainting (docs/theory.md §9.1, the
 * appendix's section 1.2 and the author response's Table 2 and Figure I).
 *
 * u = (x, z): x an image of Fashion-MNIST (or MNIST, --data) with every pixel
 * outside the context set to 0 and scaled by one constant per task (so that
 * the mean of |x|^2/784 over the first 1000 images of the file is 1), z a
 * pixel coordinate (row/27, col/27) read by g through k random Fourier
 * features drawn once per run; target: that pixel's intensity in [0, 1].
 * Completion: the context is the top half; inpainting: a random set of
 * pixels per image (a fixed fraction).  Training pairs: every training image
 * with G random pixels of its own (the same pixels in every split).
 *
 * Cell (task, training-set size N, split r): split r permutes the training
 * file's images; the first T are the test images, the next V the validation
 * images, then the training images (nested: size N uses the first N).
 * Methods, each predicting all 784 pixels of each test image:
 *   hyperkernel  Eq. 1 with Theta^h: the training images in S = ceil(N/U)
 *                subsets, per subset (Theta^h(U^s,U^s) + eps I)^-1 Y^s by
 *                Cholesky (LAPACK), the S regressors averaged; the Gram
 *                assembled from Theta^f, S on image pairs and g's part on
 *                coordinate pairs (hntk_limit_cross_indexed, Theta^h and
 *                Lambda^H in one pass); eps chosen on the validation images
 *                from --ridges; the two kernels' factorizations run
 *                concurrently, each on one BLAS thread (same bits for any
 *                thread count);
 *   hyper-GP     the same with the NNGP Lambda^H;
 *   hypernet     the hypernetwork of the same architecture (f: two hidden
 *                layers of width n, g: one hidden layer of width m, the same
 *                features), NTK parametrization, SGD on the same pairs
 *                (train.h), learning rate (of the minibatch mean loss) and
 *                epoch chosen on the validation images;
 *   mean image   the mean of the N training images (a trivial baseline).
 * Metric: per test image the MSE over its 784 pixels; per cell their mean;
 * over splits the mean and its standard error.  A last cell interpolates
 * between pairs of test images (Figure I).  Schema: docs/file-formats.md. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../src/blas.h"
#include "cli.h"
#include "commands.h"
#include "grid.h"
#include "opts.h"

static const char *CMD = "complete";

/* Stream codes under the seed (rng.h, hntk_rng_derive_key). */
#define KEY_SPLIT 0x636f6d706c73706cULL /* "complspl": the split permutations */
#define KEY_PIX 0x636f6d706c706978ULL   /* "complpix": training pixels and inpainting masks */
#define KEY_NET 0x636f6d706c6e6574ULL   /* "complnet": the hypernetwork's initial weights and SGD order */

enum { SIDE = 28, NPIX = SIDE * SIDE, NTASK = 2, NMETH = 4, MAX_RIDGES = 16, MAX_LRS = 16, MAX_SHOW = 16 };
enum { M_HK, M_GP, M_HN, M_MEAN };
enum { T_GRAM, T_GRAM_FLOPS_ROWS, T_CHOL, T_CHOL_FLOPS, T_CROSS, T_CROSS_PAIRS, T_TRAIN, T_N };
static const char *const METHOD_NAMES[NMETH] = {"hyperkernel", "hypergp", "hypernet", "mean_image"};
static const char *const TASK_NAMES[NTASK] = {"completion", "inpainting"};
static const char *const task_choices[] = {"both", "completion", "inpainting", NULL};
static const char *const output_choices[] = {"centered", "raw", NULL};

typedef struct {
    const char *data;
    int tasks;
    opts_list sizes;
    long splits, test_images, val_images, subset_images, coords;
    double context_fraction;
    long f_width, g_width, fourier_k;
    double fourier_scale;
    const char *ridges, *lrs;
    long epochs, batch, interp_train, interp_pairs, interp_steps, show;
    int output;
    grid_run_opts run;
} complete_opts;

#define F(field) offsetof(complete_opts, field)
static const opt_spec SPECS[] = {
    {"data", "DIR", OPT_STRING, F(data), 0, 0, "/usr/share/datasets/fashion-mnist",
     "directory of the IDX files train-images-idx3-ubyte[.gz] and train-labels-idx1-ubyte[.gz]\n"
     "(Debian's dataset-fashion-mnist by default; MNIST's files work the same)", OPT_CONFIG},
    {"tasks", "T", OPT_CHOICE, F(tasks), 0, 0, "both", "completion (context: the top half), inpainting (a random\n"
     "context) or both", OPT_CONFIG, task_choices},
    {"train-sizes", "LIST", OPT_LIST, F(sizes), 1, 50000, NULL, "training-set sizes N (images)",
     OPT_CONFIG | OPT_INCREASING},
    {"splits", "R", OPT_LONG, F(splits), 2, 1000, "10", "random train/validation/test splits (error bars)", OPT_CONFIG},
    {"test-images", "T", OPT_LONG, F(test_images), 1, 5000, "50", "test images per split", OPT_CONFIG},
    {"val-images", "V", OPT_LONG, F(val_images), 1, 5000, "20", "validation images per split (choose eps, lr, epochs)",
     OPT_CONFIG},
    {"subset-images", "U", OPT_LONG, F(subset_images), 1, 50000, "1000",
     "images per kernel subset of Eq. 1 (the Gram of a subset has U G rows)", OPT_CONFIG},
    {"coords", "G", OPT_LONG, F(coords), 1, NPIX, "20", "random pixel coordinates per training image", OPT_CONFIG},
    {"context-fraction", "p", OPT_DOUBLE, F(context_fraction), 0.001, 1, "0.25",
     "inpainting: fraction of each image's pixels in its context", OPT_CONFIG},
    {"f-width", "n", OPT_LONG, F(f_width), 1, HNTK_MAX_WIDTH, "256", "hidden width of f (trained hypernetwork)",
     OPT_CONFIG},
    {"g-width", "m", OPT_LONG, F(g_width), 1, HNTK_MAX_WIDTH, "32", "hidden width of g", OPT_CONFIG},
    {"fourier-features", "k", OPT_LONG, F(fourier_k), 1, 100000, "32", "Fourier features of the coordinates (g's input)",
     OPT_CONFIG},
    {"fourier-scale", "s", OPT_DOUBLE, F(fourier_scale), 1e-6, 1e6, "0.1",
     "their scale: w ~ N(0, s^-2 I), coordinates in [0,1]^2 (pixel spacing 1/27)", OPT_CONFIG},
    {"ridges", "LIST", OPT_STRING, F(ridges), 0, 0, "0.01,0.1,1", "candidate eps of Eq. 1 (comma-separated)", OPT_CONFIG},
    {"lrs", "LIST", OPT_STRING, F(lrs), 0, 0, "0.03,0.1,0.3,1", "candidate SGD learning rates of the minibatch mean loss",
     OPT_CONFIG},
    {"epochs", "E", OPT_LONG, F(epochs), 1, 100000, "30", "SGD epochs (the best on the validation images is kept)",
     OPT_CONFIG},
    {"batch", "b", OPT_LONG, F(batch), 1, 100000, "20", "SGD minibatch size", OPT_CONFIG},
    {"net-output", "O", OPT_CHOICE, F(output), 0, 0, "centered",
     "the trained hypernetwork's prediction: centered, h_w(u) - h_w0(u) (trained on y + h_w0;\n"
     "zero at initialization, as the kernel predictor; its linearization converges to Eq. 1 with\n"
     "one subset and eps -> 0), or raw h_w(u) (its random initial function stays in the error)",
     OPT_CONFIG, output_choices},
    {"interp-train", "N", OPT_LONG, F(interp_train), 0, 50000, "200",
     "training images of the interpolation (Figure I; completion, split 0; 0: none)", OPT_CONFIG},
    {"interp-pairs", "P", OPT_LONG, F(interp_pairs), 1, 16, "2", "pairs of test images (different classes)", OPT_CONFIG},
    {"interp-steps", "K", OPT_LONG, F(interp_steps), 2, 64, "8", "steps from one image to the other", OPT_CONFIG},
    {"show", "K", OPT_LONG, F(show), 1, MAX_SHOW, "6", "test images of split 0 whose predictions are saved (figure)",
     OPT_CONFIG},
    GRID_RUN_SPECS(complete_opts, "cells"),
};
#undef F

static const opt_preset PRESETS[] = {
    {"default", "sizes 10, 30, 100, 300, 1000, 10 splits, 20 test images, U = 500 (N = 1000: two subsets),\n"
                "                           f width 128, g width 16, 16 features, lrs 0.03..1, 30 epochs (about 40 minutes\n"
                "                           on 2 idle cores; the README's table)",
     "train-sizes=10,30,100,300,1000 test-images=20 val-images=10 subset-images=500 f-width=128 g-width=16 "
     "fourier-features=16"},
    {"quick", "sizes 10, 40, 160, 3 splits, 20 test images, 10 epochs: a couple of minutes",
     "train-sizes=10,40,160 splits=3 test-images=20 val-images=10 subset-images=200 epochs=10 f-width=128 "
     "g-width=16 fourier-features=16 lrs=0.1 interp-train=100"},
    {"large", "completion at N = 3000 (six subsets of U = 500), 10 splits, 20 test images, the default's\n"
              "                           networks and lrs, 15 epochs (of 3000 SGD steps each), no interpolation\n"
              "                           (about 35 minutes on 2 idle cores; not run for the README)",
     "tasks=completion train-sizes=3000 test-images=20 val-images=10 subset-images=500 f-width=128 g-width=16 "
     "fourier-features=16 epochs=15 interp-train=0"},
    {"paper", "the appendix's scale: sizes 10..10000, U = 1000 (20000 x 20000 Grams), 10 splits\n"
              "                           (a day on 2 cores: a cluster job, docs/cluster.md)",
     "train-sizes=10,100,1000,3000,10000 subset-images=1000 epochs=40"},
};

static const opt_command COMMAND = {
    .cmd = "complete",
    .synopsis = "--out OUT.h5 [--quick | --large | --paper] [OPTIONS]",
    .summary = "Image completion and inpainting on Fashion-MNIST (docs/theory.md §9.1): hyperkernel regression\n"
               "(Eq. 1, Cholesky), the hyper-GP, the trained hypernetwork (SGD, NTK parametrization) and the mean\n"
               "image, MSE per test image with standard errors over random splits, and interpolation between\n"
               "two images (the author response's Table 2 and Figure I).",
    .footer = GRID_FOOTER,
    OPTS_SPECS(SPECS),
    OPTS_PRESETS(PRESETS),
};

/* ---- the data ---- */

typedef struct {
    const complete_opts *o;
    long n_img;               /* images in the file */
    unsigned char *pix;       /* (n_img, 784) */
    unsigned char *labels;    /* (n_img) */
    double scale[NTASK];      /* x = scale * masked image / 255 */
    double ridge[MAX_RIDGES];
    int n_ridges;
    double lr[MAX_LRS];
    int n_lrs;
    double coords[NPIX * 2];  /* z of pixel p: (row/27, col/27) */
    double *freq, *phase;     /* Fourier features (k, 2), (k) */
    double *phi;              /* (784, k): their values at every pixel */
    hntk_hyper_arch net_arch; /* the trained hypernetwork */
    hntk_hyper_arch kern_arch;/* its limit on the drawn features: z = phi, fourier_k = 0 */
    uint64_t key_split, key_pix, key_net;
    long n_tasks, n_sizes, cells, n_main, pool; /* pool = T + V + max N */
    long *perm;               /* (splits, pool) image indices of each split */
    long cell_dim, interp_dim;
    double timing[T_N];       /* T_GRAM .. T_TRAIN */
} complete_data;

/* Uniform on 0..n-1 by Lemire's multiply-shift with rejection (unbiased). */
static uint64_t bounded(hntk_stream *s, uint64_t n)
{
    uint64_t thresh = (0 - n) % n;
    for (;;) {
        uint64_t x = hntk_stream_u64(s);
        unsigned __int128 m = (unsigned __int128)x * n;
        if ((uint64_t)m >= thresh) return (uint64_t)(m >> 64);
    }
}

/* The first k of a random permutation of 0..783 from stream (key, sample, tensor, image). */
static void pick_pixels(uint64_t key, uint32_t sample, uint32_t tensor, long image, long k, long *out)
{
    long p[NPIX];
    hntk_stream s;
    hntk_stream_init(&s, key, sample, tensor, (uint32_t)image);
    for (long i = 0; i < NPIX; i++) p[i] = i;
    for (long i = 0; i < k; i++) {
        long j = i + (long)bounded(&s, (uint64_t)(NPIX - i));
        long t = p[i];
        p[i] = p[j], p[j] = t;
        out[i] = p[i];
    }
}

static long n_context(const complete_opts *o) { return lround(o->context_fraction * NPIX) < 1 ? 1 : lround(o->context_fraction * NPIX); }

/* The context mask of image `img` for the task (1: observed). */
static void context_mask(const complete_data *d, int task, long img, unsigned char *mask)
{
    if (task == 0) {
        for (long p = 0; p < NPIX; p++) mask[p] = p < NPIX / 2;
        return;
    }
    long idx[NPIX], k = n_context(d->o);
    memset(mask, 0, NPIX);
    pick_pixels(d->key_pix, 0, HNTK_TENSOR_CONTEXT, img, k, idx);
    for (long i = 0; i < k; i++) mask[idx[i]] = 1;
}

/* x of image img: the masked image scaled by the task's constant (784). */
static void input_of(const complete_data *d, int task, long img, double *x)
{
    unsigned char mask[NPIX];
    context_mask(d, task, img, mask);
    const unsigned char *q = d->pix + img * NPIX;
    for (long p = 0; p < NPIX; p++) x[p] = mask[p] ? d->scale[task] * (q[p] / 255.0) : 0.0;
}

static double intensity(const complete_data *d, long img, long p) { return d->pix[img * NPIX + p] / 255.0; }

/* The G training pixels of image img (the same in every split and size). */
static void train_pixels(const complete_data *d, long img, long *pix)
{
    pick_pixels(d->key_pix, 0, HNTK_TENSOR_TRAIN_PIXELS, img, d->o->coords, pix);
}

static int read_idx_file(const char *dir, const char *base, int rank, hntk_idx *x)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.gz", dir, base);
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    else snprintf(path, sizeof path, "%s/%s", dir, base);
    f = fopen(path, "rb");
    if (!f)
        return hntk_fail(HNTK_EIO, "no %s/%s.gz nor %s/%s: --data DIR must hold the IDX files of MNIST or "
                         "Fashion-MNIST (apt-get install dataset-fashion-mnist, or scripts/install-deps)", dir, base,
                         dir, base);
    fclose(f);
    return hntk_idx_read(path, rank, x);
}

static int load_data(complete_data *d)
{
    hntk_idx im, lb;
    int st = read_idx_file(d->o->data, "train-images-idx3-ubyte", 3, &im);
    if (st) return st;
    if (im.dims[1] != SIDE || im.dims[2] != SIDE) {
        hntk_idx_free(&im);
        return hntk_fail(HNTK_EFORMAT, "%s/train-images-idx3-ubyte: images of %ld x %ld pixels, expected 28 x 28",
                         d->o->data, im.dims[1], im.dims[2]);
    }
    st = read_idx_file(d->o->data, "train-labels-idx1-ubyte", 1, &lb);
    if (st) {
        hntk_idx_free(&im);
        return st;
    }
    if (lb.dims[0] != im.dims[0]) {
        st = hntk_fail(HNTK_EFORMAT, "%s: %ld labels for %ld images in train-images-idx3-ubyte: expected one per image",
                       d->o->data, lb.dims[0], im.dims[0]);
        hntk_idx_free(&im), hntk_idx_free(&lb);
        return st;
    }
    d->n_img = im.dims[0];
    d->pix = im.data;
    d->labels = lb.data;
    return HNTK_OK;
}

static int parse_reals(const char *name, const char *text, double *v, int cap, int *n)
{
    *n = 0;
    const char *p = text;
    while (*p) {
        char *end;
        double x = strtod(p, &end);
        if (end == p || !(x > 0) || !isfinite(x) || *n >= cap)
            return hntk_fail(HNTK_EINVAL, "--%s '%s': expected up to %d positive numbers separated by commas", name, text,
                             cap);
        v[(*n)++] = x;
        p = end;
        if (*p == ',') p++;
        else if (*p) return hntk_fail(HNTK_EINVAL, "--%s '%s': expected numbers separated by commas", name, text);
    }
    if (*n == 0) return hntk_fail(HNTK_EINVAL, "--%s is empty: expected at least one number", name);
    return HNTK_OK;
}

/* ---- one cell ---- */

typedef struct {
    int task;
    long N, split, T, V;
    const long *test, *val, *train; /* image indices */
    /* outputs */
    double *mse[NMETH];             /* (T) per test image */
    double *pred_show[NMETH];       /* (show, 784) */
    double val_hk[MAX_RIDGES], val_gp[MAX_RIDGES], val_hn[MAX_LRS];
    double eps_hk, eps_gp, lr, best_epoch;
    double *loss, *val_curve;       /* (epochs) of the chosen lr */
    double *test_pred_hk, *test_pred_hn; /* (T, 784) kept for the interpolation */
    double *v_test, *v0_test;       /* (T, P): f's outputs of the trained and initial nets on the test images */
    hntk_net *net_best, *net_init;  /* the chosen hypernetwork and its initialization (interpolation) */
} cell_job;

static double sq(double x) { return x * x; }

/* Hyperkernel and hyper-GP: predictions of every eps for the V + T images. */
static int kernel_methods(complete_data *d, cell_job *c)
{
    const complete_opts *o = d->o;
    long N = c->N, G = o->coords, U = o->subset_images, S = (N + U - 1) / U, R = d->n_ridges, k = o->fourier_k;
    long VT = c->V + c->T, Bmax = (N < U ? N : U) * G;
    int st = HNTK_OK;
    double *K = malloc(sizeof(double) * 2 * (size_t)Bmax * (size_t)Bmax); /* the two Grams */
    double *diag = malloc(sizeof(double) * 2 * (size_t)Bmax);
    double *alpha = malloc(sizeof(double) * (size_t)(2 * R * Bmax));
    double *Y = malloc(sizeof(double) * (size_t)Bmax);
    double *Xs = malloc(sizeof(double) * (size_t)((N < U ? N : U) + 1) * NPIX);
    long *ix = malloc(sizeof(long) * (size_t)Bmax), *iz = malloc(sizeof(long) * (size_t)Bmax);
    double *cross = malloc(sizeof(double) * (size_t)(2 * NPIX) * (size_t)Bmax);
    double *pred = calloc((size_t)(2 * R * VT * NPIX), sizeof(double)); /* [method][r][image][pixel] */
    double *tmp = malloc(sizeof(double) * (size_t)(R * NPIX));
    double *Zs = malloc(sizeof(double) * (size_t)(NPIX * k));
    double xq[NPIX];
    long allpix[NPIX], zero[NPIX];
    for (long p = 0; p < NPIX; p++) allpix[p] = p, zero[p] = 0;
    if (!K || !diag || !alpha || !Y || !Xs || !ix || !iz || !cross || !pred || !tmp || !Zs)
        st = hntk_fail(HNTK_ENOMEM, "cannot allocate the two Grams of %ld rows (%.3g GiB; --subset-images "
                       "sets the rows: U G)", Bmax, 16.0 * (double)Bmax * (double)Bmax / 1073741824.0);
    for (long s = 0; s < S && !st; s++) {
        long i0 = s * U, ni = (N - i0 < U ? N - i0 : U), B = ni * G;
        /* g's inputs: only the pixels this subset reads (their z-kernels against all 784 are computed per test image) */
        long slot[NPIX], nz = 0;
        for (long p = 0; p < NPIX; p++) slot[p] = -1;
        for (long i = 0; i < ni; i++) {
            long img = c->train[i0 + i], pix[NPIX];
            input_of(d, c->task, img, Xs + i * NPIX);
            train_pixels(d, img, pix);
            for (long g = 0; g < G; g++) {
                if (slot[pix[g]] < 0) {
                    slot[pix[g]] = nz;
                    memcpy(Zs + nz * k, d->phi + pix[g] * k, sizeof(double) * (size_t)k);
                    nz++;
                }
                ix[i * G + g] = i, iz[i * G + g] = slot[pix[g]];
                Y[i * G + g] = intensity(d, img, pix[g]);
            }
        }
        hntk_indexed_set tr = {ni, Xs, nz, Zs, B, ix, iz};
        /* both Grams in one pass (the recursions of f and g are shared): Theta^h at K, Lambda^H at K + B^2 */
        double *Km[2] = {K, K + (size_t)B * (size_t)B};
        double tg = cli_now();
        hntk_cross_out gout = {.ntk = Km[0], .nngp = Km[1]};
        st = hntk_limit_cross_indexed(&d->kern_arch, HNTK_VARIANT_PAPER, &tr, &tr, &gout);
        d->timing[T_GRAM] += cli_now() - tg;
        d->timing[T_GRAM_FLOPS_ROWS] += (double)B * (double)B;
        /* every eps: Cholesky and solve; the two methods concurrently (each factorization on one BLAS thread,
         * the same operations whatever the thread count) */
        int mst[2] = {HNTK_OK, HNTK_OK};
        double tch[2] = {0.0, 0.0};
        char msg[2][512] = {"", ""};
#pragma omp parallel for schedule(static, 1)
        for (int m = 0; m < (st ? 0 : 2); m++) {
            double *Kk = Km[m], *dg = diag + (size_t)m * (size_t)Bmax;
            for (long i = 0; i < B; i++) dg[i] = Kk[i * B + i];
            for (long r = 0; r < R && !mst[m]; r++) {
                if (r > 0) /* restore the triangle and diagonal dpotrf overwrote */
                    for (long i = 0; i < B; i++) {
                        Kk[i * B + i] = dg[i];
                        for (long j = i + 1; j < B; j++) Kk[i * B + j] = Kk[j * B + i];
                    }
                double *a = alpha + (m * R + r) * B;
                memcpy(a, Y, sizeof(double) * (size_t)B);
                double t1 = cli_now();
                mst[m] = hntk_chol_factor(B, Kk, d->ridge[r]);
                if (!mst[m]) mst[m] = hntk_chol_solve(B, Kk, 1, a);
                tch[m] += cli_now() - t1;
            }
            if (mst[m]) snprintf(msg[m], sizeof msg[m], "%s", hntk_last_error());
        }
        for (int m = 0; m < 2 && !st; m++)
            if (mst[m]) st = hntk_fail(mst[m], "%s", msg[m]); /* the worker thread's message, on this thread */
        if (!st) {
            d->timing[T_CHOL] += tch[0] + tch[1];
            d->timing[T_CHOL_FLOPS] += 2.0 * (double)R * (hntk_chol_factor_flops(B) + hntk_chol_solve_flops(B, 1));
        }
        /* predictions: per validation/test image its 784 x B cross kernels, times every alpha */
        for (long q = 0; q < VT && !st; q++) {
            long img = q < c->V ? c->val[q] : c->test[q - c->V];
            input_of(d, c->task, img, xq);
            hntk_indexed_set te = {1, xq, NPIX, d->phi, NPIX, zero, allpix};
            hntk_cross_out out = {.ntk = cross, .nngp = cross + (size_t)NPIX * (size_t)B};
            double t0 = cli_now();
            st = hntk_limit_cross_indexed(&d->kern_arch, HNTK_VARIANT_PAPER, &te, &tr, &out);
            d->timing[T_CROSS] += cli_now() - t0;
            d->timing[T_CROSS_PAIRS] += (double)NPIX * (double)B;
            for (int m = 0; m < 2 && !st; m++) {
                /* tmp (R, 784) = alpha_m (R, B) cross_m^T */
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)R, NPIX, (int)B, 1.0, alpha + m * R * B,
                            (int)B, cross + (size_t)m * NPIX * (size_t)B, (int)B, 0.0, tmp, NPIX);
                for (long r = 0; r < R; r++)
                    for (long p = 0; p < NPIX; p++)
                        pred[((m * R + r) * VT + q) * NPIX + p] += tmp[r * NPIX + p] / (double)S;
            }
        }
    }
    /* choose eps on the validation images, score the test images */
    for (int m = 0; m < 2 && !st; m++) {
        double *val = m ? c->val_gp : c->val_hk, best = INFINITY;
        long rb = 0;
        for (long r = 0; r < R; r++) {
            double e = 0.0;
            for (long q = 0; q < c->V; q++)
                for (long p = 0; p < NPIX; p++)
                    e += sq(pred[((m * R + r) * VT + q) * NPIX + p] - intensity(d, c->val[q], p));
            val[r] = e / (double)(c->V * NPIX);
            if (val[r] < best) best = val[r], rb = r;
        }
        if (m == 0) c->eps_hk = d->ridge[rb];
        else c->eps_gp = d->ridge[rb];
        for (long t = 0; t < c->T; t++) {
            const double *pp = pred + ((m * R + rb) * VT + c->V + t) * NPIX;
            double e = 0.0;
            for (long p = 0; p < NPIX; p++) e += sq(pp[p] - intensity(d, c->test[t], p));
            c->mse[m][t] = e / NPIX;
            if (t < o->show) memcpy(c->pred_show[m] + t * NPIX, pp, sizeof(double) * NPIX);
            if (m == 0 && c->test_pred_hk) memcpy(c->test_pred_hk + t * NPIX, pp, sizeof(double) * NPIX);
        }
    }
    free(Zs);
    free(K), free(diag), free(alpha), free(Y), free(Xs), free(ix), free(iz), free(cross), free(pred), free(tmp);
    return st;
}

/* The trained hypernetwork's predictions of the 784 pixels of n images (out (n, 784));
 * v_out (n, P) may be NULL. */
static int net_predict(const complete_data *d, hntk_net *net, long cap, int task, long n, const long *imgs,
                       double *xbuf, double *out, double *v_out)
{
    long P = hntk_f_out_dim(&d->net_arch);
    for (long i = 0; i < n; i++) {
        input_of(d, task, imgs[i], xbuf);
        int st = hntk_net_forward(net, 1, xbuf, d->coords, NULL);
        if (st) return st;
        double v[P > 0 ? P : 1];
        memcpy(v, hntk_net_f_output(net), sizeof(double) * (size_t)P);
        if (v_out) memcpy(v_out + i * P, v, sizeof(double) * (size_t)P);
        for (long p0 = 0; p0 < NPIX && !st; p0 += cap) /* g's batch: at most the network's capacity */
            st = hntk_net_g_eval(net, v, NPIX - p0 < cap ? NPIX - p0 : cap, d->coords + 2 * p0, out + i * NPIX + p0);
        if (st) return st;
    }
    return HNTK_OK;
}

static double mse_of(const complete_data *d, long n, const long *imgs, const double *pred)
{
    double e = 0.0;
    for (long i = 0; i < n; i++)
        for (long p = 0; p < NPIX; p++) e += sq(pred[i * NPIX + p] - intensity(d, imgs[i], p));
    return e / (double)(n * NPIX);
}

/* The trained hypernetwork: every lr in parallel (one trainer per thread), the best (lr, epoch) on validation. */
static int hypernet(complete_data *d, cell_job *c)
{
    const complete_opts *o = d->o;
    long N = c->N, G = o->coords, rows = N * G, E = o->epochs, nl = d->n_lrs;
    long Nw = hntk_param_count(&d->net_arch), L = d->net_arch.f_depth;
    long cap = o->batch > NPIX ? o->batch : NPIX;
    if (cap > rows) cap = rows;
    double *X = malloc(sizeof(double) * (size_t)rows * NPIX), *Z = malloc(sizeof(double) * (size_t)rows * 2);
    double *y = malloc(sizeof(double) * (size_t)rows);
    double *best_w = malloc(sizeof(double) * (size_t)(nl * Nw)), *best_val = malloc(sizeof(double) * (size_t)nl);
    long *best_ep = malloc(sizeof(long) * (size_t)nl);
    double *loss = malloc(sizeof(double) * (size_t)(nl * E)), *valc = malloc(sizeof(double) * (size_t)(nl * E));
    int *sts = calloc((size_t)nl, sizeof(int));
    if (!X || !Z || !y || !best_w || !best_val || !best_ep || !loss || !valc || !sts) {
        free(X), free(Z), free(y), free(best_w), free(best_val), free(best_ep), free(loss), free(valc), free(sts);
        return hntk_fail(HNTK_ENOMEM, "cannot allocate the %ld training rows of the hypernetwork", rows);
    }
    for (long i = 0; i < N; i++) {
        long img = c->train[i], pix[NPIX];
        train_pixels(d, img, pix);
        input_of(d, c->task, img, X + i * G * NPIX);
        for (long g = 0; g < G; g++) {
            if (g) memcpy(X + (i * G + g) * NPIX, X + i * G * NPIX, sizeof(double) * NPIX);
            Z[(i * G + g) * 2] = d->coords[2 * pix[g]], Z[(i * G + g) * 2 + 1] = d->coords[2 * pix[g] + 1];
            y[i * G + g] = intensity(d, img, pix[g]);
        }
    }
    uint64_t key = hntk_rng_derive_key(d->key_net, (uint64_t)(c->task * 1000003L + c->N) * 1009u + (uint64_t)c->split);
    double t0 = cli_now();
    int st = HNTK_OK;
    /* the initial network h_w0 (the same for every lr): centered output subtracts it */
    int center = o->output == 0;
    double *h0_val = calloc((size_t)(c->V * NPIX), sizeof(double)), *h0_test = calloc((size_t)(c->T * NPIX), sizeof(double));
    if (!h0_val || !h0_test) st = hntk_fail(HNTK_ENOMEM, "cannot allocate the initial network's predictions");
    if (!st) st = hntk_net_alloc(&d->net_arch, NPIX, 0, &c->net_init);
    if (!st) st = hntk_net_fix_fourier(c->net_init, d->freq, d->phase);
    if (!st) hntk_net_sample_weights(c->net_init, key, 0);
    if (!st && center) {
        double xb[NPIX];
        st = net_predict(d, c->net_init, NPIX, c->task, c->V, c->val, xb, h0_val, NULL);
        if (!st) st = net_predict(d, c->net_init, NPIX, c->task, c->T, c->test, xb, h0_test, c->v0_test);
        for (long r0 = 0; r0 < rows && !st; r0 += NPIX) { /* y <- y + h_w0(u) on the training pairs */
            long nb = rows - r0 < NPIX ? rows - r0 : NPIX;
            double hb[NPIX];
            st = hntk_net_forward(c->net_init, nb, X + r0 * NPIX, Z + r0 * 2, hb);
            for (long b = 0; b < nb; b++) y[r0 + b] += hb[b];
        }
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (long li = 0; li < (st ? 0 : nl); li++) {
        hntk_train *tr = NULL;
        double *vp = malloc(sizeof(double) * (size_t)(c->V * NPIX)), xb[NPIX];
        /* forward passes of at most max(batch, 784) inputs: the minibatches and g on one image's pixels */
        hntk_train_config cfg = {.loss = HNTK_LOSS_SQUARED, .batch_cap = cap};
        int s = vp ? hntk_train_alloc_config(&d->net_arch, rows, &cfg, 0, &tr) : HNTK_ENOMEM;
        hntk_net *net = s ? NULL : hntk_train_net(tr);
        if (!s) s = hntk_net_fix_fourier(net, d->freq, d->phase);
        if (!s) hntk_net_sample_weights(net, key, 0); /* the same initialization for every lr */
        best_val[li] = INFINITY, best_ep[li] = 0;
        /* epoch 0: the untrained network */
        if (!s) s = net_predict(d, net, cap, c->task, c->V, c->val, xb, vp, NULL);
        if (!s && center)
            for (long q = 0; q < c->V * NPIX; q++) vp[q] -= h0_val[q];
        if (!s) {
            best_val[li] = mse_of(d, c->V, c->val, vp);
            long off = 0;
            for (int l = 1; l <= L; l++) {
                long sz = hntk_f_layer_width(&d->net_arch, l) * hntk_f_layer_width(&d->net_arch, l - 1);
                memcpy(best_w + li * Nw + off, hntk_net_weights(net, l), sizeof(double) * (size_t)sz);
                off += sz;
            }
        }
        for (long e = 0; e < E && !s; e++) {
            double eta = d->lr[li] / (double)rows; /* the engine's eta multiplies the summed loss's gradient */
            s = hntk_train_sgd_epoch(tr, key, (uint32_t)e, rows, X, Z, y, o->batch, eta, &loss[li * E + e]);
            loss[li * E + e] /= (double)rows; /* mean squared-error/2 per pair */
            if (!s && !isfinite(loss[li * E + e])) {
                for (long f = e; f < E; f++) loss[li * E + f] = valc[li * E + f] = NAN;
                break; /* diverged: this lr is out */
            }
            if (!s) s = net_predict(d, net, cap, c->task, c->V, c->val, xb, vp, NULL);
            if (s) break;
            if (center)
                for (long q = 0; q < c->V * NPIX; q++) vp[q] -= h0_val[q];
            valc[li * E + e] = mse_of(d, c->V, c->val, vp);
            if (valc[li * E + e] < best_val[li]) {
                best_val[li] = valc[li * E + e], best_ep[li] = e + 1;
                long off = 0;
                for (int l = 1; l <= L; l++) {
                    long sz = hntk_f_layer_width(&d->net_arch, l) * hntk_f_layer_width(&d->net_arch, l - 1);
                    memcpy(best_w + li * Nw + off, hntk_net_weights(net, l), sizeof(double) * (size_t)sz);
                    off += sz;
                }
            }
        }
        sts[li] = s;
        hntk_train_free(tr);
        free(vp);
    }
    d->timing[T_TRAIN] += cli_now() - t0;
    for (long li = 0; li < nl && !st; li++) st = sts[li];
    long lb = 0;
    for (long li = 0; li < nl; li++) {
        c->val_hn[li] = best_val[li];
        if (best_val[li] < best_val[lb]) lb = li;
    }
    if (!st) {
        c->lr = d->lr[lb], c->best_epoch = (double)best_ep[lb];
        memcpy(c->loss, loss + lb * E, sizeof(double) * (size_t)E);
        memcpy(c->val_curve, valc + lb * E, sizeof(double) * (size_t)E);
        st = hntk_net_alloc(&d->net_arch, NPIX, 0, &c->net_best);
    }
    if (!st) st = hntk_net_fix_fourier(c->net_best, d->freq, d->phase);
    if (!st) {
        long off = 0;
        for (int l = 1; l <= L; l++) {
            long sz = hntk_f_layer_width(&d->net_arch, l) * hntk_f_layer_width(&d->net_arch, l - 1);
            memcpy(hntk_net_weights(c->net_best, l), best_w + lb * Nw + off, sizeof(double) * (size_t)sz);
            off += sz;
        }
        double *tp = malloc(sizeof(double) * (size_t)(c->T * NPIX)), xb[NPIX];
        st = tp ? net_predict(d, c->net_best, NPIX, c->task, c->T, c->test, xb, tp, c->v_test) : HNTK_ENOMEM;
        if (!st && center)
            for (long q = 0; q < c->T * NPIX; q++) tp[q] -= h0_test[q];
        for (long t = 0; t < c->T && !st; t++) {
            c->mse[M_HN][t] = mse_of(d, 1, c->test + t, tp + t * NPIX);
            if (t < o->show) memcpy(c->pred_show[M_HN] + t * NPIX, tp + t * NPIX, sizeof(double) * NPIX);
        }
        if (!st && c->test_pred_hn) memcpy(c->test_pred_hn, tp, sizeof(double) * (size_t)(c->T * NPIX));
        free(tp);
    }
    free(X), free(Z), free(y), free(best_w), free(best_val), free(best_ep), free(loss), free(valc), free(sts);
    free(h0_val), free(h0_test);
    return st;
}

static void mean_image(const complete_data *d, cell_job *c)
{
    double m[NPIX] = {0};
    for (long i = 0; i < c->N; i++)
        for (long p = 0; p < NPIX; p++) m[p] += intensity(d, c->train[i], p) / (double)c->N;
    for (long t = 0; t < c->T; t++) {
        c->mse[M_MEAN][t] = mse_of(d, 1, c->test + t, m);
        if (t < d->o->show) memcpy(c->pred_show[M_MEAN] + t * NPIX, m, sizeof m);
    }
}

/* ---- cell layout ----
 * main cells: [mse (NMETH x T) | val_hk (R) | val_gp (R) | val_hn (nl) | eps_hk eps_gp lr epoch |
 *              loss (E) | val_curve (E) | predictions (NMETH x show x 784) | timing (T_N)]
 * the interpolation cell: [pairs (P x 2) | hk strips (P x K x 784) | hn strips (P x K x 784) | timing] */
static long main_cell_dim(const complete_data *d)
{
    const complete_opts *o = d->o;
    return NMETH * o->test_images + 2 * d->n_ridges + d->n_lrs + 4 + 2 * o->epochs + NMETH * o->show * NPIX + T_N;
}

static long interp_cell_dim(const complete_data *d)
{
    const complete_opts *o = d->o;
    return o->interp_pairs * 2 + 2 * o->interp_pairs * o->interp_steps * NPIX + T_N;
}

static void cell_coords(const complete_data *d, long c, int *task, long *size_idx, long *split)
{
    long per_task = d->n_sizes * d->o->splits;
    int t0 = d->o->tasks == 2 ? 1 : 0;
    *task = t0 + (int)(c / per_task);
    *size_idx = (c % per_task) / d->o->splits;
    *split = c % d->o->splits;
}

static int run_cell(complete_data *d, long c, double *values)
{
    const complete_opts *o = d->o;
    int interp = c == d->n_main;
    cell_job j = {0};
    long size_idx = 0;
    if (interp) j.task = 0, j.N = o->interp_train, j.split = 0;
    else cell_coords(d, c, &j.task, &size_idx, &j.split), j.N = o->sizes.v[size_idx];
    j.T = o->test_images, j.V = o->val_images;
    const long *perm = d->perm + j.split * d->pool;
    j.test = perm, j.val = perm + j.T, j.train = perm + j.T + j.V;
    long T = j.T, show = o->show, E = o->epochs, P = hntk_f_out_dim(&d->net_arch);
    memset(d->timing, 0, sizeof d->timing);
    double *buf = calloc((size_t)(NMETH * T + NMETH * show * NPIX + 2 * E + 2 * T * NPIX + 2 * T * P), sizeof(double));
    if (!buf) return hntk_fail(HNTK_ENOMEM, "cannot allocate a cell");
    double *p = buf;
    for (int m = 0; m < NMETH; m++) j.mse[m] = p, p += T;
    for (int m = 0; m < NMETH; m++) j.pred_show[m] = p, p += show * NPIX;
    j.loss = p, p += E;
    j.val_curve = p, p += E;
    j.test_pred_hk = p, p += T * NPIX;
    j.test_pred_hn = p, p += T * NPIX;
    j.v_test = p, p += T * P;
    j.v0_test = p;
    int st = kernel_methods(d, &j);
    if (!st) st = hypernet(d, &j);
    if (!st) mean_image(d, &j);
    if (!st && !interp) {
        double *v = values;
        for (int m = 0; m < NMETH; m++) memcpy(v, j.mse[m], sizeof(double) * (size_t)T), v += T;
        memcpy(v, j.val_hk, sizeof(double) * (size_t)d->n_ridges), v += d->n_ridges;
        memcpy(v, j.val_gp, sizeof(double) * (size_t)d->n_ridges), v += d->n_ridges;
        memcpy(v, j.val_hn, sizeof(double) * (size_t)d->n_lrs), v += d->n_lrs;
        *v++ = j.eps_hk, *v++ = j.eps_gp, *v++ = j.lr, *v++ = j.best_epoch;
        memcpy(v, j.loss, sizeof(double) * (size_t)E), v += E;
        memcpy(v, j.val_curve, sizeof(double) * (size_t)E), v += E;
        for (int m = 0; m < NMETH; m++) memcpy(v, j.pred_show[m], sizeof(double) * (size_t)(show * NPIX)), v += show * NPIX;
        memcpy(v, d->timing, sizeof d->timing);
    } else if (!st) {
        /* pairs of test images of different classes, taken in order */
        long np = o->interp_pairs, K = o->interp_steps, got = 0;
        double *pairs = values, *hk = values + 2 * np, *hn = hk + np * K * NPIX;
        for (long a = 0; a + 1 < T && got < np; a += 2) {
            long b = a + 1;
            while (b < T && d->labels[j.test[b]] == d->labels[j.test[a]]) b++;
            if (b >= T) break;
            pairs[2 * got] = (double)a, pairs[2 * got + 1] = (double)b;
            for (long s = 0; s < K && !st; s++) {
                double t = (double)s / (double)(K - 1), v[P > 0 ? P : 1];
                /* hyperkernel: (1-t) [Theta^h(u,u_i)]_i + t [Theta^h(v,u_i)]_i times the same coefficients,
                 * i.e. (1-t) yhat(u) + t yhat(v), pixel by pixel */
                for (long q = 0; q < NPIX; q++)
                    hk[(got * K + s) * NPIX + q] = (1 - t) * j.test_pred_hk[a * NPIX + q] + t * j.test_pred_hk[b * NPIX + q];
                /* hypernetwork: g with the interpolated weights (1-t) f(x_a) + t f(x_b) */
                double *hs = hn + (got * K + s) * NPIX, h0[NPIX];
                for (long w = 0; w < P; w++) v[w] = (1 - t) * j.v_test[a * P + w] + t * j.v_test[b * P + w];
                st = hntk_net_g_eval(j.net_best, v, NPIX, d->coords, hs);
                if (!st && o->output == 0) { /* centered: minus g at the interpolated initial outputs */
                    for (long w = 0; w < P; w++) v[w] = (1 - t) * j.v0_test[a * P + w] + t * j.v0_test[b * P + w];
                    st = hntk_net_g_eval(j.net_init, v, NPIX, d->coords, h0);
                    for (long q = 0; q < NPIX; q++) hs[q] -= h0[q];
                }
            }
            got++;
        }
        for (long g = got; g < np; g++) pairs[2 * g] = pairs[2 * g + 1] = -1.0;
        memcpy(values + interp_cell_dim(d) - T_N, d->timing, sizeof d->timing);
    }
    hntk_net_free(j.net_best);
    hntk_net_free(j.net_init);
    free(buf);
    return st;
}

/* ---- the result ---- */

static int write_results(complete_data *d, const hntk_checkpoint *ck, const opts_output *out)
{
    const complete_opts *o = d->o;
    long nt = d->n_tasks, ns = d->n_sizes, R = o->splits, T = o->test_images, E = o->epochs, show = o->show;
    long nr = d->n_ridges, nl = d->n_lrs;
    hntk_h5 *f;
    int st = hntk_h5_create(o->run.out, &f);
    if (st) return st;
    size_t per = (size_t)(nt * ns * R);
    double *mse[NMETH], *table_m = malloc(sizeof(double) * (size_t)(nt * ns * NMETH)),
                        *table_se = malloc(sizeof(double) * (size_t)(nt * ns * NMETH));
    double *cellmse = malloc(sizeof(double) * per * NMETH);
    double *sel = malloc(sizeof(double) * per * 4), *vhk = malloc(sizeof(double) * per * (size_t)nr),
           *vgp = malloc(sizeof(double) * per * (size_t)nr), *vhn = malloc(sizeof(double) * per * (size_t)nl);
    double *loss = malloc(sizeof(double) * per * (size_t)E), *valc = malloc(sizeof(double) * per * (size_t)E);
    double *shows = malloc(sizeof(double) * (size_t)(nt * ns * NMETH * show * NPIX));
    double *timing = malloc(sizeof(double) * per * T_N);
    for (int m = 0; m < NMETH; m++) mse[m] = malloc(sizeof(double) * per * (size_t)T);
    for (long c = 0; c < d->n_main; c++) {
        const double *v = hntk_checkpoint_values(ck, c);
        for (int m = 0; m < NMETH; m++) {
            memcpy(mse[m] + c * T, v, sizeof(double) * (size_t)T);
            double s = 0;
            for (long t = 0; t < T; t++) s += v[t];
            cellmse[c * NMETH + m] = s / (double)T;
            v += T;
        }
        memcpy(vhk + c * nr, v, sizeof(double) * (size_t)nr), v += nr;
        memcpy(vgp + c * nr, v, sizeof(double) * (size_t)nr), v += nr;
        memcpy(vhn + c * nl, v, sizeof(double) * (size_t)nl), v += nl;
        memcpy(sel + c * 4, v, sizeof(double) * 4), v += 4;
        memcpy(loss + c * E, v, sizeof(double) * (size_t)E), v += E;
        memcpy(valc + c * E, v, sizeof(double) * (size_t)E), v += E;
        if (c % R == 0) memcpy(shows + (c / R) * NMETH * show * NPIX, v, sizeof(double) * (size_t)(NMETH * show * NPIX));
        v += NMETH * show * NPIX;
        memcpy(timing + c * T_N, v, sizeof(double) * T_N);
    }
    /* the table: mean over splits of the per-split mean MSE, and its standard error */
    printf("hyperntk complete: %s, f: L = 3, width %ld (trained); g: H = 2, width %ld; %ld Fourier features, s = %g; "
           "G = %ld pixels per image, U = %ld images per subset; %ld splits, %ld test images\n", o->data, o->f_width,
           o->g_width, o->fourier_k, o->fourier_scale, o->coords, o->subset_images, R, T);
    printf("MSE per test image (mean over test images; mean +- standard error over the %ld splits)\n", R);
    printf("%-11s %6s %20s %20s %20s %20s\n", "task", "N", "hyperkernel", "hyper-GP", "hypernetwork", "mean image");
    for (long t = 0; t < nt; t++)
        for (long k = 0; k < ns; k++) {
            int task = d->o->tasks == 2 ? 1 : (d->o->tasks == 1 ? 0 : (int)t);
            printf("%-11s %6ld", TASK_NAMES[task], o->sizes.v[k]);
            for (int m = 0; m < NMETH; m++) {
                double s = 0, s2 = 0;
                for (long r = 0; r < R; r++) s += cellmse[((t * ns + k) * R + r) * NMETH + m];
                s /= (double)R;
                for (long r = 0; r < R; r++) s2 += sq(cellmse[((t * ns + k) * R + r) * NMETH + m] - s);
                double se = sqrt(s2 / (double)(R - 1) / (double)R);
                table_m[(t * ns + k) * NMETH + m] = s, table_se[(t * ns + k) * NMETH + m] = se;
                printf("   %.5f +- %.5f", s, se);
            }
            printf("\n");
        }
    /* paired comparison hyperkernel vs hypernetwork per (task, size) */
    printf("hyperkernel - hypernetwork, paired over splits (negative: the hyperkernel is better):\n");
    double *diff = malloc(sizeof(double) * (size_t)(nt * ns * 2));
    for (long t = 0; t < nt; t++)
        for (long k = 0; k < ns; k++) {
            double s = 0, s2 = 0;
            for (long r = 0; r < R; r++) {
                long c = (t * ns + k) * R + r;
                s += cellmse[c * NMETH + M_HK] - cellmse[c * NMETH + M_HN];
            }
            s /= (double)R;
            for (long r = 0; r < R; r++) {
                long c = (t * ns + k) * R + r;
                s2 += sq(cellmse[c * NMETH + M_HK] - cellmse[c * NMETH + M_HN] - s);
            }
            double se = sqrt(s2 / (double)(R - 1) / (double)R);
            diff[(t * ns + k) * 2] = s, diff[(t * ns + k) * 2 + 1] = se;
            int task = d->o->tasks == 2 ? 1 : (d->o->tasks == 1 ? 0 : (int)t);
            printf("  %-11s N = %6ld: %+.5f +- %.5f (%.1f se)\n", TASK_NAMES[task], o->sizes.v[k], s, se, se > 0 ? s / se : 0);
        }
    /* what the validation images chose for the hypernetwork: is the training budget (lrs, epochs) binding? */
    printf("hypernetwork, chosen on the validation images per split: learning rate (count per candidate), best epoch "
           "(median; splits whose best is within the last %ld of the %ld epochs):\n", E < 5 ? 1 : E / 5, E);
    for (long t = 0; t < nt; t++)
        for (long k = 0; k < ns; k++) {
            int task = d->o->tasks == 2 ? 1 : (d->o->tasks == 1 ? 0 : (int)t);
            printf("  %-11s N = %6ld: lr", TASK_NAMES[task], o->sizes.v[k]);
            for (long li = 0; li < nl; li++) {
                long cnt = 0;
                for (long r = 0; r < R; r++) cnt += sel[(((t * ns + k) * R + r)) * 4 + 2] == d->lr[li];
                printf(" %g x%ld", d->lr[li], cnt);
            }
            double ep[1000];
            long late = 0, n = R < 1000 ? R : 1000;
            for (long r = 0; r < n; r++) {
                ep[r] = sel[((t * ns + k) * R + r) * 4 + 3];
                late += ep[r] > (double)(E - (E < 5 ? 1 : E / 5));
            }
            for (long a = 1; a < n; a++) /* insertion sort: the median */
                for (long b = a; b > 0 && ep[b - 1] > ep[b]; b--) {
                    double w = ep[b];
                    ep[b] = ep[b - 1], ep[b - 1] = w;
                }
            printf("; epoch median %g, late %ld/%ld\n", n % 2 ? ep[n / 2] : 0.5 * (ep[n / 2 - 1] + ep[n / 2]), late, n);
        }
    long d4[4] = {nt, ns, R, T}, d3[3] = {nt, ns, NMETH}, d3s[3] = {nt, ns, R};
    char name[128], desc[512];
    for (int m = 0; m < NMETH && !st; m++) {
        snprintf(name, sizeof name, "/mse/%s", METHOD_NAMES[m]);
        snprintf(desc, sizeof desc, "%s: mean squared error over the 784 pixels of each test image (tasks, sizes, splits, "
                 "test images); test image t of split r is /images/test[r, t]", METHOD_NAMES[m]);
        st = hntk_h5_write_described(f, name, 4, d4, mse[m], desc, NULL);
    }
    if (!st) st = hntk_h5_write_described(f, "/table/mse", 3, d3, table_m, "mean over splits of the mean test-image MSE "
                                          "(tasks, sizes, methods: hyperkernel, hypergp, hypernet, mean_image)", NULL);
    if (!st) st = hntk_h5_write_described(f, "/table/mse_stderr", 3, d3, table_se, "standard error of /table/mse over "
                                          "the splits: sd / sqrt(splits) (tasks, sizes, methods)", NULL);
    long dd[3] = {nt, ns, 2};
    if (!st) st = hntk_h5_write_described(f, "/table/hk_minus_hn", 3, dd, diff, "paired difference hyperkernel - "
                                          "hypernet of the split means: mean, standard error (tasks, sizes, 2)", NULL);
    if (!st) st = hntk_h5_attr_string_array(f, "/table/mse", "methods", NMETH, METHOD_NAMES);
    const char *tn[NTASK];
    for (long t = 0; t < nt; t++) tn[t] = TASK_NAMES[d->o->tasks == 2 ? 1 : (d->o->tasks == 1 ? 0 : t)];
    if (!st) st = hntk_h5_attr_string_array(f, "/table/mse", "tasks", nt, tn);
    long ls[1] = {ns};
    if (!st) st = hntk_h5_write_long(f, "/table/train_sizes", 1, ls, o->sizes.v, "training-set sizes N (sizes)");
    static const char *const selnames[4] = {"eps_hyperkernel", "eps_hypergp", "lr_hypernet", "epochs_hypernet"};
    static const char *const seldesc[4] = {
        "eps of Eq. 1 chosen on the validation images for the hyperkernel (tasks, sizes, splits)",
        "eps chosen for the hyper-GP (tasks, sizes, splits)",
        "SGD learning rate of the minibatch mean loss chosen for the hypernetwork (tasks, sizes, splits)",
        "SGD epochs of the chosen hypernetwork (0: the untrained one) (tasks, sizes, splits)"};
    double *tmp = malloc(sizeof(double) * per);
    for (int q = 0; q < 4 && !st; q++) {
        for (size_t c = 0; c < per; c++) tmp[c] = sel[c * 4 + q];
        snprintf(name, sizeof name, "/selected/%s", selnames[q]);
        st = hntk_h5_write_described(f, name, 3, d3s, tmp, seldesc[q], NULL);
    }
    free(tmp);
    long dr[4] = {nt, ns, R, nr}, dl[4] = {nt, ns, R, nl}, de[4] = {nt, ns, R, E};
    if (!st) st = hntk_h5_write_described(f, "/validation/hyperkernel", 4, dr, vhk, "validation MSE of the hyperkernel "
                                          "for every candidate eps (/validation/ridges) (tasks, sizes, splits, ridges)", NULL);
    if (!st) st = hntk_h5_write_described(f, "/validation/hypergp", 4, dr, vgp, "validation MSE of the hyper-GP per eps "
                                          "(tasks, sizes, splits, ridges)", NULL);
    if (!st) st = hntk_h5_write_described(f, "/validation/hypernet", 4, dl, vhn, "best validation MSE over epochs of the "
                                          "hypernetwork per learning rate (tasks, sizes, splits, lrs)", NULL);
    long d1r[1] = {nr}, d1l[1] = {nl};
    if (!st) st = hntk_h5_write_described(f, "/validation/ridges", 1, d1r, d->ridge, "candidate eps (ridges)", NULL);
    if (!st) st = hntk_h5_write_described(f, "/validation/lrs", 1, d1l, d->lr, "candidate learning rates of the "
                                          "minibatch mean loss; the engine's eta = lr / (N G)", NULL);
    if (!st) st = hntk_h5_write_described(f, "/train/loss", 4, de, loss, "training loss of the chosen learning rate per "
                                          "epoch: the epoch's mean minibatch estimate of (1/2) mean r^2 over the N G pairs "
                                          "(tasks, sizes, splits, epochs)", NULL);
    if (!st) st = hntk_h5_write_described(f, "/train/val_mse", 4, de, valc, "validation MSE after each epoch, chosen "
                                          "learning rate (tasks, sizes, splits, epochs)", NULL);
    /* figure: split 0's first test images */
    double *ctx = malloc(sizeof(double) * (size_t)(nt * show * NPIX)), *truth = malloc(sizeof(double) * (size_t)(show * NPIX));
    for (long t = 0; t < nt; t++) {
        int task = d->o->tasks == 2 ? 1 : (d->o->tasks == 1 ? 0 : (int)t);
        for (long s = 0; s < show; s++) {
            unsigned char mask[NPIX];
            long img = d->perm[s];
            context_mask(d, task, img, mask);
            for (long p = 0; p < NPIX; p++) {
                ctx[(t * show + s) * NPIX + p] = mask[p] ? intensity(d, img, p) : -1.0;
                truth[s * NPIX + p] = intensity(d, img, p);
            }
        }
    }
    long dshow[4] = {nt, ns, show, NPIX}, dctx[4] = {nt, show, SIDE, SIDE}, dtr[3] = {show, SIDE, SIDE};
    double *one = malloc(sizeof(double) * (size_t)(nt * ns * show * NPIX));
    for (int m = 0; m < NMETH && !st; m++) {
        for (long q = 0; q < nt * ns; q++)
            memcpy(one + q * show * NPIX, shows + (q * NMETH + m) * show * NPIX, sizeof(double) * (size_t)(show * NPIX));
        snprintf(name, sizeof name, "/figure/%s", METHOD_NAMES[m]);
        snprintf(desc, sizeof desc, "%s: predicted intensities of the first test images of split 0 (tasks, sizes, images, "
                 "784 pixels, row-major 28 x 28)", METHOD_NAMES[m]);
        st = hntk_h5_write_described(f, name, 4, dshow, one, desc, NULL);
    }
    free(one);
    /* the same as one picture per task, for gnuplot (matrix with image): the largest size, rows = test
     * images, columns = context (unobserved: -0.25), truth, hyperkernel, hypernet, hyper-GP, mean image */
    {
        enum { NCOL = 6 };
        long H = nt * show * SIDE, W = NCOL * SIDE, dm[2] = {H, W};
        double *mos = malloc(sizeof(double) * (size_t)(H * W));
        static const int col_method[NCOL] = {-2, -1, M_HK, M_HN, M_GP, M_MEAN};
        for (long t = 0; t < nt && mos; t++)
            for (long im = 0; im < show; im++)
                for (int cidx = 0; cidx < NCOL; cidx++)
                    for (long p = 0; p < NPIX; p++) {
                        long row = (t * show + im) * SIDE + p / SIDE, col = cidx * SIDE + p % SIDE;
                        double val;
                        if (col_method[cidx] == -2) {
                            double cv = ctx[(t * show + im) * NPIX + p];
                            val = cv < 0 ? -1.0 : cv;
                        } else if (col_method[cidx] == -1) val = truth[im * NPIX + p];
                        else val = shows[((t * ns + ns - 1) * NMETH + col_method[cidx]) * show * NPIX + im * NPIX + p];
                        mos[(H - 1 - row) * W + col] = val; /* gnuplot's matrix rows go up */
                    }
        if (!st) st = mos ? hntk_h5_write_described(f, "/figure/mosaic", 2, dm, mos, "the figure as one picture: per task "
                            "and shown test image a band of 28 rows; columns of 28: context (-1 unobserved), truth, "
                            "hyperkernel, hypernet, hyper-GP, mean image, at the largest training size; rows bottom-up "
                            "(gnuplot matrix)", NULL) : HNTK_ENOMEM;
        free(mos);
    }
    if (!st) st = hntk_h5_write_described(f, "/figure/context", 4, dctx, ctx, "their context: observed intensity, -1 where "
                                          "unobserved (tasks, images, 28, 28)", NULL);
    if (!st) st = hntk_h5_write_described(f, "/figure/truth", 3, dtr, truth, "their true intensities (images, 28, 28)", NULL);
    if (!st && o->interp_train > 0) {
        const double *v = hntk_checkpoint_values(ck, d->n_main);
        long np = o->interp_pairs, K = o->interp_steps;
        long dp[2] = {np, 2}, ds[4] = {np, K, SIDE, SIDE};
        double lab[32];
        for (long q = 0; q < 2 * np; q++) lab[q] = v[q] >= 0 ? d->labels[d->perm[(long)v[q]]] : -1;
        st = hntk_h5_write_described(f, "/interp/pairs", 2, dp, v, "the pairs: positions in split 0's test images "
                                     "(/images/test[0, .]) (pairs, 2); -1: no pair found", NULL);
        if (!st) st = hntk_h5_write_described(f, "/interp/labels", 2, dp, lab, "their class labels (pairs, 2)", NULL);
        if (!st) st = hntk_h5_write_described(f, "/interp/hyperkernel", 4, ds, v + 2 * np, "hyperkernel: rows "
                                              "(1-t) Theta^h(u, U) + t Theta^h(v, U) times the Eq. 1 coefficients, t = "
                                              "k/(K-1), completion (pairs, steps, 28, 28)", NULL);
        if (!st) st = hntk_h5_write_described(f, "/interp/hypernet", 4, ds, v + 2 * np + np * K * NPIX, "hypernetwork: "
                                              "g(z; (1-t) f(x_a) + t f(x_b)) (pairs, steps, 28, 28)", NULL);
        if (!st) st = hntk_h5_attr_long(f, "/interp/hyperkernel", "train_images", o->interp_train);
        /* one picture: per pair two bands (hyperkernel, hypernet), steps left to right */
        long H = 2 * np * SIDE, W = K * SIDE, dm[2] = {H, W};
        double *mos = calloc((size_t)(H * W), sizeof(double));
        for (long q = 0; q < np && mos; q++)
            for (int m = 0; m < 2; m++)
                for (long k2 = 0; k2 < K; k2++)
                    for (long p = 0; p < NPIX; p++) {
                        long row = (2 * q + m) * SIDE + p / SIDE, col = k2 * SIDE + p % SIDE;
                        mos[(H - 1 - row) * W + col] = v[2 * np + m * np * K * NPIX + (q * K + k2) * NPIX + p];
                    }
        if (!st) st = mos ? hntk_h5_write_described(f, "/interp/mosaic", 2, dm, mos, "the strips as one picture: per pair "
                            "a hyperkernel band then a hypernet band of 28 rows, steps left to right; rows bottom-up "
                            "(gnuplot matrix)", NULL) : HNTK_ENOMEM;
        free(mos);
    }
    free(ctx), free(truth);
    /* inputs: images, coordinates, features */
    long dperm[2] = {R, d->pool}, dz[2] = {NPIX, 2}, dfq[2] = {o->fourier_k, 2}, dph[1] = {o->fourier_k};
    if (!st) st = hntk_h5_write_long(f, "/images/split_order", 2, dperm, d->perm, "image indices of the training file "
                                     "per split: test images first, then validation, then the nested training images "
                                     "(splits, T + V + max N)");
    if (!st) st = hntk_h5_attr_long(f, "/images/split_order", "test_images", T);
    if (!st) st = hntk_h5_attr_long(f, "/images/split_order", "val_images", o->val_images);
    {
        long *tp = malloc(sizeof(long) * (size_t)(R * T)), dt[2] = {R, T};
        for (long r = 0; r < R; r++)
            for (long t = 0; t < T; t++) tp[r * T + t] = d->perm[r * d->pool + t];
        if (!st) st = hntk_h5_write_long(f, "/images/test", 2, dt, tp, "test image indices of the training file (splits, T)");
        free(tp);
    }
    if (!st) st = hntk_h5_write_described(f, "/inputs/coords", 2, dz, d->coords, "z of pixel p = 28 row + col: (row/27, "
                                          "col/27) (784, 2)", NULL);
    if (!st) st = hntk_h5_write_described(f, "/inputs/fourier_freq", 2, dfq, d->freq, "Fourier frequencies w_i (already "
                                          "divided by s) (k, 2); a^0_i = sqrt(2) cos(w_i.z + b_i)", NULL);
    if (!st) st = hntk_h5_write_described(f, "/inputs/fourier_phase", 1, dph, d->phase, "Fourier phases b_i (k)", NULL);
    long dphi[2] = {NPIX, o->fourier_k};
    if (!st) st = hntk_h5_write_described(f, "/inputs/features", 2, dphi, d->phi, "the features at every pixel, g's "
                                          "input and the z of the kernels (784, k)", NULL);
    long d2[1] = {NTASK};
    if (!st) st = hntk_h5_write_described(f, "/inputs/x_scale", 1, d2, d->scale, "x = scale * (context pixels / 255), 0 "
                                          "elsewhere, per task (completion, inpainting): mean |x|^2/784 = 1 over the first "
                                          "1000 images of the file", NULL);
    if (!st) st = hntk_h5_attr_string(f, "/inputs", "streams", "split r: hntk_train_permutation(derive_key(seed, "
                                      "\"complspl\"), r, images); training pixels of image i: the first G of a Fisher-"
                                      "Yates shuffle of 0..783 from stream (derive_key(seed, \"complpix\"), 0, 6003, i); "
                                      "inpainting context: the first round(p 784) of stream (same key, 0, 6004, i)");
    double tsum[T_N] = {0};
    for (size_t c = 0; c < per; c++)
        for (int q = 0; q < T_N; q++) tsum[q] += timing[c * T_N + q];
    long dtm[1] = {T_N};
    if (!st) st = hntk_h5_write_described(f, "/timing/totals", 1, dtm, tsum, "sums over the main cells: Gram assembly "
                                          "seconds, Gram entries (B^2 per subset, Theta^h and Lambda^H in one pass), "
                                          "Cholesky seconds (summed over the factorizations and solves; the two kernels' "
                                          "run concurrently), Cholesky flops, cross-kernel seconds, cross entries, "
                                          "training seconds (7); wall times, not reproducible", NULL);
    if (!st) {
        printf("timing (all cells): Gram assembly %.2f s for %.3g entries (%.1f ns per entry); Cholesky %.2f s, %.2f "
               "GFLOP/s; cross kernels %.2f s (%.1f ns per entry); training %.2f s\n", tsum[T_GRAM], tsum[T_GRAM_FLOPS_ROWS],
               1e9 * tsum[T_GRAM] / tsum[T_GRAM_FLOPS_ROWS], tsum[T_CHOL], 1e-9 * tsum[T_CHOL_FLOPS] / tsum[T_CHOL],
               tsum[T_CROSS], 1e9 * tsum[T_CROSS] / tsum[T_CROSS_PAIRS], tsum[T_TRAIN]);
    }
    free(table_m), free(table_se), free(cellmse), free(sel), free(vhk), free(vgp), free(vhn), free(loss), free(valc);
    free(shows), free(timing), free(diff);
    for (int m = 0; m < NMETH; m++) free(mse[m]);
    return opts_commit_result(f, st, &COMMAND, o, out);
}

int hntk_cmd_complete(int argc, char **argv)
{
    complete_opts o;
    memset(&o, 0, sizeof o);
    opts_state state;
    int st = grid_parse(&COMMAND, argc, argv, &o, &o.run, &state);
    if (st) return st < 0 ? CLI_EXIT_OK : st;
    complete_data d = {.o = &o};
    if (!st) st = parse_reals("ridges", o.ridges, d.ridge, MAX_RIDGES, &d.n_ridges);
    if (!st) st = parse_reals("lrs", o.lrs, d.lr, MAX_LRS, &d.n_lrs);
    if (!st) st = load_data(&d);
    d.n_tasks = o.tasks == 0 ? 2 : 1;
    d.n_sizes = o.sizes.n;
    d.n_main = d.n_tasks * d.n_sizes * o.splits;
    d.cells = d.n_main + (o.interp_train > 0);
    long maxN = o.sizes.v[o.sizes.n - 1] > o.interp_train ? o.sizes.v[o.sizes.n - 1] : o.interp_train;
    d.pool = o.test_images + o.val_images + maxN;
    if (!st && d.pool > d.n_img)
        st = hntk_fail(HNTK_EINVAL, "%ld test + %ld validation + %ld training images exceed the %ld images of %s",
                       o.test_images, o.val_images, maxN, d.n_img, o.data);
    d.key_split = hntk_rng_derive_key(o.run.seed, KEY_SPLIT);
    d.key_pix = hntk_rng_derive_key(o.run.seed, KEY_PIX);
    d.key_net = hntk_rng_derive_key(o.run.seed, KEY_NET);
    hntk_hyper_arch a = {.f_depth = 3, .f_width = o.f_width, .x_dim = NPIX, .g_depth = 2, .g_width = o.g_width,
                         .z_dim = 2, .fourier_k = o.fourier_k, .fourier_scale = o.fourier_scale};
    d.net_arch = a;
    d.kern_arch = (hntk_hyper_arch){.f_depth = 3, .f_width = 1, .x_dim = NPIX, .g_depth = 2, .g_width = 1,
                                    .z_dim = o.fourier_k};
    if (!st) st = hntk_hyper_arch_validate(&a);
    if (!st) {
        d.freq = malloc(sizeof(double) * (size_t)(2 * o.fourier_k));
        d.phase = malloc(sizeof(double) * (size_t)o.fourier_k);
        d.phi = malloc(sizeof(double) * (size_t)(NPIX * o.fourier_k));
        d.perm = malloc(sizeof(long) * (size_t)(o.splits * d.pool));
        if (!d.freq || !d.phase || !d.phi || !d.perm) st = hntk_fail(HNTK_ENOMEM, "cannot allocate the inputs");
    }
    long *full = NULL;
    if (!st && !(full = malloc(sizeof(long) * (size_t)d.n_img))) st = hntk_fail(HNTK_ENOMEM, "cannot allocate a split");
    for (long r = 0; r < o.splits && !st; r++) {
        st = hntk_train_permutation(d.key_split, (uint32_t)r, d.n_img, full);
        if (!st) memcpy(d.perm + r * d.pool, full, sizeof(long) * (size_t)d.pool);
    }
    free(full);
    if (!st) {
        for (long p = 0; p < NPIX; p++) d.coords[2 * p] = (p / SIDE) / 27.0, d.coords[2 * p + 1] = (p % SIDE) / 27.0;
        hntk_fourier_draw(&a, o.run.seed, HNTK_FOURIER_RUN_SAMPLE, d.freq, d.phase);
        hntk_fourier_features(o.fourier_k, 2, d.freq, d.phase, NPIX, d.coords, d.phi);
        d.scale[0] = d.scale[1] = 1.0;
        for (int t = 0; t < NTASK; t++) {
            double s = 0.0, x[NPIX];
            long n = d.n_img < 1000 ? d.n_img : 1000;
            for (long i = 0; i < n; i++) {
                input_of(&d, t, i, x);
                for (long p = 0; p < NPIX; p++) s += x[p] * x[p];
            }
            d.scale[t] = sqrt((double)NPIX * (double)n / s);
        }
    }
    d.cell_dim = main_cell_dim(&d);
    d.interp_dim = o.interp_train > 0 ? interp_cell_dim(&d) : 0;
    long dim = d.cell_dim > d.interp_dim ? d.cell_dim : d.interp_dim;

    /* the resumable loop over cells (checkpoint after each) */
    hntk_h5_install_signal_cleanup();
    grid_signals_install();
    char *config = NULL, *ckpath = NULL;
    hntk_checkpoint *ck = NULL;
    double *values = NULL;
    long computed = 0, loaded = 0;
    if (!st) st = grid_check_out_dir(o.run.out);
    if (!st) st = opts_config_string(&COMMAND, &o, 1, &config);
    if (!st && !(ckpath = grid_checkpoint_path(o.run.out))) st = hntk_fail(HNTK_ENOMEM, "out of memory");
    if (!st) st = hntk_checkpoint_open(ckpath, config, d.cells, dim, !o.run.restart, &ck);
    if (!st && !(values = calloc((size_t)dim, sizeof(double)))) st = hntk_fail(HNTK_ENOMEM, "out of memory");
    grid_progress prog;
    double total = 0.0;
    for (long c = 0; c < d.cells; c++) {
        int t; long k, r;
        if (c < d.n_main) cell_coords(&d, c, &t, &k, &r), total += (double)o.sizes.v[k] + 20.0;
        else total += (double)o.interp_train + 20.0;
    }
    if (!st) {
        loaded = hntk_checkpoint_cells_done(ck);
        if (loaded > 0)
            fprintf(stderr, "hyperntk complete: resuming from %s: %ld of %ld cells done\n", ckpath, loaded, d.cells);
        grid_progress_init(&prog, CMD, total);
    }
    for (long c = 0; c < d.cells && !st; c++) {
        int t; long k = 0, r = 0;
        double cost = (double)o.interp_train + 20.0;
        char label[200];
        if (c < d.n_main) {
            cell_coords(&d, c, &t, &k, &r);
            cost = (double)o.sizes.v[k] + 20.0;
            snprintf(label, sizeof label, "cell %ld/%ld (%s, N = %ld, split %ld)", c + 1, d.cells, TASK_NAMES[t],
                     o.sizes.v[k], r);
        } else snprintf(label, sizeof label, "cell %ld/%ld (interpolation, N = %ld)", c + 1, d.cells, o.interp_train);
        if (hntk_checkpoint_is_done(ck, c)) {
            grid_progress_skip(&prog, cost);
            continue;
        }
        if (grid_should_stop(computed, o.run.stop_after)) {
            grid_report_stop(CMD, computed, o.run.stop_after, hntk_checkpoint_cells_done(ck), d.cells, "cells", ckpath);
            st = HNTK_EINTR;
            break;
        }
        grid_progress_begin_cell(&prog, cost, label);
        double t0 = cli_now();
        memset(values, 0, sizeof(double) * (size_t)dim);
        st = run_cell(&d, c, values);
        if (!st) st = hntk_checkpoint_store(ck, c, values, cli_now() - t0);
        grid_progress_end_cell(&prog);
        computed++;
    }
    int code;
    if (st == HNTK_EINTR) {
        code = GRID_EXIT_INCOMPLETE;
    } else {
        if (!st) {
            grid_progress_end(&prog);
            opts_output out = {&state, argc, argv, hntk_checkpoint_seconds(ck)};
            st = write_results(&d, ck, &out);
            if (!st) st = hntk_checkpoint_remove(ck);
            if (!st) grid_print_wrote(o.run.out, out.wall, hntk_mc_max_threads(), loaded);
        }
        code = st ? cli_report(CMD, st) : CLI_EXIT_OK;
    }
    hntk_checkpoint_free(ck);
    free(config), free(ckpath), free(values);
    free(d.pix), free(d.labels), free(d.freq), free(d.phase), free(d.phi), free(d.perm);
    if (code == GRID_EXIT_INCOMPLETE) grid_die_if_signalled();
    return code;
}
