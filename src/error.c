/* error.c: per-thread last-error message. */
#include "hyperntk/error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_message[1024];

int hntk_fail(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    return status;
}

const char *hntk_last_error(void) { return last_message; }

const char *hntk_status_name(int status)
{
    switch (status) {
    case HNTK_OK: return "ok";
    case HNTK_EINVAL: return "invalid argument";
    case HNTK_ENOMEM: return "out of memory";
    case HNTK_EBUDGET: return "memory budget exceeded";
    case HNTK_EIO: return "input/output error";
    case HNTK_EFORMAT: return "malformed file";
    case HNTK_EINTR: return "interrupted";
    case HNTK_EMPI: return "MPI error";
    default: return "unknown error";
    }
}
