// /proc/self readers.
#include "infra/process_stats.hpp"

#include <charconv>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

namespace keygate {
namespace {

std::optional<std::string> read_all(const char* path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    return std::move(text).str();
}

std::optional<std::uint64_t> to_unsigned(std::string_view field) {
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
    if (ec != std::errc() || end != field.data() + field.size())
        return std::nullopt;
    return value;
}

/// Open descriptors: the entries of /proc/self/fd but `.`, `..` and the directory's own.
std::uint64_t count_open_fds() {
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr)
        return 0;
    std::uint64_t count = 0;
    while (const dirent* entry = ::readdir(dir)) {
        if (entry->d_name[0] != '.')
            ++count;
    }
    ::closedir(dir);
    return count > 0 ? count - 1 : 0; // the descriptor opendir() holds
}

} // namespace

std::optional<ProcessStats> parse_proc_stat(std::string_view text, const ProcUnits& units) {
    // "pid (comm) state ppid ...": the fields after the last ')' are space-separated; field
    // 3 (state) is the first of them.
    const auto close = text.rfind(')');
    if (close == std::string_view::npos || units.ticks_per_second <= 0)
        return std::nullopt;
    std::vector<std::string_view> fields;
    std::string_view rest = text.substr(close + 1);
    while (!rest.empty()) {
        const auto start = rest.find_first_not_of(" \n");
        if (start == std::string_view::npos)
            break;
        rest.remove_prefix(start);
        const auto end = rest.find_first_of(" \n");
        fields.push_back(rest.substr(0, end));
        rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    }
    // Field N of proc(5) is fields[N - 3]: utime 14, stime 15, starttime 22, rss 24.
    if (fields.size() < 22)
        return std::nullopt;
    const auto utime = to_unsigned(fields[14 - 3]);
    const auto stime = to_unsigned(fields[15 - 3]);
    const auto start = to_unsigned(fields[22 - 3]);
    const auto rss = to_unsigned(fields[24 - 3]);
    if (!utime || !stime || !start || !rss)
        return std::nullopt;
    const auto ticks = static_cast<double>(units.ticks_per_second);
    ProcessStats stats;
    stats.cpu_seconds = static_cast<double>(*utime + *stime) / ticks;
    stats.resident_bytes = *rss * static_cast<std::uint64_t>(units.page_size);
    stats.start_time_seconds = units.boot_time_seconds + static_cast<double>(*start) / ticks;
    return stats;
}

std::optional<double> parse_boot_time(std::string_view proc_stat) {
    std::size_t at = 0;
    while (at < proc_stat.size()) {
        const auto end = proc_stat.find('\n', at);
        const std::string_view line = proc_stat.substr(at, end - at);
        if (line.starts_with("btime ")) {
            if (const auto value = to_unsigned(line.substr(6)))
                return static_cast<double>(*value);
            return std::nullopt;
        }
        if (end == std::string_view::npos)
            break;
        at = end + 1;
    }
    return std::nullopt;
}

std::optional<ProcessStats> read_process_stats() {
    const auto stat = read_all("/proc/self/stat");
    const auto system = read_all("/proc/stat");
    if (!stat || !system)
        return std::nullopt;
    ProcUnits units;
    units.ticks_per_second = ::sysconf(_SC_CLK_TCK);
    units.page_size = ::sysconf(_SC_PAGESIZE);
    const auto boot = parse_boot_time(*system);
    if (!boot)
        return std::nullopt;
    units.boot_time_seconds = *boot;
    auto stats = parse_proc_stat(*stat, units);
    if (!stats)
        return std::nullopt;
    stats->open_fds = count_open_fds();
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
        stats->max_fds = limit.rlim_cur;
    return stats;
}

} // namespace keygate
