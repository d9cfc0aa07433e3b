#pragma once
// Turning an audit event into one JSON line: valid JSON whatever bytes it carries, and
// always under 8 KiB (CONTRACT §7).
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

namespace keygate {

/// The longest line keygate writes, newline excluded (the contract says under 8 KiB).
inline constexpr std::size_t k_max_audit_line = 8000;

/// Serializes `event` as one line. Invalid UTF-8 is replaced (U+FFFD), control characters
/// are escaped by the JSON encoder; when the line would be too long, the longest string
/// fields are cut (ending in "...") until it fits and `"truncated": true` is added.
std::string to_audit_line(nlohmann::ordered_json event);

} // namespace keygate
