#pragma once
// "Expiring soon": the one definition behind keygate_keys_expiring{window}, `validate
// --warn-expiring`, `keygate report --expiring` and the `key_expiring` alert.
#include "core/config.hpp"
#include "core/time.hpp"

namespace keygate {

/// True when `entry` still works at `now` as far as its lifecycle goes (enabled and not past
/// `expires_at`; a key before its `not_before` counts, it will work) and its `expires_at`
/// falls within `window` of `now` (now < expires_at <= now + window). A key without
/// `expires_at` never expires. Pure.
bool expires_within(const KeyEntry& entry, TimePoint now, Duration window);

/// True when `entry` is enabled and not past its `expires_at` at `now`. Pure.
bool still_usable(const KeyEntry& entry, TimePoint now);

} // namespace keygate
