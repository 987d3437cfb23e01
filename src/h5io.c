/* h5io.c: the only module that touches HDF5.
 *
 * Writing.  A result file is built in memory, written to a temporary
 * "<path>.tmp.<host>.<pid>.<random>" created O_EXCL | O_NOFOLLOW, and renamed
 * over <path> only at hntk_h5_commit, so a reader never sees a half-written
 * result and an existing result stays intact until the new one is complete.
 * Every open temporary is recorded in a small static registry so that the
 * optional SIGINT/SIGTERM/SIGHUP handler can delete it before the process dies.
 *
 * Reading.  Errors name the file, the dataset (or attribute) and what was
 * expected against what was found, because the usual cause is a user-written
 * inputs file with the wrong layout.
 *
 * Type policy.  Datasets are written as IEEE float64 little-endian.  Readers
 * accept any floating-point dataset (float32 converts exactly to double) but
 * reject integer datasets: the contract says float64, and silently converting
 * int64 could round large values; the message tells the user what to write.
 * Long attributes are stored as int64, double attributes as float64, strings
 * as variable-length UTF-8 (what h5py reads back as str); the string reader
 * also accepts fixed-length strings.
 *
 * HDF5's own error-stack printing is switched off at every entry point so
 * users see only our message (hntk_last_error()).
 */
#define _POSIX_C_SOURCE 200809L

#include "hyperntk/h5io.h"
#include "hyperntk/error.h"

#include <hdf5.h>
#include <hdf5_hl.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define H5IO_MAX_RANK 4
/* At most this many writers may be open at once (each needs a registry slot). */
#define H5IO_MAX_WRITERS 8
/* Room for a temporary path in the registry: the handler may not allocate. */
#define H5IO_TMP_MAX 4096

struct hntk_h5 {
    hid_t file; /* the file being built, in memory (core driver) */
    int fd;     /* the temporary, created O_EXCL | O_NOFOLLOW; written at commit */
    int slot;   /* registry slot of the temporary */
    char *path; /* final path */
    char *tmp;  /* "<path>.tmp.<host>.<pid>.<random>" */
};

/* ------------------------------------------------------------------------ */
/* Registry of open temporaries, read by the signal handler.                 */

/* A slot is valid only while its flag is set.  The path is written before the
 * flag is raised and the flag is dropped before the slot is reused; the
 * signal fences stop the compiler from reordering those stores, so the
 * handler never sees a half-copied path. */
static char tmp_registry[H5IO_MAX_WRITERS][H5IO_TMP_MAX];
static volatile sig_atomic_t tmp_in_use[H5IO_MAX_WRITERS];

static int registry_add(const char *tmp)
{
    for (int i = 0; i < H5IO_MAX_WRITERS; i++) {
        if (!tmp_in_use[i]) {
            memcpy(tmp_registry[i], tmp, strlen(tmp) + 1);
            atomic_signal_fence(memory_order_seq_cst);
            tmp_in_use[i] = 1;
            return i;
        }
    }
    return -1;
}

/* Give a reserved slot its name: the flag is dropped while the path is
 * copied, so the handler never reads a half-copied name. */
static void registry_set(int slot, const char *tmp)
{
    tmp_in_use[slot] = 0;
    atomic_signal_fence(memory_order_seq_cst);
    memcpy(tmp_registry[slot], tmp, strlen(tmp) + 1);
    atomic_signal_fence(memory_order_seq_cst);
    tmp_in_use[slot] = 1;
}

static void registry_remove(int slot)
{
    if (slot < 0 || slot >= H5IO_MAX_WRITERS)
        return;
    tmp_in_use[slot] = 0;
    atomic_signal_fence(memory_order_seq_cst);
}

/* Async-signal-safe: only unlink(), signal() and raise().  The re-raised signal
 * stays blocked until the handler returns, then kills the process with the
 * default action, so the parent still sees "killed by SIGINT". */
static void cleanup_handler(int sig)
{
    for (int i = 0; i < H5IO_MAX_WRITERS; i++)
        if (tmp_in_use[i])
            unlink(tmp_registry[i]);
    signal(sig, SIG_DFL);
    raise(sig);
}

void hntk_h5_install_signal_cleanup(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) {
        struct sigaction old, sa;
        /* A signal ignored at start-up (a background job under nohup, say)
         * must stay ignored: taking it over would make the job killable. */
        if (sigaction(sigs[k], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = cleanup_handler;
        sigemptyset(&sa.sa_mask);
        /* Block the other signals too, so cleanup is not interrupted half-way. */
        sigaddset(&sa.sa_mask, SIGINT);
        sigaddset(&sa.sa_mask, SIGTERM);
        sigaddset(&sa.sa_mask, SIGHUP);
        sa.sa_flags = 0;
        sigaction(sigs[k], &sa, NULL);
    }
}

/* ------------------------------------------------------------------------ */
/* Small helpers.                                                            */

static void h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static void close_obj(hid_t id) { if (id >= 0) H5Oclose(id); }
static void close_type(hid_t id) { if (id >= 0) H5Tclose(id); }
static void close_space(hid_t id) { if (id >= 0) H5Sclose(id); }
static void close_attr(hid_t id) { if (id >= 0) H5Aclose(id); }
static void close_plist(hid_t id) { if (id >= 0) H5Pclose(id); }
static void close_file(hid_t id) { if (id >= 0) H5Fclose(id); }

/* A link-creation property list that creates missing intermediate groups, so
 * "/analytic/ntk" works without creating "/analytic" first. */
static hid_t make_lcpl(void)
{
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (lcpl >= 0 && H5Pset_create_intermediate_group(lcpl, 1) < 0) {
        H5Pclose(lcpl);
        return H5I_INVALID_HID;
    }
    return lcpl;
}

/* 1 if `name` resolves to an object in `loc`, 0 if not, -1 on allocation
 * failure.  H5Lexists on "a/b/c" fails (rather than answering no) when "a" is
 * missing, so each prefix is checked in turn; the final H5Oexists_by_name
 * rules out dangling soft links. */
static int path_exists(hid_t loc, const char *name)
{
    size_t len = strlen(name);
    while (len > 0 && name[len - 1] == '/')
        len--;
    if (len == 0)
        return 1; /* "/" (or "") is the root group */
    char *buf = malloc(len + 1);
    if (!buf)
        return -1;
    memcpy(buf, name, len);
    buf[len] = '\0';
    int found = 1;
    for (size_t i = 1; i <= len && found; i++) {
        if (i < len && (buf[i] != '/' || buf[i - 1] == '/'))
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (H5Lexists(loc, buf, H5P_DEFAULT) <= 0)
            found = 0;
        buf[i] = saved;
    }
    if (found && H5Oexists_by_name(loc, buf, H5P_DEFAULT) <= 0)
        found = 0;
    free(buf);
    return found;
}

/* "(3, 4)", "(5,)" or "()" for a scalar: numpy's notation, which is what
 * users writing inputs with h5py see. */
static void fmt_shape(char *buf, size_t cap, int rank, const hsize_t *dims)
{
    size_t used = 0;
    int n = snprintf(buf, cap, "(");
    used = n > 0 ? (size_t)n : 0;
    for (int i = 0; i < rank && used < cap; i++) {
        n = snprintf(buf + used, cap - used, "%s%llu", i ? ", " : "", (unsigned long long)dims[i]);
        used += n > 0 ? (size_t)n : 0;
    }
    if (used < cap)
        snprintf(buf + used, cap - used, rank == 1 ? ",)" : ")");
}

/* The wanted shape, with "*" for a free extent. */
static void fmt_want(char *buf, size_t cap, int rank, const long *want)
{
    size_t used = 0;
    int n = snprintf(buf, cap, "(");
    used = n > 0 ? (size_t)n : 0;
    for (int i = 0; i < rank && used < cap; i++) {
        if (want[i] < 0)
            n = snprintf(buf + used, cap - used, "%s*", i ? ", " : "");
        else
            n = snprintf(buf + used, cap - used, "%s%ld", i ? ", " : "", want[i]);
        used += n > 0 ? (size_t)n : 0;
    }
    if (used < cap)
        snprintf(buf + used, cap - used, ")");
}

/* "int64", "float32", "string", ... for messages. */
static void describe_type(hid_t type, char *buf, size_t cap)
{
    size_t bits = 8 * H5Tget_size(type);
    switch (H5Tget_class(type)) {
    case H5T_INTEGER:
        snprintf(buf, cap, "%sint%zu", H5Tget_sign(type) == H5T_SGN_NONE ? "u" : "", bits);
        break;
    case H5T_FLOAT: snprintf(buf, cap, "float%zu", bits); break;
    case H5T_STRING: snprintf(buf, cap, "string"); break;
    case H5T_COMPOUND: snprintf(buf, cap, "compound"); break;
    case H5T_ENUM: snprintf(buf, cap, "enum"); break;
    case H5T_ARRAY: snprintf(buf, cap, "array"); break;
    case H5T_VLEN: snprintf(buf, cap, "variable-length sequence"); break;
    case H5T_BITFIELD: snprintf(buf, cap, "bitfield"); break;
    case H5T_OPAQUE: snprintf(buf, cap, "opaque"); break;
    case H5T_REFERENCE: snprintf(buf, cap, "reference"); break;
    case H5T_TIME: snprintf(buf, cap, "time"); break;
    default: snprintf(buf, cap, "unknown"); break;
    }
}

/* ------------------------------------------------------------------------ */
/* Writing.                                                                  */

/* Release the writer's memory (the file and registry slot are handled by the caller). */
static void writer_free(hntk_h5 *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    free(f->path);
    free(f->tmp);
    free(f);
}

/* "a directory", "a character device", ... for messages about what a path is. */
static const char *file_kind(mode_t m)
{
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISSOCK(m))
        return "a socket";
    if (S_ISLNK(m))
        return "a symbolic link";
    return "not a regular file";
}

/* The rename at commit replaces whatever `path` names: only a missing path or
 * a regular file may be replaced (root renaming over /dev/null would replace
 * the device).  A symbolic link is refused too: the rename would replace the
 * link, not the file it points to, which is never what the user meant. */
static int check_replaceable(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) {
        if (errno == ENOENT)
            return HNTK_OK;
        int err = errno;
        return hntk_fail(HNTK_EIO, "result file '%s': cannot inspect it: %s", path, strerror(err));
    }
    if (!S_ISREG(sb.st_mode))
        return hntk_fail(HNTK_EIO,
                         "result file '%s' exists and is %s: refusing to replace it (accepted: a missing path "
                         "or a regular file)",
                         path, file_kind(sb.st_mode));
    return HNTK_OK;
}

/* The directory of `path` ("." when it has none) into dir[cap], and the last
 * component into *base (a pointer into path). */
static int split_path(const char *path, char *dir, size_t cap, const char **base)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, cap, ".");
        *base = path;
        return 0;
    }
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= cap)
        return -1;
    memcpy(dir, path, n);
    dir[n] = '\0';
    *base = slash + 1;
    return 0;
}

/* This host's name, for the temporaries' names ("localhost" when unknown),
 * with '.' and '/' replaced so that the name parses back. */
static void host_tag(char *buf, size_t cap)
{
    if (gethostname(buf, cap) != 0 || !buf[0])
        snprintf(buf, cap, "localhost");
    buf[cap - 1] = '\0';
    for (char *p = buf; *p; p++)
        if (*p == '.' || *p == '/')
            *p = '_';
}

/* Temporaries are "<base>.tmp.<host>.<pid>.<6 random characters>".  One whose
 * process is gone (SIGKILL, power loss) is removed when the next writer of the
 * same result starts, but only when that is certainly safe: the name parses,
 * it was made on this host (on a shared file system a live process elsewhere
 * may have the same pid), that pid is not running here, it is a regular file
 * (not a link) owned by us.  Anything else is left alone. */
