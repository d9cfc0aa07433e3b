#pragma once
// Per-key state that outlives snapshots: rate-limit buckets and usage counters, keyed by key
// id, so that a reload keeps them for ids that stay (CONTRACT §9).
#include "core/key_store.hpp"
#include "infra/rate_limiter.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace keygate {

/// The usage of one key, as `GET /v1/keys/{id}/usage` shows it.
struct KeyUsage {
    std::string key_id;
    std::uint64_t request_count = 0; ///< requests that consumed in the last 60 s
    std::optional<std::uint64_t> rate_limit;
    std::optional<std::uint64_t> remaining;
    std::optional<TimePoint> reset_at;
    std::optional<TimePoint> window_start;
    std::uint64_t daily_count = 0;
    std::optional<std::uint64_t> daily_limit;
    std::optional<TimePoint> last_used;
    std::uint64_t total_requests = 0; ///< every decision made for the key
    double avg_requests_per_day = 0;
};

/// The outcome of admitting a request that passed rows 1–7.
struct Admission {
    bool allowed = true;
    std::optional<RateLimitView> view; ///< set for a key with limits
};

/// Thread-safe store of per-key state. Memory is bounded by the number of key ids in the
/// current snapshot: `retain` drops the others after a reload.
class UsageTracker {
  public:
    /// Counts a decision for `key` (allowed or denied), at `now`. `source` says which of the
    /// key's secrets matched: a `previous_keys` or automatic grace secret is also counted as
    /// a use of a rotated-out secret (`keygate report`, GET /v1/report).
    void record_decision(const ResolvedKey& key, TimePoint now,
                         SecretSource source = SecretSource::current);

    /// Applies row 8 to a request that passed rows 1–7: consumes a token and counts it.
    /// With `consume` false (/v1/authorize `consume: false`), nothing is counted.
    Admission admit(const ResolvedKey& key, TimePoint now, bool consume = true);

    /// The usage of a key at `now`.
    KeyUsage usage(const ResolvedKey& key, TimePoint now) const;

    /// Keeps the state of the ids in `store` and drops the rest.
    void retain(const KeyStore& store);

    /// Totals that survive a restart: (id, total_requests, first_seen, last_used) and the
    /// uses of the key's rotated-out secrets (previous_keys, automatic grace).
    struct Totals {
        std::string key_id;
        std::uint64_t total_requests = 0;
        TimePoint first_seen{};
        std::optional<TimePoint> last_used;
        std::uint64_t old_secret_requests = 0;         ///< decisions made on an old secret
        std::optional<TimePoint> old_secret_last_used; ///< the last of them
    };
    /// Every key's totals, for a state snapshot.
    std::vector<Totals> totals() const;
    /// Restores totals read from a state snapshot.
    void restore(const std::vector<Totals>& totals);

  private:
    struct State {
        mutable std::mutex mutex;
        RateLimitState limits;
        std::array<std::uint32_t, 60> per_second{}; ///< consumed requests, ring by second
        std::int64_t ring_second = 0;               ///< the second of per_second's newest slot
        std::uint64_t total_requests = 0;
        TimePoint first_seen{};
        std::optional<TimePoint> last_used;
        std::uint64_t old_secret_requests = 0;
        std::optional<TimePoint> old_secret_last_used;
    };
    State& state_for(const std::string& id);
    static std::uint64_t recent_count(const State& state, TimePoint now);
    static void count_consumed(State& state, TimePoint now);

    mutable std::shared_mutex map_mutex_;
    std::unordered_map<std::string, std::unique_ptr<State>> states_;
};

/// The limits configured on a key.
KeyLimits limits_of(const KeyEntry& entry);

} // namespace keygate
