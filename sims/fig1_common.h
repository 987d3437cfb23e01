/* fig1_common.h: what `hyperntk fig1a` and `hyperntk fig1b` share.
 *
 * Both run a grid of independent cells (a width pair, or a width of g), each a
 * Monte Carlo over `samples` initializations, and both can be interrupted and
 * resumed (include/hyperntk/checkpoint.h).  The pieces here:
 *
 *   - sample streams: cell c uses the samples c*N .. c*N + N - 1 of the seed
 *     (N = --samples), so a cell's values are a function of (seed, cell,
 *     sample) only: independent of the order of the cells, of resumption and
 *     of the thread count;
 *   - per-thread workspaces of one cell's architecture, after a budget check;
 *   - graceful interruption: the first SIGINT/SIGTERM asks the run to stop at
 *     the next block of samples (the completed cells are in the checkpoint);
 *     the process then dies by that signal.  A second signal kills at once
 *     (h5io's handler: temporaries are deleted, the checkpoint stays valid);
 *   - progress over the whole grid, weighted by the cost of each cell;
 *   - the configuration string that names a checkpoint's configuration.
 */
#ifndef HYPERNTK_SIMS_FIG1_COMMON_H
#define HYPERNTK_SIMS_FIG1_COMMON_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"

/* Exit status of a run stopped by --stop-after-cells: the checkpoint holds the
 * completed cells and the same command continues the run. */
enum { FIG1_EXIT_INCOMPLETE = 3 };

/* Longest --f-widths / --g-widths list, and the largest --thetas. */
enum { FIG1_MAX_WIDTHS = 64, FIG1_MAX_THETAS = 100000 };

/* ---- interruption ---- */

/* The signal that asked the run to stop (0 while running). */
extern volatile sig_atomic_t fig1_stop_signal;
/* Install the handlers (respects signals ignored at start-up, as h5io does). */
void fig1_signals_install(void);
/* If a signal asked the run to stop, die by it now (the default action). */
void fig1_die_if_signalled(void);

/* ---- cells under MPI (parallel.h): every rank runs every cell's Monte Carlo
 * job (a collective call), only rank 0 writes files and prints to stderr ---- */

int fig1_is_root(void);
/* Collective: *done = 1 if the checkpoint holds `cell` (on every rank), 0 if
 * not; HNTK_EIO when the ranks disagree (the checkpoint is not on a file
 * system that every rank shares). */
int fig1_cell_done(const hntk_checkpoint *ck, long cell, int *done);
/* Collective: stop before the next cell?  (a signal on any rank, or
 * --stop-after-cells reached: computed >= stop_after >= 0) */
int fig1_should_stop(long computed, long stop_after);
/* Rank 0 says on stderr why the run stopped (a signal, or --stop-after-cells
 * after `computed` new cells) and where the `done` of `total` completed
 * `what` ("cells", "widths of g") are saved. */
void fig1_report_stop(const char *cmd, long computed, long stop_after, long done, long total, const char *what,
                      const char *ckpath);
/* Rank 0 stores the cell in the checkpoint file; the other ranks record it. */
int fig1_cell_store(hntk_checkpoint *ck, long cell, const double *values, double seconds);

/* ---- workspaces: one network per thread, sized for one cell ---- */

typedef struct {
    hntk_net *net;
    double *gram;    /* (B, B) scratch */
    const double *X; /* (B, x_dim) */
    const double *Z; /* (B, z_dim) */
    long B;
    uint64_t seed;
    double center;   /* fig1a: the limit Theta^h, the centre of the moment sums */
} fig1_ctx;

typedef struct {
    int threads;
    fig1_ctx *ctx;
    void **ctx_ptrs; /* ctx_ptrs[t] = &ctx[t], as hntk_mc_job wants */
} fig1_workers;

/* Bytes one thread needs for architecture a and a batch of B inputs. */
size_t fig1_thread_bytes(const hntk_hyper_arch *a, long B);
/* HNTK_EBUDGET (message naming --mem-budget) if `threads` workspaces of the
 * largest cell, `per_thread` bytes each, exceed budget_gib. */
int fig1_check_budget(size_t per_thread, int threads, double budget_gib);
int fig1_workers_alloc(fig1_workers *w, int threads, const hntk_hyper_arch *a, long B, const double *X,
                       const double *Z, uint64_t seed);
void fig1_workers_free(fig1_workers *w);

/* Check that cells * samples sample streams fit the 32-bit sample counter;
 * the message names --samples and its accepted range for this grid. */
int fig1_check_streams(long cells, long samples);

/* ---- progress over the grid (stderr, only on a terminal) ---- */

