// The UsageTracker behind the admission hook.
#include "server/admission_control.hpp"

#include "infra/usage_tracker.hpp"

namespace keygate {

void UsageTrackerAdmission::record_decision(const ResolvedKey& key, SecretSource source,
                                            TimePoint now) {
    tracker_.record_decision(key, now, source);
}

AdmissionResult UsageTrackerAdmission::admit(const ResolvedKey& key, TimePoint now, bool consume) {
    Admission admission = tracker_.admit(key, now, consume);
    return AdmissionResult{admission.allowed, std::move(admission.view)};
}

} // namespace keygate
