// Diagnostics of a key file: counting and the "PATH:LINE:COL: error: MESSAGE" form.
#include "core/diagnostics.hpp"

#include <algorithm>

namespace keygate {

void Diagnostics::error(int line, int column, std::string message) {
    items.push_back(Diagnostic{line, column, Severity::error, std::move(message)});
}

void Diagnostics::warning(int line, int column, std::string message) {
    items.push_back(Diagnostic{line, column, Severity::warning, std::move(message)});
}

std::size_t Diagnostics::error_count() const {
    return static_cast<std::size_t>(
        std::count_if(items.begin(), items.end(),
                      [](const Diagnostic& d) { return d.severity == Severity::error; }));
}

std::size_t Diagnostics::warning_count() const {
    return items.size() - error_count();
}

bool Diagnostics::failed(bool strict) const {
    return strict ? !items.empty() : error_count() > 0;
}

std::string format_diagnostic(const std::string& path, const Diagnostic& d) {
    // Always LINE:COL, even 0:0 for a problem with no place, so that one pattern parses
    // every line.
    return path + ':' + std::to_string(d.line) + ':' + std::to_string(d.column) + ": " +
           to_string(d.severity) + ": " + d.message;
}

const char* to_string(Severity s) {
    return s == Severity::error ? "error" : "warning";
}

} // namespace keygate
