// The decision: rows 1–7 of CONTRACT §5, in order; the first failure decides.
#include "core/decide.hpp"

#include "core/glob.hpp"
#include "core/key_format.hpp"

#include <algorithm>

namespace keygate {
namespace {

bool is_safe_method(std::string_view method) {
    return method == "GET" || method == "HEAD" || method == "OPTIONS";
}

struct DefaultRoutes {
    RoutePattern admin = *parse_route_pattern("/admin/**");
    RoutePattern datasets = *parse_route_pattern("/v1/datasets/{dataset}/**");
    RoutePattern query = *parse_route_pattern("/v1/query");
};

const DefaultRoutes& default_routes() {
    static const DefaultRoutes routes;
    return routes;
}

std::optional<std::string_view> captured_dataset(const RouteCaptures& captures) {
    for (const auto& [name, value] : captures) {
        if (name == "dataset") return value;
    }
    return std::nullopt;
}

/// A presented key that cannot be a key: too long, or holding bytes no key file can hold.
bool malformed_key(std::string_view key) {
    if (key.size() > 1024) return true;
    return std::any_of(key.begin(), key.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7f;
    });
}

/// The dataset name as it may appear in a detail and a header: unsafe bytes become '?'.
std::string printable_dataset(std::string_view name) {
    std::string out(name.substr(0, 128));
    for (char& c : out) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' || c == '-';
        if (!ok) c = '?';
    }
    return out;
}

Decision deny(Decision decision, DecisionCode code) {
    decision.code = code;
    return decision;
}

} // namespace

bool valid_dataset_name(std::string_view name) {
    if (name.empty() || name.size() > 128) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == ':' || c == '-';
    });
}

RequiredAccess required_access(const std::vector<Route>& routes, std::string_view method,
                               const std::vector<std::string>& segments) {
    for (const auto& route : routes) {
        if (!route.methods.empty() &&
            std::find(route.methods.begin(), route.methods.end(), method) == route.methods.end()) {
            continue;
        }
        if (auto captures = match_route(route.pattern, segments)) {
            return {route.permission, captured_dataset(*captures)};
        }
    }
    const DefaultRoutes& defaults = default_routes();
    if (match_route(defaults.admin, segments)) return {"admin", std::nullopt};
    if (auto captures = match_route(defaults.datasets, segments)) {
        return {is_safe_method(method) ? "read" : "write", captured_dataset(*captures)};
    }
    if (method == "POST" && match_route(defaults.query, segments)) return {"read", std::nullopt};
    return {is_safe_method(method) ? "read" : "write", std::nullopt};
}

Decision decide(const KeyStore& store, const AuthRequest& request, TimePoint now) {
    Decision decision;
    // Row 1 and 2: the key.
    if (request.conflicting_keys) return deny(decision, DecisionCode::invalid_key);
    if (!request.key) return deny(decision, DecisionCode::missing_key);
    const std::string& key = *request.key;
    if (malformed_key(key) || classify_key(key) == KeyShape::checksum_bad) {
        return deny(decision, DecisionCode::invalid_key);
    }
    const auto match = store.find(key);
    if (!match) return deny(decision, DecisionCode::invalid_key);
    if (match->source == SecretSource::grace && match->valid_until && now >= *match->valid_until) {
        return deny(decision, DecisionCode::invalid_key); // an ended grace window: unknown
    }
    decision.key = match->key;
    decision.source = match->source;
    if (match->source != SecretSource::current) decision.grace_until = match->valid_until;
    const KeyEntry& entry = match->key->entry;

    // Row 3: soft revocation.
    if (!entry.enabled) return deny(decision, DecisionCode::key_disabled);
    // Row 4: validity window.
    if ((entry.not_before && now < *entry.not_before) ||
        (entry.expires_at && now >= *entry.expires_at) ||
        (match->source == SecretSource::previous && match->valid_until &&
         now >= *match->valid_until)) {
        return deny(decision, DecisionCode::key_expired);
    }
    // Row 5: client address.
    if (!entry.ip_allowlist.empty() &&
        std::none_of(entry.ip_allowlist.begin(), entry.ip_allowlist.end(),
                     [&](const Cidr& cidr) { return cidr.contains(request.client_ip); })) {
        return deny(decision, DecisionCode::ip_not_allowed);
    }
    // Row 6: permission for the method and route.
    RequiredAccess access =
        required_access(store.config().routes, request.method, request.segments);
    decision.permission =
        request.permission ? std::string_view(*request.permission) : access.permission;
    if (!match->key->has_permission(decision.permission)) {
        return deny(decision, DecisionCode::insufficient_permission);
    }
    // Row 7: every dataset the request names, in the contract's order; the first one not
    // allowed is named. A client-sent X-Dataset therefore cannot hide the path's dataset.
    const auto check_dataset = [&](std::string_view name) {
        if (decision.dataset.empty()) decision.dataset = printable_dataset(name);
        if (valid_dataset_name(name) && match->key->dataset_allowed(name)) return true;
        decision.dataset = printable_dataset(name);
        return false;
    };
    if (access.dataset && !check_dataset(*access.dataset)) {
        return deny(decision, DecisionCode::dataset_forbidden);
    }
    for (const auto& name : request.query_datasets) {
        if (!check_dataset(name)) return deny(decision, DecisionCode::dataset_forbidden);
    }
    if (request.header_dataset && !check_dataset(*request.header_dataset)) {
        return deny(decision, DecisionCode::dataset_forbidden);
    }
    if (request.body_dataset && !check_dataset(*request.body_dataset)) {
        return deny(decision, DecisionCode::dataset_forbidden);
    }
    decision.code = DecisionCode::ok;
    return decision;
}

} // namespace keygate
