/* h5io.h: the only module that touches HDF5.
 *
 * Result files are written atomically: hntk_h5_create refuses a <path> that
 * exists and is not a regular file (a device, a FIFO, a directory, a symbolic
 * link), creates the temporary "<path>.tmp.<host>.<pid>.<random>" in the same
 * directory with O_CREAT | O_EXCL | O_NOFOLLOW (removing stale temporaries of
 * dead processes of this host) and builds the file in memory; hntk_h5_commit
 * writes it through that descriptor, fsyncs it, renames it over <path> and
 * fsyncs the directory.  A full disk is an HNTK_EIO naming the reason ("No
 * space left on device"), with the temporary removed.  hntk_h5_abort (and the
 * SIGINT/SIGTERM/SIGHUP handler installed by hntk_h5_install_signal_cleanup)
 * removes the temporary, so an interrupted run never leaves a half-written
 * result.  Memory: a file being written is held in memory, then copied once at
 * commit (twice its size at the peak).
 *
 * Dataset and attribute names may contain '/', e.g. "/analytic/ntk": missing
 * intermediate groups are created.  Arrays are float64, row-major.
 *
 * Types: datasets are written as float64 (hntk_h5_write_long: int64,
 * hntk_h5_write_enum: an HDF5 enum); the float readers accept any floating-point
 * dataset (float32 converts exactly) and reject integer ones (HNTK_EFORMAT,
 * "expected float64").  Attributes: long as int64, double as float64, string
 * as variable-length UTF-8; the string reader also takes fixed-length strings.
 * Writing an existing dataset name is HNTK_EINVAL; an existing attribute is
 * replaced.  At most 8 writers may be open at once (HNTK_EINVAL beyond).
 */
#ifndef HYPERNTK_H5IO_H
#define HYPERNTK_H5IO_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hntk_h5 hntk_h5;

/* ---- writing ---- */
int hntk_h5_create(const char *path, hntk_h5 **out);
int hntk_h5_write(hntk_h5 *f, const char *name, int rank, const long *dims, const double *data);
int hntk_h5_write_scalar(hntk_h5 *f, const char *name, double value);
/* Attributes on an object ("/" for the root, or a group/dataset written before;
 * a missing group is created). */
int hntk_h5_attr_long(hntk_h5 *f, const char *obj, const char *name, long value);
int hntk_h5_attr_double(hntk_h5 *f, const char *obj, const char *name, double value);
int hntk_h5_attr_string(hntk_h5 *f, const char *obj, const char *name, const char *value);
/* 1-D array attributes (lists): int64, float64, variable-length UTF-8 strings.
 * n >= 0 (v may be NULL when n == 0); h5py reads them as numpy arrays. */
int hntk_h5_attr_long_array(hntk_h5 *f, const char *obj, const char *name, long n, const long *v);
int hntk_h5_attr_double_array(hntk_h5 *f, const char *obj, const char *name, long n, const double *v);
int hntk_h5_attr_string_array(hntk_h5 *f, const char *obj, const char *name, long n, const char *const *v);

/* ---- self-describing results ----
 * Every dataset of a result file carries a string attribute `description`
 * (non-empty: what it is, its shape in words) and, when it has units, `units`
 * (tests/check_result_files.py checks the committed results/). */

/* Set `description` (required, non-empty) and `units` (skipped when NULL) on an
 * existing dataset or group `name`; existing values are replaced. */
int hntk_h5_describe(hntk_h5 *f, const char *name, const char *description, const char *units);
/* hntk_h5_write (float64) then hntk_h5_describe.  The description is checked
 * before anything is written. */
int hntk_h5_write_described(hntk_h5 *f, const char *name, int rank, const long *dims, const double *data,
                            const char *description, const char *units);
/* hntk_h5_write_described, then axis a (a < rank) attached to the dimension
 * scale scales[a] written before (NULL entries, or scales == NULL: none). */
int hntk_h5_write_scaled(hntk_h5 *f, const char *name, int rank, const long *dims, const double *data,
                         const char *description, const char *units, const char *const *scales);
/* An int64 dataset (counts, widths, seeds), rank 0..4, with its description. */
int hntk_h5_write_long(hntk_h5 *f, const char *name, int rank, const long *dims, const long *data,
                       const char *description);
/* An HDF5 enum dataset (base H5T_NATIVE_INT) with the n_names >= 1 named codes
 * names[k] = values[k] (names non-empty and distinct, values distinct); every
 * data entry must be one of the values.  h5py shows the names
 * (h5py.check_enum_dtype(d.dtype)). */
int hntk_h5_write_enum(hntk_h5 *f, const char *name, int rank, const long *dims, const int *data, int n_names,
                       const char *const *names, const int *values, const char *description);
/* Dimension scales (HDF5 high-level library, H5DS): make the already written
 * 1-D dataset `name` a dimension scale called `label` (non-empty) ... */
int hntk_h5_make_scale(hntk_h5 *f, const char *name, const char *label);
/* ... and attach it to axis `dim` (0..rank-1) of `dataset`, whose extent along
 * that axis must equal the scale's length (HNTK_EINVAL naming both otherwise).
 * The axis is labelled with the scale's name (h5py: d.dims[dim].label). */
int hntk_h5_attach_scale(hntk_h5 *f, const char *dataset, int dim, const char *scale_name);

/* Close, flush and rename into place; frees f whatever the outcome. */
int hntk_h5_commit(hntk_h5 *f);
/* Close and delete the temporary; frees f.  NULL is harmless. */
void hntk_h5_abort(hntk_h5 *f);

