/* compare.c: `hyperntk compare`: do two result files hold the same results?
 * Bit for bit by default (reproducibility checks: threads, processes, resumed
 * runs), or within --rtol/--atol; the provenance attributes (when and how a
 * file was made) are ignored unless --strict.  Exit 0 same, 1 different,
 * 2 error, so scripts can branch on it. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "opts.h"

static const char *CMD = "compare";

typedef struct {
    double rtol, atol;
    int strict, quiet;
    opts_strings ignore;
} compare_opts;

#define F(field) offsetof(compare_opts, field)
static const opt_spec SPECS[] = {
    {"rtol", "R", OPT_DOUBLE, F(rtol), 0, 1e300, "0", "relative tolerance", 0},
    {"atol", "A", OPT_DOUBLE, F(atol), 0, 1e300, "0",
     "absolute tolerance.  Numeric values (float and integer datasets and\n"
     "attributes) agree when |a - b| <= A + R |b| elementwise, b from B.h5; NaN\n"
     "agrees with NaN at the same place.  R = A = 0 asks for identical bits.\n"
     "Strings and enums are always compared exactly.", 0},
    {"strict", NULL, OPT_FLAG, F(strict), 0, 0, NULL,
     "also compare the provenance attributes of the root group (listed below),\nignored by default", 0},
    {"no-ignore", NULL, OPT_FLAG, F(strict), 0, 0, NULL, "the same as --strict", 0},
    {"ignore", "NAME", OPT_STRINGS, F(ignore), 0, 0, NULL,
     "also ignore NAME: a plain NAME is an attribute of any object, /PATH an\nobject with everything below it", 0},
    {"ignore-attr", "NAME", OPT_STRINGS, F(ignore), 0, 0, NULL, "the same as --ignore NAME", 0},
    {"quiet", NULL, OPT_FLAG, F(quiet), 0, 0, NULL, "print nothing; only the exit status tells", 0},
};
#undef F

static char footer[1024];
static opt_command COMMAND = {
    .cmd = "compare",
    .positional = "A.h5 B.h5",
    .positional_min = 2,
    .positional_max = 2,
    .synopsis = "[--rtol R] [--atol A] [--strict] [--ignore NAME]... [--quiet]",
    .summary = "Compare two HDF5 files object by object: the same groups, datasets and attributes,\n"
               "with the same types, shapes, values and dimension scales.",
    .footer = footer, /* made by hntk_cmd_compare: it names the provenance attributes */
    OPTS_SPECS(SPECS),
};

int hntk_cmd_compare(int argc, char **argv)
{
    size_t len = (size_t)snprintf(footer, sizeof footer, "Provenance attributes, compared only with --strict:\n  ");
    for (int i = 0; hntk_h5_provenance_attrs[i] && len < sizeof footer; i++)
        len += (size_t)snprintf(footer + len, sizeof footer - len, "%s%s", i ? ", " : "", hntk_h5_provenance_attrs[i]);
    if (len < sizeof footer)
        snprintf(footer + len, sizeof footer - len,
                 ".\n\n"
                 "The report lists each difference on one line: objects or attributes in one file only,\n"
                 "different kinds, dtypes, shapes or dimension scales, and for each dataset or attribute\n"
                 "whose values differ, how many differ and the largest absolute and relative differences\n"
                 "with their index.\n"
                 "Exit status: 0 same, 1 different, 2 error (bad usage, a file missing or not HDF5).");
    compare_opts co = {0};
    opts_state state;
    int code = opts_parse(&COMMAND, argc, argv, &co, &state);
    if (code) return code < 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE; /* any failure is 2, never 1 ("different") */
    const char *ignored[OPTS_STRINGS_MAX + 1] = {NULL};
    for (int k = 0; k < co.ignore.n; k++) ignored[k] = co.ignore.v[k];
    hntk_h5_compare_opts o = {.rtol = co.rtol, .atol = co.atol, .strict = co.strict, .ignore = ignored};
    int quiet = co.quiet;
    const char *a = argv[state.first_arg], *b = argv[state.first_arg + 1];
    hntk_h5_compare_report rep;
    int st = hntk_h5_compare_tol(a, b, &o, &rep);
    if (st) {
        /* Any failure to compare is exit 2, never 1 ("different"). */
        cli_report(CMD, st);
        return CLI_EXIT_USAGE;
    }
    char tol[160];
    if (o.rtol == 0 && o.atol == 0)
        snprintf(tol, sizeof tol, "bit for bit");
    else
        snprintf(tol, sizeof tol, "within rtol %g, atol %g", o.rtol, o.atol);
    const char *what = o.strict ? "" : ", provenance attributes ignored";
    if (rep.differences == 0) {
        if (!quiet)
            printf("same: %s and %s (%s%s; %ld datasets and attributes compared, largest |a-b| %.3g, "
                   "|a-b|/|b| %.3g)\n",
                   a, b, tol, what, rep.compared, rep.max_abs, rep.max_rel);
        code = CLI_EXIT_OK;
    } else {
        if (!quiet)
            printf("%ld difference%s between %s and %s (%s%s; %ld structural, %ld in values):\n%s", rep.differences,
                   rep.differences > 1 ? "s" : "", a, b, tol, what, rep.structural, rep.values,
                   rep.text ? rep.text : "");
        code = CLI_EXIT_FAILURE;
    }
    hntk_h5_compare_report_free(&rep);
    return code;
}
