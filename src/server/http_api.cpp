// Routing, hardening and the auth endpoints.
#include "server/http_api.hpp"

#include "core/decide.hpp"
#include "core/key_mask.hpp"
#include "http/ascii.hpp"
#include "http/connection_context.hpp"
#include "infra/decision_json.hpp"
#include "server/access_events.hpp"
#include "server/authorize_request.hpp"
#include "server/key_listing.hpp"
#include "server/proxy_adapter.hpp"
#include "server/request_mapping.hpp"

#include <algorithm>
#include <charconv>
#include <spdlog/spdlog.h>

namespace keygate {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr const char* k_json = "application/json";
const std::string k_default_key_header = "X-API-Key";

/// When the current request started, for the audit event's latency.
thread_local SteadyClock::time_point t_request_start{};

/// Ends the connection after this response, and tells the client so.
void close_after_response(http::Response& /*res*/) {
    // The front end writes "Connection: close" when it closes.
    if (http::ConnectionContext* connection = http::current_connection())
        connection->close_after_response = true;
}

/// While the server stops, a request in flight is answered and its connection closed.
void close_if_stopping(http::Response& res) {
    const http::ConnectionContext* connection = http::current_connection();
    if (connection != nullptr && connection->server_stopping())
        close_after_response(res);
}

IpAddress peer_address(const http::Request& req) {
    if (const http::ConnectionContext* connection = http::current_connection())
        return connection->peer;
    // Outside the front end (a direct call in a test): the request's own address field.
    // Never a REMOTE_ADDR header, which a client can send.
    return parse_ip(req.remote_addr).value_or(IpAddress{});
}

/// The code and detail of an error status that no endpoint wrote (cpp-httplib's own).
std::pair<const char*, const char*> generic_error(int status) {
    switch (status) {
    case 400:
        return {"BAD_REQUEST", "Bad request"};
    case 404:
        return {"NOT_FOUND", "Not found"};
    case 405:
        return {"METHOD_NOT_ALLOWED", "Method not allowed"};
    case 413:
        return {"PAYLOAD_TOO_LARGE", "Request body too large"};
    case 414:
        return {"URI_TOO_LONG", "Request URI too long"};
    case 416:
        return {"RANGE_NOT_SATISFIABLE", "Range not satisfiable"};
    case 431:
        return {"HEADERS_TOO_LARGE", "Request headers too large"};
    case 501:
        return {"NOT_IMPLEMENTED", "Not implemented"};
    case 505:
        return {"HTTP_VERSION_NOT_SUPPORTED", "HTTP version not supported"};
    case 503:
        return {"NOT_READY", "No key set loaded"};
    default:
        return {"INTERNAL", "Internal error"};
    }
}

void write_generic_error(http::Response& res, int status) {
    const auto [code, detail] = generic_error(status);
    write_error(res, status, code, detail);
}

void method_not_allowed(http::Response& res, const char* allow) {
    write_generic_error(res, 405);
    res.set_header("Allow", allow);
}

} // namespace

HttpApi::HttpApi(HttpApiDeps deps, HttpApiLimits limits, ListenerRole role)
    : deps_(std::move(deps)), limits_(limits), role_(role) {}

