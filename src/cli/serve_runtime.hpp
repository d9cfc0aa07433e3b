#pragma once
// Everything `keygate serve` runs, wired together: the key set and its reloader, the file
// watcher, the audit log, usage and rate limits, alerts, metrics and the HTTP server. The
// integration tests run the same object in-process.
#include "core/diagnostics.hpp"
#include "infra/alert_detector.hpp"
#include "infra/audit_log.hpp"
#include "infra/audit_writer.hpp"
#include "infra/config_reloader.hpp"
#include "infra/expiry_alerts.hpp"
#include "infra/file_watcher.hpp"
#include "infra/key_set_holder.hpp"
#include "infra/metrics.hpp"
#include "infra/serve_settings.hpp"
#include "infra/shutdown_drain.hpp"
#include "infra/state_store.hpp"
#include "infra/usage_tracker.hpp"
#include "server/admission_control.hpp"
#include "server/keygate_server.hpp"
#if KEYGATE_WITH_GRPC
#include "grpc/grpc_server.hpp"
#endif

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace keygate::cli {

/// How long after the shutdown delay a blocked audit destination is waited for before it
/// is given up (its lines counted as write failures): the rest of CONTRACT §10's 10 s is
/// left to the connections and the exit.
inline constexpr std::chrono::milliseconds k_audit_shutdown_grace{7'000};

/// How a runtime is set up.
struct RuntimeOptions {
    KeySetSources sources;
    std::string listen_host = "127.0.0.1";
    int listen_port = 8090;
    /// Set: listen on this Unix socket instead of listen_host:listen_port.
    std::optional<std::string> listen_unix;
    /// Set: serve /metrics and the admin API (with /healthz and /readyz) there, and no
    /// longer on the main listener (KEYGATE_ADMIN_LISTEN; port 0: any free port).
    std::optional<ListenAddress> admin_listen;
    /// Set: also serve Envoy's gRPC ext_authz and grpc.health.v1 there ("host:port",
    /// "[v6]:port" or "unix:/path"; KEYGATE_GRPC_LISTEN).
    std::optional<std::string> grpc_listen;
    /// How long the gRPC calls in flight may take to finish once serving stops.
    std::chrono::milliseconds grpc_drain{5000};
    std::string audit_destination = "stdout"; ///< KEYGATE_AUDIT_LOG
    std::optional<std::string> state_dir;     ///< KEYGATE_STATE_DIR
    /// KEYGATE_SHUTDOWN_DELAY: how long shut_down() keeps serving, not ready, before stop().
    std::chrono::milliseconds shutdown_delay{0};
    ServerOptions server;
    std::chrono::milliseconds watch_debounce{150};
    std::optional<std::chrono::milliseconds> reload_interval; ///< else settings.reload_interval
    std::function<TimePoint()> clock = now_ms;
};

/// Owns the running parts. start() then run() on one thread; stop(), reload() and
/// reopen_audit() from any thread.
class ServeRuntime {
  public:
    explicit ServeRuntime(RuntimeOptions options);
    ~ServeRuntime();
    ServeRuntime(const ServeRuntime&) = delete;
    ServeRuntime& operator=(const ServeRuntime&) = delete;

    /// Opens the audit log, loads the key file (restoring state), binds the listener and
    /// starts the watcher. On failure returns false with the diagnostics and/or `error`.
    bool start(Diagnostics& diagnostics, std::string& error);

    /// The bound port (after start; 0 on a Unix socket).
    int port() const { return port_; }
    /// The bound admin port (after start; 0 on a Unix socket or without an admin listener).
    int admin_port() const { return admin_port_; }
    /// The bound gRPC port (after start; 0 on a Unix socket or without gRPC).
    int grpc_port() const { return grpc_port_; }

    /// Serves until stop() (the admin listener, when there is one, on a thread of its own);
    /// then drains the gRPC calls in flight, stops the watcher, saves state and drains the
    /// audit log. False when accepting failed on either listener (the other is stopped).
    bool run();

    /// Stops accepting on every listener; run() returns once requests in flight are done.
    /// Thread-safe.
    void stop();

    /// A shutdown signal (CONTRACT §10): the first makes /readyz answer 503 at once and
    /// calls stop() after the shutdown delay (at once for a zero delay); one during the delay
    /// calls stop() now. Thread-safe, after start() returned true. An audit destination
    /// that still blocks k_audit_shutdown_grace after the delay is given up, so that the
    /// process exits within the delay + 10 s (AuditWriter::abandon_after).
    ShutdownDrain::Step shut_down();

    /// True once shut_down() was called.
    bool draining() const { return drain_.draining(); }

    /// Re-reads the key file now, on the caller's thread. Thread-safe.
    ReloadOutcome reload(std::string_view trigger);

    /// Asks the watcher's thread for a reload named `trigger` (SIGHUP) and returns at once:
    /// the signal thread must never wait for a reload, or a SIGTERM would wait with it.
    void request_reload(std::string_view trigger);

    /// Reopens the audit log file (SIGUSR1, after logrotate). Thread-safe.
    void reopen_audit();

    /// The live key set.
    KeySetHolder& keys() { return keys_; }
    /// The reloader (status, metrics).
    ConfigReloader& reloader() { return *reloader_; }
    /// The process's metrics.
    Metrics& metrics() { return metrics_; }

  private:
    /// Binds `server` to `address`; the bound TCP port in `port` (0 on a Unix socket).
    static bool bind_server(KeygateServer& server, const ListenAddress& address, int& port,
                            std::string& error);
    /// Starts the gRPC server on options_.grpc_listen; false (with `error`) when it cannot.
    bool start_grpc(std::string& error);
    void on_watch(WatchTrigger trigger);
    /// One reload attempt; a transient read error schedules the watcher's retry.
    ReloadOutcome reload_and_schedule(std::string_view trigger, bool whole = false);
    nlohmann::ordered_json status_json() const;
    void save_state();
    /// Writes a key_expiring alert for each key newly within its last 7 days.
    void alert_expiring_keys();

    RuntimeOptions options_;
    KeySetHolder keys_;
    Metrics metrics_;
    UsageTracker usage_;
    UsageTrackerAdmission admission_{usage_};
    std::unique_ptr<AuditWriter> writer_;
    std::unique_ptr<AlertDetector> alerts_;
    ExpiryAlerts expiry_alerts_;
    std::unique_ptr<AuditLog> audit_;
    std::unique_ptr<ConfigReloader> reloader_;
    std::unique_ptr<FileWatcher> watcher_;
    std::unique_ptr<StateStore> state_;
    std::mutex requested_mutex_;
    std::string requested_trigger_; ///< of request_reload(), taken by the next watcher check
    OperationsHooks operations_;
    // Before server_: the endpoints ask it (draining) until server_ is gone. The destructor
    // finishes its delay first, while the server it stops still exists.
    ShutdownDrain drain_;
    std::unique_ptr<KeygateServer> server_;
    /// The admin listener (KEYGATE_ADMIN_LISTEN), sharing server_'s key set, audit log,
    /// metrics and hooks; null without one. run() runs it on a thread of its own.
    std::unique_ptr<KeygateServer> admin_server_;
#if KEYGATE_WITH_GRPC
    // After server_: destroyed first, as it decides through server_'s endpoints.
    std::unique_ptr<GrpcServer> grpc_;
#endif
    int port_ = 0;
    int admin_port_ = 0;
    int grpc_port_ = 0;
};

} // namespace keygate::cli
