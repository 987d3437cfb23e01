/* cli.h: what every driver shares: option values with range checks, error
 * reporting, progress on a terminal, and the provenance attributes of a result. */
#ifndef HYPERNTK_SIMS_CLI_H
#define HYPERNTK_SIMS_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hyperntk/hyperntk.h"

/* Exit codes of every subcommand. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAILURE = 1, CLI_EXIT_USAGE = 2 };

/* Parse `text` as the value of option `name`; on failure print
 * "hyperntk CMD: --name: 'text' is not ... (accepted lo..hi)" and return CLI_EXIT_USAGE. */
int cli_parse_long(const char *cmd, const char *name, const char *text, long lo, long hi, long *value);
int cli_parse_double(const char *cmd, const char *name, const char *text, double lo, double hi, double *value);
int cli_parse_seed(const char *cmd, const char *text, uint64_t *seed);
/* A comma list of longs, each in lo..hi; *values malloc'd. */
int cli_parse_long_list(const char *cmd, const char *name, const char *text, long lo, long hi, long **values,
                        long *count);

/* 1 if the paths name the same file: the same device and inode when both
 * exist, else the same name in the same directory (so "./k.h5", "k.h5" and
 * "../d/k.h5" from d are one file); 0 otherwise. */
int cli_same_file(const char *a, const char *b);

/* Print "hyperntk CMD: <status name>: <library message>" to stderr; returns CLI_EXIT_FAILURE
 * (CLI_EXIT_USAGE for HNTK_EINVAL / HNTK_EBUDGET, which are bad arguments). */
int cli_report(const char *cmd, int status);

/* Print the usage hint "Try 'hyperntk CMD --help'." and return CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Progress of one Monte Carlo job on stderr (rank 0): a live line on a
 * terminal, otherwise a line at most every 30 s with the ETA. */
typedef struct {
    const char *label;
    double start, last;
    int tty, enabled;
} cli_progress;
void cli_progress_init(cli_progress *p, const char *label);
void cli_progress_update(void *p, long done, long total); /* matches hntk_mc_progress_fn */
void cli_progress_end(cli_progress *p);

#define CLI_PI 3.14159265358979323846

/* (cos A, sin A) of an angle in radians, exact at 0, pi/2 and pi (the doubles
 * nearest to them), so that "pi/2" gives exactly perpendicular inputs. */
void cli_cos_sin(double angle, double *c, double *s);

/* Seconds since an arbitrary origin (monotonic clock). */
double cli_now(void);

/* Root attributes of every result file: program, subcommand, version, git
 * revision, command line, date, host and the wall time of the run.  The thread
 * count is deliberately not recorded: results do not depend on it. */
int cli_write_provenance(hntk_h5 *f, const char *cmd, int argc, char **argv, double wall_seconds);

/* Default memory budget (bytes) for one run: 3/4 of physical memory. */
size_t cli_default_budget(void);

/* ---- configuration strings: one line naming every parameter that affects
 * a run's values, for checkpoints (checkpoint.h) ---- */

typedef struct {
    char *text;
    size_t len, cap;
    int failed;
} cli_config;

void cli_config_init(cli_config *c, const char *cmd);
void cli_config_long(cli_config *c, const char *name, long value);
void cli_config_double(cli_config *c, const char *name, double value); /* %.17g */
void cli_config_list(cli_config *c, const char *name, const long *values, long count);
void cli_config_string(cli_config *c, const char *name, const char *value);
/* HNTK_ENOMEM if an append failed. */
int cli_config_status(const cli_config *c);
void cli_config_free(cli_config *c);

#endif