bool HttpApi::serves(ListenerRole role, Endpoint endpoint) {
    // Which listener serves each endpoint once KEYGATE_ADMIN_LISTEN splits them: the
    // decisions and access events stay with the proxy and the data API on the main
    // listener; /metrics and the admin API move to the admin listener; the probes answer
    // on both, so that kubelet may target either port.
    struct Placement {
        Endpoint endpoint;
        bool main;
        bool admin;
    };
    static constexpr Placement k_placements[] = {
        {Endpoint::auth, true, false},         {Endpoint::auth_nginx, true, false},
        {Endpoint::auth_forward, true, false}, {Endpoint::auth_envoy, true, false},
        {Endpoint::authorize, true, false},    {Endpoint::healthz, true, true},
        {Endpoint::readyz, true, true},        {Endpoint::metrics, false, true},
        {Endpoint::status, false, true},       {Endpoint::reload, false, true},
        {Endpoint::access_audit, true, false}, {Endpoint::keys, false, true},
        {Endpoint::report, false, true},       {Endpoint::unknown, true, true},
    };
    // Indexed by the enum: a new endpoint without its row fails to compile.
    static_assert(std::size(k_placements) == static_cast<std::size_t>(Endpoint::unknown) + 1);
    static_assert([] {
        for (std::size_t i = 0; i < std::size(k_placements); ++i) {
            if (static_cast<std::size_t>(k_placements[i].endpoint) != i)
                return false;
        }
        return true;
    }());
    const Placement& placement = k_placements[static_cast<std::size_t>(endpoint)];
    switch (role) {
    case ListenerRole::all:
        return true;
    case ListenerRole::main:
        return placement.main;
    case ListenerRole::admin:
        return placement.admin;
    }
    return false;
}

HttpApi::Endpoint HttpApi::endpoint_of(const http::Request& req) const {
    const Endpoint endpoint = classify(req);
    return serves(role_, endpoint) ? endpoint : Endpoint::unknown;
}

bool HttpApi::answers_on_loop(const http::Request& req) const {
    switch (endpoint_of(req)) {
    case Endpoint::auth:
    case Endpoint::auth_nginx:
    case Endpoint::auth_forward:
    case Endpoint::auth_envoy:
    case Endpoint::authorize:
        // Decisions are quick and never block, unless the audit sink does: a decision
        // waits for room in the audit queue rather than go unaudited. While the sink is
        // blocked (or its queue fills) they wait on the waiting pool, so that the loop goes
        // on serving the probes (/readyz says 503) and every other connection.
        return !audit_backlogged(deps_.operations);
    case Endpoint::healthz:
    case Endpoint::readyz:
        return true; // probes: quick, never blocking
    default:
        return false; // admin, metrics, audit posts: a pool thread
    }
}

bool HttpApi::may_wait(const http::Request& req) const {
    switch (endpoint_of(req)) {
    case Endpoint::auth:
    case Endpoint::auth_nginx:
    case Endpoint::auth_forward:
    case Endpoint::auth_envoy:
    case Endpoint::authorize:
    case Endpoint::access_audit:
        // They write audit lines: while the queue is backlogged they may wait for room,
        // and must not take the threads /metrics and the admin API are answered on.
        return audit_backlogged(deps_.operations);
    default:
        return false;
    }
}

void HttpApi::answer(const http::Request& req, http::Response& res) {
    try {
        pre_route(req, res);
    } catch (...) {
        answer_exception(res);
    }
    if (res.status == -1)
        res.status = 200;
    if (res.status >= 400)
        after_error(req, res);
}

void HttpApi::after_error(const http::Request& req, http::Response& res) {
    if (res.body.empty()) {
        write_generic_error(res, res.status);
        close_after_response(res);
    }
    // nginx turns any auth status but 2xx/401/403 into a 500 (CONTRACT §6).
    if (endpoint_of(req) == Endpoint::auth_nginx && res.status >= 400 && res.status != 401 &&
        res.status != 403) {
        res.status = 403;
    }
}

void HttpApi::answer_exception(http::Response& res) {
    // Never e.what(): it may quote the request.
    res.headers.clear();
    write_error(res, 500, "INTERNAL", "Internal error");
    close_after_response(res);
}

