// Stable reads, digest check, validation, grace windows, publish.
#include "infra/config_reloader.hpp"

#include "core/config_loader.hpp"
#include "core/grace.hpp"
#include "infra/free_memory.hpp"
#include "infra/stable_read.hpp"

#include <algorithm>
#include <cerrno>
#include <spdlog/fmt/fmt.h>
#include <thread>
#include <utility>
#include <vector>

namespace keygate {
namespace {

std::optional<std::string> read_file(const std::string& path, std::string& error,
                                     int& error_number) {
    std::string why;
    auto text = read_key_file(path, LoadOptions{}, why, &error_number);
    if (!text)
        error = path + ": " + why;
    return text;
}

/// Milliseconds since `started`, for the log line of a load.
long long elapsed_ms(std::chrono::steady_clock::time_point started) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 started)
        .count();
}

} // namespace

const char* to_string(ReloadOutcome outcome) {
    switch (outcome) {
    case ReloadOutcome::success:
        return "success";
    case ReloadOutcome::failure:
        return "failure";
    case ReloadOutcome::unchanged:
        return "unchanged";
    }
    return "unknown";
}

bool is_transient_read_error(int error_number) {
    switch (error_number) {
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case ENOBUFS:
    case EAGAIN:
    case EINTR:
        return true;
    default:
        return false;
    }
}

ConfigReloader::ConfigReloader(KeySetSources sources, KeySetHolder& holder,
                               std::function<TimePoint()> clock, Hooks hooks, ReloadTiming timing)
    : sources_(std::move(sources)), holder_(holder), clock_(std::move(clock)),
      hooks_(std::move(hooks)), timing_(timing) {
    status_.config_path = sources_.config_path;
}

ConfigReloader::Read ConfigReloader::read_stable() const {
    Read read;
    auto first = read_file(sources_.config_path, read.error, read.error_number);
    for (int attempt = 0; first && attempt < timing_.max_attempts; ++attempt) {
        // A writer that truncates and then writes leaves a window with partial content:
        // only content that two reads agree on is loaded.
        std::this_thread::sleep_for(timing_.settle);
        if (file_still_holds(sources_.config_path, *first)) {
            read.text = std::move(*first);
            read.sha256 = to_hex(sha256(read.text));
            read.error.clear();
            read.error_number = 0;
            return read;
        }
        if (cancelled_)
            return Read{}; // nothing read, nothing failed
        first = read_file(sources_.config_path, read.error, read.error_number); // changed: again
        if (!first)
            return read;
    }
    if (first)
        read.error = "'" + sources_.config_path + "' kept changing while being read";
    return read;
}

ConfigReloader::Read ConfigReloader::read_once() const {
    Read read;
    auto text = read_file(sources_.config_path, read.error, read.error_number);
    if (!text)
        return read;
    read.text = std::move(*text);
    read.sha256 = to_hex(sha256(read.text));
    return read;
}

KeySetLoad ConfigReloader::build(std::string text, TimePoint now,
                                 std::vector<GraceSecret> grace) const {
    KeySetLoad out;
    LoadOptions options;
    options.hash_pepper = sources_.hash_pepper;
    options.now = now;
    if (cancelled_)
        return out;
    LoadResult loaded = load_config_text(text, options);
    std::string().swap(text);
    if (cancelled_)
        return out;
    out.diagnostics = std::move(loaded.diagnostics);
    if (!loaded.config || out.diagnostics.failed())
        return out;
    Config config = std::move(*loaded.config);
    apply_setting_overrides(config.settings, sources_);
    Diagnostics environment = add_environment_keys(config, sources_.environment_keys);
    out.diagnostics.items.insert(out.diagnostics.items.end(), environment.items.begin(),
                                 environment.items.end());
    if (environment.failed())
        return out;
    if (const auto previous = holder_.snapshot()) {
        auto windows = grace_windows_for(*previous, config, config.settings.grace_period, now);
        grace.insert(grace.end(), std::make_move_iterator(windows.begin()),
                     std::make_move_iterator(windows.end()));
    }
    if (cancelled_)
        return out;
    out.store = KeyStore::build(std::move(config), sources_.hash_pepper, std::move(grace));
    return out;
}

