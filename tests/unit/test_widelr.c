/* test_widelr.c: the one-hidden-layer classifier of `hyperntk widelr`
 * through the training engine (mlp.h) against networks written out here:
 * its outputs and cross-entropy gradient equal those of h = W2 q / sqrt(n),
 * q = sqrt(2) relu(W1 x / sqrt(d)); one engine SGD step under each
 * parametrization equals one plain SGD step of the directly written network
 * of that parametrization (standard: weights N(0, 1/fan-in), no factors;
 * mean field: h = (1/n) sum_i a_i sqrt(2) relu(w_i.x / sqrt(d))); the NTK of
 * hntk_mlp1_ntk equals hntk_net_ntk_gram at rates 1 and predicts the
 * function-space step of a small GD step with the layer rates of every
 * parametrization; bad arguments are refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hyperntk/hyperntk.h"
#include "hyperntk/mlp.h"
#include "testing.h"

enum { D = 5, NW = 7, C = 3, B = 4 };

static void inputs(double *X, double *y)
{
    hntk_random_directions(21, HNTK_TENSOR_INPUT_X, X, B, D);
    for (int b = 0; b < B; b++) y[b] = (double)((b * 2 + 1) % C);
}

/* the directly written network: h (B, C), and the cross-entropy gradients with respect to
 * u1 (NW, D) and u2 (C, NW), for h = s2 u2 sqrt(2) relu(s1 u1 x) */
static void direct(const double *u1, const double *u2, double s1, double s2, const double *X, const double *y,
                   double *h, double *g1, double *g2)
{
    double Y[B][NW], Q[B][NW], r[B][C];
    for (int b = 0; b < B; b++) {
        for (int i = 0; i < NW; i++) {
            double s = 0;
            for (int k = 0; k < D; k++) s += u1[i * D + k] * X[b * D + k];
            Y[b][i] = s1 * s;
            Q[b][i] = Y[b][i] > 0 ? sqrt(2.0) * Y[b][i] : 0.0;
        }
        double mx = -INFINITY, z = 0;
        for (int c = 0; c < C; c++) {
            double s = 0;
            for (int i = 0; i < NW; i++) s += u2[c * NW + i] * Q[b][i];
            h[b * C + c] = s2 * s;
            mx = fmax(mx, h[b * C + c]);
        }
        for (int c = 0; c < C; c++) z += exp(h[b * C + c] - mx);
        for (int c = 0; c < C; c++) r[b][c] = exp(h[b * C + c] - mx) / z - (c == (int)y[b]);
    }
    if (!g1) return;
    memset(g1, 0, sizeof(double) * NW * D);
    memset(g2, 0, sizeof(double) * C * NW);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < NW; i++) {
            double e = 0;
            for (int c = 0; c < C; c++) {
                g2[c * NW + i] += s2 * r[b][c] * Q[b][i];
                e += s2 * u2[c * NW + i] * r[b][c];
            }
            e *= Y[b][i] > 0 ? sqrt(2.0) : 0.0;
            for (int k = 0; k < D; k++) g1[i * D + k] += e * s1 * X[b * D + k];
        }
}

static double max_rel(const double *a, const double *b, long n)
{
    double m = 0, s = 0;
    for (long i = 0; i < n; i++) s = fmax(s, fabs(b[i]));
    for (long i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]));
    return m / (s > 0 ? s : 1);
}

static void test_forward_gradient(void)
{
    hntk_hyper_arch a = hntk_mlp1_arch(NW, D, C);
    CHECK(hntk_f_out_dim(&a) == C && hntk_g_outputs(&a) == C, "P = %ld, C = %ld", hntk_f_out_dim(&a), hntk_g_outputs(&a));
    hntk_train_config cfg = {.loss = HNTK_LOSS_CROSS_ENTROPY, .batch_cap = B};
    hntk_train *t;
    CHECK(hntk_train_alloc_config(&a, B, &cfg, 0, &t) == HNTK_OK, "alloc: %s", hntk_last_error());
    hntk_net *net = hntk_train_net(t);
    hntk_net_sample_weights(net, 3, 0);
    double X[B * D], y[B], Z[B] = {1, 1, 1, 1}, h[B * C], hd[B * C], g1[NW * D], g2[C * NW], loss;
    inputs(X, y);
    CHECK(hntk_net_forward(net, B, X, Z, h) == HNTK_OK, "forward");
    direct(hntk_net_weights(net, 1), hntk_net_weights(net, 2), 1 / sqrt((double)D), 1 / sqrt((double)NW), X, y, hd, g1, g2);
    CHECK(max_rel(h, hd, B * C) < 1e-14, "outputs differ from the direct network: %g", max_rel(h, hd, B * C));
    CHECK(hntk_train_loss_grad(t, B, X, Z, y, 1.0, &loss) == HNTK_OK, "loss_grad");
    CHECK(max_rel(hntk_train_grad(t, 1), g1, NW * D) < 1e-13, "dC/dW1 differs: %g", max_rel(hntk_train_grad(t, 1), g1, NW * D));
    CHECK(max_rel(hntk_train_grad(t, 2), g2, C * NW) < 1e-13, "dC/dW2 differs: %g", max_rel(hntk_train_grad(t, 2), g2, C * NW));
    hntk_train_free(t);
}