HttpApi::Endpoint HttpApi::classify(const http::Request& req) {
    // The raw path of the request target: cpp-httplib's req.path is percent-decoded, and
    // "/auth%2Fnginx" is not an endpoint.
    const std::string_view target = req.target;
    const std::string_view path = target.substr(0, target.find('?'));
    if (const ProxyAdapter* adapter = adapter_for(target)) {
        if (adapter == &k_nginx_adapter)
            return Endpoint::auth_nginx;
        if (adapter == &k_forward_adapter)
            return Endpoint::auth_forward;
        if (adapter == &k_envoy_http_adapter)
            return Endpoint::auth_envoy;
        return Endpoint::auth;
    }
    if (path == "/v1/authorize")
        return Endpoint::authorize;
    if (path == "/healthz")
        return Endpoint::healthz;
    if (path == "/readyz")
        return Endpoint::readyz;
    if (path == "/metrics")
        return Endpoint::metrics;
    if (path == "/v1/status")
        return Endpoint::status;
    if (path == "/v1/reload")
        return Endpoint::reload;
    if (path == "/v1/audit")
        return Endpoint::access_audit;
    if (path == "/v1/report")
        return Endpoint::report;
    if (path == "/v1/keys" || path.starts_with("/v1/keys/"))
        return Endpoint::keys;
    return Endpoint::unknown;
}

RequestHeaders HttpApi::gather(const http::Request& req,
                               const std::shared_ptr<const KeyStore>& snapshot) const {
    return gather_request_headers(req.fields(), snapshot ? snapshot->config().settings.header
                                                         : k_default_key_header);
}

void HttpApi::pre_route(const http::Request& req, http::Response& res) {
    t_request_start = SteadyClock::now();
    if (const http::ConnectionContext* connection = http::current_connection();
        connection != nullptr && connection->refusal_status != 0) {
        // The front end refused the request before it could be read whole (a malformed
        // head, a body it will not read): never decided.
        const int status = connection->refusal_status;
        const std::string_view why = connection->refusal_why;
        // The framing's reasons are sentences ("Invalid Content-Length"); the strict head
        // reader's are log texts: those get the generic detail.
        if (!why.empty() && why.front() >= 'A' && why.front() <= 'Z') {
            write_error(res, status, generic_error(status).first, std::string(why));
        } else {
            write_generic_error(res, status);
        }
        close_after_response(res);
        return;
    }
    const std::shared_ptr<const KeyStore> snapshot = deps_.keys.snapshot();
    const RequestHeaders headers = gather(req, snapshot);
    if (headers.count > limits_.max_header_count || headers.bytes > limits_.max_header_bytes) {
        write_generic_error(res, 431);
        close_after_response(res);
        return;
    }
    if (headers.content_encoding && !ascii_iequals(*headers.content_encoding, "identity")) {
        write_error(res, 415, "UNSUPPORTED_MEDIA_TYPE", "Content-Encoding is not supported");
        close_after_response(res);
        return;
    }
    // The front end has read the body whole (Content-Length or chunked) within the limits.
    dispatch(Incoming{req, headers, snapshot, req.body}, res);
}

void HttpApi::dispatch(const Incoming& in, http::Response& res) {
    route(in, res);
    close_if_stopping(res);
}

void HttpApi::route(const Incoming& in, http::Response& res) {
    const http::Request& req = in.req;
    const Endpoint endpoint = endpoint_of(req);
    switch (endpoint) {
    case Endpoint::auth:
    case Endpoint::auth_nginx:
    case Endpoint::auth_forward:
    case Endpoint::auth_envoy:
        handle_auth(in, res);
        return;
    case Endpoint::authorize:
        if (req.method != "POST")
            return method_not_allowed(res, "POST");
        handle_authorize(in, res);
        return;
    case Endpoint::healthz:
        if (req.method != "GET" && req.method != "HEAD")
            return method_not_allowed(res, "GET, HEAD");
        res.status = 200;
        res.set_content(R"({"status":"ok"})", k_json);
        return;
    case Endpoint::readyz:
        if (req.method != "GET" && req.method != "HEAD")
            return method_not_allowed(res, "GET, HEAD");
        if (deps_.operations != nullptr && deps_.operations->draining &&
            deps_.operations->draining()) {
            res.status = 503;
            res.set_content(R"({"status":"draining"})", k_json);
        } else if (audit_blocked(deps_.operations)) {
            res.status = 503;
            res.set_content(R"({"status":"audit blocked"})", k_json);
        } else if (deps_.keys.ready()) {
            res.status = 200;
            res.set_content(R"({"status":"ready"})", k_json);
        } else {
            res.status = 503;
            res.set_content(R"({"status":"not ready"})", k_json);
        }
        return;
    case Endpoint::metrics:
    case Endpoint::status:
    case Endpoint::reload:
    case Endpoint::report:
        handle_operations(in, res, endpoint);
        return;
    case Endpoint::access_audit:
        if (req.method != "POST")
            return method_not_allowed(res, "POST");
        handle_access_audit(in, res);
        return;
    case Endpoint::keys:
        handle_keys(in, res);
        return;
    case Endpoint::unknown:
        write_generic_error(res, 404);
        return;
    }
}

