/* test_h5io.c: HDF5 round trips, atomic writes, signal cleanup and the
 * error messages of the readers.  Everything happens in a fresh mkdtemp
 * directory under /tmp, which is removed at the end. */
#define _POSIX_C_SOURCE 200809L

#include "hyperntk/error.h"
#include "hyperntk/h5io.h"
#include "testing.h"

#include <hdf5.h>

#include <dirent.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[256];

/* A path inside the test directory; a few rotating buffers so that two
 * results can be used in one expression. */
static const char *in_dir(const char *name)
{
    static char bufs[8][512];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", tmpdir, name);
    return b;
}

static const char *tmp_of(const char *path, long pid)
{
    static char buf[600];
    snprintf(buf, sizeof buf, "%s.tmp.%ld", path, pid);
    return buf;
}

static int file_exists(const char *path) { return access(path, F_OK) == 0; }

static int msg_has(const char *needle) { return strstr(hntk_last_error(), needle) != NULL; }

/* Write one dataset with the raw HDF5 API, to build files our writer never
 * produces (integer data, float32, fixed-length strings). */
static void raw_dataset(hid_t file, const char *name, hid_t ftype, hid_t mtype, int rank, const hsize_t *dims,
                        const void *data)
{
    hid_t space = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t d = H5Dcreate2(file, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    H5Dclose(d);
    H5Sclose(space);
}

/* A plausible inputs file: x (B, xd), z (Bz, zd), values i + j/8. */
static int write_inputs(const char *path, long B, long xd, long Bz, long zd)
{
    hntk_h5 *f;
    int st = hntk_h5_create(path, &f);
    if (st)
        return st;
    double *x = malloc(sizeof(double) * (size_t)(B * xd + 1));
    double *z = malloc(sizeof(double) * (size_t)(Bz * zd + 1));
    for (long i = 0; i < B * xd; i++)
        x[i] = (double)i / 8.0 - 1.0;
    for (long i = 0; i < Bz * zd; i++)
        z[i] = (double)i / 16.0 + 0.5;
    long dx[2] = {B, xd}, dz[2] = {Bz, zd};
    st = hntk_h5_write(f, "x", 2, dx, x);
    if (!st)
        st = hntk_h5_write(f, "z", 2, dz, z);
    free(x);
    free(z);
    if (st) {
        hntk_h5_abort(f);
        return st;
    }
    return hntk_h5_commit(f);
}

/* ------------------------------------------------------------------------ */

static void test_round_trip(void)
{
    const char *path = in_dir("rt.h5");
    hntk_h5 *f = NULL;
    CHECK(hntk_h5_create(path, &f) == HNTK_OK, "create: %s", hntk_last_error());

    /* Awkward values: every bit must survive. */
    double s = -0.0;
    double v1[5] = {1.0 / 3.0, -DBL_MAX, DBL_MIN / 4.0, 0.1, 2.5e-300};
    double m2[3 * 4], c3[2 * 3 * 4], q4[2 * 1 * 3 * 2];
    for (int i = 0; i < 12; i++)
        m2[i] = sin(i + 0.5) / 7.0;
    for (int i = 0; i < 24; i++)
        c3[i] = exp(-i / 3.0) * (i % 2 ? -1 : 1);
    for (int i = 0; i < 12; i++)
        q4[i] = sqrt(i + 2.0);
    long d1[1] = {5}, d2[2] = {3, 4}, d3[3] = {2, 3, 4}, d4[4] = {2, 1, 3, 2};

    CHECK(hntk_h5_write_scalar(f, "/scalar", s) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_write(f, "/a/b/vec", 1, d1, v1) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_write(f, "empirical/ntk_mean", 2, d2, m2) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_write(f, "/deep/er/still/cube", 3, d3, c3) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_write(f, "/q4", 4, d4, q4) == HNTK_OK, "%s", hntk_last_error());
    /* Writing a name twice is refused with the name in the message. */
    CHECK(hntk_h5_write(f, "/a/b/vec", 1, d1, v1) == HNTK_EINVAL && msg_has("/a/b/vec"),
          "duplicate: %s", hntk_last_error());
    CHECK(hntk_h5_write(f, "/bad", 5, d4, q4) == HNTK_EINVAL, "rank 5 accepted");

    CHECK(hntk_h5_attr_long(f, "/", "seed", 1) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_attr_long(f, "/", "seed", -1234567890123L) == HNTK_OK, "overwrite: %s", hntk_last_error());
    CHECK(hntk_h5_attr_double(f, "/", "sigma_w", 1.0 / 7.0) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_attr_string(f, "/", "version", "0.1.0 héllo") == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_attr_string(f, "/a/b/vec", "units", "nats") == HNTK_OK, "on dataset: %s", hntk_last_error());
    CHECK(hntk_h5_attr_double(f, "/a", "scale", -2.75) == HNTK_OK, "on group: %s", hntk_last_error());
    CHECK(hntk_h5_attr_long(f, "meta/run", "steps", 42) == HNTK_OK, "new group: %s", hntk_last_error());
    CHECK(hntk_h5_attr_string(f, "meta/run", "empty", "") == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_commit(f) == HNTK_OK, "commit: %s", hntk_last_error());

    long dims[4] = {0};
    double *got = NULL;
    CHECK(hntk_h5_read(path, "/scalar", 0, NULL, &got) == HNTK_OK, "%s", hntk_last_error());
    CHECK(got && memcmp(got, &s, sizeof s) == 0, "scalar -0.0 not bit-exact");
    free(got);

    CHECK(hntk_h5_read(path, "a/b/vec", 1, dims, &got) == HNTK_OK, "%s", hntk_last_error());
    CHECK(got && dims[0] == 5 && memcmp(got, v1, sizeof v1) == 0, "rank 1 round trip");
    free(got);

    CHECK(hntk_h5_read(path, "/empirical/ntk_mean", 2, dims, &got) == HNTK_OK, "%s", hntk_last_error());
    CHECK(got && dims[0] == 3 && dims[1] == 4 && memcmp(got, m2, sizeof m2) == 0, "rank 2 round trip");
    free(got);

    CHECK(hntk_h5_read(path, "/deep/er/still/cube", 3, dims, &got) == HNTK_OK, "%s", hntk_last_error());
    CHECK(got && dims[0] == 2 && dims[1] == 3 && dims[2] == 4 && memcmp(got, c3, sizeof c3) == 0,
          "rank 3 round trip");
    free(got);

    long want4[4] = {2, -1, 3, 2};
    CHECK(hntk_h5_read_shaped(path, "/q4", 4, want4, dims, &got) == HNTK_OK, "%s", hntk_last_error());
    CHECK(got && dims[0] == 2 && dims[1] == 1 && dims[2] == 3 && dims[3] == 2 && memcmp(got, q4, sizeof q4) == 0,
          "rank 4 round trip");
    free(got);

    long lv = 0;
    double dv = 0;
    char sv[64];
    CHECK(hntk_h5_read_attr_long(path, "/", "seed", &lv) == HNTK_OK && lv == -1234567890123L,
          "long attr: %ld (%s)", lv, hntk_last_error());
    CHECK(hntk_h5_read_attr_double(path, "/", "sigma_w", &dv) == HNTK_OK && dv == 1.0 / 7.0,
          "double attr: %.17g", dv);
    CHECK(hntk_h5_read_attr_string(path, "/", "version", sv, sizeof sv) == HNTK_OK &&
              strcmp(sv, "0.1.0 héllo") == 0,
          "string attr: '%s'", sv);
    CHECK(hntk_h5_read_attr_string(path, "/a/b/vec", "units", sv, sizeof sv) == HNTK_OK && strcmp(sv, "nats") == 0,
          "attr on dataset: '%s'", sv);
    CHECK(hntk_h5_read_attr_double(path, "/a", "scale", &dv) == HNTK_OK && dv == -2.75, "attr on group");
    CHECK(hntk_h5_read_attr_long(path, "/meta/run", "steps", &lv) == HNTK_OK && lv == 42, "attr on new group");
    CHECK(hntk_h5_read_attr_string(path, "/meta/run", "empty", sv, sizeof sv) == HNTK_OK && sv[0] == '\0',
          "empty string");
    /* Truncation to cap-1 characters. */
    CHECK(hntk_h5_read_attr_string(path, "/", "version", sv, 4) == HNTK_OK && strcmp(sv, "0.1") == 0,
          "truncated: '%s'", sv);

    /* Attribute errors name the attribute and the expected type. */
    CHECK(hntk_h5_read_attr_long(path, "/", "sigma_w", &lv) == HNTK_EFORMAT && msg_has("sigma_w") &&
              msg_has("integer"),
          "long from double: %s", hntk_last_error());
    CHECK(hntk_h5_read_attr_double(path, "/", "nope", &dv) == HNTK_EFORMAT && msg_has("nope"),
          "missing attr: %s", hntk_last_error());
    CHECK(hntk_h5_read_attr_double(path, "/x/y", "scale", &dv) == HNTK_EFORMAT && msg_has("/x/y"),
          "missing object: %s", hntk_last_error());

    /* exists: nested paths, paths through a dataset, the root, no file. */
    CHECK(hntk_h5_exists(path, "/a/b/vec") == 1, "exists nested");
    CHECK(hntk_h5_exists(path, "a/b") == 1, "exists group");
    CHECK(hntk_h5_exists(path, "/") == 1, "exists root");
    CHECK(hntk_h5_exists(path, "/nope/deeper/x") == 0, "missing nested");
    CHECK(hntk_h5_exists(path, "/a/b/vec/inside") == 0, "through a dataset");
    CHECK(hntk_h5_exists(in_dir("absent.h5"), "/a") == 0, "missing file");
}

static void test_fixed_length_strings(void)
{
    /* h5py and other tools may write fixed-length strings, NUL- or space-padded. */
    const char *path = in_dir("fixed.h5");
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t t1 = H5Tcopy(H5T_C_S1);
    H5Tset_size(t1, 8);
    H5Tset_strpad(t1, H5T_STR_NULLPAD);
    hid_t a1 = H5Acreate2(file, "nullpad", t1, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a1, t1, "relu\0\0\0\0");
    hid_t t2 = H5Tcopy(H5T_C_S1);
    H5Tset_size(t2, 8);
    H5Tset_strpad(t2, H5T_STR_SPACEPAD);
    hid_t a2 = H5Acreate2(file, "spacepad", t2, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a2, t2, "erf     ");
    hid_t t3 = H5Tcopy(H5T_C_S1);
    H5Tset_size(t3, 5);
    H5Tset_strpad(t3, H5T_STR_NULLPAD);
    hid_t a3 = H5Acreate2(file, "full", t3, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a3, t3, "abcde"); /* exactly fills: no terminator stored */
    H5Aclose(a1);
    H5Aclose(a2);
    H5Aclose(a3);
    H5Tclose(t1);
    H5Tclose(t2);
    H5Tclose(t3);
    H5Sclose(space);
    H5Fclose(file);

    char sv[32];
    CHECK(hntk_h5_read_attr_string(path, "/", "nullpad", sv, sizeof sv) == HNTK_OK && strcmp(sv, "relu") == 0,
          "nullpad: '%s' (%s)", sv, hntk_last_error());
    CHECK(hntk_h5_read_attr_string(path, "/", "spacepad", sv, sizeof sv) == HNTK_OK && strcmp(sv, "erf") == 0,
          "spacepad: '%s' (%s)", sv, hntk_last_error());
    CHECK(hntk_h5_read_attr_string(path, "/", "full", sv, sizeof sv) == HNTK_OK && strcmp(sv, "abcde") == 0,
          "full: '%s' (%s)", sv, hntk_last_error());
}

static void test_atomicity(void)
{
    const char *path = in_dir("atomic.h5");
    const char *tmp = tmp_of(path, (long)getpid());
    double one = 1.0, two = 2.0, *got = NULL;

    /* Before commit only the temporary exists; after commit only the result. */
    hntk_h5 *f = NULL;
    CHECK(hntk_h5_create(path, &f) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_write_scalar(f, "v", one) == HNTK_OK, "%s", hntk_last_error());
    CHECK(!file_exists(path), "final path exists before commit");
    CHECK(file_exists(tmp), "temporary %s missing before commit", tmp);
    CHECK(hntk_h5_commit(f) == HNTK_OK, "%s", hntk_last_error());
    CHECK(file_exists(path), "final path missing after commit");
    CHECK(!file_exists(tmp), "temporary left after commit");

    /* An existing result is replaced only at commit. */
    CHECK(hntk_h5_create(path, &f) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_write_scalar(f, "v", two) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_read(path, "v", 0, NULL, &got) == HNTK_OK && got && *got == 1.0,
          "old content not readable before commit (%s)", hntk_last_error());
    free(got);
    got = NULL;
    CHECK(hntk_h5_commit(f) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_read(path, "v", 0, NULL, &got) == HNTK_OK && got && *got == 2.0, "new content after commit");
    free(got);
    got = NULL;

    /* Abort leaves neither a temporary nor a new result, and keeps the old one. */
    CHECK(hntk_h5_create(path, &f) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_write_scalar(f, "v", 3.0) == HNTK_OK, "%s", hntk_last_error());
    hntk_h5_abort(f);
    CHECK(!file_exists(tmp), "temporary left after abort");
    CHECK(hntk_h5_read(path, "v", 0, NULL, &got) == HNTK_OK && got && *got == 2.0, "abort touched the result");
    free(got);

    const char *fresh = in_dir("aborted.h5");
    CHECK(hntk_h5_create(fresh, &f) == HNTK_OK, "%s", hntk_last_error());
    hntk_h5_abort(f);
    CHECK(!file_exists(fresh) && !file_exists(tmp_of(fresh, (long)getpid())), "abort left a file");
    hntk_h5_abort(NULL); /* harmless */

    /* Cannot create in a missing directory: EIO naming the path. */
    const char *nodir = in_dir("no/such/dir/r.h5");
    CHECK(hntk_h5_create(nodir, &f) == HNTK_EIO && f == NULL && msg_has("no/such/dir"),
          "create in missing dir: %s", hntk_last_error());

    /* The rename fails when the final path is a non-empty directory: EIO, and
     * the temporary is removed. */
    const char *blocked = in_dir("blocked.h5");
    mkdir(blocked, 0700);
    char inner[600];
    snprintf(inner, sizeof inner, "%s/keep", blocked);
    FILE *fp = fopen(inner, "w");
    if (fp)
        fclose(fp);
    CHECK(hntk_h5_create(blocked, &f) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_commit(f) == HNTK_EIO && msg_has("blocked.h5"), "rename over a directory: %s",
          hntk_last_error());
    CHECK(!file_exists(tmp_of(blocked, (long)getpid())), "temporary left after failed commit");
    unlink(inner);
    rmdir(blocked);

    /* The registry holds 8 writers; a 9th is refused until one closes. */
    hntk_h5 *w[9] = {0};
    int ok = 1;
    for (int i = 0; i < 8; i++) {
        char name[32];
        snprintf(name, sizeof name, "many%d.h5", i);
        ok &= hntk_h5_create(in_dir(name), &w[i]) == HNTK_OK;
    }
    CHECK(ok, "8 writers: %s", hntk_last_error());
    CHECK(hntk_h5_create(in_dir("many8.h5"), &w[8]) == HNTK_EINVAL && w[8] == NULL && msg_has("at most 8"),
          "9th writer: %s", hntk_last_error());
    hntk_h5_abort(w[0]);
    CHECK(hntk_h5_create(in_dir("many8.h5"), &w[8]) == HNTK_OK, "slot not reused: %s", hntk_last_error());
    for (int i = 1; i < 9; i++)
        hntk_h5_abort(w[i]);
}

/* The child opens two writers, installs the handler and dies by `sig`, either
 * raised by itself or sent by the parent.  No temporary may survive. */
static void test_signal_cleanup(int sig, int from_parent)
{
    const char *pa = in_dir(sig == SIGINT ? "sigA_int.h5" : "sigA_term.h5");
    const char *pb = in_dir(sig == SIGINT ? "sigB_int.h5" : "sigB_term.h5");
    char path_a[512], path_b[512];
    snprintf(path_a, sizeof path_a, "%s", pa);
    snprintf(path_b, sizeof path_b, "%s", pb);
    int pipefd[2];
    if (pipe(pipefd) != 0) {
        CHECK(0, "pipe failed");
        return;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        CHECK(0, "fork failed");
        return;
    }
    if (pid == 0) {
        close(pipefd[0]);
        /* If the handler returned instead of re-raising, the child would wait
         * forever: die by SIGALRM instead, which the parent reports. */
        alarm(10);
        /* A test runner may start us with SIGINT ignored; the handler keeps an
         * ignored signal ignored, so restore the default first. */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        hntk_h5_install_signal_cleanup();
        hntk_h5 *a = NULL, *b = NULL;
        long d[1] = {3};
        double v[3] = {1, 2, 3};
        if (hntk_h5_create(path_a, &a) || hntk_h5_create(path_b, &b) || hntk_h5_write(a, "/g/v", 1, d, v))
            _exit(2);
        /* Prove the temporaries existed, so their absence later means cleanup. */
        if (!file_exists(tmp_of(path_a, (long)getpid())) || !file_exists(tmp_of(path_b, (long)getpid())))
            _exit(3);
        if (from_parent) {
            char c = 'r';
            if (write(pipefd[1], &c, 1) != 1)
                _exit(4);
            for (;;)
                pause();
        }
        raise(sig);
        _exit(5); /* not reached if the handler re-raised */
    }
    close(pipefd[1]);
    if (from_parent) {
        char c;
        if (read(pipefd[0], &c, 1) == 1)
            kill(pid, sig);
    }
    close(pipefd[0]);
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);
    CHECK(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == sig,
          "child (signal %d) should die by the signal: exited=%d code=%d signaled=%d sig=%d", sig,
          WIFEXITED(wstatus), WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1, WIFSIGNALED(wstatus),
          WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : -1);
    CHECK(!file_exists(tmp_of(path_a, (long)pid)), "temporary %s survived signal %d", tmp_of(path_a, pid), sig);
    CHECK(!file_exists(tmp_of(path_b, (long)pid)), "temporary %s survived signal %d", tmp_of(path_b, pid), sig);
    CHECK(!file_exists(path_a) && !file_exists(path_b), "a result appeared after signal %d", sig);
}

