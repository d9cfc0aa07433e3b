// Expiry windows of key entries.
#include "core/key_expiry.hpp"

namespace keygate {

bool still_usable(const KeyEntry& entry, TimePoint now) {
    return entry.enabled && (!entry.expires_at || now < *entry.expires_at);
}

bool expires_within(const KeyEntry& entry, TimePoint now, Duration window) {
    return still_usable(entry, now) && entry.expires_at && *entry.expires_at - now <= window;
}

} // namespace keygate
