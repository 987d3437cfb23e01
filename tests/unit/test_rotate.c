/* test_rotate.c: image rotation and rotation labels (rotate.h), and the
 * authors' standard parametrization on the NTK engine (stdparam.h).
 *   - rotation by 0, 90, 180, 270 degrees (and -90, 450) equals the exact
 *     pixel permutations, bit for bit, on a square image and on the 28 x 28
 *     size of the data; 90 then 270 is the identity; a non-square image is
 *     refused nowhere but is exact at 180;
 *   - an arbitrary angle: the image's centre pixel of an odd-sized image is
 *     kept, a constant image stays constant where the source point is
 *     inside (bilinear weights sum to 1) and is 0 where it is outside (fill 0);
 *     45 degrees of a point mass moves it along the diagonal;
 *   - labels at the class boundaries: 14.99 -> 0, 15 -> 1, 15.01 -> 1,
 *     344.99 -> 11, 345 -> 0 (the wrap), 359.99 -> 0, 0 -> 0, 30 -> 1;
 *     values outside [0, 360) are reduced;
 *   - stdparam: the engine with hntk_stdparam_init computes the authors'
 *     function (written out here: f with N(0, 1/n) weights and no 1/sqrt,
 *     g without 1/sqrt(m)), and one hntk_stdparam_apply step with rate mu moves
 *     the authors' weights by -mu times the central finite differences of the
 *     authors' cross-entropy loss. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hyperntk/hyperntk.h"
#include "testing.h"

static void fill(double *im, long rows, long cols)
{
    for (long i = 0; i < rows * cols; i++) im[i] = 1.0 + (double)((i * 37) % 101) / 7.0;
}

static void test_quarter_turns(long side)
{
    long n = side * side;
    double *in = malloc(sizeof(double) * (size_t)n), *out = malloc(sizeof(double) * (size_t)n),
           *back = malloc(sizeof(double) * (size_t)n);
    fill(in, side, side);
    static const double angles[] = {0, 90, 180, 270, -90, 450, 360, 720};
    for (size_t k = 0; k < sizeof angles / sizeof angles[0]; k++) {
        int q = ((int)angles[k] % 360 + 360) % 360 / 90;
        CHECK(hntk_rotate_image(in, side, side, angles[k], out) == HNTK_OK, "rotate %g", angles[k]);
        long bad = 0;
        for (long r = 0; r < side; r++)
            for (long c = 0; c < side; c++) {
                /* counterclockwise: out(r, c) = in(src) */
                long sr, sc;
                switch (q) {
                case 0: sr = r, sc = c; break;
                case 1: sr = c, sc = side - 1 - r; break;          /* 90: the right column goes to the top row */
                case 2: sr = side - 1 - r, sc = side - 1 - c; break;
                default: sr = side - 1 - c, sc = r; break;         /* 270 */
                }
                if (memcmp(&out[r * side + c], &in[sr * side + sc], sizeof(double))) bad++;
            }
        CHECK(bad == 0, "side %ld, %g degrees: %ld pixels differ from the exact permutation", side, angles[k], bad);
    }
    hntk_rotate_image(in, side, side, 90, out);
    hntk_rotate_image(out, side, side, 270, back);
    CHECK(memcmp(in, back, sizeof(double) * (size_t)n) == 0, "90 then 270 is not the identity (side %ld)", side);
    free(in), free(out), free(back);
}

