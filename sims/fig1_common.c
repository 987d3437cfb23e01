/* fig1_common.c: shared pieces of the Figure 1 drivers (see fig1_common.h). */
#define _POSIX_C_SOURCE 200809L
#include "fig1_common.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------ interruption */

volatile sig_atomic_t fig1_stop_signal;

/* First signal: remember it and hand both signals back to h5io's cleanup
 * handler, so that a second one stops the process at once.  Only
 * async-signal-safe calls (sigaction, sigemptyset, sigaddset). */
static void stop_handler(int sig)
{
    fig1_stop_signal = sig;
    hntk_h5_install_signal_cleanup();
}

void fig1_signals_install(void)
{
    static const int sigs[] = {SIGINT, SIGTERM};
    for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) {
        struct sigaction old, sa;
        /* A signal ignored at start-up (a background job, nohup) stays ignored. */
        if (sigaction(sigs[k], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = stop_handler;
        sigemptyset(&sa.sa_mask);
        sigaddset(&sa.sa_mask, SIGINT);
        sigaddset(&sa.sa_mask, SIGTERM);
        sigaction(sigs[k], &sa, NULL);
    }
}

void fig1_die_if_signalled(void)
{
    int sig = fig1_stop_signal;
    if (!sig) return;
    fflush(stdout);
    fflush(stderr);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* ------------------------------------------------------------ cells, MPI */

int fig1_is_root(void) { return hntk_parallel_rank() == 0; }

int fig1_cell_done(const hntk_checkpoint *ck, long cell, int *done)
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

int fig1_should_stop(long computed, long stop_after)
{
    return hntk_parallel_any(fig1_stop_signal != 0) || (stop_after >= 0 && computed >= stop_after);
}

void fig1_report_stop(const char *cmd, long computed, long stop_after, long done, long total, const char *what,
                      const char *ckpath)
{
    if (!fig1_is_root()) return;
    if (stop_after >= 0 && computed >= stop_after && !fig1_stop_signal)
        fprintf(stderr, "hyperntk %s: stopped after %ld new %s as asked (--stop-after-cells); %ld of %ld %s are saved in "
                        "%s: run the command again to continue\n", cmd, computed, what, done, total, what, ckpath);
    else if (done == 0)
        fprintf(stderr, "hyperntk %s: interrupted by a signal before any of the %s was complete: nothing saved\n", cmd,
                what);
    else
        fprintf(stderr, "hyperntk %s: interrupted by signal %d after %ld of %ld %s; they are saved in %s: run the same "
                        "command to continue\n", cmd, (int)fig1_stop_signal, done, total, what, ckpath);
}

int fig1_cell_store(hntk_checkpoint *ck, long cell, const double *values, double seconds)
{
    return fig1_is_root() ? hntk_checkpoint_store(ck, cell, values, seconds)
                          : hntk_checkpoint_record(ck, cell, values, seconds);
}

/* -------------------------------------------------------------- workspaces */

size_t fig1_thread_bytes(const hntk_hyper_arch *a, long B)
{
    return hntk_net_bytes(a, B) + sizeof(double) * (size_t)(B * B) + sizeof(fig1_ctx);
}

int fig1_check_budget(size_t per_thread, int threads, double budget_gib)
{
    double total = (double)per_thread * threads / 1073741824.0;
    if (total > budget_gib)
        return hntk_fail(HNTK_EBUDGET,
                         "%d thread workspaces of the largest cell, %.3g GiB each, need %.3g GiB, over the memory "
                         "budget of %.3g GiB (--mem-budget, accepted up to the machine's memory)",
                         threads, per_thread / 1073741824.0, total, budget_gib);
    return HNTK_OK;
}

void fig1_workers_free(fig1_workers *w)
{
    if (w->ctx)
        for (int t = 0; t < w->threads; t++) {
            hntk_net_free(w->ctx[t].net);
            free(w->ctx[t].gram);
        }
    free(w->ctx);
    free(w->ctx_ptrs);
    memset(w, 0, sizeof *w);
}

int fig1_workers_alloc(fig1_workers *w, int threads, const hntk_hyper_arch *a, long B, const double *X,
                       const double *Z, uint64_t seed)
{
    memset(w, 0, sizeof *w);
    w->threads = threads;
    w->ctx = calloc((size_t)threads, sizeof *w->ctx);
    w->ctx_ptrs = calloc((size_t)threads, sizeof *w->ctx_ptrs);
    if (!w->ctx || !w->ctx_ptrs) {
        fig1_workers_free(w);
        return hntk_fail(HNTK_ENOMEM, "cannot allocate %d thread contexts", threads);
    }
    for (int t = 0; t < threads; t++) {
        fig1_ctx *c = &w->ctx[t];
        int st = hntk_net_alloc(a, B, 0, &c->net);
        if (st) {
            fig1_workers_free(w);
            return st;
        }
        c->gram = malloc(sizeof(double) * (size_t)(B * B));
        if (!c->gram) {
            fig1_workers_free(w);
            return hntk_fail(HNTK_ENOMEM, "cannot allocate a %ld x %ld Gram matrix", B, B);
        }
        c->X = X;
        c->Z = Z;
        c->B = B;
        c->seed = seed;
        w->ctx_ptrs[t] = c;
    }
    return HNTK_OK;
}

int fig1_check_streams(long cells, long samples)
{
    const long streams = 4294967296L; /* the sample counter of rng.h is 32 bits */
    if (samples > streams / cells)
        return hntk_fail(HNTK_EINVAL,
                         "--samples = %ld is out of range for %ld cells: cell c uses samples c*N..c*N+N-1 of the "
                         "seed and there are 2^32 of them: accepted 2..%ld",
                         samples, cells, streams / cells);
    return HNTK_OK;
}

/* ---------------------------------------------------------------- progress */

double fig1_sample_cost(const hntk_hyper_arch *a, long B)
{
    /* Drawing the weights (N_w normals) dominates; the passes add B flops per weight. */
    return (double)hntk_param_count(a) * (4.0 + (double)B);
}

void fig1_progress_init(fig1_progress *p, const char *cmd, double total_cost)
{
    memset(p, 0, sizeof *p);
    p->cmd = cmd;
    p->enabled = isatty(STDERR_FILENO) && fig1_is_root();
    p->start = cli_now();
    p->total_cost = total_cost > 0 ? total_cost : 1.0;
}

void fig1_progress_skip(fig1_progress *p, double cost) { p->done_cost += cost; }

void fig1_progress_begin_cell(fig1_progress *p, double cost, const char *label)
{
    p->cell_cost = cost;
    snprintf(p->label, sizeof p->label, "%s", label);
    fig1_progress_update(p, 0, 1);
}

void fig1_progress_update(void *data, long done, long total)
{
    fig1_progress *p = data;
    if (!p->enabled) return;
    double now = cli_now();
    if (done > 0 && done < total && now - p->last_print < 0.2) return; /* at most 5 updates a second */
    p->last_print = now;
    double part = p->cell_cost * (double)done / (double)(total > 0 ? total : 1);
    double elapsed = now - p->start, run = p->run_cost + part;
    double left = p->total_cost - p->done_cost - part;
    fprintf(stderr, "\r%s: %s: %3.0f%% of the work, %.1f s", p->cmd, p->label,
            100.0 * (p->done_cost + part) / p->total_cost, elapsed);
    if (run > 0 && elapsed > 1.0) fprintf(stderr, ", ~%.0f s left", elapsed / run * left);
    fprintf(stderr, "\033[K");
    fflush(stderr);
}

void fig1_progress_end_cell(fig1_progress *p)
{
    p->done_cost += p->cell_cost;
    p->run_cost += p->cell_cost;
    p->cell_cost = 0;
}

void fig1_progress_end(fig1_progress *p)
{
    if (p->enabled) fprintf(stderr, "\r\033[K");
}

/* ---------------------------------------------------- configuration strings */

static void config_append(fig1_config *c, const char *fmt, ...)
{
    if (c->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(c->text + c->len, c->cap - c->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            c->failed = 1;
            return;
        }
        if ((size_t)n < c->cap - c->len) {
            c->len += (size_t)n;
            return;
        }
        size_t cap = 2 * c->cap + (size_t)n + 1;
        char *text = realloc(c->text, cap);
        if (!text) {
            c->failed = 1;
            return;
        }
        c->text = text;
        c->cap = cap;
    }
}

int fig1_run_cells(const fig1_grid *g, hntk_checkpoint *ck, int threads, long *computed)
{
    double total = 0.0;
    for (long c = 0; c < g->cells; c++) {
        hntk_hyper_arch a = g->arch(g->driver, c);
        total += fig1_sample_cost(&a, g->batch) * (double)g->samples;
    }
    fig1_progress progress;
    fig1_progress_init(&progress, g->cmd, total);
    hntk_welford *acc = NULL;
    double *values = malloc(sizeof(double) * (size_t)g->cell_dim);
    int st = values ? hntk_welford_alloc(g->sample_dim, &acc) : hntk_fail(HNTK_ENOMEM, "cannot allocate cell values");
    *computed = 0;
    for (long c = 0; c < g->cells && !st; c++) {
        hntk_hyper_arch a = g->arch(g->driver, c);
        double cost = fig1_sample_cost(&a, g->batch) * (double)g->samples;
        int done;
        st = fig1_cell_done(ck, c, &done);
        if (st) break;
        if (done) {
            fig1_progress_skip(&progress, cost);
            continue;
        }
        if (fig1_should_stop(*computed, g->stop_after)) {
            st = HNTK_EINTR;
            break;
        }
        char label[128];
        g->label(g->driver, c, label, sizeof label);
        fig1_progress_begin_cell(&progress, cost, label);
        double t0 = cli_now();
        fig1_workers w;
        st = fig1_workers_alloc(&w, threads, &a, g->batch, g->X, g->Z, g->seed);
        if (st) break;
        for (int t = 0; t < threads; t++) w.ctx[t].center = g->center;
        hntk_welford_reset(acc);
        hntk_mc_job job = {.samples = g->samples, .first_sample = c * g->samples, .dim = g->sample_dim,
                           .n_ctx = threads, .ctx = w.ctx_ptrs, .fn = g->sample, .progress = fig1_progress_update,
                           .progress_data = &progress, .stop = &fig1_stop_signal};
        st = hntk_mc_run(&job, acc);
        fig1_workers_free(&w);
        if (st) break;
        g->values(g->driver, acc, values);
        st = fig1_cell_store(ck, c, values, cli_now() - t0);
        if (st) break;
        fig1_progress_end_cell(&progress);
        (*computed)++;
    }
    fig1_progress_end(&progress);
    hntk_welford_free(acc);
    free(values);
    return st;
}

int fig1_run_grid(const fig1_grid *g, const char *ckpath, const char *config, int restart, const char *what,
                  int threads, hntk_checkpoint **ck, double *previous, long *loaded)
{
    *previous = 0.0;
    *loaded = 0;
    int st = hntk_checkpoint_open(ckpath, config, g->cells, g->cell_dim, !restart, ck);
    if (st == HNTK_EINVAL || st == HNTK_EFORMAT) {
        char why[1024];
        snprintf(why, sizeof why, "%s", hntk_last_error());
        return hntk_fail(st, "%s; rerun with the arguments that made the checkpoint to resume it, or pass "
                             "--restart to discard it", why);
    }
    if (st) return st;
    *previous = hntk_checkpoint_seconds(*ck);
    *loaded = hntk_checkpoint_cells_done(*ck);
    if (*loaded > 0 && fig1_is_root())
        fprintf(stderr, "hyperntk %s: resuming from %s: %ld of %ld %s already done\n", g->cmd, ckpath, *loaded,
                g->cells, what);
    long computed = 0;
    st = fig1_run_cells(g, *ck, threads, &computed);
    if (st == HNTK_EINTR)
        fig1_report_stop(g->cmd, computed, g->stop_after, hntk_checkpoint_cells_done(*ck), g->cells, what, ckpath);
    return st;
}

void fig1_print_wrote(const char *out, double wall, int threads, long loaded)
{
    const char *resumed = loaded ? ", including the runs before resuming" : "";
    if (hntk_parallel_size() > 1)
        printf("wrote %s (%.2f s on %d MPI ranks x %d threads%s)\n", out, wall, hntk_parallel_size(), threads,
               resumed);
    else
        printf("wrote %s (%.2f s on %d threads%s)\n", out, wall, threads, resumed);
}

void fig1_config_init(fig1_config *c, const char *cmd)
{
    memset(c, 0, sizeof *c);
    c->cap = 256;
    c->text = malloc(c->cap);
    if (!c->text) {
        c->failed = 1;
        return;
    }
    c->text[0] = '\0';
    /* The version too: another version may draw or reduce differently. */
    config_append(c, "hyperntk %s version=%s", cmd, hntk_version());
}

void fig1_config_long(fig1_config *c, const char *name, long value) { config_append(c, " %s=%ld", name, value); }

void fig1_config_double(fig1_config *c, const char *name, double value)
{
    config_append(c, " %s=%.17g", name, value);
}

void fig1_config_list(fig1_config *c, const char *name, const long *values, long count)
{
    config_append(c, " %s=", name);
    for (long i = 0; i < count; i++) config_append(c, "%s%ld", i ? "," : "", values[i]);
}

int fig1_config_status(const fig1_config *c)
{
    return c->failed ? hntk_fail(HNTK_ENOMEM, "cannot build the configuration string") : HNTK_OK;
}

void fig1_config_free(fig1_config *c)
{
    free(c->text);
    memset(c, 0, sizeof *c);
}

char *fig1_checkpoint_path(const char *out)
{
    size_t n = strlen(out) + sizeof ".ckpt";
    char *path = malloc(n);
    if (path) snprintf(path, n, "%s.ckpt", out);
    return path;
}

int fig1_check_out_dir(const char *out)
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

int fig1_check_increasing(const char *cmd, const char *name, const long *values, long count)
{
    for (long i = 1; i < count; i++)
        if (values[i] <= values[i - 1])
            return cli_usage_error(cmd, "--%s: %ld after %ld: the widths must be strictly increasing", name,
                                   values[i], values[i - 1]);
    return CLI_EXIT_OK;
}
