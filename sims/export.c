/* export.c: `hyperntk export`: datasets or attributes of a result file as
 * whitespace-separated text columns, the form gnuplot (and awk) read; or one
 * 2-D dataset with its row and column coordinates as a gnuplot `nonuniform
 * matrix` (heat maps). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "opts.h"

static const char *CMD = "export";

typedef struct {
    const char *attr, *object;
    int no_header, transpose, matrix;
} export_opts;

#define F(field) offsetof(export_opts, field)
static const opt_spec SPECS[] = {
    {"transpose", NULL, OPT_FLAG, F(transpose), 0, 0, NULL, "print every 2-D dataset transposed (its columns as rows)", 0},
    {"matrix", NULL, OPT_FLAG, F(matrix), 0, 0, NULL,
     "the arguments are ROWS COLS DATA: print the 2-D dataset DATA (R, C) in\n"
     "gnuplot's `nonuniform matrix` format: a first line with C and the C values\n"
     "of COLS, then row i with ROWS[i] and DATA[i][0..C-1]; ROWS (R), COLS (C) 1-D.\n"
     "gnuplot: plot 'f' nonuniform matrix using 1:2:3 (x = COLS, y = ROWS)", 0},
    {"attr", "NAME", OPT_STRING, F(attr), 0, 0, NULL,
     "print attribute NAME (of /, or of --object) instead; no DATASET arguments\n(default: print datasets)", 0},
    {"object", "PATH", OPT_STRING, F(object), 0, 0, "/", "the group or dataset holding the --attr attribute", 0},
    {"no-header", NULL, OPT_FLAG, F(no_header), 0, 0, NULL, "omit the leading '# ...' line naming the columns", 0},
};
#undef F

static const opt_command COMMAND = {
    .cmd = "export",
    .positional = "FILE.h5 DATASET...",
    .positional_min = 1,
    .positional_max = -1,
    .synopsis = "[--transpose] [--no-header]\n"
                "       hyperntk export FILE.h5 --matrix ROWS COLS DATA\n"
                "       hyperntk export FILE.h5 --attr NAME [--object PATH]",
    .summary = "Print datasets as text columns for gnuplot: row i holds entry i of every\n"
               "dataset side by side (a 2-D dataset contributes all its columns), so all\n"
               "datasets must have the same number of rows; a scalar prints one value.\n"
               "Values are printed with 17 significant digits (they read back bit-exact).",
    .footer = "Integer datasets are printed as numbers too (exact below 2^53).",
    OPTS_SPECS(SPECS),
};

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
    export_opts o = {0};
    opts_state state;
    int st = opts_parse(&COMMAND, argc, argv, &o, &state);
    if (st) return st < 0 ? CLI_EXIT_OK : st;
    const char *path = argv[state.first_arg];
    char **names = argv + state.first_arg + 1;
    long n = state.n_args - 1;
    int header = !o.no_header;
    if (o.attr) {
        if (n > 0) return cli_usage_error(CMD, "--attr takes no DATASET arguments");
        return print_attr(path, o.object, o.attr);
    }
    if (o.matrix) {
        if (o.transpose) return cli_usage_error(CMD, "--matrix and --transpose do not combine (swap x and y in gnuplot: using 2:1:3)");
        if (n != 3) return cli_usage_error(CMD, "--matrix takes exactly three datasets, ROWS COLS DATA; got %ld", n);
        return print_matrix(path, names, header);
    }
    if (n < 1) return cli_usage_error(CMD, "at least one DATASET is required");
    column_block *blocks = calloc((size_t)n, sizeof *blocks);
    if (!blocks) return cli_report(CMD, hntk_fail(HNTK_ENOMEM, "out of memory"));
    int code = CLI_EXIT_OK;
    for (long k = 0; k < n && code == CLI_EXIT_OK; k++) {
        column_block *b = &blocks[k];
        b->name = names[k];
        st = read_numeric(path, b->name, &b->rank, b->dims, &b->data);
        if (st) { code = cli_report(CMD, st); break; }
        if (b->rank > 2) {
            code = cli_report(CMD, hntk_fail(HNTK_EINVAL, "dataset '%s' has rank %d: export prints rank 0..2 "
                                             "(select a slice in your own reader)", b->name, b->rank));
            break;
        }
        if (o.transpose && (code = transpose_block(b)) != CLI_EXIT_OK) break;
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
