/* blas.h (internal): CBLAS declarations.  GSL's header declares the standard
 * CBLAS interface; the symbols come from OpenBLAS at link time. */
#ifndef HYPERNTK_SRC_BLAS_H
#define HYPERNTK_SRC_BLAS_H

#include <gsl/gsl_cblas.h>

void openblas_set_num_threads(int num_threads);

#endif
