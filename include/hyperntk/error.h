/* error.h: status codes and the last error message (per thread).
 *
 * Every library function that can fail returns an int status (HNTK_OK == 0).
 * On failure it also records a human-readable message that names the bad
 * value and the accepted range; hntk_last_error() returns it.  No library
 * function prints or exits: the drivers in sims/ decide what to do.
 */
#ifndef HYPERNTK_ERROR_H
#define HYPERNTK_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum hntk_status {
    HNTK_OK = 0,
    HNTK_EINVAL = 1,   /* an argument is outside its accepted range */
    HNTK_ENOMEM = 2,   /* allocation failed */
    HNTK_EBUDGET = 3,  /* the configuration would exceed the memory budget */
    HNTK_EIO = 4,      /* a file could not be read or written */
    HNTK_EFORMAT = 5,  /* a file is readable but malformed */
    HNTK_EINTR = 6,    /* interrupted (SIGINT/SIGTERM) */
    HNTK_EMPI = 7      /* an MPI call failed */
};

/* Record a message (printf-style) for the calling thread and return `status`,
 * so that error paths read:  return hntk_fail(HNTK_EINVAL, "...", ...); */
int hntk_fail(int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The message of the most recent failure on this thread ("" if none). */
const char *hntk_last_error(void);

/* A short name of a status code ("invalid argument", ...). */
const char *hntk_status_name(int status);

#ifdef __cplusplus
}
#endif
#endif
