// Reading a request head strictly.
#include "http/head_parser.hpp"

#include "http/ascii.hpp"
#include "http/host_field.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

namespace keygate {
namespace {

/// RFC 9110 tchar, as a table (names and methods are read byte by byte on every request).
constexpr std::array<bool, 256> k_token_chars = alnum_and("!#$%&'*+-.^_`|~");

bool token_char(char c) {
    return k_token_chars[static_cast<unsigned char>(c)];
}

bool token(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), token_char);
}

/// A request-target byte: visible ASCII or obs-text, never a space or control byte.
bool target_byte(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u != 0x7f;
}

bool space_or_tab(char c) {
    return c == ' ' || c == '\t';
}

/// No NUL, DEL or other control byte but tab. Eight bytes at a time: values are most of
/// a head's bytes; a word with a byte below 0x20 (a tab, usually) is looked at byte by byte.
bool clean_value(std::string_view value) {
    const char* p = value.data();
    std::size_t n = value.size();
    for (; n >= 8; p += 8, n -= 8) {
        const std::uint64_t word = load_word(p);
        if (word_has_byte(word, 0x7f) != 0)
            return false;
        if (word_has_less(word, 0x20) == 0)
            continue;
        for (std::size_t i = 0; i < 8; ++i) {
            if (static_cast<unsigned char>(p[i]) < 0x20 && p[i] != '\t')
                return false;
        }
    }
    for (; n > 0; ++p, --n) {
        const auto u = static_cast<unsigned char>(*p);
        if ((u < 0x20 && *p != '\t') || u == 0x7f)
            return false;
    }
    return true;
}

HeadProblem parse_request_line(std::string_view line, RequestHead& out) {
    const auto first = line.find(' ');
    if (first == std::string_view::npos)
        return HeadProblem::bad_request_line;
    const auto second = line.find(' ', first + 1);
    if (second == std::string_view::npos)
        return HeadProblem::bad_request_line;
    const std::string_view method = line.substr(0, first);
    const std::string_view target = line.substr(first + 1, second - first - 1);
    const std::string_view version = line.substr(second + 1);
    if (!token(method) || target.empty() || !std::all_of(target.begin(), target.end(), target_byte))
        return HeadProblem::bad_request_line;
    if (version.size() != 8 || !version.starts_with("HTTP/") || version[5] < '0' ||
        version[5] > '9' || version[6] != '.' || version[7] < '0' || version[7] > '9') {
        return HeadProblem::bad_request_line;
    }
    out.method = method;
    out.target = target;
    out.version = version;
    return HeadProblem::none;
}

HeadProblem parse_field_line(std::string_view line, RequestHead& out) {
    if (line.size() > k_max_field_line)
        return HeadProblem::too_large;
    if (space_or_tab(line.front()))
        return HeadProblem::obs_fold;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos)
        return HeadProblem::bad_field_name;
    const std::string_view name = line.substr(0, colon);
    if (!token(name))
        return HeadProblem::bad_field_name; // also whitespace before the colon
    std::string_view value = line.substr(colon + 1);
    if (!clean_value(value))
        return HeadProblem::control_byte;
    while (!value.empty() && space_or_tab(value.front()))
        value.remove_prefix(1);
    while (!value.empty() && space_or_tab(value.back()))
        value.remove_suffix(1);
    out.fields.push_back({name, value});
    return HeadProblem::none;
}

} // namespace

int head_problem_status(HeadProblem problem) {
    return problem == HeadProblem::too_large ? 431 : 400;
}

const char* head_problem_text(HeadProblem problem) {
    switch (problem) {
    case HeadProblem::none:
        return "none";
    case HeadProblem::incomplete:
        return "incomplete head";
    case HeadProblem::bad_line_ending:
        return "bare CR or LF";
    case HeadProblem::bad_request_line:
        return "malformed request line";
    case HeadProblem::obs_fold:
        return "obs-fold line";
    case HeadProblem::bad_field_name:
        return "malformed field name";
    case HeadProblem::control_byte:
        return "control byte in a field value";
    case HeadProblem::duplicate_content_length:
        return "Content-Length twice";
    case HeadProblem::length_and_chunked:
        return "Content-Length with Transfer-Encoding";
    case HeadProblem::missing_host:
        return "no Host field";
    case HeadProblem::duplicate_host:
        return "Host twice";
    case HeadProblem::invalid_host:
        return "invalid Host value";
    case HeadProblem::too_large:
        return "header line or head too large";
    }
    return "unknown";
}

HeadProblem parse_request_head(std::string_view bytes, RequestHead& out) {
    // One pass, line by line (memchr finds each LF): every LF must follow a CR and no CR
    // may stand alone; the first empty line ends the head.
    // Straight into `out`, whose field vector keeps its capacity from the last request on
    // the connection: no allocation per head.
    RequestHead& parsed = out;
    parsed.method = parsed.target = parsed.version = {};
    parsed.fields.clear();
    parsed.fields.reserve(16);
    parsed.length = 0;
    bool request_line = true;
    bool content_length = false;
    bool transfer_encoding = false;
    bool host = false;
    std::size_t pos = 0;
    for (;;) {
        const void* lf = pos < bytes.size()
                             ? std::memchr(bytes.data() + pos, '\n', bytes.size() - pos)
                             : nullptr;
        if (lf == nullptr) {
            if (bytes.size() > k_max_head)
                return HeadProblem::too_large;
            // A field line already longer than the limit need not wait for the rest.
            return bytes.size() - pos > k_max_field_line + 2 ? HeadProblem::too_large
                                                             : HeadProblem::incomplete;
        }
        const auto at = static_cast<std::size_t>(static_cast<const char*>(lf) - bytes.data());
        if (at == pos || bytes[at - 1] != '\r')
            return HeadProblem::bad_line_ending;
        const std::string_view line = bytes.substr(pos, at - 1 - pos);
        if (line.find('\r') != std::string_view::npos)
            return HeadProblem::bad_line_ending;
        pos = at + 1;
        if (pos > k_max_head)
            return HeadProblem::too_large;
        if (request_line) {
            if (const HeadProblem p = parse_request_line(line, parsed); p != HeadProblem::none)
                return p;
            request_line = false;
            continue;
        }
        if (line.empty())
            break;
        if (const HeadProblem p = parse_field_line(line, parsed); p != HeadProblem::none)
            return p;
        const std::string_view name = parsed.fields.back().name;
        if (name.size() == 14 && ascii_iequals(name, "Content-Length")) {
            if (content_length)
                return HeadProblem::duplicate_content_length;
            content_length = true;
        } else if (name.size() == 17 && ascii_iequals(name, "Transfer-Encoding")) {
            transfer_encoding = true;
        } else if (name.size() == 4 && ascii_iequals(name, "Host")) {
            if (host)
                return HeadProblem::duplicate_host;
            host = true;
            if (!valid_host_value(parsed.fields.back().value))
                return HeadProblem::invalid_host;
        }
    }
    if (content_length && transfer_encoding)
        return HeadProblem::length_and_chunked;
    // RFC 9112 3.2: an HTTP/1.1 request without Host is refused (HTTP/1.0 predates it;
    // any other version is refused as unsupported after the parse).
    if (!host && parsed.version[5] == '1' && parsed.version[7] >= '1')
        return HeadProblem::missing_host;
    parsed.length = pos;
    return HeadProblem::none;
}

} // namespace keygate
