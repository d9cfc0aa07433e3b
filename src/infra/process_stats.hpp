#pragma once
// The process_* metrics of the Prometheus client conventions, read from /proc/self.
#include <cstdint>
#include <optional>
#include <string_view>

namespace keygate {

/// This process's resource use at one moment.
struct ProcessStats {
    double cpu_seconds = 0;           ///< user + system CPU time
    std::uint64_t resident_bytes = 0; ///< resident set size
    std::uint64_t open_fds = 0;       ///< open file descriptors
    std::uint64_t max_fds = 0;        ///< the soft RLIMIT_NOFILE (0: unknown)
    double start_time_seconds = 0;    ///< Unix time the process started
};

/// What the fields of /proc/self/stat are counted in.
struct ProcUnits {
    long ticks_per_second = 100;  ///< sysconf(_SC_CLK_TCK)
    long page_size = 4096;        ///< sysconf(_SC_PAGESIZE)
    double boot_time_seconds = 0; ///< `btime` of /proc/stat
};

/// Parses the text of /proc/self/stat (the command name in parentheses may hold spaces and
/// parentheses) into cpu_seconds, resident_bytes and start_time_seconds. Nullopt when the
/// text is not of that shape.
std::optional<ProcessStats> parse_proc_stat(std::string_view text, const ProcUnits& units);

/// Parses the `btime` line of /proc/stat (seconds since the epoch).
std::optional<double> parse_boot_time(std::string_view proc_stat);

/// Reads /proc/self/stat, /proc/stat, /proc/self/fd and the descriptor limit now. Nullopt
/// where /proc is not mounted. Thread-safe.
std::optional<ProcessStats> read_process_stats();

} // namespace keygate
