// Traefik ForwardAuth and Caddy forward_auth: /auth/forward.
#include "server/proxy_adapter.hpp"

namespace keygate {
namespace {

ProxyQuestion forward_question(const http::Request& /*req*/, const RequestHeaders& headers) {
    return {original_from_headers(headers, TargetSource::forwarded), DecisionEndpoint::auth_forward,
            StatusStyle::standard};
}

} // namespace

const ProxyAdapter k_forward_adapter{"/auth/forward", forward_question};

} // namespace keygate
