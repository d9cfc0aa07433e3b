#pragma once
// Case-insensitive ASCII comparison of header names and tokens, without locale calls.
#include <cstddef>
#include <string_view>

namespace keygate {

/// `c` in lower case when it is an ASCII upper-case letter.
constexpr char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// Case-insensitive equality of ASCII text.
constexpr bool ascii_iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i]))
            return false;
    }
    return true;
}

} // namespace keygate
