/* export.c: `hyperntk export`: datasets or attributes of a result file as
 * whitespace-separated text columns, the form gnuplot (and awk) read. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static const char *CMD = "export";

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: hyperntk export FILE.h5 DATASET [DATASET...]\n"
            "       hyperntk export FILE.h5 --attr NAME [--object PATH]\n"
            "Print datasets as text columns for gnuplot: row i holds entry i of every\n"
            "dataset side by side (a 2-D dataset contributes all its columns), so all\n"
            "datasets must have the same number of rows; a scalar prints one value.\n"
            "Values are printed with 17 significant digits (they read back bit-exact).\n\n"
            "  --attr NAME       print attribute NAME instead (of /, or of --object)\n"
            "  --object PATH     the group or dataset holding the attribute (default /)\n"
            "  --no-header       omit the leading '# ...' line naming the columns\n"
            "  --help            this text\n");
}

typedef struct {
    const char *name;
    int rank;
    long dims[4];
    double *data;
    long rows, cols;
} column_block;

static int print_attr(const char *path, const char *obj, const char *name)
{
    long lv;
    double dv;
    char sv[4096];
    if (!hntk_h5_read_attr_long(path, obj, name, &lv)) printf("%ld\n", lv);
    else if (!hntk_h5_read_attr_double(path, obj, name, &dv)) printf("%.17g\n", dv);
    else if (!hntk_h5_read_attr_string(path, obj, name, sv, sizeof sv)) printf("%s\n", sv);
    else return cli_report(CMD, HNTK_EFORMAT);
    return CLI_EXIT_OK;
}

int hntk_cmd_export(int argc, char **argv)
{
    enum { OPT_ATTR = 256, OPT_OBJECT, OPT_NO_HEADER, OPT_HELP };
    static const struct option longopts[] = {{"attr", required_argument, 0, OPT_ATTR},
                                             {"object", required_argument, 0, OPT_OBJECT},
                                             {"no-header", no_argument, 0, OPT_NO_HEADER},
                                             {"help", no_argument, 0, OPT_HELP},
                                             {0, 0, 0, 0}};
    const char *attr = NULL, *object = "/";
    int header = 1, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_ATTR: attr = optarg; break;
        case OPT_OBJECT: object = optarg; break;
        case OPT_NO_HEADER: header = 0; break;
        case OPT_HELP: usage(stdout); return CLI_EXIT_OK;
        default: return cli_usage_error(CMD, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) return cli_usage_error(CMD, "FILE.h5 is required");
    const char *path = argv[optind++];
    if (attr) {
        if (optind < argc) return cli_usage_error(CMD, "--attr takes no DATASET arguments");
        return print_attr(path, object, attr);
    }
    long n = argc - optind;
    if (n < 1) return cli_usage_error(CMD, "at least one DATASET is required");
    column_block *blocks = calloc((size_t)n, sizeof *blocks);
    if (!blocks) return cli_report(CMD, hntk_fail(HNTK_ENOMEM, "out of memory"));
    int code = CLI_EXIT_OK;
    for (long k = 0; k < n && code == CLI_EXIT_OK; k++) {
        column_block *b = &blocks[k];
        b->name = argv[optind + k];
        int st = hntk_h5_read_any(path, b->name, &b->rank, b->dims, &b->data);
        if (st) { code = cli_report(CMD, st); break; }
        if (b->rank > 2) {
            code = cli_report(CMD, hntk_fail(HNTK_EINVAL, "dataset '%s' has rank %d: export prints rank 0..2 "
                                             "(select a slice in your own reader)", b->name, b->rank));
            break;
        }
        b->rows = b->rank == 0 ? 1 : b->dims[0];
        b->cols = b->rank == 2 ? b->dims[1] : 1;
        if (b->rows != blocks[0].rows)
            code = cli_report(CMD, hntk_fail(HNTK_EINVAL, "dataset '%s' has %ld rows but '%s' has %ld: "
                                             "columns printed side by side need equal row counts",
                                             b->name, b->rows, blocks[0].name, blocks[0].rows));
    }
    if (code == CLI_EXIT_OK) {
        if (header) {
            printf("# %s:", path);
            for (long k = 0; k < n; k++) printf(" %s(%ld col%s)", blocks[k].name, blocks[k].cols, blocks[k].cols > 1 ? "s" : "");
            printf("\n");
        }
        for (long i = 0; i < blocks[0].rows; i++) {
            for (long k = 0; k < n; k++)
                for (long j = 0; j < blocks[k].cols; j++)
                    printf("%s%.17g", (k || j) ? " " : "", blocks[k].data[i * blocks[k].cols + j]);
            printf("\n");
        }
    }
    for (long k = 0; k < n; k++) free(blocks[k].data);
    free(blocks);
    return code;
}
