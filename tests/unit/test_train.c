/* test_train.c: the training engine (train.h) against independent references:
 * every parameter gradient of the squared loss against central finite
 * differences and against sum_b r_b dh(u_b)/dW^l from net.h's explicit
 * rank-one gradients; a tiny GD step changes the loss by -eta |grad|^2 and the
 * residuals by -eta K^h r (the linearized model) to second order in eta; GD
 * decreases the loss monotonically at eta = 1/lambda_max(K^h); SGD's
 * permutations are permutations, uniform (chi-square) and a function of
 * (key, epoch) only; one SGD epoch with the whole set as its batch equals a GD
 * step; two threads training their own copies give the same bits as one;
 * bad arguments are refused with their value named.  With C > 1 outputs of
 * g: the seeded backward pass against finite differences of the weighted
 * outputs, the squared and cross-entropy losses' gradients against central
 * differences of losses written out here, chunked full-batch gradients
 * against one batch, the per-layer rates, a separable 3-class problem
 * learned to 100% accuracy by SGD, and the scalar-only modules refusing
 * g_out > 1.  With biases: the forward pass against the network written out
 * by loops, every weight and bias gradient against central differences, the
 * NTK Gram against the Gram of a finite-difference Jacobian. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_matrix.h>

#include "hyperntk/hyperntk.h"
#include "testing.h"

enum { NT = 7 };

static hntk_hyper_arch tiny_arch(void)
{
    hntk_hyper_arch a = {0};
    a.f_depth = 3;
    a.f_width = 6;
    a.x_dim = 3;
    a.g_depth = 2;
    a.g_width = 4;
    a.z_dim = 2;
    a.fourier_scale = 1.0;
    return a;
}

static void data(const hntk_hyper_arch *a, double *X, double *Z, double *y)
{
    hntk_random_directions(11, HNTK_TENSOR_INPUT_X, X, NT, (size_t)a->x_dim);
    hntk_random_directions(11, HNTK_TENSOR_INPUT_Z, Z, NT, (size_t)a->z_dim);
    for (int i = 0; i < NT; i++) y[i] = sin(1.0 + 2.0 * i);
}

static double loss_at(hntk_train *t, const double *X, const double *Z, const double *y)
{
    double h[NT], c = 0.0;
    hntk_net_forward(hntk_train_net(t), NT, X, Z, h);
    for (int i = 0; i < NT; i++) c += 0.5 * (h[i] - y[i]) * (h[i] - y[i]);
    return c;
}

static void test_gradients(void)
{
    hntk_hyper_arch a = tiny_arch();
    hntk_train *t;
    CHECK(hntk_train_alloc(&a, NT, 0, &t) == HNTK_OK, "alloc: %s", hntk_last_error());
    hntk_net *net = hntk_train_net(t);
    hntk_net_sample_weights(net, 5, 0);
    double X[NT * 3], Z[NT * 2], y[NT], c;
    data(&a, X, Z, y);
    CHECK(hntk_train_loss_grad(t, NT, X, Z, y, 1.0, &c) == HNTK_OK, "loss_grad: %s", hntk_last_error());
    CHECK_CLOSE(c, loss_at(t, X, Z, y), 1e-15);
    /* explicit: sum_b r_b dh(u_b)/dW^l, net.h's rank-one gradients */
    hntk_train_loss_grad(t, NT, X, Z, y, 1.0, &c);
    const double *r = hntk_train_residuals(t);
    double max_explicit = 0.0, max_fd = 0.0, gmax = 0.0;
    long checked = 0;
    for (int l = 1; l <= a.f_depth; l++) {
        long nl = hntk_f_layer_width(&a, l), np = hntk_f_layer_width(&a, l - 1);
        double *ref = calloc((size_t)(nl * np), sizeof(double)), *gb = malloc(sizeof(double) * (size_t)(nl * np));
        for (long b = 0; b < NT; b++) {
            hntk_net_weight_grad(net, b, l, gb);
            for (long k = 0; k < nl * np; k++) ref[k] += r[b] * gb[k];
        }
        const double *G = hntk_train_grad(t, l);
        for (long k = 0; k < nl * np; k++) {
            double d = fabs(G[k] - ref[k]);
            if (d > max_explicit) max_explicit = d;
            if (fabs(G[k]) > gmax) gmax = fabs(G[k]);
        }
        free(ref);
        free(gb);
    }
    CHECK(max_explicit <= 1e-13 * gmax, "gradient vs explicit sum_b r_b dh/dW: %.3g (scale %.3g)", max_explicit, gmax);
    /* central finite differences of C in every weight (masks checked not to flip: the loss is
     * smooth there, so the 4-point and 2-point differences agree) */
    hntk_train_loss_grad(t, NT, X, Z, y, 1.0, &c);
    double *Gs[HNTK_MAX_DEPTH + 1];
    for (int l = 1; l <= a.f_depth; l++) {
        long k = hntk_f_layer_width(&a, l) * hntk_f_layer_width(&a, l - 1);
        Gs[l] = malloc(sizeof(double) * (size_t)k);
        memcpy(Gs[l], hntk_train_grad(t, l), sizeof(double) * (size_t)k);
    }
    const double eps = 1e-5;
    for (int l = 1; l <= a.f_depth; l++) {
        long k = hntk_f_layer_width(&a, l) * hntk_f_layer_width(&a, l - 1);
        double *W = hntk_net_weights(net, l);
        for (long i = 0; i < k; i++) {
            double w0 = W[i];
            W[i] = w0 + eps; double cp = loss_at(t, X, Z, y);
            W[i] = w0 - eps; double cm = loss_at(t, X, Z, y);
            W[i] = w0 + 2 * eps; double cp2 = loss_at(t, X, Z, y);
            W[i] = w0 - 2 * eps; double cm2 = loss_at(t, X, Z, y);
            W[i] = w0;
            double fd = (cp - cm) / (2 * eps), fd4 = (8 * (cp - cm) - (cp2 - cm2)) / (12 * eps);
            if (fabs(fd - fd4) > 1e-6 * gmax) continue; /* a mask flipped inside the stencil */
            checked++;
            double d = fabs(Gs[l][i] - fd);
            if (d > max_fd) max_fd = d;
        }
        free(Gs[l]);
    }
    long total = hntk_param_count(&a);
    CHECK(checked >= total - 3, "finite differences: only %ld of %ld weights without a mask flip", checked, total);
    CHECK(max_fd <= 1e-7 * gmax, "gradient vs central differences: %.3g (scale %.3g, %ld weights)", max_fd, gmax,
          checked);
    printf("gradients: %ld weights, |G - explicit| = %.2g, |G - central FD| = %.2g (|G| up to %.3g)\n", total,
           max_explicit, max_fd, gmax);
    /* scale multiplies the stored gradient (by a power of two: exactly) */
    hntk_train_loss_grad(t, NT, X, Z, y, 1.0, &c);
    double g1 = hntk_train_grad(t, 2)[3];
    hntk_train_loss_grad(t, NT, X, Z, y, 4.0, &c);
    CHECK(hntk_train_grad(t, 2)[3] == 4.0 * g1, "scale 4: %.17g, want %.17g", hntk_train_grad(t, 2)[3], 4.0 * g1);
    hntk_train_free(t);
}

