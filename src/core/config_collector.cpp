// The loader's bounded diagnostic collector.
#include "core/config_collector.hpp"

#include <algorithm>

namespace keygate {

void DiagnosticCollector::error(SourcePlace at, std::string message) {
    if (++errors_ <= limit_)
        kept_.error(at.line, at.column, std::move(message));
}

void DiagnosticCollector::warning(SourcePlace at, std::string message) {
    if (++warnings_ <= limit_)
        kept_.warning(at.line, at.column, std::move(message));
}

void DiagnosticCollector::rollback(const Mark& at) {
    errors_ = at.errors;
    warnings_ = at.warnings;
    if (kept_.items.size() > at.kept)
        kept_.items.erase(kept_.items.begin() + static_cast<std::ptrdiff_t>(at.kept),
                          kept_.items.end());
}

Diagnostics DiagnosticCollector::take() {
    Diagnostics out = std::move(kept_);
    std::stable_sort(out.items.begin(), out.items.end(),
                     [](const Diagnostic& a, const Diagnostic& b) {
                         return a.line != b.line ? a.line < b.line : a.column < b.column;
                     });
    if (errors_ > limit_) {
        out.error(0, 0, std::to_string(errors_ - limit_) + " more errors not shown");
    }
    if (warnings_ > limit_) {
        out.warning(0, 0, std::to_string(warnings_ - limit_) + " more warnings not shown");
    }
    kept_ = Diagnostics{};
    errors_ = 0;
    warnings_ = 0;
    return out;
}

} // namespace keygate
