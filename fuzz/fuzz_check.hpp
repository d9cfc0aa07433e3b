#pragma once
// The invariant check of the fuzz targets: a broken invariant aborts, which libFuzzer reports
// as a crash (with the input saved) and the replay test reports as a failure.
#include <cstdio>
#include <cstdlib>

/// Aborts with the failed condition and its place when `condition` is false.
#define FUZZ_CHECK(condition)                                                                      \
    do {                                                                                           \
        if (!(condition)) {                                                                        \
            std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #condition); \
            std::abort();                                                                          \
        }                                                                                          \
    } while (false)
