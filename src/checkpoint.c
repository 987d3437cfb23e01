/* checkpoint.c: resumable grids of independent cells (see checkpoint.h).
 * All file access goes through h5io, the only module that touches HDF5. */
#define _POSIX_C_SOURCE 200809L
#include "hyperntk/checkpoint.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hyperntk/error.h"
#include "hyperntk/h5io.h"

#define CHECKPOINT_KIND "hyperntk checkpoint"
#define CHECKPOINT_FORMAT 1L
/* cells * cell_dim doubles are rewritten after every cell: keep them modest. */
#define CHECKPOINT_MAX_VALUES (1L << 31)

struct hntk_checkpoint {
    char *path;
    char *config;
    long cells, cell_dim, done_count;
    double seconds;
    double *done;   /* (cells) 0 or 1: float64, as every h5io dataset */
    double *values; /* (cells, cell_dim) */
};

void hntk_checkpoint_free(hntk_checkpoint *c)
{
    if (!c) return;
    free(c->path);
    free(c->config);
    free(c->done);
    free(c->values);
    free(c);
}

/* Load an existing checkpoint into c (already sized), checking that it belongs
 * to c's configuration and shape. */
static int load(hntk_checkpoint *c)
{
    char kind[64];
    long format, cells, cell_dim;
    if (hntk_h5_read_attr_string(c->path, "/", "kind", kind, sizeof kind) || strcmp(kind, CHECKPOINT_KIND) ||
        hntk_h5_read_attr_long(c->path, "/", "format", &format) || format != CHECKPOINT_FORMAT)
        return hntk_fail(HNTK_EFORMAT, "'%s' is not a hyperntk checkpoint of format %ld (attribute kind = '%s')",
                         c->path, CHECKPOINT_FORMAT, CHECKPOINT_KIND);
    /* Room for one character more than ours: a longer stored string cannot compare equal. */
    size_t cap = strlen(c->config) + 2;
    char *stored = malloc(cap);
    if (!stored) return hntk_fail(HNTK_ENOMEM, "cannot allocate the configuration string");
    int st = hntk_h5_read_attr_string(c->path, "/", "config", stored, cap);
    if (st) {
        free(stored);
        return hntk_fail(HNTK_EFORMAT, "checkpoint '%s' has no readable 'config' attribute", c->path);
    }
    if (strcmp(stored, c->config)) {
        st = hntk_fail(HNTK_EINVAL,
                       "checkpoint '%s' belongs to another configuration: it has '%s', this run has '%s'",
                       c->path, stored, c->config);
        free(stored);
        return st;
    }
    free(stored);
    if (hntk_h5_read_attr_long(c->path, "/", "cells", &cells) ||
        hntk_h5_read_attr_long(c->path, "/", "cell_dim", &cell_dim) ||
        hntk_h5_read_attr_double(c->path, "/", "seconds", &c->seconds))
        return hntk_fail(HNTK_EFORMAT, "checkpoint '%s' lacks one of the attributes cells, cell_dim, seconds",
                         c->path);
    if (cells != c->cells || cell_dim != c->cell_dim)
        return hntk_fail(HNTK_EINVAL, "checkpoint '%s' holds %ld cells of %ld values, this run needs %ld of %ld",
                         c->path, cells, cell_dim, c->cells, c->cell_dim);
    long want1[1] = {c->cells}, want2[2] = {c->cells, c->cell_dim}, dims[4];
    double *done = NULL, *values = NULL;
    st = hntk_h5_read_shaped(c->path, "done", 1, want1, dims, &done);
    if (!st) st = hntk_h5_read_shaped(c->path, "values", 2, want2, dims, &values);
    if (st) {
        free(done);
        return st;
    }
    long count = 0;
    for (long i = 0; i < c->cells; i++) {
        if (done[i] != 0.0 && done[i] != 1.0) {
            st = hntk_fail(HNTK_EFORMAT, "checkpoint '%s': done[%ld] = %g is neither 0 nor 1", c->path, i, done[i]);
            break;
        }
        count += done[i] == 1.0;
    }
    if (st) {
        free(done);
        free(values);
        return st;
    }
    free(c->done);
    free(c->values);
    c->done = done;
    c->values = values;
    c->done_count = count;
    return HNTK_OK;
}

