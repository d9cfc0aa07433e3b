// The event loop's first look at a request head.
#include "server/request_head.hpp"

#include "server/ascii.hpp"

namespace keygate {
namespace {

/// "/auth", "/auth/..." or "/auth?...": the auth endpoints (Envoy's prefix included).
bool auth_target(std::string_view target) {
    constexpr std::string_view prefix = "/auth";
    if (!target.starts_with(prefix))
        return false;
    return target.size() == prefix.size() || target[prefix.size()] == '/' ||
           target[prefix.size()] == '?';
}

/// The target of "METHOD SP TARGET SP VERSION"; empty when the line has another shape.
std::string_view request_target(std::string_view line) {
    const auto first = line.find(' ');
    if (first == std::string_view::npos || first == 0)
        return {};
    const auto second = line.find(' ', first + 1);
    if (second == std::string_view::npos || line.find(' ', second + 1) != std::string_view::npos)
        return {};
    return line.substr(first + 1, second - first - 1);
}

/// True when a header field may make the parser read beyond the head.
bool asks_for_body(std::string_view field) {
    const auto colon = field.find(':');
    // A line without a colon is skipped or refused by the parser; it reads no body.
    if (colon == std::string_view::npos)
        return false;
    std::string_view name = field.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t'))
        name.remove_suffix(1);
    while (!name.empty() && (name.front() == ' ' || name.front() == '\t'))
        name.remove_prefix(1);
    if (ascii_iequals(name, "Transfer-Encoding") || ascii_iequals(name, "Expect"))
        return true;
    if (!ascii_iequals(name, "Content-Length"))
        return false;
    std::string_view value = field.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t' || value.back() == '\r'))
        value.remove_suffix(1);
    if (value.empty())
        return true;
    for (const char c : value) {
        if (c != '0')
            return true;
    }
    return false;
}

} // namespace

HeadInspection inspect_request_head(std::string_view bytes) {
    HeadInspection out;
    const auto end = bytes.find("\r\n\r\n");
    if (end == std::string_view::npos)
        return out;
    out.complete = true;
    // The head up to and including the line feed of its last field line. cpp-httplib cuts
    // lines at every LF (a line without CR before it is skipped), so lines are cut the
    // same way here: a field hidden behind a bare LF is still looked at.
    const std::string_view head = bytes.substr(0, end + 2);
    const auto line_end = head.find('\n');
    std::string_view request_line = head.substr(0, line_end);
    if (request_line.ends_with('\r'))
        request_line.remove_suffix(1);
    if (!auth_target(request_target(request_line)))
        return out;
    std::size_t pos = line_end + 1;
    while (pos < head.size()) {
        const auto next = head.find('\n', pos);
        if (asks_for_body(head.substr(pos, next - pos)))
            return out;
        pos = next + 1;
    }
    out.for_loop = true;
    return out;
}

} // namespace keygate
