// `keygate serve [--config PATH] [--listen HOST:PORT|unix:PATH] [--env-file PATH]
// [--grpc-listen HOST:PORT|unix:PATH] [--admin-listen HOST:PORT|unix:PATH]`: load the key set,
// then answer auth subrequests (and, with --grpc-listen, Envoy's gRPC Check calls; with
// --admin-listen, /metrics and the admin API on a listener of their own) until SIGTERM/SIGINT
// (and its shutdown delay).
#include "cli/cli_args.hpp"
#include "cli/cli_help.hpp"
#include "cli/commands.hpp"
#include "cli/grpc_support.hpp"
#include "cli/serve_runtime.hpp"
#include "core/diagnostics.hpp"
#include "infra/audit_sink.hpp"
#include "infra/env_file.hpp"
#include "infra/environment.hpp"
#include "infra/key_set_holder.hpp"
#include "infra/key_set_loader.hpp"
#include "infra/logging.hpp"
#include "infra/serve_settings.hpp"
#include "infra/shutdown_signals.hpp"
#include "infra/usage_tracker.hpp"
#include "server/admission_control.hpp"
#include "server/keygate_server.hpp"

#include <algorithm>
#include <csignal>
#include <iostream>
#include <mutex>
#include <optional>
#include <spdlog/spdlog.h>

