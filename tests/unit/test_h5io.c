/* test_h5io.c: HDF5 round trips, atomic writes, signal cleanup and the
 * error messages of the readers.  Everything happens in a fresh mkdtemp
 * directory under /tmp, which is removed at the end. */
#define _POSIX_C_SOURCE 200809L

#include "hyperntk/error.h"
#include "hyperntk/h5io.h"
#include "testing.h"

#include <hdf5.h>
#include <hdf5_hl.h>

#include <dirent.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

/* How many temporaries of `path` ("<name>.tmp.<host>.<pid>.<random>") its
 * directory holds; pid > 0 counts only those of that process. */
static int temps_of(const char *path, long pid)
{
    char dir[512], prefix[600];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : path;
    snprintf(prefix, sizeof prefix, "%s.tmp.", base);
    if (slash) *slash = '\0';
    else snprintf(dir, sizeof dir, ".");
    char pidpart[32];
    snprintf(pidpart, sizeof pidpart, ".%ld.", pid);
    int n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        n += !strncmp(e->d_name, prefix, strlen(prefix)) && (pid <= 0 || strstr(e->d_name + strlen(prefix), pidpart));
    if (d) closedir(d);
    return n;
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
    double one = 1.0, two = 2.0, *got = NULL;

    /* Before commit only the temporary exists; after commit only the result. */
    hntk_h5 *f = NULL;
    CHECK(hntk_h5_create(path, &f) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_write_scalar(f, "v", one) == HNTK_OK, "%s", hntk_last_error());
    CHECK(!file_exists(path), "final path exists before commit");
    CHECK(temps_of(path, getpid()) == 1, "temporary of %s missing before commit", path);
    CHECK(hntk_h5_commit(f) == HNTK_OK, "%s", hntk_last_error());
    CHECK(file_exists(path), "final path missing after commit");
    CHECK(temps_of(path, 0) == 0, "temporary left after commit");

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
    CHECK(temps_of(path, 0) == 0, "temporary left after abort");
    CHECK(hntk_h5_read(path, "v", 0, NULL, &got) == HNTK_OK && got && *got == 2.0, "abort touched the result");
    free(got);

    const char *fresh = in_dir("aborted.h5");
    CHECK(hntk_h5_create(fresh, &f) == HNTK_OK, "%s", hntk_last_error());
    hntk_h5_abort(f);
    CHECK(!file_exists(fresh) && temps_of(fresh, 0) == 0, "abort left a file");
    hntk_h5_abort(NULL); /* harmless */

    /* Cannot create in a missing directory: EIO naming the path. */
    const char *nodir = in_dir("no/such/dir/r.h5");
    CHECK(hntk_h5_create(nodir, &f) == HNTK_EIO && f == NULL && msg_has("no/such/dir"),
          "create in missing dir: %s", hntk_last_error());

    /* An existing path that is not a regular file is never replaced: refused
     * at create, naming what it is (a directory, a FIFO, a symbolic link). */
    const char *blocked = in_dir("blocked.h5");
    mkdir(blocked, 0700);
    CHECK(hntk_h5_create(blocked, &f) == HNTK_EIO && f == NULL && msg_has("blocked.h5") &&
              msg_has("is a directory: refusing to replace it"),
          "create over a directory: %s", hntk_last_error());
    CHECK(temps_of(blocked, 0) == 0, "temporary left after a refused create");
    rmdir(blocked);
    const char *fifo = in_dir("fifo.h5");
    struct stat sb;
    CHECK(mkfifo(fifo, 0600) == 0, "mkfifo");
    CHECK(hntk_h5_create(fifo, &f) == HNTK_EIO && f == NULL && msg_has("is a FIFO"), "create over a FIFO: %s",
          hntk_last_error());
    CHECK(lstat(fifo, &sb) == 0 && S_ISFIFO(sb.st_mode) && temps_of(fifo, 0) == 0, "the FIFO was replaced");
    /* ... also when it appears between create and commit. */
    const char *late = in_dir("late.h5");
    CHECK(hntk_h5_create(late, &f) == HNTK_OK, "%s", hntk_last_error());
    CHECK(mkfifo(late, 0600) == 0, "mkfifo");
    CHECK(hntk_h5_commit(f) == HNTK_EIO && msg_has("is a FIFO"), "commit over a FIFO: %s", hntk_last_error());
    CHECK(lstat(late, &sb) == 0 && S_ISFIFO(sb.st_mode) && temps_of(late, 0) == 0, "commit replaced the FIFO");
    unlink(late);
    /* A symbolic link: the rename would replace the link, not its target. */
    const char *target = in_dir("target.h5"), *link_path = in_dir("link.h5");
    CHECK(write_inputs(target, 2, 2, 2, 2) == HNTK_OK, "%s", hntk_last_error());
    CHECK(symlink(target, link_path) == 0, "symlink");
    CHECK(hntk_h5_create(link_path, &f) == HNTK_EIO && msg_has("is a symbolic link"), "create over a link: %s",
          hntk_last_error());
    unlink(link_path);
    unlink(fifo);

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

/* Temporaries: a random name created O_EXCL | O_NOFOLLOW, so a symbolic link
 * planted under the predictable old name "<path>.tmp.<pid>" (or any name) is
 * never written through; stale temporaries of dead processes of this host are
 * removed by the next writer, live ones and foreign files are not. */
static void test_temporaries(void)
{
    const char *path = in_dir("victim_out.h5"), *victim = in_dir("victim.txt");
    FILE *fp = fopen(victim, "w");
    if (fp) {
        fputs("precious\n", fp);
        fclose(fp);
    }
    char planted[600];
    snprintf(planted, sizeof planted, "%s.tmp.%ld", path, (long)getpid());
    CHECK(symlink(victim, planted) == 0, "symlink");
    hntk_h5 *f = NULL;
    CHECK(hntk_h5_create(path, &f) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_write_scalar(f, "v", 1.0) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_commit(f) == HNTK_OK, "%s", hntk_last_error());
    char buf[64] = "";
    fp = fopen(victim, "r");
    if (fp) {
        if (!fgets(buf, sizeof buf, fp)) buf[0] = '\0';
        fclose(fp);
    }
    CHECK(!strcmp(buf, "precious\n"), "the file behind a planted link was overwritten: '%s'", buf);
    struct stat sb;
    CHECK(lstat(planted, &sb) == 0 && S_ISLNK(sb.st_mode), "the planted link was touched");
    unlink(planted);

    /* Stale temporaries: one of a dead pid on this host goes; one of a live
     * pid (ours' parent), one of another host, and a link are kept. */
    char host[256];
    if (gethostname(host, sizeof host) != 0 || !host[0]) snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    for (char *p = host; *p; p++)
        if (*p == '.' || *p == '/') *p = '_';
    pid_t dead = fork();
    if (dead == 0) _exit(0);
    waitpid(dead, NULL, 0);
    char stale[700], live[700], other[700], link_tmp[700];
    snprintf(stale, sizeof stale, "%s.tmp.%s.%ld.abcdef", path, host, (long)dead);
    snprintf(live, sizeof live, "%s.tmp.%s.%ld.abcdef", path, host, (long)getppid());
    snprintf(other, sizeof other, "%s.tmp.otherhost%s.%ld.abcdef", path, host, (long)dead);
    snprintf(link_tmp, sizeof link_tmp, "%s.tmp.%s.%ld.zzzzzz", path, host, (long)dead);
    const char *made[] = {stale, live, other};
    for (int i = 0; i < 3; i++) {
        fp = fopen(made[i], "w");
        if (fp) fclose(fp);
    }
    CHECK(symlink(victim, link_tmp) == 0, "symlink");
    CHECK(hntk_h5_create(path, &f) == HNTK_OK, "%s", hntk_last_error());
    hntk_h5_abort(f);
    CHECK(!file_exists(stale), "the stale temporary of dead pid %ld was kept", (long)dead);
    CHECK(file_exists(live), "the temporary of a live process was removed");
    CHECK(file_exists(other), "the temporary of another host was removed");
    CHECK(lstat(link_tmp, &sb) == 0, "a link named like a temporary was removed");
    unlink(live);
    unlink(other);
    unlink(link_tmp);
    unlink(victim);
    unlink(path);
}

/* A full disk (here: a file size limit, RLIMIT_FSIZE with SIGXFSZ ignored, so
 * write() fails with EFBIG as it would with ENOSPC): commit fails with the
 * reason, leaves no temporary and keeps the previous result; the process
 * then exits normally (HDF5's exit handler used to crash after a failed
 * H5Fclose).  In a child, so that the limit does not outlive the test. */
static void test_full_disk(void)
{
    const char *path = in_dir("full.h5");
    CHECK(write_inputs(path, 2, 2, 2, 2) == HNTK_OK, "%s", hntk_last_error());
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {64 * 1024, 64 * 1024};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(10);
        /* Every size around the limit: the failure may come in any write. */
        long last = 2; /* the rows of the result in place */
        for (long count = 1000; count <= 1600; count += 25) {
            if (write_inputs(path, count, 3, count, 3) == HNTK_OK) {
                last = count;
                continue;
            }
            if (!msg_has("full.h5") || !msg_has("File too large")) {
                fprintf(stderr, "message: %s\n", hntk_last_error());
                _exit(11);
            }
            if (temps_of(path, 0) != 0) _exit(12);
            long dims[4];
            double *x = NULL;
            if (hntk_h5_read(path, "x", 2, dims, &x) != HNTK_OK || dims[0] != last) _exit(13);
            free(x);
            _exit(0);
        }
        _exit(14); /* nothing failed: the limit did not bite */
    }
    int ws = 0;
    waitpid(pid, &ws, 0);
    CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "full disk: child %s %d (10 setrlimit, 11 message, 12 temporary "
          "left, 13 old result damaged, 14 no failure)", WIFEXITED(ws) ? "exited" : "died by signal",
          WIFEXITED(ws) ? WEXITSTATUS(ws) : WTERMSIG(ws));
    CHECK(temps_of(path, 0) == 0, "temporary left after a full disk");
}