void ConfigReloader::publish(std::shared_ptr<const KeyStore> store, const Read& read, TimePoint now,
                             std::string_view trigger, bool initial,
                             std::chrono::steady_clock::time_point started) {
    const auto previous = holder_.snapshot();
    std::unordered_set<std::string> old_windows;
    if (previous) {
        for (const auto& w : previous->grace_secrets())
            old_windows.insert(to_hex(w.secret.digest));
    }
    holder_.publish(store);
    in_force_sha256_ = read.sha256;
    failed_sha256_.clear();
    failed_read_error_.clear();
    std::uint64_t generation = 0;
    {
        std::lock_guard lock(status_mutex_);
        status_.sha256 = read.sha256;
        status_.loaded_at = now;
        status_.last_result = "success";
        status_.last_errors.clear();
        status_.metrics.last_reload_successful = true;
        status_.metrics.last_success_at = now;
        status_.metrics.generation = generation = holder_.generation();
        if (!initial)
            ++status_.metrics.reloads_success;
    }
    ended_reported_.clear();

    const std::size_t keys = store->keys().size();
    if (hooks_.log) {
        const long long took = elapsed_ms(started);
        hooks_.log(spdlog::level::info,
                   (initial ? "loaded " : "reloaded ") + sources_.config_path + ": " +
                       std::to_string(keys) + " keys, generation " + std::to_string(generation) +
                       " (" + std::string(trigger) + ") in " + std::to_string(took) + " ms",
                   {{"path", sources_.config_path},
                    {"trigger", trigger},
                    {"result", "success"},
                    {"keys", keys},
                    {"generation", generation},
                    {"duration_ms", took}});
    }
    if (hooks_.config_event) {
        hooks_.config_event({{"event", "config"},
                             {"type", initial ? "load" : "reload"},
                             {"result", "success"},
                             {"trigger", trigger},
                             {"path", sources_.config_path},
                             {"sha256", read.sha256},
                             {"generation", generation},
                             {"keys", keys}});
        for (const auto& w : store->grace_secrets()) {
            if (old_windows.count(to_hex(w.secret.digest)) != 0)
                continue;
            hooks_.config_event({{"event", "config"},
                                 {"type", "grace_start"},
                                 {"key_id", w.entry.id},
                                 {"grace_until", format_timestamp(w.until)}});
        }
    }
    if (hooks_.swapped)
        hooks_.swapped(*store);
}

void ConfigReloader::fail(const Diagnostics& diagnostics, const std::string& read_error) {
    std::vector<std::string> errors;
    if (!read_error.empty())
        errors.push_back(read_error);
    for (const auto& d : diagnostics.items) {
        if (d.severity == Severity::error)
            errors.push_back(format_diagnostic(sources_.config_path, d));
    }
    std::string trigger;
    std::uint64_t generation = 0;
    {
        std::lock_guard lock(status_mutex_);
        status_.last_result = "failure";
        status_.last_errors = errors;
        status_.metrics.last_reload_successful = false;
        ++status_.metrics.reloads_failure;
        trigger = status_.last_trigger;
        generation = status_.metrics.generation;
    }
    if (hooks_.log) {
        std::string message =
            "reload of " + sources_.config_path + " failed; the last good keys keep serving";
        std::string error_text;
        for (const auto& e : errors) {
            message += "\n  " + e;
            error_text += (error_text.empty() ? "" : "\n") + e;
        }
        hooks_.log(spdlog::level::err, message,
                   {{"path", sources_.config_path},
                    {"trigger", trigger},
                    {"result", "failure"},
                    {"error", error_text},
                    {"errors", errors.size()},
                    {"generation", generation}});
    }
    if (hooks_.config_event) {
        hooks_.config_event({{"event", "config"},
                             {"type", "reload"},
                             {"result", "failure"},
                             {"trigger", trigger},
                             {"path", sources_.config_path},
                             {"errors", errors}});
    }
}

ReloadOutcome ConfigReloader::fail_transient(const Read& read) {
    ++transient_failures_;
    auto delay = timing_.retry_first;
    for (int i = 1; i < transient_failures_ && delay < timing_.retry_max; ++i)
        delay *= 2;
    delay = std::min(delay, timing_.retry_max);
    retry_after_ = delay;
    // The first of a run is a failure like any other; the retries that follow are not
    // counted or reported again, however many it takes.
    if (transient_failures_ == 1) {
        fail({}, read.error + " (a passing error: retried in " + std::to_string(delay.count()) +
                     " ms, then less often)");
        failed_read_error_ = read.error;
    }
    return ReloadOutcome::failure;
}

ReloadOutcome ConfigReloader::still_failing() {
    std::lock_guard lock(status_mutex_);
    status_.last_result = "failure"; // the file on disk is still the one that failed
    return ReloadOutcome::failure;
}

KeySetLoad ConfigReloader::load_initial(const std::vector<GraceSecret>& restored) {
    std::lock_guard attempt(attempt_mutex_);
    const TimePoint now = clock_();
    {
        std::lock_guard lock(status_mutex_);
        status_.last_trigger = "start";
        status_.last_attempt_at = now;
    }
    const auto started = std::chrono::steady_clock::now();
    Read read = read_stable();
    KeySetLoad load;
    if (!read.error.empty()) {
        load.diagnostics.error(0, 0, read.error);
        return load;
    }
    // Restored windows: keep those still open that the file does not name again.
    std::vector<GraceSecret> open;
    if (!restored.empty()) {
        const auto carrier = KeyStore::build(Config{}, std::nullopt, restored);
        LoadOptions options;
        options.hash_pepper = sources_.hash_pepper;
        options.now = now;
        if (auto parsed = load_config_text(read.text, options); parsed.config) {
            open = grace_windows_for(*carrier, *parsed.config, Duration{0}, now);
        }
    }
    load = build(std::move(read.text), now, std::move(open));
    if (load.ok())
        publish(load.store, read, now, "start", true, started);
    release_free_memory();
    return load;
}

