#include "core/time.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <ctime>
#include <random>

using namespace keygate;
using namespace std::chrono_literals;

TEST_CASE("timestamps: RFC 3339 forms and bare dates", "[time]") {
    const auto t = parse_timestamp("2024-01-15T10:30:00Z");
    REQUIRE(t);
    CHECK(format_timestamp(*t) == "2024-01-15T10:30:00Z");
    CHECK(format_timestamp(*parse_timestamp("2024-01-15T10:30:00.123Z"), true) ==
          "2024-01-15T10:30:00.123Z");
    CHECK(*parse_timestamp("2024-01-15T12:30:00+02:00") == *t);
    CHECK(*parse_timestamp("2024-01-15T05:30:00-05:00") == *t);
    CHECK(format_timestamp(*parse_timestamp("2025-12-31")) == "2025-12-31T00:00:00Z");
    CHECK(format_timestamp(*parse_timestamp("2024-02-29t00:00:00z")) == "2024-02-29T00:00:00Z");
    CHECK(*parse_timestamp("1970-01-01T00:00:00Z") == TimePoint{});
}

TEST_CASE("timestamps: malformed ones are errors with a reason", "[time]") {
    for (const char* bad : {"", "2024", "2024-13-01", "2023-02-29", "2024-01-15T10:30:00",
                            "2024-01-15T25:00:00Z", "2024-01-15 10:30Z", "2024-01-15T10:30:00ZZ",
                            "2024-01-15T10:30:00+0200", "yesterday", "2024-01-15T10:30:00.Z"}) {
        INFO(bad);
        CHECK_FALSE(parse_timestamp(bad));
    }
    CHECK(parse_timestamp("2024-01-15T10:30:00").error().message ==
          "missing time zone (add Z for UTC)");
    CHECK(parse_timestamp("2023-02-29").error().message == "no such date");
}

TEST_CASE("http dates for the Sunset header", "[time]") {
    CHECK(format_http_date(*parse_timestamp("1994-11-06T08:49:37Z")) ==
          "Sun, 06 Nov 1994 08:49:37 GMT");
    CHECK(format_http_date(*parse_timestamp("2024-02-01T00:00:00.999Z")) ==
          "Thu, 01 Feb 2024 00:00:00 GMT");
}

TEST_CASE("durations", "[time]") {
    CHECK(*parse_duration("500ms") == 500ms);
    CHECK(*parse_duration("30s") == 30s);
    CHECK(*parse_duration("15m") == 15min);
    CHECK(*parse_duration("24h") == 24h);
    CHECK(*parse_duration("7d") == Duration{7 * 86'400'000LL});
    CHECK(*parse_duration("0s") == 0ms);
    for (const char* bad : {"", "s", "10", "1.5s", "-1s", "+1s", "10 s", "10sec", "0x10s", "1w"}) {
        INFO(bad);
        CHECK_FALSE(parse_duration(bad));
    }
    CHECK(parse_duration("99999999999999999999d").error().message == "duration too large");
    CHECK(format_duration(Duration{7 * 86'400'000LL}) == "7d");
    CHECK(format_duration(90s) == "90s");
    CHECK(format_duration(1500ms) == "1500ms");
    CHECK(format_duration(0ms) == "0s");
}

TEST_CASE("time: format_timestamp agrees with gmtime and printf", "[time]") {
    CHECK(format_timestamp(TimePoint{}, true) == "1970-01-01T00:00:00.000Z");
    CHECK(format_timestamp(*parse_timestamp("2024-01-15T10:30:00.007Z"), true) ==
          "2024-01-15T10:30:00.007Z");
    CHECK(format_timestamp(*parse_timestamp("9999-12-31T23:59:59.999Z"), true) ==
          "9999-12-31T23:59:59.999Z");
    std::mt19937_64 random(20261130);
    for (int i = 0; i < 2000; ++i) {
        const long long ms = static_cast<long long>(random() % 253402300800000ULL); // < year 10000
        const TimePoint t{std::chrono::milliseconds(ms)};
        const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
        std::tm tm{};
        REQUIRE(gmtime_r(&seconds, &tm) != nullptr);
        char expected[96];
        std::snprintf(expected, sizeof expected, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                      tm.tm_sec, static_cast<int>(ms % 1000));
        REQUIRE(format_timestamp(t, true) == expected);
    }
}
