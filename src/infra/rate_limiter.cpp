// Token bucket and UTC-day counter arithmetic.
#include "infra/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace keygate {
namespace {

using namespace std::chrono;

std::int64_t day_number(TimePoint t) { return floor<days>(t).time_since_epoch().count(); }

std::uint64_t seconds_to_next_day(TimePoint now) {
    const auto next = floor<days>(now) + days{1};
    const auto ms = duration_cast<milliseconds>(next - now).count();
    return static_cast<std::uint64_t>((ms + 999) / 1000);
}

std::uint64_t ceil_seconds(double s) {
    return s <= 0 ? 0 : static_cast<std::uint64_t>(std::ceil(s - 1e-9));
}

} // namespace

void RateLimitState::refill(const KeyLimits& limits, TimePoint now) {
    if (!limits.per_minute) return;
    const auto capacity = static_cast<double>(*limits.per_minute);
    if (!started_) {
        started_ = true;
        tokens_ = capacity;
        refilled_at_ = now;
        return;
    }
    if (now > refilled_at_) {
        const double elapsed = static_cast<double>((now - refilled_at_).count()) / 1000.0;
        tokens_ = std::min(capacity, tokens_ + elapsed * capacity / 60.0);
        refilled_at_ = now;
    }
    tokens_ = std::min(tokens_, capacity); // a reload may have lowered the limit
}

double RateLimitState::tokens_at(const KeyLimits& limits, TimePoint now) const {
    if (!limits.per_minute) return 0;
    RateLimitState copy = *this;
    copy.refill(limits, now);
    return copy.tokens_;
}

std::uint64_t RateLimitState::daily_count(TimePoint now) const {
    return day_ == day_number(now) ? day_count_ : 0;
}

RateLimitView RateLimitState::view_of(const KeyLimits& limits, TimePoint now, double tokens,
                                      std::uint64_t day_count, bool limited) const {
    RateLimitView view;
    std::string policy;
    bool have = false;
    std::uint64_t best_remaining = 0;
    std::uint64_t retry = 0;
    if (limits.per_minute) {
        const auto q = *limits.per_minute;
        const auto remaining = static_cast<std::uint64_t>(std::floor(std::max(0.0, tokens) + 1e-9));
        const double per_second = static_cast<double>(q) / 60.0;
        const auto reset = ceil_seconds((static_cast<double>(q) - tokens) / per_second);
        policy = "\"minute\";q=" + std::to_string(q) + ";w=60";
        view = {q, remaining, reset, {}, "\"minute\";r=" + std::to_string(remaining) + ";t=" +
                                             std::to_string(reset), 0};
        best_remaining = remaining;
        have = true;
        if (tokens < 1.0) retry = std::max<std::uint64_t>(1, ceil_seconds((1.0 - tokens) / per_second));
    }
    if (limits.per_day) {
        const auto q = *limits.per_day;
        const std::uint64_t remaining = q > day_count ? q - day_count : 0;
        const auto reset = seconds_to_next_day(now);
        if (!policy.empty()) policy += ", ";
        policy += "\"day\";q=" + std::to_string(q) + ";w=86400";
        if (!have || remaining < best_remaining) {
            view.limit = q;
            view.remaining = remaining;
            view.reset_seconds = reset;
            view.ratelimit = "\"day\";r=" + std::to_string(remaining) + ";t=" + std::to_string(reset);
        }
        if (remaining == 0) retry = std::max(retry, reset);
    }
    view.policy = std::move(policy);
    view.retry_after = limited ? std::max<std::uint64_t>(1, retry) : retry;
    return view;
}

bool RateLimitState::admit(const KeyLimits& limits, TimePoint now, RateLimitView& view) {
    refill(limits, now);
    if (day_ != day_number(now)) {
        day_ = day_number(now);
        day_count_ = 0;
    }
    const bool minute_ok = !limits.per_minute || tokens_ >= 1.0;
    const bool day_ok = !limits.per_day || day_count_ < *limits.per_day;
    const bool allowed = minute_ok && day_ok;
    if (allowed) {
        if (limits.per_minute) tokens_ -= 1.0;
        ++day_count_;
    }
    view = view_of(limits, now, limits.per_minute ? tokens_ : 0, day_count_, !allowed);
    return allowed;
}

RateLimitView RateLimitState::peek(const KeyLimits& limits, TimePoint now) const {
    return view_of(limits, now, tokens_at(limits, now), daily_count(now), false);
}

} // namespace keygate
