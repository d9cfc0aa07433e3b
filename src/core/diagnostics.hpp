#pragma once
// Problems found in a key file, each with its place, all collected in one run.
#include <string>
#include <vector>

namespace keygate {

/// How bad a problem is.
enum class Severity { error, warning };

/// One problem with its 1-based line and column (0 when there is no place, e.g. an
/// unreadable file).
struct Diagnostic {
    int line = 0;
    int column = 0;
    Severity severity = Severity::error;
    std::string message; ///< never holds a secret
};

/// All problems of one file, in file order.
struct Diagnostics {
    std::vector<Diagnostic> items;

    /// Adds an error at a place.
    void error(int line, int column, std::string message);
    /// Adds a warning at a place.
    void warning(int line, int column, std::string message);
    /// Number of errors.
    std::size_t error_count() const;
    /// Number of warnings.
    std::size_t warning_count() const;
    /// True when there is at least one error (or, with `strict`, a warning).
    bool failed(bool strict = false) const;
};

/// "PATH:LINE:COL: error: MESSAGE".
std::string format_diagnostic(const std::string& path, const Diagnostic& d);

/// Name of a severity: "error" or "warning".
const char* to_string(Severity s);

} // namespace keygate
