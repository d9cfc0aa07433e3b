// Reading and writing the simplest requests as cpp-httplib 0.11.4 does.
#include "server/direct_request.hpp"

#include "server/ascii.hpp"
#include "server/head_parser.hpp"

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
    RequestHead head;
    if (parse_request_head(bytes, head) != HeadProblem::none)
        return std::nullopt; // the library path refuses it through the same reader
    const std::string_view target = head.target;
    if (!known_method(head.method) || head.version != "HTTP/1.1" || !target.starts_with('/') ||
        target.size() > k_max_line || target.find('#') != std::string_view::npos) {
        return std::nullopt;
    }
    const auto query = target.find('?');
    if (query != std::string_view::npos && target.find('?', query + 1) != std::string_view::npos)
        return std::nullopt; // the library refuses it (400)

    DirectHead out;
    bool connection_seen = false;
    for (const HeadField& field : head.fields) {
        if (field.value.empty())
            continue; // the library leaves such fields out
        const std::string_view name = field.name;
        // Left to the library: byte ranges (it parses them and may answer 416) and a body.
        if (ascii_iequals(name, "Range") || ascii_iequals(name, "Expect") ||
            ascii_iequals(name, "Transfer-Encoding")) {
            return std::nullopt;
        }
        if (ascii_iequals(name, "Content-Length") && field.value != "0")
            return std::nullopt;
        // The library compares the first Connection value with "close", case and all.
        if (!connection_seen && ascii_iequals(name, "Connection")) {
            connection_seen = true;
            out.close = field.value == "close";
        }
    }
    fill_header_map(head, req.headers);
    req.method = std::string(head.method);
    req.target = std::string(target);
    req.version = std::string(head.version);
    req.path = decoded(target.substr(0, query));
    out.length = head.length;
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
        while (next < count && header_name_less(extras[next].name, name)) {
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
