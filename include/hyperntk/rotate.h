/* rotate.h: image rotation and the labels of the rotation-prediction task
 * (docs/theory.md §9.2; `hyperntk rotations`).
 *
 * Rotation: out = the image `in` (rows x cols, row-major) rotated
 * counterclockwise (as displayed, row 0 at the top) by `degrees` about its
 * centre ((cols-1)/2, (rows-1)/2), by bilinear interpolation, with 0 outside
 * the image (fill 0).  Output pixel p is read at the point R(-a)(p - c) + c
 * of the input; the four neighbours of that point are weighted bilinearly,
 * those outside the image count as 0.  For angles whose reduction to [0, 360)
 * is exactly 0, 90, 180 or 270 the cosine and sine are taken as exact
 * integers, so the source points are pixel centres and the rotation is an
 * exact pixel permutation for square images (no rounding at all).
 *
 * Labels: class k in 0..K-1 is the multiple k (360/K) degrees nearest to a,
 * k = floor(a K / 360 + 1/2) mod K for a in [0, 360): a boundary (an odd
 * multiple of 180/K) goes to the upper class, and a in [360 - 180/K, 360)
 * wraps to class 0 (with K = 12: a2 in [345, 360) is label 0, [15, 45) label 1). */
#ifndef HYPERNTK_ROTATE_H
#define HYPERNTK_ROTATE_H

#ifdef __cplusplus
extern "C" {
#endif

/* in and out must not overlap; rows, cols >= 1; degrees finite (any value:
 * reduced modulo 360).  HNTK_EINVAL otherwise (out untouched). */
int hntk_rotate_image(const double *in, long rows, long cols, double degrees, double *out);

/* The class of angle a (degrees, in [0, 360); values outside are reduced
 * modulo 360) among K >= 1 equal sectors centred on the multiples of 360/K;
 * -1 for a non-finite a or K < 1. */
int hntk_rotation_label(double degrees, int K);

#ifdef __cplusplus
}
#endif
#endif
