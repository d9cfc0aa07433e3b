#pragma once
// Private to the config loader: gathers diagnostics with a bound on how many are kept, so
// that a hostile file (a million aliases) cannot make the loader hold a million messages.
#include "core/diagnostics.hpp"

#include <cstddef>
#include <string>

namespace keygate {

/// A 1-based place in the key file (0:0 when there is none).
struct SourcePlace {
    int line = 0;
    int column = 0;
};

/// Collects errors and warnings. Keeps at most `limit` of each severity and counts the rest;
/// take() adds one closing line per severity that overflowed. Not thread-safe.
class DiagnosticCollector {
  public:
    static constexpr std::size_t k_default_limit = 1000;

    explicit DiagnosticCollector(std::size_t limit = k_default_limit) : limit_(limit) {}

    /// Records an error at a place.
    void error(SourcePlace at, std::string message);
    /// Records a warning at a place.
    void warning(SourcePlace at, std::string message);
    /// What has been recorded so far, to forget what comes after (rollback).
    struct Mark {
        std::size_t errors = 0;
        std::size_t warnings = 0;
        std::size_t kept = 0;
    };
    /// The current mark.
    Mark mark() const { return {errors_, warnings_, kept_.items.size()}; }
    /// Forgets every diagnostic recorded after `at` (a mark of this collector since its last
    /// take()).
    void rollback(const Mark& at);

    /// True once any error was recorded (kept or not).
    bool has_errors() const { return errors_ > 0; }

    /// Every kept diagnostic in file order (stable: same place keeps recording order),
    /// followed by "N more errors not shown" lines when the limit was reached.
    Diagnostics take();

  private:
    std::size_t limit_;
    std::size_t errors_ = 0;
    std::size_t warnings_ = 0;
    Diagnostics kept_;
};

} // namespace keygate
