// Diagnostics: counting, strictness and the "PATH:LINE:COL: severity: MESSAGE" form.
#include "core/diagnostics.hpp"

#include <catch2/catch.hpp>

using keygate::Diagnostic;
using keygate::Diagnostics;
using keygate::Severity;

TEST_CASE("diagnostics count errors and warnings", "[diagnostics]") {
    Diagnostics d;
    CHECK(d.error_count() == 0);
    CHECK(d.warning_count() == 0);
    CHECK_FALSE(d.failed());
    CHECK_FALSE(d.failed(true));

    d.warning(3, 5, "a warning");
    CHECK(d.warning_count() == 1);
    CHECK(d.error_count() == 0);
    CHECK_FALSE(d.failed());
    CHECK(d.failed(true)); // --strict: a warning fails

    d.error(7, 1, "an error");
    d.error(8, 2, "another");
    CHECK(d.error_count() == 2);
    CHECK(d.warning_count() == 1);
    CHECK(d.failed());
    CHECK(d.failed(true));

    REQUIRE(d.items.size() == 3);
    CHECK(d.items[0].line == 3);
    CHECK(d.items[0].column == 5);
    CHECK(d.items[0].severity == Severity::warning);
    CHECK(d.items[0].message == "a warning");
    CHECK(d.items[1].severity == Severity::error);
}

TEST_CASE("format_diagnostic prints PATH:LINE:COL: severity: MESSAGE", "[diagnostics]") {
    CHECK(keygate::format_diagnostic("keys.yaml", Diagnostic{3, 14, Severity::error, "bad"}) ==
          "keys.yaml:3:14: error: bad");
    CHECK(keygate::format_diagnostic("./a/keys.yaml",
                                     Diagnostic{1, 1, Severity::warning, "plaintext 'key'"}) ==
          "./a/keys.yaml:1:1: warning: plaintext 'key'");
    // No place: still LINE:COL, so that one pattern parses every line.
    CHECK(keygate::format_diagnostic("k.yaml", Diagnostic{0, 0, Severity::error, "cannot open"}) ==
          "k.yaml:0:0: error: cannot open");
}

TEST_CASE("severities have names", "[diagnostics]") {
    CHECK(std::string(keygate::to_string(Severity::error)) == "error");
    CHECK(std::string(keygate::to_string(Severity::warning)) == "warning");
}
