/* opts.c: declarative options (see opts.h). */
#define _POSIX_C_SOURCE 200809L
#include "opts.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define OPTS_PI 3.14159265358979323846

const char *const opts_sampler_names[] = {"dense", "lazy", NULL};

/* ------------------------------------------------------------ one value */

int opts_parse_angle(const char *text, double *value)
{
    const char *p = text;
    double sign = 1.0;
    if (*p == '-') {
        sign = -1.0;
        p++;
    }
    const char *pi = strstr(p, "pi");
    if (!pi) {
        char *end;
        errno = 0;
        double d = strtod(text, &end);
        if (errno || end == text || *end || !isfinite(d)) return -1;
        *value = d;
        return 0;
    }
    double k = 1.0, d = 1.0;
    if (pi != p) { /* "2pi" or "2*pi" */
        char *end;
        k = strtod(p, &end);
        if (end == p || !(end == pi || (*end == '*' && end + 1 == pi)) || !isfinite(k)) return -1;
    }
    const char *rest = pi + 2;
    if (*rest == '/') {
        char *end;
        d = strtod(rest + 1, &end);
        if (end == rest + 1 || *end || !isfinite(d) || d == 0.0) return -1;
    } else if (*rest) {
        return -1;
    }
    /* k pi / d, rounded once: pi/2 is the double nearest to M_PI/2. */
    *value = sign * (k * OPTS_PI) / d;
    return 0;
}

/* An angle as "0", "pi", "-pi/2", "pi/4" when it is one of those doubles, else %g. */
static void angle_text(double a, char *buf, size_t cap)
{
    static const int den[] = {1, 2, 3, 4, 6};
    if (a == 0.0) {
        snprintf(buf, cap, "0");
        return;
    }
    for (int k = -4; k <= 4; k++)
        for (size_t d = 0; d < sizeof den / sizeof den[0]; d++)
            if (k != 0 && a == (k * OPTS_PI) / den[d]) {
                const char *sign = k < 0 ? "-" : "";
                int m = k < 0 ? -k : k;
                if (m == 1 && den[d] == 1) snprintf(buf, cap, "%spi", sign);
                else if (den[d] == 1) snprintf(buf, cap, "%s%dpi", sign, m);
                else if (m == 1) snprintf(buf, cap, "%spi/%d", sign, den[d]);
                else snprintf(buf, cap, "%s%dpi/%d", sign, m, den[d]);
                return;
            }
    snprintf(buf, cap, "%g", a);
}

static void range_text(const opt_spec *s, char *buf, size_t cap)
{
    switch (s->type) {
    case OPT_LONG: case OPT_INT: case OPT_LIST: snprintf(buf, cap, "%.0f..%.0f", s->lo, s->hi); break;
    case OPT_DOUBLE: snprintf(buf, cap, "%g..%g", s->lo, s->hi); break;
    case OPT_ANGLE: {
        char lo[32], hi[32];
        angle_text(s->lo, lo, sizeof lo);
        angle_text(s->hi, hi, sizeof hi);
        snprintf(buf, cap, "%s..%s", lo, hi);
        break;
    }
    case OPT_SEED: snprintf(buf, cap, "0..%lld, decimal", (long long)INT64_MAX); break;
    case OPT_CHOICE: {
        size_t len = 0;
        buf[0] = '\0';
        for (int k = 0; s->choices[k]; k++)
            len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0, "%s%s", k ? ", " : "", s->choices[k]);
        break;
    }
    default: buf[0] = '\0';
    }
}

static int bad_value(const char *cmd, const opt_spec *s, const char *text, const char *what)
{
    char range[256];
    range_text(s, range, sizeof range);
    fprintf(stderr, "hyperntk %s: --%s: '%s' is not %s%s%s%s\nTry 'hyperntk %s --help'.\n", cmd, s->name, text,
            what, range[0] ? " (accepted " : "", range, range[0] ? ")" : "", cmd);
    return CLI_EXIT_USAGE;
}

static int parse_long_text(const char *text, double lo, double hi, long *value)
{
    char *end;
    errno = 0;
    double d = strtod(text, &end); /* accept 1e5 as well as 100000 */
    if (errno || end == text || *end != '\0' || d != floor(d) || d < lo || d > hi) return -1;
    *value = (long)d;
    return 0;
}

