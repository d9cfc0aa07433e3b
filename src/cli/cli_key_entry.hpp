#pragma once
// Text shared by `generate` and `rotate`: the YAML snippets they print for new secrets.
#include <string>
#include <string_view>

namespace keygate::cli {

/// A YAML double-quoted scalar: `"text"` with '"', '\\' and control bytes escaped, so any
/// tenant or id reads back as the same string (never as a bool, number or null).
std::string yaml_quote(std::string_view text);

/// The role `generate` writes into new entries: the least-privileged built-in, so a pasted
/// entry never grants more than read access until someone decides otherwise.
inline constexpr std::string_view k_generated_role = "viewer";

} // namespace keygate::cli