int hntk_checkpoint_open(const char *path, const char *config, long cells, long cell_dim, int resume,
                         hntk_checkpoint **out)
{
    *out = NULL;
    if (!path || !*path) return hntk_fail(HNTK_EINVAL, "checkpoint path is empty");
    if (!config) return hntk_fail(HNTK_EINVAL, "checkpoint configuration string is NULL");
    if (cells < 1 || cell_dim < 1 || cells > CHECKPOINT_MAX_VALUES / cell_dim)
        return hntk_fail(HNTK_EINVAL,
                         "checkpoint of %ld cells x %ld values is out of range: accepted cells, cell_dim >= 1 "
                         "with at most %ld values in all",
                         cells, cell_dim, CHECKPOINT_MAX_VALUES);
    hntk_checkpoint *c = calloc(1, sizeof *c);
    if (!c) return hntk_fail(HNTK_ENOMEM, "cannot allocate a checkpoint");
    c->path = strdup(path);
    c->config = strdup(config);
    c->cells = cells;
    c->cell_dim = cell_dim;
    c->done = calloc((size_t)cells, sizeof(double));
    c->values = calloc((size_t)(cells * cell_dim), sizeof(double));
    if (!c->path || !c->config || !c->done || !c->values) {
        hntk_checkpoint_free(c);
        return hntk_fail(HNTK_ENOMEM, "cannot allocate a checkpoint of %ld x %ld values", cells, cell_dim);
    }
    struct stat sb;
    if (resume && stat(path, &sb) == 0) {
        int st = S_ISREG(sb.st_mode) ? load(c)
                                     : hntk_fail(HNTK_EFORMAT, "checkpoint '%s' is not a regular file", path);
        if (st) {
            hntk_checkpoint_free(c);
            return st;
        }
    }
    *out = c;
    return HNTK_OK;
}

const char *hntk_checkpoint_path(const hntk_checkpoint *c) { return c->path; }
long hntk_checkpoint_cells(const hntk_checkpoint *c) { return c->cells; }
long hntk_checkpoint_cells_done(const hntk_checkpoint *c) { return c->done_count; }
double hntk_checkpoint_seconds(const hntk_checkpoint *c) { return c->seconds; }

int hntk_checkpoint_is_done(const hntk_checkpoint *c, long cell)
{
    return cell >= 0 && cell < c->cells && c->done[cell] == 1.0;
}

const double *hntk_checkpoint_values(const hntk_checkpoint *c, long cell)
{
    return hntk_checkpoint_is_done(c, cell) ? c->values + cell * c->cell_dim : NULL;
}

static int write_file(const hntk_checkpoint *c)
{
    hntk_h5 *f;
    int st = hntk_h5_create(c->path, &f);
    if (st) return st;
    long d1[1] = {c->cells}, d2[2] = {c->cells, c->cell_dim};
    st = hntk_h5_write(f, "done", 1, d1, c->done);
    if (!st) st = hntk_h5_write(f, "values", 2, d2, c->values);
    if (!st) st = hntk_h5_attr_string(f, "/", "kind", CHECKPOINT_KIND);
    if (!st) st = hntk_h5_attr_long(f, "/", "format", CHECKPOINT_FORMAT);
    if (!st) st = hntk_h5_attr_string(f, "/", "config", c->config);
    if (!st) st = hntk_h5_attr_long(f, "/", "cells", c->cells);
    if (!st) st = hntk_h5_attr_long(f, "/", "cell_dim", c->cell_dim);
    if (!st) st = hntk_h5_attr_double(f, "/", "seconds", c->seconds);
    if (st) {
        hntk_h5_abort(f);
        return st;
    }
    return hntk_h5_commit(f);
}

int hntk_checkpoint_record(hntk_checkpoint *c, long cell, const double *values, double seconds)
{
    if (cell < 0 || cell >= c->cells)
        return hntk_fail(HNTK_EINVAL, "cell = %ld is out of range: accepted 0..%ld", cell, c->cells - 1);
    memcpy(c->values + cell * c->cell_dim, values, sizeof(double) * (size_t)c->cell_dim);
    if (c->done[cell] != 1.0) c->done_count++;
    c->done[cell] = 1.0;
    c->seconds += seconds;
    return HNTK_OK;
}

int hntk_checkpoint_store(hntk_checkpoint *c, long cell, const double *values, double seconds)
{
    int st = hntk_checkpoint_record(c, cell, values, seconds);
    return st ? st : write_file(c);
}

int hntk_checkpoint_remove(hntk_checkpoint *c)
{
    if (unlink(c->path) != 0 && errno != ENOENT)
        return hntk_fail(HNTK_EIO, "cannot remove checkpoint '%s': %s", c->path, strerror(errno));
    return HNTK_OK;
}