/* Parse `text` into the field of `s`. */
static int set_value(const char *cmd, const opt_spec *s, const char *text, void *target)
{
    switch (s->type) {
    case OPT_LONG: {
        long v;
        if (parse_long_text(text, s->lo, s->hi, &v)) return bad_value(cmd, s, text, "an integer in range");
        *OPTS_FIELD(long, target, s) = v;
        return 0;
    }
    case OPT_INT: {
        long v;
        if (parse_long_text(text, s->lo, s->hi, &v)) return bad_value(cmd, s, text, "an integer in range");
        *OPTS_FIELD(int, target, s) = (int)v;
        return 0;
    }
    case OPT_DOUBLE: {
        char *end;
        errno = 0;
        double d = strtod(text, &end);
        if (errno || end == text || *end || !isfinite(d) || d < s->lo || d > s->hi)
            return bad_value(cmd, s, text, "a number in range");
        *OPTS_FIELD(double, target, s) = d;
        return 0;
    }
    case OPT_ANGLE: {
        double d;
        if (opts_parse_angle(text, &d) || d < s->lo || d > s->hi)
            return bad_value(cmd, s, text, "an angle in radians (a number or [k]pi[/d]) in range");
        *OPTS_FIELD(double, target, s) = d;
        return 0;
    }
    case OPT_SEED: {
        /* Decimal only: base 0 read "010" as octal 8 and "0x10" as 16, so a
         * seed copied from a file name or a log gave another run. */
        char *end;
        errno = 0;
        unsigned long long v = text[0] >= '0' && text[0] <= '9' ? strtoull(text, &end, 10) : 0;
        if (!(text[0] >= '0' && text[0] <= '9') || errno || *end || v > (unsigned long long)INT64_MAX)
            return bad_value(cmd, s, text, "a decimal integer in range");
        *OPTS_FIELD(uint64_t, target, s) = (uint64_t)v;
        return 0;
    }
    case OPT_STRING:
        if (!text[0]) return bad_value(cmd, s, text, "a non-empty value");
        *OPTS_FIELD(const char *, target, s) = text;
        return 0;
    case OPT_STRINGS: {
        opts_strings *l = OPTS_FIELD(opts_strings, target, s);
        if (!text[0]) return bad_value(cmd, s, text, "a non-empty value");
        if (l->n == OPTS_STRINGS_MAX) {
            fprintf(stderr, "hyperntk %s: --%s: '%s': more than %d values (accepted at most %d)\n"
                            "Try 'hyperntk %s --help'.\n", cmd, s->name, text, OPTS_STRINGS_MAX, OPTS_STRINGS_MAX, cmd);
            return CLI_EXIT_USAGE;
        }
        l->v[l->n++] = text;
        return 0;
    }
    case OPT_FLAG: *OPTS_FIELD(int, target, s) = 1; return 0;
    case OPT_CHOICE:
        for (int k = 0; s->choices[k]; k++)
            if (!strcmp(text, s->choices[k])) {
                *OPTS_FIELD(int, target, s) = k;
                return 0;
            }
        return bad_value(cmd, s, text, "one of the choices");
    case OPT_LIST: {
        opts_list *l = OPTS_FIELD(opts_list, target, s);
        int lmin = s->list_max ? s->list_min : 1, lmax = s->list_max ? s->list_max : OPTS_LIST_MAX;
        char buf[4096];
        if (strlen(text) >= sizeof buf) return bad_value(cmd, s, "...", "a list of at most 4095 characters");
        strcpy(buf, text);
        int n = 0, commas = 0;
        for (const char *p = text; *p; p++) commas += *p == ',';
        char *save = NULL;
        for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            long v;
            if (n == OPTS_LIST_MAX || parse_long_text(tok, s->lo, s->hi, &v)) {
                char what[128];
                snprintf(what, sizeof what, "a comma list of %d..%d integers, each in range (bad: '%s')", lmin, lmax,
                         tok);
                return bad_value(cmd, s, text, what);
            }
            l->v[n++] = v;
        }
        if (n != commas + 1 || n < lmin || n > lmax) {
            char what[128];
            snprintf(what, sizeof what, "a comma list of %d..%d integers, each in range", lmin, lmax);
            return bad_value(cmd, s, text, what);
        }
        if (s->flags & OPT_INCREASING)
            for (int k = 1; k < n; k++)
                if (l->v[k] <= l->v[k - 1]) {
                    fprintf(stderr, "hyperntk %s: --%s: %ld after %ld: the values must be strictly increasing\n"
                                    "Try 'hyperntk %s --help'.\n", cmd, s->name, l->v[k], l->v[k - 1], cmd);
                    return CLI_EXIT_USAGE;
                }
        l->n = n;
        return 0;
    }
    }
    return CLI_EXIT_USAGE;
}

