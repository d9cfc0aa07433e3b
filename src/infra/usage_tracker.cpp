// Per-key usage counters and rate-limit state, keyed by id.
#include "infra/usage_tracker.hpp"

#include <algorithm>
#include <unordered_set>

namespace keygate {
namespace {

std::int64_t second_of(TimePoint t) {
    return std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count();
}

} // namespace

KeyLimits limits_of(const KeyEntry& entry) {
    return {entry.rate_limit, entry.daily_limit};
}

UsageTracker::State& UsageTracker::state_for(const std::string& id) {
    {
        std::shared_lock lock(map_mutex_);
        const auto it = states_.find(id);
        if (it != states_.end())
            return *it->second;
    }
    std::unique_lock lock(map_mutex_);
    auto& slot = states_[id];
    if (!slot)
        slot = std::make_unique<State>();
    return *slot;
}

void UsageTracker::count_consumed(State& state, TimePoint now) {
    const auto second = second_of(now);
    if (second > state.ring_second) {
        const auto gap = std::min<std::int64_t>(second - state.ring_second, 60);
        for (std::int64_t s = 1; s <= gap; ++s) {
            state.per_second[static_cast<std::size_t>((state.ring_second + s) % 60)] = 0;
        }
        state.ring_second = second;
    }
    if (second > state.ring_second - 60)
        ++state.per_second[static_cast<std::size_t>(second % 60)];
}

std::uint64_t UsageTracker::recent_count(const State& state, TimePoint now) {
    const auto second = second_of(now);
    std::uint64_t sum = 0;
    for (std::int64_t s = second - 59; s <= second; ++s) {
        if (s > state.ring_second || s <= state.ring_second - 60)
            continue;
        sum += state.per_second[static_cast<std::size_t>(((s % 60) + 60) % 60)];
    }
    return sum;
}

void UsageTracker::record_decision(const ResolvedKey& key, TimePoint now, SecretSource source) {
    State& state = state_for(key.entry.id);
    std::lock_guard lock(state.mutex);
    if (state.total_requests == 0 && state.first_seen == TimePoint{})
        state.first_seen = now;
    ++state.total_requests;
    state.last_used = now;
    if (source != SecretSource::current) {
        ++state.old_secret_requests;
        state.old_secret_last_used = now;
    }
}

Admission UsageTracker::admit(const ResolvedKey& key, TimePoint now, bool consume) {
    const KeyLimits limits = limits_of(key.entry);
    State& state = state_for(key.entry.id);
    std::lock_guard lock(state.mutex);
    Admission admission;
    if (!consume) {
        if (limits.any())
            admission.view = state.limits.peek(limits, now);
        return admission;
    }
    count_consumed(state, now);
    if (limits.any()) {
        RateLimitView view;
        admission.allowed = state.limits.admit(limits, now, view);
        admission.view = std::move(view);
    }
    return admission;
}

KeyUsage UsageTracker::usage(const ResolvedKey& key, TimePoint now) const {
    KeyUsage usage;
    usage.key_id = key.entry.id;
    usage.rate_limit = key.entry.rate_limit;
    usage.daily_limit = key.entry.daily_limit;
    std::shared_lock map_lock(map_mutex_);
    const auto it = states_.find(key.entry.id);
    const KeyLimits limits = limits_of(key.entry);
    if (it == states_.end()) {
        if (limits.per_minute) {
            usage.remaining = *limits.per_minute;
            usage.reset_at = now;
            usage.window_start = now - std::chrono::seconds(60);
        }
        return usage;
    }
    const State& state = *it->second;
    std::lock_guard lock(state.mutex);
    usage.request_count = recent_count(state, now);
    usage.daily_count = state.limits.daily_count(now);
    usage.last_used = state.last_used;
    usage.total_requests = state.total_requests;
    if (state.total_requests > 0) {
        const auto days = std::chrono::duration<double, std::ratio<86400>>(now - state.first_seen);
        usage.avg_requests_per_day =
            static_cast<double>(state.total_requests) / std::max(1.0, days.count());
    }
    if (limits.per_minute) {
        const double tokens = state.limits.tokens_at(limits, now);
        usage.remaining = static_cast<std::uint64_t>(std::max(0.0, tokens));
        const auto to_full_ms =
            static_cast<std::int64_t>((static_cast<double>(*limits.per_minute) - tokens) *
                                      60'000.0 / static_cast<double>(*limits.per_minute));
        usage.reset_at = now + std::chrono::milliseconds(std::max<std::int64_t>(0, to_full_ms));
        usage.window_start = *usage.reset_at - std::chrono::seconds(60);
    }
    return usage;
}

void UsageTracker::retain(const KeyStore& store) {
    std::unordered_set<std::string> ids;
    for (const auto& key : store.keys())
        ids.insert(key.entry.id);
    for (const auto& grace : store.grace_secrets())
        ids.insert(grace.entry.id);
    std::unique_lock lock(map_mutex_);
    for (auto it = states_.begin(); it != states_.end();) {
        it = ids.count(it->first) != 0 ? std::next(it) : states_.erase(it);
    }
}

std::vector<UsageTracker::Totals> UsageTracker::totals() const {
    std::vector<Totals> out;
    std::shared_lock map_lock(map_mutex_);
    for (const auto& [id, state] : states_) {
        std::lock_guard lock(state->mutex);
        out.push_back({id, state->total_requests, state->first_seen, state->last_used,
                       state->old_secret_requests, state->old_secret_last_used});
    }
    return out;
}

void UsageTracker::restore(const std::vector<Totals>& totals) {
    for (const auto& t : totals) {
        State& state = state_for(t.key_id);
        std::lock_guard lock(state.mutex);
        state.total_requests = t.total_requests;
        state.first_seen = t.first_seen;
        state.last_used = t.last_used;
        state.old_secret_requests = t.old_secret_requests;
        state.old_secret_last_used = t.old_secret_last_used;
    }
}

} // namespace keygate
