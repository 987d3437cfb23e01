/* grid.h: the resumable grid every Monte Carlo driver runs on.
 *
 * A run is a list of independent cells (a width pair of Figure 1(a), a
 * (configuration, width) of Theorem 1, ...), each a Monte Carlo job over
 * `samples` initializations of one architecture.  After every completed cell
 * the checkpoint (include/hyperntk/checkpoint.h) is rewritten atomically; a
 * restarted run with the same configuration string reloads the completed cells
 * bit for bit and computes only the others, so an interrupted and resumed run
 * gives the same file as an uninterrupted one.  A checkpoint written for other
 * arguments is refused.  The pieces:
 *
 *   - sample streams: the driver names each cell's key and first sample, so a
 *     cell's values are a function of (seed, cell, sample) only: independent
 *     of the order of the cells, of resumption, of thread and process counts;
 *   - workers: one library pool (pool.h) per cell, sized for the cell, after a
 *     budget check of the largest cell before the first sample;
 *   - per-sample collection (a driver that needs quantiles or a bootstrap gets
 *     every sample's statistics, in sample order, on every MPI rank);
 *   - graceful interruption: the first SIGINT/SIGTERM/SIGHUP asks the run to stop at
 *     the next block of samples; the process then dies by that signal.  A
 *     second signal kills at once (h5io's handler: temporaries are deleted,
 *     the checkpoint stays valid);
 *   - progress over the whole grid, weighted by the cost of each cell, on a
 *     terminal as a live line, otherwise (nohup, Slurm logs) one line per cell
 *     and at most every 30 s inside a long cell, each with the whole-run ETA.
 */
#ifndef HYPERNTK_SIMS_GRID_H
#define HYPERNTK_SIMS_GRID_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "hyperntk/gridfit.h"

#include "cli.h"
#include "opts.h"

/* Exit status of a run stopped by --stop-after-cells: the checkpoint holds the
 * completed cells and the same command continues the run. */
enum { GRID_EXIT_INCOMPLETE = 3 };

/* Longest --f-widths / --g-widths list, and the largest --thetas. */
enum { FIG1_MAX_WIDTHS = 64, FIG1_MAX_THETAS = 100000 };

/* ---- interruption ---- */

/* The signal that asked the run to stop (0 while running). */
extern volatile sig_atomic_t grid_stop_signal;
/* Install the handlers (respects signals ignored at start-up, as h5io does). */
void grid_signals_install(void);
/* If a signal asked the run to stop, die by it now (the default action). */
void grid_die_if_signalled(void);

/* ---- cells under MPI (parallel.h): every rank runs every cell's Monte Carlo
 * job (a collective call), only rank 0 writes files and prints to stderr ---- */

int grid_is_root(void);
/* Collective: *done = 1 if the checkpoint holds `cell` (on every rank), 0 if
 * not; HNTK_EIO when the ranks disagree (the checkpoint is not on a file
 * system that every rank shares). */
int grid_cell_done(const hntk_checkpoint *ck, long cell, int *done);
/* Collective: stop before the next cell?  (a signal on any rank, or
 * --stop-after-cells reached: computed >= stop_after >= 0) */
int grid_should_stop(long computed, long stop_after);
/* Rank 0 says on stderr why the run stopped (a signal, or --stop-after-cells
 * after `computed` new cells) and where the `done` of `total` completed
 * `what` ("cells", "widths of g") are saved. */
void grid_report_stop(const char *cmd, long computed, long stop_after, long done, long total, const char *what,
                      const char *ckpath);
/* Rank 0 stores the cell in the checkpoint file; the other ranks record it. */
int grid_cell_store(hntk_checkpoint *ck, long cell, const double *values, double seconds);


/* ---- progress over the grid (rank 0, stderr) ---- */

typedef struct {
    const char *cmd;
    int tty;            /* live line on a terminal, else a line per cell */
    int enabled;
    double start;
    double total_cost;  /* all cells of the grid */
    double done_cost;   /* cells completed, loaded or computed */
    double run_cost;    /* cells computed by this run (for the rate) */
    double cell_cost;   /* the cell in progress */
    double cell_start;
    char label[200];    /* "cell 3/64 (n = 100, m = 40)", then "... done in 3.1 s" */
    double last_print;
} grid_progress;

void grid_progress_init(grid_progress *p, const char *cmd, double total_cost);
/* A cell was loaded from the checkpoint: it counts as done, not in the rate. */
void grid_progress_skip(grid_progress *p, double cost);
void grid_progress_begin_cell(grid_progress *p, double cost, const char *label);
void grid_progress_update(void *p, long done, long total); /* an hntk_mc_progress_fn */
void grid_progress_end_cell(grid_progress *p);
void grid_progress_end(grid_progress *p);