static int find_spec(const opt_command *c, const char *name, size_t len)
{
    for (int k = 0; k < c->n_specs; k++)
        if (strlen(c->specs[k].name) == len && !strncmp(c->specs[k].name, name, len)) return k;
    return -1;
}

/* The store of string values set by presets: each distinct value once, NUL
 * terminated, never freed or moved, so the pointers stored in a driver's
 * struct live until the program exits (and repeated parses do not grow it). */
static char preset_store[16384];
static size_t preset_store_used;

static const char *preset_intern(const char *text, size_t len)
{
    for (size_t at = 0; at < preset_store_used; at += strlen(preset_store + at) + 1)
        if (strlen(preset_store + at) == len && !memcmp(preset_store + at, text, len)) return preset_store + at;
    if (preset_store_used + len + 1 > sizeof preset_store) return NULL;
    char *p = preset_store + preset_store_used;
    memcpy(p, text, len);
    p[len] = '\0';
    preset_store_used += len + 1;
    return p;
}

/* Apply "name=value name=value" (a preset). */
static int apply_settings(const opt_command *c, const char *settings, void *target)
{
    const char *p = settings;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        const char *eq = strchr(p, '='), *end = strchr(p, ' ');
        if (!end) end = p + strlen(p);
        int k = eq && eq < end ? find_spec(c, p, (size_t)(eq - p)) : -1;
        if (k < 0) {
            fprintf(stderr, "hyperntk %s: internal error: preset setting '%.*s' names no option\n", c->cmd,
                    (int)(end - p), p);
            return CLI_EXIT_FAILURE;
        }
        char buf[4096];
        const char *value = buf;
        size_t len = (size_t)(end - eq - 1);
        if (c->specs[k].type == OPT_STRING || c->specs[k].type == OPT_STRINGS) {
            /* The struct keeps the pointer: the value must outlive this call. */
            value = preset_intern(eq + 1, len);
            if (!value) {
                fprintf(stderr, "hyperntk %s: internal error: the preset strings exceed %zu bytes (--%s)\n", c->cmd,
                        sizeof preset_store, c->specs[k].name);
                return CLI_EXIT_FAILURE;
            }
        } else {
            snprintf(buf, sizeof buf, "%.*s", (int)len, eq + 1);
        }
        int st = set_value(c->cmd, &c->specs[k], value, target);
        if (st) return st;
        p = end;
    }
    return 0;
}

/* ------------------------------------------------------------ parsing */

/* "2 arguments", "1..3 arguments", "at least 1 argument" */
static void count_text(const opt_command *c, char *buf, size_t cap)
{
    int lo = c->positional_min, hi = c->positional_max;
    if (hi < 0) snprintf(buf, cap, "at least %d argument%s", lo, lo == 1 ? "" : "s");
    else if (lo == hi) snprintf(buf, cap, "%d argument%s", lo, lo == 1 ? "" : "s");
    else snprintf(buf, cap, "%d..%d arguments", lo, hi);
}

/* Check the number of positional arguments argv[first..argc-1]. */
static int check_positional(const opt_command *c, int argc, char **argv, int first)
{
    int n = argc - first;
    if (c->positional_max == 0 && n > 0) return cli_usage_error(c->cmd, "unexpected argument '%s'", argv[first]);
    char expected[96];
    count_text(c, expected, sizeof expected);
    const char *meta = c->positional ? c->positional : "";
    if (c->positional_max >= 0 && n > c->positional_max)
        return cli_usage_error(c->cmd, "unexpected argument '%s': expected %s (%s), got %d",
                               argv[first + c->positional_max], expected, meta, n);
    if (n < c->positional_min) return cli_usage_error(c->cmd, "expected %s (%s), got %d", expected, meta, n);
    return 0;
}

