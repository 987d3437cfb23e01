/* regress.h: kernel regression (docs/theory.md §9.1, Eq. 1 of the appendix) by
 * a Cholesky factorization through LAPACK (dpotrf/dpotrs of OpenBLAS).
 *
 *   alpha = (K + eps I)^{-1} y,     yhat(u) = k(u, U) . alpha
 *
 * K (n, n) is symmetric, so row-major and column-major storage coincide; the
 * factor is LAPACK's lower triangle in column-major order (the upper triangle
 * of the row-major array); the other triangle is left as it was.  LAPACK runs
 * on the BLAS threads the caller set (the program sets one: the result is then
 * a function of the inputs only). */
#ifndef HYPERNTK_REGRESS_H
#define HYPERNTK_REGRESS_H

#ifdef __cplusplus
extern "C" {
#endif

/* A <- chol(A + eps I) in place (n, n; 1 <= n < 2^31, eps >= 0 finite).
 * HNTK_EINVAL when A + eps I is not positive definite (the message names the
 * order of the failing leading minor, eps and the mean diagonal of A) or on a
 * non-finite diagonal. */
int hntk_chol_factor(long n, double *A, double eps);

/* Solve (A + eps I) X = B with the factor of hntk_chol_factor: B holds nrhs
 * right-hand sides of length n, each contiguous ((nrhs, n) row-major), and is
 * overwritten by the solutions. */
int hntk_chol_solve(long n, const double *factor, long nrhs, double *B);

/* Floating-point operations of hntk_chol_factor (n^3/3) and of a solve with
 * nrhs right-hand sides (2 n^2 nrhs), for GFLOP/s. */
double hntk_chol_factor_flops(long n);
double hntk_chol_solve_flops(long n, long nrhs);

#ifdef __cplusplus
}
#endif
#endif
