/* checkpoint.c: resumable grids of independent cells (see checkpoint.h).
 * All file access goes through h5io, the only module that touches HDF5. */
#define _POSIX_C_SOURCE 200809L
#include "hyperntk/checkpoint.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hyperntk/error.h"
#include "hyperntk/h5io.h"

#define CHECKPOINT_KIND "hyperntk checkpoint"
/* Format 2 added the per-cell checksums; format 1 files are refused. */
#define CHECKPOINT_FORMAT 2L
/* cells * cell_dim doubles are rewritten after every cell: keep them modest. */
#define CHECKPOINT_MAX_VALUES (1L << 31)

struct hntk_checkpoint {
    char *path;
    char *config;
    long cells, cell_dim, done_count;
    double seconds;
    double *done;   /* (cells) 0 or 1: float64, as every h5io dataset */
    double *values; /* (cells, cell_dim) */
    long *checksum; /* (cells) cell_checksum of each row, as stored */
    unsigned char *discarded; /* (cells) 1: loaded marked done, but failed its checksum */
    long discarded_count;
};

/* FNV-1a (64 bits) over the cell's index, its done flag and its values, as
 * bytes: a flipped bit anywhere in a row, a done flag set without its values
 * or a row moved to another index changes it.  Not cryptographic: it detects
 * damage, not forgery. */
static long cell_checksum(const hntk_checkpoint *c, long cell)
{
    uint64_t h = 14695981039346656037ULL;
    const unsigned char *parts[3] = {(const unsigned char *)&cell, (const unsigned char *)&c->done[cell],
                                     (const unsigned char *)(c->values + cell * c->cell_dim)};
    size_t sizes[3] = {sizeof cell, sizeof(double), sizeof(double) * (size_t)c->cell_dim};
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < sizes[k]; i++) {
            h ^= parts[k][i];
            h *= 1099511628211ULL;
        }
    /* Stored as int64: the same 64 bits. */
    long v;
    memcpy(&v, &h, sizeof v);
    return v;
}

void hntk_checkpoint_free(hntk_checkpoint *c)
{
    if (!c) return;
    free(c->path);
    free(c->config);
    free(c->done);
    free(c->values);
    free(c->checksum);
    free(c->discarded);
    free(c);
}

/* Load an existing checkpoint into c (already sized), checking that it belongs
 * to c's configuration and shape. */
static int load(hntk_checkpoint *c)
{
    char kind[64];
    long format, cells, cell_dim;
    /* Say what is wrong: unreadable (the reader says why), not ours, or another format. */
    if (hntk_h5_read_attr_string(c->path, "/", "kind", kind, sizeof kind)) {
        char why[900];
        snprintf(why, sizeof why, "%s", hntk_last_error());
        return hntk_fail(HNTK_EFORMAT, "checkpoint '%s' is damaged or not a hyperntk checkpoint: %s", c->path, why);
    }
    if (strcmp(kind, CHECKPOINT_KIND))
        return hntk_fail(HNTK_EFORMAT, "'%s' is not a hyperntk checkpoint: its kind is '%s'", c->path, kind);
    if (hntk_h5_read_attr_long(c->path, "/", "format", &format))
        return hntk_fail(HNTK_EFORMAT, "checkpoint '%s' has no readable attribute 'format': it is damaged", c->path);
    if (format != CHECKPOINT_FORMAT)
        return hntk_fail(HNTK_EFORMAT, "checkpoint '%s' has format %ld, this version reads format %ld only%s",
                         c->path, format, CHECKPOINT_FORMAT,
                         format == 1 ? " (format 1 has no checksums: written by an older hyperntk)" : "");
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
    long *sums = NULL;
    st = hntk_h5_read_shaped(c->path, "done", 1, want1, dims, &done);
    if (!st) st = hntk_h5_read_shaped(c->path, "values", 2, want2, dims, &values);
    if (!st) st = hntk_h5_read_long(c->path, "checksum", 1, dims, &sums);
    if (!st && dims[0] != c->cells)
        st = hntk_fail(HNTK_EFORMAT, "checkpoint '%s': dataset 'checksum' has %ld entries, not one per cell (%ld)",
                       c->path, dims[0], c->cells);
    if (st) {
        char why[900];
        snprintf(why, sizeof why, "%s", hntk_last_error());
        st = hntk_fail(HNTK_EFORMAT, "checkpoint '%s' is damaged: %s", c->path, why);
        free(done);
        free(values);
        free(sums);
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
        free(sums);
        return st;
    }
    free(c->done);
    free(c->values);
    free(c->checksum);
    c->done = done;
    c->values = values;
    c->checksum = sums;
    /* A cell whose row fails its checksum is not trusted: it is dropped (and
     * computed again by the run), and listed by hntk_checkpoint_is_discarded. */
    for (long i = 0; i < c->cells; i++) {
        if (cell_checksum(c, i) == c->checksum[i]) continue;
        if (c->done[i] == 1.0) count--;
        c->discarded[i] = 1;
        c->discarded_count++;
        c->done[i] = 0.0;
        memset(c->values + i * c->cell_dim, 0, sizeof(double) * (size_t)c->cell_dim);
        c->checksum[i] = cell_checksum(c, i);
    }
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
    c->checksum = calloc((size_t)cells, sizeof(long));
    c->discarded = calloc((size_t)cells, 1);
    if (!c->path || !c->config || !c->done || !c->values || !c->checksum || !c->discarded) {
        hntk_checkpoint_free(c);
        return hntk_fail(HNTK_ENOMEM, "cannot allocate a checkpoint of %ld x %ld values", cells, cell_dim);
    }
    for (long i = 0; i < cells; i++) c->checksum[i] = cell_checksum(c, i);
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
long hntk_checkpoint_cells_discarded(const hntk_checkpoint *c) { return c->discarded_count; }

int hntk_checkpoint_is_discarded(const hntk_checkpoint *c, long cell)
{
    return cell >= 0 && cell < c->cells && c->discarded[cell];
}

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
    if (!st) st = hntk_h5_write_long(f, "checksum", 1, d1, c->checksum, "FNV-1a 64 of (cell, done, values row), int64");
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
    c->checksum[cell] = cell_checksum(c, cell);
    c->discarded[cell] = 0;
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