/* Has the command line already given a spec writing the field of specs[k] (itself or an alias)? */
static int field_given(const opt_command *c, const opts_state *state, int k)
{
    for (int j = 0; j < c->n_specs; j++)
        if (c->specs[j].offset == c->specs[k].offset && (state->given >> j & 1)) return 1;
    return 0;
}

int opts_parse(const opt_command *c, int argc, char **argv, void *target, opts_state *state)
{
    struct option longopts[OPTS_MAX_SPECS + 16];
    int n = 0;
    memset(state, 0, sizeof *state);
    if (c->n_specs > OPTS_MAX_SPECS) {
        fprintf(stderr, "hyperntk %s: internal error: more than %d options\n", c->cmd, OPTS_MAX_SPECS);
        return CLI_EXIT_FAILURE;
    }
    for (int k = 0; k < c->n_specs; k++)
        longopts[n++] = (struct option){c->specs[k].name, c->specs[k].type == OPT_FLAG ? no_argument
                                                                                     : required_argument, 0, k};
    for (int p = 1; p < c->n_presets; p++) longopts[n++] = (struct option){c->presets[p].name, no_argument, 0, 1000 + p};
    longopts[n++] = (struct option){"help", no_argument, 0, 2000};
    longopts[n] = (struct option){0, 0, 0, 0};

    /* Pass 1: --help and the preset. */
    int ch, preset = 0;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (ch == 2000) {
            opts_usage(c, stdout);
            return -1;
        }
        if (ch >= 1000 && ch < 2000) {
            if (preset && preset != ch - 1000)
                return cli_usage_error(c->cmd, "--%s and --%s exclude each other", c->presets[preset].name,
                                       c->presets[ch - 1000].name);
            preset = ch - 1000;
        }
        if (ch == '?' || ch == ':') return cli_usage_error(c->cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
    }
    /* getopt has moved the arguments behind the options. */
    int first = optind, st = check_positional(c, argc, argv, first);
    if (st) return st;
    state->first_arg = first;
    state->n_args = argc - first;
    state->preset = preset;

    /* Defaults, then the preset, then the command line. */
    for (int k = 0; k < c->n_specs; k++) {
        const opt_spec *s = &c->specs[k];
        if (s->type == OPT_LIST) OPTS_FIELD(opts_list, target, s)->n = 0;
        if (s->type == OPT_STRINGS) OPTS_FIELD(opts_strings, target, s)->n = 0;
        if (!s->def) continue;
        st = s->type == OPT_STRING ? (*OPTS_FIELD(const char *, target, s) = s->def, 0)
                                   : set_value(c->cmd, s, s->def, target);
        if (st) return st;
    }
    if (c->n_presets > 0) {
        st = apply_settings(c, c->presets[preset].settings, target);
        if (st) return st;
    }
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (ch < 0 || ch >= c->n_specs) continue;
        /* The command line's values replace the default's or the preset's. */
        if (c->specs[ch].type == OPT_STRINGS && !field_given(c, state, ch))
            OPTS_FIELD(opts_strings, target, &c->specs[ch])->n = 0;
        st = set_value(c->cmd, &c->specs[ch], optarg ? optarg : "", target);
        if (st) return st;
        state->given |= (uint64_t)1 << ch;
    }
    for (int k = 0; k < c->n_specs; k++)
        if ((c->specs[k].flags & OPT_REQUIRED) && !(state->given >> k & 1))
            return cli_usage_error(c->cmd, "--%s %s is required", c->specs[k].name,
                                   c->specs[k].metavar ? c->specs[k].metavar : "VALUE");
    return 0;
}

int opts_given(const opt_command *c, const opts_state *state, const char *name)
{
    int k = find_spec(c, name, strlen(name));
    return k >= 0 && (state->given >> k & 1);
}

/* ------------------------------------------------------------ usage */

static void print_help_text(FILE *out, const char *help, int indent)
{
    for (const char *p = help; *p; p++) {
        fputc(*p, out);
        if (*p == '\n') fprintf(out, "%*s", indent, "");
    }
}

