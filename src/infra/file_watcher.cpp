// inotify on the key file's directory, with debounce, re-arming and a periodic check.
#include "infra/file_watcher.hpp"

#include "infra/symlink_chain.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <optional>
#include <poll.h>
#include <string_view>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <vector>

namespace keygate {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::string directory_of(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos)
        return ".";
    if (slash == 0)
        return "/";
    return path.substr(0, slash);
}

// Every event that can mean "the file may be different now". IN_MODIFY is included for
// truncate-then-write, which has no close or rename to wait for.
constexpr std::uint32_t k_watch_mask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                       IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF |
                                       IN_MOVE_SELF | IN_ONLYDIR;

} // namespace

const char* to_string(WatchTrigger trigger) {
    switch (trigger) {
    case WatchTrigger::file_event:
    case WatchTrigger::replaced:
        return "inotify";
    case WatchTrigger::rearmed:
        return "rearm";
    case WatchTrigger::periodic:
        return "periodic";
    case WatchTrigger::retry:
        return "retry";
    }
    return "unknown";
}

FileWatcher::FileWatcher(std::string file_path, Options options, Callback on_change)
    : file_path_(file_path), directory_(directory_of(file_path)), options_(options),
      on_change_(std::move(on_change)) {}

FileWatcher::~FileWatcher() {
    stop();
}

bool FileWatcher::start() {
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    inotify_fd_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    const bool ok = inotify_fd_ >= 0;
    if (ok)
        arm();
    thread_ = std::thread([this] { run(); });
    return ok;
}

void FileWatcher::stop() {
    if (stopping_.exchange(true))
        return;
    if (wake_fd_ >= 0) {
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
    }
    if (thread_.joinable())
        thread_.join();
    if (inotify_fd_ >= 0)
        ::close(inotify_fd_);
    if (wake_fd_ >= 0)
        ::close(wake_fd_);
    inotify_fd_ = wake_fd_ = -1;
}

void FileWatcher::poke() {
    poked_ = true;
    if (wake_fd_ >= 0) {
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
    }
}

void FileWatcher::retry_in(std::chrono::milliseconds delay) {
    const auto at = SteadyClock::now() + std::max(delay, std::chrono::milliseconds{1});
    retry_at_ = at.time_since_epoch().count();
    if (wake_fd_ >= 0) {
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
    }
}

bool FileWatcher::arm() {
    if (inotify_fd_ < 0)
        return false;
    watch_ = ::inotify_add_watch(inotify_fd_, directory_.c_str(), k_watch_mask);
    return watch_ >= 0;
}

void FileWatcher::disarm() {
    if (watch_ >= 0 && inotify_fd_ >= 0)
        ::inotify_rm_watch(inotify_fd_, watch_);
    watch_ = -1;
}