void HttpApi::handle_access_audit(const Incoming& in, http::Response& res) {
    const OperationsHooks* ops = deps_.operations;
    if (ops == nullptr || !ops->access_event)
        return write_generic_error(res, 404);
    if (!in.snapshot)
        return write_generic_error(res, 503);
    const Settings& settings = in.snapshot->config().settings;
    // Only the query service (a trusted peer, by the TCP address) may write access events.
    const IpAddress peer = peer_address(in.req);
    const bool trusted =
        std::any_of(settings.trusted_proxies.begin(), settings.trusted_proxies.end(),
                    [&](const Cidr& cidr) { return cidr.contains(peer); });
    if (!trusted)
        return write_error(res, 403, "FORBIDDEN",
                           "Audit events are accepted from trusted peers only");
    auto batch = parse_access_batch(in.body);
    if (!batch) {
        const std::string code = batch.error().status == 413 ? "PAYLOAD_TOO_LARGE" : "BAD_REQUEST";
        return write_error(res, batch.error().status, code, batch.error().detail);
    }
    AccessKeyContext context;
    const AuthRequest presented =
        map_auth_request(in.headers, OriginalTarget{}, peer, settings, {});
    if (presented.key) {
        context.masked_key = mask_key(*presented.key);
        if (const auto match = in.snapshot->find(*presented.key))
            context.key = match->key;
    }
    for (auto& event : *batch) {
        enrich_access_event(event, context, *in.snapshot);
        ops->access_event(std::move(event));
    }
    res.status = 202;
    res.set_content(R"({"accepted":)" + std::to_string(batch->size()) + "}", k_json);
}

void HttpApi::handle_keys(const Incoming& in, http::Response& res) {
    if (in.req.method != "GET" && in.req.method != "HEAD")
        return method_not_allowed(res, "GET, HEAD");
    if (!admin_allowed(in, res))
        return;
    const auto dump = [](const nlohmann::ordered_json& j) {
        return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    };
    const KeyStore& store = *in.snapshot; // admin_allowed() answered 503 without one
    const TimePoint now = deps_.clock();
    constexpr std::string_view prefix = "/v1/keys/";
    constexpr std::string_view usage_suffix = "/usage";
    const std::string_view target = in.req.target;
    const std::string_view path = target.substr(0, target.find('?'));
    if (path == "/v1/keys" || path == prefix) {
        res.status = 200;
        res.set_content(dump(key_list_json(store, now)), k_json);
        return;
    }
    std::string_view id = path.substr(prefix.size());
    const bool usage = id.ends_with(usage_suffix);
    if (usage)
        id.remove_suffix(usage_suffix.size());
    const ResolvedKey* key =
        id.find('/') == std::string_view::npos ? store.find_by_id(id) : nullptr;
    if (key == nullptr)
        return write_error(res, 404, "NOT_FOUND", "No key with this id");
    if (!usage) {
        res.status = 200;
        res.set_content(dump(key_json(*key, store, now)), k_json);
        return;
    }
    const OperationsHooks* ops = deps_.operations;
    if (ops == nullptr || !ops->key_usage)
        return write_generic_error(res, 404);
    res.status = 200;
    res.set_content(dump(ops->key_usage(*key)), k_json);
}

