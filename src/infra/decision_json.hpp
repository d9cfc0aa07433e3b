#pragma once
// The JSON object that `POST /v1/authorize` answers and `keygate check` prints (CONTRACT §6),
// built in one place so that the two cannot drift apart.
#include "core/decision.hpp"

#include <nlohmann/json.hpp>

namespace keygate {

/// {"allowed", "key_id", "tenant", "role", "rls", "permissions", "datasets",
///  "datasets_denied", "grace_until", "code", "detail"}.
/// Allowed: code "OK" and detail null. Fields about the key are null while no key matched
/// (MISSING_KEY, INVALID_KEY); "tenant" is null for a key without one; "datasets" is ["*"]
/// for an unrestricted key; "permissions" follows the role's order; "grace_until" (RFC 3339)
/// is set only when a previous or grace-window secret matched. Never holds a key or a hash.
/// Fields keep the order above (ordered_json). Reads `decision.key`, so the KeyStore the
/// decision was made against must be alive. Thread-safe (pure).
nlohmann::ordered_json decision_json(const Decision& decision);

} // namespace keygate
