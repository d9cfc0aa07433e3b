// Wiring of the serve runtime.
#include "cli/serve_runtime.hpp"

#include "cli/grpc_support.hpp"
#include "infra/logging.hpp"
#include "infra/usage_json.hpp"

#include <spdlog/spdlog.h>

namespace keygate::cli {

ServeRuntime::ServeRuntime(RuntimeOptions options)
    : options_(std::move(options)), drain_(options_.shutdown_delay, [this] { stop(); }) {}

ServeRuntime::~ServeRuntime() {
    drain_.finish(); // joins its timer thread, which may be calling stop()
    if (reloader_)
        reloader_->cancel();
#if KEYGATE_WITH_GRPC
    // Before the audit writer stops: a Check in flight still writes its audit line.
    if (grpc_)
        grpc_->shutdown(std::chrono::milliseconds(0));
#endif
    if (watcher_)
        watcher_->stop();
    if (writer_)
        writer_->stop();
}

bool ServeRuntime::start(Diagnostics& diagnostics, std::string& error) {
    writer_ = std::make_unique<AuditWriter>(
        AuditWriterOptions{options_.audit_destination, 65'536, AuditOverflow::block},
        [destination = options_.audit_destination](AuditReportLevel level,
                                                   const std::string& message) {
            const LogField fields[] = {{"audit_log", destination}};
            switch (level) {
            case AuditReportLevel::info:
                log_event(spdlog::level::info, message, fields);
                break;
            case AuditReportLevel::warning:
                log_event(spdlog::level::warn, message, fields);
                break;
            case AuditReportLevel::error:
                log_event(spdlog::level::err, message, fields);
                break;
            }
        });
    if (!writer_->start(error))
        return false;
    alerts_ = std::make_unique<AlertDetector>(AlertSettings{});
    audit_ = std::make_unique<AuditLog>(*writer_, metrics_, *alerts_);

    ConfigReloader::Hooks hooks;
    hooks.log = [](spdlog::level::level_enum level, const std::string& message,
                   const std::vector<LogField>& fields) { log_event(level, message, fields); };
    hooks.config_event = [this](nlohmann::ordered_json event) {
        audit_->write_event(AuditEventKind::config, std::move(event));
    };
    hooks.swapped = [this](const KeyStore& store) {
        usage_.retain(store);
        alerts_->update_settings(store.config().settings.alerts);
        if (state_)
            save_state();
        // The holder has published `store`: its generation is the current one.
        for (const Alert& alert : expiry_alerts_.scan(store, keys_.generation(), options_.clock()))
            audit_->write_alert(alert);
    };
    ReloadTiming timing;
    timing.retry_max = options_.reload_interval.value_or(std::chrono::milliseconds{30'000});
    if (timing.retry_max.count() <= 0)
        timing.retry_max = std::chrono::milliseconds{30'000};
    reloader_ =
        std::make_unique<ConfigReloader>(options_.sources, keys_, options_.clock, hooks, timing);

    PersistentState restored;
    if (options_.state_dir) {
        state_ = std::make_unique<StateStore>(*options_.state_dir);
        std::string state_error;
        if (!state_->load(restored, state_error)) {
            log_event(spdlog::level::warn, state_error,
                      {{"state_dir", *options_.state_dir}, {"error", state_error}});
        }
        usage_.restore(restored.usage);
    }
    KeySetLoad load = reloader_->load_initial(restored.grace);
    diagnostics = std::move(load.diagnostics);
    if (!load.ok())
        return false;

    operations_.metrics = &metrics_;
    operations_.metrics_text = [this] {
        Metrics::Scrape scrape;
        const auto store = keys_.snapshot();
        scrape.store = store.get();
        scrape.now = options_.clock();
        scrape.config = reloader_->status().metrics;
        scrape.audit_write_failures = writer_->stats().write_failures.load();
        const AuditWriterHealth audit = writer_->health();
        scrape.audit_queue_depth = audit.queue_depth;
        scrape.audit_blocked_seconds = audit.blocked_seconds;
        // Both listeners' connections are counted together, as they were when every
        // endpoint had one listener (no label per listener).
        for (const KeygateServer* server : {server_.get(), admin_server_.get()}) {
            if (server == nullptr)
                continue;
            const http::ListenerCounters listener = server->listener().counters();
            scrape.connections += listener.connections;
            scrape.accept_errors += listener.accept_errors;
            scrape.connection_timeouts += listener.timed_out;
            scrape.refused_requests += listener.refused;
        }
        scrape.process = read_process_stats();
        return metrics_.render(scrape);
    };
    operations_.status = [this] { return status_json(); };
    operations_.audit_blocked = [this] { return writer_->blocked(); };
    operations_.audit_backlogged = [this] { return writer_->backlogged(); };
    operations_.draining = [this] { return drain_.draining(); };
    operations_.access_event = [this](nlohmann::ordered_json event) {
        audit_->write_event(AuditEventKind::access, std::move(event));
    };
    operations_.key_usage = [this](const ResolvedKey& key) {
        return usage_json(usage_.usage(key, options_.clock()));
    };
    operations_.report = [this](const ReportWindows& windows) {
        const auto store = keys_.snapshot();
        const std::vector<UsageTracker::Totals> totals = usage_.totals();
        return key_report_json(build_key_report(*store, &totals, options_.clock(), windows));
    };
    operations_.reload = [this] {
        const ReloadOutcome outcome = reload_and_schedule("api");
        nlohmann::ordered_json out{{"result", to_string(outcome)}};
        out.update(status_json());
        return out;
    };
    const HttpApiDeps deps{keys_, *audit_, &admission_, options_.clock, &operations_};
    ServerOptions main_options = options_.server;
    main_options.role = options_.admin_listen ? ListenerRole::main : ListenerRole::all;
    server_ = std::make_unique<KeygateServer>(main_options, deps);
    ListenAddress main_address;
    main_address.host = options_.listen_host;
    main_address.port = options_.listen_port;
    main_address.unix_path = options_.listen_unix;
    if (!bind_server(*server_, main_address, port_, error))
        return false;
    if (options_.admin_listen) {
        ServerOptions admin_options = options_.server;
        admin_options.role = ListenerRole::admin;
        admin_server_ = std::make_unique<KeygateServer>(admin_options, deps);
        if (!bind_server(*admin_server_, *options_.admin_listen, admin_port_, error)) {
            error = "admin listener: " + error;
            return false;
        }
    }
    if (options_.grpc_listen && !start_grpc(error))
        return false;

    FileWatcher::Options watch;
    watch.debounce = options_.watch_debounce;
    watch.period =
        options_.reload_interval.value_or(std::chrono::duration_cast<std::chrono::milliseconds>(
            keys_.snapshot()->config().settings.reload_interval));
    watcher_ = std::make_unique<FileWatcher>(options_.sources.config_path, watch,
                                             [this](WatchTrigger t) { on_watch(t); });
    if (!watcher_->start()) {
        log_event(spdlog::level::warn,
                  "inotify is unavailable: the key file is checked every " +
                      format_duration(watch.period) + " only",
                  {{"path", options_.sources.config_path},
                   {"period_ms", static_cast<std::int64_t>(watch.period.count())}});
    }
    // The watcher was armed only after the initial load: a file replaced while that load ran
    // (seconds, for a large file) raised no event. One check now; an unchanged digest costs
    // a read and a hash, nothing more.
    watcher_->poke();
    return true;
}

ReloadOutcome ServeRuntime::reload_and_schedule(std::string_view trigger, bool whole) {
    const ReloadOutcome outcome = reloader_->reload(trigger, whole);
    if (const auto retry = reloader_->take_retry(); retry && watcher_)
        watcher_->retry_in(*retry);
    return outcome;
}

void ServeRuntime::request_reload(std::string_view trigger) {
    {
        std::lock_guard lock(requested_mutex_);
        requested_trigger_ = std::string(trigger);
    }
    if (watcher_)
        watcher_->poke();
}

bool ServeRuntime::bind_server(KeygateServer& server, const ListenAddress& address, int& port,
                               std::string& error) {
    if (address.unix_path) {
        const auto bound = server.bind_unix(*address.unix_path);
        if (!bound) {
            error = bound.error().message;
            return false;
        }
        port = 0;
        return true;
    }
    const auto bound = server.bind(address.host, address.port);
    if (!bound) {
        error = bound.error().message;
        return false;
    }
    port = *bound;
    return true;
}

bool ServeRuntime::start_grpc(std::string& error) {
#if KEYGATE_WITH_GRPC
    // SERVING once a key set is loaded (it is: start() got here), NOT_SERVING from the
    // first shutdown signal on, like /readyz.
    grpc_ = std::make_unique<GrpcServer>(server_->api(), [this] {
        return keys_.ready() && !drain_.draining() && !writer_->blocked();
    });
    const auto port = grpc_->start(*options_.grpc_listen);
    if (!port) {
        error = port.error().message;
        return false;
    }
    grpc_port_ = *port;
    return true;
#else
    error = k_grpc_not_built_in;
    return false;
#endif
}

void ServeRuntime::on_watch(WatchTrigger trigger) {
    std::string requested;
    {
        std::lock_guard lock(requested_mutex_);
        requested.swap(requested_trigger_);
    }
    reload_and_schedule(requested.empty() ? std::string_view(to_string(trigger)) : requested,
                        requested.empty() && trigger == WatchTrigger::replaced);
    if (trigger == WatchTrigger::periodic) {
        reloader_->report_ended_grace();
        alert_expiring_keys();
        if (state_)
            save_state();
    }
}

nlohmann::ordered_json ServeRuntime::status_json() const {
    using json = nlohmann::ordered_json;
    const ReloadStatus s = reloader_->status();
    const auto store = keys_.snapshot();
    return json{
        {"config_path", s.config_path},
        {"sha256", s.sha256},
        {"generation", s.metrics.generation},
        {"loaded_at", s.loaded_at ? json(format_timestamp(*s.loaded_at)) : json(nullptr)},
        {"keys", store ? store->keys().size() : 0},
        {"last_reload",
         {{"result", s.last_result},
          {"trigger", s.last_trigger},
          {"at", s.last_attempt_at ? json(format_timestamp(*s.last_attempt_at)) : json(nullptr)},
          {"errors", s.last_errors}}},
        {"reloads",
         {{"success", s.metrics.reloads_success}, {"failure", s.metrics.reloads_failure}}}};
}

ReloadOutcome ServeRuntime::reload(std::string_view trigger) {
    return reload_and_schedule(trigger);
}

void ServeRuntime::alert_expiring_keys() {
    if (const auto store = keys_.snapshot()) {
        for (const Alert& alert : expiry_alerts_.scan(*store, keys_.generation(), options_.clock()))
            audit_->write_alert(alert);
    }
}

void ServeRuntime::reopen_audit() {
    if (writer_)
        writer_->reopen();
}

void ServeRuntime::save_state() {
    PersistentState state;
    if (const auto store = keys_.snapshot())
        state.grace = store->grace_secrets();
    state.usage = usage_.totals();
    std::string error;
    if (!state_->save(state, error)) {
        log_event(spdlog::level::warn, error,
                  {{"state_dir", *options_.state_dir}, {"error", error}});
    }
}

bool ServeRuntime::run() {
    // Each listener has its own event loop: the admin one runs on a thread of its own. Either
    // failing to accept stops the other, so that the process exits rather than serve half.
    bool admin_ok = true;
    std::thread admin_thread;
    if (admin_server_) {
        admin_thread = std::thread([this, &admin_ok] {
            admin_ok = admin_server_->run();
            if (!admin_ok)
                server_->stop();
        });
    }
    bool ok = server_->run();
    if (admin_thread.joinable()) {
        admin_server_->stop();
        admin_thread.join();
        ok = ok && admin_ok;
    }
    // A reload still reading or building a large file stops at its next stage, unpublished.
    reloader_->cancel();
#if KEYGATE_WITH_GRPC
    if (grpc_)
        grpc_->shutdown(options_.grpc_drain);
#endif
    if (watcher_)
        watcher_->stop();
    if (state_)
        save_state();
    writer_->stop(); // drains every queued audit line
    return ok;
}

ShutdownDrain::Step ServeRuntime::shut_down() {
    const ShutdownDrain::Step step = drain_.request();
    // A signal during the delay stops now: the audit log then gets the grace from now.
    const auto delay = step == ShutdownDrain::Step::stopping ? std::chrono::milliseconds(0)
                                                             : options_.shutdown_delay;
    if (writer_)
        writer_->abandon_after(std::chrono::steady_clock::now() + delay + k_audit_shutdown_grace);
    return step;
}

void ServeRuntime::stop() {
    if (server_)
        server_->stop();
    if (admin_server_)
        admin_server_->stop();
}

} // namespace keygate::cli
