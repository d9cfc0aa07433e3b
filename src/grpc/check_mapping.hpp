#pragma once
// Envoy's gRPC Check in the terms of the HTTP auth endpoints, both ways (CONTRACT §6):
// a CheckRequest becomes the AuthQuestion /auth/envoy would ask (method and raw path from
// attributes.request.http, its headers, the client address from attributes.source), and the
// answer /auth/envoy gives becomes a CheckResponse (OkHttpResponse or DeniedHttpResponse,
// dynamic_metadata). Pure functions over messages, so that each rule is unit-tested without
// a channel.
#include "envoy/service/auth/v3/external_auth.pb.h"
#include "http/message.hpp"
#include "server/auth_question.hpp"

#include <vector>

namespace keygate {

/// The google.rpc.Code values a CheckResponse carries.
enum class RpcCode : int { ok = 0, permission_denied = 7, unauthenticated = 16 };

/// What a CheckRequest asks. Views point into the request, which must outlive this.
struct CheckQuestion {
    std::vector<HeadField> fields; ///< header_map when Envoy sent raw headers, else headers
    OriginalTarget target;         ///< attributes.request.http method and path
    IpAddress peer;                ///< attributes.source socket address; "::" when none
    std::string_view body;         ///< http.body, else http.raw_body

    /// The AuthQuestion for HttpApi::answer_question() (views into this and the request).
    AuthQuestion question() const;
};

/// Reads a CheckRequest. Header names are taken as sent (Envoy sends them lower case), values
/// of header_map from raw_value, else value. A source that is no IP address (a pipe, a name,
/// nothing) is "::", which no allowlist short of ::/0 admits and no default trusts.
CheckQuestion read_check_request(const envoy::service::auth::v3::CheckRequest& request);

/// The google.rpc.Code of a decided answer: OK for 200, UNAUTHENTICATED for 401, else
/// PERMISSION_DENIED (400, 403, 429 alike: the HTTP status is in the DeniedHttpResponse).
RpcCode rpc_code_for_status(int http_status);

/// Writes the CheckResponse of an answer that HttpApi::answer_question() wrote into
/// `answer`, with `summary` its decision. Allowed: status OK and an OkHttpResponse whose
/// `headers` are the X-Auth-* headers (append false: set, replacing what the client sent),
/// whose `headers_to_remove` hold the key header, `authorization` when it carried the key as
/// a Bearer token, and every other x-auth-* header the client sent; its
/// `response_headers_to_add` the rest (rate limits, Sunset). Denied: the rpc code above and a
/// DeniedHttpResponse with the HTTP status (429 stays 429), every header of the answer and
/// the JSON body. Both: dynamic_metadata {key_id, tenant, role, code}, key fields only when a
/// key matched. Header names are lower case, as HTTP/2 wants them.
void write_check_response(const http::Response& answer, const AuthSummary& summary,
                          const CheckQuestion& question,
                          envoy::service::auth::v3::CheckResponse& out);

} // namespace keygate
