/* test_checkpoint.c: checkpoints of resumable runs: bit-exact round trips,
 * refusal of a foreign configuration or shape, of files that are not
 * checkpoints, every argument error, removal, and no temporaries left behind.
 * Everything happens in a fresh mkdtemp directory under /tmp, removed at the end. */
#define _POSIX_C_SOURCE 200809L

#include "hyperntk/checkpoint.h"
#include "hyperntk/error.h"
#include "hyperntk/h5io.h"
#include "testing.h"

#include <hdf5.h>

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

static const char *in_dir(const char *name)
{
    static char bufs[4][512];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s", tmpdir, name);
    return b;
}

static int file_exists(const char *path) { return access(path, F_OK) == 0; }
static int msg_has(const char *needle) { return strstr(hntk_last_error(), needle) != NULL; }

/* Number of directory entries whose name contains ".tmp." (h5io temporaries). */
static int temporaries_left(void)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += strstr(e->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    return n;
}

static void test_round_trip(void)
{
    const char *path = in_dir("a.ckpt");
    const char *config = "fig1a f_widths=25,50 g_widths=10 samples=100 seed=1 angle=1.5707963267948966";
    hntk_checkpoint *c;
    CHECK(hntk_checkpoint_open(path, config, 3, 4, 1, &c) == HNTK_OK, "open a new checkpoint: %s", hntk_last_error());
    CHECK(hntk_checkpoint_cells(c) == 3, "cells");
    CHECK(!strcmp(hntk_checkpoint_path(c), path), "path");
    CHECK(hntk_checkpoint_cells_done(c) == 0, "a new checkpoint has no cell done");
    CHECK(!file_exists(path), "nothing is written before the first store");
    CHECK(hntk_checkpoint_values(c, 0) == NULL, "values of a cell not done are NULL");

    /* Values whose bits a text or float32 round trip would change. */
    double cell2[4] = {1.0 / 3.0, -0.0, 4.9406564584124654e-324, NAN};
    double cell0[4] = {3.14159265358979323846, -1e300, 2.2250738585072014e-308, INFINITY};
    CHECK(hntk_checkpoint_store(c, 2, cell2, 1.25) == HNTK_OK, "store cell 2: %s", hntk_last_error());
    CHECK(file_exists(path), "the first store writes the file");
    CHECK(hntk_checkpoint_store(c, 0, cell0, 0.5) == HNTK_OK, "store cell 0: %s", hntk_last_error());
    CHECK(hntk_checkpoint_cells_done(c) == 2, "two cells done");
    hntk_checkpoint_free(c);

    CHECK(hntk_checkpoint_open(path, config, 3, 4, 1, &c) == HNTK_OK, "reopen: %s", hntk_last_error());
    if (!c) return;
    CHECK(hntk_checkpoint_cells_done(c) == 2, "reloaded two cells, got %ld", hntk_checkpoint_cells_done(c));
    CHECK(hntk_checkpoint_is_done(c, 0) && !hntk_checkpoint_is_done(c, 1) && hntk_checkpoint_is_done(c, 2),
          "the done mask survives");
    CHECK(!hntk_checkpoint_is_done(c, -1) && !hntk_checkpoint_is_done(c, 3), "out-of-range cells are not done");
    const double *v0 = hntk_checkpoint_values(c, 0), *v2 = hntk_checkpoint_values(c, 2);
    CHECK(v0 && !memcmp(v0, cell0, sizeof cell0), "cell 0 is bit-identical after the round trip");
    CHECK(v2 && !memcmp(v2, cell2, sizeof cell2), "cell 2 is bit-identical after the round trip");
    CHECK(hntk_checkpoint_seconds(c) == 1.75, "seconds accumulate: %g", hntk_checkpoint_seconds(c));

    /* Storing a cell again replaces it without counting it twice. */
    CHECK(hntk_checkpoint_store(c, 0, cell2, 0.25) == HNTK_OK, "re-store cell 0");
    CHECK(hntk_checkpoint_cells_done(c) == 2, "re-storing does not count twice");
    double one[4] = {1, 2, 3, 4};
    CHECK(hntk_checkpoint_store(c, 1, one, 0.0) == HNTK_OK, "store the last cell");
    CHECK(hntk_checkpoint_cells_done(c) == 3, "all cells done");
    hntk_checkpoint_free(c);

    /* resume = 0 ignores the file and the first store replaces it. */
    CHECK(hntk_checkpoint_open(path, config, 3, 4, 0, &c) == HNTK_OK, "open without resuming");
    CHECK(c && hntk_checkpoint_cells_done(c) == 0, "without resuming nothing is loaded");
    hntk_checkpoint_free(c);

    /* Removal: the file goes; removing twice is harmless. */
    CHECK(hntk_checkpoint_open(path, config, 3, 4, 1, &c) == HNTK_OK, "reopen before removal");
    CHECK(hntk_checkpoint_remove(c) == HNTK_OK && !file_exists(path), "remove deletes the file");
    CHECK(hntk_checkpoint_remove(c) == HNTK_OK, "removing a missing file is fine");
    hntk_checkpoint_free(c);
    hntk_checkpoint_free(NULL);
    CHECK(temporaries_left() == 0, "no temporary left behind");
}