void FileWatcher::run() {
    using namespace std::chrono;
    auto next_periodic = SteadyClock::now() + options_.period;
    // A debounced check is due at `pending_at` when `pending` (no std::optional: GCC 12 warns
    // falsely about it at -O2).
    bool pending = false;
    SteadyClock::time_point pending_at{};
    // The pending check follows a rename into place only (nothing written in place since):
    // what the path names now is whole, so it is checked at once and read without waiting
    // for a second read to agree (kubelet's ..data swap, an editor's or `mv`'s rename).
    bool only_renamed = false;
    // Each event pushes the check back by `debounce`, but never beyond this long after the
    // first event of a burst: a key file written without pause (a slow copy, a writer that
    // appends line by line) must not hold a reload back until the periodic check.
    const auto max_wait = 4 * options_.debounce;
    SteadyClock::time_point burst_start{};
    bool lost_watch = inotify_fd_ >= 0 && watch_ < 0;
    auto next_rearm = SteadyClock::now() + options_.rearm_retry;
    alignas(inotify_event) std::array<char, 16 * 1024> buffer{};
    // The names whose events count; found again after every check, since a check may follow
    // a swap that changed the chain (a regular file replaced by a symlink, say).
    std::vector<std::string> names = names_resolving(file_path_, directory_);
    const auto matters = [&names](const inotify_event& ev) {
        if (ev.len == 0)
            return false;                     // the directory itself (its own attributes)
        const std::string_view name(ev.name); // NUL-padded to ev.len
        return std::find(names.begin(), names.end(), name) != names.end();
    };
    const auto check = [&](WatchTrigger trigger) {
        on_change_(trigger);
        names = names_resolving(file_path_, directory_);
    };

    while (!stopping_) {
        const auto now = SteadyClock::now();
        auto deadline = options_.period.count() > 0 ? next_periodic : now + hours(1);
        if (pending && pending_at < deadline)
            deadline = pending_at;
        if (lost_watch && next_rearm < deadline)
            deadline = next_rearm;
        const auto retry_ticks = retry_at_.load();
        const SteadyClock::time_point retry_at{SteadyClock::duration{retry_ticks}};
        if (retry_ticks != 0 && retry_at < deadline)
            deadline = retry_at;
        const auto wait_ms = duration_cast<milliseconds>(deadline - now).count();

        std::array<pollfd, 2> fds{{{wake_fd_, POLLIN, 0}, {inotify_fd_, POLLIN, 0}}};
        const int nfds = inotify_fd_ >= 0 ? 2 : 1;
        const int rc = ::poll(fds.data(), static_cast<nfds_t>(nfds),
                              static_cast<int>(std::max<long long>(0, wait_ms)));
        if (stopping_)
            break;
        if (rc < 0 && errno != EINTR)
            break;

        if (rc > 0 && (fds[0].revents & POLLIN) != 0) {
            std::uint64_t value = 0;
            [[maybe_unused]] const auto n = ::read(wake_fd_, &value, sizeof value);
            if (poked_.exchange(false))
                check(WatchTrigger::file_event);
        }
        if (rc > 0 && nfds == 2 && (fds[1].revents & POLLIN) != 0) {
            for (;;) {
                const auto len = ::read(inotify_fd_, buffer.data(), buffer.size());
                if (len <= 0)
                    break;
                for (std::size_t off = 0; off < static_cast<std::size_t>(len);) {
                    const auto* ev = reinterpret_cast<const inotify_event*>(buffer.data() + off);
                    off += sizeof(inotify_event) + ev->len;
                    if ((ev->mask & IN_Q_OVERFLOW) != 0) {
                        // Events were lost: look at the file, and keep the watch.
                        pending = true;
                        pending_at = SteadyClock::now();
                        continue;
                    }
                    if ((ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) != 0) {
                        // The directory went away (or was moved): the watch is dead. Re-arm
                        // as soon as a directory exists at the path again.
                        disarm();
                        lost_watch = true;
                        next_rearm = SteadyClock::now();
                        continue;
                    }
                    if (!matters(*ev))
                        continue; // a log or a temp file beside the key file
                    const auto event_at = SteadyClock::now();
                    const bool renamed = (ev->mask & IN_MOVED_TO) != 0;
                    if (!pending) {
                        burst_start = event_at;
                        only_renamed = renamed;
                    } else if (!renamed) {
                        only_renamed = false;
                    }
                    pending = true;
                    pending_at = only_renamed ? event_at
                                              : std::min(event_at + options_.debounce,
                                                         burst_start + max_wait);
                }
            }
        }

        const auto after = SteadyClock::now();
        if (lost_watch && after >= next_rearm) {
            if (arm()) {
                lost_watch = false;
                check(WatchTrigger::rearmed);
            } else {
                next_rearm = after + options_.rearm_retry;
            }
        }
        if (pending && after >= pending_at) {
            pending = false;
            check(only_renamed ? WatchTrigger::replaced : WatchTrigger::file_event);
        }
        if (auto due = retry_at_.load();
            due != 0 && after >= SteadyClock::time_point{SteadyClock::duration{due}}) {
            // Cleared before the check, so that the check may ask for the next retry; a
            // retry_in() that came in meanwhile wins.
            retry_at_.compare_exchange_strong(due, 0);
            check(WatchTrigger::retry);
        }
        if (options_.period.count() > 0 && after >= next_periodic) {
            next_periodic = after + options_.period;
            check(WatchTrigger::periodic);
        }
    }
}

} // namespace keygate
