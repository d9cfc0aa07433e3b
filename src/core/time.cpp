// RFC 3339 timestamps, HTTP-dates and the key file's durations.
#include "core/time.hpp"

#include <array>
#include <cstdio>
#include <limits>

namespace keygate {
namespace {

using namespace std::chrono;

bool read_digits(std::string_view text, std::size_t pos, std::size_t count, int& value) {
    if (pos + count > text.size())
        return false;
    value = 0;
    for (std::size_t i = pos; i < pos + count; ++i) {
        const char c = text[i];
        if (c < '0' || c > '9')
            return false;
        value = value * 10 + (c - '0');
    }
    return true;
}

Result<sys_days> parse_date(std::string_view text) {
    int y = 0, m = 0, d = 0;
    if (text.size() < 10 || !read_digits(text, 0, 4, y) || text[4] != '-' ||
        !read_digits(text, 5, 2, m) || text[7] != '-' || !read_digits(text, 8, 2, d)) {
        return fail("expected YYYY-MM-DD");
    }
    const year_month_day ymd{year{y}, month{static_cast<unsigned>(m)},
                             day{static_cast<unsigned>(d)}};
    if (!ymd.ok())
        return fail("no such date");
    return sys_days{ymd};
}

} // namespace

Result<TimePoint> parse_timestamp(std::string_view text) {
    static constexpr const char* k_expected =
        "expected an RFC 3339 timestamp like 2025-12-31T23:59:59Z or a date like 2025-12-31";
    auto date = parse_date(text);
    if (!date)
        return fail(date.error().message == "no such date" ? "no such date" : k_expected);
    if (text.size() == 10)
        return TimePoint{time_point_cast<milliseconds>(*date)};

    int hh = 0, mm = 0, ss = 0;
    if ((text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !read_digits(text, 11, 2, hh) ||
        text.size() < 19 || text[13] != ':' || !read_digits(text, 14, 2, mm) || text[16] != ':' ||
        !read_digits(text, 17, 2, ss)) {
        return fail(k_expected);
    }
    if (hh > 23 || mm > 59 || ss > 60)
        return fail("time of day out of range");
    if (ss == 60)
        ss = 59; // a leap second: RFC 3339 allows it, the clock does not
    std::size_t pos = 19;
    int millis = 0;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        const std::size_t start = pos;
        int scale = 100;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            millis += (text[pos] - '0') * scale;
            scale /= 10;
            ++pos;
        }
        if (pos == start)
            return fail(k_expected);
    }
    if (pos >= text.size())
        return fail("missing time zone (add Z for UTC)");
    int offset_minutes = 0;
    if (text[pos] == 'Z' || text[pos] == 'z') {
        ++pos;
    } else if (text[pos] == '+' || text[pos] == '-') {
        int oh = 0, om = 0;
        if (!read_digits(text, pos + 1, 2, oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
            !read_digits(text, pos + 4, 2, om) || oh > 23 || om > 59) {
            return fail(k_expected);
        }
        offset_minutes = (oh * 60 + om) * (text[pos] == '-' ? -1 : 1);
        pos += 6;
    } else {
        return fail(k_expected);
    }
    if (pos != text.size())
        return fail(k_expected);
    const auto t = time_point_cast<milliseconds>(*date) + hours{hh} + minutes{mm} + seconds{ss} +
                   milliseconds{millis} - minutes{offset_minutes};
    return TimePoint{t};
}

namespace {

/// Appends `value` as exactly `width` decimal digits (zero-padded; higher digits dropped).
void append_digits(std::string& out, long long value, int width) {
    char digits[8];
    for (int i = width - 1; i >= 0; --i) {
        digits[i] = static_cast<char>('0' + value % 10);
        value /= 10;
    }
    out.append(digits, static_cast<std::size_t>(width));
}

} // namespace

std::string format_timestamp(TimePoint t, bool with_millis) {
    // Every audit line has one: digits are written directly (snprintf cost ~1 us).
    const auto days = floor<std::chrono::days>(t);
    const year_month_day ymd{days};
    const hh_mm_ss hms{t - days};
    const int year = static_cast<int>(ymd.year());
    std::string out;
    out.reserve(24);
    if (year < 0 || year > 9999) {
        // Outside RFC 3339 (never from a real clock): as printf's %04d writes it.
        std::array<char, 16> buf{};
        const int n = std::snprintf(buf.data(), buf.size(), "%04d", year);
        out.assign(buf.data(), static_cast<std::size_t>(n));
    } else {
        append_digits(out, year, 4);
    }
    out += '-';
    append_digits(out, static_cast<unsigned>(ymd.month()), 2);
    out += '-';
    append_digits(out, static_cast<unsigned>(ymd.day()), 2);
    out += 'T';
    append_digits(out, hms.hours().count(), 2);
    out += ':';
    append_digits(out, hms.minutes().count(), 2);
    out += ':';
    append_digits(out, hms.seconds().count(), 2);
    if (with_millis) {
        out += '.';
        append_digits(out, hms.subseconds().count(), 3);
    }
    out += 'Z';
    return out;
}

std::string format_http_date(TimePoint t) {
    static constexpr std::array<const char*, 7> k_days{"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
    static constexpr std::array<const char*, 12> k_months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const auto days = floor<std::chrono::days>(t);
    const year_month_day ymd{days};
    const weekday wd{days};
    const hh_mm_ss hms{floor<seconds>(t) - days};
    std::array<char, 40> buf{};
    std::snprintf(buf.data(), buf.size(), "%s, %02u %s %04d %02d:%02d:%02d GMT",
                  k_days[wd.c_encoding()], static_cast<unsigned>(ymd.day()),
                  k_months[static_cast<unsigned>(ymd.month()) - 1], static_cast<int>(ymd.year()),
                  static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                  static_cast<int>(hms.seconds().count()));
    return buf.data();
}

Result<Duration> parse_duration(std::string_view text) {
    static constexpr const char* k_expected = "expected a duration like 500ms, 30s, 15m, 24h or 7d";
    std::size_t pos = 0;
    std::uint64_t value = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        if (value > std::numeric_limits<std::uint64_t>::max() / 10 - 10) {
            return fail("duration too large");
        }
        value = value * 10 + static_cast<std::uint64_t>(text[pos] - '0');
        ++pos;
    }
    if (pos == 0)
        return fail(k_expected);
    const std::string_view unit = text.substr(pos);
    std::uint64_t factor = 0;
    if (unit == "ms")
        factor = 1;
    else if (unit == "s")
        factor = 1000;
    else if (unit == "m")
        factor = 60'000;
    else if (unit == "h")
        factor = 3'600'000;
    else if (unit == "d")
        factor = 86'400'000;
    else
        return fail(k_expected);
    // A century is more than any grace period or window needs; beyond it is a typo.
    static constexpr std::uint64_t k_max_ms = 100ULL * 366 * 86'400'000;
    if (value > k_max_ms / factor)
        return fail("duration too large");
    return Duration{static_cast<Duration::rep>(value * factor)};
}

std::string format_duration(Duration d) {
    const auto ms = d.count();
    if (ms == 0)
        return "0s";
    if (ms % 86'400'000 == 0)
        return std::to_string(ms / 86'400'000) + "d";
    if (ms % 3'600'000 == 0)
        return std::to_string(ms / 3'600'000) + "h";
    if (ms % 60'000 == 0)
        return std::to_string(ms / 60'000) + "m";
    if (ms % 1000 == 0)
        return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

} // namespace keygate
