// Counting and the Prometheus text page.
#include "infra/metrics.hpp"

#include "core/key_expiry.hpp"
#include "core/key_state.hpp"
#include "infra/build_info.hpp"

#include <charconv>

namespace keygate {
namespace {

constexpr std::array<DecisionCode, k_decision_codes> k_codes{DecisionCode::ok,
                                                             DecisionCode::invalid_request,
                                                             DecisionCode::missing_key,
                                                             DecisionCode::invalid_key,
                                                             DecisionCode::key_disabled,
                                                             DecisionCode::key_expired,
                                                             DecisionCode::ip_not_allowed,
                                                             DecisionCode::insufficient_permission,
                                                             DecisionCode::dataset_forbidden,
                                                             DecisionCode::rate_limited};

/// The shortest text that reads back as `v` exactly: a timestamp keeps every second
/// (printf's %g would round 1735689601 to 1.7356896e+09).
std::string number(double v) {
    char buf[64];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc{} ? std::string(buf, end) : std::string("NaN");
}

/// A label value with `\`, `"` and newlines escaped, as the text format wants.
std::string label_value(std::string_view text) {
    std::string out;
    for (const char c : text) {
        if (c == '\\' || c == '"')
            out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

void sample(std::string& out, const std::string& name_and_labels, std::uint64_t value) {
    out += name_and_labels;
    out += ' ';
    out += std::to_string(value);
    out += '\n';
}

} // namespace

const char* to_label(DecisionEndpoint endpoint) {
    switch (endpoint) {
    case DecisionEndpoint::auth:
        return "/auth";
    case DecisionEndpoint::auth_nginx:
        return "/auth/nginx";
    case DecisionEndpoint::auth_envoy:
        return "/auth/envoy";
    case DecisionEndpoint::authorize:
        return "/v1/authorize";
    case DecisionEndpoint::auth_forward:
        return "/auth/forward";
    case DecisionEndpoint::grpc:
        return "grpc";
    }
    return "unknown";
}

const char* to_label(AuditEventKind kind) {
    switch (kind) {
    case AuditEventKind::auth:
        return "auth";
    case AuditEventKind::access:
        return "access";
    case AuditEventKind::alert:
        return "alert";
    case AuditEventKind::config:
        return "config";
    }
    return "unknown";
}

const char* to_label(AlertType type) {
    switch (type) {
    case AlertType::failed_auth_burst:
        return "failed_auth_burst";
    case AlertType::new_ip:
        return "new_ip";
    case AlertType::volume_spike:
        return "volume_spike";
    case AlertType::unusual_dataset:
        return "unusual_dataset";
    case AlertType::key_expiring:
        return "key_expiring";
    case AlertType::rotated_secret_used:
        return "rotated_secret_used";
    }
    return "unknown";
}

void Metrics::observe_decision(DecisionEndpoint endpoint, DecisionCode code,
                               std::chrono::nanoseconds latency) {
    requests_[static_cast<std::size_t>(endpoint)][static_cast<std::size_t>(code)].fetch_add(
        1, std::memory_order_relaxed);
    if (code == DecisionCode::rate_limited)
        count_rate_limited();
    const double seconds = static_cast<double>(latency.count()) / 1e9;
    for (std::size_t i = 0; i < k_buckets.size(); ++i) {
        if (seconds <= k_buckets[i]) {
            bucket_counts_[i].fetch_add(1, std::memory_order_relaxed);
            break; // cumulative counts are summed at render time
        }
    }
    latency_count_.fetch_add(1, std::memory_order_relaxed);
    latency_sum_ns_.fetch_add(static_cast<std::uint64_t>(latency.count()),
                              std::memory_order_relaxed);
}

void Metrics::count_audit_event(AuditEventKind kind) {
    audit_events_[static_cast<std::size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::count_rate_limited() {
    rate_limited_.fetch_add(1, std::memory_order_relaxed);
}

void Metrics::count_alert(AlertType type) {
    alerts_[static_cast<std::size_t>(type)].fetch_add(1, std::memory_order_relaxed);
}

KeyStateCounts count_key_states(const KeyStore& store, TimePoint now) {
    KeyStateCounts counts;
    for (const auto& key : store.keys()) {
        const KeyEntry& e = key.entry;
        switch (key_state(e, now)) {
        case KeyState::active:
            ++counts.active;
            break;
        case KeyState::disabled:
            ++counts.disabled;
            break;
        case KeyState::expired:
            ++counts.expired;
            break;
        case KeyState::pending:
            ++counts.pending;
            break;
        }
        for (const auto& previous : e.previous_keys) {
            if (e.enabled && now < previous.expires_at)
                ++counts.grace;
        }
    }
    for (const auto& window : store.grace_secrets()) {
        if (now < window.until)
            ++counts.grace;
    }
    return counts;
}

std::array<std::uint64_t, k_expiring_windows.size()> count_expiring_keys(const KeyStore& store,
                                                                         TimePoint now) {
    std::array<std::uint64_t, k_expiring_windows.size()> counts{};
    for (const auto& key : store.keys()) {
        for (std::size_t w = 0; w < k_expiring_windows.size(); ++w) {
            if (expires_within(key.entry, now, k_expiring_windows[w]))
                ++counts[w];
        }
    }
    return counts;
}

std::string Metrics::render(const Scrape& scrape) const {
    std::string out;
    out.reserve(8192);
    header(out, "keygate_requests_total", "counter",
           "Decisions made, by endpoint, decision and code.");
    for (std::size_t e = 0; e < k_decision_endpoints; ++e) {
        for (std::size_t c = 0; c < k_decision_codes; ++c) {
            const DecisionCode code = k_codes[c];
            const std::string labels = std::string("keygate_requests_total{endpoint=\"") +
                                       to_label(static_cast<DecisionEndpoint>(e)) +
                                       "\",decision=\"" +
                                       (code == DecisionCode::ok ? "allow" : "deny") +
                                       "\",code=\"" + code_name(code) + "\"}";
            sample(out, labels,
                   requests_[e][static_cast<std::size_t>(code)].load(std::memory_order_relaxed));
        }
    }
    header(out, "keygate_request_duration_seconds", "histogram",
           "Time from request to decision, in seconds.");
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < k_buckets.size(); ++i) {
        cumulative += bucket_counts_[i].load(std::memory_order_relaxed);
        sample(out, "keygate_request_duration_seconds_bucket{le=\"" + number(k_buckets[i]) + "\"}",
               cumulative);
    }
    const auto count = latency_count_.load(std::memory_order_relaxed);
    sample(out, "keygate_request_duration_seconds_bucket{le=\"+Inf\"}", count);
    out += "keygate_request_duration_seconds_sum " +
           number(static_cast<double>(latency_sum_ns_.load(std::memory_order_relaxed)) / 1e9) +
           "\n";
    sample(out, "keygate_request_duration_seconds_count", count);

    header(out, "keygate_keys", "gauge", "Keys in the live snapshot, by state.");
    const KeyStateCounts keys =
        scrape.store ? count_key_states(*scrape.store, scrape.now) : KeyStateCounts{};
    sample(out, "keygate_keys{state=\"active\"}", keys.active);
    sample(out, "keygate_keys{state=\"disabled\"}", keys.disabled);
    sample(out, "keygate_keys{state=\"expired\"}", keys.expired);
    sample(out, "keygate_keys{state=\"pending\"}", keys.pending);
    sample(out, "keygate_keys{state=\"grace\"}", keys.grace);
    header(out, "keygate_keys_expiring", "gauge",
           "Keys enabled and not yet expired whose expires_at falls within the window.");
    const auto expiring = scrape.store ? count_expiring_keys(*scrape.store, scrape.now)
                                       : std::array<std::uint64_t, k_expiring_windows.size()>{};
    for (std::size_t w = 0; w < k_expiring_windows.size(); ++w) {
        sample(out,
               "keygate_keys_expiring{window=\"" + format_duration(k_expiring_windows[w]) + "\"}",
               expiring[w]);
    }

    header(out, "keygate_config_last_reload_successful", "gauge",
           "1 when the last reload attempt succeeded (or nothing failed since start).");
    sample(out, "keygate_config_last_reload_successful",
           scrape.config.last_reload_successful ? 1 : 0);
    header(out, "keygate_config_last_reload_success_timestamp_seconds", "gauge",
           "Unix time of the last successful load.");
    out += "keygate_config_last_reload_success_timestamp_seconds " +
           number(scrape.config.last_success_at
                      ? static_cast<double>(
                            scrape.config.last_success_at->time_since_epoch().count()) /
                            1000.0
                      : 0.0) +
           "\n";
    header(out, "keygate_config_reloads_total", "counter",
           "Reload attempts that changed something, by result.");
    sample(out, "keygate_config_reloads_total{result=\"success\"}", scrape.config.reloads_success);
    sample(out, "keygate_config_reloads_total{result=\"failure\"}", scrape.config.reloads_failure);
    header(out, "keygate_config_generation", "gauge",
           "Successful swaps of the key set since start.");
    sample(out, "keygate_config_generation", scrape.config.generation);

    header(out, "keygate_audit_events_total", "counter", "Audit events written, by event.");
    for (std::size_t k = 0; k < k_audit_event_kinds; ++k) {
        sample(out,
               std::string("keygate_audit_events_total{event=\"") +
                   to_label(static_cast<AuditEventKind>(k)) + "\"}",
               audit_events_[k].load(std::memory_order_relaxed));
    }
    header(out, "keygate_audit_write_failures_total", "counter",
           "Audit lines lost to write errors or drops.");
    sample(out, "keygate_audit_write_failures_total", scrape.audit_write_failures);
    header(out, "keygate_audit_queue_depth", "gauge",
           "Audit lines queued or being written, not yet written.");
    sample(out, "keygate_audit_queue_depth", scrape.audit_queue_depth);
    header(out, "keygate_audit_blocked_seconds_total", "counter",
           "Seconds the audit writer spent blocked on its destination (an episode in progress "
           "included).");
    out += "keygate_audit_blocked_seconds_total " + number(scrape.audit_blocked_seconds) + "\n";
    header(out, "keygate_connections", "gauge", "Client connections open now.");
    sample(out, "keygate_connections", scrape.connections);
    header(out, "keygate_accept_errors_total", "counter",
           "accept() failures: out of descriptors (EMFILE, ENFILE) or memory.");
    sample(out, "keygate_accept_errors_total", scrape.accept_errors);
    header(out, "keygate_connection_timeouts_total", "counter",
           "Connections closed because a request head or body, or a response, took too long.");
    sample(out, "keygate_connection_timeouts_total", scrape.connection_timeouts);
    header(out, "keygate_requests_refused_total", "counter",
           "Requests refused before any endpoint read them (malformed or oversized heads, "
           "bodies over the limit).");
    sample(out, "keygate_requests_refused_total", scrape.refused_requests);
    header(out, "keygate_rate_limited_total", "counter", "Requests refused by a rate limit.");
    sample(out, "keygate_rate_limited_total", rate_limited_.load(std::memory_order_relaxed));
    header(out, "keygate_alerts_total", "counter", "Suspicious-activity alerts, by type.");
    for (std::size_t t = 0; t < k_alert_types; ++t) {
        sample(out,
               std::string("keygate_alerts_total{type=\"") + to_label(static_cast<AlertType>(t)) +
                   "\"}",
               alerts_[t].load(std::memory_order_relaxed));
    }
    header(out, "keygate_build_info", "gauge",
           "Always 1; the labels say which build this is (commit: git at configure time).");
    sample(out,
           "keygate_build_info{version=\"" + label_value(build_version()) + "\",commit=\"" +
               label_value(build_commit()) + "\"}",
           1);
    if (const auto& process = scrape.process) {
        header(out, "process_cpu_seconds_total", "counter",
               "User and system CPU time, in seconds.");
        out += "process_cpu_seconds_total " + number(process->cpu_seconds) + "\n";
        header(out, "process_resident_memory_bytes", "gauge", "Resident memory, in bytes.");
        sample(out, "process_resident_memory_bytes", process->resident_bytes);
        header(out, "process_open_fds", "gauge", "Open file descriptors.");
        sample(out, "process_open_fds", process->open_fds);
        if (process->max_fds > 0) {
            header(out, "process_max_fds", "gauge", "The limit of open file descriptors.");
            sample(out, "process_max_fds", process->max_fds);
        }
        header(out, "process_start_time_seconds", "gauge",
               "Start time of the process, in seconds since the Unix epoch.");
        out += "process_start_time_seconds " + number(process->start_time_seconds) + "\n";
    }
    return out;
}

} // namespace keygate
