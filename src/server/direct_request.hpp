#pragma once
// The event loop's own reading and writing of the simplest auth requests: what cpp-httplib
// 0.11.4's process_request() does for them, without its per-byte line reader, repeated
// header lookups and printf-formatted output. Only heads whose parse this reproduces
// exactly are taken (HTTP/1.1, CRLF lines, no Range, no fragment, ...); any other head is
// left to cpp-httplib. The integration tests compare answers byte for byte with the
// library's (test_server_event_loop.cpp).
#include <cstddef>
#include <httplib.h>
#include <optional>
#include <string>
#include <string_view>

namespace keygate {

/// What parse_direct_head() read besides the request itself.
struct DirectHead {
    std::size_t length = 0; ///< bytes of the head, up to and including its empty line
    bool close = false;     ///< the first Connection header is exactly "close"
};

/// Fills `req` (method, target, version, path, headers) from a whole request head at the
/// start of `bytes`, as cpp-httplib 0.11.4 would: header values percent-decoded once,
/// fields without a value left out. nullopt when the head has anything this does not
/// reproduce (the caller then lets cpp-httplib parse it).
std::optional<DirectHead> parse_direct_head(std::string_view bytes, httplib::Request& req);

/// How a direct response ends its header block.
struct DirectResponseOptions {
    bool close_connection = false;  ///< "Connection: close" (the last request, or the client
                                    ///< asked) instead of Keep-Alive
    long keep_alive_timeout_s = 5;  ///< the Keep-Alive header's timeout
    std::size_t keep_alive_max = 5; ///< the Keep-Alive header's max
};

/// Appends `res` to `out` as cpp-httplib 0.11.4's write_response_core() writes an answer
/// with a body string (no ranges, no compression, no content provider): the Connection or
/// Keep-Alive, Content-Type, Content-Length and Accept-Ranges headers it adds, merged into
/// the header map's order, and no body for HEAD. `res` is not changed.
void write_direct_response(const httplib::Request& req, const httplib::Response& res,
                           const DirectResponseOptions& options, std::string& out);

} // namespace keygate
