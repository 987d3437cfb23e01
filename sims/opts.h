/* opts.h: declarative options.  One table per subcommand, from which come its
 * usage text (every default, range and preset value shown), the parsing with
 * range checks, the defaults, the checkpoint's configuration string and the
 * configuration attributes of the result file, so that help and behaviour
 * cannot drift apart.
 *
 * A driver declares its options struct and a table of opt_spec rows, each
 * naming a field by offsetof; opts_parse fills the struct: first every
 * default, then the chosen preset's settings, then the command line, in that
 * order whatever the order of the arguments.  Every value, default and preset
 * setting included, goes through the same parser and range check.
 *
 * Positional arguments (files, dataset names) are counted against the
 * command's positional_min..positional_max and left in argv: the driver reads
 * argv[state.first_arg .. state.first_arg + state.n_args - 1] (options and
 * arguments may be mixed on the command line; opts_parse moves the arguments
 * to the end of argv, as getopt does).
 *
 * Two rows may name the same field: an alias (--no-ignore for --strict).
 *
 * Lifetime of strings: OPT_STRING / OPT_STRINGS values point into argv, into
 * the table (defaults), or, when a preset sets them, into a static store owned
 * by opts holding each distinct preset value once; all live until the program
 * exits.  opts_parse is not thread-safe (getopt's globals, that store).
 *
 * Units: angles are radians everywhere ("pi/3", "0.5", "-pi/2" are accepted). */
#ifndef HYPERNTK_SIMS_OPTS_H
#define HYPERNTK_SIMS_OPTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"

enum { OPTS_LIST_MAX = 64, OPTS_MAX_SPECS = 64, OPTS_STRINGS_MAX = 32 };

typedef enum {
    OPT_LONG,   /* long, in lo..hi (1e5 accepted for 100000) */
    OPT_INT,    /* int, in lo..hi */
    OPT_DOUBLE, /* double, finite, in lo..hi */
    OPT_ANGLE,  /* double, radians, in lo..hi: a number or [k]pi[/d] */
    OPT_SEED,   /* uint64_t, 0..2^63-1 (stored exactly as a signed 64-bit attribute) */
    OPT_STRING, /* const char * (points into argv or the table) */
    OPT_FLAG,   /* int, set to 1 by the option, which takes no value */
    OPT_CHOICE, /* int, the index of the value in `choices` */
    OPT_LIST,   /* opts_list: comma-separated longs, each in lo..hi, count in list_min..list_max */
    OPT_STRINGS /* opts_strings: repeatable, each occurrence appends one non-empty value (at most
                 * OPTS_STRINGS_MAX); the command line replaces the default's or preset's values */
} opt_type;

/* Flags of a spec. */
enum {
    OPT_REQUIRED = 1u,   /* must be given (no default) */
    OPT_CONFIG = 2u,     /* a parameter of the results: in the configuration string and file attributes */
    OPT_INCREASING = 4u  /* OPT_LIST: strictly increasing */
};

typedef struct {
    long v[OPTS_LIST_MAX];
    int n;
} opts_list;

typedef struct {
    const char *v[OPTS_STRINGS_MAX];
    int n;
} opts_strings;

typedef struct {
    const char *name;    /* "f-width": the option --f-width, the attribute f_width */
    const char *metavar; /* "n" (ignored for OPT_FLAG) */
    opt_type type;
    size_t offset;       /* offsetof(the driver's struct, field) */
    double lo, hi;       /* accepted range (of each element for OPT_LIST) */
    const char *def;     /* default, as command-line text; NULL: none (0, NULL, empty list) */
    const char *help;    /* one line (a '\n' starts an indented continuation line) */
    unsigned flags;
    const char *const *choices; /* OPT_CHOICE: NULL-terminated */
    int list_min, list_max;     /* OPT_LIST: accepted number of elements (0, 0: 1..OPTS_LIST_MAX) */
} opt_spec;

/* A preset: a named set of values ("samples=400 widths=32,64,128"), selected
 * with --NAME; presets[0] is the one in effect when none is named (its name is
 * shown as "(default)").  Options given on the command line override it. */
