#pragma once
// The `key_expiring` alert: raised when a key enters its last 7 days, once per key per
// key-set generation (a reload that keeps the key raises it once more), whether or not the
// key is used. The caller scans at every swap and at every periodic check.
#include "core/key_store.hpp"
#include "core/time.hpp"
#include "infra/alert_detector.hpp"

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

namespace keygate {

/// How close to its `expires_at` a key raises `key_expiring`.
inline constexpr Duration k_key_expiring_window = std::chrono::hours(24 * 7);

/// Remembers which keys were alerted in the current generation. Thread-safe.
class ExpiryAlerts {
  public:
    /// The alerts for keys of `store` (generation `generation`) that are within
    /// k_key_expiring_window of their `expires_at` at `now` (expires_within()) and were not
    /// alerted yet in this generation. A new generation forgets the previous one's.
    std::vector<Alert> scan(const KeyStore& store, std::uint64_t generation, TimePoint now);

  private:
    std::mutex mutex_;
    std::uint64_t generation_ = 0;
    std::unordered_set<std::string> alerted_; ///< key ids, for generation_
};

} // namespace keygate
