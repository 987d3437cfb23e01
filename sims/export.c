/* export.c: `hyperntk export`: datasets or attributes of a result file as
 * whitespace-separated text columns, the form gnuplot (and awk) read; or one
 * 2-D dataset with its row and column coordinates as a gnuplot `nonuniform
 * matrix` (heat maps). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static const char *CMD = "export";

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: hyperntk export FILE.h5 DATASET [DATASET...] [--transpose]\n"
            "       hyperntk export FILE.h5 --matrix ROWS COLS DATA\n"
            "       hyperntk export FILE.h5 --attr NAME [--object PATH]\n"
            "Print datasets as text columns for gnuplot: row i holds entry i of every\n"
            "dataset side by side (a 2-D dataset contributes all its columns), so all\n"
            "datasets must have the same number of rows; a scalar prints one value.\n"
            "Values are printed with 17 significant digits (they read back bit-exact).\n\n"
            "  --transpose       print every 2-D dataset transposed (its columns as rows)\n"
            "  --matrix          print the 2-D dataset DATA (R, C) in gnuplot's `nonuniform matrix`\n"
            "                    format: a first line with C and the C values of COLS, then row i\n"
            "                    with ROWS[i] and DATA[i][0..C-1]; ROWS (R) and COLS (C) are 1-D.\n"
            "                    gnuplot: plot 'f' nonuniform matrix using 1:2:3 (x = COLS, y = ROWS)\n"
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

/* A numeric dataset of rank 0..4 as float64: floating-point as stored,
 * integers (widths, counts) converted (exact below 2^53). */
static int read_numeric(const char *path, const char *name, int *rank, long *dims, double **data)
{
    int st = hntk_h5_read_any(path, name, rank, dims, data);
    if (st != HNTK_EFORMAT) return st;
    char why[1024];
    snprintf(why, sizeof why, "%s", hntk_last_error());
    for (int r = 0; r <= 4; r++) {
        long *v = NULL;
        if (hntk_h5_read_long(path, name, r, dims, &v)) continue;
        long n = 1;
        for (int k = 0; k < r; k++) n *= dims[k];
        *data = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
        if (!*data) {
            free(v);
            return hntk_fail(HNTK_ENOMEM, "out of memory");
        }
        for (long i = 0; i < n; i++) (*data)[i] = (double)v[i];
        free(v);
        *rank = r;
        return HNTK_OK;
    }
    return hntk_fail(HNTK_EFORMAT, "%s (nor an integer dataset)", why);
}

/* A 2-D dataset with 1-D coordinates as gnuplot's `nonuniform matrix`. */
static int print_matrix(const char *path, char **names, int header)
{
    column_block b[3]; /* ROWS, COLS, DATA */
    memset(b, 0, sizeof b);
    int code = CLI_EXIT_OK;
    for (int k = 0; k < 3 && code == CLI_EXIT_OK; k++) {
        b[k].name = names[k];
        int st = read_numeric(path, names[k], &b[k].rank, b[k].dims, &b[k].data);
        if (st) code = cli_report(CMD, st);
        else if (b[k].rank != (k == 2 ? 2 : 1))
            code = cli_report(CMD, hntk_fail(HNTK_EINVAL, "--matrix: dataset '%s' has rank %d, expected %d (%s)",
                                             names[k], b[k].rank, k == 2 ? 2 : 1,
                                             k == 0 ? "ROWS" : k == 1 ? "COLS" : "DATA"));
    }
    if (code == CLI_EXIT_OK && (b[2].dims[0] != b[0].dims[0] || b[2].dims[1] != b[1].dims[0]))
        code = cli_report(CMD, hntk_fail(HNTK_EINVAL, "--matrix: DATA '%s' is %ld x %ld but ROWS '%s' has %ld "
                                         "entries and COLS '%s' %ld", names[2], b[2].dims[0], b[2].dims[1],
                                         names[0], b[0].dims[0], names[1], b[1].dims[0]));
    if (code == CLI_EXIT_OK) {
        long R = b[0].dims[0], C = b[1].dims[0];
        if (header) printf("# %s: nonuniform matrix: %s (rows, y) x %s (columns, x) of %s\n", path, names[0], names[1], names[2]);
        printf("%ld", C);
        for (long j = 0; j < C; j++) printf(" %.17g", b[1].data[j]);
        printf("\n");
        for (long i = 0; i < R; i++) {
            printf("%.17g", b[0].data[i]);
            for (long j = 0; j < C; j++) printf(" %.17g", b[2].data[i * C + j]);
            printf("\n");
        }
    }
    for (int k = 0; k < 3; k++) free(b[k].data);
    return code;
}

