#pragma once
// The lifecycle state of a key entry at an instant: the one place that orders `enabled`,
// `expires_at` and `not_before`, for /metrics (keygate_keys{state}) and GET /v1/keys.
#include "core/config.hpp"
#include "core/time.hpp"

namespace keygate {

/// A key entry's state. `disabled` wins over `expired`, which wins over `pending`.
enum class KeyState { active, disabled, expired, pending };

/// The state of `entry` at `now`. Pure.
KeyState key_state(const KeyEntry& entry, TimePoint now);

/// "active", "disabled", "expired", "pending".
const char* to_string(KeyState state);

} // namespace keygate