static void remove_stale_temporaries(const char *path)
{
    char dir[H5IO_TMP_MAX], host[256], name[H5IO_TMP_MAX];
    const char *base;
    if (split_path(path, dir, sizeof dir, &base) || !*base)
        return;
    host_tag(host, sizeof host);
    int prefix = snprintf(name, sizeof name, "%s.tmp.%s.", base, host);
    if (prefix < 0 || (size_t)prefix >= sizeof name)
        return;
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        if (strncmp(e->d_name, name, (size_t)prefix))
            continue;
        char *end;
        errno = 0;
        long pid = strtol(e->d_name + prefix, &end, 10);
        if (errno || end == e->d_name + prefix || pid <= 0 || *end != '.' || strlen(end + 1) != 6)
            continue;
        if (pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char full[2 * H5IO_TMP_MAX];
        snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(full, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_uid == geteuid())
            unlink(full);
    }
    closedir(d);
}

/* Create a new temporary for `path` that nobody else can have planted:
 * O_CREAT | O_EXCL | O_NOFOLLOW under a random name in the result's own
 * directory (so that the rename stays on one file system), as mkstemp does,
 * but with the permissions a plain create would give (0666 minus the umask). */
static int create_temporary(const char *path, int slot, char *tmp, size_t cap, int *fd)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    char host[256];
    host_tag(host, sizeof host);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ ((uint64_t)getpid() << 40) ^ (uintptr_t)tmp;
    for (int attempt = 0; attempt < 100; attempt++) {
        char suffix[7];
        for (int i = 0; i < 6; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL; /* an LCG: names need only differ */
            suffix[i] = alphabet[(x >> 33) % (sizeof alphabet - 1)];
        }
        suffix[6] = '\0';
        int n = snprintf(tmp, cap, "%s.tmp.%s.%ld.%s", path, host, (long)getpid(), suffix);
        if (n < 0 || (size_t)n >= cap)
            return hntk_fail(HNTK_EINVAL, "result file '%s': path too long (the temporary name needs < %zu bytes)",
                             path, cap);
        /* Registered before it exists, so a signal cannot leave it behind (a
         * name taken by someone else is registered for an instant only: our
         * pid is in it, so only a planted file can collide). */
        registry_set(slot, tmp);
        *fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (*fd >= 0)
            return HNTK_OK;
        if (errno != EEXIST) {
            int err = errno;
            return hntk_fail(HNTK_EIO, "result file '%s': cannot create the temporary '%s': %s", path, tmp,
                             strerror(err));
        }
    }
    return hntk_fail(HNTK_EIO, "result file '%s': cannot create a temporary: 100 names were taken", path);
}

int hntk_h5_create(const char *path, hntk_h5 **out)
{
    if (!out)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_create: out must not be NULL");
    *out = NULL;
    if (!path || !*path)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_create: the result path must be a non-empty string");
    h5_quiet();
    int st = check_replaceable(path);
    if (st)
        return st;

    hntk_h5 *f = calloc(1, sizeof *f);
    if (f) {
        f->fd = -1;
        f->path = strdup(path);
    }
    if (!f || !f->path) {
        writer_free(f);
        return hntk_fail(HNTK_ENOMEM, "result file '%s': out of memory", path);
    }
    f->file = H5I_INVALID_HID;
    remove_stale_temporaries(path);

    /* Take a registry slot first; create_temporary names it before creating
     * the file, so that no signal can leave an unregistered temporary behind. */
    f->slot = registry_add("");
    if (f->slot < 0) {
        writer_free(f);
        return hntk_fail(HNTK_EINVAL,
                         "result file '%s': too many result files open at once (at most %d)", path,
                         H5IO_MAX_WRITERS);
    }
    char tmp[H5IO_TMP_MAX];
    st = create_temporary(path, f->slot, tmp, sizeof tmp, &f->fd);
    if (!st && !(f->tmp = strdup(tmp))) {
        unlink(tmp);
        st = hntk_fail(HNTK_ENOMEM, "result file '%s': out of memory", path);
    }
    if (st) {
        registry_remove(f->slot);
        writer_free(f);
        return st;
    }

    /* The file is built in memory (HDF5's core driver, no backing store) and
     * written to the temporary through our own descriptor at commit: HDF5
     * never opens a path of ours, so nothing can be redirected between the
     * O_EXCL create and the write, and a full disk is an ordinary write()
     * error (HDF5's own close of a file it could not flush crashed at exit).
     * CLOSE_STRONG: H5Fclose really closes the file. */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0 && (H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0 ||
                      H5Pset_fapl_core(fapl, (size_t)1 << 20, 0) < 0)) {
        H5Pclose(fapl);
        fapl = H5I_INVALID_HID;
    }
    f->file = fapl >= 0 ? H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl) : H5I_INVALID_HID;
    close_plist(fapl);
    if (f->file < 0) {
        unlink(tmp);
        registry_remove(f->slot);
        hntk_fail(HNTK_EIO, "result file '%s': HDF5 cannot create the file in memory", path);
        writer_free(f);
        return HNTK_EIO;
    }
    *out = f;
    return HNTK_OK;
}

/* Create dataset `name` of file type `ftype` and write `data` (memory type
 * `mtype`); `fn` names the caller in the no-file message. */
