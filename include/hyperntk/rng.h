/* rng.h: counter-based random streams (Random123 Philox4x32-10).
 *
 * A stream is named by (seed, sample, tensor, row): key = seed, counter =
 * (block, row, tensor, sample).  Values inside a row are drawn in order, so
 * every weight is a function of (seed, sample, tensor, row, column) only:
 * any thread or process can regenerate any row, in any order.
 *
 * Normals are exact in distribution (ziggurat with 53-bit uniforms and an
 * exact tail), not an approximation such as a sum of uniforms.
 *
 * Stream layout (fixed: results files depend on it; tests/unit/test_rng.c
 * pins a few values).  Block b = 0, 1, .. of stream (seed, sample, tensor, row)
 * is philox4x32_R(10, ctr = {b, row, tensor, sample}, key = {seed & 0xffffffff,
 * seed >> 32}): four 32-bit words w0..w3.  The stream is the word sequence
 * w0..w3 of block 0, then of block 1, ...; a 64-bit draw is two consecutive
 * words, the first as the low half.  Every value consumes whole draws in order
 * (so a row of n values is the same whether read at once or in chunks):
 *   u64      one draw.
 *   uniform  k = draw >> 11 (53 bits); k = 0 is skipped (p = 2^-53); u = k 2^-53.
 *   normal   256-layer ziggurat (Marsaglia & Tsang 2000) on one draw: bits 0..7
 *            the layer i, bit 8 the sign, bits 12..63 m; accepted at once
 *            (98.5%) when +-(m + 1/2) 2^-52 x[i] lies inside layer i's
 *            rectangle; otherwise the wedge test (one uniform and exp) or
 *            Marsaglia's tail method (pairs of uniforms and log) decide, and a
 *            rejected candidate restarts with the next draw.  About 1.02 draws
 *            per normal on average.
 * The block counter is 32 bits: a row holds at most 2^33 draws.
 */
#ifndef HYPERNTK_RNG_H
#define HYPERNTK_RNG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The registry of tensor ids: every stream of the project is (key, sample,
 * tensor, row) with its tensor id from this list, so no two uses of one key
 * can collide.  Fixed: result files depend on these numbers. */
enum hntk_tensor_id {
    HNTK_TENSOR_F_LAYER0 = 0,        /* f's layer l uses tensor id l (1..L) */
    HNTK_TENSOR_FOURIER_W = 1000,    /* Fourier-feature frequencies (k x z_dim); sample 0xFFFFFFFF */
    HNTK_TENSOR_FOURIER_B = 1001,    /* Fourier-feature phases (k)   (HNTK_FOURIER_RUN_SAMPLE) is
                                        reserved for the features drawn once per run (net.h) */
    HNTK_TENSOR_INPUT_X = 2000,      /* random inputs x of `hyperntk inputs` and bench */
    HNTK_TENSOR_INPUT_Z = 2001,      /* random inputs z */
    HNTK_TENSOR_BOOTSTRAP = 3000,    /* bootstrap resampling: (key, replicate, 3000, row) */
    HNTK_TENSOR_BENCH = 4000,        /* benchmark-only matrices */
    HNTK_TENSOR_LAZY_LAYER0 = 5000,  /* the lazy sampler (lazy.h): layer l uses 5000 + l (1..L),
                                        row = the query's number within the sample */
    HNTK_TENSOR_SHUFFLE = 6000,      /* SGD's permutation of epoch e (train.h): (key, e, 6000, 0) */
    HNTK_TENSOR_GAUSS_REF = 6001,    /* thm2's reference draws of N(0, Lambda^H(U,U)): (key, cell, 6001, row) */
    HNTK_TENSOR_TARGETS = 6002,      /* generated training targets (thm3): (key, 0, 6002, row) */
    HNTK_TENSOR_TRAIN_PIXELS = 6003, /* complete: the G training pixels of image i: (key, 0, 6003, i) */
    HNTK_TENSOR_CONTEXT = 6004,      /* complete: the inpainting context of image i: (key, 0, 6004, i) */
    HNTK_TENSOR_ROTATION = 6100,     /* rotations: angles (a1, a2) of image i in run r: (key_e, r, 6100, i) */
    HNTK_TENSOR_F_BIAS0 = 7000       /* f's bias b^l (net.h, bias_scale > 0): 7000 + l (1..L), row 0 */
};

/* SplitMix64's finalizer: a bijection of 64-bit words that mixes every bit. */
uint64_t hntk_rng_mix64(uint64_t z);

/* The key of the streams of one part of a run: a function of the run's seed
 * and a 64-bit code naming the part (a configuration and a width, say), so
 * that different parts draw independent weights from one --seed:
 * key = mix64(seed ^ mix64(code)).  Code 0 is not special.  The codes in use:
 *   thm1        mlp << 56 | L << 48 | H << 40 | n   (width n; n = 0: its bootstrap)
 *   fig1a       HNTK_TENSOR_BOOTSTRAP                (the bootstrap of its fit)
 *   kernel      0x6b65726e656c4d45 ("kernelME")      (the Fourier feature-mean draws)
 *   thm2        "thm2gref", "thm2boot", "thm2fit\0"  (Gaussian reference draws, cell bootstrap, fit bootstrap)
 *   complete    "complspl", "complpix", "complnet"  (split permutations; training pixels and contexts; the
 *               hypernetwork: key derive_key(that, (task 1000003 + N) 1009 + split), weights sample 0, SGD order)
 *   rotations   "rotatnet", "rotatshf", "rotatang"  (weights: sample = run; SGD order: key derive_key(that, run);
 *               angles: key derive_key(that, e + 1) in epoch e, derive_key(that, 0) for the test images)
 * The weights of fig1a, fig1b and kernel use the seed itself as the key. */
uint64_t hntk_rng_derive_key(uint64_t seed, uint64_t code);

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
 * each entry N(0,1) times `scale`.  Single-threaded: callers parallelize over
 * samples or rows (row r of M equals hntk_stream_normals of that stream, times scale). */
void hntk_fill_normal_matrix(uint64_t seed, uint32_t sample, uint32_t tensor,
                             double scale, double *M, size_t rows, size_t cols);

/* M (rows x dim): row r a uniformly random direction, the normals of stream
 * (seed, 0, tensor, r) scaled to |row|^2 = dim (the unit-diagonal convention
 * of docs/theory.md §1.3).  Random inputs of `hyperntk inputs` and bench. */
void hntk_random_directions(uint64_t seed, uint32_t tensor, double *M, size_t rows, size_t dim);

/* Instruction set of the bulk Philox kernels.  Values never depend on it (the
 * kernels compute the same integers; the unit test checks each against
 * Random123); it exists so tests and benchmarks can exercise every kernel. */
enum { HNTK_RNG_SIMD_NONE = 0, HNTK_RNG_SIMD_AVX2 = 1, HNTK_RNG_SIMD_AVX512 = 2 };

/* The level in effect: the highest one <= the cap (default: AVX-512) that the CPU supports. */
int hntk_rng_simd(void);

/* Set the cap (process-wide, atomic) and return the level now in effect. */
int hntk_rng_set_simd(int max_level);

/* Self-check of the ziggurat tables hard-coded in rng.c, for the unit test:
 * the largest relative deviation of any entry from its definition (equal
 * layer areas, the tail area, f = exp(-x^2/2), the fast-test thresholds).
 * Below 1e-13 when the tables are right (rounding of the stored doubles);
 * statistical tests alone cannot see a small error in one of 256 layers. */
double hntk_rng_ziggurat_check(void);

#ifdef __cplusplus
}
#endif
#endif
