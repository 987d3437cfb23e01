/* cross_kernel.c: the hyperkernel Theta^h and the hyper-NNGP Lambda^H between
 * two sets of inputs with the installed library (examples/CMakeLists.txt).
 * L = 3, H = 3, inputs with |x|^2 = x_dim and |z|^2 = z_dim; the pair with
 * x perpendicular to x' and z to z' is docs/theory.md §6's: Theta^h = 0.334148,
 * Lambda^H = 0.197902.  Prints both 2 x 3 matrices, then a refused call with
 * the library's message; exit 0 when the §6 values come out. */
#include <math.h>
#include <stdio.h>

#include <hyperntk/hyperntk.h>

int main(void)
{
    /* set 1: two inputs u_i = (x_i, z_i); set 2: three inputs */
    const double X1[2 * 2] = {1, 1, 1, -1}, Z1[2 * 2] = {1, 1, 1, 1};
    const double X2[3 * 2] = {1, -1, 1, 1, 0, 1.4142135623730951}, Z2[3 * 2] = {-1, 1, 1, 1, 1.4142135623730951, 0};
    hntk_hyper_arch a = {.f_depth = 3, .x_dim = 2, .g_depth = 3, .z_dim = 2};
    double ntk[2 * 3], nngp[2 * 3];
    hntk_cross_out out = {.ntk = ntk, .nngp = nngp};
    if (hntk_limit_cross(&a, HNTK_VARIANT_PAPER, 2, X1, Z1, 3, X2, Z2, &out) != HNTK_OK) {
        fprintf(stderr, "cross_kernel: %s\n", hntk_last_error());
        return 1;
    }
    printf("hyperntk %s: Theta^h and Lambda^H, 2 x 3 inputs, L = 3, H = 3\n", hntk_version());
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 3; j++) printf(" %9.6f", ntk[i * 3 + j]);
        printf("   |");
        for (int j = 0; j < 3; j++) printf(" %9.6f", nngp[i * 3 + j]);
        printf("\n");
    }
    /* a bad architecture: the status and the library's message */
    a.g_depth = 0;
    int st = hntk_limit_cross(&a, HNTK_VARIANT_PAPER, 2, X1, Z1, 3, X2, Z2, &out);
    printf("g_depth = 0: %s: %s\n", hntk_status_name(st), hntk_last_error());
    /* (x_0, z_0) against (x'_0, z'_0): x perpendicular to x', z to z' */
    return fabs(ntk[0] - 0.334148) < 5e-7 && fabs(nngp[0] - 0.197902) < 5e-7 && st == HNTK_EINVAL ? 0 : 1;
}
