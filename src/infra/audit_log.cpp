// Building audit events.
#include "infra/audit_log.hpp"

#include "core/key_mask.hpp"
#include "infra/audit_line.hpp"
#include "infra/json_text.hpp"

#include <charconv>

namespace keygate {

nlohmann::ordered_json auth_event_json(const AuthDecisionEvent& event) {
    using json = nlohmann::ordered_json;
    const Decision& d = event.decision;
    const AuthRequest& r = event.request;
    const KeyEntry* entry = d.key != nullptr ? &d.key->entry : nullptr;
    json j{{"timestamp", format_timestamp(event.timestamp, true)},
           {"event", "auth"},
           {"decision", d.allowed() ? "allow" : "deny"},
           {"code", code_name(d.code)},
           {"api_key", r.key ? json(mask_key(*r.key)) : json(nullptr)},
           {"key_id", entry ? json(entry->id) : json(nullptr)},
           {"tenant", entry && entry->tenant ? json(*entry->tenant) : json(nullptr)},
           {"role", entry ? json(entry->role) : json(nullptr)},
           {"endpoint", std::string(event.endpoint)},
           {"method", r.method},
           {"dataset", d.dataset.empty() ? json(nullptr) : json(d.dataset)},
           {"ip_address", to_string(r.client_ip)},
           {"user_agent", std::string(event.user_agent)},
           {"status", event.status},
           {"latency_us", event.latency.count()},
           {"request_id",
            event.request_id.empty() ? json(nullptr) : json(std::string(event.request_id))}};
    if (!d.allowed())
        j["detail"] = detail_text(d);
    if (d.reason != InvalidKeyReason::none)
        j["reason"] = reason_name(d.reason);
    if (d.grace_until)
        j["grace_until"] = format_timestamp(*d.grace_until);
    if (!event.trace_id.empty())
        j["trace_id"] = std::string(event.trace_id);
    return j;
}

namespace {

/// Appends `"name":` (with the separator) to a line being written.
void append_name(std::string& line, std::string_view name) {
    line += line.empty() ? "{\"" : ",\"";
    line += name;
    line += "\":";
}

void append_text(std::string& line, std::string_view name, std::string_view value) {
    append_name(line, name);
    append_json_string(line, value);
}

void append_text_or_null(std::string& line, std::string_view name, const std::string* value) {
    append_name(line, name);
    if (value != nullptr) {
        append_json_string(line, *value);
    } else {
        line += "null";
    }
}

void append_integer(std::string& line, std::string_view name, long long value) {
    append_name(line, name);
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
    (void)ec; // 24 bytes always hold a long long
    line.append(digits, end);
}

} // namespace

std::string auth_event_line(const AuthDecisionEvent& event) {
    const Decision& d = event.decision;
    const AuthRequest& r = event.request;
    const KeyEntry* entry = d.key != nullptr ? &d.key->entry : nullptr;
    std::string line;
    line.reserve(512);
    append_text(line, "timestamp", format_timestamp(event.timestamp, true));
    append_text(line, "event", "auth");
    append_text(line, "decision", d.allowed() ? "allow" : "deny");
    append_text(line, "code", code_name(d.code));
    const std::string masked = r.key ? mask_key(*r.key) : std::string();
    append_text_or_null(line, "api_key", r.key ? &masked : nullptr);
    append_text_or_null(line, "key_id", entry != nullptr ? &entry->id : nullptr);
    append_text_or_null(line, "tenant",
                        entry != nullptr && entry->tenant ? &*entry->tenant : nullptr);
    append_text_or_null(line, "role", entry != nullptr ? &entry->role : nullptr);
    append_text(line, "endpoint", event.endpoint);
    append_text(line, "method", r.method);
    append_text_or_null(line, "dataset", d.dataset.empty() ? nullptr : &d.dataset);
    append_text(line, "ip_address", to_string(r.client_ip));
    append_text(line, "user_agent", event.user_agent);
    append_integer(line, "status", event.status);
    append_integer(line, "latency_us", static_cast<long long>(event.latency.count()));
    if (event.request_id.empty()) {
        append_name(line, "request_id");
        line += "null";
    } else {
        append_text(line, "request_id", event.request_id);
    }
    if (!d.allowed())
        append_text(line, "detail", detail_text(d));
    if (d.reason != InvalidKeyReason::none)
        append_text(line, "reason", reason_name(d.reason));
    if (d.grace_until)
        append_text(line, "grace_until", format_timestamp(*d.grace_until));
    if (!event.trace_id.empty())
        append_text(line, "trace_id", event.trace_id);
    line += '}';
    if (line.size() > k_max_audit_line)
        return to_audit_line(auth_event_json(event));
    return line;
}

nlohmann::ordered_json alert_event_json(const Alert& alert) {
    using json = nlohmann::ordered_json;
    json j{{"timestamp", format_timestamp(alert.timestamp, true)},
           {"event", "alert"},
           {"type", to_label(alert.type)},
           {"count", alert.count},
           {"window_s", std::chrono::duration_cast<std::chrono::seconds>(alert.window).count()},
           {"detail", alert.detail}};
    if (alert.ip_address)
        j["ip_address"] = *alert.ip_address;
    if (alert.key_id)
        j["key_id"] = *alert.key_id;
    if (alert.expires_at)
        j["expires_at"] = format_timestamp(*alert.expires_at);
    if (alert.grace_until)
        j["grace_until"] = format_timestamp(*alert.grace_until);
    return j;
}

AuditLog::AuditLog(AuditWriter& writer, Metrics& metrics, AlertDetector& alerts)
    : writer_(writer), metrics_(metrics), alerts_(alerts) {}

void AuditLog::record_decision(const AuthDecisionEvent& event) noexcept {
    try {
        writer_.write(auth_event_line(event));
        metrics_.count_audit_event(AuditEventKind::auth);
        AlertObservation o;
        o.now = event.timestamp;
        o.code = event.decision.code;
        o.key_id = event.decision.key != nullptr ? &event.decision.key->entry.id : nullptr;
        o.ip = event.request.client_ip;
        o.dataset = event.decision.dataset.empty() ? nullptr : &event.decision.dataset;
        o.rotated_secret = used_rotated_secret(event.decision);
        o.grace_until = event.decision.grace_until;
        for (const Alert& alert : alerts_.observe(o))
            write_alert(alert);
    } catch (...) {
        // Out of memory while formatting: nothing sensible is left to do but not crash.
    }
}

void AuditLog::write_event(AuditEventKind kind, nlohmann::ordered_json event) noexcept {
    try {
        if (!event.contains("timestamp")) {
            // the timestamp leads every line, as in the auth events
            nlohmann::ordered_json stamped{{"timestamp", format_timestamp(now_ms(), true)}};
            stamped.update(event);
            event = std::move(stamped);
        }
        writer_.write(to_audit_line(std::move(event)));
        metrics_.count_audit_event(kind);
    } catch (...) {
    }
}

void AuditLog::write_alert(const Alert& alert) noexcept {
    try {
        writer_.write(to_audit_line(alert_event_json(alert)));
        metrics_.count_audit_event(AuditEventKind::alert);
        metrics_.count_alert(alert.type);
    } catch (...) {
    }
}

} // namespace keygate