/* The largest eigenvalue of a symmetric n x n matrix. */
static double lambda_max(const double *K, int n)
{
    gsl_matrix *M = gsl_matrix_alloc((size_t)n, (size_t)n);
    memcpy(M->data, K, sizeof(double) * (size_t)(n * n));
    gsl_vector *ev = gsl_vector_alloc((size_t)n);
    gsl_eigen_symm_workspace *w = gsl_eigen_symm_alloc((size_t)n);
    gsl_eigen_symm(M, ev, w);
    double mx = gsl_vector_max(ev);
    gsl_eigen_symm_free(w);
    gsl_vector_free(ev);
    gsl_matrix_free(M);
    return mx;
}

static void test_linearized_step(void)
{
    hntk_hyper_arch a = tiny_arch();
    a.f_width = 40;
    a.g_width = 12;
    hntk_train *t;
    hntk_train_alloc(&a, NT, 0, &t);
    hntk_net *net = hntk_train_net(t);
    hntk_net_sample_weights(net, 9, 3);
    double X[NT * 3], Z[NT * 2], y[NT], K[NT * NT], c0, c1, r0[NT], h1[NT];
    data(&a, X, Z, y);
    hntk_train_loss_grad(t, NT, X, Z, y, 1.0, &c0);
    memcpy(r0, hntk_train_residuals(t), sizeof r0);
    hntk_net_ntk_gram(net, K);
    double g2 = 0.0, kr2 = 0.0;
    for (int l = 1; l <= a.f_depth; l++) {
        long k = hntk_f_layer_width(&a, l) * hntk_f_layer_width(&a, l - 1);
        for (long i = 0; i < k; i++) g2 += hntk_train_grad(t, l)[i] * hntk_train_grad(t, l)[i];
    }
    /* |grad C|^2 = r^T K r exactly (the Gram of the parameter gradients) */
    double rKr = 0.0;
    for (int i = 0; i < NT; i++)
        for (int j = 0; j < NT; j++) rKr += r0[i] * K[i * NT + j] * r0[j];
    CHECK_CLOSE(g2, rKr, 1e-12);
    const double eta[2] = {1e-4, 2e-4};
    double err[2];
    for (int e = 0; e < 2; e++) {
        hntk_net_sample_weights(net, 9, 3);
        hntk_train_gd_step(t, NT, X, Z, y, eta[e], NULL);
        hntk_net_forward(net, NT, X, Z, h1);
        c1 = loss_at(t, X, Z, y);
        /* C changes by -eta |g|^2 + O(eta^2); r by -eta K r + O(eta^2) */
        CHECK(fabs((c1 - c0) / (-eta[e] * g2) - 1.0) < 50 * eta[e] * lambda_max(K, NT) + 1e-6,
              "dC = %.6g, linearized %.6g (eta %g)", c1 - c0, -eta[e] * g2, eta[e]);
        double d2 = 0.0;
        for (int i = 0; i < NT; i++) {
            double kr = 0.0;
            for (int j = 0; j < NT; j++) kr += K[i * NT + j] * r0[j];
            double pred = r0[i] - eta[e] * kr, got = h1[i] - y[i];
            d2 += (got - pred) * (got - pred);
            if (e == 0) kr2 += kr * kr;
        }
        err[e] = sqrt(d2);
    }
    /* the residual of the linearization is second order: doubling eta quadruples it */
    CHECK(err[1] / err[0] > 3.6 && err[1] / err[0] < 4.4, "linearization error %.3g -> %.3g for 2 eta: ratio %.3f, want 4",
          err[0], err[1], err[1] / err[0]);
    CHECK(err[0] < 1e-2 * eta[0] * sqrt(kr2), "linearization error %.3g vs first-order change %.3g", err[0],
          eta[0] * sqrt(kr2));
    printf("tiny GD step: |r1 - (r0 - eta K r0)| = %.3g at eta 1e-4, ratio %.3f at 2 eta\n", err[0], err[1] / err[0]);
    /* GD at eta = 1/lambda_max decreases the loss at every one of 200 steps */
    hntk_net_sample_weights(net, 9, 3);
    double eta_gd = 1.0 / lambda_max(K, NT), prev = INFINITY, c = 0.0;
    int monotone = 1;
    for (int s = 0; s < 200; s++) {
        hntk_train_gd_step(t, NT, X, Z, y, eta_gd, &c);
        if (!(c <= prev)) monotone = 0;
        prev = c;
    }
    CHECK(monotone && c < 1e-2 * c0, "GD: loss %.3g -> %.3g in 200 steps, monotone %d", c0, c, monotone);
    printf("GD at eta = 1/lambda_max: loss %.4g -> %.3g in 200 steps\n", c0, c);
    hntk_train_free(t);
}

