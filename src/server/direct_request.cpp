// Reading and writing the simplest requests as cpp-httplib 0.11.4 does.
#include "server/direct_request.hpp"

#include <charconv>
#include <cstring>

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

/// One header field line without its CRLF, as parse_header() reads it: trailing spaces and
/// tabs dropped, the name up to the first ':' as is, leading spaces and tabs of the value
/// skipped, nothing added for an empty value (or a line without ':').
void add_field(std::string_view line, httplib::Headers& headers) {
    while (!line.empty() && is_space_or_tab(line.back()))
        line.remove_suffix(1);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos)
        return;
    std::size_t value = colon + 1;
    while (value < line.size() && is_space_or_tab(line[value]))
        ++value;
    if (value >= line.size())
        return;
    headers.emplace(std::string(line.substr(0, colon)), decoded(line.substr(value)));
}

void append_number(std::string& out, std::size_t n) {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
    out.append(digits, static_cast<std::size_t>(end - digits));
}

} // namespace

std::optional<std::size_t> parse_direct_head(std::string_view bytes, httplib::Request& req) {
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

    for (std::size_t pos = line_end + 2; pos < head.size();) {
        const auto next = head.find("\r\n", pos);
        const std::string_view field = head.substr(pos, next - pos);
        if (field.size() > k_max_line)
            return std::nullopt;
        add_field(field, req.headers);
        pos = next + 2;
    }
    // Left to the library: byte ranges (it parses them and may answer 416) and a body.
    if (req.has_header("Range") || req.has_header("Expect") ||
        req.has_header("Transfer-Encoding")) {
        return std::nullopt;
    }
    if (req.has_header("Content-Length") && (req.get_header_value_count("Content-Length") != 1 ||
                                             req.get_header_value("Content-Length") != "0")) {
        return std::nullopt;
    }
    req.method = std::string(method);
    req.target = std::string(target);
    req.version = std::string(version);
    req.path = decoded(target.substr(0, query));
    return end + 4;
}

bool asks_to_close(const httplib::Request& req) {
    return req.get_header_value("Connection") == "close";
}

void write_direct_response(const httplib::Request& req, httplib::Response& res,
                           const DirectResponseOptions& options, std::string& out) {
    if (!res.body.empty())
        res.set_header("Content-Length", std::to_string(res.body.size()));
    if (options.close_connection || asks_to_close(req)) {
        res.set_header("Connection", "close");
    } else {
        std::string keep_alive = "timeout=" + std::to_string(options.keep_alive_timeout_s) +
                                 ", max=" + std::to_string(options.keep_alive_max);
        res.set_header("Keep-Alive", keep_alive);
    }
    if (!res.has_header("Content-Type") && !res.body.empty())
        res.set_header("Content-Type", "text/plain");
    if (!res.has_header("Content-Length") && res.body.empty())
        res.set_header("Content-Length", "0");
    if (!res.has_header("Accept-Ranges") && req.method == "HEAD")
        res.set_header("Accept-Ranges", "bytes");

    out += "HTTP/1.1 ";
    if (res.status >= 0) {
        append_number(out, static_cast<std::size_t>(res.status));
    } else {
        out += std::to_string(res.status);
    }
    out += ' ';
    out += httplib::detail::status_message(res.status);
    out += "\r\n";
    for (const auto& [name, value] : res.headers) {
        // "%s: %s\r\n" of c_str(): a name or value ends at its first NUL.
        out.append(name.c_str(), std::strlen(name.c_str()));
        out += ": ";
        out.append(value.c_str(), std::strlen(value.c_str()));
        out += "\r\n";
    }
    out += "\r\n";
    if (req.method != "HEAD")
        out += res.body;
}

} // namespace keygate
