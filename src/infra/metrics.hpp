#pragma once
// Prometheus metrics (CONTRACT §8): fixed label sets held in atomics, so that counting on the
// request path is a relaxed increment and label cardinality is bounded by construction.
#include "core/decision.hpp"
#include "core/key_store.hpp"
#include "core/time.hpp"
#include "infra/process_stats.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace keygate {

/// The endpoints that decide, as they appear in the `endpoint` label.
enum class DecisionEndpoint { auth, auth_nginx, auth_envoy, authorize, auth_forward, grpc };
inline constexpr std::size_t k_decision_endpoints = 6;
inline constexpr std::size_t k_decision_codes = 10;

/// Audit event kinds, as in the `event` label and field.
enum class AuditEventKind { auth, access, alert, config };
inline constexpr std::size_t k_audit_event_kinds = 4;

/// Alert types, as in the `type` label and field.
enum class AlertType {
    failed_auth_burst,
    new_ip,
    volume_spike,
    unusual_dataset,
    key_expiring,        ///< a key entered its last 7 days
    rotated_secret_used, ///< a rotated-out secret (previous_keys, grace) was used in its grace
};
inline constexpr std::size_t k_alert_types = 6;

/// "/auth", "/auth/nginx", "/auth/envoy", "/v1/authorize", "/auth/forward", "grpc" (Envoy's
/// gRPC Check).
const char* to_label(DecisionEndpoint endpoint);
/// "auth", "access", "alert", "config".
const char* to_label(AuditEventKind kind);
/// "failed_auth_burst", "new_ip", "volume_spike", "unusual_dataset", "key_expiring",
/// "rotated_secret_used".
const char* to_label(AlertType type);

/// The state of the configuration, as the reloader reports it.
struct ConfigMetrics {
    bool last_reload_successful = true;
    std::optional<TimePoint> last_success_at;
    std::uint64_t reloads_success = 0;
    std::uint64_t reloads_failure = 0;
    std::uint64_t generation = 0;
};

/// The process's counters. Every method is thread-safe and lock-free.
class Metrics {
  public:
    /// Counts one decision and its latency (a RATE_LIMITED one in keygate_rate_limited_total
    /// too).
    void observe_decision(DecisionEndpoint endpoint, DecisionCode code,
                          std::chrono::nanoseconds latency);
    /// Counts one audit event written (or queued) of a kind.
    void count_audit_event(AuditEventKind kind);
    /// Counts one rate-limited request (observe_decision does for decisions).
    void count_rate_limited();
    /// Counts one alert of a type.
    void count_alert(AlertType type);

    /// Inputs of a scrape that live elsewhere.
    struct Scrape {
        const KeyStore* store = nullptr; ///< for keygate_keys{state}
        TimePoint now{};
        ConfigMetrics config;
        std::uint64_t audit_write_failures = 0;
        std::uint64_t audit_queue_depth = 0;   ///< lines queued, not yet written
        double audit_blocked_seconds = 0.0;    ///< time the audit writer spent blocked
        std::uint64_t connections = 0;         ///< client connections open now
        std::uint64_t accept_errors = 0;       ///< accept() failures (EMFILE, ENFILE, ...)
        std::uint64_t connection_timeouts = 0; ///< connections closed for a read/write timeout
        std::uint64_t refused_requests = 0;    ///< requests refused before any handler (400/431...)
        /// process_* (read_process_stats()); unset: those metrics are left out.
        std::optional<ProcessStats> process;
    };
    /// The Prometheus text exposition (version 0.0.4) of every metric, with
    /// keygate_build_info{version,commit} and the process_* metrics of the client
    /// conventions.
    std::string render(const Scrape& scrape) const;

    /// Histogram bucket upper bounds, in seconds (microsecond-scale decisions).
    static constexpr std::array<double, 14> k_buckets{0.00001, 0.000025, 0.00005, 0.0001, 0.00025,
                                                      0.0005,  0.001,    0.0025,  0.005,  0.01,
                                                      0.025,   0.05,     0.1,     1.0};

  private:
    std::array<std::array<std::atomic<std::uint64_t>, k_decision_codes>, k_decision_endpoints>
        requests_{};
    std::array<std::atomic<std::uint64_t>, k_buckets.size()> bucket_counts_{};
    std::atomic<std::uint64_t> latency_count_{0};
    std::atomic<std::uint64_t> latency_sum_ns_{0};
    std::array<std::atomic<std::uint64_t>, k_audit_event_kinds> audit_events_{};
    std::atomic<std::uint64_t> rate_limited_{0};
    std::array<std::atomic<std::uint64_t>, k_alert_types> alerts_{};
};

/// How many keys are in each state at `now`: active, disabled, expired, pending, grace.
struct KeyStateCounts {
    std::uint64_t active = 0, disabled = 0, expired = 0, pending = 0, grace = 0;
};
/// Counts the keys of a snapshot by state (a `previous_keys` entry or an automatic window
/// still open counts as one `grace` secret).
KeyStateCounts count_key_states(const KeyStore& store, TimePoint now);

/// The windows of keygate_keys_expiring{window}: 7 and 30 days.
inline constexpr std::array<Duration, 2> k_expiring_windows{std::chrono::hours(24 * 7),
                                                            std::chrono::hours(24 * 30)};
/// How many keys of a snapshot expire within each of k_expiring_windows of `now`
/// (expires_within(): enabled, not yet expired, `expires_at` within the window).
std::array<std::uint64_t, k_expiring_windows.size()> count_expiring_keys(const KeyStore& store,
                                                                         TimePoint now);

} // namespace keygate
