#pragma once
// Gives freed heap pages back to the operating system. free_memory.cpp also fixes glibc's
// mmap and trim thresholds before main(), so that the memory of a reload is given back.

namespace keygate {

/// Returns the free memory of every malloc arena to the kernel (glibc `malloc_trim`). Called
/// after a key set is swapped out: a 100k-key snapshot frees hundreds of MB that glibc would
/// otherwise keep, and steady RSS would stay at the peak of the last reload. A no-op on other
/// C libraries. Takes a few ms; never call it on a request path.
void release_free_memory();

} // namespace keygate
