/* h5io.c: the only module that touches HDF5.
 *
 * Writing.  A result file is built in "<path>.tmp.<pid>" and renamed over
 * <path> only at hntk_h5_commit, so a reader never sees a half-written result
 * and an existing result stays intact until the new one is complete.  Every
 * open temporary is recorded in a small static registry so that the optional
 * SIGINT/SIGTERM handler can delete it before the process dies.
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

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define H5IO_MAX_RANK 4
/* At most this many writers may be open at once (each needs a registry slot). */
#define H5IO_MAX_WRITERS 8
/* Room for a temporary path in the registry: the handler may not allocate. */
#define H5IO_TMP_MAX 4096

struct hntk_h5 {
    hid_t file;
    int slot;   /* registry slot of the temporary */
    char *path; /* final path */
    char *tmp;  /* "<path>.tmp.<pid>" */
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
    static const int sigs[] = {SIGINT, SIGTERM};
    for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) {
        struct sigaction old, sa;
        /* A signal ignored at start-up (a background job under nohup, say)
         * must stay ignored: taking it over would make the job killable. */
        if (sigaction(sigs[k], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = cleanup_handler;
        sigemptyset(&sa.sa_mask);
        /* Block the other signal too, so cleanup is not interrupted half-way. */
        sigaddset(&sa.sa_mask, SIGINT);
        sigaddset(&sa.sa_mask, SIGTERM);
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
    free(f->path);
    free(f->tmp);
    free(f);
}

int hntk_h5_create(const char *path, hntk_h5 **out)
{
    if (!out)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_create: out must not be NULL");
    *out = NULL;
    if (!path || !*path)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_create: the result path must be a non-empty string");
    h5_quiet();

    char tmp[H5IO_TMP_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp)
        return hntk_fail(HNTK_EINVAL, "result file '%s': path too long (the temporary name needs < %d bytes)",
                         path, H5IO_TMP_MAX);

    hntk_h5 *f = calloc(1, sizeof *f);
    if (f) {
        f->path = strdup(path);
        f->tmp = strdup(tmp);
    }
    if (!f || !f->path || !f->tmp) {
        writer_free(f);
        return hntk_fail(HNTK_ENOMEM, "result file '%s': out of memory", path);
    }
    f->file = H5I_INVALID_HID;

    /* Register before the file exists, so there is no moment when a signal
     * could leave an unregistered temporary behind. */
    f->slot = registry_add(tmp);
    if (f->slot < 0) {
        writer_free(f);
        return hntk_fail(HNTK_EINVAL,
                         "result file '%s': too many result files open at once (at most %d)", path,
                         H5IO_MAX_WRITERS);
    }

    /* HDF5 does not report errno; creating the file ourselves first gives the
     * user "Permission denied" or "No such file or directory". */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0) {
        int err = errno;
        registry_remove(f->slot);
        hntk_fail(HNTK_EIO, "result file '%s': cannot create the temporary '%s': %s", path, tmp,
                  strerror(err));
        writer_free(f);
        return HNTK_EIO;
    }
    close(fd);

    /* CLOSE_STRONG: H5Fclose really closes the file (even if an object were
     * left open), so the rename at commit moves a complete file. */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0)
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
    f->file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl >= 0 ? fapl : H5P_DEFAULT);
    close_plist(fapl);
    if (f->file < 0) {
        unlink(tmp);
        registry_remove(f->slot);
        hntk_fail(HNTK_EIO, "result file '%s': HDF5 cannot create the temporary '%s'", path, tmp);
        writer_free(f);
        return HNTK_EIO;
    }
    *out = f;
    return HNTK_OK;
}

