/* regress.c: Cholesky factorization and solve through LAPACK (regress.h). */
#include "hyperntk/regress.h"

#include <math.h>
#include <stddef.h>

#include "hyperntk/error.h"

/* LAPACK's Fortran symbols, exported by OpenBLAS (the trailing size_t is the
 * hidden length of the character argument of the gfortran convention). */
extern void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info, size_t uplo_len);
extern void dpotrs_(const char *uplo, const int *n, const int *nrhs, const double *a, const int *lda, double *b,
                    const int *ldb, int *info, size_t uplo_len);

int hntk_chol_factor(long n, double *A, double eps)
{
    if (n < 1 || n > 2147483647L) return hntk_fail(HNTK_EINVAL, "Cholesky of order n = %ld: accepted 1..2^31-1", n);
    if (!A) return hntk_fail(HNTK_EINVAL, "Cholesky: the matrix is NULL");
    if (!(eps >= 0.0) || !isfinite(eps)) return hntk_fail(HNTK_EINVAL, "ridge eps = %g, accepted: finite and >= 0", eps);
    double mean_diag = 0.0;
    for (long i = 0; i < n; i++) {
        double *d = A + (size_t)i * (size_t)n + (size_t)i;
        if (!isfinite(*d)) return hntk_fail(HNTK_EINVAL, "Cholesky: diagonal entry %ld = %g is not finite", i, *d);
        mean_diag += *d / (double)n;
        *d += eps;
    }
    int N = (int)n, info = 0;
    dpotrf_("L", &N, A, &N, &info, 1);
    if (info < 0) return hntk_fail(HNTK_EINVAL, "dpotrf: argument %d is illegal", -info);
    if (info > 0)
        return hntk_fail(HNTK_EINVAL, "the Gram matrix + eps I (order %ld, eps = %g, mean diagonal %g) is not positive "
                         "definite: its leading minor of order %d is not (repeated inputs? raise eps)", n, eps,
                         mean_diag, info);
    return HNTK_OK;
}

int hntk_chol_solve(long n, const double *factor, long nrhs, double *B)
{
    if (n < 1 || n > 2147483647L) return hntk_fail(HNTK_EINVAL, "Cholesky solve of order n = %ld: accepted 1..2^31-1", n);
    if (nrhs < 1 || (double)nrhs * (double)n > 2147483647.0)
        return hntk_fail(HNTK_EINVAL, "Cholesky solve with nrhs = %ld right-hand sides of length %ld: accepted nrhs >= 1, "
                         "nrhs n < 2^31", nrhs, n);
    int N = (int)n, R = (int)nrhs, info = 0;
    dpotrs_("L", &N, &R, factor, &N, B, &N, &info, 1);
    if (info) return hntk_fail(HNTK_EINVAL, "dpotrs: argument %d is illegal", -info);
    return HNTK_OK;
}

double hntk_chol_factor_flops(long n) { return (double)n * (double)n * (double)n / 3.0; }
double hntk_chol_solve_flops(long n, long nrhs) { return 2.0 * (double)n * (double)n * (double)nrhs; }