/* Cost of one sample of an architecture with the workers' needs (the batch,
 * the sampler, the Taylor order), in arbitrary units, for progress only. */
double grid_sample_cost(const hntk_hyper_arch *a, const hntk_pool_needs *needs);

/* ---- the grid ---- */

/* One cell, as the driver describes it.  The workers' job pointer
 * (hntk_worker.job) is this struct during the cell's Monte Carlo job, so the
 * sample function reads the cell's key, inputs and driver from it. */
typedef struct {
    long index;                /* the cell */
    hntk_hyper_arch arch;      /* its network */
    hntk_pool_needs needs;     /* what each worker holds (batch, Gram, Taylor, ...) */
    long samples;              /* initializations, >= 2 */
    long first_sample;         /* sample counter of the first one (the streams are (key, sample, ...)) */
    uint64_t key;              /* stream key of the cell's weights */
    long sample_dim;           /* statistics per sample */
    const double *X, *Z;       /* inputs, (batch, x_dim) and (batch, z_dim) */
    const void *driver;        /* the driver's options and results */
    char label[128];           /* for progress: "cell 3/64 (n = 100, m = 40)" */
    /* A sample function that brings its own workspace (a trainer, train.h) sets
     * own_bytes > 0, the bytes it allocates per thread (counted in the budget):
     * the workers then hold no network (arch is only validated, and may have
     * g_out > 1) and needs.out_doubles alone is used; cost > 0 replaces
     * grid_sample_cost per sample (progress). */
    size_t own_bytes;
    double cost;
} grid_cell;

/* What a driver computes. */
typedef struct {
    const char *cmd;
    const char *what;          /* the cells in messages: "cells", "widths of g" */
    long cells;
    long cell_dim;             /* values per cell kept in the checkpoint */
    long stop_after;           /* --stop-after-cells (-1: never; grid_main sets it from the run options) */
    int collect;               /* 1: hand every sample's statistics to `values` */
    size_t budget_bytes;       /* the memory budget for the workers (0: none; grid_main: --mem-budget) */
    /* What `finish` allocates after the cells (analysis, result file), counted
     * in the budget beside the checkpoint; finish_what names it in the message. */
    size_t finish_bytes;
    const char *finish_what;
    hntk_mc_sample_fn sample;  /* ctx is an hntk_worker whose job is the grid_cell */
    const void *driver;
    /* Fill cell `index` (the grid sets index and driver before the call). */
    void (*describe)(const void *driver, long index, grid_cell *cell);
    /* The cell's values from its accumulator and, with `collect`, from every
     * sample's statistics `samples` (cell->samples x sample_dim, in sample order). */
    int (*values)(const grid_cell *cell, const hntk_stats_moments *acc, const double *samples, double *values);
} grid_spec;

/* The whole resumable run: check the output directory, the budget of the
 * largest cell's pool and the sample streams, open the checkpoint "<out>.ckpt"
 * for `config` (resumed unless `restart`), say on stderr what is resumed, and
 * run every cell not done yet with progress.
 *   HNTK_OK: *ck holds every cell, *previous the compute seconds of earlier runs,
 *     *loaded the cells they left;
 *   HNTK_EINTR: stopped; the reason and what is saved are on stderr (the caller
 *     frees, calls grid_die_if_signalled and exits GRID_EXIT_INCOMPLETE);
 *   otherwise the status with its message; a checkpoint written for other
 *     arguments says how to resume it or discard it with --restart. */
int grid_run(const grid_spec *g, const char *out, const char *config, int restart, int threads,
             hntk_checkpoint **ck, double *previous, long *loaded);

/* ---- what every grid driver shares: its run options and its main ---- */

/* The options of a resumable run, embedded in a driver's options struct as
 * the field `run`; GRID_RUN_SPECS(type, what) are their table rows. */
typedef struct {
    const char *out;
    uint64_t seed;
    int restart;
    long stop_after;   /* -1: never */
    double budget_gib; /* set to grid_default_budget_gib() before parsing */
    double start;      /* cli_now() when parsing ended (the run's wall clock) */
} grid_run_opts;

#define GRID_RUN_SPECS(T, WHAT) GRID_RUN_SPECS_OUT(T, WHAT, OPT_REQUIRED)
/* The same with the flags of --out chosen (0: a driver whose other modes
 * write no result file checks --out itself). */
