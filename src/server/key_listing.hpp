#pragma once
// What GET /v1/keys and GET /v1/keys/{id} show of a key (CONTRACT §6): everything an operator
// reviews, and never a secret, a hash or a part of either.
#include "core/key_store.hpp"
#include "core/time.hpp"

#include <nlohmann/json.hpp>

namespace keygate {

/// One key: {id, description, tenant, role, permissions, rls, allowed_datasets,
/// denied_datasets, state, enabled, not_before, expires_at, rate_limit, daily_limit,
/// ip_allowlist, secret_format, source, previous_keys: [{expires_at, active}],
/// grace_until}. `state` is key_state() at `now`; `secret_format` says only how the secret
/// is stored ("plaintext", "sha256", "hmac-sha256"); `source` is "file" or "environment";
/// `grace_until` is the latest end of an automatic grace window of this id still open at
/// `now` (null when none). Pure; `store` must be the snapshot `key` belongs to.
nlohmann::ordered_json key_json(const ResolvedKey& key, const KeyStore& store, TimePoint now);

/// GET /v1/keys: {"count": n, "keys": [key_json...]} in file order.
nlohmann::ordered_json key_list_json(const KeyStore& store, TimePoint now);

} // namespace keygate
