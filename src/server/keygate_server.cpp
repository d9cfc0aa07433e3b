// Wiring of listener and endpoints.
#include "server/keygate_server.hpp"

#include "infra/logging.hpp"

namespace keygate {

http::ListenerOptions KeygateServer::listener_options(const ServerOptions& options) {
    http::ListenerOptions listener = options.listener;
    listener.max_body_bytes = options.limits.max_body_bytes;
    return listener;
}

KeygateServer::KeygateServer(const ServerOptions& options, HttpApiDeps deps)
    : api_(std::move(deps), options.limits, options.role), listener_(listener_options(options)) {
    listener_.set_handlers(
        {[this](const http::Request& req) { return api_.answers_on_loop(req); },
         [this](const http::Request& req) { return api_.may_wait(req); },
         [this](const http::Request& req, http::Response& res) { api_.answer(req, res); },
         [](const http::Rejection& rejection) {
             // debug only: a scanner sending junk must not flood the log at info.
             log_event(spdlog::level::debug,
                       "rejected a request from " + std::string(rejection.peer) + ": " +
                           std::string(rejection.reason) +
                           (rejection.status != 0 ? " (" + std::to_string(rejection.status) + ")"
                                                  : std::string(" (connection closed)")),
                       {{"peer", rejection.peer},
                        {"status", rejection.status},
                        {"reason", rejection.reason}});
         }});
}

} // namespace keygate