static void test_sgd(void)
{
    /* permutations */
    enum { PN = 6, EPOCHS = 6000 };
    long perm[PN], perm2[PN], counts[PN][PN] = {{0}};
    int ok = 1;
    for (long e = 0; e < EPOCHS; e++) {
        hntk_train_permutation(77, (uint32_t)e, PN, perm);
        int seen[PN] = {0};
        for (int i = 0; i < PN; i++) {
            if (perm[i] < 0 || perm[i] >= PN || seen[perm[i]]++) ok = 0;
            else counts[i][perm[i]]++;
        }
    }
    CHECK(ok, "hntk_train_permutation gave something that is not a permutation");
    double chi2 = 0.0, expct = EPOCHS / (double)PN;
    for (int i = 0; i < PN; i++)
        for (int j = 0; j < PN; j++) chi2 += (counts[i][j] - expct) * (counts[i][j] - expct) / expct;
    /* (PN-1)^2 = 25 degrees of freedom */
    double p = gsl_cdf_chisq_Q(chi2, 25.0);
    CHECK(p > 1e-4, "positions of the permutation not uniform: chi2 = %.3g, p = %.3g", chi2, p);
    hntk_train_permutation(77, 5, PN, perm);
    hntk_train_permutation(77, 5, PN, perm2);
    CHECK(!memcmp(perm, perm2, sizeof perm), "the permutation is not a function of (key, epoch)");
    hntk_train_permutation(77, 6, PN, perm2);
    CHECK(memcmp(perm, perm2, sizeof perm), "epochs 5 and 6 gave the same permutation");

    hntk_hyper_arch a = tiny_arch();
    double X[NT * 3], Z[NT * 2], y[NT];
    data(&a, X, Z, y);
    hntk_train *t, *u;
    hntk_train_alloc(&a, NT, 0, &t);
    hntk_train_alloc(&a, NT, 0, &u);
    hntk_net_sample_weights(hntk_train_net(t), 5, 1);
    hntk_net_sample_weights(hntk_train_net(u), 5, 1);
    double l1, l2;
    hntk_train_sgd_epoch(t, 3, 0, NT, X, Z, y, NT, 0.05, &l1);
    hntk_train_gd_step(u, NT, X, Z, y, 0.05, &l2);
    CHECK_CLOSE(l1, l2, 1e-14);
    double dmax = 0.0;
    for (int l = 1; l <= a.f_depth; l++) {
        long k = hntk_f_layer_width(&a, l) * hntk_f_layer_width(&a, l - 1);
        for (long i = 0; i < k; i++) {
            double d = fabs(hntk_net_weights(hntk_train_net(t), l)[i] - hntk_net_weights(hntk_train_net(u), l)[i]);
            if (d > dmax) dmax = d;
        }
    }
    CHECK(dmax < 1e-13, "SGD with batch = N differs from a GD step by %.3g", dmax);
    /* SGD with minibatches of 2 lowers the loss over 300 epochs */
    hntk_net_sample_weights(hntk_train_net(t), 5, 1);
    double first = loss_at(t, X, Z, y);
    for (uint32_t e = 0; e < 300; e++) hntk_train_sgd_epoch(t, 3, e, NT, X, Z, y, 2, 0.02, NULL);
    double last = loss_at(t, X, Z, y);
    CHECK(last < 0.1 * first, "SGD: loss %.3g -> %.3g", first, last);
    printf("SGD (batch 2, eta 0.02, 300 epochs): loss %.4g -> %.3g\n", first, last);
    /* two threads, each training its own copy, give the bits of one */
    double final_w[2];
#pragma omp parallel for num_threads(2)
    for (int k = 0; k < 2; k++) {
        hntk_train *v;
        hntk_train_alloc(&a, NT, 0, &v);
        hntk_net_sample_weights(hntk_train_net(v), 5, 1);
        for (uint32_t e = 0; e < 300; e++) hntk_train_sgd_epoch(v, 3, e, NT, X, Z, y, 2, 0.02, NULL);
        final_w[k] = hntk_net_weights(hntk_train_net(v), 2)[7];
        hntk_train_free(v);
    }
    CHECK(final_w[0] == final_w[1] && final_w[0] == hntk_net_weights(hntk_train_net(t), 2)[7],
          "SGD not reproducible across threads: %.17g %.17g %.17g", final_w[0], final_w[1],
          hntk_net_weights(hntk_train_net(t), 2)[7]);
    /* errors name the value and the range */
    CHECK(hntk_train_sgd_epoch(t, 3, 0, NT, X, Z, y, NT + 1, 0.1, NULL) == HNTK_EINVAL &&
              strstr(hntk_last_error(), "minibatch size = 8") && strstr(hntk_last_error(), "1..7"),
          "batch NT+1: %s", hntk_last_error());
    CHECK(hntk_train_gd_step(t, NT, X, Z, y, NAN, NULL) == HNTK_EINVAL && strstr(hntk_last_error(), "eta = nan"),
          "eta NaN: %s", hntk_last_error());
    double ybad[NT];
    memcpy(ybad, y, sizeof ybad);
    ybad[4] = INFINITY;
    CHECK(hntk_train_gd_step(t, NT, X, Z, ybad, 0.1, NULL) == HNTK_EINVAL && strstr(hntk_last_error(), "y[4] = inf"),
          "y inf: %s", hntk_last_error());
    CHECK(hntk_train_loss_grad(t, 0, X, Z, y, 1.0, NULL) == HNTK_EINVAL && strstr(hntk_last_error(), "1..7"),
          "B = 0: %s", hntk_last_error());
    hntk_train *w;
    CHECK(hntk_train_alloc(&a, 0, 0, &w) == HNTK_EINVAL && !w, "n_train 0");
    CHECK(hntk_train_alloc(&a, NT, 100, &w) == HNTK_EBUDGET && strstr(hntk_last_error(), "budget"), "budget: %s",
          hntk_last_error());
    hntk_train_free(t);
    hntk_train_free(u);
}


