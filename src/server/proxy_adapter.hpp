#pragma once
// The proxy adapters: how each proxy's auth subrequest describes the request it holds, and
// how it wants the answer. One file per proxy (adapter_*.cpp) around the one decision flow
// of HttpApi::handle_auth(): gather the headers, read the original request here, map it
// (request_mapping.hpp), decide, answer (auth_response.hpp), audit.
//
// Each adapter reads exactly one source for the original method and URI, so that a header
// a client adds cannot stand in for the one its proxy sets (docs/security.md).
#include "http/message.hpp"
#include "infra/metrics.hpp"
#include "server/auth_response.hpp"
#include "server/request_mapping.hpp"

namespace keygate {

/// What an auth subrequest asks about, read the way its proxy sends it.
struct ProxyQuestion {
    OriginalTarget target;     ///< the original method and raw URI
    DecisionEndpoint endpoint; ///< the endpoint label of metrics and audit lines
    StatusStyle style;         ///< how the proxy reads the status
};

/// One proxy's reading of its auth subrequests.
struct ProxyAdapter {
    const char* path; ///< the endpoint ("/auth/nginx"); Envoy's is a prefix
    /// The question a request to this endpoint asks; `headers` were gathered from `req`.
    ProxyQuestion (*question)(const http::Request& req, const RequestHeaders& headers);
};

/// nginx `auth_request` (/auth/nginx): X-Original-Method / X-Original-URI only; every
/// refusal is 401 or 403, since nginx turns any other auth status into a 500.
extern const ProxyAdapter k_nginx_adapter;
/// Traefik ForwardAuth and Caddy `forward_auth` (/auth/forward): X-Forwarded-Method /
/// X-Forwarded-Uri only (both proxies set them and pass the client's X-Original-* through).
extern const ProxyAdapter k_forward_adapter;
/// Envoy `ext_authz` over HTTP (/auth/envoy/...): the original path is the request's own
/// target after the prefix, the method the request's own.
extern const ProxyAdapter k_envoy_http_adapter;
/// The generic endpoint (/auth): X-Original-* else X-Forwarded-*; both present and
/// different is ambiguous (row 0).
extern const ProxyAdapter k_generic_adapter;

/// The adapter serving a raw request target, or nullptr when the target is no auth endpoint.
const ProxyAdapter* adapter_for(std::string_view raw_target);

} // namespace keygate