bool HttpApi::admin_allowed(const Incoming& in, http::Response& res) {
    if (!in.snapshot) {
        write_generic_error(res, 503);
        return false;
    }
    const Settings& settings = in.snapshot->config().settings;
    const auto target = original_from_envoy_target(in.req.target, in.req.method);
    AuthRequest request = map_auth_request(in.headers, target.value_or(OriginalTarget{}),
                                           peer_address(in.req), settings, {});
    request.permission = "admin";
    const TimePoint now = deps_.clock();
    // Admin calls are decided like any other (and audited), but never consume rate limits.
    const Outcome outcome = evaluate(*in.snapshot, request, now, /*consume=*/false);
    if (outcome.decision.allowed())
        return true;
    write_decision(res, outcome.decision, nullptr, settings.header, StatusStyle::standard);
    audit(outcome.decision, request, request.path, in.headers, res.status, now,
          DecisionEndpoint::auth);
    return false;
}

void HttpApi::handle_operations(const Incoming& in, http::Response& res, Endpoint endpoint) {
    const OperationsHooks* ops = deps_.operations;
    const auto dump = [](const nlohmann::ordered_json& j) {
        return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    };
    switch (endpoint) {
    case Endpoint::metrics:
        if (ops == nullptr || !ops->metrics_text)
            return write_generic_error(res, 404);
        if (in.req.method != "GET" && in.req.method != "HEAD")
            return method_not_allowed(res, "GET, HEAD");
        res.status = 200;
        res.set_content(ops->metrics_text(), "text/plain; version=0.0.4; charset=utf-8");
        return;
    case Endpoint::status:
        if (ops == nullptr || !ops->status)
            return write_generic_error(res, 404);
        if (in.req.method != "GET" && in.req.method != "HEAD")
            return method_not_allowed(res, "GET, HEAD");
        if (!admin_allowed(in, res))
            return;
        res.status = 200;
        res.set_content(dump(ops->status()), k_json);
        return;
    case Endpoint::reload:
        if (ops == nullptr || !ops->reload)
            return write_generic_error(res, 404);
        if (in.req.method != "POST")
            return method_not_allowed(res, "POST");
        if (!admin_allowed(in, res))
            return;
        res.status = 200;
        res.set_content(dump(ops->reload()), k_json);
        return;
    case Endpoint::report: {
        if (ops == nullptr || !ops->report)
            return write_generic_error(res, 404);
        if (in.req.method != "GET" && in.req.method != "HEAD")
            return method_not_allowed(res, "GET, HEAD");
        if (!admin_allowed(in, res))
            return;
        const std::string_view target = in.req.target;
        const std::size_t question = target.find('?');
        const auto windows = parse_report_query(
            question == std::string_view::npos ? std::string_view{} : target.substr(question + 1));
        if (!windows)
            return write_error(res, 400, "BAD_REQUEST", windows.error().message);
        res.status = 200;
        res.set_content(dump(ops->report(*windows)), k_json);
        return;
    }
    default:
        write_generic_error(res, 404);
        return;
    }
}

HttpApi::Outcome HttpApi::evaluate(const KeyStore& store, const AuthRequest& request, TimePoint now,
                                   bool consume) {
    Outcome outcome{decide(store, request, now), std::nullopt};
    // Row 8: rate limits are state, so they are applied here, after the pure decision,
    // and only to requests that passed rows 1–7.
    if (deps_.admission != nullptr && outcome.decision.key != nullptr) {
        deps_.admission->record_decision(
            *outcome.decision.key,
            used_rotated_secret(outcome.decision) ? outcome.decision.source : SecretSource::current,
            now);
        if (outcome.decision.allowed()) {
            AdmissionResult admission = deps_.admission->admit(*outcome.decision.key, now, consume);
            if (!admission.allowed)
                outcome.decision.code = DecisionCode::rate_limited;
            outcome.rate = std::move(admission.view);
        }
    }
    return outcome;
}

