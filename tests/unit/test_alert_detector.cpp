#include "infra/alert_detector.hpp"

#include <catch2/catch.hpp>

using namespace keygate;
using namespace std::chrono_literals;

namespace {

const TimePoint k_t0 = *parse_timestamp("2025-03-01T12:00:00Z");

AlertObservation failure(const char* ip, TimePoint at) {
    AlertObservation o;
    o.now = at;
    o.code = DecisionCode::invalid_key;
    o.ip = *parse_ip(ip);
    return o;
}

AlertObservation use(const std::string& id, const char* ip, TimePoint at,
                     const std::string* dataset = nullptr, DecisionCode code = DecisionCode::ok) {
    AlertObservation o;
    o.now = at;
    o.code = code;
    o.key_id = &id;
    o.ip = *parse_ip(ip);
    o.dataset = dataset;
    return o;
}

} // namespace

TEST_CASE("alerts: failed_auth_burst once per address per window", "[alerts]") {
    AlertSettings s;
    s.failed_auth_burst = {5, 60s};
    AlertDetector detector(s);
    std::size_t alerts = 0;
    for (int i = 0; i < 4; ++i)
        alerts += detector.observe(failure("203.0.113.7", k_t0 + std::chrono::seconds(i))).size();
    CHECK(alerts == 0);
    auto fifth = detector.observe(failure("203.0.113.7", k_t0 + 4s));
    REQUIRE(fifth.size() == 1);
    CHECK(fifth[0].type == AlertType::failed_auth_burst);
    CHECK(fifth[0].ip_address == "203.0.113.7");
    CHECK(fifth[0].count == 5);
    CHECK(fifth[0].window == 60s);
    CHECK(fifth[0].detail == "5 failed authentications from 203.0.113.7 within 1m");
    // no storm: more failures in the same window raise nothing
    for (int i = 5; i < 50; ++i)
        CHECK(detector.observe(failure("203.0.113.7", k_t0 + std::chrono::seconds(5))).empty());
    // a different address is its own subject
    for (int i = 0; i < 4; ++i)
        detector.observe(failure("203.0.113.8", k_t0 + 10s));
    CHECK(detector.observe(failure("203.0.113.8", k_t0 + 10s)).size() == 1);
    // slow failures (spread beyond the window) never trip it
    AlertDetector slow(s);
    for (int i = 0; i < 50; ++i)
        CHECK(slow.observe(failure("198.51.100.1", k_t0 + std::chrono::seconds(i * 20))).empty());
}

TEST_CASE("alerts: memory stays bounded under a spray of addresses", "[alerts]") {
    AlertSettings s;
    s.failed_auth_burst = {3, 60s};
    AlertLimits limits;
    limits.max_addresses = 160;
    AlertDetector detector(s, limits);
    for (int i = 0; i < 100'000; ++i) {
        const std::string ip = "10." + std::to_string((i >> 16) & 255) + "." +
                               std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255);
        detector.observe(failure(ip.c_str(), k_t0));
    }
    // still works for a real burst afterwards
    for (int i = 0; i < 2; ++i)
        detector.observe(failure("192.0.2.1", k_t0 + 1s));
    CHECK(detector.observe(failure("192.0.2.1", k_t0 + 1s)).size() == 1);
}

TEST_CASE("alerts: new_ip after a baseline network, per /24", "[alerts]") {
    AlertDetector detector{AlertSettings{}};
    const std::string id = "acme-analysts";
    CHECK(detector.observe(use(id, "192.168.1.10", k_t0)).empty()); // baseline
    CHECK(detector.observe(use(id, "192.168.1.99", k_t0)).empty()); // same /24
    const auto a = detector.observe(use(id, "198.51.100.5", k_t0 + 1s));
    REQUIRE(a.size() == 1);
    CHECK(a[0].type == AlertType::new_ip);
    CHECK(a[0].key_id == id);
    CHECK(a[0].detail == "key acme-analysts used from a new network 198.51.100.0/24");
    CHECK(detector.observe(use(id, "203.0.113.5", k_t0 + 2s)).empty()); // one per window
    CHECK(detector.observe(use(id, "203.0.114.5", k_t0 + 2min)).size() == 1);
    CHECK(network_of(*parse_ip("2001:db8:1:2:3::9")) == "2001:db8:1:2::/64");
    CHECK(network_address(*parse_ip("10.1.2.3")) == network_address(*parse_ip("10.1.2.250")));
    CHECK_FALSE(network_address(*parse_ip("10.1.2.3")) == network_address(*parse_ip("10.1.3.3")));
    CHECK(network_address(*parse_ip("2001:db8:1:2::1")) ==
          network_address(*parse_ip("2001:db8:1:2:ffff::1")));
    CHECK_FALSE(network_address(*parse_ip("2001:db8:1:2::1")) ==
                network_address(*parse_ip("2001:db8:1:3::1")));
}

