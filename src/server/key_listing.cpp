// GET /v1/keys and GET /v1/keys/{id} bodies.
#include "server/key_listing.hpp"

#include "core/key_state.hpp"

#include <algorithm>

namespace keygate {
namespace {

using json = nlohmann::ordered_json;

json time_or_null(const std::optional<TimePoint>& t) {
    return t ? json(format_timestamp(*t)) : json(nullptr);
}

const char* secret_format(const KeyEntry& entry) {
    if (entry.secret_was_plaintext)
        return "plaintext";
    return entry.secret.kind == HashKind::sha256 ? "sha256" : "hmac-sha256";
}

} // namespace

nlohmann::ordered_json key_json(const ResolvedKey& key, const KeyStore& store, TimePoint now) {
    const KeyEntry& e = key.entry;
    json previous = json::array();
    for (const PreviousSecret& p : e.previous_keys) {
        previous.push_back({{"expires_at", format_timestamp(p.expires_at)},
                            {"active", e.enabled && now < p.expires_at}});
    }
    std::optional<TimePoint> grace_until;
    for (const GraceSecret& window : store.grace_secrets()) {
        if (window.entry.id == e.id && now < window.until)
            grace_until = std::max(grace_until.value_or(window.until), window.until);
    }
    json allowlist = json::array();
    for (const Cidr& cidr : e.ip_allowlist)
        allowlist.push_back(cidr.text);
    return json{{"id", e.id},
                {"description", e.description},
                {"tenant", e.tenant ? json(*e.tenant) : json(nullptr)},
                {"role", e.role},
                {"permissions", key.permissions()},
                {"rls", key.bypass_rls ? "bypass" : "apply"},
                {"allowed_datasets", key.allowed_datasets()},
                {"denied_datasets", key.denied_datasets()},
                {"state", to_string(key_state(e, now))},
                {"enabled", e.enabled},
                {"not_before", time_or_null(e.not_before)},
                {"expires_at", time_or_null(e.expires_at)},
                {"rate_limit", e.rate_limit ? json(*e.rate_limit) : json(nullptr)},
                {"daily_limit", e.daily_limit ? json(*e.daily_limit) : json(nullptr)},
                {"ip_allowlist", std::move(allowlist)},
                {"secret_format", secret_format(e)},
                {"source", e.line > 0 ? "file" : "environment"},
                {"previous_keys", std::move(previous)},
                {"grace_until", time_or_null(grace_until)}};
}

nlohmann::ordered_json key_list_json(const KeyStore& store, TimePoint now) {
    json keys = json::array();
    for (const ResolvedKey& key : store.keys())
        keys.push_back(key_json(key, store, now));
    return json{{"count", store.keys().size()}, {"keys", std::move(keys)}};
}

} // namespace keygate
