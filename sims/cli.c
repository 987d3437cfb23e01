/* cli.c: shared driver utilities (see cli.h). */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int cli_parse_long(const char *cmd, const char *name, const char *text, long lo, long hi, long *value)
{
    char *end;
    errno = 0;
    double d = strtod(text, &end); /* accept 1e5 as well as 100000 */
    if (errno || end == text || *end != '\0' || d != floor(d) || d < (double)lo || d > (double)hi) {
        fprintf(stderr, "hyperntk %s: --%s: '%s' is not an integer in the accepted range %ld..%ld\n", cmd, name,
                text, lo, hi);
        return CLI_EXIT_USAGE;
    }
    *value = (long)d;
    return CLI_EXIT_OK;
}

int cli_parse_double(const char *cmd, const char *name, const char *text, double lo, double hi, double *value)
{
    char *end;
    errno = 0;
    double d = strtod(text, &end);
    if (errno || end == text || *end != '\0' || !isfinite(d) || d < lo || d > hi) {
        fprintf(stderr, "hyperntk %s: --%s: '%s' is not a number in the accepted range %g..%g\n", cmd, name, text,
                lo, hi);
        return CLI_EXIT_USAGE;
    }
    *value = d;
    return CLI_EXIT_OK;
}

int cli_parse_seed(const char *cmd, const char *text, uint64_t *seed)
{
    char *end = NULL;
    errno = 0;
    /* Decimal only ("010" is ten, "0x10" is refused); 0..2^63-1, so that the
     * seed is stored exactly as a signed 64-bit attribute. */
    int digit = text[0] >= '0' && text[0] <= '9';
    unsigned long long v = digit ? strtoull(text, &end, 10) : 0;
    if (!digit || errno || *end != '\0' || v > (unsigned long long)INT64_MAX) {
        fprintf(stderr, "hyperntk %s: --seed: '%s' is not a decimal integer in the accepted range 0..%lld\n", cmd,
                text, (long long)INT64_MAX);
        return CLI_EXIT_USAGE;
    }
    *seed = (uint64_t)v;
    return CLI_EXIT_OK;
}

int cli_parse_long_list(const char *cmd, const char *name, const char *text, long lo, long hi, long **values,
                        long *count)
{
    long n = 1;
    for (const char *p = text; *p; p++) n += *p == ',';
    long *v = malloc(sizeof(long) * (size_t)n);
    char *copy = strdup(text);
    if (!v || !copy) {
        free(v);
        free(copy);
        fprintf(stderr, "hyperntk %s: out of memory\n", cmd);
        return CLI_EXIT_FAILURE;
    }
    long k = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (cli_parse_long(cmd, name, tok, lo, hi, &v[k])) {
            free(v);
            free(copy);
            return CLI_EXIT_USAGE;
        }
        k++;
    }
    free(copy);
    if (k != n) {
        fprintf(stderr, "hyperntk %s: --%s: '%s' is not a comma-separated list of integers in %ld..%ld\n", cmd,
                name, text, lo, hi);
        free(v);
        return CLI_EXIT_USAGE;
    }
    *values = v;
    *count = k;
    return CLI_EXIT_OK;
}

/* (device, inode) of the directory of `path` and its last component. */
static int dir_identity(const char *path, struct stat *dir, const char **base)
{
    const char *slash = strrchr(path, '/');
    char buf[4096];
    if (!slash) snprintf(buf, sizeof buf, ".");
    else snprintf(buf, sizeof buf, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    *base = slash ? slash + 1 : path;
    return stat(buf, dir);
}

int cli_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    int ea = stat(a, &sa), eb = stat(b, &sb);
    if (ea == 0 && eb == 0) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    if ((ea == 0) != (eb == 0)) return 0; /* one exists, the other not */
    /* Neither exists yet: the same name in the same directory. */
    const char *ba, *bb;
    if (dir_identity(a, &sa, &ba) || dir_identity(b, &sb, &bb)) return !strcmp(a, b);
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino && !strcmp(ba, bb);
}

int cli_report(const char *cmd, int status)
{
    fprintf(stderr, "hyperntk %s: %s: %s\n", cmd, hntk_status_name(status), hntk_last_error());
    return (status == HNTK_EINVAL || status == HNTK_EBUDGET) ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "hyperntk %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'hyperntk %s --help'.\n", cmd);
    return CLI_EXIT_USAGE;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_progress_init(cli_progress *p, const char *label)
{
    p->label = label;
    p->start = cli_now();
    p->last = p->start;
    p->tty = isatty(STDERR_FILENO);
    p->enabled = hntk_parallel_rank() == 0;
}

