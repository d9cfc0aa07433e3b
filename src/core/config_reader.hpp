#pragma once
// Private to the config loader: strict readers of typed values from the YAML tree. Each
// reader reports what is wrong with a value at its place and returns nullopt; none throws.
#include "core/config_collector.hpp"
#include "core/ip_address.hpp"
#include "core/time.hpp"
#include "core/yaml_document.hpp"

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keygate::loader {

using yaml::NodeId;
using yaml::NodeKind;

/// The candidate closest to `name` (edit distance at most 2, case ignored), for
/// "did you mean" hints; nullopt when none is close.
std::optional<std::string_view> closest_name(std::string_view name,
                                             std::initializer_list<std::string_view> candidates);
/// The same over any list of names.
std::optional<std::string> closest_name(std::string_view name,
                                        const std::vector<std::string>& candidates);

/// True when `text` holds a control character (below 0x20, or 0x7f).
bool has_control_character(std::string_view text);

/// The parts joined. Used instead of `"'" + std::string(x)`, which makes GCC 12 print a
/// false -Wrestrict warning at -O2.
std::string cat(std::initializer_list<std::string_view> parts);

/// A name or value from the file in quotes for a message; one over 40 characters is cut to
/// its first 16. Never use it on a secret.
std::string quoted(std::string_view text);

/// Reads typed values from one document, reporting into one collector.
class Reader {
  public:
    Reader(const yaml::Document& doc, DiagnosticCollector& out) : doc_(doc), out_(out) {}

    const yaml::Document& doc() const { return doc_; }
    DiagnosticCollector& out() const { return out_; }
    SourcePlace place(NodeId id) const { return doc_.place(id); }
    bool is_null(NodeId id) const { return doc_.kind(id) == NodeKind::null; }

    /// Reports "SUBJECT must be EXPECTED, not ACTUAL" (or "SUBJECT has no value"); silent
    /// for an alias, which the parser already reported. `subject` is e.g. "'header'". The
    /// value itself is never quoted: it may be a secret in the wrong place.
    void wrong_type(NodeId id, std::string_view subject, std::string_view expected) const;
    /// The same, quoting a short plain value ("not 'yes'"): for numbers and booleans.
    void wrong_value(NodeId id, std::string_view subject, std::string_view expected) const;

    /// True for a map; otherwise reports and returns false.
    bool expect_map(NodeId id, std::string_view field) const;
    /// True for a sequence; otherwise reports and returns false.
    bool expect_list(NodeId id, std::string_view field) const;

    /// A non-empty string (a plain scalar such as 123 is read as its text).
    std::optional<std::string> string(NodeId id, std::string_view field) const;
    /// A non-empty string without control characters: a name that ends up in a response
    /// header (a tenant, a role, a permission).
    std::optional<std::string> name(NodeId id, std::string_view field) const;
    /// A decimal integer (no sign, no leading zeros) of at least `min`.
    std::optional<std::uint64_t> integer(NodeId id, std::string_view field,
                                         std::uint64_t min) const;
    /// A decimal number such as 10 or 2.5 of at least `min`.
    std::optional<double> number(NodeId id, std::string_view field, double min) const;
    /// Exactly `true` or `false`.
    std::optional<bool> boolean(NodeId id, std::string_view field) const;
    /// A duration ("500ms", "7d"); with `positive`, more than zero.
    std::optional<Duration> duration(NodeId id, std::string_view field, bool positive) const;
    /// An RFC 3339 timestamp or a bare date.
    std::optional<TimePoint> timestamp(NodeId id, std::string_view field) const;
    /// A list of non-empty strings without commas or control characters (they are sent
    /// as comma-separated header values), in file order.
    std::optional<std::vector<std::string>> strings(NodeId id, std::string_view field) const;
    /// A list of CIDRs or addresses, in file order.
    std::optional<std::vector<Cidr>> cidrs(NodeId id, std::string_view field) const;

    /// Calls f(name, key, value) for each entry of `map` whose name is in `known`; reports
    /// every other one as "unknown field 'X' in WHERE; did you mean 'Y'?" (`where` empty:
    /// no "in" part).
    template <class F>
    void fields(NodeId map, std::initializer_list<std::string_view> known, std::string_view where,
                F&& f) const {
        doc_.for_each_entry(map, [&](NodeId key, NodeId value) {
            const std::string_view name = doc_.text(key);
            if (std::find(known.begin(), known.end(), name) == known.end()) {
                unknown_field(key, known, where);
                return;
            }
            f(name, key, value);
        });
    }

  private:
    void unknown_field(NodeId key, std::initializer_list<std::string_view> known,
                       std::string_view where) const;
    void report_type(NodeId id, std::string_view subject, std::string_view expected,
                     bool quote_value) const;
    /// "a map", "a list", "a quoted string", "a string", ... or, with `quote_value`, a short
    /// plain value in quotes.
    std::string describe(NodeId id, bool quote_value) const;
    /// The text of a scalar, or nullopt after reporting that the node is no scalar.
    std::optional<std::string_view> scalar(NodeId id, std::string_view field,
                                           std::string_view expected) const;

    const yaml::Document& doc_;
    DiagnosticCollector& out_;
};

} // namespace keygate::loader
