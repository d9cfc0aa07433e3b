// The in-memory audit sink.
#include "infra/audit_sink.hpp"

namespace keygate {

void MemoryAuditSink::record_decision(const AuthDecisionEvent& event) noexcept {
    try {
        Record record;
        record.code = code_name(event.decision.code);
        if (event.decision.key != nullptr)
            record.key_id = event.decision.key->entry.id;
        record.endpoint = std::string(event.endpoint);
        record.method = event.request.method;
        record.client_ip = to_string(event.request.client_ip);
        record.status = event.status;
        const std::lock_guard lock(mutex_);
        records_.push_back(std::move(record));
    } catch (...) {
        // A sink never throws into the request path; a lost test record shows in the test.
    }
}

std::vector<MemoryAuditSink::Record> MemoryAuditSink::records() const {
    const std::lock_guard lock(mutex_);
    return records_;
}

} // namespace keygate
