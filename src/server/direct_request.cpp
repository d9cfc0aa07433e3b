// Reading and writing the simplest requests as cpp-httplib 0.11.4 does.
#include "server/direct_request.hpp"

#include "server/ascii.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

// Compiled into the packaged library (cpp-httplib's split build) but not declared in its
// header: the reason phrase the library writes after a status code.
namespace httplib::detail {
const char* status_message(int status);
} // namespace httplib::detail

namespace keygate {
namespace {

/// cpp-httplib's limits (CPPHTTPLIB_REQUEST_URI_MAX_LENGTH, CPPHTTPLIB_HEADER_MAX_LENGTH):
/// a line near them is left to the library, which answers 414 or 400.
constexpr std::size_t k_max_line = 8000;

bool is_space_or_tab(char c) {
    return c == ' ' || c == '\t';
}

/// The library decodes %XX (and %uXXXX) sequences; text without '%' is unchanged.
std::string decoded(std::string_view text) {
    if (text.find('%') == std::string_view::npos)
        return std::string(text);
    return httplib::detail::decode_url(std::string(text), false);
}

/// A method cpp-httplib accepts that an auth endpoint may get. (CONNECT, TRACE and PRI are
/// left to the library.)
bool known_method(std::string_view method) {
    return method == "GET" || method == "HEAD" || method == "POST" || method == "PUT" ||
           method == "DELETE" || method == "OPTIONS" || method == "PATCH";
}

/// Only bytes the library's request-line split treats as plain characters.
bool plain_line(std::string_view line) {
    for (const char c : line) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f)
            return false;
    }
    return true;
}

/// cpp-httplib's header order (detail::ci: tolower() of each byte, which in the C locale
/// changes only ASCII letters).
bool ci_less(std::string_view a, std::string_view b) {
    const std::size_t n = std::min(a.size(), b.size());
    for (std::size_t i = 0; i < n; ++i) {
        const auto x = static_cast<unsigned char>(ascii_lower(a[i]));
        const auto y = static_cast<unsigned char>(ascii_lower(b[i]));
        if (x != y)
            return x < y;
    }
    return a.size() < b.size();
}

/// A header field as the library stores it.
using Field = std::pair<std::string, std::string>;

/// One header field line without its CRLF, as parse_header() reads it: trailing spaces and
/// tabs dropped, the name up to the first ':' as is, leading spaces and tabs of the value
/// skipped, nothing for an empty value (or a line without ':'). Returns whether a field
/// was added to `fields`.
bool add_field(std::string_view line, std::vector<Field>& fields) {
    while (!line.empty() && is_space_or_tab(line.back()))
        line.remove_suffix(1);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos)
        return false;
    std::size_t value = colon + 1;
    while (value < line.size() && is_space_or_tab(line[value]))
        ++value;
    if (value >= line.size())
        return false;
    fields.emplace_back(std::string(line.substr(0, colon)), decoded(line.substr(value)));
    return true;
}

/// "%s: %s\r\n" of c_str(), as the library writes a header: a name or value ends at its
/// first NUL.
void append_field(std::string& out, const std::string& name, const std::string& value) {
    out.append(name.c_str(), std::strlen(name.c_str()));
    out += ": ";
    out.append(value.c_str(), std::strlen(value.c_str()));
    out += "\r\n";
}

} // namespace

