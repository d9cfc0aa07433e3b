// key_expiring alerts, once per key per generation.
#include "infra/expiry_alerts.hpp"

#include "core/key_expiry.hpp"

namespace keygate {

std::vector<Alert> ExpiryAlerts::scan(const KeyStore& store, std::uint64_t generation,
                                      TimePoint now) {
    std::vector<Alert> alerts;
    std::lock_guard lock(mutex_);
    if (generation != generation_) {
        generation_ = generation;
        alerted_.clear();
    }
    if (!store.config().settings.alerts.key_expiring)
        return alerts;
    for (const ResolvedKey& key : store.keys()) {
        const KeyEntry& e = key.entry;
        if (!expires_within(e, now, k_key_expiring_window) || !alerted_.insert(e.id).second)
            continue;
        alerts.push_back({AlertType::key_expiring, now, std::nullopt, e.id, 1,
                          k_key_expiring_window,
                          "key " + e.id + " expires at " + format_timestamp(*e.expires_at) +
                              ", within " + format_duration(k_key_expiring_window),
                          e.expires_at, std::nullopt});
    }
    return alerts;
}

} // namespace keygate
