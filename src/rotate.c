/* rotate.c: bilinear image rotation and rotation labels (see rotate.h). */
#include "hyperntk/rotate.h"

#include <math.h>
#include <string.h>

#include "hyperntk/error.h"

/* a reduced to [0, 360). */
static double reduce(double a)
{
    double r = fmod(a, 360.0);
    if (r < 0) r += 360.0;
    if (r >= 360.0) r = 0.0; /* fmod(-tiny) + 360 rounds to 360 */
    return r;
}

int hntk_rotate_image(const double *in, long rows, long cols, double degrees, double *out)
{
    if (rows < 1 || cols < 1)
        return hntk_fail(HNTK_EINVAL, "rotate: image of %ld x %ld pixels, accepted at least 1 x 1", rows, cols);
    if (!isfinite(degrees)) return hntk_fail(HNTK_EINVAL, "rotate: angle %g is not finite", degrees);
    if (in == out) return hntk_fail(HNTK_EINVAL, "rotate: the input and output images must not overlap");
    double a = reduce(degrees), c, s;
    if (a == 0.0) c = 1.0, s = 0.0;
    else if (a == 90.0) c = 0.0, s = 1.0;
    else if (a == 180.0) c = -1.0, s = 0.0;
    else if (a == 270.0) c = 0.0, s = -1.0;
    else {
        double t = a * (3.14159265358979323846 / 180.0);
        c = cos(t), s = sin(t);
    }
    double cx = 0.5 * (double)(cols - 1), cy = 0.5 * (double)(rows - 1);
    for (long r = 0; r < rows; r++) {
        double y = cy - (double)r; /* upwards */
        for (long k = 0; k < cols; k++) {
            double x = (double)k - cx;
            /* the source point R(-a) (x, y) in pixel coordinates */
            double xs = c * x + s * y, ys = -s * x + c * y;
            double cs = cx + xs, rs = cy - ys;
            double r0f = floor(rs), c0f = floor(cs), fr = rs - r0f, fc = cs - c0f;
            long r0 = (long)r0f, c0 = (long)c0f;
            double v = 0.0;
            if (r0 >= -1 && r0 < rows && c0 >= -1 && c0 < cols) {
                if (r0 >= 0 && c0 >= 0) v += (1.0 - fr) * (1.0 - fc) * in[r0 * cols + c0];
                if (r0 >= 0 && c0 + 1 < cols && fc > 0.0) v += (1.0 - fr) * fc * in[r0 * cols + c0 + 1];
                if (r0 + 1 < rows && c0 >= 0 && fr > 0.0) v += fr * (1.0 - fc) * in[(r0 + 1) * cols + c0];
                if (r0 + 1 < rows && c0 + 1 < cols && fr > 0.0 && fc > 0.0) v += fr * fc * in[(r0 + 1) * cols + c0 + 1];
            }
            out[r * cols + k] = v;
        }
    }
    return HNTK_OK;
}

int hntk_rotation_label(double degrees, int K)
{
    if (!isfinite(degrees) || K < 1) return -1;
    double a = reduce(degrees);
    long k = (long)floor(a * (double)K / 360.0 + 0.5);
    return (int)(k % K);
}