ReloadOutcome ConfigReloader::reload(std::string_view trigger, bool whole) {
    std::lock_guard serialized(attempt_mutex_);
    if (cancelled_)
        return ReloadOutcome::unchanged;
    const auto started = std::chrono::steady_clock::now();
    auto read_done = started;
    const ReloadOutcome outcome = attempt(trigger, whole, read_done);
    log_timing(trigger, to_string(outcome), started, read_done);
    return outcome;
}

ReloadOutcome ConfigReloader::attempt(std::string_view trigger, bool whole,
                                      std::chrono::steady_clock::time_point& read_done) {
    const TimePoint now = clock_();
    {
        std::lock_guard lock(status_mutex_);
        status_.last_trigger = std::string(trigger);
        status_.last_attempt_at = now;
    }
    const auto started = std::chrono::steady_clock::now();
    Read read = whole ? read_once() : read_stable();
    read_done = std::chrono::steady_clock::now();
    if (cancelled_)
        return ReloadOutcome::unchanged;
    if (!read.error.empty() && is_transient_read_error(read.error_number)) {
        return fail_transient(read);
    }
    transient_failures_ = 0;
    retry_after_.reset();
    if (!read.error.empty()) {
        if (read.error == failed_read_error_)
            return still_failing();
        failed_read_error_ = read.error;
        failed_sha256_.clear();
        fail({}, read.error);
        return ReloadOutcome::failure;
    }
    failed_read_error_.clear();
    if (read.sha256 == in_force_sha256_ && holder_.ready()) {
        // Unchanged, or a broken edit put back as it was: the file on disk is in force.
        failed_sha256_.clear();
        std::lock_guard lock(status_mutex_);
        status_.last_result = "unchanged";
        status_.last_errors.clear();
        status_.metrics.last_reload_successful = true;
        return ReloadOutcome::unchanged;
    }
    if (read.sha256 == failed_sha256_)
        return still_failing();
    KeySetLoad load = build(std::move(read.text), now, {});
    if (cancelled_)
        return ReloadOutcome::unchanged;
    if (!load.ok()) {
        failed_sha256_ = read.sha256;
        fail(load.diagnostics, {});
        release_free_memory();
        return ReloadOutcome::failure;
    }
    publish(std::move(load.store), read, now, trigger, false, started);
    // The previous snapshot is gone unless a request still holds it; give its pages back.
    release_free_memory();
    return ReloadOutcome::success;
}

std::optional<std::chrono::milliseconds> ConfigReloader::take_retry() {
    std::lock_guard attempt(attempt_mutex_);
    return std::exchange(retry_after_, std::nullopt);
}

void ConfigReloader::cancel() {
    cancelled_ = true;
}

void ConfigReloader::log_timing(std::string_view trigger, std::string_view result,
                                std::chrono::steady_clock::time_point started,
                                std::chrono::steady_clock::time_point read_done) const {
    if (!hooks_.log)
        return;
    using std::chrono::duration;
    const double read_ms = duration<double, std::milli>(read_done - started).count();
    const double total_ms =
        duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    std::uint64_t generation = 0;
    {
        std::lock_guard lock(status_mutex_);
        generation = status_.metrics.generation;
    }
    hooks_.log(spdlog::level::debug,
               "reload of " + sources_.config_path + " (" + std::string(trigger) +
                   "): " + std::string(result) + " in " + fmt::format("{:.3f}", total_ms) +
                   " ms (read " + fmt::format("{:.3f}", read_ms) + " ms)",
               {{"path", sources_.config_path},
                {"trigger", trigger},
                {"result", result},
                {"generation", generation},
                {"duration_ms", total_ms},
                {"read_ms", read_ms}});
}

void ConfigReloader::report_ended_grace() {
    std::lock_guard attempt(attempt_mutex_);
    const auto store = holder_.snapshot();
    if (!store || !hooks_.config_event)
        return;
    const TimePoint now = clock_();
    for (const auto& w : store->grace_secrets()) {
        const std::string digest = to_hex(w.secret.digest);
        if (now < w.until || ended_reported_.count(digest) != 0)
            continue;
        ended_reported_.insert(digest);
        hooks_.config_event({{"event", "config"},
                             {"type", "grace_end"},
                             {"key_id", w.entry.id},
                             {"grace_until", format_timestamp(w.until)}});
    }
}

ReloadStatus ConfigReloader::status() const {
    std::lock_guard lock(status_mutex_);
    ReloadStatus s = status_;
    s.metrics.generation = holder_.generation();
    return s;
}

} // namespace keygate