static void test_refusals(void)
{
    const char *path = in_dir("b.ckpt");
    hntk_checkpoint *c;
    double v[2] = {1, 2};
    CHECK(hntk_checkpoint_open(path, "config A", 4, 2, 1, &c) == HNTK_OK, "open");
    CHECK(hntk_checkpoint_store(c, 1, v, 0) == HNTK_OK, "store");
    CHECK(hntk_checkpoint_store(c, 4, v, 0) == HNTK_EINVAL && msg_has("cell = 4") && msg_has("0..3"),
          "store of an out-of-range cell names it and the range: %s", hntk_last_error());
    CHECK(hntk_checkpoint_store(c, -1, v, 0) == HNTK_EINVAL, "store of cell -1");
    hntk_checkpoint_free(c);

    c = (hntk_checkpoint *)1;
    CHECK(hntk_checkpoint_open(path, "config B", 4, 2, 1, &c) == HNTK_EINVAL && c == NULL,
          "another configuration is refused and nothing is returned");
    CHECK(msg_has("config A") && msg_has("config B") && msg_has("b.ckpt"),
          "the message quotes both configurations and the file: %s", hntk_last_error());
    CHECK(hntk_checkpoint_open(path, "config A and more", 4, 2, 1, &c) == HNTK_EINVAL,
          "a configuration that extends the stored one is refused");
    CHECK(hntk_checkpoint_open(path, "config", 4, 2, 1, &c) == HNTK_EINVAL,
          "a prefix of the stored configuration is refused");
    CHECK(hntk_checkpoint_open(path, "config A", 5, 2, 1, &c) == HNTK_EINVAL && msg_has("4 cells of 2"),
          "another cell count is refused: %s", hntk_last_error());
    CHECK(hntk_checkpoint_open(path, "config A", 4, 3, 1, &c) == HNTK_EINVAL, "another cell size is refused");

    /* Files that are not checkpoints. */
    const char *text = in_dir("text.ckpt");
    FILE *f = fopen(text, "w");
    if (f) {
        fputs("not HDF5\n", f);
        fclose(f);
    }
    CHECK(hntk_checkpoint_open(text, "config A", 4, 2, 1, &c) == HNTK_EFORMAT && msg_has("text.ckpt"),
          "a text file is refused: %s", hntk_last_error());
    const char *other = in_dir("result.h5");
    hntk_h5 *h;
    long d[1] = {2};
    if (hntk_h5_create(other, &h) == HNTK_OK) {
        hntk_h5_write(h, "done", 1, d, v);
        hntk_h5_commit(h);
    }
    CHECK(hntk_checkpoint_open(other, "config A", 2, 1, 1, &c) == HNTK_EFORMAT && msg_has("not a hyperntk checkpoint"),
          "an HDF5 file that is not a checkpoint is refused: %s", hntk_last_error());
    const char *dir = in_dir("adir");
    mkdir(dir, 0700);
    CHECK(hntk_checkpoint_open(dir, "config A", 2, 1, 1, &c) == HNTK_EFORMAT && msg_has("regular file"),
          "a directory is refused: %s", hntk_last_error());
    rmdir(dir);

    /* Argument errors. */
    CHECK(hntk_checkpoint_open(path, "x", 0, 2, 1, &c) == HNTK_EINVAL && msg_has("0 cells"), "0 cells: %s",
          hntk_last_error());
    CHECK(hntk_checkpoint_open(path, "x", 2, 0, 1, &c) == HNTK_EINVAL, "cell_dim 0");
    CHECK(hntk_checkpoint_open(path, "x", 1L << 20, 1L << 12, 1, &c) == HNTK_EINVAL, "too many values");
    CHECK(hntk_checkpoint_open("", "x", 2, 2, 1, &c) == HNTK_EINVAL, "empty path");
    CHECK(hntk_checkpoint_open(path, NULL, 2, 2, 1, &c) == HNTK_EINVAL, "NULL configuration");

    /* record: memory only, the file is untouched. */
    const char *mem = in_dir("mem.ckpt");
    CHECK(hntk_checkpoint_open(mem, "x", 2, 2, 1, &c) == HNTK_OK, "open for record");
    CHECK(hntk_checkpoint_record(c, 1, v, 2.0) == HNTK_OK && !file_exists(mem), "record writes no file");
    CHECK(hntk_checkpoint_is_done(c, 1) && hntk_checkpoint_cells_done(c) == 1 && hntk_checkpoint_seconds(c) == 2.0,
          "record marks the cell done and adds the time");
    CHECK(hntk_checkpoint_record(c, 2, v, 0) == HNTK_EINVAL, "record of an out-of-range cell");
    hntk_checkpoint_free(c);

    /* A store into a directory that does not exist fails and leaves no file. */
    CHECK(hntk_checkpoint_open(in_dir("missing/dir.ckpt"), "x", 2, 2, 1, &c) == HNTK_OK, "open in a missing dir");
    CHECK(hntk_checkpoint_store(c, 0, v, 0) != HNTK_OK, "store into a missing directory fails");
    CHECK(hntk_checkpoint_cells_done(c) == 1, "the cell stays recorded in memory");
    hntk_checkpoint_free(c);
    unlink(path);
    unlink(text);
    unlink(other);
    CHECK(temporaries_left() == 0, "no temporary left behind");
}

