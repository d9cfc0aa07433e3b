// Wiring of listener and endpoints.
#include "server/keygate_server.hpp"

namespace keygate {

ListenerOptions KeygateServer::listener_options(const ServerOptions& options) {
    ListenerOptions listener = options.listener;
    listener.max_body_bytes = options.limits.max_body_bytes;
    return listener;
}

KeygateServer::KeygateServer(const ServerOptions& options, HttpApiDeps deps)
    : api_(std::move(deps), options.limits), listener_(listener_options(options)) {
    api_.install(listener_);
    if (options.listener.direct_requests) {
        listener_.set_direct_handler([this](const httplib::Request& req, httplib::Response& res) {
            api_.answer_without_body(req, res);
        });
    }
}

} // namespace keygate
