#pragma once
// Key hygiene (`keygate report`, GET /v1/report): keys expiring soon, keys unused for a
// while, rotated-out secrets still accepted (and whether they are still used), keys without
// a rate limit. Built in one place from a key set and the usage totals, so that the offline
// command (key file + KEYGATE_STATE_DIR) and the running server answer the same JSON.
#include "core/key_store.hpp"
#include "core/time.hpp"
#include "infra/usage_tracker.hpp"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keygate {

/// The two windows a report is asked about (`--expiring`, `--unused`; `?expiring=`,
/// `?unused=`), 30 days each by default.
struct ReportWindows {
    Duration expiring = std::chrono::hours(24 * 30);
    Duration unused = std::chrono::hours(24 * 30);
};

/// One key of a report section.
struct ReportedKey {
    std::string key_id;
    std::optional<std::string> tenant;
    std::string role;
    std::optional<TimePoint> expires_at;      ///< `expiring`
    std::optional<TimePoint> last_used;       ///< `unused` (null: never used while tracked)
    std::optional<std::uint64_t> daily_limit; ///< `no_rate_limit`
};

/// A key (or a removed key id) with rotated-out secrets still accepted at the report's time.
struct ReportedOldSecret {
    std::string key_id;
    std::optional<std::string> tenant;
    std::optional<TimePoint> previous_keys_until; ///< latest open `previous_keys` entry
    std::optional<TimePoint> grace_until;         ///< latest open automatic grace window
    std::optional<std::uint64_t> requests;        ///< decisions on an old secret (usage known)
    std::optional<TimePoint> last_used;           ///< the last of them
};

/// A whole report. Plain value type.
struct KeyReport {
    TimePoint generated_at{};
    ReportWindows windows;
    std::size_t keys = 0;    ///< keys in the key set
    bool usage_known = true; ///< false: no usage totals (offline without a state directory)
    std::vector<ReportedKey> expiring;          ///< soonest first
    std::vector<ReportedKey> unused;            ///< file order; empty when !usage_known
    std::vector<ReportedOldSecret> old_secrets; ///< file order, then removed ids
    std::vector<ReportedKey> no_rate_limit;     ///< file order
};

/// Builds the report of `store` at `now`. Only keys that still work count (enabled, not past
/// `expires_at`: still_usable()). `usage` is every key's totals (UsageTracker::totals() or
/// the state file's); nullptr when unknown. Pure.
KeyReport build_key_report(const KeyStore& store, const std::vector<UsageTracker::Totals>* usage,
                           TimePoint now, ReportWindows windows);

/// {generated_at, keys, expiring_within, unused_for, usage_known, expiring: [{key_id, tenant,
/// role, expires_at}], unused: [{key_id, tenant, role, last_used}] (null when usage is not
/// known), old_secrets: [{key_id, tenant, previous_keys_until, grace_until, requests,
/// last_used}], no_rate_limit: [{key_id, tenant, role, daily_limit}]}. Pure.
nlohmann::ordered_json key_report_json(const KeyReport& report);

/// The report for humans, one section per finding, for `keygate report` on `config_path`.
std::string key_report_text(const KeyReport& report, std::string_view config_path);

/// Reads `?expiring=30d&unused=7d` (either optional; other parameters are an error) into
/// windows, or says what is wrong.
Result<ReportWindows> parse_report_query(std::string_view query);

} // namespace keygate
