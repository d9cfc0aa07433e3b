#pragma once
// Time points, RFC 3339 timestamps and the durations of the key file ("500ms", "7d").
#include "core/result.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace keygate {

using Clock = std::chrono::system_clock;
/// Wall-clock time; every decision takes "now" as a value so that tests can fake it.
using TimePoint = std::chrono::time_point<Clock, std::chrono::milliseconds>;
/// Durations are kept in milliseconds, the finest unit the file format has.
using Duration = std::chrono::milliseconds;

/// Parses an RFC 3339 timestamp ("2025-01-01T00:00:00Z", "...+02:00", fractional seconds)
/// or a bare date ("2025-01-01", meaning 00:00:00Z of that day).
Result<TimePoint> parse_timestamp(std::string_view text);

/// Formats as RFC 3339 in UTC: "2024-01-15T10:30:00Z", or with milliseconds
/// "2024-01-15T10:30:00.123Z".
std::string format_timestamp(TimePoint t, bool with_millis = false);

/// Formats as an IMF-fixdate HTTP-date ("Sun, 06 Nov 1994 08:49:37 GMT"), as the
/// RFC 8594 `Sunset` header wants.
std::string format_http_date(TimePoint t);

/// Parses a duration: a decimal integer followed by one of ms, s, m, h, d ("0s", "7d").
Result<Duration> parse_duration(std::string_view text);

/// Formats a duration with the largest unit that divides it ("90s", "7d", "0s").
std::string format_duration(Duration d);

/// The current wall-clock time, truncated to milliseconds.
inline TimePoint now_ms() {
    return std::chrono::time_point_cast<Duration>(Clock::now());
}

} // namespace keygate