static int write_dataset(hntk_h5 *f, const char *fn, const char *name, int rank, const long *dims, hid_t ftype,
                         hid_t mtype, const void *data)
{
    if (!f || f->file < 0)
        return hntk_fail(HNTK_EINVAL, "%s: no open result file", fn);
    if (!name || !*name)
        return hntk_fail(HNTK_EINVAL, "result file '%s': dataset name must be non-empty", f->path);
    if (rank < 0 || rank > H5IO_MAX_RANK)
        return hntk_fail(HNTK_EINVAL, "result file '%s': dataset '%s' has rank %d (accepted 0..%d)",
                         f->path, name, rank, H5IO_MAX_RANK);
    if (rank > 0 && !dims)
        return hntk_fail(HNTK_EINVAL, "result file '%s': dataset '%s' of rank %d needs dims", f->path,
                         name, rank);
    hsize_t hd[H5IO_MAX_RANK];
    int empty = 0;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return hntk_fail(HNTK_EINVAL, "result file '%s': dataset '%s' has dims[%d] = %ld (must be >= 0)",
                             f->path, name, i, dims[i]);
        hd[i] = (hsize_t)dims[i];
        empty |= dims[i] == 0;
    }
    if (!empty && !data)
        return hntk_fail(HNTK_EINVAL, "result file '%s': dataset '%s': data must not be NULL", f->path, name);
    h5_quiet();

    int ex = path_exists(f->file, name);
    if (ex < 0)
        return hntk_fail(HNTK_ENOMEM, "result file '%s': out of memory", f->path);
    /* Writing the same name twice is a bug in the caller, not something to
     * paper over by replacing the first result. */
    if (ex)
        return hntk_fail(HNTK_EINVAL, "result file '%s': '%s' already exists (each dataset is written once)",
                         f->path, name);

    int status = HNTK_OK;
    hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, hd, NULL);
    hid_t lcpl = make_lcpl();
    hid_t dset = H5I_INVALID_HID;
    if (space < 0 || lcpl < 0) {
        status = hntk_fail(HNTK_EIO, "result file '%s': cannot set up dataset '%s'", f->path, name);
        goto done;
    }
    dset = H5Dcreate2(f->file, name, ftype, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    if (dset < 0) {
        status = hntk_fail(HNTK_EIO,
                           "result file '%s': cannot create dataset '%s' (is a parent a dataset?)",
                           f->path, name);
        goto done;
    }
    /* H5Dwrite rejects a NULL buffer even for zero elements. */
    if (!empty && H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        status = hntk_fail(HNTK_EIO, "result file '%s': cannot write dataset '%s' (disk full?)", f->path,
                           name);
done:
    if (dset >= 0)
        H5Dclose(dset);
    close_plist(lcpl);
    close_space(space);
    return status;
}

int hntk_h5_write(hntk_h5 *f, const char *name, int rank, const long *dims, const double *data)
{
    return write_dataset(f, "hntk_h5_write", name, rank, dims, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, data);
}

int hntk_h5_write_scalar(hntk_h5 *f, const char *name, double value)
{
    return hntk_h5_write(f, name, 0, NULL, &value);
}

/* Write one attribute, scalar (n < 0) or 1-D of n >= 0 values, creating `obj`
 * as a group when it is missing and replacing an attribute of the same name. */
static int write_attr_n(hntk_h5 *f, const char *obj, const char *name, hid_t ftype, hid_t mtype,
                        const void *buf, long n)
{
    if (!f || f->file < 0)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_attr: no open result file");
    if (!obj || !*obj || !name || !*name)
        return hntk_fail(HNTK_EINVAL, "result file '%s': attribute needs a non-empty object and name",
                         f->path);
    h5_quiet();

    int ex = path_exists(f->file, obj);
    if (ex < 0)
        return hntk_fail(HNTK_ENOMEM, "result file '%s': out of memory", f->path);
    if (!ex) {
        hid_t lcpl = make_lcpl();
        hid_t g = lcpl >= 0 ? H5Gcreate2(f->file, obj, lcpl, H5P_DEFAULT, H5P_DEFAULT) : H5I_INVALID_HID;
        close_plist(lcpl);
        if (g < 0)
            return hntk_fail(HNTK_EIO, "result file '%s': cannot create group '%s' for attribute '%s'",
                             f->path, obj, name);
        H5Gclose(g);
    }

    int status = HNTK_OK;
    hid_t o = H5Oopen(f->file, obj, H5P_DEFAULT);
    hid_t space = H5I_INVALID_HID, attr = H5I_INVALID_HID;
    if (o < 0) {
        status = hntk_fail(HNTK_EIO, "result file '%s': cannot open '%s' to attach attribute '%s'",
                           f->path, obj, name);
        goto done;
    }
    if (H5Aexists(o, name) > 0 && H5Adelete(o, name) < 0) {
        status = hntk_fail(HNTK_EIO, "result file '%s': cannot replace attribute '%s' of '%s'", f->path,
                           name, obj);
        goto done;
    }
    if (n < 0) {
        space = H5Screate(H5S_SCALAR);
    } else {
        hsize_t hn = (hsize_t)n;
        space = H5Screate_simple(1, &hn, NULL);
    }
    attr = space >= 0 ? H5Acreate2(o, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT) : H5I_INVALID_HID;
    /* H5Awrite rejects a NULL buffer even for zero values. */
    if (attr < 0 || (n != 0 && H5Awrite(attr, mtype, buf) < 0))
        status = hntk_fail(HNTK_EIO, "result file '%s': cannot write attribute '%s' of '%s'", f->path,
                           name, obj);
done:
    close_attr(attr);
    close_space(space);
    close_obj(o);
    return status;
}

static int write_attr(hntk_h5 *f, const char *obj, const char *name, hid_t ftype, hid_t mtype,
                      const void *buf)
{
    return write_attr_n(f, obj, name, ftype, mtype, buf, -1);
}

int hntk_h5_attr_long(hntk_h5 *f, const char *obj, const char *name, long value)
{
    return write_attr(f, obj, name, H5T_STD_I64LE, H5T_NATIVE_LONG, &value);
}

int hntk_h5_attr_double(hntk_h5 *f, const char *obj, const char *name, double value)
{
    return write_attr(f, obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

int hntk_h5_attr_string(hntk_h5 *f, const char *obj, const char *name, const char *value)
{
    if (!value)
        return hntk_fail(HNTK_EINVAL, "attribute '%s': string value must not be NULL", name ? name : "?");
    h5_quiet();
    /* Variable-length UTF-8: any length, and h5py returns it as str. */
    hid_t type = H5Tcopy(H5T_C_S1);
    if (type < 0 || H5Tset_size(type, H5T_VARIABLE) < 0 || H5Tset_cset(type, H5T_CSET_UTF8) < 0) {
        close_type(type);
        return hntk_fail(HNTK_EIO, "attribute '%s': cannot make a string type", name ? name : "?");
    }
    int status = write_attr(f, obj, name, type, type, &value);
    H5Tclose(type);
    return status;
}

/* A variable-length UTF-8 string type (caller closes), or H5I_INVALID_HID. */
static hid_t make_vlen_utf8(void)
{
    hid_t type = H5Tcopy(H5T_C_S1);
    if (type >= 0 && (H5Tset_size(type, H5T_VARIABLE) < 0 || H5Tset_cset(type, H5T_CSET_UTF8) < 0)) {
        H5Tclose(type);
        return H5I_INVALID_HID;
    }
    return type;
}

/* Checks shared by the array attribute writers. */
static int check_attr_array(hntk_h5 *f, const char *obj, const char *name, long n, const void *v)
{
    const char *path = f ? f->path : "?";
    if (n < 0)
        return hntk_fail(HNTK_EINVAL, "result file '%s': attribute '%s' of '%s': %ld values (must be >= 0)", path,
                         name ? name : "?", obj ? obj : "?", n);
    if (n > 0 && !v)
        return hntk_fail(HNTK_EINVAL, "result file '%s': attribute '%s' of '%s': values must not be NULL", path,
                         name ? name : "?", obj ? obj : "?");
    return HNTK_OK;
}

int hntk_h5_attr_long_array(hntk_h5 *f, const char *obj, const char *name, long n, const long *v)
{
    int st = check_attr_array(f, obj, name, n, v);
    return st ? st : write_attr_n(f, obj, name, H5T_STD_I64LE, H5T_NATIVE_LONG, v, n);
}

int hntk_h5_attr_double_array(hntk_h5 *f, const char *obj, const char *name, long n, const double *v)
{
    int st = check_attr_array(f, obj, name, n, v);
    return st ? st : write_attr_n(f, obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v, n);
}

int hntk_h5_attr_string_array(hntk_h5 *f, const char *obj, const char *name, long n, const char *const *v)
{
    int st = check_attr_array(f, obj, name, n, v);
    if (st)
        return st;
    for (long i = 0; i < n; i++)
        if (!v[i])
            return hntk_fail(HNTK_EINVAL, "result file '%s': attribute '%s' of '%s': string %ld is NULL",
                             f ? f->path : "?", name ? name : "?", obj ? obj : "?", i);
    h5_quiet();
    hid_t type = make_vlen_utf8();
    if (type < 0)
        return hntk_fail(HNTK_EIO, "attribute '%s': cannot make a string type", name ? name : "?");
    st = write_attr_n(f, obj, name, type, type, v, n);
    H5Tclose(type);
    return st;
}

/* ---- self-describing results ---- */

/* Open the existing object `name` of a writer (dataset or group); the message
 * says what it was wanted for. */
static int open_written(hntk_h5 *f, const char *fn, const char *name, const char *purpose, hid_t *obj)
{
    *obj = H5I_INVALID_HID;
    if (!f || f->file < 0)
        return hntk_fail(HNTK_EINVAL, "%s: no open result file", fn);
    if (!name || !*name)
        return hntk_fail(HNTK_EINVAL, "result file '%s': %s: the object name must be non-empty", f->path, fn);
    h5_quiet();
    int ex = path_exists(f->file, name);
    if (ex < 0)
        return hntk_fail(HNTK_ENOMEM, "result file '%s': out of memory", f->path);
    if (!ex)
        return hntk_fail(HNTK_EINVAL, "result file '%s': no dataset or group '%s' to %s (write it first)",
                         f->path, name, purpose);
    *obj = H5Oopen(f->file, name, H5P_DEFAULT);
    if (*obj < 0)
        return hntk_fail(HNTK_EIO, "result file '%s': cannot open '%s' to %s", f->path, name, purpose);
    return HNTK_OK;
}

static int check_description(hntk_h5 *f, const char *name, const char *description)
{
    if (!description || !*description)
        return hntk_fail(HNTK_EINVAL, "result file '%s': '%s' needs a non-empty description",
                         f ? f->path : "?", name ? name : "?");
    return HNTK_OK;
}

int hntk_h5_describe(hntk_h5 *f, const char *name, const char *description, const char *units)
{
    int st = check_description(f, name, description);
    if (st)
        return st;
    hid_t obj;
    if ((st = open_written(f, "hntk_h5_describe", name, "describe", &obj)))
        return st;
    H5Oclose(obj);
    st = hntk_h5_attr_string(f, name, "description", description);
    if (!st && units)
        st = hntk_h5_attr_string(f, name, "units", units);
    return st;
}

int hntk_h5_write_described(hntk_h5 *f, const char *name, int rank, const long *dims, const double *data,
                            const char *description, const char *units)
{
    int st = check_description(f, name, description);
    if (!st)
        st = hntk_h5_write(f, name, rank, dims, data);
    if (!st)
        st = hntk_h5_describe(f, name, description, units);
    return st;
}

int hntk_h5_write_scaled(hntk_h5 *f, const char *name, int rank, const long *dims, const double *data,
                         const char *description, const char *units, const char *const *scales)
{
    int st = hntk_h5_write_described(f, name, rank, dims, data, description, units);
    for (int a = 0; a < rank && scales && !st; a++)
        if (scales[a]) st = hntk_h5_attach_scale(f, name, a, scales[a]);
    return st;
}

int hntk_h5_write_long(hntk_h5 *f, const char *name, int rank, const long *dims, const long *data,
                       const char *description)
{
    int st = check_description(f, name, description);
    if (!st)
        st = write_dataset(f, "hntk_h5_write_long", name, rank, dims, H5T_STD_I64LE, H5T_NATIVE_LONG, data);
    if (!st)
        st = hntk_h5_describe(f, name, description, NULL);
    return st;
}

int hntk_h5_write_enum(hntk_h5 *f, const char *name, int rank, const long *dims, const int *data, int n_names,
                       const char *const *names, const int *values, const char *description)
{
    if (!f || f->file < 0)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_write_enum: no open result file");
    int st = check_description(f, name, description);
    if (st)
        return st;
    if (n_names < 1 || !names || !values)
        return hntk_fail(HNTK_EINVAL, "result file '%s': enum dataset '%s' needs n_names >= 1 names and values "
                                      "(got %d)",
                         f->path, name, n_names);
    for (int k = 0; k < n_names; k++) {
        if (!names[k] || !*names[k])
            return hntk_fail(HNTK_EINVAL, "result file '%s': enum dataset '%s': name %d is empty", f->path, name, k);
        for (int j = 0; j < k; j++) {
            if (!strcmp(names[j], names[k]))
                return hntk_fail(HNTK_EINVAL, "result file '%s': enum dataset '%s': name '%s' appears twice",
                                 f->path, name, names[k]);
            if (values[j] == values[k])
                return hntk_fail(HNTK_EINVAL, "result file '%s': enum dataset '%s': '%s' and '%s' have the same "
                                              "value %d",
                                 f->path, name, names[j], names[k], values[k]);
        }
    }
    /* Every entry must be a named code (HDF5 would store an unnamed one, but
     * readers could not name it).  The shape checks come in write_dataset. */
    long count = 1;
    for (int i = 0; i < rank && i < H5IO_MAX_RANK && dims; i++)
        count *= dims[i] > 0 ? dims[i] : 0;
    if (rank >= 0 && rank <= H5IO_MAX_RANK && (rank == 0 || dims) && count > 0 && data) {
        for (long i = 0; i < count; i++) {
            int known = 0;
            for (int k = 0; k < n_names && !known; k++)
                known = data[i] == values[k];
            if (!known)
                return hntk_fail(HNTK_EINVAL, "result file '%s': enum dataset '%s': entry %ld is %d, not one of "
                                              "the %d named values",
                                 f->path, name, i, data[i], n_names);
        }
    }
    h5_quiet();
    hid_t type = H5Tenum_create(H5T_NATIVE_INT);
    for (int k = 0; k < n_names && type >= 0; k++) {
        if (H5Tenum_insert(type, names[k], &values[k]) < 0) {
            H5Tclose(type);
            type = H5I_INVALID_HID;
        }
    }
    if (type < 0)
        return hntk_fail(HNTK_EIO, "result file '%s': cannot make the enum type of '%s'", f->path, name);
    st = write_dataset(f, "hntk_h5_write_enum", name, rank, dims, type, type, data);
    H5Tclose(type);
    if (!st)
        st = hntk_h5_describe(f, name, description, NULL);
    return st;
}

/* Open a dataset of a writer and return its rank and extents. */
static int open_written_dataset(hntk_h5 *f, const char *fn, const char *name, const char *purpose, hid_t *dset,
                                int *rank, hsize_t *dims)
{
    int st = open_written(f, fn, name, purpose, dset);
    if (st)
        return st;
    if (H5Iget_type(*dset) != H5I_DATASET) {
        H5Oclose(*dset);
        *dset = H5I_INVALID_HID;
        return hntk_fail(HNTK_EINVAL, "result file '%s': '%s' is a group, not a dataset (cannot %s it)", f->path,
                         name, purpose);
    }
    hid_t space = H5Dget_space(*dset);
    *rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    if (*rank < 0 || *rank > H5S_MAX_RANK || H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
        close_space(space);
        H5Oclose(*dset);
        *dset = H5I_INVALID_HID;
        return hntk_fail(HNTK_EIO, "result file '%s': cannot read the shape of '%s'", f->path, name);
    }
    H5Sclose(space);
    return HNTK_OK;
}

int hntk_h5_make_scale(hntk_h5 *f, const char *name, const char *label)
{
    if (!label || !*label)
        return hntk_fail(HNTK_EINVAL, "result file '%s': dimension scale '%s' needs a non-empty label",
                         f ? f->path : "?", name ? name : "?");
    hid_t dset;
    int rank;
    hsize_t dims[H5S_MAX_RANK];
    int st = open_written_dataset(f, "hntk_h5_make_scale", name, "make a dimension scale of", &dset, &rank, dims);
    if (st)
        return st;
    if (rank != 1) {
        char shape[160];
        fmt_shape(shape, sizeof shape, rank, dims);
        st = hntk_fail(HNTK_EINVAL, "result file '%s': '%s' has shape %s: a dimension scale must be 1-D", f->path,
                       name, shape);
    } else if (H5DSget_num_scales(dset, 0) > 0) {
        st = hntk_fail(HNTK_EINVAL, "result file '%s': '%s' has a dimension scale attached, so it cannot be one",
                       f->path, name);
    } else if (H5DSset_scale(dset, label) < 0) {
        st = hntk_fail(HNTK_EIO, "result file '%s': cannot make '%s' a dimension scale", f->path, name);
    }
    H5Dclose(dset);
    return st;
}

int hntk_h5_attach_scale(hntk_h5 *f, const char *dataset, int dim, const char *scale_name)
{
    hid_t dset = H5I_INVALID_HID, scale = H5I_INVALID_HID;
    int rank = 0, srank = 0;
    hsize_t dims[H5S_MAX_RANK], sdims[H5S_MAX_RANK];
    char shape[160], sshape[160];
    int st = open_written_dataset(f, "hntk_h5_attach_scale", dataset, "attach a dimension scale to", &dset, &rank,
                                  dims);
    if (!st)
        st = open_written_dataset(f, "hntk_h5_attach_scale", scale_name, "attach as a dimension scale", &scale,
                                  &srank, sdims);
    if (st)
        goto done;
    fmt_shape(shape, sizeof shape, rank, dims);
    fmt_shape(sshape, sizeof sshape, srank, sdims);
    if (H5DSis_scale(scale) <= 0) {
        st = hntk_fail(HNTK_EINVAL, "result file '%s': '%s' is not a dimension scale (hntk_h5_make_scale first)",
                       f->path, scale_name);
    } else if (H5DSis_scale(dset) > 0) {
        st = hntk_fail(HNTK_EINVAL, "result file '%s': '%s' is itself a dimension scale: no scale can be attached "
                                    "to it",
                       f->path, dataset);
    } else if (dim < 0 || dim >= rank) {
        st = hntk_fail(HNTK_EINVAL, "result file '%s': dataset '%s' of shape %s has no axis %d (accepted 0..%d)",
                       f->path, dataset, shape, dim, rank - 1);
    } else if (sdims[0] != dims[dim]) {
        st = hntk_fail(HNTK_EINVAL, "result file '%s': dimension scale '%s' has %llu values but axis %d of '%s' "
                                    "(shape %s) has extent %llu",
                       f->path, scale_name, (unsigned long long)sdims[0], dim, dataset, shape,
                       (unsigned long long)dims[dim]);
    } else if (H5DSis_attached(dset, scale, (unsigned)dim) > 0) {
        st = hntk_fail(HNTK_EINVAL, "result file '%s': '%s' is already attached to axis %d of '%s'", f->path,
                       scale_name, dim, dataset);
    } else if (H5DSattach_scale(dset, scale, (unsigned)dim) < 0) {
        st = hntk_fail(HNTK_EIO, "result file '%s': cannot attach '%s' to axis %d of '%s'", f->path, scale_name,
                       dim, dataset);
    } else {
        char label[256] = "";
        ssize_t len = H5DSget_scale_name(scale, label, sizeof label);
        if (len > 0 && H5DSset_label(dset, (unsigned)dim, label) < 0)
            st = hntk_fail(HNTK_EIO, "result file '%s': cannot label axis %d of '%s'", f->path, dim, dataset);
    }
done:
    if (scale >= 0)
        H5Dclose(scale);
    if (dset >= 0)
        H5Oclose(dset);
    return st;
}

/* Write all of buf to fd (write() may write less than asked). */
static int write_all(int fd, const unsigned char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

/* fsync the directory of `path`, so that the rename itself survives a power
 * loss.  Some file systems cannot sync a directory (EINVAL): not an error. */
static int sync_directory(const char *path)
{
    char dir[H5IO_TMP_MAX];
    const char *base;
    if (split_path(path, dir, sizeof dir, &base))
        return 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int rc = fsync(fd);
    int err = errno;
    close(fd);
    if (rc != 0 && err != EINVAL && err != EROFS) {
        errno = err;
        return -1;
    }
    return 0;
}

/* The whole in-memory file as bytes (malloc'd), then close it. */
static int take_image(hntk_h5 *f, unsigned char **image, size_t *size)
{
    *image = NULL;
    /* Flush first: every object's metadata must be in the image. */
    ssize_t n = H5Fflush(f->file, H5F_SCOPE_GLOBAL) < 0 ? -1 : H5Fget_file_image(f->file, NULL, 0);
    if (n > 0)
        *image = malloc((size_t)n);
    int ok = n > 0 && *image && H5Fget_file_image(f->file, *image, (size_t)n) == n;
    herr_t closed = H5Fclose(f->file);
    f->file = H5I_INVALID_HID;
    if (!ok || closed < 0) {
        free(*image);
        *image = NULL;
        return n > 0 && !*image ? hntk_fail(HNTK_ENOMEM, "result file '%s': out of memory for its %.3g MiB", f->path,
                                            (double)n / 1048576.0)
                                : hntk_fail(HNTK_EIO, "result file '%s': HDF5 cannot finish the file", f->path);
    }
    *size = (size_t)n;
    return HNTK_OK;
}

int hntk_h5_commit(hntk_h5 *f)
{
    if (!f)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_commit: no open result file");
    h5_quiet();
    unsigned char *image = NULL;
    size_t size = 0;
    int status = take_image(f, &image, &size);
    /* Write, fsync and close the temporary, then check once more what the
     * rename replaces (something may have appeared meanwhile), rename, and
     * fsync the directory: after a crash either the old or the new result is
     * there, complete. */
    if (!status && (write_all(f->fd, image, size) != 0 || fsync(f->fd) != 0)) {
        int err = errno;
        status = hntk_fail(HNTK_EIO, "result file '%s': cannot write the temporary '%s': %s", f->path, f->tmp,
                           strerror(err));
    }
    free(image);
    if (f->fd >= 0 && close(f->fd) != 0 && !status) {
        int err = errno;
        status = hntk_fail(HNTK_EIO, "result file '%s': cannot write the temporary '%s': %s", f->path, f->tmp,
                           strerror(err));
    }
    f->fd = -1;
    if (!status)
        status = check_replaceable(f->path);
    if (!status && rename(f->tmp, f->path) != 0) {
        int err = errno;
        status = hntk_fail(HNTK_EIO, "result file '%s': cannot rename the temporary '%s' into place: %s",
                           f->path, f->tmp, strerror(err));
    }
    if (status) {
        unlink(f->tmp);
    } else if (sync_directory(f->path) != 0) {
        int err = errno;
        /* The new result is in place; only its durability is in doubt. */
        status = hntk_fail(HNTK_EIO, "result file '%s': written, but its directory cannot be synced: %s",
                           f->path, strerror(err));
    }
    /* Only now: a signal between rename and this point unlinks a name that no
     * longer exists, which is harmless; the other order could leak it. */
    registry_remove(f->slot);
    writer_free(f);
    return status;
}

void hntk_h5_abort(hntk_h5 *f)
{
    if (!f)
        return;
    h5_quiet();
    close_file(f->file);
    unlink(f->tmp);
    registry_remove(f->slot);
    writer_free(f);
}

/* ------------------------------------------------------------------------ */
/* Reading.                                                                  */

/* Open `path` read-only; `label` ("file", "inputs file") starts messages.
 * Tells a missing or unreadable file (EIO) from a non-HDF5 one (EFORMAT). */
static int open_read(const char *path, const char *label, hid_t *file)
{
    *file = H5I_INVALID_HID;
    if (!path || !*path)
        return hntk_fail(HNTK_EINVAL, "%s: the path must be a non-empty string", label);
    h5_quiet();
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        int err = errno;
        return hntk_fail(HNTK_EIO, "%s '%s': cannot open: %s", label, path, strerror(err));
    }
    fclose(fp);
#if H5_VERSION_GE(1, 12, 0)
    htri_t is_h5 = H5Fis_accessible(path, H5P_DEFAULT);
#else
    htri_t is_h5 = H5Fis_hdf5(path);
#endif
    if (is_h5 <= 0)
        return hntk_fail(HNTK_EFORMAT, "%s '%s': not an HDF5 file", label, path);
    *file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (*file < 0)
        return hntk_fail(HNTK_EIO, "%s '%s': HDF5 cannot open it (corrupt, or locked by another process?)",
                         label, path);
    return HNTK_OK;
}

/* Where a dataset comes from and what it should look like, for messages. */
struct rd_ctx {
    const char *label;  /* "file", "inputs file" */
    const char *path;
    const char *name;
    const char *expect; /* "float64, shape (B, x_dim)" */
};

/* Read a floating-point dataset of rank `rank` (and shape `want`, when given)
 * as doubles into a new buffer. */
static int read_dataset(hid_t file, const struct rd_ctx *c, int rank, const long *want, long *dims,
                        double **data)
{
    *data = NULL;
    int ex = path_exists(file, c->name);
    if (ex < 0)
        return hntk_fail(HNTK_ENOMEM, "%s '%s': out of memory", c->label, c->path);
    if (!ex)
        return hntk_fail(HNTK_EFORMAT, "%s '%s': no dataset '%s' (expected %s)", c->label, c->path, c->name,
                         c->expect);

    int status = HNTK_OK;
    hid_t obj = H5Oopen(file, c->name, H5P_DEFAULT);
    hid_t type = H5I_INVALID_HID, space = H5I_INVALID_HID;
    char found[64], shape[160];
    if (obj < 0) {
        status = hntk_fail(HNTK_EFORMAT, "%s '%s': cannot open '%s' (expected a dataset, %s)", c->label,
                           c->path, c->name, c->expect);
        goto done;
    }
    H5I_type_t kind = H5Iget_type(obj);
    if (kind != H5I_DATASET) {
        status = hntk_fail(HNTK_EFORMAT, "%s '%s': '%s' is a %s, not a dataset (expected %s)", c->label,
                           c->path, c->name, kind == H5I_GROUP ? "group" : "named datatype", c->expect);
        goto done;
    }
    type = H5Dget_type(obj);
    if (type < 0 || H5Tget_class(type) != H5T_FLOAT) {
        if (type >= 0)
            describe_type(type, found, sizeof found);
        else
            snprintf(found, sizeof found, "unknown");
        status = hntk_fail(HNTK_EFORMAT, "%s '%s': dataset '%s' has type %s (expected %s)", c->label,
                           c->path, c->name, found, c->expect);
        goto done;
    }
    space = H5Dget_space(obj);
    if (space < 0 || H5Sget_simple_extent_type(space) == H5S_NULL) {
        status = hntk_fail(HNTK_EFORMAT, "%s '%s': dataset '%s' holds no data (expected %s)", c->label,
                           c->path, c->name, c->expect);
        goto done;
    }
    hsize_t hd[H5S_MAX_RANK];
    int nd = H5Sget_simple_extent_ndims(space);
    if (nd < 0 || nd > H5S_MAX_RANK || H5Sget_simple_extent_dims(space, hd, NULL) < 0) {
        status = hntk_fail(HNTK_EFORMAT, "%s '%s': dataset '%s' has an unreadable shape", c->label, c->path,
                           c->name);
        goto done;
    }
    fmt_shape(shape, sizeof shape, nd, hd);
    if (nd != rank) {
        status = hntk_fail(HNTK_EFORMAT, "%s '%s': dataset '%s' has rank %d, shape %s (expected %s)",
                           c->label, c->path, c->name, nd, shape, c->expect);
        goto done;
    }
    size_t count = 1;
    int too_big = 0;
    for (int i = 0; i < rank; i++) {
        if (want && want[i] >= 0 && hd[i] != (hsize_t)want[i]) {
            status = hntk_fail(HNTK_EFORMAT, "%s '%s': dataset '%s' has shape %s (expected %s)", c->label,
                               c->path, c->name, shape, c->expect);
            goto done;
        }
        if (hd[i] > (hsize_t)LONG_MAX || (hd[i] > 0 && count > SIZE_MAX / sizeof(double) / hd[i]))
            too_big = 1;
        else
            count *= (size_t)hd[i];
    }
    if (too_big) {
        status = hntk_fail(HNTK_ENOMEM, "%s '%s': dataset '%s' of shape %s is too large for memory",
                           c->label, c->path, c->name, shape);
        goto done;
    }
    double *buf = malloc(count > 0 ? count * sizeof(double) : 1);
    if (!buf) {
        status = hntk_fail(HNTK_ENOMEM, "%s '%s': dataset '%s' of shape %s does not fit in memory",
                           c->label, c->path, c->name, shape);
        goto done;
    }
    if (count > 0 && H5Dread(obj, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        free(buf);
        status = hntk_fail(HNTK_EIO, "%s '%s': cannot read dataset '%s' (file truncated or corrupt?)",
                           c->label, c->path, c->name);
        goto done;
    }
    for (int i = 0; i < rank; i++)
        dims[i] = (long)hd[i];
    *data = buf;
done:
    close_space(space);
    close_type(type);
    close_obj(obj);
    return status;
}

/* The arguments every dataset reader checks first (have_data: its output
 * pointer is not NULL; the caller clears it). */
static int check_read_args(const char *name, int rank, const long *dims, int have_data)
{
    if (!have_data)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_read: data must not be NULL");
    if (!name || !*name)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_read: dataset name must be non-empty");
    if (rank < 0 || rank > H5IO_MAX_RANK)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_read: dataset '%s': rank %d (accepted 0..%d)", name, rank,
                         H5IO_MAX_RANK);
    if (rank > 0 && !dims)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_read: dataset '%s' of rank %d needs dims", name, rank);
    return HNTK_OK;
}

int hntk_h5_read_shaped(const char *path, const char *name, int rank, const long *want, long *dims,
                        double **data)
{
    int arg_status = check_read_args(name, rank, dims, data != NULL);
    if (arg_status) return arg_status;
    *data = NULL;

    char expect[200];
    if (want) {
        char w[160];
        fmt_want(w, sizeof w, rank, want);
        snprintf(expect, sizeof expect, "float64, rank %d, shape %s", rank, w);
    } else {
        snprintf(expect, sizeof expect, "float64, rank %d", rank);
    }
    hid_t file;
    int status = open_read(path, "file", &file);
    if (status)
        return status;
    struct rd_ctx c = {"file", path, name, expect};
    status = read_dataset(file, &c, rank, want, dims, data);
    H5Fclose(file);
    return status;
}

int hntk_h5_read(const char *path, const char *name, int rank, long *dims, double **data)
{
    return hntk_h5_read_shaped(path, name, rank, NULL, dims, data);
}

int hntk_h5_exists(const char *path, const char *name)
{
    if (!path || !*path || !name)
        return 0;
    h5_quiet();
    /* Not an error to ask about a file that is not there: answer 0 quietly
     * (H5Fopen fails cleanly on a missing or non-HDF5 file). */
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file < 0)
        return 0;
    int ex = path_exists(file, name);
    H5Fclose(file);
    return ex > 0;
}

/* Open attribute `name` of object `obj` in `path` and check it holds one
 * value of class `want_class` (H5T_NO_CLASS: any type and any count).  On success the caller
 * closes *attr and *file. */
static int open_attr(const char *path, const char *obj, const char *name, H5T_class_t want_class,
                     const char *expect, hid_t *file, hid_t *attr, hid_t *type)
{
    *file = *attr = *type = H5I_INVALID_HID;
    if (!obj || !*obj || !name || !*name)
        return hntk_fail(HNTK_EINVAL, "file '%s': attribute needs a non-empty object and name",
                         path ? path : "?");
    int status = open_read(path, "file", file);
    if (status)
        return status;
    hid_t space = H5I_INVALID_HID;
    int ex = path_exists(*file, obj);
    if (ex <= 0) {
        status = ex < 0 ? hntk_fail(HNTK_ENOMEM, "file '%s': out of memory", path)
                        : hntk_fail(HNTK_EFORMAT, "file '%s': no object '%s' (looking for its attribute '%s')",
                                    path, obj, name);
        goto fail;
    }
    if (H5Aexists_by_name(*file, obj, name, H5P_DEFAULT) <= 0) {
        status = hntk_fail(HNTK_EFORMAT, "file '%s': '%s' has no attribute '%s' (expected %s)", path, obj,
                           name, expect);
        goto fail;
    }
    *attr = H5Aopen_by_name(*file, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    *type = *attr >= 0 ? H5Aget_type(*attr) : H5I_INVALID_HID;
    space = *attr >= 0 ? H5Aget_space(*attr) : H5I_INVALID_HID;
    if (*type < 0 || space < 0) {
        status = hntk_fail(HNTK_EIO, "file '%s': cannot read attribute '%s' of '%s'", path, name, obj);
        goto fail;
    }
    char found[64];
    if (want_class != H5T_NO_CLASS && H5Tget_class(*type) != want_class) {
        describe_type(*type, found, sizeof found);
        status = hntk_fail(HNTK_EFORMAT, "file '%s': attribute '%s' of '%s' has type %s (expected %s)", path,
                           name, obj, found, expect);
        goto fail;
    }
    hssize_t npoints = H5Sget_simple_extent_npoints(space);
    /* H5T_NO_CLASS: the caller checks the type and the count (arrays). */
    if (want_class != H5T_NO_CLASS && (H5Sget_simple_extent_type(space) == H5S_NULL || npoints != 1)) {
        status = hntk_fail(HNTK_EFORMAT, "file '%s': attribute '%s' of '%s' holds %lld values (expected one %s)",
                           path, name, obj,
                           H5Sget_simple_extent_type(space) == H5S_NULL ? 0LL : (long long)npoints, expect);
        goto fail;
    }
    H5Sclose(space);
    return HNTK_OK;
fail:
    close_space(space);
    close_type(*type);
    close_attr(*attr);
    close_file(*file);
    *file = *attr = *type = H5I_INVALID_HID;
    return status;
}

static void close_attr_all(hid_t file, hid_t attr, hid_t type)
{
    close_type(type);
    close_attr(attr);
    close_file(file);
}

int hntk_h5_read_attr_long(const char *path, const char *obj, const char *name, long *value)
{
    if (!value)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_read_attr_long: value must not be NULL");
    hid_t file, attr, type;
    int status = open_attr(path, obj, name, H5T_INTEGER, "an integer", &file, &attr, &type);
    if (status)
        return status;
    long v;
    if (H5Aread(attr, H5T_NATIVE_LONG, &v) < 0)
        status = hntk_fail(HNTK_EIO, "file '%s': cannot read attribute '%s' of '%s'", path, name, obj);
    else
        *value = v;
    close_attr_all(file, attr, type);
    return status;
}

int hntk_h5_read_attr_double(const char *path, const char *obj, const char *name, double *value)
{
    if (!value)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_read_attr_double: value must not be NULL");
    hid_t file, attr, type;
    int status = open_attr(path, obj, name, H5T_FLOAT, "a float64", &file, &attr, &type);
    if (status)
        return status;
    double v;
    if (H5Aread(attr, H5T_NATIVE_DOUBLE, &v) < 0)
        status = hntk_fail(HNTK_EIO, "file '%s': cannot read attribute '%s' of '%s'", path, name, obj);
    else
        *value = v;
    close_attr_all(file, attr, type);
    return status;
}

/* Copy a string of length len into buf[cap], truncating to cap-1. */
static void copy_truncated(char *buf, size_t cap, const char *s, size_t len)
{
    if (len > cap - 1)
        len = cap - 1;
    memcpy(buf, s, len);
    buf[len] = '\0';
}

int hntk_h5_read_attr_string(const char *path, const char *obj, const char *name, char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_read_attr_string: need a buffer of at least 1 byte");
    buf[0] = '\0';
    hid_t file, attr, type;
    int status = open_attr(path, obj, name, H5T_STRING, "a string", &file, &attr, &type);
    if (status)
        return status;

    hid_t mtype = H5Tcopy(type);
    htri_t vlen = H5Tis_variable_str(type);
    if (mtype < 0 || vlen < 0) {
        status = hntk_fail(HNTK_EIO, "file '%s': cannot read attribute '%s' of '%s'", path, name, obj);
    } else if (vlen) {
        /* Variable length: HDF5 allocates the string; give it back with H5free_memory. */
        char *s = NULL;
        if (H5Aread(attr, mtype, &s) < 0) {
            status = hntk_fail(HNTK_EIO, "file '%s': cannot read attribute '%s' of '%s'", path, name, obj);
        } else {
            if (s)
                copy_truncated(buf, cap, s, strlen(s));
            H5free_memory(s);
        }
    } else {
        /* Fixed length: `size` bytes, not necessarily terminated; a NUL-padded
         * or space-padded tail is padding, not content. */
        size_t size = H5Tget_size(type);
        char *s = calloc(size + 1, 1);
        if (!s) {
            status = hntk_fail(HNTK_ENOMEM, "file '%s': out of memory", path);
        } else if (H5Aread(attr, mtype, s) < 0) {
            status = hntk_fail(HNTK_EIO, "file '%s': cannot read attribute '%s' of '%s'", path, name, obj);
        } else {
            size_t len = strlen(s);
            if (H5Tget_strpad(type) == H5T_STR_SPACEPAD)
                while (len > 0 && s[len - 1] == ' ')
                    len--;
            copy_truncated(buf, cap, s, len);
        }
        free(s);
    }
    close_type(mtype);
    close_attr_all(file, attr, type);
    return status;
}

/* Read dataset `name` of rank `rank` <= 4 whose type class is `want_class`
 * (H5T_INTEGER or H5T_ENUM) into a new buffer of elements of memory type
 * `mtype` (size elsize).  `expect` ("int64") goes into the messages. */
static int read_typed(const char *path, const char *name, int rank, H5T_class_t want_class, hid_t mtype,
                      size_t elsize, const char *expect, long *dims, void **data)
{
    int arg_status = check_read_args(name, rank, dims, data != NULL);
    if (arg_status) return arg_status;
    *data = NULL;
    hid_t file;
    int status = open_read(path, "file", &file);
    if (status)
        return status;
    hid_t obj = H5I_INVALID_HID, type = H5I_INVALID_HID, space = H5I_INVALID_HID;
    char found[64], shape[160];
    int ex = path_exists(file, name);
    if (ex <= 0) {
        status = ex < 0 ? hntk_fail(HNTK_ENOMEM, "file '%s': out of memory", path)
                        : hntk_fail(HNTK_EFORMAT, "file '%s': no dataset '%s' (expected %s, rank %d)", path, name,
                                    expect, rank);
        goto done;
    }
    obj = H5Oopen(file, name, H5P_DEFAULT);
    if (obj < 0 || H5Iget_type(obj) != H5I_DATASET) {
        status = hntk_fail(HNTK_EFORMAT, "file '%s': '%s' is not a dataset (expected %s, rank %d)", path, name,
                           expect, rank);
        goto done;
    }
    type = H5Dget_type(obj);
    if (type < 0 || H5Tget_class(type) != want_class ||
        (want_class == H5T_INTEGER && H5Tget_size(type) == 8 && H5Tget_sign(type) == H5T_SGN_NONE)) {
        if (type >= 0)
            describe_type(type, found, sizeof found);
        else
            snprintf(found, sizeof found, "unknown");
        status = hntk_fail(HNTK_EFORMAT, "file '%s': dataset '%s' has type %s (expected %s)", path, name, found,
                           expect);
        goto done;
    }
    space = H5Dget_space(obj);
    hsize_t hd[H5S_MAX_RANK];
    int nd = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    if (nd < 0 || H5Sget_simple_extent_type(space) == H5S_NULL || H5Sget_simple_extent_dims(space, hd, NULL) < 0) {
        status = hntk_fail(HNTK_EFORMAT, "file '%s': dataset '%s' holds no data (expected %s)", path, name, expect);
        goto done;
    }
    fmt_shape(shape, sizeof shape, nd, hd);
    if (nd != rank) {
        status = hntk_fail(HNTK_EFORMAT, "file '%s': dataset '%s' has rank %d, shape %s (expected %s, rank %d)",
                           path, name, nd, shape, expect, rank);
        goto done;
    }
    size_t count = 1;
    for (int i = 0; i < rank; i++) {
        if (hd[i] > (hsize_t)LONG_MAX || (hd[i] > 0 && count > SIZE_MAX / elsize / hd[i])) {
            status = hntk_fail(HNTK_ENOMEM, "file '%s': dataset '%s' of shape %s is too large for memory", path,
                               name, shape);
            goto done;
        }
        count *= (size_t)hd[i];
    }
    void *buf = malloc(count > 0 ? count * elsize : 1);
    if (!buf) {
        status = hntk_fail(HNTK_ENOMEM, "file '%s': dataset '%s' of shape %s does not fit in memory", path, name,
                           shape);
        goto done;
    }
    if (count > 0 && H5Dread(obj, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        free(buf);
        status = hntk_fail(HNTK_EIO, "file '%s': cannot read dataset '%s' as %s (values out of range, or the file "
                                     "is corrupt?)",
                           path, name, expect);
        goto done;
    }
    for (int i = 0; i < rank; i++)
        dims[i] = (long)hd[i];
    *data = buf;
done:
    close_space(space);
    close_type(type);
    close_obj(obj);
    close_file(file);
    return status;
}

int hntk_h5_read_long(const char *path, const char *name, int rank, long *dims, long **data)
{
    void *buf = NULL;
    int st = read_typed(path, name, rank, H5T_INTEGER, H5T_NATIVE_LONG, sizeof(long), "int64", dims, &buf);
    if (data)
        *data = buf;
    return st;
}

int hntk_h5_read_enum(const char *path, const char *name, int rank, long *dims, int **data)
{
    if (!data)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_read_enum: data must not be NULL");
    /* The memory type is the file's enum with native int as its base, so the
     * codes come back as stored. */
    hid_t file;
    int st = open_read(path, "file", &file);
    if (st)
        return st;
    hid_t mtype = H5I_INVALID_HID;
    if (name && path_exists(file, name) > 0) {
        hid_t obj = H5Oopen(file, name, H5P_DEFAULT);
        if (obj >= 0 && H5Iget_type(obj) == H5I_DATASET) {
            hid_t t = H5Dget_type(obj);
            if (t >= 0 && H5Tget_class(t) == H5T_ENUM)
                mtype = H5Tget_native_type(t, H5T_DIR_DEFAULT);
            close_type(t);
        }
        close_obj(obj);
    }
    H5Fclose(file);
    if (mtype >= 0 && H5Tget_size(mtype) != sizeof(int)) {
        /* A native enum of another size (e.g. an int8 enum from h5py): convert
         * to an enum on int with the same names. */
        hid_t conv = H5Tenum_create(H5T_NATIVE_INT);
        int nm = H5Tget_nmembers(mtype);
        for (int k = 0; k < nm && conv >= 0; k++) {
            char *mname = H5Tget_member_name(mtype, (unsigned)k);
            long long v = 0;
            unsigned char raw[16] = {0};
            H5Tget_member_value(mtype, (unsigned)k, raw);
            hid_t base = H5Tget_super(mtype);
            H5Tconvert(base, H5T_NATIVE_LLONG, 1, raw, NULL, H5P_DEFAULT);
            memcpy(&v, raw, sizeof v);
            H5Tclose(base);
            int iv = (int)v;
            if (!mname || H5Tenum_insert(conv, mname, &iv) < 0) {
                H5Tclose(conv);
                conv = H5I_INVALID_HID;
            }
            H5free_memory(mname);
        }
        H5Tclose(mtype);
        mtype = conv;
    }
    void *buf = NULL;
    st = read_typed(path, name, rank, H5T_ENUM, mtype >= 0 ? mtype : H5T_NATIVE_INT, sizeof(int), "enum", dims,
                    &buf);
    close_type(mtype);
    *data = buf;
    return st;
}

/* A numeric attribute of any 0-D or 1-D shape, read as `mtype`. */
static int read_attr_array(const char *path, const char *obj, const char *name, H5T_class_t want_class,
                           const char *expect, hid_t mtype, size_t elsize, long *n, void **v)
{
    if (!n || !v)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_read_attr_array: n and v must not be NULL");
    *v = NULL;
    *n = 0;
    hid_t file, attr, type;
    int status = open_attr(path, obj, name, H5T_NO_CLASS, expect, &file, &attr, &type);
    if (status)
        return status;
    char found[64];
    hid_t space = H5Aget_space(attr);
    int nd = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    hssize_t np = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    if (H5Tget_class(type) != want_class) {
        describe_type(type, found, sizeof found);
        status = hntk_fail(HNTK_EFORMAT, "file '%s': attribute '%s' of '%s' has type %s (expected %s)", path, name,
                           obj, found, expect);
    } else if (nd < 0 || nd > 1 || np < 0) {
        status = hntk_fail(HNTK_EFORMAT, "file '%s': attribute '%s' of '%s' has rank %d (expected a list of %s)",
                           path, name, obj, nd, expect);
    } else {
        void *buf = malloc(np > 0 ? (size_t)np * elsize : 1);
        if (!buf)
            status = hntk_fail(HNTK_ENOMEM, "file '%s': out of memory", path);
        else if (np > 0 && H5Aread(attr, mtype, buf) < 0) {
            free(buf);
            status = hntk_fail(HNTK_EIO, "file '%s': cannot read attribute '%s' of '%s'", path, name, obj);
        } else {
            *v = buf;
            *n = (long)np;
        }
    }
    close_space(space);
    close_attr_all(file, attr, type);
    return status;
}

int hntk_h5_read_attr_long_array(const char *path, const char *obj, const char *name, long *n, long **v)
{
    void *buf = NULL;
    int st = read_attr_array(path, obj, name, H5T_INTEGER, "int64", H5T_NATIVE_LONG, sizeof(long), n, &buf);
    if (v)
        *v = buf;
    return st;
}

int hntk_h5_read_attr_double_array(const char *path, const char *obj, const char *name, long *n, double **v)
{
    void *buf = NULL;
    int st = read_attr_array(path, obj, name, H5T_FLOAT, "float64", H5T_NATIVE_DOUBLE, sizeof(double), n, &buf);
    if (v)
        *v = buf;
    return st;
}

struct scale_find {
    char *name;
    size_t cap;
    char *label;
    size_t label_cap;
};

static herr_t scale_find_cb(hid_t dset, unsigned dim, hid_t scale, void *data)
{
    (void)dset;
    (void)dim;
    struct scale_find *sf = data;
    if (H5Iget_name(scale, sf->name, sf->cap) < 0)
        return -1;
    if (sf->label && H5DSget_scale_name(scale, sf->label, sf->label_cap) < 0)
        sf->label[0] = '\0';
    return 1; /* the first scale only */
}

int hntk_h5_scale_of(const char *path, const char *dataset, int dim, char *name, size_t cap, char *label,
                     size_t label_cap)
{
    if (!name || cap == 0 || (label && label_cap == 0) || !dataset || !*dataset)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_scale_of: need a dataset name and buffers of at least 1 byte");
    name[0] = '\0';
    if (label)
        label[0] = '\0';
    hid_t file;
    int st = open_read(path, "file", &file);
    if (st)
        return st;
    hid_t obj = path_exists(file, dataset) > 0 ? H5Oopen(file, dataset, H5P_DEFAULT) : H5I_INVALID_HID;
    hid_t space = obj >= 0 && H5Iget_type(obj) == H5I_DATASET ? H5Dget_space(obj) : H5I_INVALID_HID;
    int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    if (rank < 0) {
        st = hntk_fail(HNTK_EFORMAT, "file '%s': no dataset '%s'", path, dataset);
    } else if (dim < 0 || dim >= rank) {
        st = hntk_fail(HNTK_EINVAL, "file '%s': dataset '%s' of rank %d has no axis %d", path, dataset, rank, dim);
    } else if (H5DSget_num_scales(obj, (unsigned)dim) > 0) {
        struct scale_find sf = {name, cap, label, label_cap};
        if (H5DSiterate_scales(obj, (unsigned)dim, NULL, scale_find_cb, &sf) < 0)
            st = hntk_fail(HNTK_EIO, "file '%s': cannot read the dimension scales of '%s'", path, dataset);
    }
    close_space(space);
    close_obj(obj);
    H5Fclose(file);
    return st;
}

/* "nan", "inf" or "-inf" for a message. */
static const char *nonfinite_name(double v)
{
    if (isnan(v))
        return "nan";
    return v > 0 ? "inf" : "-inf";
}

/* Name the first non-finite entry of a (rows, cols) array. */
static int check_finite(const char *path, const char *name, const double *a, long rows, long cols)
{
    for (long i = 0; i < rows; i++)
        for (long j = 0; j < cols; j++) {
            double v = a[i * cols + j];
            if (!isfinite(v))
                return hntk_fail(HNTK_EFORMAT, "inputs file '%s': dataset '%s' entry [%ld, %ld] is %s "
                                               "(all inputs must be finite)",
                                 path, name, i, j, nonfinite_name(v));
        }
    return HNTK_OK;
}

int hntk_h5_read_inputs(const char *path, long *B, long *x_dim, double **X, long *z_dim, double **Z)
{
    if (!B || !x_dim || !X || !z_dim || !Z)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_read_inputs: output pointers must not be NULL");
    *X = *Z = NULL;
    hid_t file;
    int status = open_read(path, "inputs file", &file);
    if (status)
        return status;

    long xd[2], zd[2];
    double *x = NULL, *z = NULL;
    struct rd_ctx cx = {"inputs file", path, "x", "float64, shape (B, x_dim)"};
    struct rd_ctx cz = {"inputs file", path, "z", "float64, shape (B, z_dim)"};
    status = read_dataset(file, &cx, 2, NULL, xd, &x);
    if (!status)
        status = read_dataset(file, &cz, 2, NULL, zd, &z);
    H5Fclose(file);
    if (status)
        goto fail;

    if (xd[0] < 1 || xd[1] < 1) {
        status = hntk_fail(HNTK_EFORMAT, "inputs file '%s': dataset 'x' has shape (%ld, %ld) "
                                         "(expected B >= 1 and x_dim >= 1)",
                           path, xd[0], xd[1]);
        goto fail;
    }
    if (zd[0] < 1 || zd[1] < 1) {
        status = hntk_fail(HNTK_EFORMAT, "inputs file '%s': dataset 'z' has shape (%ld, %ld) "
                                         "(expected B >= 1 and z_dim >= 1)",
                           path, zd[0], zd[1]);
        goto fail;
    }
    if (xd[0] != zd[0]) {
        status = hntk_fail(HNTK_EFORMAT, "inputs file '%s': datasets 'x' (shape (%ld, %ld)) and 'z' "
                                         "(shape (%ld, %ld)) must have the same number of rows B",
                           path, xd[0], xd[1], zd[0], zd[1]);
        goto fail;
    }
    status = check_finite(path, "x", x, xd[0], xd[1]);
    if (!status)
        status = check_finite(path, "z", z, zd[0], zd[1]);
    if (status)
        goto fail;

    *B = xd[0];
    *x_dim = xd[1];
    *z_dim = zd[1];
    *X = x;
    *Z = z;
    return HNTK_OK;
fail:
    free(x);
    free(z);
    return status;
}

/* ------------------------------------------------------------------------ */
/* Any-rank reading and whole-file comparison.                               */

int hntk_h5_read_any(const char *path, const char *name, int *rank, long *dims, double **data)
{
    if (!rank || !dims || !data || !name || !*name)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_read_any: rank, dims, data and a non-empty name are required");
    *data = NULL;
    hid_t file;
    int status = open_read(path, "file", &file);
    if (status)
        return status;
    int ex = path_exists(file, name);
    if (ex <= 0) {
        H5Fclose(file);
        return hntk_fail(HNTK_EFORMAT, "file '%s': no dataset '%s'", path, name);
    }
    int nd = -1;
    hid_t obj = H5Oopen(file, name, H5P_DEFAULT);
    if (obj >= 0 && H5Iget_type(obj) == H5I_DATASET) {
        hid_t space = H5Dget_space(obj);
        nd = H5Sget_simple_extent_ndims(space);
        close_space(space);
    }
    close_obj(obj);
    if (nd < 0 || nd > H5IO_MAX_RANK) {
        H5Fclose(file);
        return hntk_fail(HNTK_EFORMAT, "file '%s': '%s' is not a dataset of rank 0..%d", path, name,
                         H5IO_MAX_RANK);
    }
    struct rd_ctx c = {"file", path, name, "a floating-point dataset"};
    status = read_dataset(file, &c, nd, NULL, dims, data);
    H5Fclose(file);
    if (!status)
        *rank = nd;
    return status;
}

/* Comparison.  Two passes: over the first file (presence, kinds, types,
 * shapes, values, attributes, dimension scales), then over the second (what
 * exists only there).  Datasets are read whole: result files are small. */

const char *const hntk_h5_provenance_attrs[] = {"command_line", "created_utc", "git_revision", "host",
                                                "seconds",      "version",     "wall_time_seconds", NULL};

/* The references of dimension scales are file addresses; the scales are
 * compared by the names they point to instead (cmp_scales). */
static const char *const cmp_reference_attrs[] = {"DIMENSION_LIST", "REFERENCE_LIST", NULL};

struct cmp_ctx {
    hid_t other; /* the file not being visited */
    int first;   /* 1: visiting the first file (a), other is b */
    const hntk_h5_compare_opts *o;
    hntk_h5_compare_report *rep;
    size_t len, cap;
    int oom;
    /* A dataset or attribute that cannot be read (corrupt chunks, a failed
     * HDF5 call, too large to hold): the comparison is an error, never a
     * difference or a "same".  The first one is reported. */
    int failed;
    char fail_msg[768];
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void cmp_error(struct cmp_ctx *c, const char *fmt, ...)
{
    if (c->failed++)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->fail_msg, sizeof c->fail_msg, fmt, ap);
    va_end(ap);
}

/* Room for n values of el bytes, twice (both files): refused beyond half of
 * physical memory (a small file may declare a huge never-written dataset; its
 * fill values would be read whole), and on size_t overflow. */
static int cmp_fits(struct cmp_ctx *c, const char *where, hssize_t n, size_t el)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    double cap = pages > 0 && page > 0 ? (double)pages * (double)page / 2 : 8.0 * 1073741824.0;
    double need = 2.0 * (double)n * (double)el;
    if (n < 0 || need > cap || (double)n * (double)el >= (double)SIZE_MAX / 4) {
        cmp_error(c, "%s: %lld values of %zu bytes (%.3g GiB for both files) are more than compare holds in memory "
                  "(accepted up to %.3g GiB, half of physical memory)", where, (long long)n, el, need / 1073741824.0,
                  cap / 1073741824.0);
        return 0;
    }
    return 1;
}

static int in_list(const char *const *list, const char *name)
{
    for (const char *const *p = list; p && *p; p++)
        if (!strcmp(*p, name))
            return 1;
    return 0;
}

/* Append one line to the report and count it. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void cmp_line(struct cmp_ctx *c, int structural, const char *fmt, ...)
{
    hntk_h5_compare_report *r = c->rep;
    r->differences++;
    if (structural)
        r->structural++;
    else
        r->values++;
    if (c->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = r->text ? vsnprintf(r->text + c->len, c->cap - c->len, fmt, ap) : -1;
        va_end(ap);
        if (n >= 0 && (size_t)n + 1 < c->cap - c->len) {
            c->len += (size_t)n;
            r->text[c->len++] = '\n';
            r->text[c->len] = '\0';
            return;
        }
        size_t cap = 2 * c->cap + (n > 0 ? (size_t)n : 0) + 256;
        char *t = realloc(r->text, cap);
        if (!t) {
            c->oom = 1;
            return;
        }
        if (!r->text)
            t[0] = '\0';
        r->text = t;
        c->cap = cap;
    }
}

/* Is the object at display path `name` ("/g/d") ignored with everything below? */
static int cmp_object_ignored(const struct cmp_ctx *c, const char *name)
{
    for (const char *const *p = c->o->ignore; p && *p; p++) {
        size_t n = strlen(*p);
        while (n > 1 && (*p)[n - 1] == '/')
            n--;
        if ((*p)[0] == '/' && !strncmp(name, *p, n) && (name[n] == '\0' || name[n] == '/' || n == 1))
            return 1;
    }
    return 0;
}

static int cmp_attr_ignored(const struct cmp_ctx *c, const char *obj, const char *attr)
{
    if (in_list(cmp_reference_attrs, attr))
        return 1;
    if (!c->o->strict && !strcmp(obj, "/") && in_list(hntk_h5_provenance_attrs, attr))
        return 1;
    for (const char *const *p = c->o->ignore; p && *p; p++)
        if ((*p)[0] != '/' && !strcmp(*p, attr))
            return 1;
    return 0;
}

/* "[1, 2]" for flat index i of an array of shape dims. */
static void fmt_index(char *buf, size_t cap, int rank, const hsize_t *dims, hsize_t i)
{
    hsize_t idx[H5S_MAX_RANK];
    for (int k = rank - 1; k >= 0; k--) {
        idx[k] = dims[k] ? i % dims[k] : 0;
        i = dims[k] ? i / dims[k] : 0;
    }
    size_t used = 0;
    int n = snprintf(buf, cap, " at [");
    used = n > 0 ? (size_t)n : 0;
    for (int k = 0; k < rank && used < cap; k++) {
        n = snprintf(buf + used, cap - used, "%s%llu", k ? ", " : "", (unsigned long long)idx[k]);
        used += n > 0 ? (size_t)n : 0;
    }
    if (used < cap)
        snprintf(buf + used, cap - used, "]");
    if (rank == 0)
        buf[0] = '\0';
}

/* Read all values of a dataset or attribute as memory type mt into buf. */
static herr_t cmp_read(hid_t obj, int is_attr, hid_t mt, void *buf)
{
    return is_attr ? H5Aread(obj, mt, buf) : H5Dread(obj, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
}

/* Exact comparison of any type, in its own native memory type.  Strings are
 * compared as text (variable-length ones are pointers), variable-length
 * sequences by their contents. */
static int cmp_exact(struct cmp_ctx *c, const char *where, hid_t a, hid_t b, int is_attr, hid_t ta, hssize_t n)
{
    int same = 1;
    if (n <= 0)
        return 1;
    if (H5Tis_variable_str(ta) > 0) {
        if (!cmp_fits(c, where, n, sizeof(char *)))
            return -1;
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(ta)); /* HDF5 will not convert UTF-8 to ASCII */
        char **va = calloc((size_t)n + 1, sizeof(char *)), **vb = calloc((size_t)n + 1, sizeof(char *));
        if (!va || !vb) {
            cmp_error(c, "%s: out of memory for %lld strings", where, (long long)n);
            same = -1;
        } else if (cmp_read(a, is_attr, mt, va) < 0 || cmp_read(b, is_attr, mt, vb) < 0) {
            cmp_error(c, "%s: its strings cannot be read (corrupt file?)", where);
            same = -1;
        }
        for (hssize_t i = 0; i < n && same == 1; i++)
            same = (!va[i] && !vb[i]) || (va[i] && vb[i] && !strcmp(va[i], vb[i]));
        hid_t sa = is_attr ? H5Aget_space(a) : H5Dget_space(a);
        if (va)
            H5Dvlen_reclaim(mt, sa, H5P_DEFAULT, va);
        if (vb)
            H5Dvlen_reclaim(mt, sa, H5P_DEFAULT, vb);
        H5Sclose(sa);
        free(va);
        free(vb);
        H5Tclose(mt);
        return same;
    }
    hid_t mt = H5Tget_native_type(ta, H5T_DIR_DEFAULT);
    size_t size = mt >= 0 ? H5Tget_size(mt) : 0;
    if (mt < 0 || size == 0) {
        cmp_error(c, "%s: HDF5 cannot describe its type in memory", where);
        close_type(mt);
        return -1;
    }
    if (!cmp_fits(c, where, n, size)) {
        H5Tclose(mt);
        return -1;
    }
    size_t bytes = (size_t)n * size;
    unsigned char *ba = calloc(bytes + 1, 1), *bb = calloc(bytes + 1, 1);
    int read_a = -1, read_b = -1;
    if (!ba || !bb) {
        cmp_error(c, "%s: out of memory for %zu bytes", where, bytes);
        same = -1;
    } else if ((read_a = cmp_read(a, is_attr, mt, ba)) < 0 || (read_b = cmp_read(b, is_attr, mt, bb)) < 0) {
        cmp_error(c, "%s: its values cannot be read from the %s file (corrupt?)", where,
                  read_a < 0 ? "first" : "second");
        same = -1;
    } else if (H5Tget_class(mt) == H5T_VLEN) {
        hid_t base = H5Tget_super(mt);
        size_t bsize = H5Tget_size(base);
        for (hssize_t i = 0; i < n && same == 1; i++) {
            const hvl_t *x = (const hvl_t *)(ba + (size_t)i * size), *y = (const hvl_t *)(bb + (size_t)i * size);
            same = x->len == y->len && (x->len == 0 || !memcmp(x->p, y->p, x->len * bsize));
        }
        H5Tclose(base);
        hid_t sa = is_attr ? H5Aget_space(a) : H5Dget_space(a);
        H5Dvlen_reclaim(mt, sa, H5P_DEFAULT, ba);
        H5Dvlen_reclaim(mt, sa, H5P_DEFAULT, bb);
        H5Sclose(sa);
    } else {
        same = !memcmp(ba, bb, bytes);
    }
    free(ba);
    free(bb);
    H5Tclose(mt);
    return same;
}

/* Numeric comparison (float and integer types) under the tolerances; reports
 * a differing object with its largest differences. */
static void cmp_numeric(struct cmp_ctx *c, const char *where, hid_t a, hid_t b, int is_attr, hid_t ta, int rank,
                        const hsize_t *dims, hssize_t n)
{
    if (n <= 0)
        return;
    int is_float = H5Tget_class(ta) == H5T_FLOAT;
    double rtol = c->o->rtol, atol = c->o->atol;
    int bitwise = rtol == 0 && atol == 0;
    size_t el = is_float ? sizeof(double) : sizeof(long long);
    if (!cmp_fits(c, where, n, el))
        return;
    void *va = malloc((size_t)n * el), *vb = malloc((size_t)n * el);
    hid_t mt = is_float ? H5T_NATIVE_DOUBLE : H5T_NATIVE_LLONG;
    if (!va || !vb) {
        free(va);
        free(vb);
        cmp_error(c, "%s: out of memory for 2 x %lld values", where, (long long)n);
        return;
    }
    herr_t ra = cmp_read(a, is_attr, mt, va), rb = ra < 0 ? -1 : cmp_read(b, is_attr, mt, vb);
    if (ra < 0 || rb < 0) {
        free(va);
        free(vb);
        cmp_error(c, "%s: its values cannot be read from the %s file (corrupt chunks, or a filter that fails?)",
                  where, ra < 0 ? "first" : "second");
        return;
    }
    long ndiff = 0;
    double max_abs = 0, max_rel = 0;
    hsize_t i_abs = 0, i_rel = 0;
    for (hssize_t i = 0; i < n; i++) {
        double x, y, d;
        int same;
        if (is_float) {
            x = ((const double *)va)[i];
            y = ((const double *)vb)[i];
            if (isnan(x) || isnan(y)) {
                same = isnan(x) && isnan(y);
                d = same ? 0 : INFINITY;
            } else if (x == y) {
                d = 0;
                same = !bitwise || !memcmp(&x, &y, sizeof x); /* 0.0 and -0.0 */
            } else {
                d = fabs(x - y);
                same = !bitwise && isfinite(x) && isfinite(y) && d <= atol + rtol * fabs(y);
            }
        } else {
            long long p = ((const long long *)va)[i], q = ((const long long *)vb)[i];
            x = (double)p;
            y = (double)q;
            d = p == q ? 0 : fabs(x - y);
            same = p == q || (!bitwise && d <= atol + rtol * fabs(y));
        }
        double r = d == 0 ? 0 : (y != 0 && !isinf(d) ? d / fabs(y) : INFINITY);
        ndiff += !same;
        if (d > max_abs) {
            max_abs = d;
            i_abs = (hsize_t)i;
        }
        if (r > max_rel) {
            max_rel = r;
            i_rel = (hsize_t)i;
        }
    }
    if (max_abs > c->rep->max_abs)
        c->rep->max_abs = max_abs;
    if (max_rel > c->rep->max_rel)
        c->rep->max_rel = max_rel;
    if (ndiff) {
        char at_abs[160], at_rel[160], va_s[64], vb_s[64];
        fmt_index(at_abs, sizeof at_abs, rank, dims, i_abs);
        fmt_index(at_rel, sizeof at_rel, rank, dims, i_rel);
        if (is_float) {
            snprintf(va_s, sizeof va_s, "%.17g", ((const double *)va)[i_abs]);
            snprintf(vb_s, sizeof vb_s, "%.17g", ((const double *)vb)[i_abs]);
        } else {
            snprintf(va_s, sizeof va_s, "%lld", ((const long long *)va)[i_abs]);
            snprintf(vb_s, sizeof vb_s, "%lld", ((const long long *)vb)[i_abs]);
        }
        cmp_line(c, 0, "%s: %ld of %lld values differ; max |a-b| %.3g%s (a %s, b %s); max |a-b|/|b| %.3g%s", where,
                 ndiff, (long long)n, max_abs, at_abs, va_s, vb_s, max_rel, at_rel);
    }
    free(va);
    free(vb);
}

/* The single string of a scalar string dataset or attribute, shortened to
 * cap-1 bytes ("..." marks a cut); 0 if it cannot be read. */
static int one_string(hid_t obj, int is_attr, hid_t type, char *buf, size_t cap)
{
    int ok = 0;
    hid_t mt = H5Tcopy(type);
    if (H5Tis_variable_str(type) > 0) {
        char *s = NULL;
        if (cmp_read(obj, is_attr, mt, &s) >= 0 && s) {
            snprintf(buf, cap, "%s", s);
            ok = 1;
        }
        H5free_memory(s);
    } else {
        size_t size = H5Tget_size(type);
        char *s = calloc(size + 1, 1);
        if (s && cmp_read(obj, is_attr, mt, s) >= 0) {
            snprintf(buf, cap, "%s", s);
            ok = 1;
        }
        free(s);
    }
    close_type(mt);
    if (ok && strlen(buf) == cap - 1 && cap > 4)
        memcpy(buf + cap - 4, "...", 4);
    return ok;
}

/* Types, shapes, then values of two datasets or attributes. */
static void cmp_objects(struct cmp_ctx *c, const char *where, hid_t a, hid_t b, int is_attr)
{
    hid_t ta = is_attr ? H5Aget_type(a) : H5Dget_type(a), tb = is_attr ? H5Aget_type(b) : H5Dget_type(b);
    hid_t sa = is_attr ? H5Aget_space(a) : H5Dget_space(a), sb = is_attr ? H5Aget_space(b) : H5Dget_space(b);
    c->rep->compared++;
    hsize_t da[H5S_MAX_RANK], db[H5S_MAX_RANK];
    int ra = sa >= 0 ? H5Sget_simple_extent_ndims(sa) : -1, rb = sb >= 0 ? H5Sget_simple_extent_ndims(sb) : -1;
    if (ta < 0 || tb < 0 || ra < 0 || rb < 0 || H5Sget_simple_extent_dims(sa, da, NULL) < 0 ||
        H5Sget_simple_extent_dims(sb, db, NULL) < 0) {
        cmp_error(c, "%s: HDF5 cannot read its type or shape (corrupt file?)", where);
        close_space(sa);
        close_space(sb);
        close_type(ta);
        close_type(tb);
        return;
    }
    char na[64], nb[64];
    describe_type(ta, na, sizeof na);
    describe_type(tb, nb, sizeof nb);
    if (H5Tequal(ta, tb) <= 0) {
        if (!strcmp(na, nb))
            cmp_line(c, 1, "%s: dtype %s in both, but with different %s", where, na,
                     H5Tget_class(ta) == H5T_ENUM ? "names or values" : "layouts");
        else
            cmp_line(c, 1, "%s: dtype %s vs %s", where, na, nb);
    } else if (H5Sextent_equal(sa, sb) <= 0) {
        char pa[160], pb[160];
        fmt_shape(pa, sizeof pa, ra, da);
        fmt_shape(pb, sizeof pb, rb, db);
        cmp_line(c, 1, "%s: shape %s vs %s", where, pa, pb);
    } else {
        hssize_t n = H5Sget_simple_extent_type(sa) == H5S_NULL ? 0 : H5Sget_simple_extent_npoints(sa);
        H5T_class_t k = H5Tget_class(ta);
        if (k == H5T_FLOAT || k == H5T_INTEGER)
            cmp_numeric(c, where, a, b, is_attr, ta, ra, da, n);
        else if (cmp_exact(c, where, a, b, is_attr, ta, n) == 0) {
            char xa[64], xb[64];
            if (n == 1 && k == H5T_STRING && one_string(a, is_attr, ta, xa, sizeof xa) &&
                one_string(b, is_attr, tb, xb, sizeof xb))
                cmp_line(c, 0, "%s: '%s' vs '%s'", where, xa, xb);
            else
                cmp_line(c, 0, "%s: %s values differ", where, na);
        }
    }
    H5Sclose(sa);
    H5Sclose(sb);
    H5Tclose(ta);
    H5Tclose(tb);
}

struct cmp_attr_ctx {
    struct cmp_ctx *c;
    hid_t other_obj;
    const char *obj_name;
};

static herr_t cmp_attr_cb(hid_t obj, const char *attr, const H5A_info_t *info, void *data)
{
    (void)info;
    struct cmp_attr_ctx *ac = data;
    if (cmp_attr_ignored(ac->c, ac->obj_name, attr))
        return 0;
    char where[1024];
    snprintf(where, sizeof where, "%s@%s", ac->obj_name, attr);
    if (H5Aexists(ac->other_obj, attr) <= 0) {
        cmp_line(ac->c, 1, "%s: only in the %s file", where, ac->c->first ? "first" : "second");
        return 0;
    }
    if (!ac->c->first)
        return 0;
    hid_t a = H5Aopen(obj, attr, H5P_DEFAULT), b = H5Aopen(ac->other_obj, attr, H5P_DEFAULT);
    if (a < 0 || b < 0)
        cmp_error(ac->c, "%s: HDF5 cannot open it in the %s file (corrupt?)", where, a < 0 ? "first" : "second");
    else
        cmp_objects(ac->c, where, a, b, 1);
    close_attr(a);
    close_attr(b);
    return 0;
}

/* The dimension scales attached to one axis, as "name, name" (or "none"). */
struct scale_names {
    char buf[1024];
    size_t len;
};

static herr_t scale_names_cb(hid_t dset, unsigned dim, hid_t scale, void *data)
{
    (void)dset;
    (void)dim;
    struct scale_names *s = data;
    char name[512] = "?";
    H5Iget_name(scale, name, sizeof name);
    int n = snprintf(s->buf + s->len, sizeof s->buf - s->len, "%s%s", s->len ? ", " : "", name);
    if (n > 0)
        s->len = s->len + (size_t)n < sizeof s->buf ? s->len + (size_t)n : sizeof s->buf - 1;
    return 0;
}

static void axis_scales(hid_t dset, unsigned dim, struct scale_names *s)
{
    s->len = 0;
    s->buf[0] = '\0';
    if (H5Aexists(dset, "DIMENSION_LIST") > 0 && H5DSget_num_scales(dset, dim) > 0)
        H5DSiterate_scales(dset, dim, NULL, scale_names_cb, s);
    if (!s->len)
        snprintf(s->buf, sizeof s->buf, "none");
}

/* Per axis: the attached scales (by name) and the label. */
static void cmp_scales(struct cmp_ctx *c, const char *where, hid_t a, hid_t b)
{
    hid_t sa = H5Dget_space(a), sb = H5Dget_space(b);
    int ra = H5Sget_simple_extent_ndims(sa), rb = H5Sget_simple_extent_ndims(sb);
    H5Sclose(sa);
    H5Sclose(sb);
    if (ra != rb || ra <= 0)
        return;
    if (H5Aexists(a, "DIMENSION_LIST") <= 0 && H5Aexists(b, "DIMENSION_LIST") <= 0)
        return;
    for (int d = 0; d < ra; d++) {
        struct scale_names na, nb;
        axis_scales(a, (unsigned)d, &na);
        axis_scales(b, (unsigned)d, &nb);
        if (strcmp(na.buf, nb.buf))
            cmp_line(c, 1, "%s: axis %d: dimension scales %s vs %s", where, d, na.buf, nb.buf);
        char la[256] = "", lb[256] = "";
        H5DSget_label(a, (unsigned)d, la, sizeof la);
        H5DSget_label(b, (unsigned)d, lb, sizeof lb);
        if (strcmp(la, lb))
            cmp_line(c, 1, "%s: axis %d: label '%s' vs '%s'", where, d, la, lb);
    }
}

static herr_t cmp_visit(hid_t root, const char *rel, const H5O_info_t *info, void *data)
{
    struct cmp_ctx *c = data;
    char name[1024];
    snprintf(name, sizeof name, "%s%s", rel[0] == '/' ? "" : "/", strcmp(rel, ".") ? rel : "");
    if (cmp_object_ignored(c, name))
        return 0;
    /* Below a group missing from the other file: reported with the group. */
    const char *slash = strrchr(name, '/');
    if (slash && slash != name) {
        char parent[1024];
        snprintf(parent, sizeof parent, "%.*s", (int)(slash - name), name);
        if (path_exists(c->other, parent) <= 0)
            return 0;
    }
    int ex = strcmp(rel, ".") ? path_exists(c->other, rel) : 1;
    if (ex <= 0) {
        cmp_line(c, 1, "%s: only in the %s file", name, c->first ? "first" : "second");
        return 0;
    }
    hid_t obj = H5Oopen(root, rel, H5P_DEFAULT), other = H5Oopen(c->other, rel, H5P_DEFAULT);
    H5I_type_t ka = H5Iget_type(obj), kb = H5Iget_type(other);
    if (obj < 0 || other < 0) {
        cmp_error(c, "%s: HDF5 cannot open it in the %s file (corrupt?)", name,
                  (obj < 0) == c->first ? "first" : "second");
    } else if (ka != kb) {
        if (c->first)
            cmp_line(c, 1, "%s: a %s in the first file, a %s in the second", name,
                     ka == H5I_GROUP ? "group" : ka == H5I_DATASET ? "dataset" : "named datatype",
                     kb == H5I_GROUP ? "group" : kb == H5I_DATASET ? "dataset" : "named datatype");
    } else {
        if (c->first && info->type == H5O_TYPE_DATASET) {
            cmp_objects(c, name, obj, other, 0);
            cmp_scales(c, name, obj, other);
        }
        struct cmp_attr_ctx ac = {c, other, name};
        hsize_t idx = 0;
        if (H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, cmp_attr_cb, &ac) < 0)
            cmp_error(c, "%s: HDF5 cannot list its attributes (corrupt?)", name);
    }
    close_obj(obj);
    close_obj(other);
    return 0;
}

void hntk_h5_compare_report_free(hntk_h5_compare_report *rep)
{
    if (!rep)
        return;
    free(rep->text);
    rep->text = NULL;
}

int hntk_h5_compare_tol(const char *path_a, const char *path_b, const hntk_h5_compare_opts *opts,
                        hntk_h5_compare_report *rep)
{
    if (!rep)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_compare_tol: rep must not be NULL");
    memset(rep, 0, sizeof *rep);
    static const hntk_h5_compare_opts defaults = {0, 0, 0, NULL};
    if (!opts)
        opts = &defaults;
    if (!(opts->rtol >= 0) || !(opts->atol >= 0) || isinf(opts->rtol) || isinf(opts->atol))
        return hntk_fail(HNTK_EINVAL, "hntk_h5_compare_tol: rtol = %g and atol = %g must be finite and >= 0",
                         opts->rtol, opts->atol);
    hid_t fa, fb;
    int status = open_read(path_a, "file", &fa);
    if (status)
        return status;
    status = open_read(path_b, "file", &fb);
    if (status) {
        H5Fclose(fa);
        return status;
    }
    struct cmp_ctx c = {.other = fb, .first = 1, .o = opts, .rep = rep};
    herr_t va = H5Ovisit(fa, H5_INDEX_NAME, H5_ITER_INC, cmp_visit, &c);
    c.other = fa;
    c.first = 0;
    herr_t vb = H5Ovisit(fb, H5_INDEX_NAME, H5_ITER_INC, cmp_visit, &c);
    H5Fclose(fa);
    H5Fclose(fb);
    if (c.failed) {
        hntk_h5_compare_report_free(rep);
        return hntk_fail(HNTK_EIO, "comparing '%s' and '%s': %s%s", path_a, path_b, c.fail_msg,
                         c.failed > 1 ? " (and more objects that cannot be read)" : "");
    }
    if (c.oom) {
        hntk_h5_compare_report_free(rep);
        return hntk_fail(HNTK_ENOMEM, "comparing '%s' and '%s': out of memory", path_a, path_b);
    }
    if (va < 0 || vb < 0) {
        hntk_h5_compare_report_free(rep);
        return hntk_fail(HNTK_EIO, "comparing '%s' and '%s': cannot walk the files (corrupt?)", path_a, path_b);
    }
    return HNTK_OK;
}

int hntk_h5_compare(const char *path_a, const char *path_b, const char *const *ignore_attrs, long *differences,
                    char *report, size_t cap)
{
    if (!differences)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_compare: differences must not be NULL");
    if (report && cap)
        report[0] = '\0';
    hntk_h5_compare_opts o = {.rtol = 0, .atol = 0, .strict = 1, .ignore = ignore_attrs};
    hntk_h5_compare_report rep;
    int status = hntk_h5_compare_tol(path_a, path_b, &o, &rep);
    if (status)
        return status;
    *differences = rep.differences;
    /* The first 20 lines, whole lines only. */
    if (report && cap && rep.text) {
        size_t used = 0;
        int lines = 0;
        for (const char *p = rep.text; *p && lines < 20;) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
            if (used + n + 1 > cap)
                break;
            memcpy(report + used, p, n);
            used += n;
            report[used] = '\0';
            p += n;
            lines++;
        }
    }
    hntk_h5_compare_report_free(&rep);
    return HNTK_OK;
}