void opts_usage(const opt_command *c, FILE *out)
{
    fprintf(out, "Usage: hyperntk %s %s%s%s\n%s\n", c->cmd, c->positional ? c->positional : "",
            c->positional ? " " : "", c->synopsis, c->summary);
    if (c->n_presets > 0) {
        fprintf(out, "\nPresets (options given on the command line override them):\n");
        for (int p = 0; p < c->n_presets; p++) {
            char head[64];
            snprintf(head, sizeof head, p ? "--%s" : "(default: %s)", c->presets[p].name);
            fprintf(out, "  %-22s %s\n  %-22s   ", head, c->presets[p].help, "");
            /* the settings, one per word */
            int col = 0;
            for (const char *s = c->presets[p].settings; *s; s++) {
                if (*s == ' ' && col > 60) {
                    fprintf(out, "\n  %-22s   ", "");
                    col = 0;
                    continue;
                }
                fputc(*s, out);
                col++;
            }
            fputc('\n', out);
        }
    }
    fprintf(out, "\nOptions:\n");
    for (int k = 0; k < c->n_specs; k++) {
        const opt_spec *s = &c->specs[k];
        char head[64], range[256];
        if (s->type == OPT_FLAG) snprintf(head, sizeof head, "--%s", s->name);
        else snprintf(head, sizeof head, "--%s %s", s->name, s->metavar ? s->metavar : "VALUE");
        fprintf(out, "  %-22s ", head);
        print_help_text(out, s->help, 25);
        range_text(s, range, sizeof range);
        int extra = 0;
        /* Flags are off and OPT_STRINGS empty unless given (other types without
         * a default may get one from the driver: their help text says which). */
        int multi = s->type == OPT_STRINGS, off = s->type == OPT_FLAG && !s->def;
        if (range[0] || s->def || (s->flags & OPT_REQUIRED) || multi || off) fprintf(out, "\n%25s(", "");
        if (s->flags & OPT_REQUIRED) fprintf(out, "%srequired", extra++ ? "; " : "");
        if (multi) fprintf(out, "%srepeatable, at most %d", extra++ ? "; " : "", OPTS_STRINGS_MAX);
        if (s->def) fprintf(out, "%sdefault %s", extra++ ? "; " : "", s->def);
        else if (multi) fprintf(out, "%sdefault none", extra++ ? "; " : "");
        else if (off) fprintf(out, "%sdefault off", extra++ ? "; " : "");
        if (range[0]) {
            if (s->type == OPT_LIST) {
                int lmin = s->list_max ? s->list_min : 1, lmax = s->list_max ? s->list_max : OPTS_LIST_MAX;
                fprintf(out, "%s%d..%d values, each %s%s", extra++ ? "; " : "", lmin, lmax, range,
                        (s->flags & OPT_INCREASING) ? ", increasing" : "");
            } else {
                fprintf(out, "%s%s %s", extra++ ? "; " : "", s->type == OPT_CHOICE ? "one of" : "accepted", range);
            }
        }
        if (extra) fputc(')', out);
        fputc('\n', out);
    }
    fprintf(out, "  %-22s this text\n", "--help");
    fprintf(out, "\n%s\n", c->footer ? c->footer
                                     : "Threads: OMP_NUM_THREADS; processes: mpirun -np K.  The result is "
                                       "bit-identical for any\nthread or process count.  Theory: docs/theory.md.");
}

/* ------------------------------------------------------------ config */

/* The values of an OPT_STRINGS field comma-joined; malloc'd (NULL: no memory). */
static char *strings_join(const opts_strings *l)
{
    size_t len = 1;
    for (int k = 0; k < l->n; k++) len += strlen(l->v[k]) + 1;
    char *t = malloc(len), *p = t;
    if (!t) return NULL;
    *p = '\0';
    for (int k = 0; k < l->n; k++) p += sprintf(p, "%s%s", k ? "," : "", l->v[k]);
    return t;
}

