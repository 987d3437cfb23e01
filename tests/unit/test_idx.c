/* test_idx.c: the IDX reader (idx.h) on files this test writes: plain and
 * gzip-compressed, and broken ones (truncated, wrong magic, type, rank,
 * trailing bytes, a missing file), each error naming the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "hyperntk/error.h"
#include "hyperntk/idx.h"
#include "testing.h"

static char dir[256];

static void path_of(char *out, const char *name) { snprintf(out, 512, "%s/%s", dir, name); }

/* An IDX image of sizes (2, 3, 4) with data k*7 mod 256, as bytes. */
static long make_idx(unsigned char *buf)
{
    unsigned char head[16] = {0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4};
    memcpy(buf, head, 16);
    for (int k = 0; k < 24; k++) buf[16 + k] = (unsigned char)(k * 7 % 256);
    return 40;
}

static void write_plain(const char *name, const unsigned char *buf, long n)
{
    char p[512];
    path_of(p, name);
    FILE *f = fopen(p, "wb");
    fwrite(buf, 1, (size_t)n, f);
    fclose(f);
}

static void write_gz(const char *name, const unsigned char *buf, long n)
{
    char p[512];
    path_of(p, name);
    gzFile g = gzopen(p, "wb");
    gzwrite(g, buf, (unsigned)n);
    gzclose(g);
}

/* Reading `name` fails with `code` and a message naming the file and containing `what`. */
static void expect_fail(const char *name, int rank, int code, const char *what)
{
    char p[512];
    path_of(p, name);
    hntk_idx x;
    int st = hntk_idx_read(p, rank, &x);
    CHECK(st == code, "%s: status %d, want %d (%s)", name, st, code, hntk_last_error());
    CHECK(strstr(hntk_last_error(), p) != NULL, "%s: message does not name the file: %s", name, hntk_last_error());
    CHECK(strstr(hntk_last_error(), what) != NULL, "%s: message lacks '%s': %s", name, what, hntk_last_error());
    CHECK(x.data == NULL && x.rank == 0, "%s: output not cleared on failure", name);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/hyperntk_test_idx.%d", (int)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    if (system(cmd) != 0) return 1;
    unsigned char buf[64];
    long n = make_idx(buf);
    write_plain("good", buf, n);
    write_gz("good.gz", buf, n);
    const char *names[2] = {"good", "good.gz"};
    for (int k = 0; k < 2; k++) {
        char p[512];
        path_of(p, names[k]);
        hntk_idx x;
        int st = hntk_idx_read(p, 3, &x);
        CHECK(st == HNTK_OK, "%s: %s", names[k], hntk_last_error());
        if (st) continue;
        CHECK(x.rank == 3 && x.dims[0] == 2 && x.dims[1] == 3 && x.dims[2] == 4 && x.count == 24,
              "%s: shape %d (%ld, %ld, %ld) count %ld", names[k], x.rank, x.dims[0], x.dims[1], x.dims[2], x.count);
        int same = 1;
        for (int i = 0; i < 24; i++) same &= x.data[i] == (unsigned char)(i * 7 % 256);
        CHECK(same, "%s: data differ from what was written", names[k]);
        hntk_idx_free(&x);
        CHECK(x.data == NULL, "free clears");
        /* rank 0 accepts any */
        st = hntk_idx_read(p, 0, &x);
        CHECK(st == HNTK_OK && x.rank == 3, "%s with rank 0: %s", names[k], hntk_last_error());
        hntk_idx_free(&x);
    }
    /* truncated data: plain and gzip (a complete gzip stream of fewer bytes) */
    write_plain("trunc", buf, n - 5);
    write_gz("trunc.gz", buf, n - 5);
    expect_fail("trunc", 3, HNTK_EFORMAT, "19 of the 24 bytes");
    expect_fail("trunc.gz", 3, HNTK_EFORMAT, "19 of the 24 bytes");
    /* a truncated gzip file (the compressed stream cut short) */
    {
        char p[512], q[512];
        path_of(p, "good.gz");
        path_of(q, "cut.gz");
        FILE *f = fopen(p, "rb");
        unsigned char z[256];
        size_t m = fread(z, 1, sizeof z, f);
        fclose(f);
        f = fopen(q, "wb");
        fwrite(z, 1, m - 12, f); /* drops the CRC, the length and part of the deflate stream */
        fclose(f);
        hntk_idx x;
        int st = hntk_idx_read(q, 3, &x);
        CHECK(st == HNTK_EFORMAT, "cut gzip: status %d (%s)", st, hntk_last_error());
        CHECK(strstr(hntk_last_error(), q) != NULL, "cut gzip names the file: %s", hntk_last_error());
    }
    write_plain("header", buf, 10);
    expect_fail("header", 3, HNTK_EFORMAT, "truncated IDX header");
    write_plain("tiny", buf, 2);
    expect_fail("tiny", 3, HNTK_EFORMAT, "expected an IDX file");
    unsigned char bad[64];
    memcpy(bad, buf, (size_t)n);
    bad[0] = 0x1f, bad[1] = 0x42; /* wrong magic */
    write_plain("magic", bad, n);
    expect_fail("magic", 3, HNTK_EFORMAT, "magic number 0x1f420803");
    memcpy(bad, buf, (size_t)n);
    bad[2] = 0x0d; /* float data */
    write_plain("type", bad, n);
    expect_fail("type", 3, HNTK_EFORMAT, "type code 0x0d, expected 0x08");
    expect_fail("good", 1, HNTK_EFORMAT, "IDX rank 3, expected 1");
    memcpy(bad, buf, (size_t)n);
    bad[40] = 9; /* one byte too many */
    write_plain("trailing", bad, n + 1);
    expect_fail("trailing", 3, HNTK_EFORMAT, "bytes after the 24 data bytes");
    memcpy(bad, buf, (size_t)n);
    bad[7] = 0; /* a zero size */
    write_plain("zero", bad, n);
    expect_fail("zero", 3, HNTK_EFORMAT, "IDX size 0 is 0");
    expect_fail("missing", 3, HNTK_EIO, "No such file");
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    return TEST_SUMMARY();
}