/* One engine step under parametrization p against one SGD step of the network written in its own variables. */
static void test_step(int p)
{
    hntk_hyper_arch a = hntk_mlp1_arch(NW, D, C);
    hntk_train_config cfg = {.loss = HNTK_LOSS_CROSS_ENTROPY, .batch_cap = B};
    hntk_train *t;
    CHECK(hntk_train_alloc_config(&a, B, &cfg, 0, &t) == HNTK_OK, "alloc: %s", hntk_last_error());
    hntk_net *net = hntk_train_net(t);
    hntk_net_sample_weights(net, 4, 1);
    double W1[NW * D], W2[C * NW];
    memcpy(W1, hntk_net_weights(net, 1), sizeof W1);
    memcpy(W2, hntk_net_weights(net, 2), sizeof W2);
    CHECK(hntk_mlp1_param_apply(t, p) == HNTK_OK, "apply %s: %s", hntk_param_names[p], hntk_last_error());
    /* the network in its own variables u and scales s (h = s2 u2 sigma(s1 u1 x)) */
    double u1[NW * D], u2[C * NW], s1, s2, sd = sqrt((double)D), sn = sqrt((double)NW);
    for (int i = 0; i < NW * D; i++) u1[i] = p == HNTK_PARAM_STANDARD ? W1[i] / sd : W1[i];
    for (int i = 0; i < C * NW; i++) u2[i] = p == HNTK_PARAM_STANDARD ? W2[i] / sn : W2[i];
    s1 = p == HNTK_PARAM_STANDARD ? 1.0 : 1.0 / sd;
    s2 = p == HNTK_PARAM_STANDARD ? 1.0 : p == HNTK_PARAM_MEANFIELD ? 1.0 / NW : 1.0 / sn;
    double X[B * D], y[B], Z[B] = {1, 1, 1, 1}, h[B * C], hd[B * C], g1[NW * D], g2[C * NW], loss, eta = 0.37;
    inputs(X, y);
    hntk_net_forward(net, B, X, Z, h);
    direct(u1, u2, s1, s2, X, y, hd, g1, g2);
    CHECK(max_rel(h, hd, B * C) < 1e-14, "%s: the same function at init: %g", hntk_param_names[p], max_rel(h, hd, B * C));
    CHECK(hntk_train_loss_grad(t, B, X, Z, y, 1.0, &loss) == HNTK_OK && hntk_train_apply(t, eta) == HNTK_OK, "step");
    for (int i = 0; i < NW * D; i++) u1[i] -= eta * g1[i];
    for (int i = 0; i < C * NW; i++) u2[i] -= eta * g2[i];
    /* back to the engine's W: standard W = sqrt(fan-in) u; mean field W^2 = u2 / sqrt(n) */
    double e1[NW * D], e2[C * NW];
    for (int i = 0; i < NW * D; i++) e1[i] = p == HNTK_PARAM_STANDARD ? u1[i] * sd : u1[i];
    for (int i = 0; i < C * NW; i++)
        e2[i] = p == HNTK_PARAM_STANDARD ? u2[i] * sn : p == HNTK_PARAM_MEANFIELD ? u2[i] / sn : u2[i];
    CHECK(max_rel(hntk_net_weights(net, 1), e1, NW * D) < 1e-13, "%s: W1 after the step differs: %g", hntk_param_names[p],
          max_rel(hntk_net_weights(net, 1), e1, NW * D));
    CHECK(max_rel(hntk_net_weights(net, 2), e2, C * NW) < 1e-13, "%s: W2 after the step differs: %g", hntk_param_names[p],
          max_rel(hntk_net_weights(net, 2), e2, C * NW));
    hntk_net_forward(net, B, X, Z, h);
    direct(u1, u2, s1, s2, X, y, hd, NULL, NULL);
    CHECK(max_rel(h, hd, B * C) < 1e-13, "%s: outputs after the step differ: %g", hntk_param_names[p], max_rel(h, hd, B * C));
    hntk_train_free(t);
}

