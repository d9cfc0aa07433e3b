// Finding the end of a request: the head's empty line, then its body.
#include "http/request_framing.hpp"

#include "http/ascii.hpp"

#include <charconv>
#include <cstring>

namespace keygate::http {
namespace {

bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

std::string_view field_value(const RequestHead& head, std::string_view name) {
    for (const HeadField& field : head.fields) {
        if (ascii_iequals(field.name, name))
            return field.value;
    }
    return {};
}

bool has_field(const RequestHead& head, std::string_view name) {
    for (const HeadField& field : head.fields) {
        if (ascii_iequals(field.name, name))
            return true;
    }
    return false;
}

constexpr std::size_t k_max_chunk_line = 1024;

} // namespace

HeadScanResult scan_head(std::string_view buffer, HeadScan& scan) {
    // Line by line with memchr (this runs on every request): find the LF, then look for a
    // CR before it. The refusals and their order are those of a byte-by-byte walk: a CR
    // must be followed by LF (unless it is the last byte so far), an LF preceded by CR.
    const char* const data = buffer.data();
    const std::size_t size = buffer.size();
    std::size_t i = scan.scanned;
    while (i < size) {
        const void* found = std::memchr(data + i, '\n', size - i);
        const std::size_t stop =
            found != nullptr ? static_cast<std::size_t>(static_cast<const char*>(found) - data)
                             : size;
        // CRs in [i, stop); a CR right before the LF is the line's end.
        const std::size_t cr_end =
            found != nullptr && stop > i && data[stop - 1] == '\r' ? stop - 1 : stop;
        for (std::size_t from = i; from < cr_end;) {
            const void* cr = std::memchr(data + from, '\r', cr_end - from);
            if (cr == nullptr)
                break;
            const auto at = static_cast<std::size_t>(static_cast<const char*>(cr) - data);
            if (at + 1 < size && data[at + 1] != '\n')
                return {HeadEnd::refused, 0, HeadProblem::bad_line_ending};
            from = at + 1;
        }
        if (found == nullptr)
            break;
        if (stop == 0 || data[stop - 1] != '\r')
            return {HeadEnd::refused, 0, HeadProblem::bad_line_ending};
        const std::size_t line_length = stop - 1 - scan.line_start; // without its CRLF
        if (line_length > k_max_field_line)
            return {HeadEnd::refused, 0, HeadProblem::too_large};
        if (stop + 1 > k_max_head)
            return {HeadEnd::refused, 0, HeadProblem::too_large};
        if (line_length == 0) {
            scan.scanned = stop + 1;
            return {HeadEnd::complete, stop + 1, HeadProblem::none};
        }
        scan.line_start = stop + 1;
        i = stop + 1;
    }
    scan.scanned = size;
    // A CR at the very end may still be followed by its LF: not counted as open text.
    const std::size_t open_line = size - scan.line_start;
    if (open_line > k_max_field_line + 1 || size > k_max_head)
        return {HeadEnd::refused, 0, HeadProblem::too_large};
    return {};
}

BodyFraming body_framing(const RequestHead& head, std::size_t max_body) {
    BodyFraming out;
    const std::string_view expect = field_value(head, "Expect");
    out.expect_continue = ascii_iequals(expect, "100-continue") && head.version == "HTTP/1.1";
    std::size_t encodings = 0;
    for (const HeadField& field : head.fields)
        encodings += ascii_iequals(field.name, "Transfer-Encoding") ? 1 : 0;
    if (encodings > 1) {
        // Two fields combine to "chunked, x" (or "x, chunked"): a proxy that reads the last
        // one would frame the body differently (RFC 9112 6.3).
        out.status = 400;
        out.why = "Transfer-Encoding given twice";
        return out;
    }
    if (encodings == 1) {
        // The parser has refused Transfer-Encoding together with Content-Length.
        if (!ascii_iequals(field_value(head, "Transfer-Encoding"), "chunked")) {
            out.status = 501;
            out.why = "Unsupported Transfer-Encoding";
            return out;
        }
        out.kind = BodyFraming::Kind::chunked;
        return out;
    }
    if (!has_field(head, "Content-Length"))
        return out;
    const std::string_view text = field_value(head, "Content-Length");
    std::size_t length = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, length);
    bool digits = !text.empty();
    for (const char c : text)
        digits = digits && c >= '0' && c <= '9';
    if (!digits || ptr != end || ec == std::errc::invalid_argument) {
        out.status = 400;
        out.why = "Invalid Content-Length";
        return out;
    }
    if (ec == std::errc::result_out_of_range || length > max_body) {
        out.status = 413;
        out.why = "Request body too large";
        return out;
    }
    out.kind = length == 0 ? BodyFraming::Kind::none : BodyFraming::Kind::length;
    out.length = length;
    return out;
}

