#pragma once
// Private to the config loader and the environment keys: a heuristic for plaintext keys that
// are too easy to guess.
#include <optional>
#include <string>
#include <string_view>

namespace keygate {

/// Shortest plaintext key that is not called weak.
inline constexpr std::size_t k_min_key_length = 20;
/// Least estimated entropy, in bits, of a key that is not called weak.
inline constexpr double k_min_key_bits = 64.0;

/// Why `key` looks weak, or nullopt. A key is weak when it is shorter than 20 characters,
/// or when its estimated entropy is under 64 bits. The estimate is the key's length times
/// the Shannon entropy of its own character frequencies: a generated key (38+ characters
/// of base62) scores well over 150 bits, "aaaaaaaaaaaaaaaaaaaaaaaa" scores 0 and
/// "abababababababababab" 20. The reason never quotes the key.
std::optional<std::string> weak_key_reason(std::string_view key);

} // namespace keygate
