#pragma once
// Where every decision is reported (CONTRACT §7 `event: auth`). The server calls the sink
// once per decision; the audit log (a later issue) implements it. Until then the server
// runs with NullAuditSink.
#include "core/auth_request.hpp"
#include "core/decision.hpp"
#include "core/time.hpp"

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace keygate {

/// One decision as the server made it. Views and references are valid only during the
/// call (they point into the request and the snapshot): a sink copies what it keeps.
struct AuthDecisionEvent {
    TimePoint timestamp{};
    const Decision& decision;
    const AuthRequest& request;  ///< holds the presented key: mask it (mask_key), never log it
    std::string_view endpoint;   ///< the original path, or /v1/authorize's `path`
    std::string_view user_agent; ///< as received
    std::string_view request_id; ///< X-Request-Id, when the proxy sent one
    int status = 0;              ///< the HTTP status answered
    std::chrono::microseconds latency{0};
    std::string_view trace_id; ///< the trace id of a valid W3C `traceparent`, else empty
};

/// Receives decisions. Implementations must be thread-safe and must not throw.
class AuditSink {
  public:
    virtual ~AuditSink() = default;
    /// Records one decision.
    virtual void record_decision(const AuthDecisionEvent& event) noexcept = 0;
};

/// Discards every event.
class NullAuditSink final : public AuditSink {
  public:
    void record_decision(const AuthDecisionEvent&) noexcept override {}
};

/// Keeps a summary of every event in memory (for tests and diagnostics). Thread-safe.
class MemoryAuditSink final : public AuditSink {
  public:
    /// What MemoryAuditSink keeps of an event.
    struct Record {
        std::string code;
        std::string key_id;
        std::string endpoint;
        std::string method;
        std::string client_ip;
        int status = 0;
    };

    void record_decision(const AuthDecisionEvent& event) noexcept override;
    /// A copy of the records so far.
    std::vector<Record> records() const;

  private:
    mutable std::mutex mutex_;
    std::vector<Record> records_;
};

} // namespace keygate
