/* version.h: provenance of results. */
#ifndef HYPERNTK_VERSION_H
#define HYPERNTK_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

const char *hntk_version(void);      /* the library version, e.g. "0.1.0" */
const char *hntk_git_revision(void); /* `git describe --always --dirty` at build time */

/* Make OpenBLAS single-threaded: parallelism is over samples (OpenMP), and a
 * sample's numbers must not depend on how BLAS splits its work. */
void hntk_blas_single_thread(void);

#ifdef __cplusplus
}
#endif
#endif
