// Checking a Host field value.
#include "http/host_field.hpp"

#include "http/ascii.hpp"

#include <algorithm>
#include <array>

namespace keygate {
namespace {

bool hex_digit(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/// unreserved / sub-delims (RFC 3986), as a table: every request's Host is read.
constexpr std::array<bool, 256> k_host_chars = alnum_and("-._~!$&'()*+,;=");

bool unreserved_or_sub_delim(char c) {
    return k_host_chars[static_cast<unsigned char>(c)];
}

/// reg-name = *( unreserved / pct-encoded / sub-delims ); IPv4address is a reg-name too.
bool reg_name(std::string_view host) {
    for (std::size_t i = 0; i < host.size(); ++i) {
        if (host[i] == '%') {
            if (i + 2 >= host.size() || !hex_digit(host[i + 1]) || !hex_digit(host[i + 2]))
                return false;
            i += 2;
        } else if (!unreserved_or_sub_delim(host[i])) {
            return false;
        }
    }
    return true;
}

/// The inside of an IP-literal: an IPv6 address (hex digits, ':' and a dotted IPv4 tail)
/// or IPvFuture ("v" HEXDIG+ "." (unreserved / sub-delims / ":")+).
bool ip_literal(std::string_view inside) {
    if (inside.empty())
        return false;
    if (inside.front() == 'v' || inside.front() == 'V') {
        const auto dot = inside.find('.');
        if (dot == std::string_view::npos || dot == 1 || dot + 1 == inside.size())
            return false;
        const std::string_view version = inside.substr(1, dot - 1);
        const std::string_view rest = inside.substr(dot + 1);
        return std::all_of(version.begin(), version.end(), hex_digit) &&
               std::all_of(rest.begin(), rest.end(),
                           [](char c) { return c == ':' || unreserved_or_sub_delim(c); });
    }
    return inside.find(':') != std::string_view::npos &&
           std::all_of(inside.begin(), inside.end(),
                       [](char c) { return hex_digit(c) || c == ':' || c == '.'; });
}

bool port(std::string_view digits) {
    return std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

} // namespace

bool valid_host_value(std::string_view value) {
    if (value.empty())
        return true; // RFC 9112 3.2: an empty Host when the target has no authority
    std::string_view host = value;
    std::string_view rest;
    if (value.front() == '[') {
        const auto close = value.find(']');
        if (close == std::string_view::npos || !ip_literal(value.substr(1, close - 1)))
            return false;
        host = value.substr(0, close + 1);
        rest = value.substr(close + 1);
    } else {
        const auto colon = value.find(':');
        host = value.substr(0, colon);
        rest = colon == std::string_view::npos ? std::string_view{} : value.substr(colon);
        if (!reg_name(host))
            return false;
    }
    if (rest.empty())
        return true;
    return rest.front() == ':' && port(rest.substr(1));
}

} // namespace keygate