/* ---------------------------------------------------------------- several outputs */

enum { NC = 3 };

static hntk_hyper_arch multi_arch(void)
{
    hntk_hyper_arch a = tiny_arch();
    a.g_out = NC;
    return a;
}

/* The loss of nc outputs written out from the outputs (independent of train.c). */
static double loss_multi_n(hntk_train *t, hntk_loss loss, int nc, long N, const double *X, const double *Z,
                           const double *y)
{
    double h[NT * NC], c = 0.0;
    hntk_net_forward(hntk_train_net(t), N, X, Z, h);
    for (long b = 0; b < N; b++) {
        const double *hb = h + b * nc;
        if (loss == HNTK_LOSS_SQUARED) {
            for (int k = 0; k < nc; k++) c += 0.5 * (hb[k] - y[b * nc + k]) * (hb[k] - y[b * nc + k]);
        } else {
            double s = 0.0;
            for (int k = 0; k < nc; k++) s += exp(hb[k]);
            c += log(s) - hb[(int)y[b]];
        }
    }
    return c;
}

static double loss_multi(hntk_train *t, hntk_loss loss, long N, const double *X, const double *Z, const double *y)
{
    return loss_multi_n(t, loss, NC, N, X, Z, y);
}

/* max |G - central FD| over every weight whose stencil has no mask flip; *gmax the largest |G|. */
static double fd_check(hntk_train *t, hntk_loss loss, const hntk_hyper_arch *a, const double *X, const double *Z,
                       const double *y, double *gmax, long *checked)
{
    double c, worst = 0.0;
    hntk_train_loss_grad(t, NT, X, Z, y, 1.0, &c);
    CHECK_CLOSE(c, loss_multi(t, loss, NT, X, Z, y), 1e-14);
    *gmax = 0.0;
    *checked = 0;
    hntk_net *net = hntk_train_net(t);
    for (int l = 1; l <= a->f_depth; l++) {
        long k = hntk_f_layer_width(a, l) * hntk_f_layer_width(a, l - 1);
        double *G = malloc(sizeof(double) * (size_t)k), *W = hntk_net_weights(net, l);
        memcpy(G, hntk_train_grad(t, l), sizeof(double) * (size_t)k);
        for (long i = 0; i < k; i++) {
            if (fabs(G[i]) > *gmax) *gmax = fabs(G[i]);
            const double eps = 1e-5;
            double w0 = W[i];
            W[i] = w0 + eps; double cp = loss_multi(t, loss, NT, X, Z, y);
            W[i] = w0 - eps; double cm = loss_multi(t, loss, NT, X, Z, y);
            W[i] = w0 + 2 * eps; double cp2 = loss_multi(t, loss, NT, X, Z, y);
            W[i] = w0 - 2 * eps; double cm2 = loss_multi(t, loss, NT, X, Z, y);
            W[i] = w0;
            double fd = (cp - cm) / (2 * eps), fd4 = (8 * (cp - cm) - (cp2 - cm2)) / (12 * eps);
            if (fabs(fd - fd4) > 1e-6 * (fabs(fd) + 1e-3)) continue; /* a mask flipped inside the stencil */
            (*checked)++;
            if (fabs(G[i] - fd) > worst) worst = fabs(G[i] - fd);
        }
        free(G);
    }
    return worst;
}

static void multi_data(const hntk_hyper_arch *a, double *X, double *Z, double *ysq, double *labels)
{
    double y1[NT];
    data(a, X, Z, y1);
    for (int b = 0; b < NT; b++) {
        for (int k = 0; k < NC; k++) ysq[b * NC + k] = cos(0.7 * b + 1.3 * k);
        labels[b] = (double)((b * 2 + 1) % NC);
    }
}

