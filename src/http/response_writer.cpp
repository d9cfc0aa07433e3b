// Writing a response.
#include "http/response_writer.hpp"

#include "http/ascii.hpp"

#include <charconv>

namespace keygate::http {
namespace {

bool framing_header(std::string_view name) {
    // By length first: most names are compared with nothing.
    switch (name.size()) {
    case 10:
        return ascii_iequals(name, "Connection") || ascii_iequals(name, "Keep-Alive");
    case 14:
        return ascii_iequals(name, "Content-Length");
    case 17:
        return ascii_iequals(name, "Transfer-Encoding");
    default:
        return false;
    }
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
}

template <typename Integer> void append_number(std::string& out, Integer number) {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, number);
    out.append(digits, end);
}

} // namespace

std::string_view reason_phrase(int status) {
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

void write_response(const Response& res, const ResponseFraming& framing, std::string& out) {
    const int status = res.status < 100 || res.status > 999 ? 500 : res.status;
    const bool no_body = status < 200 || status == 204 || status == 304;
    out += "HTTP/1.1 ";
    append_number(out, status);
    out += ' ';
    out += reason_phrase(status);
    out += "\r\n";
    // set_header() has refused CR, LF and NUL: the block goes out whole, unless a handler
    // set a framing header, which the front end's own replace.
    if (!res.headers.has_framing_field()) {
        out += res.headers.block();
    } else {
        for (const auto& [name, value] : res.headers) {
            if (!framing_header(name))
                append_field(out, name, value);
        }
    }
    if (!no_body) {
        out += "Content-Length: ";
        append_number(out, res.body.size());
        out += "\r\n";
    }
    if (framing.close_connection) {
        out += "Connection: close\r\n";
    } else {
        out += "Keep-Alive: timeout=";
        append_number(out, framing.keep_alive_timeout_s);
        if (framing.keep_alive_max > 0) {
            out += ", max=";
            append_number(out, framing.keep_alive_max);
        }
        out += "\r\n";
    }
    out += "\r\n";
    if (!no_body && !framing.head_request)
        out += res.body;
}

} // namespace keygate::http
