/* checkpoint.h: resumable runs over a grid of independent cells.
 *
 * A long run is split into `cells` cells (a width pair of Figure 1(a), say),
 * each producing `cell_dim` doubles that depend only on the configuration and
 * the cell index.  After every completed cell the whole checkpoint is
 * rewritten atomically (h5io: "<path>.tmp.<pid>" renamed over <path>), so an
 * interruption at any moment leaves either the previous or the new checkpoint,
 * never a torn one.  A restarted run with the same configuration reloads the
 * completed cells bit for bit and computes only the others; the final result
 * is therefore identical to an uninterrupted run's.
 *
 * The configuration is one string naming every parameter that affects the
 * values (the driver builds it, reals printed with %.17g).  A checkpoint whose
 * string, cell count or cell size differs is refused, never silently mixed in.
 *
 * File layout (HDF5, through h5io; docs/file-formats.md "Checkpoints"):
 *   attributes on /: kind = "hyperntk checkpoint", format = 2, config (string),
 *                    cells, cell_dim (int64), seconds (float64, compute time so far)
 *   datasets:        done (cells) 0 or 1, values (cells, cell_dim); rows of
 *                    cells not done are 0; checksum (cells) int64: FNV-1a 64 of
 *                    the cell index, its done flag and its values row (bytes).
 *
 * Damage: a file that cannot be read, is not a checkpoint or has another
 * format is refused (HNTK_EFORMAT saying which).  A cell whose row fails its
 * checksum (a flipped byte, a done flag set without its values) is dropped on
 * load, as if it had not been computed, and reported by
 * hntk_checkpoint_is_discarded: the run computes it again, and since a cell's
 * values depend only on the configuration and its index, the result is the
 * same as an undamaged run's.
 */
#ifndef HYPERNTK_CHECKPOINT_H
#define HYPERNTK_CHECKPOINT_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hntk_checkpoint hntk_checkpoint;

/* Open the checkpoint at `path` for `cells` cells of `cell_dim` doubles
 * (1 <= cells, cell_dim and cells * cell_dim <= 2^31).
 *   - no file at `path`: start empty (nothing is written until the first store);
 *   - a file and resume != 0: load it; HNTK_EFORMAT if it is not a readable
 *     checkpoint, HNTK_EINVAL (message quoting both strings) if it was written
 *     for another configuration or shape;
 *   - a file and resume == 0: ignore it (the first store replaces it).
 * Nothing is allocated on failure. */
int hntk_checkpoint_open(const char *path, const char *config, long cells, long cell_dim, int resume,
                         hntk_checkpoint **out);
void hntk_checkpoint_free(hntk_checkpoint *c); /* NULL is harmless; the file stays */

const char *hntk_checkpoint_path(const hntk_checkpoint *c);
long hntk_checkpoint_cells(const hntk_checkpoint *c);
long hntk_checkpoint_cells_done(const hntk_checkpoint *c);
/* 1 if cell `cell` is complete (loaded or stored), else 0 (also for an out-of-range cell). */
int hntk_checkpoint_is_done(const hntk_checkpoint *c, long cell);
/* The cell_dim values of a completed cell, NULL otherwise. */
const double *hntk_checkpoint_values(const hntk_checkpoint *c, long cell);
/* Cells dropped on load because they failed their checksum (see above). */
long hntk_checkpoint_cells_discarded(const hntk_checkpoint *c);
int hntk_checkpoint_is_discarded(const hntk_checkpoint *c, long cell);
/* Compute time accumulated by every run that stored cells (seconds). */
double hntk_checkpoint_seconds(const hntk_checkpoint *c);

/* Record cell `cell` (cell_dim values, copied), add `seconds` to the time so
 * far, and rewrite the file atomically.  On a write failure the file on disk
 * is unchanged and the cell stays recorded in memory only. */
int hntk_checkpoint_store(hntk_checkpoint *c, long cell, const double *values, double seconds);

/* The same in memory only, without touching the file: for processes that
 * track the run but do not own the file (MPI ranks other than 0). */
int hntk_checkpoint_record(hntk_checkpoint *c, long cell, const double *values, double seconds);

/* Delete the file (once the final result is committed).  A missing file is fine. */
int hntk_checkpoint_remove(hntk_checkpoint *c);

#ifdef __cplusplus
}
#endif
#endif
