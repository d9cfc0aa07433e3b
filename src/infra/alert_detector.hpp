#pragma once
// Suspicious-activity rules (CONTRACT §7): failed_auth_burst, new_ip, volume_spike,
// unusual_dataset, and rotated_secret_used (an old secret still in use during its grace). At
// most one alert per type and subject per window; memory is bounded whatever an attacker
// sends.
#include "core/config.hpp"
#include "core/decision.hpp"
#include "core/ip_address.hpp"
#include "infra/metrics.hpp"

#include <array>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace keygate {

/// One alert, ready to be written as an `event: alert` audit line.
struct Alert {
    AlertType type = AlertType::new_ip;
    TimePoint timestamp{};
    std::optional<std::string> ip_address;
    std::optional<std::string> key_id;
    std::uint64_t count = 0;
    Duration window{0};
    std::string detail;
    std::optional<TimePoint> expires_at; ///< key_expiring: the key's `expires_at`
    std::optional<TimePoint>
        grace_until; ///< rotated_secret_used: the end of the old secret's grace
};

/// What the detector is told of one decision.
struct AlertObservation {
    TimePoint now{};
    DecisionCode code = DecisionCode::ok;
    const std::string* key_id = nullptr; ///< the matched key's id, if any
    IpAddress ip;
    const std::string* dataset = nullptr; ///< the dataset named (or denied), if any
    /// The key was identified by a rotated-out secret within its grace (used_rotated_secret()).
    bool rotated_secret = false;
    std::optional<TimePoint> grace_until; ///< that secret's end of grace
};

/// Caps that bound the detector's memory: addresses and keys tracked, networks and datasets
/// remembered per key.
struct AlertLimits {
    std::size_t max_addresses = 10'000;
    std::size_t max_keys = 100'000;
    std::size_t max_networks_per_key = 256;
    std::size_t max_datasets_per_key = 256;
};

/// Applies the rules. Thread-safe: state is sharded by subject, each shard under its lock.
class AlertDetector {
  public:
    explicit AlertDetector(AlertSettings settings, AlertLimits limits = AlertLimits());

    /// Replaces the thresholds (after a reload). State is kept.
    void update_settings(const AlertSettings& settings);

    /// Observes one decision; returns the alerts it raises (usually none).
    std::vector<Alert> observe(const AlertObservation& observation);

  private:
    /// Hashes a network address (the 16 bytes).
    struct NetworkHash {
        std::size_t operator()(const IpAddress& ip) const noexcept;
    };
    struct AddressState {
        std::deque<TimePoint> failures; ///< within the burst window, oldest first
        std::optional<TimePoint> alerted_at;
    };
    struct KeyState {
        std::unordered_set<IpAddress, NetworkHash> networks; ///< masked by network_address()
        std::unordered_set<std::string> datasets;
        std::optional<TimePoint> new_ip_alerted_at;
        std::optional<TimePoint> dataset_alerted_at;
        std::optional<TimePoint> spike_alerted_at;
        std::optional<TimePoint> rotated_alerted_at;
        std::uint64_t rotated_uses = 0; ///< old-secret uses since the last such alert
        std::int64_t minute = 0;        ///< the minute `this_minute` counts
        std::uint64_t this_minute = 0;
        double baseline = 0; ///< moving average of past minutes
        std::uint64_t minutes_seen = 0;
    };
    static constexpr std::size_t k_shards = 16;
    struct Shard {
        std::mutex mutex;
        std::unordered_map<std::string, AddressState> addresses; ///< by address text
        std::unordered_map<std::string, KeyState> keys;
    };

    void observe_failure(const AlertObservation& o, const AlertSettings& s,
                         std::vector<Alert>& out);
    void observe_key(const AlertObservation& o, const AlertSettings& s, std::vector<Alert>& out);
    AlertSettings settings() const;

    mutable std::mutex settings_mutex_;
    AlertSettings settings_;
    AlertLimits limits_;
    std::array<Shard, k_shards> shards_;
};

/// The network an address belongs to for `new_ip`: the address with the host part zeroed
/// (/24 for IPv4, /64 for IPv6). Compared on every allowed decision, formatted only for an alert.
IpAddress network_address(const IpAddress& ip);

/// At most one rotated_secret_used alert per key within this long.
inline constexpr Duration k_rotated_secret_alert_window = std::chrono::hours(1);

/// The network an address belongs to for `new_ip`: its /24 (IPv4) or /64 (IPv6), as text.
std::string network_of(const IpAddress& ip);

} // namespace keygate
