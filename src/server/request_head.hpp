#pragma once
// A first look at the bytes of a request head, before cpp-httplib parses it: is the head
// all here, and may the listener's event loop serve it? The loop answers only what cannot
// make it wait: a whole head for an auth endpoint, with no body to read. Everything else
// (a body, a head still arriving, any other endpoint) goes to a connection thread.
#include <cstddef>
#include <string_view>

namespace keygate {

/// What inspect_request_head() found.
struct HeadInspection {
    bool complete = false; ///< the bytes hold a whole head (up to an empty CRLF line)
    bool for_loop = false; ///< complete, for /auth, /auth/nginx or /auth/envoy/..., no body
};

/// Looks at buffered request bytes. A head is complete at the first CRLF CRLF (cpp-httplib
/// ends a head there or earlier, so it never reads beyond it). It is for the loop when its
/// request line targets an auth endpoint and no header announces a body or asks for one:
/// no Transfer-Encoding, no Expect, no Content-Length other than 0. The check is
/// conservative: a head it is unsure of goes to a thread, which handles anything.
HeadInspection inspect_request_head(std::string_view bytes);

} // namespace keygate