static void test_multi_output(void)
{
    hntk_hyper_arch a = multi_arch();
    double X[NT * 3], Z[NT * 2], ysq[NT * NC], lab[NT];
    multi_data(&a, X, Z, ysq, lab);

    /* the seeded backward pass: c_b = d(seed_b . h(u_b))/dv against central differences in v
     * through hntk_net_g_eval (g is smooth in v away from mask flips) */
    hntk_net *net;
    CHECK(hntk_net_alloc(&a, NT, 0, &net) == HNTK_OK, "alloc C = 3: %s", hntk_last_error());
    hntk_net_sample_weights(net, 4, 2);
    double h[NT * NC], seed[NT * NC];
    hntk_net_forward(net, NT, X, Z, h);
    for (int i = 0; i < NT * NC; i++) seed[i] = sin(0.3 + i);
    hntk_net_backward_seeded(net, seed);
    long P = hntk_f_out_dim(&a);
    CHECK(P == 2 * 4 + NC * 4, "P = %ld with g_out = 3, want %d", P, 2 * 4 + NC * 4);
    double *v = malloc(sizeof(double) * (size_t)P), hp[NC], hm[NC], worst = 0.0;
    for (int b = 0; b < NT; b++) {
        memcpy(v, hntk_net_f_output(net) + b * P, sizeof(double) * (size_t)P);
        const double *c = hntk_net_dh_dv(net) + b * P;
        for (long p = 0; p < P; p++) {
            double v0 = v[p], e = 1e-6;
            v[p] = v0 + e; hntk_net_g_eval(net, v, 1, Z + 2 * b, hp);
            v[p] = v0 - e; hntk_net_g_eval(net, v, 1, Z + 2 * b, hm);
            v[p] = v0;
            double fd = 0.0;
            for (int k = 0; k < NC; k++) fd += seed[b * NC + k] * (hp[k] - hm[k]) / (2 * e);
            if (fabs(fd - c[p]) > worst) worst = fabs(fd - c[p]);
        }
    }
    CHECK(worst < 1e-8, "seeded backward vs central differences in v: %.3g", worst);
    /* the outputs of g_eval on f's own output are those of the forward pass */
    hntk_net_g_eval(net, hntk_net_f_output(net) + 2 * P, 1, Z + 4, hp);
    for (int k = 0; k < NC; k++) CHECK(hp[k] == h[2 * NC + k], "g_eval output %d differs from forward", k);
    free(v);
    hntk_net_free(net);

    /* with one output, the seeded pass is the plain one times the seed */
    hntk_hyper_arch a1 = tiny_arch();
    hntk_net_alloc(&a1, NT, 0, &net);
    hntk_net_sample_weights(net, 4, 2);
    hntk_net_forward(net, NT, X, Z, NULL);
    hntk_net_backward(net);
    long P1 = hntk_f_out_dim(&a1), n1 = a1.f_width;
    double *E1 = malloc(sizeof(double) * (size_t)(NT * n1)), *c1 = malloc(sizeof(double) * (size_t)(NT * P1));
    memcpy(E1, hntk_net_dh_dy(net, 1), sizeof(double) * (size_t)(NT * n1));
    memcpy(c1, hntk_net_dh_dv(net), sizeof(double) * (size_t)(NT * P1));
    hntk_net_backward_seeded(net, seed);
    double d1 = 0.0;
    for (int b = 0; b < NT; b++) {
        for (long i = 0; i < n1; i++) d1 = fmax(d1, fabs(hntk_net_dh_dy(net, 1)[b * n1 + i] - seed[b] * E1[b * n1 + i]));
        for (long p = 0; p < P1; p++) d1 = fmax(d1, fabs(hntk_net_dh_dv(net)[b * P1 + p] - seed[b] * c1[b * P1 + p]));
    }
    CHECK(d1 < 1e-14, "one output: seeded backward vs seed x backward: %.3g", d1);
    free(E1);
    free(c1);
    hntk_net_free(net);

    /* both losses: every gradient entry against central differences */
    const hntk_loss losses[2] = {HNTK_LOSS_SQUARED, HNTK_LOSS_CROSS_ENTROPY};
    for (int li = 0; li < 2; li++) {
        hntk_train_config cfg = {.loss = losses[li]};
        hntk_train *t;
        CHECK(hntk_train_alloc_config(&a, NT, &cfg, 0, &t) == HNTK_OK, "alloc loss %d: %s", li, hntk_last_error());
        hntk_net_sample_weights(hntk_train_net(t), 5, 0);
        const double *y = li == 0 ? ysq : lab;
        double gmax;
        long checked;
        double worst_fd = fd_check(t, losses[li], &a, X, Z, y, &gmax, &checked);
        long total = hntk_param_count(&a);
        CHECK(checked >= total - 3, "%s: only %ld of %ld weights without a mask flip", li ? "cross-entropy" : "squared",
              checked, total);
        CHECK(worst_fd <= 1e-7 * gmax, "%s gradient vs central differences: %.3g (|G| up to %.3g)",
              li ? "cross-entropy" : "squared", worst_fd, gmax);
        printf("C = %d outputs, %s: %ld weights, |G - central FD| = %.2g (|G| up to %.3g)\n", NC,
               li ? "cross-entropy" : "squared", checked, worst_fd, gmax);
        /* dC/dh rows of the cross-entropy sum to 0 (softmax minus a one-hot) */
        if (li == 1) {
            const double *r = hntk_train_residuals(t);
            for (int b = 0; b < NT; b++) CHECK(fabs(r[b * NC] + r[b * NC + 1] + r[b * NC + 2]) < 1e-15, "row %d", b);
        }
        /* full-batch gradient in chunks of 3 = in one batch */
        hntk_train_config cfg3 = {.loss = losses[li], .batch_cap = 3};
        hntk_train *u;
        CHECK(hntk_train_alloc_config(&a, NT, &cfg3, 0, &u) == HNTK_OK, "alloc cap 3: %s", hntk_last_error());
        CHECK(hntk_train_batch_cap(u) == 3, "batch cap %ld", hntk_train_batch_cap(u));
        hntk_net_sample_weights(hntk_train_net(u), 5, 0);
        double ct, cu;
        hntk_train_full_grad(t, NT, X, Z, y, &ct);
        CHECK(hntk_train_full_grad(u, NT, X, Z, y, &cu) == HNTK_OK, "chunked grad: %s", hntk_last_error());
        CHECK_CLOSE(cu, ct, 1e-14);
        double dg = 0.0, gs = 0.0;
        for (int l = 1; l <= a.f_depth; l++) {
            long k = hntk_f_layer_width(&a, l) * hntk_f_layer_width(&a, l - 1);
            for (long i = 0; i < k; i++) {
                dg = fmax(dg, fabs(hntk_train_grad(t, l)[i] - hntk_train_grad(u, l)[i]));
                gs = fmax(gs, fabs(hntk_train_grad(t, l)[i]));
            }
        }
        CHECK(dg <= 1e-14 * gs, "chunked vs one-batch gradient: %.3g (scale %.3g)", dg, gs);
        /* evaluate = the written-out loss */
        double ce;
        CHECK(hntk_train_evaluate(u, NT, X, Z, y, &ce, NULL) == HNTK_OK, "evaluate: %s", hntk_last_error());
        CHECK_CLOSE(ce, loss_multi(t, losses[li], NT, X, Z, y), 1e-14);
        /* per-layer rates: W^l <- W^l - eta rho_l G^l */
        double w_before = hntk_net_weights(hntk_train_net(u), 2)[5], g25 = hntk_train_grad(u, 2)[5];
        CHECK(hntk_train_set_layer_rate(u, 2, 6.0) == HNTK_OK, "set rate");
        hntk_train_apply(u, 0.125);
        CHECK(hntk_net_weights(hntk_train_net(u), 2)[5] == w_before - 0.125 * 6.0 * g25, "layer rate not applied");
        hntk_train_free(u);
        hntk_train_free(t);
    }

    /* a separable 3-class problem (class = the coordinate of x with the largest entry) is learned
     * to 100% training accuracy by SGD on the cross-entropy */
    enum { NS = 60 };
    hntk_hyper_arch as = a;
    as.f_width = 32;
    as.g_width = 8;
    double Xs[NS * 3], Zs[NS * 2], ls[NS];
    hntk_random_directions(21, HNTK_TENSOR_INPUT_X, Xs, NS, 3);
    for (int b = 0; b < NS; b++) {
        int best = 0;
        for (int k = 1; k < 3; k++)
            if (Xs[b * 3 + k] > Xs[b * 3 + best]) best = k;
        ls[b] = best;
        Zs[b * 2] = 1.0;
        Zs[b * 2 + 1] = 0.0;
    }
    hntk_train_config cfg = {.loss = HNTK_LOSS_CROSS_ENTROPY, .batch_cap = 10};
    hntk_train *t;
    CHECK(hntk_train_alloc_config(&as, NS, &cfg, 0, &t) == HNTK_OK, "alloc toy: %s", hntk_last_error());
    hntk_net_sample_weights(hntk_train_net(t), 8, 0);
    double loss0, loss1;
    long correct0, correct1;
    hntk_train_evaluate(t, NS, Xs, Zs, ls, &loss0, &correct0);
    for (uint32_t e = 0; e < 400; e++) hntk_train_sgd_epoch(t, 6, e, NS, Xs, Zs, ls, 10, 0.01, NULL);
    hntk_train_evaluate(t, NS, Xs, Zs, ls, &loss1, &correct1);
    CHECK(correct1 == NS && loss1 < 0.1 * loss0, "toy problem: accuracy %ld/%d (from %ld), loss %.3g -> %.3g", correct1,
          NS, correct0, loss0, loss1);
    printf("separable 3 classes, SGD 400 epochs: accuracy %ld/%d -> %ld/%d, loss %.3g -> %.3g\n", correct0, NS,
           correct1, NS, loss0, loss1);
    /* bad labels and misuse are refused by name */
    double bad[NS];
    memcpy(bad, ls, sizeof bad);
    bad[3] = 1.5;
    CHECK(hntk_train_loss_grad(t, 5, Xs, Zs, bad, 1.0, NULL) == HNTK_EINVAL &&
              strstr(hntk_last_error(), "y[3] = 1.5") && strstr(hntk_last_error(), "0..2"),
          "label 1.5: %s", hntk_last_error());
    bad[3] = 3;
    CHECK(hntk_train_evaluate(t, NS, Xs, Zs, bad, NULL, NULL) == HNTK_EINVAL && strstr(hntk_last_error(), "y[3] = 3"),
          "label 3: %s", hntk_last_error());
    CHECK(hntk_train_sgd_epoch(t, 6, 0, NS, Xs, Zs, ls, 11, 0.01, NULL) == HNTK_EINVAL &&
              strstr(hntk_last_error(), "1..10"),
          "batch over the capacity: %s", hntk_last_error());
    CHECK(hntk_train_set_layer_rate(t, 4, 1.0) == HNTK_EINVAL && strstr(hntk_last_error(), "1..3"), "layer 4: %s",
          hntk_last_error());
    hntk_train_free(t);
    hntk_hyper_arch a1c = tiny_arch();
    hntk_train *w;
    CHECK(hntk_train_alloc_config(&a1c, NT, &cfg, 0, &w) == HNTK_EINVAL && strstr(hntk_last_error(), "g_out = 1"),
          "cross-entropy with one output: %s", hntk_last_error());
    hntk_train_alloc(&a1c, NT, 0, &w);
    long corr;
    CHECK(hntk_train_evaluate(w, NT, X, Z, ysq, NULL, &corr) == HNTK_EINVAL && strstr(hntk_last_error(), "cross-entropy"),
          "accuracy with the squared loss: %s", hntk_last_error());
    hntk_train_free(w);

    /* the modules defined for one output refuse several */
    hntk_hess_ws *hw;
    CHECK(hntk_hess_ws_alloc(&a, NT, 0, &hw) == HNTK_EINVAL && strstr(hntk_last_error(), "g_out = 3"), "hessian: %s",
          hntk_last_error());
    CHECK(hntk_lazy_validate(&a) == HNTK_EINVAL && strstr(hntk_last_error(), "g_out = 3"), "lazy: %s", hntk_last_error());
    double K[NT * NT];
    hntk_cross_out co = {.ntk = K};
    CHECK(hntk_limit_cross(&a, HNTK_VARIANT_PAPER, NT, X, Z, NT, X, Z, &co) == HNTK_EINVAL &&
              strstr(hntk_last_error(), "g_out = 3"),
          "analytic: %s", hntk_last_error());
    a.g_out = -1;
    CHECK(hntk_hyper_arch_validate(&a) == HNTK_EINVAL && strstr(hntk_last_error(), "g_out = -1"), "g_out -1: %s",
          hntk_last_error());
}

