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
        if (name == "dataset")
            return value;
    }
    return std::nullopt;
}

/// A presented key that cannot be a key: too long, or holding bytes no key file can hold.
bool malformed_key(std::string_view key) {
    if (key.size() > 1024)
        return true;
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
        if (!ok)
            c = '?';
    }
    return out;
}

Decision deny(Decision decision, DecisionCode code) {
    decision.code = code;
    return decision;
}

Decision invalid_key(Decision decision, InvalidKeyReason reason) {
    decision.code = DecisionCode::invalid_key;
    decision.reason = reason;
    return decision;
}

} // namespace

bool valid_dataset_name(std::string_view name) {
    if (name.empty() || name.size() > 128)
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == ':' || c == '-';
    });
}

RequiredAccess required_access(const std::vector<Route>& routes, std::string_view method,
                               const std::vector<std::string>& segments, RouteCase route_case) {
    for (const auto& route : routes) {
        if (!route.methods.empty() &&
            std::find(route.methods.begin(), route.methods.end(), method) == route.methods.end()) {
            continue;
        }
        if (auto captures = match_route(route.pattern, segments, route_case)) {
            return {route.permission, captured_dataset(*captures)};
        }
    }
    const DefaultRoutes& defaults = default_routes();
    if (match_route(defaults.admin, segments, route_case))
        return {"admin", std::nullopt};
    if (auto captures = match_route(defaults.datasets, segments, route_case)) {
        return {is_safe_method(method) ? "read" : "write", captured_dataset(*captures)};
    }
    if (method == "POST" && match_route(defaults.query, segments, route_case)) {
        return {"read", std::nullopt};
    }
    return {is_safe_method(method) ? "read" : "write", std::nullopt};
}

bool case_ambiguous(const std::vector<Route>& routes, std::string_view method,
                    const std::vector<std::string>& segments, const RequiredAccess& exact) {
    const auto has_upper = [](std::string_view text) {
        return std::any_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
    };
    // Folding can only change a match when a segment or a route holds an upper-case letter:
    // the common request costs one scan of its segments.
    const bool fold_matters = std::any_of(segments.begin(), segments.end(), has_upper) ||
                              std::any_of(routes.begin(), routes.end(), [&](const Route& route) {
                                  return has_upper(route.pattern.text);
                              });
    if (!fold_matters)
        return false;
    const RequiredAccess folded = required_access(routes, method, segments, RouteCase::fold);
    return folded.permission != exact.permission || folded.dataset != exact.dataset;
}

Decision decide(const KeyStore& store, const AuthRequest& request, TimePoint now) {
    Decision decision;
    // Row 0: a request that can be read two ways is never decided either way.
    if (request.ambiguous)
        return deny(decision, DecisionCode::invalid_request);
    // The route (rows 6 and 7 use it) is found first: a case-insensitive backend that would
    // serve another route than keygate decides makes the request ambiguous too.
    const std::vector<Route>& routes = store.config().routes;
    const RequiredAccess access = required_access(routes, request.method, request.segments);
    if (case_ambiguous(routes, request.method, request.segments, access)) {
        return deny(decision, DecisionCode::invalid_request);
    }
    // Row 1 and 2: the key.
    if (request.conflicting_keys)
        return invalid_key(decision, InvalidKeyReason::conflict);
    if (!request.key)
        return deny(decision, DecisionCode::missing_key);
    const std::string& key = *request.key;
    if (malformed_key(key))
        return invalid_key(decision, InvalidKeyReason::malformed);
    // The digest is looked up first: the checksum only names why an unknown key is unknown,
    // it never rejects a key the file holds (an imported key may have the generated shape).
    const auto match = store.find(key);
    if (!match) {
        return invalid_key(decision, classify_key(key) == KeyShape::checksum_bad
                                         ? InvalidKeyReason::checksum
                                         : InvalidKeyReason::unknown);
    }
    if (match->source == SecretSource::grace && match->valid_until && now >= *match->valid_until) {
        return invalid_key(decision, InvalidKeyReason::grace_ended); // simply unknown now
    }
    decision.key = match->key;
    decision.source = match->source;
    if (match->source != SecretSource::current)
        decision.grace_until = match->valid_until;
    const KeyEntry& entry = match->key->entry;

    // Row 3: soft revocation.
    if (!entry.enabled)
        return deny(decision, DecisionCode::key_disabled);
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

    decision.permission =
        request.permission ? std::string_view(*request.permission) : access.permission;
    if (!match->key->has_permission(decision.permission)) {
        return deny(decision, DecisionCode::insufficient_permission);
    }
    // Row 7: every dataset the request names, in the contract's order; the first one not
    // allowed is named. A client-sent X-Dataset therefore cannot hide the path's dataset.
    const auto check_dataset = [&](std::string_view name) {
        if (decision.dataset.empty())
            decision.dataset = printable_dataset(name);
        if (valid_dataset_name(name) && match->key->dataset_allowed(name))
            return true;
        decision.dataset = printable_dataset(name);
        return false;
    };
    if (access.dataset && !check_dataset(*access.dataset)) {
        return deny(decision, DecisionCode::dataset_forbidden);
    }
    for (const auto& name : request.query_datasets) {
        if (!check_dataset(name))
            return deny(decision, DecisionCode::dataset_forbidden);
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
