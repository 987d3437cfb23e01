/* compare.c: `hyperntk compare`: are two result files the same, bit for bit,
 * apart from the timing attributes?  (Reproducibility checks: threads,
 * processes, resumed runs.) */
#include <getopt.h>
#include <stdlib.h>

#include "cli.h"
#include "commands.h"

static const char *CMD = "compare";

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: hyperntk compare A.h5 B.h5 [--ignore-attr NAME]...\n"
            "Exit 0 when both files hold the same groups, datasets and attributes with the\n"
            "same bytes, apart from the timing attributes created_utc and wall_time_seconds;\n"
            "exit 1 and list the differences otherwise.\n\n"
            "  --ignore-attr NAME   also ignore attribute NAME (repeatable)\n"
            "  --help               this text\n");
}

int hntk_cmd_compare(int argc, char **argv)
{
    enum { OPT_IGNORE = 256, OPT_HELP, MAX_IGNORED = 32 };
    static const struct option longopts[] = {{"ignore-attr", required_argument, 0, OPT_IGNORE},
                                             {"help", no_argument, 0, OPT_HELP},
                                             {0, 0, 0, 0}};
    const char *ignored[MAX_IGNORED + 3] = {"created_utc", "wall_time_seconds"};
    int n_ignored = 2, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_IGNORE:
            if (n_ignored >= MAX_IGNORED) return cli_usage_error(CMD, "--ignore-attr: at most %d names", MAX_IGNORED - 2);
            ignored[n_ignored++] = optarg;
            break;
        case OPT_HELP: usage(stdout); return CLI_EXIT_OK;
        default: return cli_usage_error(CMD, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    ignored[n_ignored] = NULL;
    if (argc - optind != 2) return cli_usage_error(CMD, "two files are required, got %d", argc - optind);
    long differences;
    char report[4096];
    int st = hntk_h5_compare(argv[optind], argv[optind + 1], ignored, &differences, report, sizeof report);
    if (st) return cli_report(CMD, st);
    if (differences == 0) {
        printf("identical: %s and %s (timing attributes ignored)\n", argv[optind], argv[optind + 1]);
        return CLI_EXIT_OK;
    }
    printf("%ld difference%s between %s and %s:\n%s", differences, differences > 1 ? "s" : "", argv[optind],
           argv[optind + 1], report);
    return CLI_EXIT_FAILURE;
}