/* ---------------------------------------------------------------- biases */

/* h of the network with biases, written out by loops: f of depth 2 (3 -> 4 -> P), g of depth 2
 * (2 -> 3 -> 2 outputs), beta the bias scale; W1 (4x3), b1 (4), W2 (P x 4), b2 (P). */
static void biased_by_hand(const double *W1, const double *b1, const double *W2, const double *b2, double beta,
                           const double *x, const double *z, double *h)
{
    enum { P = 17 };
    double q[4], v[P], g1[3], a1[3];
    for (int i = 0; i < 4; i++) {
        double y = beta * b1[i];
        for (int j = 0; j < 3; j++) y += W1[i * 3 + j] * x[j] / sqrt(3.0);
        q[i] = y > 0 ? sqrt(2.0) * y : 0.0;
    }
    for (int p = 0; p < P; p++) {
        v[p] = beta * b2[p];
        for (int j = 0; j < 4; j++) v[p] += W2[p * 4 + j] * q[j] / 2.0;
    }
    /* v = [V^1 (3x2) | c^1 (3) | V^2 (2x3) | c^2 (2)] */
    for (int i = 0; i < 3; i++) {
        g1[i] = (v[i * 2] * z[0] + v[i * 2 + 1] * z[1]) / sqrt(2.0) + beta * v[6 + i];
        a1[i] = g1[i] > 0 ? sqrt(2.0) * g1[i] : 0.0;
    }
    for (int k = 0; k < 2; k++)
        h[k] = (v[9 + k * 3] * a1[0] + v[9 + k * 3 + 1] * a1[1] + v[9 + k * 3 + 2] * a1[2]) / sqrt(3.0) +
               beta * v[15 + k];
}

