/* idx.h: IDX files, the format of MNIST and Fashion-MNIST (LeCun et al.).
 *
 * Layout: two zero bytes, a type code (0x08: unsigned byte, the only type
 * these data sets use and the only one read here), the number of dimensions
 * d, then d sizes as big-endian uint32, then the prod(sizes) data bytes in
 * row-major order and nothing after them.  Images are d = 3 (count, rows,
 * columns), labels d = 1.  The file may be gzip-compressed or not: zlib's
 * gzread reads both.
 *
 * Every failure names the file and what was expected: a missing file, a
 * corrupt gzip stream, a wrong magic, type or rank, a zero size, truncated
 * data (how many bytes of how many), trailing bytes. */
#ifndef HYPERNTK_IDX_H
#define HYPERNTK_IDX_H

#ifdef __cplusplus
extern "C" {
#endif

enum { HNTK_IDX_MAX_RANK = 4 };
/* Largest data part accepted (bytes): 2^31, well above MNIST's 47 MB. */
#define HNTK_IDX_MAX_BYTES 2147483648.0

typedef struct {
    int rank;                     /* d */
    long dims[HNTK_IDX_MAX_RANK]; /* sizes; unused entries 0 */
    long count;                   /* prod(dims): bytes of data */
    unsigned char *data;          /* row-major, malloc'd */
} hntk_idx;

/* Read the IDX file `path` of rank `want_rank` (1..4; 0 accepts any).  On
 * failure *out is zeroed and nothing stays allocated. */
int hntk_idx_read(const char *path, int want_rank, hntk_idx *out);
void hntk_idx_free(hntk_idx *x); /* frees data, zeroes *x; NULL is harmless */

#ifdef __cplusplus
}
#endif
#endif
