// Wiring of listener and endpoints.
#include "server/keygate_server.hpp"

namespace keygate {

http::ListenerOptions KeygateServer::listener_options(const ServerOptions& options) {
    http::ListenerOptions listener = options.listener;
    listener.max_body_bytes = options.limits.max_body_bytes;
    return listener;
}

KeygateServer::KeygateServer(const ServerOptions& options, HttpApiDeps deps)
    : api_(std::move(deps), options.limits), listener_(listener_options(options)) {
    listener_.set_handlers(
        {[this](const http::Request& req) { return api_.answers_on_loop(req); },
         [this](const http::Request& req, http::Response& res) { api_.answer(req, res); }});
}

} // namespace keygate