void cli_progress_update(void *data, long done, long total)
{
    cli_progress *p = data;
    if (!p->enabled) return;
    double now = cli_now(), elapsed = now - p->start;
    /* Off a terminal (nohup, a Slurm log): a line at most every 30 s. */
    if (!p->tty && (done >= total || now - p->last < 30.0)) return;
    p->last = now;
    double eta = done > 0 ? elapsed * (double)(total - done) / (double)done : 0.0;
    fprintf(stderr, "%s%s: %ld/%ld (%.0f%%), %.1f s elapsed, ~%.1f s left%s", p->tty ? "\r" : "", p->label, done,
            total, 100.0 * (double)done / (double)total, elapsed, eta, p->tty ? "   " : "\n");
    fflush(stderr);
}

void cli_progress_end(cli_progress *p)
{
    if (p->enabled && p->tty) fprintf(stderr, "\n");
}

size_t cli_default_budget(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || page <= 0) return (size_t)16 << 30;
    return (size_t)pages * (size_t)page / 4 * 3;
}

static int write_command_line(hntk_h5 *f, int argc, char **argv)
{
    size_t len = sizeof "hyperntk";
    for (int i = 0; i < argc; i++) len += strlen(argv[i]) + 1;
    char *line = malloc(len);
    if (!line) return hntk_fail(HNTK_ENOMEM, "cannot allocate the command line");
    strcpy(line, "hyperntk"); /* argv[0] is the subcommand */
    for (int i = 0; i < argc; i++) {
        strcat(line, " ");
        strcat(line, argv[i]);
    }
    int st = hntk_h5_attr_string(f, "/", "command_line", line);
    free(line);
    return st;
}

int cli_write_provenance(hntk_h5 *f, const char *cmd, int argc, char **argv, double wall_seconds)
{
    char date[64], host[256] = "unknown";
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    gethostname(host, sizeof host - 1);
    int st;
    if ((st = hntk_h5_attr_string(f, "/", "program", "hyperntk"))) return st;
    if ((st = hntk_h5_attr_string(f, "/", "subcommand", cmd))) return st;
    if ((st = hntk_h5_attr_string(f, "/", "version", hntk_version()))) return st;
    if ((st = hntk_h5_attr_string(f, "/", "git_revision", hntk_git_revision()))) return st;
    if ((st = write_command_line(f, argc, argv))) return st;
    if ((st = hntk_h5_attr_string(f, "/", "created_utc", date))) return st;
    if ((st = hntk_h5_attr_string(f, "/", "host", host))) return st;
    if ((st = hntk_h5_attr_double(f, "/", "wall_time_seconds", wall_seconds))) return st;
    return HNTK_OK;
}

/* ---------------------------------------------------- configuration strings */

static void config_append(cli_config *c, const char *fmt, ...)
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

void cli_config_init(cli_config *c, const char *cmd)
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

void cli_config_long(cli_config *c, const char *name, long value) { config_append(c, " %s=%ld", name, value); }

void cli_config_double(cli_config *c, const char *name, double value)
{
    config_append(c, " %s=%.17g", name, value);
}

void cli_config_list(cli_config *c, const char *name, const long *values, long count)
{
    config_append(c, " %s=", name);
    for (long i = 0; i < count; i++) config_append(c, "%s%ld", i ? "," : "", values[i]);
}

void cli_config_string(cli_config *c, const char *name, const char *value)
{
    config_append(c, " %s=%s", name, value);
}

int cli_config_status(const cli_config *c)
{
    return c->failed ? hntk_fail(HNTK_ENOMEM, "cannot build the configuration string") : HNTK_OK;
}

void cli_config_free(cli_config *c)
{
    free(c->text);
    memset(c, 0, sizeof *c);
}


void cli_cos_sin(double angle, double *c, double *s)
{
    if (angle == 0.0) { *c = 1.0; *s = 0.0; }
    else if (angle == CLI_PI / 2.0) { *c = 0.0; *s = 1.0; }
    else if (angle == CLI_PI) { *c = -1.0; *s = 0.0; }
    else { *c = cos(angle); *s = sin(angle); }
}
