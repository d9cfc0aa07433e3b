// The generic auth endpoint, /auth, and the choice of an adapter by the raw target.
#include "server/proxy_adapter.hpp"

namespace keygate {
namespace {

ProxyQuestion generic_question(const http::Request& /*req*/, const RequestHeaders& headers) {
    return {original_from_headers(headers, TargetSource::either), DecisionEndpoint::auth,
            StatusStyle::standard};
}

} // namespace

const ProxyAdapter k_generic_adapter{"/auth", generic_question};

const ProxyAdapter* adapter_for(std::string_view raw_target) {
    // The raw path: "/auth%2Fnginx" is no endpoint.
    const std::string_view path = raw_target.substr(0, raw_target.find('?'));
    if (path == k_generic_adapter.path)
        return &k_generic_adapter;
    if (path == k_nginx_adapter.path)
        return &k_nginx_adapter;
    if (path == k_forward_adapter.path)
        return &k_forward_adapter;
    // Envoy's path_prefix puts the client's raw path (and query) after the prefix.
    if (is_envoy_target(raw_target))
        return &k_envoy_http_adapter;
    return nullptr;
}

} // namespace keygate
