#pragma once
// Reading one key from standard input (`keygate hash`, `keygate check --key -`).
#include "core/result.hpp"

#include <cstddef>
#include <iosfwd>
#include <string>

namespace keygate::cli {

/// Longest key accepted on stdin; proxies refuse far shorter header lines anyway.
inline constexpr std::size_t k_max_key_bytes = 8192;

/// Reads the whole stream as one key and removes ONE trailing "\n" or "\r\n" (nothing else:
/// spaces are part of the key). Errors (never quoting the key): nothing read, a key that
/// spans several lines or holds another control byte, a key longer than k_max_key_bytes.
Result<std::string> read_key(std::istream& in);

/// Reads the stream as one presented key without judging it: ONE trailing "\n" or "\r\n"
/// removed, at most k_max_key_bytes + 3 bytes read (longer input stays longer than any valid
/// key). For `check`, which hands whatever it got to the same decision the server makes.
std::string read_presented_key(std::istream& in);

} // namespace keygate::cli
