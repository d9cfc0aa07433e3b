#pragma once
// Envoy's gRPC Check in the terms of the HTTP auth endpoints, both ways (CONTRACT §6):
// a CheckRequest becomes the AuthQuestion /auth/envoy would ask (method and raw path from
// attributes.request.http, its headers, the client address from attributes.source), and the
// answer /auth/envoy gives becomes a CheckResponse (OkHttpResponse or DeniedHttpResponse,
// dynamic_metadata). Both are read and written as wire bytes (grpc/proto_wire.*), field for
// field as proto/envoy/service/auth/v3/*.proto numbers them, with no protobuf message in
// between: the messages' objects cost more than the decision itself. Pure functions, so
// that each rule is unit-tested without a channel (against protobuf's own classes).
#include "http/message.hpp"
#include "server/auth_question.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace keygate {

/// The google.rpc.Code values a CheckResponse carries.
enum class RpcCode : int { ok = 0, permission_denied = 7, unauthenticated = 16 };

/// What a CheckRequest asks. Views point into the request's bytes, which must outlive this.
/// Reused from call to call: reading clears it and keeps the vectors' storage.
struct CheckQuestion {
    std::vector<HeadField> fields;     ///< header_map when Envoy sent raw headers, else headers
    OriginalTarget target;             ///< attributes.request.http method and path
    IpAddress peer;                    ///< attributes.source socket address; "::" when none
    std::string_view body;             ///< http.body, else http.raw_body
    std::vector<HeadField> raw_fields; ///< header_map's entries while reading (then in fields)

    /// The AuthQuestion for HttpApi::answer_question() (views into this and the request).
    AuthQuestion question() const;
};

/// Reads the wire bytes of a CheckRequest into `out`; false when they are malformed (no
/// CheckRequest at all: answered with a gRPC error, never a decision). Read as protobuf
/// reads the message, merging a message field that occurs twice and keeping the last of a
/// string, a map's last value per key, a oneof's last member, and skipping unknown fields;
/// strings are taken as bytes, as HTTP headers are, not refused when they are not UTF-8.
/// Header names are taken as sent (Envoy sends them lower case), values of header_map from
/// raw_value, else value; the headers map's entries sorted by name (a map has no order). A
/// source that is no IP address (a pipe, a name, nothing) is "::", which no allowlist short
/// of ::/0 admits and no default trusts.
bool read_check_request(std::string_view wire, CheckQuestion& out);

/// The google.rpc.Code of a decided answer: OK for 200, UNAUTHENTICATED for 401, else
/// PERMISSION_DENIED (400, 403, 429 alike: the HTTP status is in the DeniedHttpResponse).
RpcCode rpc_code_for_status(int http_status);

/// Appends to `out` the wire bytes of the CheckResponse of an answer that
/// HttpApi::answer_question() wrote into `answer`, with `summary` its decision. Allowed:
/// status OK and an OkHttpResponse whose `headers` are the X-Auth-* headers (append false:
/// set, replacing what the client sent), whose `headers_to_remove` hold the key header,
/// `authorization` when it carried the key as a Bearer token, and every other x-auth-*
/// header the client sent; its `response_headers_to_add` the rest (rate limits, Sunset); its
/// `query_parameters_to_remove` `api_key` when the query carried the key. Denied: the rpc
/// code above and a DeniedHttpResponse with the HTTP status (429 stays 429), every header of
/// the answer and the JSON body. Both: dynamic_metadata {code, key_id, role, tenant}, key
/// fields only when a key matched. Header names are lower case, as HTTP/2 wants them.
void write_check_response(const http::Response& answer, const AuthSummary& summary,
                          const CheckQuestion& question, std::string& out);

} // namespace keygate
