#pragma once
// A whole serve runtime (reloader, watcher, audit log, usage, operations endpoints) on port 0
// in a thread, for the integration tests that need more than the bare HTTP API.
#include "cli/serve_runtime.hpp"
#include "server_harness.hpp"

#include <httplib.h>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace keygate::testing {

using namespace std::chrono_literals;

/// A runtime on port 0 watching `config_path`, with short debounce and no periodic check.
struct Running {
    std::unique_ptr<cli::ServeRuntime> runtime;
    std::thread thread;
    explicit Running(const std::string& config_path, std::string audit = "/dev/null",
                     std::optional<std::string> state_dir = std::nullopt) {
        cli::RuntimeOptions options;
        options.state_dir = std::move(state_dir);
        options.sources.config_path = config_path;
        options.listen_port = 0;
        options.audit_destination = std::move(audit);
        options.watch_debounce = 20ms;
        options.reload_interval = 0ms;
        runtime = std::make_unique<cli::ServeRuntime>(options);
        Diagnostics diagnostics;
        std::string error;
        REQUIRE(runtime->start(diagnostics, error));
        thread = std::thread([this] { runtime->run(); });
    }
    ~Running() {
        runtime->stop();
        thread.join();
    }
    int status_for(const std::string& key) const {
        httplib::Client client("127.0.0.1", runtime->port());
        const auto res = client.Get("/auth", {{"X-API-Key", key}});
        return res ? res->status : -1;
    }
    /// True once `key` is allowed within 2 s (the contract's bound).
    bool accepted_within_2s(const std::string& key) const {
        return eventually([&] { return status_for(key) == 200; }, 2s);
    }
};

} // namespace keygate::testing
