/* version.c: library version and BLAS threading policy. */
#include "hyperntk/version.h"

#include "blas.h"

const char *hntk_version(void) { return HYPERNTK_VERSION; }

void hntk_blas_single_thread(void) { openblas_set_num_threads(1); }