namespace {

/// A chunk-size or trailer line must hold no CR, LF, NUL or other control byte but tab:
/// a proxy that ends lines at a bare LF would otherwise frame the body differently.
bool clean_line(std::string_view line) {
    for (const char c : line) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u == 0x7f)
            return false;
    }
    return true;
}

bool token_byte(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

/// A trailer field line: a token name directly followed by ':', a clean value.
bool trailer_line(std::string_view line) {
    const auto colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos)
        return false;
    for (const char c : line.substr(0, colon)) {
        if (!token_byte(c))
            return false;
    }
    return clean_line(line);
}

constexpr std::size_t k_max_trailers = 64 * 1024;

} // namespace

ChunkedEnd decode_chunked(std::string_view bytes, std::size_t max_body, std::string& body,
                          std::size_t& pos) {
    for (;;) {
        const auto line_end = bytes.find("\r\n", pos);
        if (line_end == std::string_view::npos) {
            const std::string_view open = bytes.substr(pos);
            if (open.size() > k_max_chunk_line ||
                !clean_line(open.substr(0, open.size() - (open.ends_with('\r') ? 1 : 0))))
                return ChunkedEnd::invalid;
            return ChunkedEnd::incomplete;
        }
        if (line_end - pos > k_max_chunk_line)
            return ChunkedEnd::invalid;
        const std::string_view line = bytes.substr(pos, line_end - pos);
        if (!clean_line(line))
            return ChunkedEnd::invalid;
        std::size_t digits = 0;
        while (digits < line.size() && is_hex(line[digits]))
            ++digits;
        if (digits == 0 || digits > 8)
            return ChunkedEnd::invalid;
        // After the size: nothing, or extensions: optional whitespace, then ';'.
        std::size_t rest = digits;
        while (rest < line.size() && (line[rest] == ' ' || line[rest] == '\t'))
            ++rest;
        if (rest < line.size() ? line[rest] != ';' : rest != digits)
            return ChunkedEnd::invalid;
        std::size_t size = 0;
        std::from_chars(line.data(), line.data() + digits, size, 16);
        if (size == 0) {
            // Trailer fields until an empty line; checked, then dropped.
            std::size_t at = line_end + 2;
            for (;;) {
                if (at - line_end > k_max_trailers)
                    return ChunkedEnd::invalid;
                const auto trailer_end = bytes.find("\r\n", at);
                if (trailer_end == std::string_view::npos) {
                    const std::string_view open = bytes.substr(at);
                    if (open.size() > k_max_field_line ||
                        !clean_line(open.substr(0, open.size() - (open.ends_with('\r') ? 1 : 0))))
                        return ChunkedEnd::invalid;
                    return ChunkedEnd::incomplete;
                }
                if (trailer_end - at > k_max_field_line)
                    return ChunkedEnd::invalid;
                const std::string_view trailer = bytes.substr(at, trailer_end - at);
                at = trailer_end + 2;
                if (trailer.empty()) {
                    pos = at;
                    return ChunkedEnd::complete;
                }
                if (!trailer_line(trailer))
                    return ChunkedEnd::invalid;
            }
        }
        if (body.size() + size > max_body)
            return ChunkedEnd::too_large;
        const std::size_t data = line_end + 2;
        if (bytes.size() - data < size + 2)
            return ChunkedEnd::incomplete;
        if (bytes.substr(data + size, 2) != "\r\n")
            return ChunkedEnd::invalid;
        body.append(bytes.substr(data, size));
        pos = data + size + 2; // resumes here when more bytes arrive
    }
}

} // namespace keygate::http