static void test_general(void)
{
    enum { S = 9 };
    double in[S * S], out[S * S];
    for (long i = 0; i < S * S; i++) in[i] = 2.5;
    CHECK(hntk_rotate_image(in, S, S, 30.0, out) == HNTK_OK, "rotate 30");
    CHECK(fabs(out[4 * S + 4] - 2.5) < 1e-15, "centre pixel %g", out[4 * S + 4]);
    /* a corner of the output: its source point at 30 degrees lies outside the image: fill 0 */
    CHECK(out[0] == 0.0, "corner after 30 degrees is %g, want 0 (fill)", out[0]);
    /* pixels whose source point has all four neighbours inside: the constant */
    CHECK(fabs(out[4 * S + 6] - 2.5) < 1e-14, "inner pixel %g, want 2.5", out[4 * S + 6]);
    /* a point mass one step right of the centre, rotated by 45 degrees: mass spread
     * bilinearly around (centre + (cos 45, sin 45)) = up-right, total mass <= 1 */
    memset(in, 0, sizeof in);
    in[4 * S + 5] = 1.0;
    hntk_rotate_image(in, S, S, 45.0, out);
    double total = 0.0;
    for (long i = 0; i < S * S; i++) total += out[i];
    CHECK(out[3 * S + 5] > 0.0 && out[4 * S + 3] == 0.0, "45 degrees moved the point the wrong way");
    CHECK(total > 0.5 && total <= 1.0 + 1e-12, "mass after 45 degrees %g", total);
    /* 180 on a non-square image is exact too */
    double r3[6] = {1, 2, 3, 4, 5, 6}, o3[6];
    hntk_rotate_image(r3, 2, 3, 180.0, o3);
    CHECK(o3[0] == 6 && o3[2] == 4 && o3[5] == 1, "2 x 3 rotated by 180: %g %g %g", o3[0], o3[2], o3[5]);
    CHECK(hntk_rotate_image(in, 0, S, 1.0, out) == HNTK_EINVAL, "0 rows accepted");
    CHECK(hntk_rotate_image(in, S, S, NAN, out) == HNTK_EINVAL, "NaN angle accepted");
    CHECK(hntk_rotate_image(in, S, S, 1.0, in) == HNTK_EINVAL, "in-place accepted");
}

