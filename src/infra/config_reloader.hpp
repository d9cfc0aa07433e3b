#pragma once
// Reloads the key file safely (CONTRACT §9): reads content that is stable across two reads,
// skips a file whose sha256 did not change, validates the whole new file, computes the
// grace windows, then publishes the new snapshot at once. A failure keeps the last good one,
// and is reported once: the same broken content (or the same read error) is not parsed or
// counted again, and a transient error (EMFILE, EAGAIN, ...) asks for a retry with backoff.
#include "infra/key_set_holder.hpp"
#include "infra/key_set_loader.hpp"
#include "infra/logging.hpp"
#include "infra/metrics.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
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
    std::string sha256;                 ///< of the file in force (not a key hash)
    std::optional<TimePoint> loaded_at; ///< when the snapshot in force was published
    std::string last_result;            ///< of the last attempt: success/failure/unchanged
    std::string last_trigger;           ///< inotify, periodic, sighup, api, start, ...
    std::optional<TimePoint> last_attempt_at;
    std::vector<std::string> last_errors; ///< "PATH:LINE:COL: error: ..." of the last failure
    ConfigMetrics metrics;                ///< generation and reload counters
};

/// How long two reads must agree before content counts as whole (truncate-then-write).
struct ReloadTiming {
    std::chrono::milliseconds settle{25};
    int max_attempts = 8;
    /// After a transient read error: the first retry, doubled each time up to retry_max
    /// (the watcher's periodic check).
    std::chrono::milliseconds retry_first{100};
    std::chrono::milliseconds retry_max{30'000};
};

/// True for a read error that says nothing about the file and passes by itself: out of
/// descriptors (EMFILE, ENFILE), memory or buffers (ENOMEM, ENOBUFS), EAGAIN, EINTR.
bool is_transient_read_error(int error_number);

/// Reloads the key file into a KeySetHolder. Thread-safe: attempts are serialized; status()
/// never waits for an attempt (it copies a status published under its own short lock).
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
        std::function<void(nlohmann::ordered_json)>
            config_event;                             ///< an audit event, without timestamp
        std::function<void(const KeyStore&)> swapped; ///< after each publish
    };

    ConfigReloader(KeySetSources sources, KeySetHolder& holder, std::function<TimePoint()> clock,
                   Hooks hooks, ReloadTiming timing = ReloadTiming());

    /// The first load at start. `restored` are grace windows read from KEYGATE_STATE_DIR:
    /// those still open and not named by the file are honoured. On failure nothing is
    /// published and the diagnostics are returned.
    KeySetLoad load_initial(const std::vector<GraceSecret>& restored = {});

    /// Re-reads the file now. `trigger` names the cause for logs and status. A file whose
    /// content already failed (same sha256), or that fails to read with the same error as
    /// last time, is a `failure` again but not parsed, counted or reported again: one broken
    /// edit is one failure.
    /// `whole`: the file was renamed into place (an atomic replace), so its content is read
    /// once, without the settle wait and second read that catch a write in place.
    ReloadOutcome reload(std::string_view trigger, bool whole = false);

    /// When the last attempt failed with a transient error: how long to wait before the
    /// next one (100 ms, 200 ms, ... up to retry_max). Cleared by the call.
    std::optional<std::chrono::milliseconds> take_retry();

    /// Makes an attempt in progress (and every later one) stop at its next stage without
    /// publishing or reporting anything: shutdown must not wait for a large file's build.
    void cancel();

    /// Emits `grace_end` config events for windows that have ended since the last call.
    void report_ended_grace();

    /// The current status.
    ReloadStatus status() const;

  private:
    struct Read {
        std::string text;
        std::string sha256;
        std::string error;
        int error_number = 0; ///< errno of a failed read, 0 when not a system error
    };
    Read read_stable() const;
    Read read_once() const;
    /// Parses `text` (released as soon as it is parsed: a 100k-key file is ~60 MB) and
    /// builds the store, with the grace windows the swap from the current snapshot opens.
    KeySetLoad build(std::string text, TimePoint now, std::vector<GraceSecret> grace) const;
    void publish(std::shared_ptr<const KeyStore> store, const Read& read, TimePoint now,
                 std::string_view trigger, bool initial,
                 std::chrono::steady_clock::time_point started);
    /// One reload attempt, without the debug timing line; `read_done` is set once read.
    ReloadOutcome attempt(std::string_view trigger, bool whole,
                          std::chrono::steady_clock::time_point& read_done);
    /// The debug line of one attempt: its result and how long reading and all of it took.
    void log_timing(std::string_view trigger, std::string_view result,
                    std::chrono::steady_clock::time_point started,
                    std::chrono::steady_clock::time_point read_done) const;
    void fail(const Diagnostics& diagnostics, const std::string& read_error);
    ReloadOutcome fail_transient(const Read& read);
    /// The same failure as last time: `failure`, with nothing parsed, counted or reported.
    ReloadOutcome still_failing();

    KeySetSources sources_;
    KeySetHolder& holder_;
    std::function<TimePoint()> clock_;
    Hooks hooks_;
    ReloadTiming timing_;

    // Held for a whole attempt (serializes them); guards everything below but status_.
    mutable std::mutex attempt_mutex_;
    std::string in_force_sha256_;
    std::string failed_sha256_;     ///< content that failed to load, not parsed again
    std::string failed_read_error_; ///< a read error already reported
    int transient_failures_ = 0;    ///< transient read errors in a row
    std::optional<std::chrono::milliseconds> retry_after_;
    std::unordered_set<std::string> ended_reported_; ///< digests of windows reported ended
    std::atomic<bool> cancelled_{false};

    // Held only to copy or update status_, never while reading or building.
    mutable std::mutex status_mutex_;
    ReloadStatus status_;
};

} // namespace keygate
