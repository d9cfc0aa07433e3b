// nginx auth_request: /auth/nginx.
#include "server/proxy_adapter.hpp"

namespace keygate {
namespace {

ProxyQuestion nginx_question(const http::Request& /*req*/, const RequestHeaders& headers) {
    return {original_from_headers(headers, TargetSource::original), DecisionEndpoint::auth_nginx,
            StatusStyle::nginx};
}

} // namespace

const ProxyAdapter k_nginx_adapter{"/auth/nginx", nginx_question};

} // namespace keygate
