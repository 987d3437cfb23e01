/* idx.c: the IDX reader (idx.h), through zlib so that .gz files read directly. */
#include "hyperntk/idx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "hyperntk/error.h"

void hntk_idx_free(hntk_idx *x)
{
    if (!x) return;
    free(x->data);
    memset(x, 0, sizeof *x);
}

/* Read exactly n bytes; the count actually read, or -1 on a zlib error (message in *err). */
static long read_bytes(gzFile g, unsigned char *buf, long n, const char **err)
{
    long got = 0;
    while (got < n) {
        long chunk = n - got > (1L << 30) ? (1L << 30) : n - got;
        int r = gzread(g, buf + got, (unsigned)chunk);
        if (r < 0) {
            int code;
            *err = gzerror(g, &code);
            return -1;
        }
        if (r == 0) break;
        got += r;
    }
    return got;
}

int hntk_idx_read(const char *path, int want_rank, hntk_idx *out)
{
    memset(out, 0, sizeof *out);
    if (!path) return hntk_fail(HNTK_EINVAL, "IDX file name is NULL");
    if (want_rank < 0 || want_rank > HNTK_IDX_MAX_RANK)
        return hntk_fail(HNTK_EINVAL, "IDX rank %d asked of %s: accepted 0 (any) or 1..%d", want_rank, path,
                         HNTK_IDX_MAX_RANK);
    errno = 0;
    gzFile g = gzopen(path, "rb");
    if (!g)
        return hntk_fail(HNTK_EIO, "cannot open the IDX file %s: %s", path,
                         errno ? strerror(errno) : "zlib could not allocate its state");
    const char *err = NULL;
    unsigned char head[4 + 4 * HNTK_IDX_MAX_RANK];
    int st = HNTK_OK;
    long got = read_bytes(g, head, 4, &err);
    if (got < 0)
        st = hntk_fail(HNTK_EFORMAT, "%s: corrupt gzip stream in the IDX header: %s", path, err);
    else if (got < 4)
        st = hntk_fail(HNTK_EFORMAT, "%s: %ld bytes, expected an IDX file (a 4-byte magic number, then the sizes)",
                       path, got);
    else if (head[0] != 0 || head[1] != 0)
        st = hntk_fail(HNTK_EFORMAT, "%s: magic number 0x%02x%02x%02x%02x, expected an IDX file (0x0000TTDD: two zero "
                       "bytes, type, rank)", path, head[0], head[1], head[2], head[3]);
    else if (head[2] != 0x08)
        st = hntk_fail(HNTK_EFORMAT, "%s: IDX type code 0x%02x, expected 0x08 (unsigned byte, as MNIST)", path, head[2]);
    else if (head[3] < 1 || head[3] > HNTK_IDX_MAX_RANK || (want_rank && head[3] != want_rank))
        st = hntk_fail(HNTK_EFORMAT, "%s: IDX rank %d, expected %s%d (images: 3 = count x rows x columns; labels: 1)",
                       path, head[3], want_rank ? "" : "1..", want_rank ? want_rank : HNTK_IDX_MAX_RANK);
    int rank = st ? 0 : head[3];
    double total = 1.0;
    if (!st) {
        got = read_bytes(g, head + 4, 4L * rank, &err);
        if (got < 0)
            st = hntk_fail(HNTK_EFORMAT, "%s: corrupt gzip stream in the IDX header: %s", path, err);
        else if (got < 4L * rank)
            st = hntk_fail(HNTK_EFORMAT, "%s: truncated IDX header: %ld of the %d bytes of %d sizes", path, got,
                           4 * rank, rank);
    }
    for (int k = 0; k < rank && !st; k++) {
        const unsigned char *p = head + 4 + 4 * k;
        unsigned long d = ((unsigned long)p[0] << 24) | ((unsigned long)p[1] << 16) | ((unsigned long)p[2] << 8) | p[3];
        if (d == 0) st = hntk_fail(HNTK_EFORMAT, "%s: IDX size %d is 0, expected >= 1", path, k);
        out->dims[k] = (long)d;
        total *= (double)d;
    }
    if (!st && total > HNTK_IDX_MAX_BYTES)
        st = hntk_fail(HNTK_EFORMAT, "%s: IDX data of %.0f bytes, accepted at most %.0f", path, total, HNTK_IDX_MAX_BYTES);
    if (!st) {
        out->rank = rank;
        out->count = (long)total;
        out->data = malloc((size_t)out->count);
        if (!out->data) st = hntk_fail(HNTK_ENOMEM, "%s: cannot allocate %ld bytes of IDX data", path, out->count);
    }
    if (!st) {
        got = read_bytes(g, out->data, out->count, &err);
        if (got < 0)
            st = hntk_fail(HNTK_EFORMAT, "%s: corrupt gzip stream in the IDX data: %s", path, err);
        else if (got < out->count)
            st = hntk_fail(HNTK_EFORMAT, "%s: truncated IDX data: %ld of the %ld bytes its sizes announce", path, got,
                           out->count);
    }
    if (!st) {
        unsigned char extra;
        got = read_bytes(g, &extra, 1, &err);
        if (got < 0)
            st = hntk_fail(HNTK_EFORMAT, "%s: corrupt gzip stream after the IDX data: %s", path, err);
        else if (got > 0)
            st = hntk_fail(HNTK_EFORMAT, "%s: bytes after the %ld data bytes its IDX sizes announce (expected the end "
                           "of the file)", path, out->count);
    }
    gzclose(g);
    if (st) hntk_idx_free(out);
    return st;
}