#define GRID_RUN_SPECS_OUT(T, WHAT, OUT_FLAGS)                                                                   \
    {"out", "FILE", OPT_STRING, offsetof(T, run.out), 0, 0, NULL,                                                \
     "result file (written atomically; schema in docs/file-formats.md)", (OUT_FLAGS)},                           \
    {"seed", "S", OPT_SEED, offsetof(T, run.seed), 0, 0, "1", "seed of every random stream", OPT_CONFIG},        \
    {"restart", NULL, OPT_FLAG, offsetof(T, run.restart), 0, 0, NULL,                                            \
     "discard OUT.h5.ckpt from an interrupted run and start over", 0},                                          \
    {"stop-after-cells", "K", OPT_LONG, offsetof(T, run.stop_after), -1, 2147483647.0, "-1",                     \
     "compute at most K " WHAT ", then stop with exit status 3, keeping\nthe checkpoint (-1: never; for batch " \
     "jobs with time limits, and tests)", 0},                                                                    \
    {"mem-budget", "GiB", OPT_DOUBLE, offsetof(T, run.budget_gib), 1e-6, 1e6, NULL,                              \
     "refuse runs whose workers need more memory (default 3/4 of RAM)", 0}

/* The --help footer of a grid driver. */
#define GRID_FOOTER                                                                                              \
    "Resuming: after each cell the completed cells are saved atomically in OUT.h5.ckpt.\n"                       \
    "Interrupted (Ctrl-C, SIGTERM, SIGHUP: it stops at the next block of samples), the same\n"                 \
    "command continues from the completed cells and writes the same file as an uninterrupted\n"                 \
    "run; the checkpoint is removed once OUT.h5 is written.\n"                                                  \
    "Threads: OMP_NUM_THREADS; processes: mpirun -np K (when built with MPI).  The result is\n"                  \
    "bit-identical for any thread and process count, also across a resumption.  Theory: docs/theory.md."

double grid_default_budget_gib(void);

/* --sampler: how f's weights are drawn.  dense: every weight (hntk_net; the
 * presets' choice, bit-identical to earlier results); lazy: Gaussian
 * conditioning (lazy.h), the same distribution, not the same numbers,
 * O(n B^2) per sample, f widths up to GRID_LAZY_MAX_WIDTH. */
#define GRID_LAZY_MAX_WIDTH 10000000L
#define GRID_SAMPLER_SPEC(T)                                                                                    \
    {"sampler", "S", OPT_CHOICE, offsetof(T, sampler), 0, 0, "dense",                                          \
     "how f's weights are drawn: dense (every weight; the presets' choice) or lazy\n"                          \
     "(Gaussian conditioning, docs/theory.md §7: exact in distribution, not the same\n"                        \
     "numbers; O(n B^2) per sample, f width up to 10^7; no Fourier features)", OPT_CONFIG, opts_sampler_names}

/* The widest cell's architecture against the chosen sampler's limits; `opt`
 * names the width option in the message. */
int grid_validate_widest(const hntk_hyper_arch *widest, int sampler, const char *opt);

/* The first `edges` edges e (gridfit.h order: f axis at the narrowest and the
 * widest g, g axis at the narrowest and the widest f, the diagonal) of a grid
 * of f widths x g widths, a line each on stdout under `title`: first value,
 * mean +- se of the widest 3, slopes; with `exact` (or NULL) also its slope
 * and widest-3 mean. */
void grid_print_edges(const char *title, const opts_list *f_widths, const opts_list *g_widths,
                      const hntk_gridfit_edge *e, const hntk_gridfit_edge *exact, int edges);

/* opts_parse after setting run->budget_gib to its default (3/4 of RAM); on
 * success also start the run's clock. */
int grid_parse(const opt_command *cmd, int argc, char **argv, void *opts, grid_run_opts *run, opts_state *state);

/* After every cell is done: read the cells from `ck`, print the report and
 * (on rank 0 only) write the result file. */
typedef int (*grid_finish_fn)(const void *driver, const hntk_checkpoint *ck, const opts_output *out);

/* A grid driver's main after parsing and setting up its inputs: the signal
 * handlers (h5io's cleanup, then grid_signals_install), the configuration string from the option table (format `format`), grid_run,
 * then `finish`, the removal of the checkpoint and the "wrote" line.  Returns
 * the exit code: 0, GRID_EXIT_INCOMPLETE after --stop-after-cells (after a
 * signal the process dies by it), or cli_report's code for a failure `st`
 * already set by the set-up (pass st = 0 when it succeeded). */
int grid_main(int st, const grid_spec *g, const opt_command *cmd, const void *opts, long format,
              const grid_run_opts *run, const opts_output *out, grid_finish_fn finish);

/* "wrote OUT (T s on K MPI ranks x N threads ...)" on stdout. */
void grid_print_wrote(const char *out, double wall, int threads, long loaded);

/* "<out>.ckpt", malloc'd (NULL when out of memory). */
char *grid_checkpoint_path(const char *out);

/* HNTK_EIO naming both if the directory of `out` does not exist: checked
 * before the first cell rather than found at its checkpoint. */
int grid_check_out_dir(const char *out);

#endif
