#pragma once
// keygate's endpoints (CONTRACT §6), served by the http front end (src/http/): /auth, /auth/nginx,
// /auth/envoy/..., POST /v1/authorize, /healthz, /readyz, /metrics, the admin endpoints
// (/v1/status, /v1/reload, /v1/keys...) and POST /v1/audit; plus the request hardening
// every endpoint shares (header and body limits, JSON errors, no exception text out).
#include "core/key_store.hpp"
#include "core/time.hpp"
#include "http/message.hpp"
#include "infra/audit_sink.hpp"
#include "infra/key_set_holder.hpp"
#include "server/admission_control.hpp"
#include "server/auth_question.hpp"
#include "server/auth_response.hpp"
#include "server/operations.hpp"
#include "server/request_mapping.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace keygate {

/// What the endpoints use. Everything referenced must outlive the HttpApi.
struct HttpApiDeps {
    KeySetHolder& keys;
    AuditSink& audit;
    AdmissionControl* admission = nullptr; ///< row 8 and usage counting; null: no limits
    std::function<TimePoint()> clock = now_ms;
    const OperationsHooks* operations = nullptr; ///< metrics, status, reload; null: none
};

/// Request limits enforced before any endpoint runs.
struct HttpApiLimits {
    std::size_t max_header_count = 100;       ///< more: 431
    std::size_t max_header_bytes = 16 * 1024; ///< names + values + separators; more: 431
    std::size_t max_body_bytes = 1024 * 1024; ///< more: 413 (chunked bodies too)
};

/// Which endpoints a listener serves (KEYGATE_ADMIN_LISTEN). An endpoint a listener does not
/// serve answers 404 there, as an unknown path does.
enum class ListenerRole {
    all,   ///< the only listener: every endpoint
    main,  ///< beside an admin listener: every endpoint but /metrics and the admin API
    admin, ///< the admin listener: /metrics, the admin API, /healthz and /readyz only
};

/// The endpoints. Stateless apart from its dependencies; every handler is thread-safe and
/// never lets an exception out.
class HttpApi {
  public:
    /// Serves the endpoints of `role` (ListenerRole::all: every one).
    HttpApi(HttpApiDeps deps, HttpApiLimits limits, ListenerRole role = ListenerRole::all);

    /// Answers one request the front end has read whole (head and body): every endpoint,
    /// the request limits, an exception as a generic 500, status 200 when none was set, a
    /// JSON body on every error. Also answers the front end's refusals
    /// (http::ConnectionContext::refusal_status). Thread-safe; never throws.
    void answer(const http::Request& req, http::Response& res);
    /// True for the requests answered on the front end's event loop: the probes, and the
    /// decisions (/auth*, /v1/authorize) unless the audit sink is blocked (a decision then
    /// waits for it on the pool). The rest (admin, /metrics, POST /v1/audit) run on the pool.
    bool answers_on_loop(const http::Request& req) const;
    /// True when a request answered off the loop may wait on the audit queue (a decision
    /// or an audit post while it is backlogged): the listener then runs it on its waiting
    /// pool, never on the threads of /metrics and the admin API.
    bool may_wait(const http::Request& req) const;
    /// Decides an auth question that came another way (Envoy's gRPC Check) exactly as the
    /// HTTP auth endpoints decide theirs (map, decide, rate limits, audit, metrics), and
    /// writes the answer /auth/envoy would give into `res` (a 503 when no key set is
    /// loaded). Thread-safe; never throws (an exception becomes a generic 500).
    AuthSummary answer_question(const AuthQuestion& question, http::Response& res);

  private:
    /// The endpoint a request is for.
    enum class Endpoint {
        auth,
        auth_nginx,
        auth_forward,
        auth_envoy,
        authorize,
        healthz,
        readyz,
        metrics,
        status,
        reload,
        access_audit,
        keys,
        report,
        unknown
    };

    /// One request on its way through the handlers.
    struct Incoming {
        const http::Request& req;
        const RequestHeaders& headers;
        /// Taken once per request; every decision of the request is made against it.
        const std::shared_ptr<const KeyStore>& snapshot;
        std::string_view body;
    };

    static Endpoint classify(const http::Request& req);
    /// True when a listener of `role` serves `endpoint` (the one table of which endpoint
    /// belongs to which listener).
    static bool serves(ListenerRole role, Endpoint endpoint);
    /// classify(), with an endpoint this listener does not serve as Endpoint::unknown.
    Endpoint endpoint_of(const http::Request& req) const;
    /// After an error status: a JSON body when none was written; /auth/nginx never answers
    /// other than 200, 401 or 403.
    void after_error(const http::Request& req, http::Response& res);
    /// The exception handler: a generic 500 that never quotes the exception.
    static void answer_exception(http::Response& res);
    /// The refusal, the request limits, then dispatch().
    void pre_route(const http::Request& req, http::Response& res);
    void dispatch(const Incoming& in, http::Response& res);
    void route(const Incoming& in, http::Response& res);
    void handle_auth(const Incoming& in, http::Response& res);
    /// The one decision flow of every auth endpoint: map, decide, answer, audit.
    AuthSummary decide_auth(const std::shared_ptr<const KeyStore>& snapshot,
                            const RequestHeaders& headers, const OriginalTarget& target,
                            const IpAddress& peer, std::string_view body, DecisionEndpoint endpoint,
                            StatusStyle style, http::Response& res);
    /// Checks that the request's key holds `admin` (401/403 written and audited otherwise).
    bool admin_allowed(const Incoming& in, http::Response& res);
    /// POST /v1/audit: access events from trusted peers.
    void handle_access_audit(const Incoming& in, http::Response& res);
    /// GET /v1/keys, /v1/keys/{id}, /v1/keys/{id}/usage (admin).
    void handle_keys(const Incoming& in, http::Response& res);
    /// GET /metrics, GET /v1/status, POST /v1/reload, GET /v1/report.
    void handle_operations(const Incoming& in, http::Response& res, Endpoint endpoint);
    void handle_authorize(const Incoming& in, http::Response& res);
    RequestHeaders gather(const http::Request& req,
                          const std::shared_ptr<const KeyStore>& snapshot) const;

    /// Rows 1–8 against one snapshot, with usage counting.
    struct Outcome {
        Decision decision;
        std::optional<RateLimitView> rate;
    };
    Outcome evaluate(const KeyStore& store, const AuthRequest& request, TimePoint now,
                     bool consume);
    void audit(const Decision& decision, const AuthRequest& request, std::string_view endpoint,
               const RequestHeaders& headers, int status, TimePoint now, DecisionEndpoint kind);

    HttpApiDeps deps_;
    HttpApiLimits limits_;
    ListenerRole role_;
};

} // namespace keygate
