#pragma once
// The audit log (CONTRACT §7): turns decisions, access events, alerts and config changes
// into JSON lines on the AuditWriter, and runs the suspicious-activity rules on decisions.
#include "infra/alert_detector.hpp"
#include "infra/audit_sink.hpp"
#include "infra/audit_writer.hpp"
#include "infra/metrics.hpp"

#include <nlohmann/json.hpp>

namespace keygate {

/// The AuditSink the server writes decisions to. Thread-safe.
class AuditLog final : public AuditSink {
  public:
    /// `writer`, `metrics` and `alerts` must outlive the log.
    AuditLog(AuditWriter& writer, Metrics& metrics, AlertDetector& alerts);

    /// Writes one `event: auth` line and any alerts the decision raises.
    void record_decision(const AuthDecisionEvent& event) noexcept override;

    /// Writes an event built elsewhere (`access` or `config`), adding the timestamp when it
    /// has none. `kind` selects the metric label.
    void write_event(AuditEventKind kind, nlohmann::ordered_json event) noexcept;

    /// Writes one `event: alert` line.
    void write_alert(const Alert& alert) noexcept;

  private:
    AuditWriter& writer_;
    Metrics& metrics_;
    AlertDetector& alerts_;
};

/// The `event: auth` object of a decision (exposed for tests).
nlohmann::ordered_json auth_event_json(const AuthDecisionEvent& event);

/// The `event: auth` audit line of a decision, written straight into one string (the request
/// path does this for every decision: no JSON tree). Same fields in the same order as
/// to_audit_line(auth_event_json(event)), and the same bytes for any valid UTF-8 without
/// control characters; for other input both are valid JSON with the same values up to how
/// a bad byte is escaped. A line longer than k_max_audit_line goes the tree way, which
/// truncates and marks it.
std::string auth_event_line(const AuthDecisionEvent& event);

/// The `event: alert` object of an alert (exposed for tests).
nlohmann::ordered_json alert_event_json(const Alert& alert);

} // namespace keygate
