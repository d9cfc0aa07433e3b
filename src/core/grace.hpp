#pragma once
// Automatic grace windows (CONTRACT §3 `grace_period`): a secret that a reload removes or
// replaces keeps working for the grace period, unless the new file disables its key id.
#include "core/config.hpp"
#include "core/key_store.hpp"

#include <vector>

namespace keygate {

/// The grace windows the next snapshot must carry when `next` replaces `previous` at `now`:
/// every current secret of `previous` that `next` no longer names gets `now + grace_period`
/// (none when the period is 0), and windows of `previous` still open are carried over.
/// A key id that `next` keeps with `enabled: false` gets no window (revocation is at once).
/// A window whose id stays in `next` answers with the new entry's attributes, so that a
/// role or dataset change in the same commit applies to the old secret too. Pure.
std::vector<GraceSecret> grace_windows_for(const KeyStore& previous, const Config& next,
                                           Duration grace_period, TimePoint now);

} // namespace keygate
