#pragma once
// The outcome of a decision. One list of reasons feeds the JSON body, the headers, the
// audit log and the metric labels, so they cannot drift apart.
#include "core/key_store.hpp"

#include <optional>
#include <string>

namespace keygate {

// X(enum name, HTTP status, code, detail) in the order the checks run (CONTRACT §5).
#define KEYGATE_DECISION_CODES(X)                                                                  \
    X(ok, 200, "OK", "")                                                                           \
    X(invalid_request, 400, "INVALID_REQUEST", "Invalid request")                                  \
    X(missing_key, 401, "MISSING_KEY", "API key required")                                         \
    X(invalid_key, 401, "INVALID_KEY", "Invalid API key")                                          \
    X(key_disabled, 403, "KEY_DISABLED", "API key disabled")                                       \
    X(key_expired, 403, "KEY_EXPIRED", "API key expired")                                          \
    X(ip_not_allowed, 403, "IP_NOT_ALLOWED", "IP not allowed")                                     \
    X(insufficient_permission, 403, "INSUFFICIENT_PERMISSION", "Insufficient permission")          \
    X(dataset_forbidden, 403, "DATASET_FORBIDDEN", "Not authorized for dataset")                   \
    X(rate_limited, 429, "RATE_LIMITED", "Rate limit exceeded")

/// Why a request was allowed (ok) or denied.
enum class DecisionCode {
#define KEYGATE_X(name, status, code, detail) name,
    KEYGATE_DECISION_CODES(KEYGATE_X)
#undef KEYGATE_X
};

/// Why a presented key was refused as INVALID_KEY (the audit line's `reason`).
enum class InvalidKeyReason {
    none,        ///< not an INVALID_KEY decision
    unknown,     ///< no key of the file or the environment has this secret
    checksum,    ///< unknown, and shaped like a generated key with wrong check characters: a typo
    malformed,   ///< cannot be a key: too long, or holding control bytes or spaces
    conflict,    ///< two different keys were presented
    grace_ended, ///< a secret whose automatic grace window has ended
};

/// "unknown", "checksum", "malformed", "conflict", "grace_ended"; "" for none.
const char* reason_name(InvalidKeyReason reason);

/// "OK", "MISSING_KEY", ...
const char* code_name(DecisionCode code);
/// 200, 401, 403 or 429.
int http_status(DecisionCode code);

/// A decision. `key` points into the KeyStore the decision was made against: hold that
/// snapshot while using it.
struct Decision {
    DecisionCode code = DecisionCode::missing_key;
    const ResolvedKey* key = nullptr; ///< the matched key (also on most denials), or nullptr
    SecretSource source = SecretSource::current;
    std::optional<TimePoint> grace_until; ///< set when a previous/grace secret matched
    std::string permission;               ///< the permission the request needed
    std::string dataset;                  ///< the denied dataset, else the first one named
    InvalidKeyReason reason = InvalidKeyReason::none; ///< set for INVALID_KEY

    /// True for code ok.
    bool allowed() const { return code == DecisionCode::ok; }
};

/// True when the key was identified by a rotated-out secret still within its grace (a
/// `previous_keys` entry or an automatic grace window), whatever the later checks said; false
/// for the current secret, and for an old secret of a disabled or expired key.
bool used_rotated_secret(const Decision& decision);

/// The human detail: "API key required", "Insufficient permission: write",
/// "Not authorized for dataset 'orders'"; empty for ok.
std::string detail_text(const Decision& decision);

} // namespace keygate
