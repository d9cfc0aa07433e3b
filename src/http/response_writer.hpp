#pragma once
// One response as bytes on the wire: the status line, the handler's headers, the framing
// headers the front end owns (Content-Length, Connection / Keep-Alive), the body.
#include "http/message.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace keygate::http {

/// How a response ends its header block.
struct ResponseFraming {
    bool close_connection = false;  ///< "Connection: close" instead of a Keep-Alive header
    long keep_alive_timeout_s = 75; ///< the Keep-Alive header's timeout
    std::size_t keep_alive_max = 0; ///< the Keep-Alive header's max (0: not written)
    bool head_request = false;      ///< a HEAD request: the body is not sent
};

/// Appends `res` to `out` as HTTP/1.1. A Connection, Keep-Alive, Content-Length or
/// Transfer-Encoding header the handler set is replaced by the framing's own (a header
/// holding CR, LF or NUL never got in: Response::set_header). A 1xx, 204 or 304 status
/// has no body.
void write_response(const Response& res, const ResponseFraming& framing, std::string& out);

/// The reason phrase of a status ("OK", "Unauthorized"...); "Unknown" for others.
std::string_view reason_phrase(int status);

} // namespace keygate::http
