// Finding the end of a request: the head's empty line, then its body.
#include "http/request_framing.hpp"

#include "http/ascii.hpp"

#include <charconv>

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
    for (std::size_t i = scan.scanned; i < buffer.size(); ++i) {
        const char c = buffer[i];
        if (c == '\r') {
            if (i + 1 < buffer.size() && buffer[i + 1] != '\n')
                return {HeadEnd::refused, 0, HeadProblem::bad_line_ending};
            continue;
        }
        if (c != '\n')
            continue;
        if (i == 0 || buffer[i - 1] != '\r')
            return {HeadEnd::refused, 0, HeadProblem::bad_line_ending};
        const std::size_t line_length = i - 1 - scan.line_start; // without its CRLF
        if (line_length > k_max_field_line)
            return {HeadEnd::refused, 0, HeadProblem::too_large};
        if (i + 1 > k_max_head)
            return {HeadEnd::refused, 0, HeadProblem::too_large};
        if (line_length == 0) {
            scan.scanned = i + 1;
            return {HeadEnd::complete, i + 1, HeadProblem::none};
        }
        scan.line_start = i + 1;
    }
    scan.scanned = buffer.size();
    // A CR at the very end may still be followed by its LF: not counted as open text.
    const std::size_t open_line = buffer.size() - scan.line_start;
    if (open_line > k_max_field_line + 1 || buffer.size() > k_max_head)
        return {HeadEnd::refused, 0, HeadProblem::too_large};
    return {};
}

BodyFraming body_framing(const RequestHead& head, std::size_t max_body) {
    BodyFraming out;
    const std::string_view expect = field_value(head, "Expect");
    out.expect_continue = ascii_iequals(expect, "100-continue") && head.version == "HTTP/1.1";
    if (has_field(head, "Transfer-Encoding")) {
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

ChunkedEnd decode_chunked(std::string_view bytes, std::size_t max_body, std::string& body,
                          std::size_t& consumed) {
    body.clear();
    std::size_t pos = 0;
    for (;;) {
        const auto line_end = bytes.find("\r\n", pos);
        if (line_end == std::string_view::npos)
            return bytes.size() - pos > k_max_chunk_line ? ChunkedEnd::invalid
                                                         : ChunkedEnd::incomplete;
        if (line_end - pos > k_max_chunk_line)
            return ChunkedEnd::invalid;
        const std::string_view line = bytes.substr(pos, line_end - pos);
        std::size_t digits = 0;
        while (digits < line.size() && is_hex(line[digits]))
            ++digits;
        if (digits == 0 || digits > 8)
            return ChunkedEnd::invalid;
        // After the size: nothing, or extensions after optional whitespace and ';'.
        std::size_t rest = digits;
        while (rest < line.size() && (line[rest] == ' ' || line[rest] == '\t'))
            ++rest;
        if (rest < line.size() && line[rest] != ';')
            return ChunkedEnd::invalid;
        std::size_t size = 0;
        std::from_chars(line.data(), line.data() + digits, size, 16);
        pos = line_end + 2;
        if (size == 0) {
            // Trailer fields until an empty line; dropped.
            for (;;) {
                const auto trailer_end = bytes.find("\r\n", pos);
                if (trailer_end == std::string_view::npos)
                    return bytes.size() - pos > k_max_field_line ? ChunkedEnd::invalid
                                                                 : ChunkedEnd::incomplete;
                if (trailer_end - pos > k_max_field_line)
                    return ChunkedEnd::invalid;
                const bool empty = trailer_end == pos;
                pos = trailer_end + 2;
                if (empty) {
                    consumed = pos;
                    return ChunkedEnd::complete;
                }
            }
        }
        if (body.size() + size > max_body)
            return ChunkedEnd::too_large;
        if (bytes.size() - pos < size + 2)
            return ChunkedEnd::incomplete;
        if (bytes.substr(pos + size, 2) != "\r\n")
            return ChunkedEnd::invalid;
        body.append(bytes.substr(pos, size));
        pos += size + 2;
    }
}

} // namespace keygate::http