static void test_biases(void)
{
    hntk_hyper_arch a = hntk_hyper_arch_make(2, 4, 3, 2, 3, 2);
    a.g_out = 2;
    a.bias_scale = 0.5;
    CHECK(hntk_f_out_dim(&a) == 17 && hntk_g_bias_offset(&a, 1) == 6 && hntk_g_chunk_offset(&a, 2) == 9 &&
              hntk_g_bias_offset(&a, 2) == 15 && hntk_param_count(&a) == 4 * 4 + 17 * 5,
          "sizes with biases: P %ld, offsets %ld %ld %ld, params %ld", hntk_f_out_dim(&a), hntk_g_bias_offset(&a, 1),
          hntk_g_chunk_offset(&a, 2), hntk_g_bias_offset(&a, 2), hntk_param_count(&a));
    double X[NT * 3], Z[NT * 2], lab[NT];
    hntk_random_directions(11, HNTK_TENSOR_INPUT_X, X, NT, 3);
    hntk_random_directions(11, HNTK_TENSOR_INPUT_Z, Z, NT, 2);
    for (int b = 0; b < NT; b++) lab[b] = b % 2;
    hntk_train_config cfg = {.loss = HNTK_LOSS_CROSS_ENTROPY};
    hntk_train *t;
    CHECK(hntk_train_alloc_config(&a, NT, &cfg, 0, &t) == HNTK_OK, "alloc with biases: %s", hntk_last_error());
    hntk_net *net = hntk_train_net(t);
    hntk_net_sample_weights(net, 3, 1);
    CHECK(hntk_net_biases(net, 1) && hntk_net_biases(net, 2), "no bias arrays");
    CHECK(hntk_net_biases(net, 2)[16] != 0.0, "biases not drawn");
    double h[NT * 2], href[2], worst = 0.0;
    hntk_net_forward(net, NT, X, Z, h);
    for (int b = 0; b < NT; b++) {
        biased_by_hand(hntk_net_weights(net, 1), hntk_net_biases(net, 1), hntk_net_weights(net, 2),
                       hntk_net_biases(net, 2), 0.5, X + 3 * b, Z + 2 * b, href);
        for (int k = 0; k < 2; k++) worst = fmax(worst, fabs(h[2 * b + k] - href[k]));
    }
    CHECK(worst < 1e-14, "forward with biases vs loops: %.3g", worst);
    /* every weight and bias gradient of the cross-entropy against central differences */
    double c;
    hntk_train_loss_grad(t, NT, X, Z, lab, 1.0, &c);
    double gmax = 0.0, wfd = 0.0;
    long checked = 0, total = 0;
    for (int l = 1; l <= 2; l++) {
        long nl = hntk_f_layer_width(&a, l), np = hntk_f_layer_width(&a, l - 1);
        for (int kind = 0; kind < 2; kind++) {
            long k = kind ? nl : nl * np;
            double *p = kind ? hntk_net_biases(net, l) : hntk_net_weights(net, l);
            double *G = malloc(sizeof(double) * (size_t)k);
            memcpy(G, kind ? hntk_train_bias_grad(t, l) : hntk_train_grad(t, l), sizeof(double) * (size_t)k);
            for (long i = 0; i < k; i++, total++) {
                gmax = fmax(gmax, fabs(G[i]));
                const double eps = 1e-5;
                double p0 = p[i];
                p[i] = p0 + eps; double cp = loss_multi_n(t, HNTK_LOSS_CROSS_ENTROPY, 2, NT, X, Z, lab);
                p[i] = p0 - eps; double cm = loss_multi_n(t, HNTK_LOSS_CROSS_ENTROPY, 2, NT, X, Z, lab);
                p[i] = p0 + 2 * eps; double cp2 = loss_multi_n(t, HNTK_LOSS_CROSS_ENTROPY, 2, NT, X, Z, lab);
                p[i] = p0 - 2 * eps; double cm2 = loss_multi_n(t, HNTK_LOSS_CROSS_ENTROPY, 2, NT, X, Z, lab);
                p[i] = p0;
                double fd = (cp - cm) / (2 * eps), fd4 = (8 * (cp - cm) - (cp2 - cm2)) / (12 * eps);
                if (fabs(fd - fd4) > 1e-6 * (fabs(fd) + 1e-3)) continue;
                checked++;
                wfd = fmax(wfd, fabs(G[i] - fd));
            }
            free(G);
        }
    }
    CHECK(total == hntk_param_count(&a) && checked >= total - 3, "biases FD: %ld of %ld checked", checked, total);
    CHECK(wfd <= 1e-7 * gmax, "gradient with biases vs central differences: %.3g (|G| up to %.3g)", wfd, gmax);
    printf("biases (beta 0.5, C = 2, cross-entropy): %ld parameters, |G - central FD| = %.2g (|G| up to %.3g)\n",
           checked, wfd, gmax);
    double bprev = hntk_net_biases(net, 1)[2], gb = hntk_train_bias_grad(t, 1)[2];
    CHECK(hntk_train_set_bias_rate(t, 1, 3.0) == HNTK_OK, "bias rate");
    hntk_train_apply(t, 0.25);
    CHECK(hntk_net_biases(net, 1)[2] == bprev - 0.25 * 3.0 * gb, "bias rate not applied");
    hntk_train_free(t);

    /* the NTK Gram with biases (one output) = J J^T of a central-difference Jacobian over every
     * weight and bias */
    a.g_out = 1;
    hntk_net *n1;
    CHECK(hntk_net_alloc(&a, NT, 0, &n1) == HNTK_OK, "alloc: %s", hntk_last_error());
    hntk_net_sample_weights(n1, 3, 2);
    long np_ = hntk_param_count(&a);
    double *J = calloc((size_t)(np_ * NT), sizeof(double)), K[NT * NT], hp[NT], hm[NT];
    long col = 0;
    for (int l = 1; l <= 2; l++) {
        long nl = hntk_f_layer_width(&a, l), npv = hntk_f_layer_width(&a, l - 1);
        for (int kind = 0; kind < 2; kind++) {
            long k = kind ? nl : nl * npv;
            double *p = kind ? hntk_net_biases(n1, l) : hntk_net_weights(n1, l);
            for (long i = 0; i < k; i++, col++) {
                double p0 = p[i], e = 1e-6;
                p[i] = p0 + e; hntk_net_forward(n1, NT, X, Z, hp);
                p[i] = p0 - e; hntk_net_forward(n1, NT, X, Z, hm);
                p[i] = p0;
                for (int b = 0; b < NT; b++) J[b * np_ + col] = (hp[b] - hm[b]) / (2 * e);
            }
        }
    }
    hntk_net_forward(n1, NT, X, Z, NULL);
    hntk_net_backward(n1);
    hntk_net_ntk_gram(n1, K);
    double kd = 0.0, ks = 0.0;
    for (int i = 0; i < NT; i++)
        for (int j = 0; j < NT; j++) {
            double ref = 0.0;
            for (long p = 0; p < np_; p++) ref += J[i * np_ + p] * J[j * np_ + p];
            kd = fmax(kd, fabs(K[i * NT + j] - ref));
            ks = fmax(ks, fabs(ref));
        }
    CHECK(kd < 1e-7 * ks, "NTK Gram with biases vs FD Jacobian Gram: %.3g (scale %.3g)", kd, ks);
    printf("NTK Gram with biases vs the Gram of an FD Jacobian: %.2g (scale %.3g)\n", kd, ks);
    free(J);
    hntk_net_free(n1);
    CHECK(hntk_lazy_validate(&a) == HNTK_EINVAL && strstr(hntk_last_error(), "bias_scale = 0.5"), "lazy bias: %s",
          hntk_last_error());
    a.bias_scale = -1;
    CHECK(hntk_hyper_arch_validate(&a) == HNTK_EINVAL && strstr(hntk_last_error(), "bias_scale = -1"), "beta -1: %s",
          hntk_last_error());
}

int main(void)
{
    test_gradients();
    test_linearized_step();
    test_sgd();
    test_multi_output();
    test_biases();
    return TEST_SUMMARY();
}
