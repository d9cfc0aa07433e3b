// Key lifecycle states.
#include "core/key_state.hpp"

namespace keygate {

KeyState key_state(const KeyEntry& entry, TimePoint now) {
    if (!entry.enabled)
        return KeyState::disabled;
    if (entry.expires_at && now >= *entry.expires_at)
        return KeyState::expired;
    if (entry.not_before && now < *entry.not_before)
        return KeyState::pending;
    return KeyState::active;
}

const char* to_string(KeyState state) {
    switch (state) {
    case KeyState::active:
        return "active";
    case KeyState::disabled:
        return "disabled";
    case KeyState::expired:
        return "expired";
    case KeyState::pending:
        return "pending";
    }
    return "active";
}

} // namespace keygate
