// Token bucket and UTC-day counter arithmetic.
#include "infra/rate_limiter.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace keygate {
namespace {

using namespace std::chrono;

std::int64_t day_number(TimePoint t) {
    return floor<days>(t).time_since_epoch().count();
}

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
    if (!limits.per_minute)
        return;
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
    if (!limits.per_minute)
        return 0;
    RateLimitState copy = *this;
    copy.refill(limits, now);
    return copy.tokens_;
}

std::uint64_t RateLimitState::daily_count(TimePoint now) const {
    return day_ == day_number(now) ? day_count_ : 0;
}

namespace {

/// Appends `number` in decimal (no temporary string: this runs on every limited answer).
void append_number(std::string& out, std::uint64_t number) {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, number);
    out.append(digits, end);
}

/// `"NAME";q=Q;w=W` (RateLimit-Policy).
void append_policy(std::string& out, std::string_view name, std::uint64_t q, std::string_view w) {
    out += name;
    out += ";q=";
    append_number(out, q);
    out += ";w=";
    out += w;
}

/// `"NAME";r=R;t=T` (RateLimit).
std::string ratelimit_text(std::string_view name, std::uint64_t remaining, std::uint64_t reset) {
    std::string out;
    out.reserve(48);
    out += name;
    out += ";r=";
    append_number(out, remaining);
    out += ";t=";
    append_number(out, reset);
    return out;
}

} // namespace

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
        policy.reserve(limits.per_day ? 64 : 32);
        append_policy(policy, "\"minute\"", q, "60");
        view = {q, remaining, reset, {}, ratelimit_text("\"minute\"", remaining, reset), 0};
        best_remaining = remaining;
        have = true;
        if (tokens < 1.0)
            retry = std::max<std::uint64_t>(1, ceil_seconds((1.0 - tokens) / per_second));
    }
    if (limits.per_day) {
        const auto q = *limits.per_day;
        const std::uint64_t remaining = q > day_count ? q - day_count : 0;
        const auto reset = seconds_to_next_day(now);
        if (!policy.empty())
            policy += ", ";
        append_policy(policy, "\"day\"", q, "86400");
        if (!have || remaining < best_remaining) {
            view.limit = q;
            view.remaining = remaining;
            view.reset_seconds = reset;
            view.ratelimit = ratelimit_text("\"day\"", remaining, reset);
        }
        if (remaining == 0)
            retry = std::max(retry, reset);
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
        if (limits.per_minute)
            tokens_ -= 1.0;
        ++day_count_;
    }
    view = view_of(limits, now, limits.per_minute ? tokens_ : 0, day_count_, !allowed);
    return allowed;
}

RateLimitView RateLimitState::peek(const KeyLimits& limits, TimePoint now) const {
    return view_of(limits, now, tokens_at(limits, now), daily_count(now), false);
}

} // namespace keygate
