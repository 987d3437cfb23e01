/* testing.h: a minimal check harness for the unit tests.
 *
 *   CHECK(cond, fmt, ...)            a boolean check with a message
 *   CHECK_CLOSE(got, want, rtol)     |got - want| <= rtol * max(|want|, tiny)
 *   return TEST_SUMMARY();           prints "N passed, N failed"; exit 1 on any failure
 */
#ifndef HYPERNTK_TESTING_H
#define HYPERNTK_TESTING_H

#include <math.h>
#include <stdio.h>

static int testing_passed, testing_failed;

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (cond) {                                                         \
            testing_passed++;                                               \
        } else {                                                            \
            testing_failed++;                                               \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);            \
            fprintf(stderr, __VA_ARGS__);                                   \
            fputc('\n', stderr);                                            \
        }                                                                   \
    } while (0)

static inline double testing_rel_err(double got, double want)
{
    double scale = fabs(want) > 1e-300 ? fabs(want) : 1e-300;
    return fabs(got - want) / scale;
}

#define CHECK_CLOSE(got, want, rtol)                                               \
    CHECK(testing_rel_err((got), (want)) <= (rtol),                                \
          "%s = %.17g, want %s = %.17g (rel err %.3g > %.3g)", #got, (double)(got), \
          #want, (double)(want), testing_rel_err((got), (want)), (double)(rtol))

#define TEST_SUMMARY()                                                      \
    (printf("%d passed, %d failed\n", testing_passed, testing_failed),      \
     (testing_failed == 0 && testing_passed > 0) ? 0 : 1)

#endif