int hntk_h5_write(hntk_h5 *f, const char *name, int rank, const long *dims, const double *data)
{
    if (!f || f->file < 0)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_write: no open result file");
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
    dset = H5Dcreate2(f->file, name, H5T_IEEE_F64LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    if (dset < 0) {
        status = hntk_fail(HNTK_EIO,
                           "result file '%s': cannot create dataset '%s' (is a parent a dataset?)",
                           f->path, name);
        goto done;
    }
    /* H5Dwrite rejects a NULL buffer even for zero elements. */
    if (!empty && H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        status = hntk_fail(HNTK_EIO, "result file '%s': cannot write dataset '%s' (disk full?)", f->path,
                           name);
done:
    if (dset >= 0)
        H5Dclose(dset);
    close_plist(lcpl);
    close_space(space);
    return status;
}

int hntk_h5_write_scalar(hntk_h5 *f, const char *name, double value)
{
    return hntk_h5_write(f, name, 0, NULL, &value);
}

/* Write one scalar attribute, creating `obj` as a group when it is missing
 * and replacing an attribute of the same name. */
static int write_attr(hntk_h5 *f, const char *obj, const char *name, hid_t ftype, hid_t mtype,
                      const void *buf)
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
    space = H5Screate(H5S_SCALAR);
    attr = space >= 0 ? H5Acreate2(o, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT) : H5I_INVALID_HID;
    if (attr < 0 || H5Awrite(attr, mtype, buf) < 0)
        status = hntk_fail(HNTK_EIO, "result file '%s': cannot write attribute '%s' of '%s'", f->path,
                           name, obj);
done:
    close_attr(attr);
    close_space(space);
    close_obj(o);
    return status;
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

int hntk_h5_commit(hntk_h5 *f)
{
    if (!f)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_commit: no open result file");
    h5_quiet();
    int status = HNTK_OK;
    /* Flush separately: a full disk shows up here, with a clear message. */
    herr_t flushed = H5Fflush(f->file, H5F_SCOPE_GLOBAL);
    herr_t closed = H5Fclose(f->file);
    f->file = H5I_INVALID_HID;
    if (flushed < 0 || closed < 0) {
        status = hntk_fail(HNTK_EIO, "result file '%s': cannot finish writing the temporary '%s' (disk full?)",
                           f->path, f->tmp);
        unlink(f->tmp);
    } else if (rename(f->tmp, f->path) != 0) {
        int err = errno;
        status = hntk_fail(HNTK_EIO, "result file '%s': cannot rename the temporary '%s' into place: %s",
                           f->path, f->tmp, strerror(err));
        unlink(f->tmp);
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

int hntk_h5_read_shaped(const char *path, const char *name, int rank, const long *want, long *dims,
                        double **data)
{
    if (!data)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_read: data must not be NULL");
    *data = NULL;
    if (!name || !*name)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_read: dataset name must be non-empty");
    if (rank < 0 || rank > H5IO_MAX_RANK)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_read: dataset '%s': rank %d (accepted 0..%d)", name, rank,
                         H5IO_MAX_RANK);
    if (rank > 0 && !dims)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_read: dataset '%s' of rank %d needs dims", name, rank);

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
 * value of class `want_class` (H5T_NO_CLASS: any).  On success the caller
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
    if (H5Sget_simple_extent_type(space) == H5S_NULL || npoints != 1) {
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

/* State of one comparison: the other file, what to ignore, and the report. */
struct cmp_ctx {
    hid_t other;
    const char *const *ignore;
    long differences;
    char *report;
    size_t cap, used;
    int status;
};

static void cmp_note(struct cmp_ctx *c, const char *fmt, const char *name, const char *detail)
{
    c->differences++;
    if (!c->report || c->used + 1 >= c->cap || c->differences > 20)
        return;
    int n = snprintf(c->report + c->used, c->cap - c->used, fmt, name, detail);
    if (n > 0)
        c->used += (size_t)n < c->cap - c->used ? (size_t)n : c->cap - c->used - 1;
}

static int cmp_ignored(const struct cmp_ctx *c, const char *attr)
{
    for (const char *const *p = c->ignore; p && *p; p++)
        if (!strcmp(*p, attr))
            return 1;
    return 0;
}

/* Raw bytes of a dataset or attribute (`is_attr`), in its own memory type.
 * Variable-length strings are compared as text (their bytes are pointers). */
static int cmp_values(hid_t a, hid_t b, int is_attr)
{
    hid_t ta = is_attr ? H5Aget_type(a) : H5Dget_type(a), tb = is_attr ? H5Aget_type(b) : H5Dget_type(b);
    hid_t sa = is_attr ? H5Aget_space(a) : H5Dget_space(a), sb = is_attr ? H5Aget_space(b) : H5Dget_space(b);
    int same = H5Tequal(ta, tb) > 0 && H5Sextent_equal(sa, sb) > 0;
    if (same) {
        hssize_t n = H5Sget_simple_extent_npoints(sa);
        if (H5Tis_variable_str(ta) > 0) {
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, H5T_VARIABLE);
            H5Tset_cset(mt, H5Tget_cset(ta)); /* HDF5 will not convert UTF-8 to ASCII */
            char **va = calloc((size_t)n + 1, sizeof(char *)), **vb = calloc((size_t)n + 1, sizeof(char *));
            if (is_attr) {
                H5Aread(a, mt, va);
                H5Aread(b, mt, vb);
            } else {
                H5Dread(a, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, va);
                H5Dread(b, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, vb);
            }
            for (hssize_t i = 0; i < n && same; i++)
                same = va[i] && vb[i] && !strcmp(va[i], vb[i]);
            H5Dvlen_reclaim(mt, sa, H5P_DEFAULT, va);
            H5Dvlen_reclaim(mt, sb, H5P_DEFAULT, vb);
            free(va);
            free(vb);
            H5Tclose(mt);
        } else {
            hid_t mt = H5Tget_native_type(ta, H5T_DIR_DEFAULT);
            size_t bytes = (size_t)n * H5Tget_size(mt);
            unsigned char *ba = malloc(bytes + 1), *bb = malloc(bytes + 1);
            if (is_attr) {
                H5Aread(a, mt, ba);
                H5Aread(b, mt, bb);
            } else if (n > 0) {
                H5Dread(a, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, ba);
                H5Dread(b, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, bb);
            }
            same = !memcmp(ba, bb, bytes);
            free(ba);
            free(bb);
            H5Tclose(mt);
        }
    }
    H5Sclose(sa);
    H5Sclose(sb);
    H5Tclose(ta);
    H5Tclose(tb);
    return same;
}

struct cmp_attr_ctx {
    struct cmp_ctx *c;
    hid_t other_obj;
    const char *obj_name;
    int check_values; /* 0: only check presence (second pass, from the other file) */
};

static herr_t cmp_attr_cb(hid_t obj, const char *attr, const H5A_info_t *info, void *data)
{
    (void)info;
    struct cmp_attr_ctx *ac = data;
    if (cmp_ignored(ac->c, attr))
        return 0;
    char where[1024];
    snprintf(where, sizeof where, "%s@%s", ac->obj_name, attr);
    if (H5Aexists(ac->other_obj, attr) <= 0) {
        cmp_note(ac->c, "%s: %s\n", where, ac->check_values ? "only in the first file" : "only in the second file");
        return 0;
    }
    if (!ac->check_values)
        return 0;
    hid_t a = H5Aopen(obj, attr, H5P_DEFAULT), b = H5Aopen(ac->other_obj, attr, H5P_DEFAULT);
    if (!cmp_values(a, b, 1))
        cmp_note(ac->c, "%s: %s\n", where, "values differ");
    H5Aclose(a);
    H5Aclose(b);
    return 0;
}

static void cmp_attrs(struct cmp_ctx *c, hid_t obj, hid_t other_obj, const char *name, int check_values)
{
    struct cmp_attr_ctx ac = {c, other_obj, strcmp(name, ".") ? name : "/", check_values};
    hsize_t idx = 0;
    H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, cmp_attr_cb, &ac);
}

/* H5Ovisit callback over the first file (check_values) or the second (presence only). */
static herr_t cmp_visit(hid_t root, const char *name, const H5O_info_t *info, void *data, int check_values)
{
    struct cmp_ctx *c = data;
    int ex = strcmp(name, ".") ? path_exists(c->other, name) : 1;
    if (ex <= 0) {
        cmp_note(c, "%s: %s\n", name, check_values ? "only in the first file" : "only in the second file");
        return 0;
    }
    hid_t obj = H5Oopen(root, name, H5P_DEFAULT), other = H5Oopen(c->other, name, H5P_DEFAULT);
    if (H5Iget_type(obj) != H5Iget_type(other)) {
        cmp_note(c, "%s: %s\n", name, "a group in one file, a dataset in the other");
    } else {
        if (check_values && info->type == H5O_TYPE_DATASET && !cmp_values(obj, other, 0))
            cmp_note(c, "%s: %s\n", name, "type, shape or values differ");
        cmp_attrs(c, obj, other, name, check_values);
    }
    H5Oclose(obj);
    H5Oclose(other);
    return 0;
}

static herr_t cmp_visit_first(hid_t root, const char *name, const H5O_info_t *info, void *data)
{
    return cmp_visit(root, name, info, data, 1);
}

static herr_t cmp_visit_second(hid_t root, const char *name, const H5O_info_t *info, void *data)
{
    return cmp_visit(root, name, info, data, 0);
}

int hntk_h5_compare(const char *path_a, const char *path_b, const char *const *ignore_attrs, long *differences,
                    char *report, size_t cap)
{
    if (!differences)
        return hntk_fail(HNTK_EINVAL, "hntk_h5_compare: differences must not be NULL");
    if (report && cap)
        report[0] = '\0';
    hid_t fa, fb;
    int status = open_read(path_a, "file", &fa);
    if (status)
        return status;
    status = open_read(path_b, "file", &fb);
    if (status) {
        H5Fclose(fa);
        return status;
    }
    struct cmp_ctx c = {.other = fb, .ignore = ignore_attrs, .report = report, .cap = cap};
    H5Ovisit(fa, H5_INDEX_NAME, H5_ITER_INC, cmp_visit_first, &c);
    c.other = fa;
    H5Ovisit(fb, H5_INDEX_NAME, H5_ITER_INC, cmp_visit_second, &c);
    H5Fclose(fa);
    H5Fclose(fb);
    *differences = c.differences;
    return HNTK_OK;
}
