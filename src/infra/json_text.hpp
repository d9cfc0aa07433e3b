#pragma once
// Writing JSON strings by hand on hot paths, without building a JSON document.
#include <string>
#include <string_view>

namespace keygate {

/// Appends `text` as a JSON string literal (with its quotes) to `out`. Control characters are
/// escaped and bytes that are not valid UTF-8 become U+FFFD, so the result is valid JSON
/// whatever the input. Thread-safe (pure).
void append_json_string(std::string& out, std::string_view text);

/// `text` as a JSON string literal.
std::string json_string(std::string_view text);

} // namespace keygate