std::optional<DirectHead> parse_direct_head(std::string_view bytes, httplib::Request& req) {
    const auto end = bytes.find("\r\n\r\n");
    if (end == std::string_view::npos)
        return std::nullopt;
    const std::string_view head = bytes.substr(0, end + 2); // every line with its CRLF
    // A bare LF or a CR inside a line is read differently by the library's line reader.
    for (std::size_t i = 0; i < head.size(); ++i) {
        if (head[i] == '\n' && (i == 0 || head[i - 1] != '\r'))
            return std::nullopt;
        if (head[i] == '\r' && (i + 1 >= head.size() || head[i + 1] != '\n'))
            return std::nullopt;
    }
    const auto line_end = head.find("\r\n");
    const std::string_view line = head.substr(0, line_end);
    if (line.size() > k_max_line)
        return std::nullopt;
    const auto first = line.find(' ');
    const auto second = first == std::string_view::npos ? first : line.find(' ', first + 1);
    if (second == std::string_view::npos || line.find(' ', second + 1) != std::string_view::npos)
        return std::nullopt;
    const std::string_view method = line.substr(0, first);
    const std::string_view target = line.substr(first + 1, second - first - 1);
    const std::string_view version = line.substr(second + 1);
    if (!known_method(method) || version != "HTTP/1.1" || !target.starts_with('/') ||
        !plain_line(target) || target.find('#') != std::string_view::npos) {
        return std::nullopt;
    }
    const auto query = target.find('?');
    if (query != std::string_view::npos && target.find('?', query + 1) != std::string_view::npos)
        return std::nullopt; // the library refuses it (400)

    DirectHead out;
    std::size_t content_lengths = 0;
    bool connection_seen = false;
    std::vector<Field> fields;
    fields.reserve(16);
    for (std::size_t pos = line_end + 2; pos < head.size();) {
        const auto next = head.find("\r\n", pos);
        const std::string_view field_line = head.substr(pos, next - pos);
        if (field_line.size() > k_max_line)
            return std::nullopt;
        pos = next + 2;
        if (!add_field(field_line, fields))
            continue;
        const auto& [name, value] = fields.back();
        // Left to the library: byte ranges (it parses them and may answer 416) and a body.
        if (ascii_iequals(name, "Range") || ascii_iequals(name, "Expect") ||
            ascii_iequals(name, "Transfer-Encoding")) {
            return std::nullopt;
        }
        if (ascii_iequals(name, "Content-Length") && (++content_lengths > 1 || value != "0"))
            return std::nullopt;
        // The library compares the first Connection value with "close", case and all.
        if (!connection_seen && ascii_iequals(name, "Connection")) {
            connection_seen = true;
            out.close = value == "close";
        }
    }
    // Into the header map in its order, each at the end: no tolower()-comparing search per
    // field. The stable sort keeps fields of one name in arrival order, as emplace() does.
    std::stable_sort(fields.begin(), fields.end(),
                     [](const Field& a, const Field& b) { return ci_less(a.first, b.first); });
    for (auto& field : fields)
        req.headers.emplace_hint(req.headers.end(), std::move(field.first),
                                 std::move(field.second));
    req.method = std::string(method);
    req.target = std::string(target);
    req.version = std::string(version);
    req.path = decoded(target.substr(0, query));
    out.length = end + 4;
    return out;
}

void write_direct_response(const httplib::Request& req, const httplib::Response& res,
                           const DirectResponseOptions& options, std::string& out) {
    bool has_type = false;
    bool has_length = false;
    bool has_ranges = false;
    for (const auto& [name, value] : res.headers) {
        has_type = has_type || ascii_iequals(name, "Content-Type");
        has_length = has_length || ascii_iequals(name, "Content-Length");
        has_ranges = has_ranges || ascii_iequals(name, "Accept-Ranges");
    }
    // What write_response_core() adds (apply_ranges() first), in the header map's order;
    // each goes after the fields of its name already in the map, as emplace() puts it.
    struct Extra {
        std::string name;
        std::string value;
    };
    Extra extras[5];
    std::size_t count = 0;
    if (!has_ranges && req.method == "HEAD")
        extras[count++] = {"Accept-Ranges", "bytes"};
    if (options.close_connection)
        extras[count++] = {"Connection", "close"};
    if (!res.body.empty()) {
        extras[count++] = {"Content-Length", std::to_string(res.body.size())};
    } else if (!has_length) {
        extras[count++] = {"Content-Length", "0"};
    }
    if (!has_type && !res.body.empty())
        extras[count++] = {"Content-Type", "text/plain"};
    if (!options.close_connection) {
        extras[count++] = {"Keep-Alive", "timeout=" + std::to_string(options.keep_alive_timeout_s) +
                                             ", max=" + std::to_string(options.keep_alive_max)};
    }

    out += "HTTP/1.1 ";
    out += std::to_string(res.status);
    out += ' ';
    out += httplib::detail::status_message(res.status);
    out += "\r\n";
    std::size_t next = 0;
    for (const auto& [name, value] : res.headers) {
        while (next < count && ci_less(extras[next].name, name)) {
            append_field(out, extras[next].name, extras[next].value);
            ++next;
        }
        append_field(out, name, value);
    }
    for (; next < count; ++next)
        append_field(out, extras[next].name, extras[next].value);
    out += "\r\n";
    if (req.method != "HEAD")
        out += res.body;
}

} // namespace keygate
