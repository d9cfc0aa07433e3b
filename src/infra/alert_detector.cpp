// The suspicious-activity rules.
#include "infra/alert_detector.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string_view>
#include <utility>

namespace keygate {
namespace {

bool is_auth_failure(DecisionCode code) {
    return code == DecisionCode::missing_key || code == DecisionCode::invalid_key ||
           code == DecisionCode::key_disabled || code == DecisionCode::key_expired;
}

/// True when `last` is unset or a whole window has passed since it.
bool may_alert(const std::optional<TimePoint>& last, TimePoint now, Duration window) {
    return !last || now - *last >= window;
}

std::int64_t minute_of(TimePoint t) {
    return std::chrono::floor<std::chrono::minutes>(t).time_since_epoch().count();
}

constexpr Duration k_dedupe_window = std::chrono::minutes(1);

} // namespace

IpAddress network_address(const IpAddress& ip) {
    IpAddress net = ip;
    const std::size_t keep = ip.is_v4() ? 15 : 8; // /24 of the mapped form, or /64
    for (std::size_t i = keep; i < net.bytes.size(); ++i)
        net.bytes[i] = 0;
    return net;
}

std::string network_of(const IpAddress& ip) {
    return to_string(network_address(ip)) + (ip.is_v4() ? "/24" : "/64");
}

std::size_t AlertDetector::NetworkHash::operator()(const IpAddress& ip) const noexcept {
    return std::hash<std::string_view>{}(
        std::string_view(reinterpret_cast<const char*>(ip.bytes.data()), ip.bytes.size()));
}

AlertDetector::AlertDetector(AlertSettings settings, AlertLimits limits)
    : settings_(settings), limits_(limits) {}

void AlertDetector::update_settings(const AlertSettings& settings) {
    std::lock_guard lock(settings_mutex_);
    settings_ = settings;
}

AlertSettings AlertDetector::settings() const {
    std::lock_guard lock(settings_mutex_);
    return settings_;
}

std::vector<Alert> AlertDetector::observe(const AlertObservation& o) {
    std::vector<Alert> alerts;
    const AlertSettings s = settings();
    if (is_auth_failure(o.code))
        observe_failure(o, s, alerts);
    if (o.key_id != nullptr)
        observe_key(o, s, alerts);
    return alerts;
}

void AlertDetector::observe_failure(const AlertObservation& o, const AlertSettings& s,
                                    std::vector<Alert>& out) {
    const std::string address = to_string(o.ip);
    Shard& shard = shards_[std::hash<std::string>{}(address) % k_shards];
    std::lock_guard lock(shard.mutex);
    const Duration window = s.failed_auth_burst.window;
    if (shard.addresses.size() >= limits_.max_addresses / k_shards &&
        shard.addresses.find(address) == shard.addresses.end()) {
        // Bounded memory under a spray from many addresses: forget quiet addresses first,
        // then any (an attacker this wide trips the rule from the addresses kept).
        std::erase_if(shard.addresses, [&](const auto& item) {
            return item.second.failures.empty() || o.now - item.second.failures.back() > window;
        });
        if (shard.addresses.size() >= limits_.max_addresses / k_shards) {
            shard.addresses.erase(shard.addresses.begin());
        }
    }
    AddressState& state = shard.addresses[address];
    state.failures.push_back(o.now);
    while (!state.failures.empty() && o.now - state.failures.front() >= window) {
        state.failures.pop_front();
    }
    if (state.failures.size() > s.failed_auth_burst.count)
        state.failures.pop_front();
    if (state.failures.size() >= s.failed_auth_burst.count &&
        may_alert(state.alerted_at, o.now, window)) {
        state.alerted_at = o.now;
        out.push_back({AlertType::failed_auth_burst, o.now, address, std::nullopt,
                       state.failures.size(), window,
                       std::to_string(state.failures.size()) + " failed authentications from " +
                           address + " within " + format_duration(window),
                       std::nullopt, std::nullopt});
    }
}

void AlertDetector::observe_key(const AlertObservation& o, const AlertSettings& s,
                                std::vector<Alert>& out) {
    const std::string& id = *o.key_id;
    Shard& shard = shards_[std::hash<std::string>{}(id) % k_shards];
    std::lock_guard lock(shard.mutex);
    if (shard.keys.size() >= limits_.max_keys / k_shards &&
        shard.keys.find(id) == shard.keys.end()) {
        shard.keys.erase(shard.keys.begin());
    }
    KeyState& key = shard.keys[id];
    const bool allowed = o.code == DecisionCode::ok || o.code == DecisionCode::rate_limited;

    // new_ip: a key seen from a network it never used (the first network is its baseline).
    if (s.new_ip && allowed) {
        const IpAddress net = network_address(o.ip);
        if (key.networks.find(net) == key.networks.end()) {
            const bool had_baseline = !key.networks.empty();
            if (key.networks.size() < limits_.max_networks_per_key)
                key.networks.insert(net);
            if (had_baseline && may_alert(key.new_ip_alerted_at, o.now, k_dedupe_window)) {
                key.new_ip_alerted_at = o.now;
                out.push_back({AlertType::new_ip, o.now, to_string(o.ip), id, 1, k_dedupe_window,
                               "key " + id + " used from a new network " + network_of(o.ip),
                               std::nullopt, std::nullopt});
            }
        }
    }

    // unusual_dataset: a key denied a dataset, or touching one it never used before.
    if (s.unusual_dataset && o.dataset != nullptr && !o.dataset->empty()) {
        bool unusual = false;
        std::string why;
        if (o.code == DecisionCode::dataset_forbidden) {
            unusual = true;
            why = "key " + id + " was denied dataset '" + *o.dataset + "'";
        } else if (allowed && key.datasets.find(*o.dataset) == key.datasets.end()) {
            const bool had_baseline = !key.datasets.empty();
            if (key.datasets.size() < limits_.max_datasets_per_key)
                key.datasets.insert(*o.dataset);
            if (had_baseline) {
                unusual = true;
                why = "key " + id + " touched dataset '" + *o.dataset + "' for the first time";
            }
        }
        if (unusual && may_alert(key.dataset_alerted_at, o.now, k_dedupe_window)) {
            key.dataset_alerted_at = o.now;
            out.push_back({AlertType::unusual_dataset, o.now, to_string(o.ip), id, 1,
                           k_dedupe_window, why, std::nullopt, std::nullopt});
        }
    }

    // rotated_secret_used: a client still presents an old secret during its grace; at most
    // one alert per key per hour, counting the uses since the previous one.
    if (s.rotated_secret_used && o.rotated_secret) {
        ++key.rotated_uses;
        if (may_alert(key.rotated_alerted_at, o.now, k_rotated_secret_alert_window)) {
            key.rotated_alerted_at = o.now;
            std::string detail = "key " + id + " was used with a rotated-out secret";
            if (o.grace_until)
                detail += " (accepted until " + format_timestamp(*o.grace_until) + ")";
            out.push_back({AlertType::rotated_secret_used, o.now, to_string(o.ip), id,
                           std::exchange(key.rotated_uses, 0), k_rotated_secret_alert_window,
                           std::move(detail), std::nullopt, o.grace_until});
        }
    }

    // volume_spike: this minute far above the key's usual rate (after some history).
    if (allowed) {
        const auto minute = minute_of(o.now);
        if (minute != key.minute) {
            if (key.minute != 0) {
                // fold the finished minute (and any idle minutes since) into the baseline
                const auto idle = std::min<std::int64_t>(minute - key.minute - 1, 60);
                key.baseline = key.baseline * 0.8 + static_cast<double>(key.this_minute) * 0.2;
                for (std::int64_t i = 0; i < idle; ++i)
                    key.baseline *= 0.8;
                key.minutes_seen += static_cast<std::uint64_t>(1 + idle);
            }
            key.minute = minute;
            key.this_minute = 0;
        }
        ++key.this_minute;
        const double threshold = std::max(1.0, key.baseline) * s.volume_spike_factor;
        if (key.minutes_seen >= 3 && key.this_minute >= s.volume_spike_min_per_minute &&
            static_cast<double>(key.this_minute) >= threshold &&
            may_alert(key.spike_alerted_at, o.now, k_dedupe_window)) {
            key.spike_alerted_at = o.now;
            char usual[32];
            std::snprintf(usual, sizeof usual, "%.1f", key.baseline);
            out.push_back({AlertType::volume_spike, o.now, std::nullopt, id, key.this_minute,
                           k_dedupe_window,
                           "key " + id + " made " + std::to_string(key.this_minute) +
                               " requests this minute, usually " + usual + " per minute",
                           std::nullopt, std::nullopt});
        }
    }
}

} // namespace keygate
