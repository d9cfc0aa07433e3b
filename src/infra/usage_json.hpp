#pragma once
// The JSON of GET /v1/keys/{id}/usage (CONTRACT §6), built in one place.
#include "infra/usage_tracker.hpp"

#include <nlohmann/json.hpp>

namespace keygate {

/// {key_id, window_start, request_count, rate_limit, remaining, reset_at, daily_count,
///  daily_limit, last_used, total_requests, avg_requests_per_day}, in that order; times in
/// RFC 3339 (UTC, milliseconds); fields a key has no value for are null. Pure.
nlohmann::ordered_json usage_json(const KeyUsage& usage);

} // namespace keygate
