#pragma once
// What the operational endpoints (/metrics, GET /v1/status, POST /v1/reload, GET
// /v1/keys/{id}/usage, GET /v1/report) need from the
// running process, as callbacks so that the HTTP layer stays free of reload machinery.
#include "core/key_store.hpp"
#include "infra/key_report.hpp"
#include "infra/metrics.hpp"

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace keygate {

/// Callbacks of the operational endpoints. Each must be thread-safe; an unset one makes its
/// endpoint answer 404.
struct OperationsHooks {
    Metrics* metrics = nullptr;                               ///< counts every decision
    std::function<std::string()> metrics_text;                ///< GET /metrics
    std::function<nlohmann::ordered_json()> status;           ///< GET /v1/status
    std::function<nlohmann::ordered_json()> reload;           ///< POST /v1/reload
    std::function<void(nlohmann::ordered_json)> access_event; ///< POST /v1/audit, per event
    /// GET /v1/keys/{id}/usage: the usage JSON of a key of the current snapshot.
    std::function<nlohmann::ordered_json(const ResolvedKey&)> key_usage;
    /// GET /v1/report: key_report_json() of the current snapshot and usage, for the windows.
    std::function<nlohmann::ordered_json(const ReportWindows&)> report;
    /// GET /readyz: true once shutdown began (CONTRACT §10); /readyz then answers 503
    /// {"status":"draining"} while requests are still served. Unset: never draining.
    std::function<bool()> draining;
    /// GET /readyz answers 503 while this says the audit log is blocked (decisions wait for
    /// it). Unset: never blocked.
    std::function<bool()> audit_blocked;
    /// True while the audit queue may make a writer wait: the log is blocked, or its queue
    /// is more than half full. Decisions are then answered on the listener's waiting pool.
    /// Unset: never.
    std::function<bool()> audit_backlogged;
};

/// Whether the hooks report a blocked audit log (false without hooks or callback).
inline bool audit_blocked(const OperationsHooks* hooks) {
    return hooks != nullptr && hooks->audit_blocked && hooks->audit_blocked();
}

/// Whether the hooks report an audit queue that may make a writer wait.
inline bool audit_backlogged(const OperationsHooks* hooks) {
    return hooks != nullptr && hooks->audit_backlogged && hooks->audit_backlogged();
}

} // namespace keygate