/* Overwrite dataset `name` of an existing file with `data` (raw HDF5: damage
 * that no writer of ours produces). */
static int poke(const char *path, const char *name, const double *data)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t d = f >= 0 ? H5Dopen2(f, name, H5P_DEFAULT) : -1;
    herr_t w = d >= 0 ? H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : -1;
    if (d >= 0) H5Dclose(d);
    if (f >= 0) H5Fclose(f);
    return w >= 0;
}

/* A flipped bit in a stored row and a done flag set without its values are
 * detected on load: those cells are dropped (not done, reported as discarded),
 * the others load bit for bit; an old format-1 file is refused saying so. */
static void test_damage(void)
{
    const char *path = in_dir("damaged.ckpt");
    hntk_checkpoint *c;
    double v[3][2] = {{1.5, -2.0}, {0.25, 1e-300}, {0, 0}};
    CHECK(hntk_checkpoint_open(path, "cfg", 3, 2, 1, &c) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_checkpoint_store(c, 0, v[0], 1) == HNTK_OK && hntk_checkpoint_store(c, 1, v[1], 1) == HNTK_OK,
          "%s", hntk_last_error());
    hntk_checkpoint_free(c);
    double values[6] = {1.5, -2.0, 0.25, 1e-300, 0, 0}, done[3] = {1, 1, 1};
    uint64_t bits;
    memcpy(&bits, &values[1], sizeof bits);
    bits ^= 1; /* the last bit of cell 0's second value */
    memcpy(&values[1], &bits, sizeof bits);
    CHECK(poke(path, "values", values) && poke(path, "done", done), "poke failed");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    CHECK(hntk_checkpoint_open(path, "cfg", 3, 2, 1, &c) == HNTK_OK, "open damaged: %s", hntk_last_error());
    if (c) {
        CHECK(hntk_checkpoint_cells_done(c) == 1 && hntk_checkpoint_is_done(c, 1), "done: %ld",
              hntk_checkpoint_cells_done(c));
        CHECK(hntk_checkpoint_cells_discarded(c) == 2 && hntk_checkpoint_is_discarded(c, 0) &&
                  !hntk_checkpoint_is_discarded(c, 1) && hntk_checkpoint_is_discarded(c, 2),
              "discarded: %ld", hntk_checkpoint_cells_discarded(c));
        const double *got = hntk_checkpoint_values(c, 1);
        CHECK(got && !memcmp(got, v[1], sizeof v[1]), "the intact cell changed");
        CHECK(hntk_checkpoint_values(c, 0) == NULL, "a damaged cell is served");
        /* Recomputed and stored again, the file is clean (cell 2 saved as not done). */
        CHECK(hntk_checkpoint_store(c, 0, v[0], 1) == HNTK_OK, "%s", hntk_last_error());
        hntk_checkpoint_free(c);
        CHECK(hntk_checkpoint_open(path, "cfg", 3, 2, 1, &c) == HNTK_OK && hntk_checkpoint_cells_done(c) == 2 &&
                  hntk_checkpoint_cells_discarded(c) == 0,
              "after the store: %s", hntk_last_error());
        hntk_checkpoint_free(c);
    }
    /* Format 1 (no checksums). */
    hntk_h5 *f;
    long d1[1] = {3}, d2[2] = {3, 2};
    CHECK(hntk_h5_create(path, &f) == HNTK_OK, "%s", hntk_last_error());
    hntk_h5_write(f, "done", 1, d1, done);
    hntk_h5_write(f, "values", 2, d2, values);
    hntk_h5_attr_string(f, "/", "kind", "hyperntk checkpoint");
    hntk_h5_attr_long(f, "/", "format", 1);
    CHECK(hntk_h5_commit(f) == HNTK_OK, "%s", hntk_last_error());
    CHECK(hntk_checkpoint_open(path, "cfg", 3, 2, 1, &c) == HNTK_EFORMAT &&
              strstr(hntk_last_error(), "has format 1, this version reads format 2 only") &&
              strstr(hntk_last_error(), "no checksums"),
          "format 1: %s", hntk_last_error());
    unlink(path);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_checkpoint.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trip();
    test_refusals();
    test_damage();
    rmdir(tmpdir);
    return TEST_SUMMARY();
}