static void test_labels(void)
{
    static const struct { double a; int k; } cases[] = {
        {0, 0}, {14.99, 0}, {15, 1}, {15.01, 1}, {30, 1}, {44.99, 1}, {45, 2}, {180, 6}, {344.99, 11}, {345, 0},
        {359.99, 0}, {359.999999999, 0}, {-15, 0}, {-15.01, 11}, {375, 1}, {720, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK(hntk_rotation_label(cases[i].a, 12) == cases[i].k, "label(%.12g) = %d, want %d", cases[i].a,
              hntk_rotation_label(cases[i].a, 12), cases[i].k);
    CHECK(hntk_rotation_label(100.0, 4) == 1 && hntk_rotation_label(44.9, 4) == 0 && hntk_rotation_label(315, 4) == 0,
          "K = 4 labels");
    CHECK(hntk_rotation_label(NAN, 12) == -1 && hntk_rotation_label(1.0, 0) == -1, "bad arguments not refused");
}

/* ---- the authors' model written out: f standard, g without 1/sqrt(m) ---- */

enum { NB = 3 };

static double act(double y) { return y > 0 ? sqrt(2.0) * y : 0.0; }

/* h (C) of the authors' model with weights w (layers 1..L row-major, each followed by its
 * biases when a->bias_scale > 0: then y^l = w^l q + b^l and g^k = U^k a + c^k, c^k in v
 * right after U^k) at (x, z). */
static void authors_h(const hntk_hyper_arch *a, const double *w, const double *x, const double *z, double *h)
{
    int L = a->f_depth, H = a->g_depth, bias = a->bias_scale > 0;
    double q[512], y[512], v[4096];
    long nprev = a->x_dim, off = 0;
    memcpy(q, x, sizeof(double) * (size_t)nprev);
    for (int l = 1; l <= L; l++) {
        long nl = hntk_f_layer_width(a, l);
        for (long i = 0; i < nl; i++) {
            double s = 0.0;
            for (long j = 0; j < nprev; j++) s += w[off + i * nprev + j] * q[j];
            y[i] = s + (bias ? w[off + nl * nprev + i] : 0.0);
        }
        off += nl * (nprev + bias);
        if (l < L)
            for (long i = 0; i < nl; i++) q[i] = act(y[i]);
        else memcpy(v, y, sizeof(double) * (size_t)nl);
        nprev = nl;
    }
    double ai[512], ao[512];
    long m0 = a->z_dim;
    memcpy(ai, z, sizeof(double) * (size_t)m0);
    for (int k = 1; k <= H; k++) {
        long mk = hntk_g_layer_width(a, k), mp = hntk_g_layer_width(a, k - 1), o = hntk_g_chunk_offset(a, k);
        for (long i = 0; i < mk; i++) {
            double s = 0.0;
            for (long j = 0; j < mp; j++) s += v[o + i * mp + j] * ai[j];
            if (bias) s += v[o + mk * mp + i];
            ao[i] = k < H ? act(s) : s;
        }
        memcpy(ai, ao, sizeof(double) * (size_t)mk);
    }
    memcpy(h, ai, sizeof(double) * (size_t)hntk_g_outputs(a));
}

static double authors_loss(const hntk_hyper_arch *a, const double *w, const double *X, const double *Z,
                           const double *lab)
{
    long C = hntk_g_outputs(a);
    double total = 0.0, h[16];
    for (int b = 0; b < NB; b++) {
        authors_h(a, w, X + b * a->x_dim, Z + b * a->z_dim, h);
        double mx = h[0], s = 0.0;
        for (long c = 1; c < C; c++) mx = h[c] > mx ? h[c] : mx;
        for (long c = 0; c < C; c++) s += exp(h[c] - mx);
        total += mx + log(s) - h[(int)lab[b]];
    }
    return total;
}

static void test_stdparam(double bias_scale)
{
    hntk_hyper_arch a = {.f_depth = 3, .f_width = 5, .x_dim = 4, .g_depth = 3, .g_width = 3, .z_dim = 4,
                         .fourier_scale = 1.0, .g_out = 3, .bias_scale = bias_scale};
    long Nw = hntk_param_count(&a), C = 3;
    hntk_train_config cfg = {.loss = HNTK_LOSS_CROSS_ENTROPY, .batch_cap = NB};
    hntk_train *t = NULL;
    CHECK(hntk_train_alloc_config(&a, NB, &cfg, 0, &t) == HNTK_OK, "alloc: %s", hntk_last_error());
    if (!t) return;
    hntk_net *net = hntk_train_net(t);
    hntk_net_sample_weights(net, 7, 0);
    hntk_stdparam_init(t);
    double X[NB * 4], Z[NB * 4], lab[NB] = {0, 2, 1}, hz[NB * 3], ha[3];
    hntk_random_directions(3, HNTK_TENSOR_INPUT_X, X, NB, 4);
    hntk_random_directions(3, HNTK_TENSOR_INPUT_Z, Z, NB, 4);
    double *w = malloc(sizeof(double) * (size_t)Nw), *w1 = malloc(sizeof(double) * (size_t)Nw),
           *g = malloc(sizeof(double) * (size_t)Nw);
    hntk_stdparam_weights(t, w);
    /* the authors' initialization: the rows of chunk k of W^L have variance m_{k-1} before the map,
     * so w = W / c is N(0, 1/n): check the map's factors at three rows */
    CHECK(hntk_stdparam_rate(&a, 1, 0) == 4.0 && hntk_stdparam_rate(&a, 2, 4) == 5.0, "rates of f's inner layers");
    if (bias_scale == 0) {
        CHECK(hntk_stdparam_rate(&a, 3, 0) == 5.0 * 4.0 && hntk_stdparam_rate(&a, 3, 12) == 5.0 * 3.0 &&
                  hntk_stdparam_rate(&a, 3, hntk_f_out_dim(&a) - 1) == 15.0 &&
                  hntk_stdparam_rate(&a, 3, hntk_f_out_dim(&a)) == 0.0,
              "rates of the last layer's chunks");
    } else { /* rows 0..11 V^1, 12..14 c^1, 15..23 V^2, 24..26 c^2, ... */
        CHECK(hntk_stdparam_rate(&a, 3, 11) == 20.0 && hntk_stdparam_rate(&a, 3, 12) == 5.0 &&
                  hntk_stdparam_rate(&a, 3, 15) == 15.0 && hntk_stdparam_rate(&a, 3, 24) == 5.0 &&
                  hntk_stdparam_bias_rate(&a, 3, 11) == 4.0 && hntk_stdparam_bias_rate(&a, 3, 12) == 1.0 &&
                  hntk_stdparam_bias_rate(&a, 1, 2) == 1.0,
              "rates with biases");
    }
    hntk_net_forward(net, NB, X, Z, hz);
    double worst = 0.0;
    for (int b = 0; b < NB; b++) {
        authors_h(&a, w, X + b * 4, Z + b * 4, ha);
        for (long c = 0; c < C; c++) {
            double e = fabs(hz[b * C + c] - ha[c]) / (fabs(ha[c]) + 1e-12);
            worst = e > worst ? e : worst;
        }
    }
    CHECK(worst < 1e-12, "engine + stdparam_init vs the authors' function: rel err %.3g", worst);
    /* one SGD step of rate mu: the authors' weights move by -mu dC/dw (central differences) */
    double loss, mu = 1e-3;
    CHECK(hntk_train_loss_grad(t, NB, X, Z, lab, 1.0, &loss) == HNTK_OK, "loss_grad");
    CHECK_CLOSE(loss, authors_loss(&a, w, X, Z, lab), 1e-12);
    for (long i = 0; i < Nw; i++) {
        double keep = w[i], e = 1e-6 * (fabs(keep) > 0.1 ? fabs(keep) : 0.1);
        w[i] = keep + e;
        double lp = authors_loss(&a, w, X, Z, lab);
        w[i] = keep - e;
        double lm = authors_loss(&a, w, X, Z, lab);
        w[i] = keep;
        g[i] = (lp - lm) / (2 * e);
    }
    hntk_stdparam_apply(t, mu);
    hntk_stdparam_weights(t, w1);
    double err = 0.0, scale = 0.0;
    for (long i = 0; i < Nw; i++) {
        double step = w1[i] - w[i];
        err = fmax(err, fabs(step + mu * g[i]));
        scale = fmax(scale, fabs(mu * g[i]));
    }
    CHECK(scale > 0 && err < 1e-6 * scale, "stdparam step vs -mu dC/dw: max error %.3g of %.3g", err, scale);
    /* the per-layer rate alone (hntk_train_set_layer_rate(L, n_{L-1})) would not do it: chunk k's step would
     * be m_{k-1} times smaller; check that the chunk factor matters here (m_0 = 4 != 1) */
    CHECK(hntk_stdparam_rate(&a, 3, 0) / 5.0 == 4.0, "chunk factor");
    CHECK(hntk_stdparam_apply(t, NAN) == HNTK_EINVAL, "NaN rate accepted");
    printf("standard parametrization%s: %ld parameters, function rel err %.2g, step error %.2g of %.2g\n",
           bias_scale > 0 ? " with biases" : "", Nw, worst, err, scale);
    free(w), free(w1), free(g);
    hntk_train_free(t);
    if (bias_scale > 0) { /* only beta = 1 is the authors' model */
        a.bias_scale = 0.5;
        CHECK(hntk_train_alloc_config(&a, NB, &cfg, 0, &t) == HNTK_OK, "alloc: %s", hntk_last_error());
        CHECK(hntk_stdparam_init(t) == HNTK_EINVAL && strstr(hntk_last_error(), "bias_scale = 0.5"),
              "bias_scale 0.5: %s", hntk_last_error());
        hntk_train_free(t);
    }
}

int main(void)
{
    test_quarter_turns(28);
    test_quarter_turns(5);
    test_quarter_turns(6);
    test_general();
    test_labels();
    test_stdparam(0.0);
    test_stdparam(1.0);
    return TEST_SUMMARY();
}
