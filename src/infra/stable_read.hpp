#pragma once
// The second read of a stable-content check: does a file still hold the text read earlier?
#include <cstddef>
#include <string>
#include <string_view>

namespace keygate {

/// The size of the chunks file_still_holds() reads and compares at a time.
inline constexpr std::size_t k_stable_read_chunk = std::size_t{1} << 20;

/// True when the file at `path` still holds exactly `text`: the same bytes and the same
/// length (a file that grew or shrank is not the same). False when the file cannot be
/// opened or read. Compares in k_stable_read_chunk (1 MB) chunks through one small buffer:
/// a second whole copy of a 60 MB file costs ~150 ms of page faults. Thread-safe.
bool file_still_holds(const std::string& path, std::string_view text);

} // namespace keygate
