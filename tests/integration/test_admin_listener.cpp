// KEYGATE_ADMIN_LISTEN on a whole serve runtime (src/cli/serve_runtime.*): two listeners
// over one key set (a reload on the admin listener changes what the main one decides), the
// connection metrics of both on one page, and stop() closing both.
#include "runtime_harness.hpp"
#include "server_harness.hpp"

#include <httplib.h>
#include <regex>

using namespace keygate;
using namespace keygate::testing;

namespace {

const std::string k_ops_key = "admin-listener-it-ops-key";
const std::string k_first_key = "admin-listener-it-first-key";
const std::string k_added_key = "admin-listener-it-added-key";

std::string keys_file(bool with_added) {
    std::string yaml = "api_keys:\n"
                       "  - {id: ops, key_hash: \"" +
                       sha256_secret(k_ops_key) +
                       "\", role: admin}\n"
                       "  - {id: first, key_hash: \"" +
                       sha256_secret(k_first_key) + "\", role: viewer, tenant: acme}\n";
    if (with_added)
        yaml += "  - {id: added, key_hash: \"" + sha256_secret(k_added_key) +
                "\", role: viewer, tenant: acme}\n";
    return yaml;
}

/// A runtime with an admin listener on 127.0.0.1:0, run on a thread; stopped and joined by
/// the destructor.
struct TwoListeners {
    std::unique_ptr<cli::ServeRuntime> runtime;
    std::thread thread;
    bool run_result = false;

    explicit TwoListeners(const std::string& config_path) {
        cli::RuntimeOptions options;
        options.sources.config_path = config_path;
        options.listen_port = 0;
        ListenAddress admin;
        admin.host = "127.0.0.1";
        admin.port = 0;
        options.admin_listen = admin;
        options.audit_destination = "/dev/null";
        options.watch_debounce = 20ms;
        options.reload_interval = 0ms;
        runtime = std::make_unique<cli::ServeRuntime>(options);
        Diagnostics diagnostics;
        std::string error;
        REQUIRE(runtime->start(diagnostics, error));
        thread = std::thread([this] { run_result = runtime->run(); });
    }
    ~TwoListeners() { join(); }
    void join() {
        if (!thread.joinable())
            return;
        runtime->stop();
        thread.join();
    }
    int main_status(const std::string& path, const std::string& key = "") const {
        httplib::Client client("127.0.0.1", runtime->port());
        const auto res = key.empty() ? client.Get(path) : client.Get(path, {{"X-API-Key", key}});
        return res ? res->status : -1;
    }
};

/// The value of an unlabelled sample on a metrics page; -1 when absent.
long sample_of(const std::string& page, const std::string& name) {
    const std::regex line("(^|\n)" + name + " ([0-9]+)\n");
    std::smatch match;
    return std::regex_search(page, match, line) ? std::stol(match[2]) : -1;
}

} // namespace

TEST_CASE("admin listener: its own port, the same key set", "[admin_listener][it]") {
    TempDir dir;
    const std::string path = dir.write("keys.yaml", keys_file(false));
    TwoListeners server(path);
    const int admin_port = server.runtime->admin_port();
    REQUIRE(admin_port != 0);
    CHECK(admin_port != server.runtime->port());

    httplib::Client admin("127.0.0.1", admin_port);
    const auto metrics = admin.Get("/metrics");
    REQUIRE(metrics);
    CHECK(metrics->status == 200);
    CHECK(server.main_status("/metrics") == 404);
    CHECK(server.main_status("/auth", k_first_key) == 200);
    const auto auth_on_admin = admin.Get("/auth", {{"X-API-Key", k_first_key}});
    REQUIRE(auth_on_admin);
    CHECK(auth_on_admin->status == 404);

    // A reload asked on the admin listener swaps the key set the main listener decides by.
    CHECK(server.main_status("/auth", k_added_key) == 401);
    dir.write("keys.yaml", keys_file(true));
    const auto reload = admin.Post("/v1/reload", {{"X-API-Key", k_ops_key}}, "", "text/plain");
    REQUIRE(reload);
    CHECK(reload->status == 200);
    CHECK(server.main_status("/auth", k_added_key) == 200);
    CHECK(server.main_status("/v1/reload", k_ops_key) == 404);
}

TEST_CASE("admin listener: /metrics counts the connections of both listeners",
          "[admin_listener][it]") {
    TempDir dir;
    TwoListeners server(dir.write("keys.yaml", keys_file(false)));
    // One idle connection on the main listener, and the scrape's own on the admin one.
    RawClient idle(server.runtime->port());
    httplib::Client admin("127.0.0.1", server.runtime->admin_port());
    long connections = -1;
    CHECK(eventually([&] {
        const auto page = admin.Get("/metrics");
        connections = page ? sample_of(page->body, "keygate_connections") : -1;
        return connections == 2;
    }));
    INFO("keygate_connections " << connections);
}

TEST_CASE("admin listener: stop() closes both listeners", "[admin_listener][it]") {
    TempDir dir;
    TwoListeners server(dir.write("keys.yaml", keys_file(false)));
    const int main_port = server.runtime->port();
    const int admin_port = server.runtime->admin_port();
    httplib::Client admin("127.0.0.1", admin_port);
    REQUIRE(admin.Get("/readyz"));
    server.join();
    CHECK(server.run_result);
    httplib::Client main_client("127.0.0.1", main_port);
    main_client.set_connection_timeout(1);
    httplib::Client admin_after("127.0.0.1", admin_port);
    admin_after.set_connection_timeout(1);
    CHECK_FALSE(main_client.Get("/healthz"));
    CHECK_FALSE(admin_after.Get("/healthz"));
}
