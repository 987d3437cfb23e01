/* h5io.h: the only module that touches HDF5.
 *
 * Result files are written atomically: hntk_h5_create opens "<path>.tmp.<pid>",
 * hntk_h5_commit closes it and renames it over <path>; hntk_h5_abort (and the
 * SIGINT/SIGTERM handler installed by hntk_h5_install_signal_cleanup) removes
 * the temporary, so an interrupted run never leaves a half-written result.
 *
 * Dataset and attribute names may contain '/', e.g. "/analytic/ntk": missing
 * intermediate groups are created.  Arrays are float64, row-major.
 *
 * Types: datasets are written as float64; readers accept any floating-point
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
/* Close, flush and rename into place; frees f whatever the outcome. */
int hntk_h5_commit(hntk_h5 *f);
/* Close and delete the temporary; frees f.  NULL is harmless. */
void hntk_h5_abort(hntk_h5 *f);

/* On SIGINT/SIGTERM: delete the temporary of every open writer, then die by the signal. */
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

/* Read a floating-point dataset of any rank 0..4: *rank and dims (4 entries)
 * receive its shape, *data a new malloc'd buffer (caller frees). */
int hntk_h5_read_any(const char *path, const char *name, int *rank, long *dims, double **data);

/* Compare two files object by object: the same groups and datasets, the same
 * dataset types, shapes and bytes, the same attributes with the same bytes,
 * except attributes whose names are listed in `ignore_attrs` (NULL-terminated,
 * may be NULL).  *differences receives the count; `report` (cap bytes, may be
 * NULL) the first few, one per line. */
int hntk_h5_compare(const char *path_a, const char *path_b, const char *const *ignore_attrs, long *differences,
                    char *report, size_t cap);

/* Inputs file of `hyperntk kernel`: float64 datasets x (B, x_dim) and z (B, z_dim)
 * with the same B >= 1.  *X and *Z are malloc'd (caller frees). */
int hntk_h5_read_inputs(const char *path, long *B, long *x_dim, double **X, long *z_dim, double **Z);

#ifdef __cplusplus
}
#endif
#endif
