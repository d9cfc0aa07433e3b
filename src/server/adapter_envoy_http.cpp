// Envoy ext_authz over HTTP: /auth/envoy/<the client's raw path>.
#include "server/proxy_adapter.hpp"

namespace keygate {
namespace {

ProxyQuestion envoy_question(const http::Request& req, const RequestHeaders& /*headers*/) {
    // adapter_for() hands only /auth/envoy targets to this adapter.
    return {original_from_envoy_target(req.target, req.method).value_or(OriginalTarget{}),
            DecisionEndpoint::auth_envoy, StatusStyle::standard};
}

} // namespace

const ProxyAdapter k_envoy_http_adapter{"/auth/envoy", envoy_question};

} // namespace keygate
