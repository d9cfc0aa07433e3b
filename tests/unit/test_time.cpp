#include "core/time.hpp"

#include <catch2/catch.hpp>

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