typedef struct {
    const char *cmd;
    int enabled;
    double start;
    double total_cost;  /* all cells of the grid */
    double done_cost;   /* cells completed, loaded or computed */
    double run_cost;    /* cells computed by this run (for the rate) */
    double cell_cost;   /* the cell in progress */
    char label[128];    /* "cell 3/64, f width 100, g width 40" */
    double last_print;
} fig1_progress;

void fig1_progress_init(fig1_progress *p, const char *cmd, double total_cost);
/* A cell was loaded from the checkpoint: it counts as done, not in the rate. */
void fig1_progress_skip(fig1_progress *p, double cost);
void fig1_progress_begin_cell(fig1_progress *p, double cost, const char *label);
void fig1_progress_update(void *p, long done, long total); /* an hntk_mc_progress_fn */
void fig1_progress_end_cell(fig1_progress *p);
void fig1_progress_end(fig1_progress *p);

/* Cost of one sample of an architecture (arbitrary units, for progress only). */
double fig1_sample_cost(const hntk_hyper_arch *a, long B);

/* ---- the grid: every cell the checkpoint does not hold yet ---- */

/* What a driver computes in each cell.  Cell c is a Monte Carlo job over the
 * samples c*samples .. c*samples + samples - 1 of the seed on `batch` inputs;
 * `values` turns its accumulator into the cell_dim numbers kept in the
 * checkpoint. */
typedef struct {
    const char *cmd;
    long cells;
    long batch;              /* inputs per sample: X (batch, x_dim), Z (batch, z_dim) */
    const double *X, *Z;
    uint64_t seed;
    long samples;            /* per cell */
    long stop_after;         /* --stop-after-cells (-1: never) */
    long sample_dim;         /* statistics per sample */
    long cell_dim;           /* values per cell */
    double center;           /* copied into every fig1_ctx (fig1a's moment sums) */
    hntk_mc_sample_fn sample;
    const void *driver;      /* the driver's options, handed to the callbacks */
    hntk_hyper_arch (*arch)(const void *driver, long cell);
    void (*label)(const void *driver, long cell, char *buf, size_t cap);
    void (*values)(const void *driver, const hntk_welford *acc, double *values);
} fig1_grid;

/* Compute, store and checkpoint every cell not in `ck`, with progress over the
 * whole grid.  HNTK_OK when all cells are done, HNTK_EINTR when stopped (a
 * signal, or --stop-after-cells after *computed new cells). */
int fig1_run_cells(const fig1_grid *g, hntk_checkpoint *ck, int threads, long *computed);

/* The whole resumable run: open the checkpoint at `ckpath` for `config` (resumed
 * unless `restart`), say on stderr what is resumed, and run the grid.
 *   HNTK_OK: *ck holds every cell, *previous the compute seconds of earlier runs,
 *     *loaded the cells they left;
 *   HNTK_EINTR: stopped; the reason and what is saved are on stderr (the caller
 *     frees, calls fig1_die_if_signalled and exits FIG1_EXIT_INCOMPLETE);
 *   otherwise the status with its message; a checkpoint written for other
 *     arguments says how to resume it or discard it with --restart.
 * `what` names the cells in messages ("cells", "widths of g"). */
int fig1_run_grid(const fig1_grid *g, const char *ckpath, const char *config, int restart, const char *what,
                  int threads, hntk_checkpoint **ck, double *previous, long *loaded);

/* "wrote OUT (T s on K MPI ranks x N threads ...)" on stdout. */
void fig1_print_wrote(const char *out, double wall, int threads, long loaded);

/* ---- configuration strings ---- */

typedef struct {
    char *text;
    size_t len, cap;
    int failed;
} fig1_config;

void fig1_config_init(fig1_config *c, const char *cmd);
void fig1_config_long(fig1_config *c, const char *name, long value);
void fig1_config_double(fig1_config *c, const char *name, double value); /* %.17g */
void fig1_config_list(fig1_config *c, const char *name, const long *values, long count);
/* HNTK_ENOMEM if an append failed. */
int fig1_config_status(const fig1_config *c);
void fig1_config_free(fig1_config *c);

/* "<out>.ckpt", malloc'd (NULL when out of memory). */
char *fig1_checkpoint_path(const char *out);

/* HNTK_EIO naming both if the directory of `out` does not exist: checked
 * before the first cell rather than found at its checkpoint. */
int fig1_check_out_dir(const char *out);

/* Is the comma list strictly increasing?  Prints the usage error otherwise. */
int fig1_check_increasing(const char *cmd, const char *name, const long *values, long count);

#endif