/* The child opens two writers, installs the handler and dies by `sig`, either
 * raised by itself or sent by the parent.  No temporary may survive. */
static void test_signal_cleanup(int sig, int from_parent)
{
    const char *tag = sig == SIGINT ? "int" : sig == SIGTERM ? "term" : "hup";
    char na[32], nb[32];
    snprintf(na, sizeof na, "sigA_%s.h5", tag);
    snprintf(nb, sizeof nb, "sigB_%s.h5", tag);
    const char *pa = in_dir(na);
    const char *pb = in_dir(nb);
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
        signal(SIGHUP, SIG_DFL);
        hntk_h5_install_signal_cleanup();
        hntk_h5 *a = NULL, *b = NULL;
        long d[1] = {3};
        double v[3] = {1, 2, 3};
        if (hntk_h5_create(path_a, &a) || hntk_h5_create(path_b, &b) || hntk_h5_write(a, "/g/v", 1, d, v))
            _exit(2);
        /* Prove the temporaries existed, so their absence later means cleanup. */
        if (temps_of(path_a, getpid()) != 1 || temps_of(path_b, getpid()) != 1)
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
    CHECK(temps_of(path_a, pid) == 0, "a temporary of %s survived signal %d", path_a, sig);
    CHECK(temps_of(path_b, pid) == 0, "a temporary of %s survived signal %d", path_b, sig);
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


/* ------------------------------------------------------------------------ */
/* Self-describing results: descriptions, int64, enums, scales, array attributes. */

/* The class, size and signedness of a dataset's stored type. */
static int stored_type(const char *path, const char *name, H5T_class_t *cls, size_t *size, int *is_signed)
{
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = file >= 0 ? H5Dopen2(file, name, H5P_DEFAULT) : H5I_INVALID_HID;
    hid_t t = d >= 0 ? H5Dget_type(d) : H5I_INVALID_HID;
    int ok = t >= 0;
    if (ok) {
        *cls = H5Tget_class(t);
        *size = H5Tget_size(t);
        *is_signed = *cls == H5T_INTEGER ? H5Tget_sign(t) == H5T_SGN_2 : 0;
        H5Tclose(t);
    }
    if (d >= 0)
        H5Dclose(d);
    if (file >= 0)
        H5Fclose(file);
    return ok;
}

static void test_described(void)
{
    const char *path = in_dir("described.h5");
    hntk_h5 *f = NULL;
    CHECK(hntk_h5_create(path, &f) == HNTK_OK, "%s", hntk_last_error());
    long d1[1] = {3};
    double v[3] = {1, 2, 3};
    CHECK(hntk_h5_write_described(f, "/g/theta", 1, d1, v, "angle between z and z'", "rad") == HNTK_OK, "%s",
          hntk_last_error());
    CHECK(hntk_h5_write(f, "plain", 1, d1, v) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_describe(f, "plain", "a plain dataset", NULL) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_describe(f, "/g", "a group", NULL) == HNTK_OK, "group: %s", hntk_last_error());
    CHECK(hntk_h5_describe(f, "plain", "described again", "1") == HNTK_OK, "replace: %s", hntk_last_error());
    /* Errors: an empty or NULL description writes nothing; a missing object is named. */
    CHECK(hntk_h5_write_described(f, "nodesc", 1, d1, v, "", "m") == HNTK_EINVAL && msg_has("nodesc") &&
              msg_has("non-empty description"),
          "empty description: %s", hntk_last_error());
    CHECK(hntk_h5_write_described(f, "nodesc2", 1, d1, v, NULL, NULL) == HNTK_EINVAL, "NULL description");
    CHECK(hntk_h5_describe(f, "plain", "", NULL) == HNTK_EINVAL, "describe with empty description");
    CHECK(hntk_h5_describe(f, "/missing", "x", NULL) == HNTK_EINVAL && msg_has("/missing") && msg_has("write it first"),
          "describe missing: %s", hntk_last_error());
    CHECK(hntk_h5_describe(NULL, "plain", "x", NULL) == HNTK_EINVAL, "NULL writer");
    CHECK(hntk_h5_write_described(f, "/g/theta", 1, d1, v, "twice", NULL) == HNTK_EINVAL && msg_has("already exists"),
          "duplicate: %s", hntk_last_error());
    CHECK(hntk_h5_commit(f) == HNTK_OK, "%s", hntk_last_error());

    char sv[128];
    CHECK(hntk_h5_read_attr_string(path, "/g/theta", "description", sv, sizeof sv) == HNTK_OK &&
              !strcmp(sv, "angle between z and z'"),
          "description: '%s'", sv);
    CHECK(hntk_h5_read_attr_string(path, "/g/theta", "units", sv, sizeof sv) == HNTK_OK && !strcmp(sv, "rad"),
          "units: '%s'", sv);
    CHECK(hntk_h5_read_attr_string(path, "/plain", "description", sv, sizeof sv) == HNTK_OK &&
              !strcmp(sv, "described again"),
          "replaced description: '%s'", sv);
    CHECK(hntk_h5_read_attr_string(path, "/plain", "units", sv, sizeof sv) == HNTK_OK && !strcmp(sv, "1"),
          "units added later: '%s'", sv);
    CHECK(hntk_h5_read_attr_string(path, "/g", "description", sv, sizeof sv) == HNTK_OK && !strcmp(sv, "a group"),
          "group description");
    CHECK(hntk_h5_exists(path, "nodesc") == 0 && hntk_h5_exists(path, "nodesc2") == 0,
          "a refused description left a dataset behind");
    double *got = NULL;
    long dims[1];
    CHECK(hntk_h5_read(path, "/g/theta", 1, dims, &got) == HNTK_OK && got && got[2] == 3.0, "values");
    free(got);
}

static void test_long_datasets(void)
{
    const char *path = in_dir("long.h5");
    hntk_h5 *f = NULL;
    CHECK(hntk_h5_create(path, &f) == HNTK_OK, "%s", hntk_last_error());
    long d2[2] = {2, 3}, big = (1L << 62) + 1; /* not exact in a double */
    long v[6] = {0, -1, big, 7, -big, 42};
    long s = 123;
    double dv[1] = {0.5};
    long d1[1] = {1};
    CHECK(hntk_h5_write_long(f, "/counts/m", 2, d2, v, "counts") == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_write_long(f, "seed", 0, NULL, &s, "the seed") == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_write(f, "real", 1, d1, dv) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_write_long(f, "nodesc", 2, d2, v, "") == HNTK_EINVAL, "empty description accepted");
    CHECK(hntk_h5_write_long(f, "badrank", 5, d2, v, "x") == HNTK_EINVAL && msg_has("badrank"), "rank 5: %s",
          hntk_last_error());
    long neg[1] = {-2};
    CHECK(hntk_h5_write_long(f, "negdim", 1, neg, v, "x") == HNTK_EINVAL && msg_has("dims[0] = -2"),
          "negative dim: %s", hntk_last_error());
    CHECK(hntk_h5_commit(f) == HNTK_OK, "%s", hntk_last_error());

    H5T_class_t cls = H5T_NO_CLASS;
    size_t size = 0;
    int sgn = 0;
    CHECK(stored_type(path, "/counts/m", &cls, &size, &sgn) && cls == H5T_INTEGER && size == 8 && sgn,
          "stored as int64 (class %d, size %zu, signed %d)", (int)cls, size, sgn);
    long *got = NULL, dims[2] = {0};
    CHECK(hntk_h5_read_long(path, "/counts/m", 2, dims, &got) == HNTK_OK && got && dims[0] == 2 && dims[1] == 3 &&
              !memcmp(got, v, sizeof v),
          "int64 round trip: %s", hntk_last_error());
    free(got);
    got = NULL;
    CHECK(hntk_h5_read_long(path, "seed", 0, NULL, &got) == HNTK_OK && got && *got == 123, "scalar int64");
    free(got);
    char sv[64];
    CHECK(hntk_h5_read_attr_string(path, "/seed", "description", sv, sizeof sv) == HNTK_OK && !strcmp(sv, "the seed"),
          "int64 description");
    got = (long *)1;
    CHECK(hntk_h5_read_long(path, "real", 1, dims, &got) == HNTK_EFORMAT && got == NULL && msg_has("float64") &&
              msg_has("expected int64"),
          "float as int64: %s", hntk_last_error());
    CHECK(hntk_h5_read_long(path, "/counts/m", 1, dims, &got) == HNTK_EFORMAT && msg_has("rank 2") &&
              msg_has("(2, 3)"),
          "rank mismatch: %s", hntk_last_error());
    CHECK(hntk_h5_read_long(path, "/nope", 1, dims, &got) == HNTK_EFORMAT && msg_has("no dataset '/nope'"),
          "missing: %s", hntk_last_error());
    /* The float readers still refuse integers. */
    double *dg = NULL;
    CHECK(hntk_h5_read(path, "/counts/m", 2, dims, &dg) == HNTK_EFORMAT && msg_has("int64"), "float reader on int64");
}

static void test_enum_datasets(void)
{
    const char *path = in_dir("enum.h5");
    hntk_h5 *f = NULL;
    CHECK(hntk_h5_create(path, &f) == HNTK_OK, "%s", hntk_last_error());
    const char *names[5] = {"disagrees", "undecided", "agrees", "zero", "nonzero"};
    const int values[5] = {-1, 0, 1, 2, -2};
    int codes[4] = {1, -1, 2, 0};
    long d1[1] = {4};
    CHECK(hntk_h5_write_enum(f, "/g/verdict", 1, d1, codes, 5, names, values, "verdict per order") == HNTK_OK, "%s",
          hntk_last_error());
    int bad[4] = {1, 3, 2, 0};
    CHECK(hntk_h5_write_enum(f, "bad", 1, d1, bad, 5, names, values, "x") == HNTK_EINVAL && msg_has("entry 1 is 3"),
          "unnamed code: %s", hntk_last_error());
    const char *dup[2] = {"a", "a"};
    const int dv[2] = {0, 1}, dv2[2] = {1, 1};
    const char *ab[2] = {"a", "b"}, *emp[2] = {"a", ""};
    int zero[4] = {0, 0, 0, 0};
    CHECK(hntk_h5_write_enum(f, "dup", 1, d1, zero, 2, dup, dv, "x") == HNTK_EINVAL && msg_has("'a' appears twice"),
          "duplicate name: %s", hntk_last_error());
    int ones[4] = {1, 1, 1, 1};
    CHECK(hntk_h5_write_enum(f, "dupv", 1, d1, ones, 2, ab, dv2, "x") == HNTK_EINVAL && msg_has("same value 1"),
          "duplicate value: %s", hntk_last_error());
    CHECK(hntk_h5_write_enum(f, "emp", 1, d1, zero, 2, emp, dv, "x") == HNTK_EINVAL && msg_has("name 1 is empty"),
          "empty name: %s", hntk_last_error());
    CHECK(hntk_h5_write_enum(f, "none", 1, d1, zero, 0, names, values, "x") == HNTK_EINVAL, "no names accepted");
    CHECK(hntk_h5_write_enum(f, "nodesc", 1, d1, zero, 2, ab, dv, NULL) == HNTK_EINVAL, "no description accepted");
    CHECK(hntk_h5_commit(f) == HNTK_OK, "%s", hntk_last_error());
    CHECK(!hntk_h5_exists(path, "bad") && !hntk_h5_exists(path, "dup"), "refused enums were written");

    /* A real HDF5 enum on a native int, with the names. */
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(file, "/g/verdict", H5P_DEFAULT);
    hid_t t = H5Dget_type(d);
    hid_t base = H5Tget_super(t);
    CHECK(H5Tget_class(t) == H5T_ENUM && H5Tget_nmembers(t) == 5, "enum class with 5 members");
    CHECK(H5Tequal(base, H5T_NATIVE_INT) > 0, "enum base is native int");
    char nm[32] = "";
    int two = 2, minus2 = -2;
    CHECK(H5Tenum_nameof(t, &two, nm, sizeof nm) >= 0 && !strcmp(nm, "zero"), "name of 2: '%s'", nm);
    CHECK(H5Tenum_nameof(t, &minus2, nm, sizeof nm) >= 0 && !strcmp(nm, "nonzero"), "name of -2: '%s'", nm);
    H5Tclose(base);
    H5Tclose(t);
    H5Dclose(d);
    H5Fclose(file);

    int *got = NULL;
    long dims[1] = {0};
    CHECK(hntk_h5_read_enum(path, "/g/verdict", 1, dims, &got) == HNTK_OK && got && dims[0] == 4 &&
              !memcmp(got, codes, sizeof codes),
          "enum round trip: %s", hntk_last_error());
    free(got);
    long *lg = NULL;
    CHECK(hntk_h5_read_long(path, "/g/verdict", 1, dims, &lg) == HNTK_EFORMAT && msg_has("enum"),
          "int64 reader on an enum: %s", hntk_last_error());
    char sv[64];
    CHECK(hntk_h5_read_attr_string(path, "/g/verdict", "description", sv, sizeof sv) == HNTK_OK, "enum description");

    /* An int8 enum written by other tools reads back as ints. */
    const char *small = in_dir("enum8.h5");
    file = H5Fcreate(small, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t e8 = H5Tenum_create(H5T_NATIVE_SCHAR);
    signed char a8 = -1, b8 = 5;
    H5Tenum_insert(e8, "low", &a8);
    H5Tenum_insert(e8, "high", &b8);
    signed char raw[3] = {5, -1, 5};
    hsize_t h3[1] = {3};
    raw_dataset(file, "e", e8, e8, 1, h3, raw);
    H5Tclose(e8);
    H5Fclose(file);
    got = NULL;
    CHECK(hntk_h5_read_enum(small, "e", 1, dims, &got) == HNTK_OK && got && got[0] == 5 && got[1] == -1 && got[2] == 5,
          "int8 enum: %s", hntk_last_error());
    free(got);
    CHECK(hntk_h5_read_enum(path, "/g", 1, dims, &got) == HNTK_EFORMAT, "a group as an enum");
}

static void test_scales(void)
{
    const char *path = in_dir("scales.h5");
    hntk_h5 *f = NULL;
    CHECK(hntk_h5_create(path, &f) == HNTK_OK, "%s", hntk_last_error());
    long d3[1] = {3}, d4[1] = {4}, d34[2] = {3, 4};
    double x[3] = {1, 2, 3}, y[4] = {10, 20, 30, 40}, m[12] = {0};
    long w[4] = {4, 8, 16, 32};
    CHECK(hntk_h5_write_described(f, "f_widths", 1, d3, x, "widths n of f", NULL) == HNTK_OK, "%s",
          hntk_last_error());
    CHECK(hntk_h5_write_long(f, "g_widths", 1, d4, w, "widths m of g") == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_write(f, "plain_y", 1, d4, y) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_write_described(f, "/grid/var", 2, d34, m, "variance", NULL) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_make_scale(f, "f_widths", "n") == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_make_scale(f, "g_widths", "m") == HNTK_OK, "int64 scale: %s", hntk_last_error());
    CHECK(hntk_h5_attach_scale(f, "/grid/var", 0, "f_widths") == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_attach_scale(f, "/grid/var", 1, "g_widths") == HNTK_OK, "%s", hntk_last_error());
    /* Errors: wrong extent, not a scale, no such axis, a scale that is not 1-D,
     * attaching twice, attaching to a scale, missing objects, empty label. */
    CHECK(hntk_h5_attach_scale(f, "/grid/var", 1, "f_widths") == HNTK_EINVAL && msg_has("f_widths") &&
              msg_has("has 3 values") && msg_has("axis 1") && msg_has("extent 4") && msg_has("(3, 4)"),
          "wrong extent: %s", hntk_last_error());
    CHECK(hntk_h5_attach_scale(f, "/grid/var", 1, "plain_y") == HNTK_EINVAL && msg_has("not a dimension scale"),
          "not a scale: %s", hntk_last_error());
    CHECK(hntk_h5_attach_scale(f, "/grid/var", 2, "f_widths") == HNTK_EINVAL && msg_has("no axis 2") &&
              msg_has("0..1"),
          "axis 2: %s", hntk_last_error());
    CHECK(hntk_h5_attach_scale(f, "/grid/var", -1, "f_widths") == HNTK_EINVAL, "axis -1 accepted");
    CHECK(hntk_h5_attach_scale(f, "/grid/var", 0, "f_widths") == HNTK_EINVAL && msg_has("already attached"),
          "attached twice: %s", hntk_last_error());
    CHECK(hntk_h5_attach_scale(f, "g_widths", 0, "f_widths") == HNTK_EINVAL && msg_has("itself a dimension scale"),
          "attach to a scale: %s", hntk_last_error());
    CHECK(hntk_h5_make_scale(f, "/grid/var", "v") == HNTK_EINVAL && msg_has("(3, 4)") && msg_has("1-D"),
          "2-D scale: %s", hntk_last_error());
    CHECK(hntk_h5_make_scale(f, "plain_y", "") == HNTK_EINVAL && msg_has("non-empty label"), "empty label: %s",
          hntk_last_error());
    CHECK(hntk_h5_make_scale(f, "/nope", "n") == HNTK_EINVAL && msg_has("/nope"), "missing scale: %s",
          hntk_last_error());
    CHECK(hntk_h5_make_scale(f, "/grid", "n") == HNTK_EINVAL && msg_has("group"), "group as scale: %s",
          hntk_last_error());
    CHECK(hntk_h5_attach_scale(f, "/nope", 0, "f_widths") == HNTK_EINVAL && msg_has("/nope"),
          "missing dataset: %s", hntk_last_error());
    CHECK(hntk_h5_commit(f) == HNTK_OK, "%s", hntk_last_error());

    /* Checked with the HDF5 API: scales, attachment, labels. */
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t dv = H5Dopen2(file, "/grid/var", H5P_DEFAULT), dx = H5Dopen2(file, "f_widths", H5P_DEFAULT),
          dw = H5Dopen2(file, "g_widths", H5P_DEFAULT), dy = H5Dopen2(file, "plain_y", H5P_DEFAULT);
    CHECK(H5DSis_scale(dx) > 0 && H5DSis_scale(dw) > 0 && H5DSis_scale(dy) <= 0 && H5DSis_scale(dv) <= 0,
          "is_scale");
    CHECK(H5DSis_attached(dv, dx, 0) > 0 && H5DSis_attached(dv, dw, 1) > 0 && H5DSis_attached(dv, dx, 1) <= 0,
          "attached");
    char label[32] = "", sname[32] = "";
    CHECK(H5DSget_label(dv, 0, label, sizeof label) > 0 && !strcmp(label, "n"), "axis 0 label '%s'", label);
    CHECK(H5DSget_label(dv, 1, label, sizeof label) > 0 && !strcmp(label, "m"), "axis 1 label '%s'", label);
    CHECK(H5DSget_scale_name(dx, sname, sizeof sname) > 0 && !strcmp(sname, "n"), "scale name '%s'", sname);
    H5Dclose(dv);
    H5Dclose(dx);
    H5Dclose(dw);
    H5Dclose(dy);
    H5Fclose(file);

    char name[64], lab[32];
    CHECK(hntk_h5_scale_of(path, "/grid/var", 1, name, sizeof name, lab, sizeof lab) == HNTK_OK &&
              !strcmp(name, "/g_widths") && !strcmp(lab, "m"),
          "scale_of: '%s' '%s' (%s)", name, lab, hntk_last_error());
    CHECK(hntk_h5_scale_of(path, "plain_y", 0, name, sizeof name, NULL, 0) == HNTK_OK && name[0] == '\0',
          "no scale: '%s'", name);
    CHECK(hntk_h5_scale_of(path, "/grid/var", 2, name, sizeof name, NULL, 0) == HNTK_EINVAL, "scale_of axis 2");
    /* The scale datasets still read as plain data. */
    double *got = NULL;
    long dims[1];
    CHECK(hntk_h5_read(path, "f_widths", 1, dims, &got) == HNTK_OK && got && got[1] == 2.0, "scale reads");
    free(got);
}

static void test_attr_arrays(void)
{
    const char *path = in_dir("attr_arrays.h5");
    hntk_h5 *f = NULL;
    CHECK(hntk_h5_create(path, &f) == HNTK_OK, "%s", hntk_last_error());
    long lv[4] = {3, -5, 1L << 40, 0};
    double dv[3] = {0.05, 0.5, 1.0 / 3.0};
    const char *sv[3] = {"L2_H1", "MLP_L3", "héllo"};
    CHECK(hntk_h5_attr_long_array(f, "/", "widths", 4, lv) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_attr_double_array(f, "/fit", "levels", 3, dv) == HNTK_OK, "new group: %s", hntk_last_error());
    CHECK(hntk_h5_attr_string_array(f, "/", "configs", 3, sv) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_h5_attr_long_array(f, "/", "empty", 0, NULL) == HNTK_OK, "empty: %s", hntk_last_error());
    CHECK(hntk_h5_attr_long_array(f, "/", "widths", 2, lv) == HNTK_OK, "replace: %s", hntk_last_error());
    CHECK(hntk_h5_attr_long_array(f, "/", "neg", -1, lv) == HNTK_EINVAL && msg_has("neg") && msg_has("-1 values"),
          "n < 0: %s", hntk_last_error());
    CHECK(hntk_h5_attr_double_array(f, "/", "null", 2, NULL) == HNTK_EINVAL && msg_has("NULL"), "NULL values");
    const char *withnull[2] = {"a", NULL};
    CHECK(hntk_h5_attr_string_array(f, "/", "sn", 2, withnull) == HNTK_EINVAL && msg_has("string 1"),
          "NULL string: %s", hntk_last_error());
    CHECK(hntk_h5_commit(f) == HNTK_OK, "%s", hntk_last_error());

    long n = 0, *lg = NULL;
    double *dg = NULL;
    CHECK(hntk_h5_read_attr_long_array(path, "/", "widths", &n, &lg) == HNTK_OK && n == 2 && lg && lg[1] == -5,
          "long array: n %ld (%s)", n, hntk_last_error());
    free(lg);
    lg = NULL;
    CHECK(hntk_h5_read_attr_long_array(path, "/", "empty", &n, &lg) == HNTK_OK && n == 0, "empty array");
    free(lg);
    CHECK(hntk_h5_read_attr_double_array(path, "/fit", "levels", &n, &dg) == HNTK_OK && n == 3 && dg &&
              dg[2] == 1.0 / 3.0,
          "double array");
    free(dg);
    dg = NULL;
    CHECK(hntk_h5_read_attr_double_array(path, "/", "widths", &n, &dg) == HNTK_EFORMAT && msg_has("int64") &&
              msg_has("expected float64"),
          "int64 as float64: %s", hntk_last_error());

    /* With the HDF5 API: 1-D, int64 / float64 / variable-length UTF-8. */
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t a = H5Aopen_by_name(file, "/", "widths", H5P_DEFAULT, H5P_DEFAULT);
    hid_t t = H5Aget_type(a), sp = H5Aget_space(a);
    CHECK(H5Tget_class(t) == H5T_INTEGER && H5Tget_size(t) == 8 && H5Sget_simple_extent_ndims(sp) == 1 &&
              H5Sget_simple_extent_npoints(sp) == 2,
          "widths is a 1-D int64 attribute");
    H5Tclose(t);
    H5Sclose(sp);
    H5Aclose(a);
    a = H5Aopen_by_name(file, "/", "configs", H5P_DEFAULT, H5P_DEFAULT);
    t = H5Aget_type(a);
    sp = H5Aget_space(a);
    CHECK(H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) > 0 && H5Tget_cset(t) == H5T_CSET_UTF8 &&
              H5Sget_simple_extent_npoints(sp) == 3,
          "configs is a 1-D UTF-8 string attribute");
    char *strs[3] = {0};
    CHECK(H5Aread(a, t, strs) >= 0 && strs[2] && !strcmp(strs[2], "héllo") && !strcmp(strs[0], "L2_H1"),
          "string values");
    H5Dvlen_reclaim(t, sp, H5P_DEFAULT, strs);
    H5Tclose(t);
    H5Sclose(sp);
    H5Aclose(a);
    H5Fclose(file);
}

/* A small result file for the comparisons: variant bits change one thing each. */
enum { CMP_PERTURB = 1, CMP_SHAPE = 2, CMP_DTYPE = 4, CMP_EXTRA = 8, CMP_PROVENANCE = 16, CMP_ATTR = 32,
       CMP_SCALE = 64, CMP_NEGZERO = 128, CMP_STRING = 256, CMP_INT = 512 };

static int cmp_file(const char *path, int variant, double rel)
{
    hntk_h5 *f;
    int st = hntk_h5_create(path, &f);
    if (st)
        return st;
    double m[6] = {1.5, -2.25, NAN, 1e-300, 0.0, 3.0};
    if (variant & CMP_PERTURB)
        m[1] *= 1 + rel;
    if (variant & CMP_NEGZERO)
        m[4] = -0.0;
    long d23[2] = {2, 3}, d32[2] = {3, 2}, d3[1] = {3};
    double x[3] = {1, 2, 3};
    long w[3] = {4, 8, variant & CMP_INT ? 17 : 16};
    st = hntk_h5_write_described(f, "/g/m", 2, variant & CMP_SHAPE ? d32 : d23, m, "a matrix", NULL);
    if (!st)
        st = variant & CMP_DTYPE ? hntk_h5_write_described(f, "/widths", 1, d3, x, "widths", NULL)
                                 : hntk_h5_write_long(f, "/widths", 1, d3, w, "widths");
    if (!st)
        st = hntk_h5_write_described(f, "/x", 1, d3, x, "x", NULL);
    if (!st && (variant & CMP_SCALE))
        st = hntk_h5_make_scale(f, "/x", "x");
    if (!st && (variant & CMP_SCALE))
        st = hntk_h5_attach_scale(f, "/g/m", 1, "/x");
    if (!st && (variant & CMP_EXTRA))
        st = hntk_h5_write_scalar(f, "/g/extra", 1.0);
    if (!st)
        st = hntk_h5_attr_double(f, "/g", "angle", variant & CMP_ATTR ? 0.5 * (1 + rel) : 0.5);
    if (!st)
        st = hntk_h5_attr_string(f, "/", "subcommand", variant & CMP_STRING ? "fig1b" : "fig1a");
    if (!st)
        st = hntk_h5_attr_string(f, "/", "created_utc", variant & CMP_PROVENANCE ? "2026-01-02" : "2026-01-01");
    if (!st)
        st = hntk_h5_attr_double(f, "/", "wall_time_seconds", variant & CMP_PROVENANCE ? 2.0 : 1.0);
    if (st) {
        hntk_h5_abort(f);
        return st;
    }
    return hntk_h5_commit(f);
}

static long diffs(const char *a, const char *b, double rtol, double atol, int strict, const char *const *ignore,
                  hntk_h5_compare_report *keep)
{
    hntk_h5_compare_opts o = {rtol, atol, strict, ignore};
    hntk_h5_compare_report r;
    if (hntk_h5_compare_tol(a, b, &o, &r) != HNTK_OK)
        return -1;
    long n = r.differences;
    if (keep)
        *keep = r;
    else
        hntk_h5_compare_report_free(&r);
    return n;
}

static int text_has(const hntk_h5_compare_report *r, const char *needle)
{
    return r->text && strstr(r->text, needle) != NULL;
}

static void test_compare_tol(void)
{
    /* More paths than in_dir's rotating buffers: own copies. */
    static const char *const names[13] = {"c_base.h5", "c_same.h5",  "c_pert.h5",   "c_shape.h5", "c_dtype.h5",
                                          "c_extra.h5", "c_prov.h5", "c_attr.h5",   "c_scale.h5", "c_scale2.h5",
                                          "c_negz.h5",  "c_str.h5",  "c_int.h5"};
    static char paths[13][512];
    for (int i = 0; i < 13; i++)
        snprintf(paths[i], sizeof paths[i], "%s", in_dir(names[i]));
    const char *base = paths[0], *same = paths[1], *pert = paths[2], *shape = paths[3], *dtype = paths[4];
    const char *extra = paths[5], *prov = paths[6], *attr = paths[7], *scale = paths[8], *scale2 = paths[9];
    const char *negz = paths[10], *str = paths[11], *ints = paths[12];
    int ok = !cmp_file(base, 0, 0) && !cmp_file(same, 0, 0) && !cmp_file(pert, CMP_PERTURB, 1e-14) &&
             !cmp_file(shape, CMP_SHAPE, 0) && !cmp_file(dtype, CMP_DTYPE, 0) && !cmp_file(extra, CMP_EXTRA, 0) &&
             !cmp_file(prov, CMP_PROVENANCE, 0) && !cmp_file(attr, CMP_ATTR, 1e-14) &&
             !cmp_file(scale, CMP_SCALE, 0) && !cmp_file(scale2, CMP_SCALE, 0) && !cmp_file(negz, CMP_NEGZERO, 0) &&
             !cmp_file(str, CMP_STRING, 0) && !cmp_file(ints, CMP_INT, 0);
    CHECK(ok, "writing the comparison files: %s", hntk_last_error());
    hntk_h5_compare_report r;

    /* Same content (NaN at the same place) is the same, also strictly. */
    CHECK(diffs(base, same, 0, 0, 0, NULL, &r) == 0 && r.compared > 5 && r.max_abs == 0, "same: %s",
          r.text ? r.text : "");
    hntk_h5_compare_report_free(&r);
    CHECK(diffs(base, same, 0, 0, 1, NULL, NULL) == 0, "same, strict");
    CHECK(diffs(base, base, 0, 0, 0, NULL, NULL) == 0, "a file with itself");

    /* One value changed by 1e-14 relative: different bit for bit, with its
     * name, index and sizes; the same within rtol 1e-12 (not within 1e-15). */
    CHECK(diffs(base, pert, 0, 0, 0, NULL, &r) == 1 && r.values == 1 && r.structural == 0 && text_has(&r, "/g/m:") &&
              text_has(&r, "1 of 6 values differ") && text_has(&r, "at [0, 1]") && text_has(&r, "-2.25"),
          "perturbed: %s", r.text ? r.text : "");
    CHECK(r.max_rel > 0.5e-14 && r.max_rel < 2e-14 && r.max_abs > 1e-14 && r.max_abs < 1e-13, "max rel %g abs %g",
          r.max_rel, r.max_abs);
    hntk_h5_compare_report_free(&r);
    CHECK(diffs(base, pert, 1e-12, 0, 0, NULL, NULL) == 0, "perturbed within rtol 1e-12");
    CHECK(diffs(base, pert, 1e-15, 0, 0, NULL, NULL) == 1, "perturbed beyond rtol 1e-15");
    CHECK(diffs(base, pert, 0, 1e-12, 0, NULL, NULL) == 0, "perturbed within atol 1e-12");
    /* Numeric attributes follow the same rule. */
    CHECK(diffs(base, attr, 0, 0, 0, NULL, &r) == 1 && text_has(&r, "/g@angle"), "attribute: %s",
          r.text ? r.text : "");
    hntk_h5_compare_report_free(&r);
    CHECK(diffs(base, attr, 1e-12, 0, 0, NULL, NULL) == 0, "attribute within rtol");
    /* Integers: 16 vs 17 differs unless the tolerance covers it. */
    CHECK(diffs(base, ints, 0, 0, 0, NULL, &r) == 1 && text_has(&r, "/widths") && text_has(&r, "at [2]") &&
              text_has(&r, "(a 16, b 17)"),
          "int64: %s", r.text ? r.text : "");
    hntk_h5_compare_report_free(&r);
    CHECK(diffs(base, ints, 0, 1, 0, NULL, NULL) == 0, "int64 within atol 1");
    /* Bit for bit, -0.0 is not 0.0; with any tolerance it is. */
    CHECK(diffs(base, negz, 0, 0, 0, NULL, NULL) == 1, "-0.0 bit for bit");
    CHECK(diffs(base, negz, 1e-300, 0, 0, NULL, NULL) == 0, "-0.0 within a tolerance");

    /* Structural differences, by name, whatever the tolerance. */
    CHECK(diffs(base, shape, 1, 1, 0, NULL, &r) == 1 && r.structural == 1 && text_has(&r, "/g/m: shape (2, 3) vs (3, 2)"),
          "shape: %s", r.text ? r.text : "");
    hntk_h5_compare_report_free(&r);
    CHECK(diffs(base, dtype, 1, 1, 0, NULL, &r) == 1 && text_has(&r, "/widths: dtype int64 vs float64"), "dtype: %s",
          r.text ? r.text : "");
    hntk_h5_compare_report_free(&r);
    CHECK(diffs(base, extra, 0, 0, 0, NULL, &r) == 1 && text_has(&r, "/g/extra: only in the second file"),
          "extra: %s", r.text ? r.text : "");
    hntk_h5_compare_report_free(&r);
    CHECK(diffs(extra, base, 0, 0, 0, NULL, &r) == 1 && text_has(&r, "/g/extra: only in the first file"),
          "missing: %s", r.text ? r.text : "");
    hntk_h5_compare_report_free(&r);
    CHECK(diffs(base, str, 0, 0, 0, NULL, &r) == 1 && text_has(&r, "/@subcommand: 'fig1a' vs 'fig1b'"),
          "string: %s", r.text ? r.text : "");
    hntk_h5_compare_report_free(&r);

    /* Dimension scales: compared by name, not by file address. */
    CHECK(diffs(scale, scale2, 0, 0, 1, NULL, &r) == 0, "same scales: %s", r.text ? r.text : "");
    hntk_h5_compare_report_free(&r);
    CHECK(diffs(base, scale, 0, 0, 0, NULL, &r) > 0 && text_has(&r, "/g/m: axis 1: dimension scales none vs /x"),
          "scale attached in one file: %s", r.text ? r.text : "");
    hntk_h5_compare_report_free(&r);

    /* Provenance: ignored by default, compared when strict. */
    CHECK(diffs(base, prov, 0, 0, 0, NULL, NULL) == 0, "provenance ignored");
    CHECK(diffs(base, prov, 0, 0, 1, NULL, &r) == 2 && text_has(&r, "/@created_utc") &&
              text_has(&r, "/@wall_time_seconds"),
          "provenance strict: %s", r.text ? r.text : "");
    hntk_h5_compare_report_free(&r);

    /* Extra ignores: an attribute name anywhere, an object with its subtree. */
    const char *ign_attr[] = {"angle", NULL}, *ign_obj[] = {"/g", NULL}, *ign_prov[] = {"created_utc",
                                                                                          "wall_time_seconds", NULL};
    CHECK(diffs(base, attr, 0, 0, 0, ign_attr, NULL) == 0, "ignored attribute");
    CHECK(diffs(base, pert, 0, 0, 0, ign_obj, NULL) == 0, "ignored group");
    CHECK(diffs(base, extra, 0, 0, 0, ign_obj, NULL) == 0, "ignored group (extra dataset)");
    CHECK(diffs(base, prov, 0, 0, 1, ign_prov, NULL) == 0, "strict with explicit ignores");

    /* Errors: unreadable files, bad tolerances, no report. */
    CHECK(diffs(base, in_dir("c_none.h5"), 0, 0, 0, NULL, NULL) == -1 && msg_has("c_none.h5"), "missing file: %s",
          hntk_last_error());
    hntk_h5_compare_opts bad = {-1, 0, 0, NULL};
    CHECK(hntk_h5_compare_tol(base, same, &bad, &r) == HNTK_EINVAL && msg_has("rtol"), "negative rtol");
    hntk_h5_compare_opts badnan = {0, NAN, 0, NULL};
    CHECK(hntk_h5_compare_tol(base, same, &badnan, &r) == HNTK_EINVAL, "NaN atol");
    CHECK(hntk_h5_compare_tol(base, same, NULL, NULL) == HNTK_EINVAL, "NULL report");
    CHECK(hntk_h5_compare_tol(base, same, NULL, &r) == HNTK_OK && r.differences == 0, "NULL opts");
    hntk_h5_compare_report_free(&r);
    hntk_h5_compare_report_free(NULL);

    /* The old interface: bit for bit, nothing ignored but what is listed. */
    long n = -1;
    char rep[256];
    CHECK(hntk_h5_compare(base, prov, NULL, &n, rep, sizeof rep) == HNTK_OK && n == 2 && strstr(rep, "created_utc"),
          "old compare: %ld '%s'", n, rep);
    CHECK(hntk_h5_compare(base, prov, ign_prov, &n, rep, sizeof rep) == HNTK_OK && n == 0 && rep[0] == '\0',
          "old compare with ignores: %ld", n);
    CHECK(hntk_h5_compare(base, pert, NULL, &n, rep, 8) == HNTK_OK && n == 1 && strlen(rep) < 8,
          "old compare, small buffer: %ld", n);
    CHECK(hntk_h5_compare(base, in_dir("c_none.h5"), NULL, &n, rep, sizeof rep) == HNTK_EIO, "old compare, no file");
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
    test_signal_cleanup(SIGHUP, 1);
    test_temporaries();
    test_full_disk();
    test_read_inputs();
    test_read_errors();
    test_described();
    test_long_datasets();
    test_enum_datasets();
    test_scales();
    test_attr_arrays();
    test_compare_tol();
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
