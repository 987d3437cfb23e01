/* grid.c: the resumable grid of independent cells (see grid.h). */
#define _POSIX_C_SOURCE 200809L
#include "grid.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------ interruption */

volatile sig_atomic_t grid_stop_signal;

/* First signal: remember it and hand both signals back to h5io's cleanup
 * handler, so that a second one stops the process at once.  Only
 * async-signal-safe calls (sigaction, sigemptyset, sigaddset). */
static void stop_handler(int sig)
{
    grid_stop_signal = sig;
    hntk_h5_install_signal_cleanup();
}

void grid_signals_install(void)
{
    /* SIGHUP too: a closed terminal or ssh session must stop the run as
     * cleanly as Ctrl-C (under nohup it is ignored, and stays so). */
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) {
        struct sigaction old, sa;
        /* A signal ignored at start-up (a background job, nohup) stays ignored. */
        if (sigaction(sigs[k], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = stop_handler;
        sigemptyset(&sa.sa_mask);
        sigaddset(&sa.sa_mask, SIGINT);
        sigaddset(&sa.sa_mask, SIGTERM);
        sigaddset(&sa.sa_mask, SIGHUP);
        sigaction(sigs[k], &sa, NULL);
    }
}

void grid_die_if_signalled(void)
{
    int sig = grid_stop_signal;
    if (!sig) return;
    fflush(stdout);
    fflush(stderr);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* ------------------------------------------------------------ cells, MPI */

int grid_is_root(void) { return hntk_parallel_rank() == 0; }

int grid_cell_done(const hntk_checkpoint *ck, long cell, int *done)
{
    int here = hntk_checkpoint_is_done(ck, cell);
    int any_done = hntk_parallel_any(here), any_todo = hntk_parallel_any(!here);
    *done = here;
    if (any_done && any_todo)
        return hntk_fail(HNTK_EIO,
                         "the MPI ranks disagree whether cell %ld is in the checkpoint %s: it must be on a file "
                         "system that every rank shares",
                         cell, hntk_checkpoint_path(ck));
    return HNTK_OK;
}

int grid_should_stop(long computed, long stop_after)
{
    return hntk_parallel_any(grid_stop_signal != 0) || (stop_after >= 0 && computed >= stop_after);
}

void grid_report_stop(const char *cmd, long computed, long stop_after, long done, long total, const char *what,
                      const char *ckpath)
{
    if (!grid_is_root()) return;
    if (stop_after >= 0 && computed >= stop_after && !grid_stop_signal && done == 0)
        fprintf(stderr, "hyperntk %s: stopped before the first of the %ld %s as asked (--stop-after-cells %ld): "
                        "nothing computed, no checkpoint written\n", cmd, total, what, stop_after);
    else if (stop_after >= 0 && computed >= stop_after && !grid_stop_signal)
        fprintf(stderr, "hyperntk %s: stopped after %ld new %s as asked (--stop-after-cells); %ld of %ld %s are saved in "
                        "%s: run the command again to continue\n", cmd, computed, what, done, total, what, ckpath);
    else if (done == 0)
        fprintf(stderr, "hyperntk %s: interrupted by a signal before any of the %s was complete: nothing saved\n", cmd,
                what);
    else
        fprintf(stderr, "hyperntk %s: interrupted by signal %d after %ld of %ld %s; they are saved in %s: run the same "
                        "command to continue\n", cmd, (int)grid_stop_signal, done, total, what, ckpath);
}

int grid_cell_store(hntk_checkpoint *ck, long cell, const double *values, double seconds)
{
    return grid_is_root() ? hntk_checkpoint_store(ck, cell, values, seconds)
                          : hntk_checkpoint_record(ck, cell, values, seconds);
}

/* ---------------------------------------------------------------- progress */

double grid_sample_cost(const hntk_hyper_arch *a, const hntk_pool_needs *needs)
{
    double B = (double)needs->batch;
    if (!needs->lazy) /* drawing the weights (N_w normals) dominates; the passes add B flops per weight */
        return (double)hntk_param_count(a) * (4.0 + B);
    /* lazy: each of ~2B queries per layer (more with jets) draws and projects
     * vectors of its layer's widths; nothing of size n^2 */
    double widths = 0.0, queries = 2.0 * B * (1.0 + (double)needs->taylor_order / 2.0);
    for (int l = 1; l <= a->f_depth; l++)
        widths += (double)hntk_f_layer_width(a, l - 1) + (double)hntk_f_layer_width(a, l);
    return widths * queries * (4.0 + B);
}

void grid_progress_init(grid_progress *p, const char *cmd, double total_cost)
{
    memset(p, 0, sizeof *p);
    p->cmd = cmd;
    p->enabled = grid_is_root();
    p->tty = isatty(STDERR_FILENO);
    p->start = cli_now();
    p->last_print = p->start;
    p->total_cost = total_cost > 0 ? total_cost : 1.0;
}

void grid_progress_skip(grid_progress *p, double cost) { p->done_cost += cost; }

void grid_progress_begin_cell(grid_progress *p, double cost, const char *label)
{
    p->cell_cost = cost;
    p->cell_start = cli_now();
    snprintf(p->label, sizeof p->label, "%s", label);
    if (p->tty) grid_progress_update(p, 0, 1);
}

/* "12% of the work, 30.5 s, ~220 s left" */
static void progress_print(grid_progress *p, double part, const char *end)
{
    double now = cli_now(), elapsed = now - p->start, run = p->run_cost + part;
    double left = p->total_cost - p->done_cost - part;
    fprintf(stderr, "%s%s: %s: %3.0f%% of the work, %.1f s", p->tty ? "\r" : "", p->cmd, p->label,
            100.0 * (p->done_cost + part) / p->total_cost, elapsed);
    if (run > 0 && elapsed > 1.0) fprintf(stderr, ", ~%.0f s left", elapsed / run * left);
    fprintf(stderr, "%s", end);
    fflush(stderr);
    p->last_print = now;
}

void grid_progress_update(void *data, long done, long total)
{
    grid_progress *p = data;
    if (!p->enabled) return;
    double now = cli_now();
    double part = p->cell_cost * (double)done / (double)(total > 0 ? total : 1);
    if (p->tty) {
        if (done > 0 && done < total && now - p->last_print < 0.2) return; /* at most 5 updates a second */
        progress_print(p, part, "\033[K");
    } else if (done < total && now - p->last_print >= 30.0) {
        /* Not a terminal: a line at most every 30 s inside a long cell. */
        progress_print(p, part, "\n");
    }
}

void grid_progress_end_cell(grid_progress *p)
{
    p->done_cost += p->cell_cost;
    p->run_cost += p->cell_cost;
    p->cell_cost = 0;
    if (p->enabled && !p->tty) {
        /* "cell 3/64 (n = 100, m = 40) done in 3.1 s" */
        size_t len = strlen(p->label);
        snprintf(p->label + len, sizeof p->label - len, " done in %.1f s", cli_now() - p->cell_start);
        progress_print(p, 0.0, "\n");
    }
}

void grid_progress_end(grid_progress *p)
{
    if (p->enabled && p->tty) fprintf(stderr, "\r\033[K");
}

/* ------------------------------------------------------------------ cells */

/* Per-sample collection: the engine's collect callback sees every sample, in
 * order, on every MPI rank. */
typedef struct {
    double *store; /* (samples, dim) */
    long first, dim;
} sample_store;

static void store_sample(void *data, long sample, const double *stats)
{
    sample_store *s = data;
    memcpy(s->store + (size_t)(sample - s->first) * (size_t)s->dim, stats, sizeof(double) * (size_t)s->dim);
}

static void describe_cell(const grid_spec *g, long c, grid_cell *cell)
{
    memset(cell, 0, sizeof *cell);
    cell->index = c;
    cell->driver = g->driver;
    g->describe(g->driver, c, cell);
    if (!cell->label[0]) snprintf(cell->label, sizeof cell->label, "cell %ld/%ld", c + 1, g->cells);
}

static double cell_cost(const grid_cell *cell)
{
    double per = cell->cost > 0 ? cell->cost : grid_sample_cost(&cell->arch, &cell->needs);
    return per * (double)cell->samples;
}

/* The workers' architecture and needs: with own_bytes, a one-weight network and the output buffer only. */
static void pool_of(const grid_cell *cell, hntk_hyper_arch *a, hntk_pool_needs *needs)
{
    *a = cell->arch;
    *needs = cell->needs;
    if (cell->own_bytes) {
        *a = hntk_mlp_arch(1, 1, 1);
        *needs = (hntk_pool_needs){.batch = 1, .out_doubles = cell->needs.out_doubles};
    }
}

/* Compute one cell into `values`. */
static int run_cell(const grid_spec *g, grid_cell *cell, int threads, grid_progress *progress, double *values)
{
    hntk_pool *pool = NULL;
    hntk_stats_moments *acc = NULL;
    double *samples = NULL;
    hntk_hyper_arch pa;
    hntk_pool_needs pn;
    pool_of(cell, &pa, &pn);
    int st = hntk_pool_alloc(&pa, &pn, threads, g->budget_bytes, &pool);
    if (!st) st = hntk_stats_moments_alloc(cell->sample_dim, &acc);
    if (!st && g->collect && !(samples = malloc(sizeof(double) * (size_t)cell->samples * (size_t)cell->sample_dim)))
        st = hntk_fail(HNTK_ENOMEM, "cannot keep %ld samples x %ld statistics of %s", cell->samples,
                       cell->sample_dim, cell->label);
    if (!st) {
        hntk_pool_set_job(pool, cell);
        sample_store store = {samples, cell->first_sample, cell->sample_dim};
        hntk_mc_job job = {.samples = cell->samples, .first_sample = cell->first_sample, .dim = cell->sample_dim,
                           .n_ctx = threads, .ctx = hntk_pool_ctx(pool), .fn = g->sample,
                           .progress = grid_progress_update, .progress_data = progress, .stop = &grid_stop_signal,
                           .collect = g->collect ? store_sample : NULL, .collect_data = &store};
        st = hntk_mc_run(&job, acc);
    }
    if (!st) st = g->values(cell, acc, samples, values);
    free(samples);
    hntk_stats_moments_free(acc);
    hntk_pool_free(pool);
    return st;
}

static int run_cells(const grid_spec *g, hntk_checkpoint *ck, int threads, long *computed)
{
    double total = 0.0;
    grid_cell cell;
    for (long c = 0; c < g->cells; c++) {
        describe_cell(g, c, &cell);
        total += cell_cost(&cell);
    }
    grid_progress progress;
    grid_progress_init(&progress, g->cmd, total);
    double *values = malloc(sizeof(double) * (size_t)g->cell_dim);
    int st = values ? HNTK_OK : hntk_fail(HNTK_ENOMEM, "cannot allocate cell values");
    *computed = 0;
    for (long c = 0; c < g->cells && !st; c++) {
        describe_cell(g, c, &cell);
        int done;
        st = grid_cell_done(ck, c, &done);
        if (st) break;
        if (done) {
            grid_progress_skip(&progress, cell_cost(&cell));
            continue;
        }
        if (grid_should_stop(*computed, g->stop_after)) {
            st = HNTK_EINTR;
            break;
        }
        grid_progress_begin_cell(&progress, cell_cost(&cell), cell.label);
        double t0 = cli_now();
        st = run_cell(g, &cell, threads, &progress, values);
        if (st) break;
        st = grid_cell_store(ck, c, values, cli_now() - t0);
        if (st) break;
        grid_progress_end_cell(&progress);
        (*computed)++;
    }
    grid_progress_end(&progress);
    free(values);
    return st;
}

/* Everything is checked before the first sample: each cell's streams fit the
 * 32-bit sample counter, and the largest cell's pool fits the budget. */
static int check_cells(const grid_spec *g, int threads)
{
    const long streams = 4294967296L; /* the sample counter of rng.h is 32 bits */
    size_t largest = 0;
    grid_cell cell, big;
    for (long c = 0; c < g->cells; c++) {
        describe_cell(g, c, &cell);
        int st = cell.needs.lazy ? hntk_lazy_validate(&cell.arch) : hntk_hyper_arch_validate(&cell.arch);
        if (st) return st;
        if (cell.samples < 2 || cell.first_sample < 0 || cell.first_sample > streams - cell.samples)
            return hntk_fail(HNTK_EINVAL,
                             "--samples = %ld is out of range for %ld cells: %s would use samples %ld..%ld of the "
                             "seed and there are 2^32 of them: accepted 2..%ld",
                             cell.samples, g->cells, cell.label, cell.first_sample,
                             cell.first_sample + cell.samples - 1, streams / g->cells);
        /* A cell holds its workers, the engine's accumulator (6 moments) and
         * slots (4 samples per thread, twice on MPI rank 0), and with `collect`
         * every sample's statistics. */
        size_t per_sample = sizeof(double) * (size_t)cell.sample_dim;
        size_t slots = (size_t)4 * (size_t)threads * (hntk_parallel_size() > 1 ? 2 : 1);
        hntk_hyper_arch pa;
        hntk_pool_needs pn;
        pool_of(&cell, &pa, &pn);
        size_t bytes = hntk_pool_bytes(&pa, &pn, threads) + cell.own_bytes * (size_t)threads + (6 + slots) * per_sample +
                       (g->collect ? per_sample * (size_t)cell.samples : 0);
        if (bytes > largest) {
            largest = bytes;
            big = cell;
        }
    }
    /* The checkpoint holds every cell's values for the whole run: in memory,
     * and while it is written twice more (h5io builds the file in memory and
     * copies it once at commit). */
    size_t checkpoint = 3 * sizeof(double) * (size_t)g->cells * (size_t)g->cell_dim;
    if (g->budget_bytes && largest + checkpoint > g->budget_bytes)
        return hntk_fail(HNTK_EBUDGET,
                         "%s, the largest cell: %d thread workspaces and its samples need %.3g GiB, and the "
                         "checkpoint of %ld cells %.3g GiB, over the memory budget of %.3g GiB (--mem-budget; or "
                         "fewer threads, OMP_NUM_THREADS)",
                         big.label, threads, largest / 1073741824.0, g->cells, checkpoint / 1073741824.0,
                         g->budget_bytes / 1073741824.0);
    /* After the cells (their workspaces freed), the driver's analysis and
     * result file, beside the checkpoint. */
    if (g->budget_bytes && g->finish_bytes + checkpoint > g->budget_bytes)
        return hntk_fail(HNTK_EBUDGET,
                         "the analysis after the last cell (%s) needs %.3g GiB, and the checkpoint of %ld cells "
                         "%.3g GiB, over the memory budget of %.3g GiB (--mem-budget)",
                         g->finish_what ? g->finish_what : "the result file", g->finish_bytes / 1073741824.0,
                         g->cells, checkpoint / 1073741824.0, g->budget_bytes / 1073741824.0);
    return HNTK_OK;
}

/* Cells of the checkpoint that failed their checksum are computed again: say which. */
static void report_discarded(const grid_spec *g, const hntk_checkpoint *ck, const char *ckpath)
{
    long n = hntk_checkpoint_cells_discarded(ck), shown = 0;
    if (!n) return;
    grid_cell cell;
    for (long c = 0; c < g->cells && shown < 5; c++) {
        if (!hntk_checkpoint_is_discarded(ck, c)) continue;
        describe_cell(g, c, &cell);
        fprintf(stderr, "hyperntk %s: checkpoint %s: %s fails its checksum (the file is damaged): computing it again\n",
                g->cmd, ckpath, cell.label);
        shown++;
    }
    if (n > shown)
        fprintf(stderr, "hyperntk %s: checkpoint %s: %ld more %s fail their checksums: computing them again\n", g->cmd,
                ckpath, n - shown, g->what);
}

int grid_run(const grid_spec *g, const char *out, const char *config, int restart, int threads,
             hntk_checkpoint **ck, double *previous, long *loaded)
{
    *ck = NULL;
    *previous = 0.0;
    *loaded = 0;
    int st = grid_check_out_dir(out);
    if (!st) st = check_cells(g, threads);
    if (st) return st;
    char *ckpath = grid_checkpoint_path(out);
    if (!ckpath) return hntk_fail(HNTK_ENOMEM, "out of memory");
    st = hntk_checkpoint_open(ckpath, config, g->cells, g->cell_dim, !restart, ck);
    if (st == HNTK_EINVAL || st == HNTK_EFORMAT) {
        char why[1024];
        snprintf(why, sizeof why, "%s", hntk_last_error());
        /* Another configuration can be resumed with its arguments; a damaged
         * or foreign file only discarded. */
        st = hntk_fail(st, st == HNTK_EINVAL ? "%s; rerun with the arguments that made the checkpoint to resume it, "
                                               "or pass --restart to discard it"
                                             : "%s; pass --restart to discard it and start over", why);
    }
    if (!st && grid_is_root()) report_discarded(g, *ck, ckpath);
    if (!st) {
        *previous = hntk_checkpoint_seconds(*ck);
        *loaded = hntk_checkpoint_cells_done(*ck);
        if (*loaded > 0 && grid_is_root())
            fprintf(stderr, "hyperntk %s: resuming from %s: %ld of %ld %s already done\n", g->cmd, ckpath, *loaded,
                    g->cells, g->what);
        long computed = 0;
        st = run_cells(g, *ck, threads, &computed);
        if (st == HNTK_EINTR)
            grid_report_stop(g->cmd, computed, g->stop_after, hntk_checkpoint_cells_done(*ck), g->cells, g->what,
                             ckpath);
    }
    free(ckpath);
    return st;
}

int grid_validate_widest(const hntk_hyper_arch *widest, int sampler, const char *opt)
{
    if (sampler == SAMPLER_LAZY) {
        if (widest->f_width > GRID_LAZY_MAX_WIDTH)
            return hntk_fail(HNTK_EINVAL, "%s: %ld is out of range for --sampler lazy: accepted 1..%ld", opt,
                             widest->f_width, GRID_LAZY_MAX_WIDTH);
        return hntk_lazy_validate(widest);
    }
    if (widest->f_width > HNTK_MAX_WIDTH)
        return hntk_fail(HNTK_EINVAL,
                         "%s: %ld is out of range for --sampler dense: accepted 1..%ld (--sampler lazy: up to %ld)",
                         opt, widest->f_width, (long)HNTK_MAX_WIDTH, GRID_LAZY_MAX_WIDTH);
    return hntk_hyper_arch_validate(widest);
}

double grid_default_budget_gib(void) { return (double)cli_default_budget() / 1073741824.0; }

int grid_parse(const opt_command *cmd, int argc, char **argv, void *opts, grid_run_opts *run, opts_state *state)
{
    run->budget_gib = grid_default_budget_gib();
    int st = opts_parse(cmd, argc, argv, opts, state);
    if (st) return st;
    run->start = cli_now();
    return 0;
}

int grid_main(int st, const grid_spec *spec, const opt_command *cmd, const void *opts, long format,
              const grid_run_opts *run, const opts_output *out, grid_finish_fn finish)
{
    grid_spec run_spec = *spec;
    run_spec.stop_after = run->stop_after;
    run_spec.budget_bytes = (size_t)(run->budget_gib * 1073741824.0);
    const grid_spec *g = &run_spec;
    hntk_h5_install_signal_cleanup();
    grid_signals_install();
    char *config = NULL;
    hntk_checkpoint *ck = NULL;
    double previous = 0.0;
    long loaded = 0;
    int threads = hntk_mc_max_threads();
    if (!st) st = opts_config_string(cmd, opts, format, &config);
    if (!st) st = grid_run(g, run->out, config, run->restart, threads, &ck, &previous, &loaded);
    if (st == HNTK_EINTR) {
        hntk_checkpoint_free(ck);
        free(config);
        grid_die_if_signalled();
        return GRID_EXIT_INCOMPLETE;
    }
    if (!st) {
        opts_output done = *out;
        done.wall = previous + (cli_now() - run->start);
        double wall = done.wall;
        /* Under MPI every rank holds the same cells; rank 0 writes and removes the checkpoint. */
        st = finish(g->driver, ck, &done);
        if (!st && grid_is_root()) st = hntk_checkpoint_remove(ck);
        if (!st) grid_print_wrote(run->out, wall, threads, loaded);
    }
    int code = st ? cli_report(g->cmd, st) : CLI_EXIT_OK;
    hntk_checkpoint_free(ck);
    free(config);
    return code;
}

void grid_print_wrote(const char *out, double wall, int threads, long loaded)
{
    const char *resumed = loaded ? ", including the runs before resuming" : "";
    if (hntk_parallel_size() > 1)
        printf("wrote %s (%.2f s on %d MPI ranks x %d threads%s)\n", out, wall, hntk_parallel_size(), threads,
               resumed);
    else
        printf("wrote %s (%.2f s on %d threads%s)\n", out, wall, threads, resumed);
}

char *grid_checkpoint_path(const char *out)
{
    size_t n = strlen(out) + sizeof ".ckpt";
    char *path = malloc(n);
    if (path) snprintf(path, n, "%s.ckpt", out);
    return path;
}

int grid_check_out_dir(const char *out)
{
    const char *slash = strrchr(out, '/');
    if (!slash) return HNTK_OK; /* the current directory */
    size_t n = slash == out ? 1 : (size_t)(slash - out);
    char *dir = malloc(n + 1);
    if (!dir) return hntk_fail(HNTK_ENOMEM, "out of memory");
    memcpy(dir, out, n);
    dir[n] = '\0';
    struct stat sb;
    int st = HNTK_OK;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        st = hntk_fail(HNTK_EIO, "cannot write '%s': the directory '%s' does not exist", out, dir);
    free(dir);
    return st;
}


/* ---------------------------------------------------------------- edges of a width grid */

static void edge_label(const opts_list *f, const opts_list *g, int k, char *label, size_t cap)
{
    long A = f->n, G = g->n, D = A < G ? A : G;
    switch (k) {
    case 0: snprintf(label, cap, "f axis at m = %ld", g->v[0]); break;
    case 1: snprintf(label, cap, "f axis at m = %ld", g->v[G - 1]); break;
    case 2: snprintf(label, cap, "g axis at n = %ld", f->v[0]); break;
    case 3: snprintf(label, cap, "g axis at n = %ld", f->v[A - 1]); break;
    default: snprintf(label, cap, "diagonal (%ld,%ld)..(%ld,%ld)", f->v[0], g->v[0],
                      f->v[D - 1], g->v[D - 1]); break;
    }
}

void grid_print_edges(const char *title, const opts_list *f_widths, const opts_list *g_widths,
                      const hntk_gridfit_edge *e, const hntk_gridfit_edge *ex, int edges)
{
    printf("\n%s\n%-30s %10s %22s %17s %17s%s\n", title, "edge", "first", "widest 3: mean +- se", "slope (all)",
           "slope (widest 3)", ex ? "   exact: slope, widest 3 mean" : "");
    for (int k = 0; k < edges; k++) {
        char label[96];
        edge_label(f_widths, g_widths, k, label, sizeof label);
        printf("%-30s %10.3g %11.3g +- %-8.2g %7.3f +- %-6.3f %7.3f +- %-6.3f", label, e[k].first, e[k].tail_mean,
               e[k].tail_mean_se, e[k].slope, e[k].slope_se, e[k].tail_slope, e[k].tail_slope_se);
        if (ex) printf("   %7.3f, %.3g", ex[k].slope, ex[k].tail_mean);
        printf("\n");
    }
}
