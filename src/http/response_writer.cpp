// Writing a response.
#include "http/response_writer.hpp"

#include "http/ascii.hpp"

#include <algorithm>

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

bool safe_value(std::string_view value) {
    // One pass (three memchr calls cost more on values of a few dozen bytes).
    return std::none_of(value.begin(), value.end(),
                        [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
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
    out += std::to_string(status);
    out += ' ';
    out += reason_phrase(status);
    out += "\r\n";
    for (const auto& [name, value] : res.headers) {
        if (framing_header(name) || !safe_value(name) || !safe_value(value))
            continue;
        append_field(out, name, value);
    }
    if (!no_body)
        append_field(out, "Content-Length", std::to_string(res.body.size()));
    if (framing.close_connection) {
        append_field(out, "Connection", "close");
    } else if (framing.keep_alive_max > 0) {
        append_field(out, "Keep-Alive",
                     "timeout=" + std::to_string(framing.keep_alive_timeout_s) +
                         ", max=" + std::to_string(framing.keep_alive_max));
    } else {
        append_field(out, "Keep-Alive", "timeout=" + std::to_string(framing.keep_alive_timeout_s));
    }
    out += "\r\n";
    if (!no_body && !framing.head_request)
        out += res.body;
}

} // namespace keygate::http
