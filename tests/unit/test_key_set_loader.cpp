// Key file + environment -> one KeyStore; the holder's snapshots.
#include "infra/key_set_holder.hpp"
#include "infra/key_set_loader.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace keygate;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

struct KeyFile {
    fs::path path;
    explicit KeyFile(std::string_view content) {
        static int counter = 0;
        path = fs::temp_directory_path() / ("keygate-keyset-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(++counter) + ".yaml");
        std::ofstream(path) << content;
    }
    ~KeyFile() {
        std::error_code ec;
        fs::remove(path, ec);
    }
};

constexpr std::string_view k_keys = R"(
settings:
  grace_period: 30s
  trusted_proxies: [10.0.0.0/8]
api_keys:
  - id: acme-bi
    key_hash: "sha256:47d8441aeaf8fa56035f258b72d3739cc0d1789fee8132629e23ac54c9459d41"
    tenant: acme_corp
    role: viewer
)";

} // namespace

TEST_CASE("key set: the file alone", "[key_set]") {
    const KeyFile file(k_keys);
    KeySetSources sources;
    sources.config_path = file.path.string();
    const KeySetLoad load = load_key_set(sources, now_ms());
    REQUIRE(load.ok());
    CHECK(load.store->keys().size() == 1);
    CHECK(load.store->config().settings.grace_period == Duration(30s));
    REQUIRE(load.store->config().settings.trusted_proxies.size() == 1);
}

TEST_CASE("key set: environment overrides and keys", "[key_set]") {
    const KeyFile file(k_keys);
    KeySetSources sources;
    sources.config_path = file.path.string();
    sources.grace_period_override = Duration(5min);
    sources.trusted_proxies_override = std::vector<Cidr>{};
    sources.environment_keys.admin = "pk_ops_test0001environmentadmin";
    sources.environment_keys.default_key = "pk_acme_test0002environmentdefault";
    sources.environment_keys.default_tenant = "acme_corp";
    const KeySetLoad load = load_key_set(sources, now_ms());
    REQUIRE(load.ok());
    const Settings& settings = load.store->config().settings;
    CHECK(settings.grace_period == Duration(5min));
    CHECK(settings.trusted_proxies.empty());
    REQUIRE(load.store->find_by_id("env-admin"));
    CHECK(load.store->find_by_id("env-admin")->entry.role == "admin");
    REQUIRE(load.store->find_by_id("env-default"));
    CHECK(load.store->find_by_id("env-default")->entry.tenant == "acme_corp");
    const auto match = load.store->find("pk_acme_test0002environmentdefault");
    REQUIRE(match);
    CHECK(match->key->entry.id == "env-default");
}

TEST_CASE("key set: failures keep every diagnostic and build nothing", "[key_set]") {
    const KeyFile bad("api_keys:\n  - id: x\n    role: nope\n");
    KeySetSources sources;
    sources.config_path = bad.path.string();
    const KeySetLoad load = load_key_set(sources, now_ms());
    CHECK_FALSE(load.ok());
    CHECK(load.diagnostics.failed());

    const KeyFile good(k_keys);
    sources.config_path = good.path.string();
    sources.environment_keys.default_role = "no-such-role";
    sources.environment_keys.default_key = "pk_acme_test0003environmentdefault";
    const KeySetLoad env_failure = load_key_set(sources, now_ms());
    CHECK_FALSE(env_failure.ok());
    REQUIRE(env_failure.diagnostics.error_count() >= 1);
    CHECK(env_failure.diagnostics.items.back().line == 0);

    sources.config_path = (fs::temp_directory_path() / "keygate-no-such-file.yaml").string();
    CHECK_FALSE(load_key_set(sources, now_ms()).ok());
}

TEST_CASE("key set holder: snapshots are swapped whole", "[key_set]") {
    const KeyFile file(k_keys);
    KeySetSources sources;
    sources.config_path = file.path.string();
    KeySetHolder holder;
    CHECK_FALSE(holder.ready());
    CHECK(holder.snapshot() == nullptr);

    auto first = load_key_set(sources, now_ms()).store;
    holder.publish(first);
    CHECK(holder.ready());
    CHECK(holder.generation() == 1);
    const auto taken = holder.snapshot();
    CHECK(taken == first);

    auto second = load_key_set(sources, now_ms()).store;
    holder.publish(second);
    CHECK(holder.snapshot() == second);
    CHECK(taken == first);   // a request's snapshot does not change under it
    holder.publish(nullptr); // a failed load never replaces a good snapshot
    CHECK(holder.snapshot() == second);
    CHECK(holder.generation() == 2);
}