static void test_ntk(void)
{
    enum { N1 = 40, BB = 6 };
    double X[BB * D], Z[BB], K[BB * BB], Kr[BB * BB], work[BB * N1 + BB * BB];
    hntk_random_directions(22, HNTK_TENSOR_INPUT_X, X, BB, D);
    for (int b = 0; b < BB; b++) Z[b] = 1.0;
    /* one output, rates 1: the library's Gram */
    hntk_hyper_arch a1 = hntk_mlp1_arch(N1, D, 1);
    hntk_net *net;
    CHECK(hntk_net_alloc(&a1, BB, 0, &net) == HNTK_OK, "net alloc");
    CHECK(hntk_mlp1_ntk_work(BB, N1) <= sizeof work / sizeof work[0], "work size");
    CHECK(hntk_net_sample_ntk_gram(net, 9, 0, BB, X, Z, K) == HNTK_OK, "gram");
    CHECK(hntk_mlp1_ntk(net, NULL, 0, BB, X, work, Kr) == HNTK_OK, "mlp1_ntk: %s", hntk_last_error());
    CHECK(max_rel(Kr, K, BB * BB) < 1e-13, "hntk_mlp1_ntk differs from hntk_net_ntk_gram: %g", max_rel(Kr, K, BB * BB));
    CHECK(hntk_mlp1_ntk(net, NULL, 1, BB, X, work, Kr) == HNTK_EINVAL, "output 1 of 1 accepted");
    hntk_net_free(net);
    /* C outputs, each parametrization: a small GD step on a loss of output c only moves h_c by -eta K_c v */
    for (int p = 0; p < HNTK_PARAM_COUNT; p++) {
        hntk_hyper_arch a = hntk_mlp1_arch(N1, D, C);
        hntk_train *t;
        CHECK(hntk_train_alloc(&a, BB, 0, &t) == HNTK_OK, "alloc");
        hntk_net *nt = hntk_train_net(t);
        hntk_net_sample_weights(nt, 10, 0);
        hntk_mlp1_param_apply(t, p);
        double rho[2], s, h0[BB * C], h1[BB * C], yt[BB * C], v[BB], eta = 1e-7, loss;
        hntk_mlp1_param(p, N1, D, rho, &s);
        long c = 1;
        CHECK(hntk_mlp1_ntk(nt, rho, c, BB, X, work, Kr) == HNTK_OK, "ntk");
        hntk_net_forward(nt, BB, X, Z, h0);
        for (int b = 0; b < BB; b++) {
            v[b] = cos(1.0 + b);
            for (int k = 0; k < C; k++) yt[b * C + k] = h0[b * C + k] - (k == c ? v[b] : 0.0); /* r = v e_c */
        }
        hntk_train_gd_step(t, BB, X, Z, yt, eta, &loss);
        hntk_net_forward(nt, BB, X, Z, h1);
        double err = 0, ref = 0;
        for (int i = 0; i < BB; i++) {
            double pred = 0;
            for (int j = 0; j < BB; j++) pred -= eta * Kr[i * BB + j] * v[j];
            err = fmax(err, fabs((h1[i * C + c] - h0[i * C + c]) - pred));
            ref = fmax(ref, fabs(pred));
        }
        CHECK(err < 1e-5 * ref, "%s: the step moves h_c by -eta K_c v to %.3g relative (want < 1e-5)", hntk_param_names[p],
              err / ref);
        hntk_train_free(t);
    }
}

static void test_errors(void)
{
    double rho[2], s;
    CHECK(hntk_mlp1_param(7, 10, 3, rho, &s) == HNTK_EINVAL && strstr(hntk_last_error(), "parametrization 7"),
          "bad parametrization: %s", hntk_last_error());
    CHECK(hntk_mlp1_param(0, 0, 3, rho, &s) == HNTK_EINVAL, "width 0 accepted");
    CHECK(hntk_mlp1_param(HNTK_PARAM_STANDARD, 10, 3, rho, &s) == HNTK_OK && rho[0] == 3 && rho[1] == 10 && s == 1,
          "standard rates");
    CHECK(hntk_mlp1_param(HNTK_PARAM_MEANFIELD, 16, 3, rho, &s) == HNTK_OK && rho[0] == 1 && rho[1] == 1.0 / 16 && s == 0.25,
          "mean-field rates");
    hntk_hyper_arch a = hntk_hyper_arch_make(3, 4, 2, 1, 1, 1);
    hntk_train *t;
    hntk_train_alloc(&a, 2, 0, &t);
    CHECK(hntk_mlp1_param_apply(t, 0) == HNTK_EINVAL && strstr(hntk_last_error(), "f depth 3"), "depth 3: %s",
          hntk_last_error());
    hntk_train_free(t);
}

int main(void)
{
    test_forward_gradient();
    for (int p = 0; p < HNTK_PARAM_COUNT; p++) test_step(p);
    test_ntk();
    test_errors();
    return TEST_SUMMARY();
}