typedef struct {
    const char *name;
    const char *help;
    const char *settings; /* space-separated name=value, names of specs */
} opt_preset;

typedef struct {
    const char *cmd;      /* "kernel" */
    const char *synopsis; /* "--inputs IN.h5 --out OUT.h5 [OPTIONS]" (after .positional in the usage line) */
    const char *summary;  /* what the command does, a few lines */
    const char *footer;   /* printed after the options (NULL: the thread note) */
    const opt_spec *specs;
    int n_specs;
    const opt_preset *presets; /* may be NULL */
    int n_presets;
    /* Positional arguments: their metavars for the usage line and the errors
     * ("A.h5 B.h5"; NULL: none), and how many are accepted (max -1: no limit).
     * All zero (the default): none, and any argument is refused. */
    const char *positional;
    int positional_min, positional_max;
} opt_command;

/* The choices of every --sampler option: how f's weights are drawn, dense
 * (every weight, hntk_net) or lazy (Gaussian conditioning, lazy.h). */
enum { SAMPLER_DENSE = 0, SAMPLER_LAZY = 1 };
extern const char *const opts_sampler_names[];

/* The table fields of an opt_command: .specs/.n_specs and .presets/.n_presets. */
#define OPTS_SPECS(arr) .specs = (arr), .n_specs = (int)(sizeof(arr) / sizeof((arr)[0]))
#define OPTS_PRESETS(arr) .presets = (arr), .n_presets = (int)(sizeof(arr) / sizeof((arr)[0]))

/* Which options the command line gave (bit k: specs[k]), the preset chosen,
 * and where the positional arguments are: argv[first_arg], n_args of them. */
typedef struct {
    uint64_t given;
    int preset;
    int first_arg, n_args;
} opts_state;

/* Fill `target` from defaults, preset and argv (argv[0] is the subcommand).
 * Returns 0 on success, -1 after printing --help to stdout, CLI_EXIT_USAGE
 * after printing the error (naming the value and the accepted range; for the
 * positional arguments "unexpected argument 'X'" or "expected N..M arguments
 * (METAVARS), got K"). */
int opts_parse(const opt_command *c, int argc, char **argv, void *target, opts_state *state);
void opts_usage(const opt_command *c, FILE *out);

/* Was spec `name` given on the command line? */
int opts_given(const opt_command *c, const opts_state *state, const char *name);

/* Append " name=value" for every OPT_CONFIG spec to a configuration string
 * (reals %.17g, lists and OPT_STRINGS comma-joined, choices by name). */
void opts_config(const opt_command *c, const void *target, cli_config *cfg);

/* The checkpoint's configuration string: "hyperntk CMD version=V format=F"
 * followed by opts_config; *text malloc'd (caller frees). */
int opts_config_string(const opt_command *c, const void *target, long format, char **text);

/* Write every OPT_CONFIG spec as an attribute of "/": long/int/seed as int64,
 * reals as float64, lists as int64 arrays, strings and choices as strings,
 * OPT_STRINGS as one comma-joined string;
 * plus "preset" (the preset's name) when the command has presets. */
int opts_write_attrs(const opt_command *c, const void *target, const opts_state *state, hntk_h5 *f);

/* What a driver needs to finish its result file: the parsed options' state,
 * the command line (provenance) and the compute time of every run that
 * contributed (seconds). */
typedef struct {
    const opts_state *state;
    int argc;
    char **argv;
    double wall;
} opts_output;

/* The end of every result file: the configuration attributes (opts_write_attrs),
 * the provenance (cli_write_provenance), then commit, or abort when st != 0 (or
 * when one of those fails).  Returns the first failure. */
int opts_commit_result(hntk_h5 *f, int st, const opt_command *c, const void *target, const opts_output *out);

/* Accessors for a field of `target` described by a spec. */
#define OPTS_FIELD(type, target, spec) ((type *)((char *)(target) + (spec)->offset))

/* Parse an angle: a number, or [-][k][*]pi[/d] (radians). 0 on success. */
int opts_parse_angle(const char *text, double *value);

#endif
