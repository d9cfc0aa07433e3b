// GET /v1/keys/{id}/usage as JSON.
#include "infra/usage_json.hpp"

#include <cmath>

namespace keygate {
namespace {

using json = nlohmann::ordered_json;

json time_or_null(const std::optional<TimePoint>& t) {
    return t ? json(format_timestamp(*t, /*with_millis=*/true)) : json(nullptr);
}

json count_or_null(const std::optional<std::uint64_t>& n) {
    return n ? json(*n) : json(nullptr);
}

} // namespace

nlohmann::ordered_json usage_json(const KeyUsage& usage) {
    // Two decimals are plenty for a daily average, and keep the output stable.
    const double average = std::round(usage.avg_requests_per_day * 100.0) / 100.0;
    return json{{"key_id", usage.key_id},
                {"window_start", time_or_null(usage.window_start)},
                {"request_count", usage.request_count},
                {"rate_limit", count_or_null(usage.rate_limit)},
                {"remaining", count_or_null(usage.remaining)},
                {"reset_at", time_or_null(usage.reset_at)},
                {"daily_count", usage.daily_count},
                {"daily_limit", count_or_null(usage.daily_limit)},
                {"last_used", time_or_null(usage.last_used)},
                {"total_requests", usage.total_requests},
                {"avg_requests_per_day", average}};
}

} // namespace keygate
