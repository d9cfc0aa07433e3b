#pragma once
// Reloads the key file safely (CONTRACT §9): reads content that is stable across two reads,
// skips a file whose sha256 did not change, validates the whole new file, computes the
// grace windows, then publishes the new snapshot at once. A failure keeps the last good one.
#include "infra/key_set_holder.hpp"
#include "infra/key_set_loader.hpp"
#include "infra/logging.hpp"
#include "infra/metrics.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace keygate {

/// The result of one reload attempt.
enum class ReloadOutcome { success, failure, unchanged };

/// "success", "failure", "unchanged".
const char* to_string(ReloadOutcome outcome);

/// What `GET /v1/status` shows of the configuration.
struct ReloadStatus {
    std::string config_path;
    std::string sha256;                    ///< of the file in force (not a key hash)
    std::optional<TimePoint> loaded_at;    ///< when the snapshot in force was published
    std::string last_result;               ///< of the last attempt: success/failure/unchanged
    std::string last_trigger;              ///< inotify, periodic, sighup, api, start, ...
    std::optional<TimePoint> last_attempt_at;
    std::vector<std::string> last_errors;  ///< "PATH:LINE:COL: error: ..." of the last failure
    ConfigMetrics metrics;                 ///< generation and reload counters
};

/// How long two reads must agree before content counts as whole (truncate-then-write).
struct ReloadTiming {
    std::chrono::milliseconds settle{25};
    int max_attempts = 8;
};

/// Reloads the key file into a KeySetHolder. Thread-safe: attempts are serialized.
class ConfigReloader {
public:
    /// Side effects of reloads: logging and `event: config` audit lines.
    struct Hooks {
        /// An operational log line: info for a load, error for a failure, debug for the
        /// timing of every attempt (unchanged ones too). Fields: path, trigger, result,
        /// generation, keys, duration_ms, read_ms, error.
        std::function<void(spdlog::level::level_enum, const std::string&,
                           const std::vector<LogField>&)>
            log;
        std::function<void(nlohmann::ordered_json)> config_event; ///< an audit event, without timestamp
        std::function<void(const KeyStore&)> swapped;      ///< after each publish
    };

    ConfigReloader(KeySetSources sources, KeySetHolder& holder, std::function<TimePoint()> clock,
                   Hooks hooks, ReloadTiming timing = ReloadTiming());

    /// The first load at start. `restored` are grace windows read from KEYGATE_STATE_DIR:
    /// those still open and not named by the file are honoured. On failure nothing is
    /// published and the diagnostics are returned.
    KeySetLoad load_initial(const std::vector<GraceSecret>& restored = {});

    /// Re-reads the file now. `trigger` names the cause for logs and status.
    ReloadOutcome reload(std::string_view trigger);

    /// Emits `grace_end` config events for windows that have ended since the last call.
    void report_ended_grace();

    /// The current status.
    ReloadStatus status() const;

private:
    struct Read {
        std::string text;
        std::string sha256;
        std::string error;
    };
    Read read_stable() const;
    /// Parses `text` (released as soon as it is parsed: a 100k-key file is ~60 MB) and
    /// builds the store, with the grace windows the swap from the current snapshot opens.
    KeySetLoad build(std::string text, TimePoint now, std::vector<GraceSecret> grace) const;
    void publish(std::shared_ptr<const KeyStore> store, const Read& read, TimePoint now,
                 std::string_view trigger, bool initial,
                 std::chrono::steady_clock::time_point started);
    /// The debug line of one attempt: its result and how long reading and all of it took.
    void log_timing(std::string_view trigger, std::string_view result,
                    std::chrono::steady_clock::time_point started,
                    std::chrono::steady_clock::time_point read_done) const;
    void fail(const Diagnostics& diagnostics, const std::string& read_error, TimePoint now);

    KeySetSources sources_;
    KeySetHolder& holder_;
    std::function<TimePoint()> clock_;
    Hooks hooks_;
    ReloadTiming timing_;

    mutable std::mutex mutex_;
    ReloadStatus status_;
    std::unordered_set<std::string> ended_reported_; ///< digests of windows reported ended
};

} // namespace keygate
