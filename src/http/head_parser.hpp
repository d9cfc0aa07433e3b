#pragma once
// The one strict reader of an HTTP/1.1 request head (RFC 9112). Every request keygate
// answers has its head read here, once, by the event loop.
//
// Values are the raw bytes the client sent: never percent-decoded (cpp-httplib 0.11.4
// decodes header values; a proxy and keygate must read the same URI).
#include <cstddef>
#include <string_view>
#include <utility>
#include <vector>

namespace keygate {

/// Longest header field line (name, colon and value); a longer one is refused with 431.
inline constexpr std::size_t k_max_field_line = 8 * 1024;
/// Longest request head, request line and empty line included; beyond it: 431.
inline constexpr std::size_t k_max_head = 64 * 1024;

/// Why a head was refused (or that it is not all here yet).
enum class HeadProblem {
    none,
    incomplete,               ///< no empty line yet (not an error while bytes still arrive)
    bad_line_ending,          ///< a bare CR or a bare LF
    bad_request_line,         ///< not "METHOD SP TARGET SP HTTP/x.y"
    obs_fold,                 ///< a field line starting with a space or tab
    bad_field_name,           ///< an empty name, a non-token byte, or whitespace before ':'
    control_byte,             ///< NUL or another control byte (but tab) in a field value
    duplicate_content_length, ///< Content-Length given twice
    length_and_chunked,       ///< Content-Length together with Transfer-Encoding
    missing_host,             ///< an HTTP/1.1 request without a Host field (RFC 9112 3.2)
    duplicate_host,           ///< Host given twice
    invalid_host,             ///< a Host value that is no uri-host [":" port]
    too_large,                ///< a field line over 8 KiB or a head over 64 KiB
};

/// The HTTP status a refused head gets: 431 for too_large, else 400.
int head_problem_status(HeadProblem problem);

/// A short text for logs ("bare LF", "obs-fold", ...).
const char* head_problem_text(HeadProblem problem);

/// One header field as it arrived; the value without leading and trailing spaces and tabs.
struct HeadField {
    std::string_view name;
    std::string_view value;
};

/// A request head read by parse_request_head(). Views into the parsed bytes.
struct RequestHead {
    std::string_view method;
    std::string_view target; ///< the raw request target
    std::string_view version;
    std::vector<HeadField> fields; ///< in arrival order, empty values included
    std::size_t length = 0;        ///< bytes up to and including the empty line
};

/// Reads the head at the start of `bytes` strictly: CRLF line endings only, a
/// "METHOD SP TARGET SP HTTP/DIGIT.DIGIT" request line with a token method and a target of
/// visible bytes, token field names directly followed by ':', no obs-fold, no control byte
/// in a value, one Content-Length at most and never with Transfer-Encoding, exactly one
/// Host field holding `uri-host [":" port]` (or empty; HTTP/1.0 may leave it out), field
/// lines up to 8 KiB and heads up to 64 KiB. `out` is overwritten (its field vector's
/// capacity reused) and means something only on HeadProblem::none.
HeadProblem parse_request_head(std::string_view bytes, RequestHead& out);

} // namespace keygate