TEST_CASE("alerts: unusual_dataset on a denial or a first touch", "[alerts]") {
    AlertDetector detector{AlertSettings{}};
    const std::string id = "k";
    const std::string orders = "orders", customers = "customers", payroll = "payroll";
    CHECK(detector.observe(use(id, "10.0.0.1", k_t0, &orders)).empty());
    CHECK(detector.observe(use(id, "10.0.0.1", k_t0, &orders)).empty());
    const auto first_touch = detector.observe(use(id, "10.0.0.1", k_t0 + 1s, &customers));
    REQUIRE(first_touch.size() == 1);
    CHECK(first_touch[0].detail == "key k touched dataset 'customers' for the first time");
    const auto denied = detector.observe(
        use(id, "10.0.0.1", k_t0 + 2min, &payroll, DecisionCode::dataset_forbidden));
    REQUIRE(denied.size() == 1);
    CHECK(denied[0].type == AlertType::unusual_dataset);
    CHECK(denied[0].detail == "key k was denied dataset 'payroll'");
}

TEST_CASE("alerts: volume_spike far above the usual rate", "[alerts]") {
    AlertSettings s;
    s.volume_spike_factor = 10;
    s.volume_spike_min_per_minute = 100;
    AlertDetector detector(s);
    const std::string id = "k";
    // five quiet minutes of 5 requests each
    for (int m = 0; m < 5; ++m) {
        for (int i = 0; i < 5; ++i)
            CHECK(detector
                      .observe(use(id, "10.0.0.1",
                                   k_t0 + std::chrono::minutes(m) + std::chrono::seconds(i)))
                      .empty());
    }
    std::vector<Alert> raised;
    for (int i = 0; i < 300; ++i) {
        auto a =
            detector.observe(use(id, "10.0.0.1", k_t0 + 5min + std::chrono::milliseconds(i * 100)));
        raised.insert(raised.end(), a.begin(), a.end());
    }
    REQUIRE(raised.size() == 1);
    CHECK(raised[0].type == AlertType::volume_spike);
    CHECK(raised[0].count == 100);
    CHECK(raised[0].key_id == id);
    CHECK_FALSE(raised[0].ip_address);
}

TEST_CASE("alerts: rules can be switched off", "[alerts]") {
    AlertSettings s;
    s.new_ip = false;
    s.unusual_dataset = false;
    AlertDetector detector(s);
    const std::string id = "k", d1 = "a", d2 = "b";
    detector.observe(use(id, "10.0.0.1", k_t0, &d1));
    CHECK(detector.observe(use(id, "172.16.0.1", k_t0, &d2)).empty());

    s.rotated_secret_used = false;
    AlertDetector quiet(s);
    AlertObservation old = use(id, "10.0.0.1", k_t0);
    old.rotated_secret = true;
    CHECK(quiet.observe(old).empty());
    s.rotated_secret_used = true;
    AlertDetector loud(s);
    CHECK(loud.observe(old).size() == 1);
}

TEST_CASE("alerts: rotated_secret_used once per key per hour, counting the uses", "[alerts]") {
    AlertSettings s;
    s.new_ip = false;
    s.unusual_dataset = false;
    AlertDetector detector(s);
    const std::string id = "rotating";
    const TimePoint grace_end = k_t0 + 48h;
    const auto old_secret = [&](TimePoint at) {
        AlertObservation o = use(id, "198.51.100.4", at);
        o.rotated_secret = true;
        o.grace_until = grace_end;
        return o;
    };
    // The current secret raises nothing.
    CHECK(detector.observe(use(id, "198.51.100.4", k_t0)).empty());
    const auto first = detector.observe(old_secret(k_t0 + 1s));
    REQUIRE(first.size() == 1);
    CHECK(first[0].type == AlertType::rotated_secret_used);
    CHECK(first[0].key_id == id);
    CHECK(first[0].ip_address == "198.51.100.4");
    CHECK(first[0].count == 1);
    CHECK(first[0].window == 1h);
    CHECK(first[0].grace_until == grace_end);
    CHECK_FALSE(first[0].expires_at);
    CHECK(first[0].detail ==
          "key rotating was used with a rotated-out secret (accepted until 2025-03-03T12:00:00Z)");
    // Not per request: the next uses within the hour are counted, not alerted.
    for (int i = 0; i < 5; ++i)
        CHECK(detector.observe(old_secret(k_t0 + std::chrono::minutes(10 + i))).empty());
    const auto next = detector.observe(old_secret(k_t0 + 1s + 1h));
    REQUIRE(next.size() == 1);
    CHECK(next[0].count == 6); // the five quiet ones and this one
    // Another key is its own subject.
    const std::string other = "other";
    AlertObservation o = use(other, "198.51.100.4", k_t0 + 1h + 2s);
    o.rotated_secret = true;
    CHECK(detector.observe(o).size() == 1);
}
