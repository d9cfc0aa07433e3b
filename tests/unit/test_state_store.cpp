#include "infra/state_store.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace keygate;
namespace fs = std::filesystem;

TEST_CASE("state store: grace windows and usage round-trip atomically", "[state]") {
    const fs::path dir =
        fs::temp_directory_path() / ("keygate-state-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    StateStore store(dir.string());
    PersistentState empty;
    std::string error;
    CHECK(store.load(empty, error)); // missing file: empty state
    CHECK(empty.grace.empty());

    KeyEntry e;
    e.id = "acme";
    e.tenant = "acme_corp";
    e.role = "analyst";
    e.allowed_datasets = std::vector<std::string>{"orders"};
    e.denied_datasets = {"orders_raw"};
    e.rate_limit = 100;
    e.ip_allowlist = {*parse_cidr("10.0.0.0/8")};
    e.expires_at = *parse_timestamp("2030-01-01T00:00:00Z");
    const SecretDigest secret{HashKind::sha256, sha256("state-test-secret")};
    PersistentState state;
    state.grace.push_back({secret, e, *parse_timestamp("2025-03-01T12:10:00.250Z")});
    state.usage.push_back({"acme", 42, *parse_timestamp("2025-01-01T00:00:00Z"),
                           *parse_timestamp("2025-03-01T12:00:00Z"), 5,
                           *parse_timestamp("2025-03-01T11:59:00.125Z")});
    state.usage.push_back(
        {"quiet", 1, *parse_timestamp("2025-01-01T00:00:00Z"), std::nullopt, 0, std::nullopt});
    REQUIRE(store.save(state, error));

    // digests only: no plaintext ever reaches the file
    std::ifstream in(store.file_path());
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    CHECK(text.find("state-test-secret") == std::string::npos);

    PersistentState loaded;
    REQUIRE(store.load(loaded, error));
    REQUIRE(loaded.grace.size() == 1);
    CHECK(loaded.grace[0].secret == secret);
    CHECK(loaded.grace[0].until == *parse_timestamp("2025-03-01T12:10:00.250Z"));
    CHECK(loaded.grace[0].entry.id == "acme");
    CHECK(loaded.grace[0].entry.tenant == "acme_corp");
    CHECK(loaded.grace[0].entry.allowed_datasets == std::vector<std::string>{"orders"});
    CHECK(loaded.grace[0].entry.ip_allowlist.at(0).text == "10.0.0.0/8");
    CHECK(loaded.grace[0].entry.rate_limit == 100);
    CHECK(loaded.grace[0].entry.expires_at == *parse_timestamp("2030-01-01"));
    REQUIRE(loaded.usage.size() == 2);
    CHECK(loaded.usage[0].total_requests == 42);
    CHECK(loaded.usage[0].last_used == *parse_timestamp("2025-03-01T12:00:00Z"));
    CHECK(loaded.usage[0].old_secret_requests == 5);
    CHECK(loaded.usage[0].old_secret_last_used == *parse_timestamp("2025-03-01T11:59:00.125Z"));
    CHECK(loaded.usage[1].old_secret_requests == 0);
    CHECK_FALSE(loaded.usage[1].old_secret_last_used);
    CHECK_FALSE(loaded.usage[1].last_used);

    // a corrupt file is an error that names the file but not its content
    { std::ofstream(store.file_path()) << "{ not json sha256:abc"; }
    PersistentState bad;
    CHECK_FALSE(store.load(bad, error));
    CHECK(error.find("is corrupt") != std::string::npos);
    CHECK(error.find("sha256") == std::string::npos);
    fs::remove_all(dir);
}

TEST_CASE("state store: a file written before old-secret counts loads with none", "[state]") {
    const fs::path dir =
        fs::temp_directory_path() / ("keygate-state-old-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    StateStore store(dir.string());
    {
        std::ofstream(store.file_path())
            << R"({"version":1,"grace":[],"usage":[{"key_id":"a","total_requests":3,)"
            << R"("first_seen":"2025-01-01T00:00:00.000Z","last_used":"2025-01-02T00:00:00.000Z"}]})";
    }
    PersistentState loaded;
    std::string error;
    REQUIRE(store.load(loaded, error));
    REQUIRE(loaded.usage.size() == 1);
    CHECK(loaded.usage[0].total_requests == 3);
    CHECK(loaded.usage[0].old_secret_requests == 0);
    CHECK_FALSE(loaded.usage[0].old_secret_last_used);
    fs::remove_all(dir);
}
