#pragma once
// Watches the directory that holds the key file, so that every way a file gets replaced is
// seen: kubelet's `..data` symlink swap, an editor's rename-on-save, `cp` over the file,
// truncate-then-write, and the directory itself being deleted and recreated.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace keygate {

/// Why the watcher calls back.
enum class WatchTrigger {
    file_event, ///< something changed in the directory (debounced)
    replaced,   ///< the file (or a hop of its chain) was renamed into place: whole, at once
    rearmed,    ///< the directory watch was lost (deleted, overflow) and set up again
    periodic,   ///< the periodic check came due
    retry,      ///< a retry asked for with retry_in() came due (a transient read error)
};

/// Name of a trigger for logs: "inotify" (file_event and replaced), "rearm", "periodic",
/// "retry".
const char* to_string(WatchTrigger trigger);

/// Runs a thread that calls `on_change` after changes to the watched file, and every
/// `period`. Only events for the file's own name and the names of its symlink chain in the
/// directory count (names_resolving()): a log written beside the file triggers nothing.
/// Calls are serialized (one at a time, from the watcher's thread); the callback decides
/// whether the file really changed (by its digest). Stopping joins the thread.
class FileWatcher {
  public:
    using Callback = std::function<void(WatchTrigger)>;

    /// Timings, with defaults fit for production; tests shorten them.
    struct Options {
        /// Quiet time after the last event; a burst waits at most 4 × this after its first.
        std::chrono::milliseconds debounce{150};
        std::chrono::milliseconds period{30'000};   ///< periodic check (0: none)
        std::chrono::milliseconds rearm_retry{250}; ///< retry while the directory is gone
    };

    /// Watches the directory of `file_path` (the path as configured, symlinks not resolved).
    FileWatcher(std::string file_path, Options options, Callback on_change);
    ~FileWatcher();
    FileWatcher(const FileWatcher&) = delete;
    FileWatcher& operator=(const FileWatcher&) = delete;

    /// Starts the thread. Returns false (and logs nothing) when inotify is unavailable; the
    /// periodic check still runs then.
    bool start();
    /// Stops and joins the thread. Idempotent.
    void stop();
    /// Asks for a check now (e.g. on SIGHUP), from any thread.
    void poke();
    /// Asks for one check (trigger `retry`) after `delay`, from any thread (also from the
    /// callback). A later call replaces an earlier one still pending.
    void retry_in(std::chrono::milliseconds delay);

  private:
    void run();
    bool arm();
    void disarm();

    std::string file_path_;
    std::string directory_;
    Options options_;
    Callback on_change_;
    int inotify_fd_ = -1;
    int wake_fd_ = -1; ///< eventfd: stop() and poke() wake the poll
    int watch_ = -1;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> poked_{false};
    /// steady_clock ticks of a pending retry_in(); 0: none.
    std::atomic<std::chrono::steady_clock::rep> retry_at_{0};
    std::thread thread_;
};

} // namespace keygate
