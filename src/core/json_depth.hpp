#pragma once
// A bound on the nesting of JSON bodies. nlohmann::json parses any depth without recursion,
// but dumping a value recurses once per level: a 1 MiB body of '[' overflows the stack.
// Bodies are checked with this scan before they are parsed.
#include <cstddef>
#include <string_view>

namespace keygate {

/// The deepest nesting of arrays and objects keygate accepts in a request body.
inline constexpr std::size_t k_max_json_depth = 64;

/// True when `text` opens more than `max_depth` arrays or objects inside each other. A lexical
/// scan (string contents are skipped), linear, without recursion; `text` need not be valid
/// JSON. Thread-safe (pure).
bool json_nesting_exceeds(std::string_view text, std::size_t max_depth = k_max_json_depth);

} // namespace keygate