namespace keygate::cli {
namespace {

constexpr OptionSpec k_options[] = {
    {.name = "--config",
     .takes_value = true,
     .value_name = "PATH",
     .help = "the key file, watched and reloaded when it changes",
     .default_value = "keys.yaml",
     .env = "KEYGATE_CONFIG"},
    {.name = "--listen",
     .takes_value = true,
     .value_name = "HOST:PORT|unix:PATH",
     .help = "where to serve: [V6]:PORT, :PORT (every interface), or a Unix socket (0660)",
     .default_value = "127.0.0.1:8090",
     .env = "KEYGATE_LISTEN"},
    {.name = "--env-file",
     .takes_value = true,
     .value_name = "PATH",
     .help = "KEY=value lines read at start (the process environment wins over them)",
     .default_value = "none",
     .env = "KEYGATE_ENV_FILE"},
    {.name = "--grpc-listen",
     .takes_value = true,
     .value_name = "HOST:PORT|unix:PATH",
     .help = "also serve Envoy's gRPC ext_authz (envoy.service.auth.v3) and grpc.health.v1",
     .default_value = "off",
     .env = "KEYGATE_GRPC_LISTEN"},
    {.name = "--admin-listen",
     .takes_value = true,
     .value_name = "HOST:PORT|unix:PATH",
     .help = "serve /metrics and the admin API (and the probes) there, no longer on --listen",
     .default_value = "off",
     .env = "KEYGATE_ADMIN_LISTEN"},
};
constexpr EnvironmentSpec k_environment[] = {
    {"API_KEY_ADMIN", "", "a plaintext key with role admin, id env-admin"},
    {"API_KEY_DEFAULT", "", "a plaintext key with KEYGATE_DEFAULT_ROLE, id env-default"},
    {"API_KEY_ADMIN_FILE", "", "API_KEY_ADMIN read from a file (one trailing newline removed)"},
    {"API_KEY_DEFAULT_FILE", "", "API_KEY_DEFAULT read from a file"},
    {"KEYGATE_DEFAULT_ROLE", "analyst", "the role of API_KEY_DEFAULT"},
    {"KEYGATE_DEFAULT_TENANT", "default", "the tenant of API_KEY_DEFAULT"},
    {"KEYGATE_HASH_PEPPER", "", "the secret of hmac-sha256: hashes"},
    {"KEYGATE_GRACE_PERIOD", "the file's", "overrides settings.grace_period"},
    {"KEYGATE_TRUSTED_PROXIES", "the file's",
     "overrides settings.trusted_proxies (CIDRs, or none)"},
    {"KEYGATE_AUDIT_LOG", "stdout", "the audit log: stdout, stderr or a file path"},
    {"KEYGATE_LOG_LEVEL", "info", "trace, debug, info, warn, error, critical or off"},
    {"KEYGATE_LOG_FORMAT", "text", "the operational log on stderr: text or json"},
    {"KEYGATE_STATE_DIR", "", "a directory for grace windows and usage totals across restarts"},
    {"KEYGATE_KEEPALIVE_TIMEOUT", "75s", "how long an idle connection is kept (at least 1s)"},
    {"KEYGATE_READ_TIMEOUT", "5s", "a request's head must arrive whole within it (at least 100ms)"},
    {"KEYGATE_SHUTDOWN_DELAY", "0s", "after SIGTERM: serve this long with /readyz at 503"},
};
constexpr ExitCodeSpec k_exit_codes[] = {
    {0, "stopped by SIGTERM or SIGINT, after draining"},
    {1, "the key file is missing or invalid at start, the address cannot be bound, "
        "accepting failed, or --grpc-listen is set in a build without gRPC"},
    {2, "usage error (also a bad value in a KEYGATE_* variable)"},
};

constexpr CommandSpec k_command{
    .name = "serve",
    .synopsis = "keygate serve [--config PATH] [--listen HOST:PORT|unix:PATH] [--env-file PATH] "
                "[--grpc-listen HOST:PORT|unix:PATH] [--admin-listen HOST:PORT|unix:PATH]",
    .summary = "Loads the key file and answers the front proxy's auth subrequests, /v1/authorize,\n"
               "the admin API and /metrics (on --admin-listen when it is set) until SIGTERM or\n"
               "SIGINT. A flag wins over its variable, a variable over the file's settings:.\n"
               "SIGHUP reloads the key file, SIGUSR1 reopens the audit log.",
    .options = k_options,
    .environment = k_environment,
    .exit_codes = k_exit_codes,
};

/// Prints every diagnostic as "PATH:LINE:COL: severity: MESSAGE" on stderr.
void print_diagnostics(const std::string& path, const Diagnostics& diagnostics) {
    for (const Diagnostic& d : diagnostics.items) {
        std::cerr << format_diagnostic(path, d) << '\n';
    }
}

} // namespace

const CommandSpec& serve_command() {
    return k_command;
}

int run_serve(const Args& args) {
    const auto parsed = parse_args(args, k_command);
    if (!parsed)
        return usage_error(std::cerr, k_command, parsed.error().message);
    if (parsed->help) {
        std::cout << help_text(k_command);
        return k_exit_ok;
    }
    if (!parsed->positionals.empty()) {
        return usage_error(std::cerr, k_command,
                           "unexpected argument '" + parsed->positionals.front() + "'");
    }
    ServeFlags flags;
    flags.config = parsed->value("--config");
    flags.listen = parsed->value("--listen");
    flags.env_file = parsed->value("--env-file");
    flags.grpc_listen = parsed->value("--grpc-listen");
    flags.admin_listen = parsed->value("--admin-listen");

    const EnvLookup env = process_environment();
    // The env file first: it may set any of the variables below. No thread runs yet, so
    // setenv() is safe here.
    if (const auto env_file = env_file_path(flags, env)) {
        const auto entries = read_env_file(*env_file);
        if (!entries)
            return operation_failed(std::cerr, "serve", entries.error().message);
        apply_env_entries(*entries);
    }
    const auto settings = resolve_serve_settings(flags, env);
    if (!settings)
        return usage_error(std::cerr, k_command, settings.error().message);
    // Before the key set is read or any port bound: this binary cannot serve what it was
    // asked to (ServeRuntime::start refuses it too, for in-process runtimes).
    if (settings->grpc_listen && !k_grpc_built_in)
        return operation_failed(std::cerr, "serve", k_grpc_not_built_in);
    configure_logging(settings->log);

    auto environment_keys = read_environment_keys(env);
    if (!environment_keys) {
        return operation_failed(std::cerr, "serve", environment_keys.error().message);
    }
    KeySetSources sources;
    sources.config_path = settings->config_path;
    sources.environment_keys = std::move(*environment_keys);
    sources.hash_pepper = settings->hash_pepper;
    sources.grace_period_override = settings->grace_period;
    sources.trusted_proxies_override = settings->trusted_proxies;

    RuntimeOptions options;
    options.sources = std::move(sources);
    options.listen_host = settings->listen.host;
    options.listen_port = settings->listen.port;
    options.listen_unix = settings->listen.unix_path;
    options.admin_listen = settings->admin_listen;
    if (settings->grpc_listen)
        options.grpc_listen = settings->grpc_listen->to_string();
    if (const auto audit = env("KEYGATE_AUDIT_LOG"); audit && !audit->empty()) {
        options.audit_destination = *audit;
    }
    if (const auto state_dir = env("KEYGATE_STATE_DIR"); state_dir && !state_dir->empty()) {
        options.state_dir = *state_dir;
    }
    options.shutdown_delay = settings->shutdown_delay;
    if (settings->read_timeout) {
        options.server.listener.read_timeout =
            std::chrono::ceil<std::chrono::milliseconds>(*settings->read_timeout);
    }
    if (settings->keep_alive_timeout) {
        options.server.listener.keep_alive_timeout =
            std::chrono::ceil<std::chrono::seconds>(*settings->keep_alive_timeout);
    }

    // Before any other thread exists, so that every thread inherits the blocked mask and
    // only the signal thread takes the signals.
    std::signal(SIGPIPE, SIG_IGN);
    // The runtime once it started; SIGTERM/SIGINT before that are counted and replayed.
    std::mutex live_mutex;
    ServeRuntime* live = nullptr;
    int early_stops = 0;
    const auto shut_down = [&](ServeRuntime& runtime, const char* name) {
        switch (runtime.shut_down()) {
        case ShutdownDrain::Step::draining:
            log_event(spdlog::level::info,
                      std::string(name) + " received: not ready; serving for " +
                          format_duration(settings->shutdown_delay) +
                          ", then stopping (another SIGTERM stops now)",
                      {{"signal", name},
                       {"shutdown_delay_ms",
                        static_cast<std::int64_t>(settings->shutdown_delay.count())}});
            return;
        case ShutdownDrain::Step::stopping:
            log_event(spdlog::level::info, std::string(name) + " received: stopping",
                      {{"signal", name}});
            return;
        case ShutdownDrain::Step::stopped:
            return;
        }
    };
    std::optional<ShutdownSignals> signals;
    signals.emplace([&](int signo) {
        const std::lock_guard lock(live_mutex);
        ServeRuntime* runtime = live;
        if (signo == SIGHUP) {
            log_event(spdlog::level::info, "SIGHUP received: reloading " + settings->config_path,
                      {{"signal", "SIGHUP"}, {"path", settings->config_path}});
            if (runtime != nullptr)
                runtime->request_reload("sighup");
            return;
        }
        if (signo == SIGUSR1) {
            log_event(spdlog::level::info, "SIGUSR1 received: reopening the audit log",
                      {{"signal", "SIGUSR1"}});
            if (runtime != nullptr)
                runtime->reopen_audit();
            return;
        }
        const char* name = signo == SIGINT ? "SIGINT" : "SIGTERM";
        if (runtime == nullptr) {
            log_event(spdlog::level::info, std::string(name) + " received while starting",
                      {{"signal", name}});
            ++early_stops;
            return;
        }
        shut_down(*runtime, name);
    });

    ServeRuntime runtime(std::move(options));
    Diagnostics diagnostics;
    std::string error;
    if (!runtime.start(diagnostics, error)) {
        print_diagnostics(settings->config_path, diagnostics);
        if (!error.empty())
            return operation_failed(std::cerr, "serve", error);
        return operation_failed(std::cerr, "serve",
                                settings->config_path + ": invalid key file, not serving");
    }
    for (const Diagnostic& d : diagnostics.items) {
        log_event(spdlog::level::warn, format_diagnostic(settings->config_path, d),
                  {{"path", settings->config_path},
                   {"line", d.line},
                   {"column", d.column},
                   {"severity", to_string(d.severity)},
                   {"detail", d.message}});
    }
    {
        const std::lock_guard lock(live_mutex);
        live = &runtime;
        for (int i = 0; i < std::min(early_stops, 2); ++i)
            shut_down(runtime, "SIGTERM");
    }

    ListenAddress bound = settings->listen;
    if (!bound.unix_path)
        bound.port = runtime.port();
    log_event(spdlog::level::info, "listening on " + bound.to_string(),
              {{"listen", bound.to_string()},
               {"path", settings->config_path},
               {"keys", runtime.keys().snapshot()->keys().size()},
               {"generation", runtime.keys().generation()}});
    if (settings->admin_listen) {
        ListenAddress admin = *settings->admin_listen;
        if (!admin.unix_path)
            admin.port = runtime.admin_port();
        log_event(spdlog::level::info,
                  "serving /metrics and the admin API on " + admin.to_string() + " (no longer on " +
                      bound.to_string() + ")",
                  {{"listen", admin.to_string()}, {"role", "admin"}});
    }
    if (settings->grpc_listen) {
        ListenAddress grpc = *settings->grpc_listen;
        if (!grpc.unix_path)
            grpc.port = runtime.grpc_port();
        log_event(spdlog::level::info,
                  "serving gRPC ext_authz (envoy.service.auth.v3.Authorization) on " +
                      grpc.to_string(),
                  {{"listen", grpc.to_string()}, {"protocol", "grpc"}});
    }
    const bool ok = runtime.run();
    {
        const std::lock_guard lock(live_mutex);
        live = nullptr;
    }
    // Join the signal thread before `runtime` is destroyed: it may still be inside
    // runtime.stop() (which made run() return) or about to call into it.
    signals.reset();
    if (!ok) {
        log_event(spdlog::level::err, "accepting connections failed; exiting",
                  {{"listen", bound.to_string()}});
        return k_exit_failed;
    }
    log_event(spdlog::level::info, "stopped", {{"listen", bound.to_string()}});
    return k_exit_ok;
}

} // namespace keygate::cli
