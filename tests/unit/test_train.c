/* test_train.c: the training engine (train.h) against independent references:
 * every parameter gradient of the squared loss against central finite
 * differences and against sum_b r_b dh(u_b)/dW^l from net.h's explicit
 * rank-one gradients; a tiny GD step changes the loss by -eta |grad|^2 and the
 * residuals by -eta K^h r (the linearized model) to second order in eta; GD
 * decreases the loss monotonically at eta = 1/lambda_max(K^h); SGD's
 * permutations are permutations, uniform (chi-square) and a function of
 * (key, epoch) only; one SGD epoch with the whole set as its batch equals a GD
 * step; two threads training their own copies give the same bits as one;
 * bad arguments are refused with their value named. */
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

int main(void)
{
    test_gradients();
    test_linearized_step();
    test_sgd();
    return TEST_SUMMARY();
}