/* In place: a (rows, cols) row-major block becomes its (cols, rows) transpose. */
static int transpose_block(column_block *b)
{
    if (b->rank != 2) return CLI_EXIT_OK;
    long R = b->dims[0], C = b->dims[1];
    double *t = malloc(sizeof(double) * (size_t)(R * C > 0 ? R * C : 1));
    if (!t) return cli_report(CMD, hntk_fail(HNTK_ENOMEM, "out of memory transposing '%s'", b->name));
    for (long i = 0; i < R; i++)
        for (long j = 0; j < C; j++) t[j * R + i] = b->data[i * C + j];
    free(b->data);
    b->data = t;
    b->dims[0] = C;
    b->dims[1] = R;
    return CLI_EXIT_OK;
}

int hntk_cmd_export(int argc, char **argv)
{
    enum { OPT_ATTR = 256, OPT_OBJECT, OPT_NO_HEADER, OPT_TRANSPOSE, OPT_MATRIX, OPT_HELP };
    static const struct option longopts[] = {{"attr", required_argument, 0, OPT_ATTR},
                                             {"object", required_argument, 0, OPT_OBJECT},
                                             {"no-header", no_argument, 0, OPT_NO_HEADER},
                                             {"transpose", no_argument, 0, OPT_TRANSPOSE},
                                             {"matrix", no_argument, 0, OPT_MATRIX},
                                             {"help", no_argument, 0, OPT_HELP},
                                             {0, 0, 0, 0}};
    const char *attr = NULL, *object = "/";
    int header = 1, transpose = 0, matrix = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_ATTR: attr = optarg; break;
        case OPT_OBJECT: object = optarg; break;
        case OPT_NO_HEADER: header = 0; break;
        case OPT_TRANSPOSE: transpose = 1; break;
        case OPT_MATRIX: matrix = 1; break;
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
    if (matrix) {
        if (transpose) return cli_usage_error(CMD, "--matrix and --transpose do not combine (swap x and y in gnuplot: using 2:1:3)");
        if (argc - optind != 3)
            return cli_usage_error(CMD, "--matrix takes exactly three datasets, ROWS COLS DATA; got %d", argc - optind);
        return print_matrix(path, argv + optind, header);
    }
    long n = argc - optind;
    if (n < 1) return cli_usage_error(CMD, "at least one DATASET is required");
    column_block *blocks = calloc((size_t)n, sizeof *blocks);
    if (!blocks) return cli_report(CMD, hntk_fail(HNTK_ENOMEM, "out of memory"));
    int code = CLI_EXIT_OK;
    for (long k = 0; k < n && code == CLI_EXIT_OK; k++) {
        column_block *b = &blocks[k];
        b->name = argv[optind + k];
        int st = read_numeric(path, b->name, &b->rank, b->dims, &b->data);
        if (st) { code = cli_report(CMD, st); break; }
        if (b->rank > 2) {
            code = cli_report(CMD, hntk_fail(HNTK_EINVAL, "dataset '%s' has rank %d: export prints rank 0..2 "
                                             "(select a slice in your own reader)", b->name, b->rank));
            break;
        }
        if (transpose && (code = transpose_block(b)) != CLI_EXIT_OK) break;
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