static void test_read_inputs(void)
{
    long B = 0, xd = 0, zd = 0;
    double *X = NULL, *Z = NULL;

    /* Good file. */
    const char *good = in_dir("in_good.h5");
    CHECK(write_inputs(good, 3, 2, 3, 4) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_read_inputs(good, &B, &xd, &X, &zd, &Z) == HNTK_OK, "%s", hntk_last_error());
    CHECK(B == 3 && xd == 2 && zd == 4, "shape B=%ld x_dim=%ld z_dim=%ld", B, xd, zd);
    CHECK(X && X[5] == 5.0 / 8.0 - 1.0 && Z && Z[11] == 11.0 / 16.0 + 0.5, "values");
    free(X);
    free(Z);

    /* Missing file: EIO naming the file. */
    const char *missing = in_dir("in_missing.h5");
    X = Z = (double *)1;
    CHECK(hntk_h5_read_inputs(missing, &B, &xd, &X, &zd, &Z) == HNTK_EIO && msg_has("in_missing.h5"),
          "missing file: %s", hntk_last_error());
    CHECK(X == NULL && Z == NULL, "outputs not cleared on failure");

    /* Plain text. */
    const char *text = in_dir("in_text.h5");
    FILE *fp = fopen(text, "w");
    if (fp) {
        fputs("x,z\n1,2\n", fp);
        fclose(fp);
    }
    int st = hntk_h5_read_inputs(text, &B, &xd, &X, &zd, &Z);
    CHECK(st == HNTK_EFORMAT && msg_has("in_text.h5") && msg_has("not an HDF5 file"), "text file: %d %s", st,
          hntk_last_error());

    /* Missing z. */
    const char *noz = in_dir("in_noz.h5");
    hntk_h5 *f;
    long dx[2] = {2, 2};
    double xv[4] = {1, 2, 3, 4};
    CHECK(hntk_h5_create(noz, &f) == HNTK_OK && hntk_h5_write(f, "x", 2, dx, xv) == HNTK_OK &&
              hntk_h5_commit(f) == HNTK_OK,
          "%s", hntk_last_error());
    CHECK(hntk_h5_read_inputs(noz, &B, &xd, &X, &zd, &Z) == HNTK_EFORMAT && msg_has("no dataset 'z'") &&
              msg_has("(B, z_dim)") && msg_has("in_noz.h5"),
          "missing z: %s", hntk_last_error());

    /* Mismatched B. */
    const char *mis = in_dir("in_mismatch.h5");
    CHECK(write_inputs(mis, 3, 2, 4, 2) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_read_inputs(mis, &B, &xd, &X, &zd, &Z) == HNTK_EFORMAT && msg_has("'x'") && msg_has("'z'") &&
              msg_has("(3, 2)") && msg_has("(4, 2)"),
          "mismatched B: %s", hntk_last_error());

    /* Wrong rank: x of rank 1. */
    const char *r1 = in_dir("in_rank.h5");
    long d1[1] = {4}, dz[2] = {4, 1};
    CHECK(hntk_h5_create(r1, &f) == HNTK_OK && hntk_h5_write(f, "x", 1, d1, xv) == HNTK_OK &&
              hntk_h5_write(f, "z", 2, dz, xv) == HNTK_OK && hntk_h5_commit(f) == HNTK_OK,
          "%s", hntk_last_error());
    CHECK(hntk_h5_read_inputs(r1, &B, &xd, &X, &zd, &Z) == HNTK_EFORMAT && msg_has("'x'") && msg_has("rank 1, shape (4,)") &&
              msg_has("(B, x_dim)"),
          "wrong rank: %s", hntk_last_error());

    /* Empty: B = 0. */
    const char *empty = in_dir("in_empty.h5");
    CHECK(write_inputs(empty, 0, 2, 0, 3) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_read_inputs(empty, &B, &xd, &X, &zd, &Z) == HNTK_EFORMAT && msg_has("'x'") && msg_has("B >= 1"),
          "B = 0: %s", hntk_last_error());

    /* Integer x is rejected (see h5io.h), float32 z is accepted exactly. */
    const char *ints = in_dir("in_int.h5");
    hid_t file = H5Fcreate(ints, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t hd[2] = {2, 2};
    long long iv[4] = {1, 2, 3, 4};
    float fv[4] = {0.5f, 0.25f, -1.0f, 3.0f};
    raw_dataset(file, "x", H5T_STD_I64LE, H5T_NATIVE_LLONG, 2, hd, iv);
    raw_dataset(file, "z", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, hd, fv);
    H5Fclose(file);
    CHECK(hntk_h5_read_inputs(ints, &B, &xd, &X, &zd, &Z) == HNTK_EFORMAT && msg_has("'x'") && msg_has("int64") &&
              msg_has("expected float64"),
          "integer x: %s", hntk_last_error());
    const char *f32 = in_dir("in_f32.h5");
    file = H5Fcreate(f32, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    double dv[4] = {1, 2, 3, 4};
    raw_dataset(file, "x", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, hd, dv);
    raw_dataset(file, "z", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, hd, fv);
    H5Fclose(file);
    CHECK(hntk_h5_read_inputs(f32, &B, &xd, &X, &zd, &Z) == HNTK_OK && Z && Z[1] == 0.25 && Z[2] == -1.0,
          "float32 z: %s", hntk_last_error());
    free(X);
    free(Z);

    /* Non-finite entries are named by position. */
    const char *nan_in = in_dir("in_nan.h5");
    double xn[6] = {0, 1, 2, 3, NAN, 5}, zn[3] = {1, 2, 3};
    long dxn[2] = {3, 2}, dzn[2] = {3, 1};
    CHECK(hntk_h5_create(nan_in, &f) == HNTK_OK && hntk_h5_write(f, "x", 2, dxn, xn) == HNTK_OK &&
              hntk_h5_write(f, "z", 2, dzn, zn) == HNTK_OK && hntk_h5_commit(f) == HNTK_OK,
          "%s", hntk_last_error());
    CHECK(hntk_h5_read_inputs(nan_in, &B, &xd, &X, &zd, &Z) == HNTK_EFORMAT && msg_has("'x'") &&
              msg_has("[2, 0]") && msg_has("nan"),
          "NaN: %s", hntk_last_error());
    const char *inf_in = in_dir("in_inf.h5");
    double zi[3] = {1, -INFINITY, 3}, x6[6] = {0, 1, 2, 3, 4, 5};
    CHECK(hntk_h5_create(inf_in, &f) == HNTK_OK && hntk_h5_write(f, "x", 2, dxn, x6) == HNTK_OK &&
              hntk_h5_write(f, "z", 2, dzn, zi) == HNTK_OK && hntk_h5_commit(f) == HNTK_OK,
          "%s", hntk_last_error());
    CHECK(hntk_h5_read_inputs(inf_in, &B, &xd, &X, &zd, &Z) == HNTK_EFORMAT && msg_has("'z'") &&
              msg_has("[1, 0]") && msg_has("-inf"),
          "-inf: %s", hntk_last_error());
}

static void test_read_errors(void)
{
    const char *path = in_dir("rd.h5");
    hntk_h5 *f;
    long d2[2] = {3, 4};
    double m[12] = {0};
    CHECK(hntk_h5_create(path, &f) == HNTK_OK && hntk_h5_write(f, "/g/m", 2, d2, m) == HNTK_OK &&
              hntk_h5_commit(f) == HNTK_OK,
          "%s", hntk_last_error());
    long dims[4];
    double *got = (double *)1;

    CHECK(hntk_h5_read(path, "/g/m", 1, dims, &got) == HNTK_EFORMAT && got == NULL && msg_has("/g/m") &&
              msg_has("rank 2") && msg_has("(3, 4)") && msg_has("expected float64, rank 1"),
          "rank mismatch: %s", hntk_last_error());
    long want[2] = {3, 5};
    CHECK(hntk_h5_read_shaped(path, "/g/m", 2, want, dims, &got) == HNTK_EFORMAT && msg_has("/g/m") &&
              msg_has("(3, 4)") && msg_has("(3, 5)"),
          "shape mismatch: %s", hntk_last_error());
    long want_any[2] = {-1, 4};
    CHECK(hntk_h5_read_shaped(path, "/g/m", 2, want_any, dims, &got) == HNTK_OK && dims[0] == 3,
          "wildcard: %s", hntk_last_error());
    free(got);
    CHECK(hntk_h5_read(path, "/g/missing", 2, dims, &got) == HNTK_EFORMAT && msg_has("no dataset '/g/missing'"),
          "missing: %s", hntk_last_error());
    CHECK(hntk_h5_read(path, "/g", 2, dims, &got) == HNTK_EFORMAT && msg_has("group"),
          "group as dataset: %s", hntk_last_error());
    CHECK(hntk_h5_read(path, "/g/m", 7, dims, &got) == HNTK_EINVAL, "rank 7 accepted");
    CHECK(hntk_h5_read(in_dir("none.h5"), "/g/m", 2, dims, &got) == HNTK_EIO && msg_has("none.h5"),
          "no file: %s", hntk_last_error());
}

/* Remove the test directory (flat: the one subdirectory a test makes, it removes). */
static void remove_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[800];
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(tmpdir);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hntk_h5io_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trip();
    test_fixed_length_strings();
    test_atomicity();
    test_signal_cleanup(SIGINT, 0);
    test_signal_cleanup(SIGTERM, 1);
    test_read_inputs();
    test_read_errors();
    /* Every reader and writer closed what it opened, on error paths too. */
    ssize_t open_ids = H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL);
    CHECK(open_ids == 0, "%zd HDF5 objects left open", open_ids);
    /* KEEP=1 keeps the files for inspection (h5dump). */
    if (getenv("KEEP"))
        printf("files kept in %s\n", tmpdir);
    else
        remove_tmpdir();
    return TEST_SUMMARY();
}
