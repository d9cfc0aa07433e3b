#pragma once
// Where one request ends in the bytes a connection has received: the head (read by the one
// strict parser, head_parser.hpp) and the body after it (Content-Length or chunked), so
// that a handler only ever runs on a request that is here whole. Incremental: the caller
// keeps a HeadScan per request and feeds it the growing buffer; bytes are never scanned
// twice, whatever a client's segment sizes.
#include "http/head_parser.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace keygate::http {

/// How far the search for a request head's end has come.
struct HeadScan {
    std::size_t scanned = 0;    ///< bytes already looked at
    std::size_t line_start = 0; ///< where the line being read starts
};

/// What scan_head() found.
enum class HeadEnd {
    incomplete, ///< no empty line yet; wait for more bytes
    complete,   ///< the head ends at `length`
    refused,    ///< it can never be a valid head (`problem` says why)
};

/// The outcome of scan_head().
struct HeadScanResult {
    HeadEnd end = HeadEnd::incomplete;
    std::size_t length = 0;                  ///< complete: bytes up to the empty line's end
    HeadProblem problem = HeadProblem::none; ///< refused: why
};

/// Looks at the bytes of `buffer` not yet scanned for the end of a request head: an empty
/// line after CRLF. A bare LF, a field line over 8 KiB or a head over 64 KiB is refused at
/// once, without waiting for the rest.
HeadScanResult scan_head(std::string_view buffer, HeadScan& scan);

/// How a request's body is framed, read from its parsed head.
struct BodyFraming {
    enum class Kind { none, length, chunked } kind = Kind::none;
    std::size_t length = 0;       ///< Kind::length: the declared length
    int status = 0;               ///< non-zero: refuse the request with this status
    const char* why = "";         ///< the refusal, for the error body and the logs
    bool expect_continue = false; ///< the client waits for "100 Continue" before the body
};

/// The body framing of `head`: Content-Length (digits only, at most `max_body`; over it:
/// 413), `Transfer-Encoding: chunked` (any other coding: 501), or none.
BodyFraming body_framing(const RequestHead& head, std::size_t max_body);

/// What decode_chunked() found.
enum class ChunkedEnd { incomplete, complete, invalid, too_large };

/// Decodes a chunked body at the start of `bytes` into `body`, incrementally: `pos` is where
/// the next chunk starts (0 at first); call again with the same `body` and `pos` when more
/// bytes have arrived. Chunk extensions and trailers are checked (no control bytes, no bare
/// CR or LF, trailer names are tokens) and dropped. On complete, `pos` is the body's length
/// on the wire. A decoded body over `max_body` is too_large; a chunk-size line over 1 KiB,
/// trailers over 64 KiB or anything malformed is invalid.
ChunkedEnd decode_chunked(std::string_view bytes, std::size_t max_body, std::string& body,
                          std::size_t& pos);

} // namespace keygate::http