/* On SIGINT/SIGTERM/SIGHUP: delete the temporary of every open writer, then die by the signal. */
void hntk_h5_install_signal_cleanup(void);

/* ---- reading ---- */
/* Read a float64 dataset of rank <= 4 into a new malloc'd buffer (*data, caller
 * frees); dims receives the extents.  Errors name the file and the dataset. */
int hntk_h5_read(const char *path, const char *name, int rank, long *dims, double **data);
/* As hntk_h5_read, and also require the extents: want[i] >= 0 must equal dims[i]
 * (want[i] < 0 accepts any extent; want == NULL checks only the rank).  A
 * mismatch is HNTK_EFORMAT with both shapes in the message. */
int hntk_h5_read_shaped(const char *path, const char *name, int rank, const long *want, long *dims,
                        double **data);
/* 1 if `name` exists in the file, 0 if not (or the file cannot be opened). */
int hntk_h5_exists(const char *path, const char *name);
int hntk_h5_read_attr_long(const char *path, const char *obj, const char *name, long *value);
int hntk_h5_read_attr_double(const char *path, const char *obj, const char *name, double *value);
/* Copies at most cap-1 characters and terminates. */
int hntk_h5_read_attr_string(const char *path, const char *obj, const char *name, char *buf, size_t cap);

/* Read an integer dataset (any integer type converting to int64 without loss;
 * not float, not enum) of rank `rank` <= 4 into a new malloc'd buffer. */
int hntk_h5_read_long(const char *path, const char *name, int rank, long *dims, long **data);
/* Read an enum dataset of rank `rank` <= 4: the integer codes, malloc'd. */
int hntk_h5_read_enum(const char *path, const char *name, int rank, long *dims, int **data);
/* 1-D (or scalar) numeric attribute as an array: *n values, *v malloc'd. */
int hntk_h5_read_attr_long_array(const char *path, const char *obj, const char *name, long *n, long **v);
int hntk_h5_read_attr_double_array(const char *path, const char *obj, const char *name, long *n, double **v);
/* The dimension scale attached to axis `dim` of `dataset` (the first one, when
 * several are): its path into name[cap] ("" when none) and, if label is not
 * NULL, the scale's name into label[label_cap]. */
int hntk_h5_scale_of(const char *path, const char *dataset, int dim, char *name, size_t cap, char *label,
                     size_t label_cap);

/* Read a floating-point dataset of any rank 0..4: *rank and dims (4 entries)
 * receive its shape, *data a new malloc'd buffer (caller frees). */
int hntk_h5_read_any(const char *path, const char *name, int *rank, long *dims, double **data);

/* Compare two files object by object: the same groups and datasets, the same
 * dataset types, shapes and bytes, the same attributes with the same bytes,
 * except attributes whose names are listed in `ignore_attrs` (NULL-terminated,
 * may be NULL).  *differences receives the count; `report` (cap bytes, may be
 * NULL) the first few, one per line.  hntk_h5_compare_tol with rtol = atol = 0,
 * strict = 1 and ignore = ignore_attrs. */
int hntk_h5_compare(const char *path_a, const char *path_b, const char *const *ignore_attrs, long *differences,
                    char *report, size_t cap);

/* Root attributes that record how and when a file was made, not what it holds
 * (cli_write_provenance; `seconds` of a checkpoint): command_line, created_utc,
 * git_revision, host, seconds, version, wall_time_seconds.  NULL-terminated. */
extern const char *const hntk_h5_provenance_attrs[];

typedef struct {
    /* Numeric values (float and integer datasets and attributes) a (first file)
     * and b (second) agree when |a - b| <= atol + rtol |b| elementwise; NaN
     * agrees with NaN at the same place, inf with the same inf.  rtol = atol = 0
     * (the default) asks for identical bits (so -0.0 differs from 0.0).
     * Strings, enums and other types are always compared exactly. */
    double rtol, atol;
    /* 0: the hntk_h5_provenance_attrs on "/" are ignored; 1: compared too. */
    int strict;
    /* Also ignored (NULL-terminated, may be NULL): a plain NAME is an attribute
     * of any object; "/PATH" an object, with everything below it. */
    const char *const *ignore;
} hntk_h5_compare_opts;

typedef struct {
    long differences;      /* structural + values */
    long structural;       /* objects or attributes in one file only, kinds, types, shapes, scales */
    long values;           /* datasets and attributes whose values differ */
    long compared;         /* datasets and attributes compared */
    double max_abs, max_rel; /* largest |a - b| and |a - b| / |b| over the numeric values compared */
    /* One line per difference, malloc'd (free with hntk_h5_compare_report_free):
     * "NAME: only in the first file", "NAME: shape (3, 4) vs (3, 5)",
     * "NAME: 2 of 12 values differ; max |a-b| 1e-14 at [1, 2] (a 1, b 1); max |a-b|/|b| ...". */
    char *text;
} hntk_h5_compare_report;

/* Compare two files object by object (groups, datasets, attributes, dimension
 * scales) under `opts` (NULL: the defaults above).  HNTK_OK whatever the
 * differences (see rep); an error only when a file cannot be read. */
int hntk_h5_compare_tol(const char *path_a, const char *path_b, const hntk_h5_compare_opts *opts,
                        hntk_h5_compare_report *rep);
void hntk_h5_compare_report_free(hntk_h5_compare_report *rep);

/* Inputs file of `hyperntk kernel`: float64 datasets x (B, x_dim) and z (B, z_dim)
 * with the same B >= 1.  *X and *Z are malloc'd (caller frees). */
int hntk_h5_read_inputs(const char *path, long *B, long *x_dim, double **X, long *z_dim, double **Z);

#ifdef __cplusplus
}
#endif
#endif
