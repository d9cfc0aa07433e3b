#pragma once
// Per-key rate limits (CONTRACT §5 row 8): a token bucket of `rate_limit` tokens refilled at
// rate_limit/60 per second, and a count of allowed requests per UTC day.
#include "core/time.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace keygate {

/// What a limited key's response shows: the limit with the fewest requests remaining,
/// counted after this request.
struct RateLimitView {
    std::uint64_t limit = 0;
    std::uint64_t remaining = 0;
    std::uint64_t reset_seconds = 0; ///< until that limit is whole again
    std::string policy;              ///< RateLimit-Policy: `"minute";q=100;w=60, "day";q=...`
    std::string ratelimit;           ///< RateLimit: `"minute";r=99;t=1`
    std::uint64_t retry_after = 0; ///< seconds until the next request may pass (>= 1 when limited)
};

/// The limits a key has.
struct KeyLimits {
    std::optional<std::uint64_t> per_minute;
    std::optional<std::uint64_t> per_day;
    /// True when the key has any limit.
    bool any() const { return per_minute.has_value() || per_day.has_value(); }
};

/// A token bucket plus a UTC-day counter for one key. Not thread-safe: the owner locks.
class RateLimitState {
  public:
    /// Tries to take one request at `now`. Returns true when it may pass; `view` is filled for
    /// a key with limits either way.
    bool admit(const KeyLimits& limits, TimePoint now, RateLimitView& view);

    /// The state at `now` without taking anything (for the usage API).
    RateLimitView peek(const KeyLimits& limits, TimePoint now) const;

    /// Whole tokens left at `now` (for the usage API); 0 for a key without per_minute.
    double tokens_at(const KeyLimits& limits, TimePoint now) const;

    /// Requests allowed in the current UTC day at `now`.
    std::uint64_t daily_count(TimePoint now) const;

  private:
    void refill(const KeyLimits& limits, TimePoint now);
    RateLimitView view_of(const KeyLimits& limits, TimePoint now, double tokens,
                          std::uint64_t day_count, bool limited) const;

    bool started_ = false;
    double tokens_ = 0;
    TimePoint refilled_at_{};
    std::int64_t day_ = -1; ///< days since the epoch of day_count_
    std::uint64_t day_count_ = 0;
};

} // namespace keygate