void HttpApi::audit(const Decision& decision, const AuthRequest& request, std::string_view endpoint,
                    const RequestHeaders& headers, int status, TimePoint now,
                    DecisionEndpoint kind) {
    const AuthDecisionEvent event{
        now,
        decision,
        request,
        endpoint,
        headers.user_agent.value_or(std::string_view{}),
        headers.request_id.value_or(std::string_view{}),
        status,
        std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - t_request_start),
        headers.traceparent ? trace_id_of(*headers.traceparent).value_or(std::string_view{})
                            : std::string_view{}};
    deps_.audit.record_decision(event);
    if (deps_.operations != nullptr && deps_.operations->metrics != nullptr) {
        deps_.operations->metrics->observe_decision(kind, decision.code,
                                                    SteadyClock::now() - t_request_start);
    }
}

void HttpApi::handle_auth(const Incoming& in, http::Response& res) {
    // classify() said this is an auth endpoint: it has an adapter.
    const ProxyAdapter& adapter = *adapter_for(in.req.target);
    const ProxyQuestion question = adapter.question(in.req, in.headers);
    decide_auth(in.snapshot, in.headers, question.target, peer_address(in.req), in.body,
                question.endpoint, question.style, res);
}

AuthSummary HttpApi::answer_question(const AuthQuestion& question, http::Response& res) {
    try {
        t_request_start = SteadyClock::now();
        const std::shared_ptr<const KeyStore> snapshot = deps_.keys.snapshot();
        const RequestHeaders headers = gather_request_headers(
            question.fields, snapshot ? snapshot->config().settings.header : k_default_key_header);
        return decide_auth(snapshot, headers, question.target, question.peer, question.body,
                           question.endpoint, StatusStyle::standard, res);
    } catch (...) {
        answer_exception(res);
        return {};
    }
}

AuthSummary HttpApi::decide_auth(const std::shared_ptr<const KeyStore>& snapshot,
                                 const RequestHeaders& headers, const OriginalTarget& target,
                                 const IpAddress& peer, std::string_view body,
                                 DecisionEndpoint endpoint, StatusStyle style,
                                 http::Response& res) {
    AuthSummary summary;
    if (!snapshot) {
        write_generic_error(res, 503);
        return summary;
    }
    const Settings& settings = snapshot->config().settings;
    const AuthRequest request = map_auth_request(headers, target, peer, settings, body);
    const TimePoint now = deps_.clock();
    const Outcome outcome = evaluate(*snapshot, request, now, /*consume=*/true);
    write_decision(res, outcome.decision, outcome.rate ? &*outcome.rate : nullptr, settings.header,
                   style);
    audit(outcome.decision, request, request.path, headers, res.status, now, endpoint);

    summary.decided = true;
    summary.code = outcome.decision.code;
    summary.key_header = settings.header;
    if (const ResolvedKey* key = outcome.decision.key) {
        summary.key_id = key->entry.id;
        summary.tenant = key->entry.tenant.value_or(std::string{});
        summary.role = key->entry.role;
    }
    if (request.key && headers.authorization.value) {
        const KeySelection bearer = select_key({std::nullopt, headers.authorization.value, {}});
        summary.bearer_holds_key = bearer.key == request.key;
    }
    summary.query_holds_key = request.key_in_query;
    return summary;
}

void HttpApi::handle_authorize(const Incoming& in, http::Response& res) {
    if (!in.snapshot)
        return write_generic_error(res, 503);
    const Settings& settings = in.snapshot->config().settings;
    auto question = parse_authorize_request(in.body, in.headers, peer_address(in.req), settings);
    if (!question)
        return write_error(res, 400, "BAD_REQUEST", question.error().message);
    const TimePoint now = deps_.clock();
    const Outcome outcome = evaluate(*in.snapshot, question->request, now, question->consume);
    write_decision(res, outcome.decision, outcome.rate ? &*outcome.rate : nullptr, settings.header,
                   StatusStyle::standard);
    res.set_content(decision_json(outcome.decision)
                        .dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace),
                    k_json);
    audit(outcome.decision, question->request, question->endpoint, in.headers, res.status, now,
          DecisionEndpoint::authorize);
}

} // namespace keygate