void opts_config(const opt_command *c, const void *target, cli_config *cfg)
{
    for (int k = 0; k < c->n_specs; k++) {
        const opt_spec *s = &c->specs[k];
        if (!(s->flags & OPT_CONFIG)) continue;
        void *t = (void *)target;
        switch (s->type) {
        case OPT_LONG: cli_config_long(cfg, s->name, *OPTS_FIELD(long, t, s)); break;
        case OPT_INT: case OPT_FLAG: cli_config_long(cfg, s->name, *OPTS_FIELD(int, t, s)); break;
        case OPT_DOUBLE: case OPT_ANGLE: cli_config_double(cfg, s->name, *OPTS_FIELD(double, t, s)); break;
        case OPT_SEED: cli_config_long(cfg, s->name, (long)*OPTS_FIELD(uint64_t, t, s)); break;
        case OPT_STRING: {
            const char *v = *OPTS_FIELD(const char *, t, s);
            cli_config_string(cfg, s->name, v ? v : "");
            break;
        }
        case OPT_CHOICE: cli_config_string(cfg, s->name, s->choices[*OPTS_FIELD(int, t, s)]); break;
        case OPT_LIST: {
            const opts_list *l = OPTS_FIELD(opts_list, t, s);
            cli_config_list(cfg, s->name, l->v, l->n);
            break;
        }
        case OPT_STRINGS: {
            char *v = strings_join(OPTS_FIELD(opts_strings, t, s));
            if (v) cli_config_string(cfg, s->name, v);
            else cfg->failed = 1;
            free(v);
            break;
        }
        }
    }
}

int opts_config_string(const opt_command *c, const void *target, long format, char **text)
{
    cli_config cfg;
    cli_config_init(&cfg, c->cmd);
    cli_config_long(&cfg, "format", format);
    opts_config(c, target, &cfg);
    int st = cli_config_status(&cfg);
    if (st) {
        cli_config_free(&cfg);
        return st;
    }
    *text = cfg.text;
    return HNTK_OK;
}

int opts_write_attrs(const opt_command *c, const void *target, const opts_state *state, hntk_h5 *f)
{
    int st = HNTK_OK;
    if (c->n_presets > 0) st = hntk_h5_attr_string(f, "/", "preset", c->presets[state->preset].name);
    for (int k = 0; k < c->n_specs && !st; k++) {
        const opt_spec *s = &c->specs[k];
        if (!(s->flags & OPT_CONFIG)) continue;
        char name[64];
        snprintf(name, sizeof name, "%s", s->name);
        for (char *p = name; *p; p++)
            if (*p == '-') *p = '_';
        void *t = (void *)target;
        switch (s->type) {
        case OPT_LONG: st = hntk_h5_attr_long(f, "/", name, *OPTS_FIELD(long, t, s)); break;
        case OPT_INT: case OPT_FLAG: st = hntk_h5_attr_long(f, "/", name, *OPTS_FIELD(int, t, s)); break;
        case OPT_DOUBLE: case OPT_ANGLE: st = hntk_h5_attr_double(f, "/", name, *OPTS_FIELD(double, t, s)); break;
        case OPT_SEED: st = hntk_h5_attr_long(f, "/", name, (long)*OPTS_FIELD(uint64_t, t, s)); break;
        case OPT_STRING: {
            const char *v = *OPTS_FIELD(const char *, t, s);
            st = hntk_h5_attr_string(f, "/", name, v ? v : "");
            break;
        }
        case OPT_CHOICE: st = hntk_h5_attr_string(f, "/", name, s->choices[*OPTS_FIELD(int, t, s)]); break;
        case OPT_LIST: {
            const opts_list *l = OPTS_FIELD(opts_list, t, s);
            st = hntk_h5_attr_long_array(f, "/", name, l->n, l->v);
            break;
        }
        case OPT_STRINGS: {
            char *v = strings_join(OPTS_FIELD(opts_strings, t, s));
            st = v ? hntk_h5_attr_string(f, "/", name, v) : hntk_fail(HNTK_ENOMEM, "out of memory");
            free(v);
            break;
        }
        }
    }
    return st;
}


int opts_commit_result(hntk_h5 *f, int st, const opt_command *c, const void *target, const opts_output *out)
{
    if (!st) st = opts_write_attrs(c, target, out->state, f);
    if (!st) st = cli_write_provenance(f, c->cmd, out->argc, out->argv, out->wall);
    if (st) {
        hntk_h5_abort(f);
        return st;
    }
    return hntk_h5_commit(f);
}
