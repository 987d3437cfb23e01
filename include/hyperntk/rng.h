/* rng.h: counter-based random streams (Random123 Philox4x32-10).
 *
 * A stream is named by (seed, sample, tensor, row): key = seed, counter =
 * (block, row, tensor, sample).  Values inside a row are drawn in order, so
 * every weight is a function of (seed, sample, tensor, row, column) only:
 * any thread or process can regenerate any row, in any order.
 *
 * Normals are exact in distribution (ziggurat with 53-bit uniforms and an
 * exact tail), not an approximation such as a sum of uniforms.
 */
#ifndef HYPERNTK_RNG_H
#define HYPERNTK_RNG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Tensor ids used by the networks (distinct streams). */
enum {
    HNTK_TENSOR_F_LAYER0 = 0,        /* f's layer l uses tensor id l (1..L) */
    HNTK_TENSOR_FOURIER_W = 1000,    /* Fourier-feature frequencies (k x z_dim) */
    HNTK_TENSOR_FOURIER_B = 1001     /* Fourier-feature phases (k) */
};

typedef struct {
    uint32_t key[2];      /* seed */
    uint32_t ctr[4];      /* block, row, tensor, sample */
    uint32_t buf[4];      /* last Philox output */
    int avail;            /* unread 32-bit words left in buf (consumed from the front) */
} hntk_stream;

void hntk_stream_init(hntk_stream *s, uint64_t seed, uint32_t sample, uint32_t tensor, uint32_t row);

/* Next 64 random bits of the stream. */
uint64_t hntk_stream_u64(hntk_stream *s);

/* n standard normals N(0,1). */
void hntk_stream_normals(hntk_stream *s, double *out, size_t n);

/* n uniforms on the open interval (0,1), 53-bit resolution. */
void hntk_stream_uniforms(hntk_stream *s, double *out, size_t n);

/* M (rows x cols, row-major): row r is drawn from stream (seed, sample, tensor, r),
 * each entry N(0,1) times `scale`. */
void hntk_fill_normal_matrix(uint64_t seed, uint32_t sample, uint32_t tensor,
                             double scale, double *M, size_t rows, size_t cols);

#ifdef __cplusplus
}
#endif
#endif
