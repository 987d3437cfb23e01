/* compare.c: `hyperntk compare`: do two result files hold the same results?
 * Bit for bit by default (reproducibility checks: threads, processes, resumed
 * runs), or within --rtol/--atol; the provenance attributes (when and how a
 * file was made) are ignored unless --strict.  Exit 0 same, 1 different,
 * 2 error, so scripts can branch on it. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static const char *CMD = "compare";

/* Accepted range of --rtol and --atol. */
#define TOL_MAX 1e300

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: hyperntk compare A.h5 B.h5 [--rtol R] [--atol A] [--strict] [--ignore NAME]... [--quiet]\n"
            "Compare two HDF5 files object by object: the same groups, datasets and attributes,\n"
            "with the same types, shapes, values and dimension scales.\n\n"
            "  --rtol R        relative tolerance, a number in 0..1e300 (default 0)\n"
            "  --atol A        absolute tolerance, a number in 0..1e300 (default 0)\n"
            "                  Numeric values (float and integer datasets and attributes) agree when\n"
            "                  |a - b| <= A + R |b| elementwise, b from B.h5; NaN agrees with NaN at the\n"
            "                  same place.  R = A = 0 (the default) asks for identical bits.\n"
            "                  Strings and enums are always compared exactly.\n"
            "  --strict        also compare the provenance attributes of the root group, ignored by\n"
            "                  default: ");
    for (int i = 0; hntk_h5_provenance_attrs[i]; i++)
        fprintf(out, "%s%s", i ? ", " : "", hntk_h5_provenance_attrs[i]);
    fprintf(out,
            "\n"
            "                  (--no-ignore is the same)\n"
            "  --ignore NAME   also ignore NAME (repeatable; default none): a plain NAME is an attribute\n"
            "                  of any object, /PATH an object with everything below it\n"
            "                  (--ignore-attr NAME is the same)\n"
            "  --quiet         print nothing; only the exit status tells\n"
            "  --help          this text\n\n"
            "The report lists each difference on one line: objects or attributes in one file only,\n"
            "different kinds, dtypes, shapes or dimension scales, and for each dataset or attribute\n"
            "whose values differ, how many differ and the largest absolute and relative differences\n"
            "with their index.\n"
            "Exit status: 0 same, 1 different, 2 error (bad usage, a file missing or not HDF5).\n");
}

int hntk_cmd_compare(int argc, char **argv)
{
    enum { OPT_IGNORE = 256, OPT_RTOL, OPT_ATOL, OPT_STRICT, OPT_QUIET, OPT_HELP };
    static const struct option longopts[] = {{"ignore", required_argument, 0, OPT_IGNORE},
                                             {"ignore-attr", required_argument, 0, OPT_IGNORE},
                                             {"rtol", required_argument, 0, OPT_RTOL},
                                             {"atol", required_argument, 0, OPT_ATOL},
                                             {"strict", no_argument, 0, OPT_STRICT},
                                             {"no-ignore", no_argument, 0, OPT_STRICT},
                                             {"quiet", no_argument, 0, OPT_QUIET},
                                             {"help", no_argument, 0, OPT_HELP},
                                             {0, 0, 0, 0}};
    /* At most argc names can be given. */
    const char **ignored = calloc((size_t)argc + 1, sizeof *ignored);
    if (!ignored) {
        fprintf(stderr, "hyperntk %s: out of memory\n", CMD);
        return CLI_EXIT_USAGE;
    }
    hntk_h5_compare_opts o = {.rtol = 0, .atol = 0, .strict = 0, .ignore = ignored};
    int n_ignored = 0, quiet = 0, c, code = CLI_EXIT_OK;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_IGNORE:
            if (!*optarg) {
                code = cli_usage_error(CMD, "--ignore: the name must be non-empty");
                goto out;
            }
            ignored[n_ignored++] = optarg;
            break;
        case OPT_RTOL:
            if ((code = cli_parse_double(CMD, "rtol", optarg, 0, TOL_MAX, &o.rtol))) goto out;
            break;
        case OPT_ATOL:
            if ((code = cli_parse_double(CMD, "atol", optarg, 0, TOL_MAX, &o.atol))) goto out;
            break;
        case OPT_STRICT: o.strict = 1; break;
        case OPT_QUIET: quiet = 1; break;
        case OPT_HELP:
            usage(stdout);
            goto out;
        default:
            code = cli_usage_error(CMD, "unknown or incomplete option '%s'", argv[optind - 1]);
            goto out;
        }
    }
    if (argc - optind != 2) {
        code = cli_usage_error(CMD, "two files are required, got %d", argc - optind);
        goto out;
    }
    const char *a = argv[optind], *b = argv[optind + 1];
    hntk_h5_compare_report rep;
    int st = hntk_h5_compare_tol(a, b, &o, &rep);
    if (st) {
        /* Any failure to compare is exit 2, never 1 ("different"). */
        cli_report(CMD, st);
        code = CLI_EXIT_USAGE;
        goto out;
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
out:
    free(ignored);
    return code;
}
