#pragma once
// Row 8 of CONTRACT §5 (rate limits) and per-key accounting: the state that decide() leaves
// to its caller. The server calls it after every decision made against a known key.
#include "core/key_store.hpp"
#include "core/time.hpp"
#include "infra/rate_limiter.hpp"

#include <optional>

namespace keygate {

class UsageTracker;

/// What row 8 says about a request that passed rows 1–7.
struct AdmissionResult {
    bool allowed = true;
    std::optional<RateLimitView> view; ///< set for a key with limits: the rate-limit headers
};

/// Rate limits and usage counting. Implementations are thread-safe.
class AdmissionControl {
  public:
    virtual ~AdmissionControl() = default;
    /// Counts one decision (allowed or denied) made for `key`; `source` is the secret that
    /// matched (an old one is counted apart, for `keygate report`).
    virtual void record_decision(const ResolvedKey& key, SecretSource source, TimePoint now) = 0;
    /// Applies row 8 to a request that passed rows 1–7; `consume` false only looks.
    virtual AdmissionResult admit(const ResolvedKey& key, TimePoint now, bool consume) = 0;
};

/// AdmissionControl backed by a UsageTracker (token bucket + UTC-day counter per key id).
class UsageTrackerAdmission final : public AdmissionControl {
  public:
    /// `tracker` must outlive this object.
    explicit UsageTrackerAdmission(UsageTracker& tracker) : tracker_(tracker) {}
    void record_decision(const ResolvedKey& key, SecretSource source, TimePoint now) override;
    AdmissionResult admit(const ResolvedKey& key, TimePoint now, bool consume) override;

  private:
    UsageTracker& tracker_;
};

} // namespace keygate
