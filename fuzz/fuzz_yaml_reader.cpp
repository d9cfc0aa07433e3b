// Fuzz target: the loader's fast YAML reader (parse_simple_subset) against yaml-cpp's event
// API, the reference. Every text the fast reader takes must give exactly yaml-cpp's events:
// kind, scalar value, tag ("?" plain / "!" quoted), anchor, collection style (block / flow)
// and every mark (offset, line, column); yaml-cpp must accept it; the two handler kinds (copy
// and view) must agree; the loader's tree and diagnostics must be the same with and without
// the fast path; and a key file loaded with `api_keys` streamed must give the same entries
// and diagnostics as from the whole tree. A text the fast reader refuses goes to yaml-cpp,
// so only a false "yes" is a bug.
//
// Each input is read three ways: as the text itself (libFuzzer's mutations of realistic and
// tricky key files in corpus/fuzz_yaml_reader/), as a key file generated from its bytes
// (every field, in the value forms key files use, some outside the subset), and as that
// generated file after a few byte edits. A generated file that uses only forms of the subset
// must be taken (a false "no" on a real key file would cost the fast path).
#include "core/config_loader.hpp"
#include "core/diagnostics.hpp"
#include "core/digest.hpp"
#include "core/time.hpp"
#include "core/yaml_document.hpp"
#include "core/yaml_simple_parser.hpp"
#include "fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <spanstream>
#include <string>
#include <string_view>
#include <vector>
#include <yaml-cpp/emitterstyle.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

namespace {

std::string at(const YAML::Mark& m) {
    return std::to_string(m.pos) + "@" + std::to_string(m.line) + ":" + std::to_string(m.column);
}

std::string style_name(YAML::EmitterStyle::value style) {
    return style == YAML::EmitterStyle::Flow ? "flow" : style == YAML::EmitterStyle::Block ? "block"
                                                                                           : "default";
}

/// Every event with its mark, tag, anchor and style, as one line of text each.
class EventRecorder : public keygate::yaml::ScalarViewHandler {
  public:
    explicit EventRecorder(std::string_view source = {}) : source_(source) {}
    std::vector<std::string> events;
    bool view_outside_source = false; ///< a view that does not point into the parsed text

    void OnDocumentStart(const YAML::Mark& m) override { events.push_back("doc " + at(m)); }
    void OnDocumentEnd() override { events.push_back("end doc"); }
    void OnNull(const YAML::Mark& m, YAML::anchor_t a) override {
        events.push_back("null " + at(m) + " &" + std::to_string(a));
    }
    void OnAlias(const YAML::Mark& m, YAML::anchor_t a) override {
        events.push_back("alias " + at(m) + " *" + std::to_string(a));
    }
    void OnAnchor(const YAML::Mark& m, const std::string& name) override {
        events.push_back("anchor " + at(m) + " " + name);
    }
    void OnScalar(const YAML::Mark& m, const std::string& tag, YAML::anchor_t a,
                  const std::string& value) override {
        events.push_back("scalar " + at(m) + " " + tag + " &" + std::to_string(a) + " [" + value +
                         "]");
    }
    void OnScalarView(const YAML::Mark& m, bool quoted, std::string_view text) override {
        if (text.data() < source_.data() || text.data() + text.size() > source_.data() + source_.size())
            view_outside_source = true;
        OnScalar(m, quoted ? "!" : "?", 0, std::string(text));
    }
    void OnSequenceStart(const YAML::Mark& m, const std::string& tag, YAML::anchor_t a,
                         YAML::EmitterStyle::value style) override {
        events.push_back("seq " + at(m) + " " + tag + " &" + std::to_string(a) + " " +
                         style_name(style));
    }
    void OnSequenceEnd() override { events.push_back("end seq"); }
    void OnMapStart(const YAML::Mark& m, const std::string& tag, YAML::anchor_t a,
                    YAML::EmitterStyle::value style) override {
        events.push_back("map " + at(m) + " " + tag + " &" + std::to_string(a) + " " +
                         style_name(style));
    }
    void OnMapEnd() override { events.push_back("end map"); }

  private:
    std::string_view source_;
};

/// The same recorder seen as a plain YAML::EventHandler: the fast reader then sends copies.
class CopyRecorder final : public YAML::EventHandler {
  public:
    EventRecorder inner;
    void OnDocumentStart(const YAML::Mark& m) override { inner.OnDocumentStart(m); }
    void OnDocumentEnd() override { inner.OnDocumentEnd(); }
    void OnNull(const YAML::Mark& m, YAML::anchor_t a) override { inner.OnNull(m, a); }
    void OnAlias(const YAML::Mark& m, YAML::anchor_t a) override { inner.OnAlias(m, a); }
    void OnAnchor(const YAML::Mark& m, const std::string& name) override { inner.OnAnchor(m, name); }
    void OnScalar(const YAML::Mark& m, const std::string& tag, YAML::anchor_t a,
                  const std::string& value) override {
        inner.OnScalar(m, tag, a, value);
    }
    void OnSequenceStart(const YAML::Mark& m, const std::string& tag, YAML::anchor_t a,
                         YAML::EmitterStyle::value style) override {
        inner.OnSequenceStart(m, tag, a, style);
    }
    void OnSequenceEnd() override { inner.OnSequenceEnd(); }
    void OnMapStart(const YAML::Mark& m, const std::string& tag, YAML::anchor_t a,
                    YAML::EmitterStyle::value style) override {
        inner.OnMapStart(m, tag, a, style);
    }
    void OnMapEnd() override { inner.OnMapEnd(); }
};

/// yaml-cpp's events, or nullopt when it throws. At most 2 documents: yaml-cpp 0.7 loops
/// forever on some broken input (the loader stops at the second document too).
std::optional<std::vector<std::string>> yaml_cpp_events(std::string_view text) {
    EventRecorder recorder;
    try {
        std::ispanstream in(std::span<const char>(text.data(), text.size()));
        YAML::Parser parser(in);
        for (int documents = 0; documents < 2 && parser.HandleNextDocument(recorder); ++documents) {
        }
    } catch (...) {
        return std::nullopt;
    }
    return recorder.events;
}

/// A document as text: every node's kind, place, quoting and scalar text, depth first.
void describe(const keygate::yaml::Document& doc, keygate::yaml::NodeId id, std::string& out) {
    using keygate::yaml::NodeKind;
    const keygate::yaml::Node& n = doc.node(id);
    out += std::to_string(static_cast<int>(n.kind)) + "@" + std::to_string(n.line) + ":" +
           std::to_string(n.column) + (n.quoted ? "q" : "") + "[" + std::string(doc.text(id)) + "]";
    if (n.kind == NodeKind::sequence) {
        out += "(";
        doc.for_each_item(id, [&](keygate::yaml::NodeId item) { describe(doc, item, out); });
        out += ")";
    } else if (n.kind == NodeKind::map) {
        out += "(";
        doc.for_each_entry(id, [&](keygate::yaml::NodeId k, keygate::yaml::NodeId v) {
            describe(doc, k, out);
            out += "=";
            describe(doc, v, out);
        });
        out += ")";
    }
    out += ",";
}

std::string describe(const std::optional<keygate::yaml::Document>& doc,
                     keygate::DiagnosticCollector& out) {
    std::string text = !doc                                        ? "no document"
                       : doc->root() == keygate::yaml::k_no_node ? "empty"
                                                                  : "";
    if (doc && doc->root() != keygate::yaml::k_no_node)
        describe(*doc, doc->root(), text);
    for (const keygate::Diagnostic& d : out.take().items) {
        text += "\n" + std::to_string(d.line) + ":" + std::to_string(d.column) + " " +
                (d.severity == keygate::Severity::error ? "error " : "warning ") + d.message;
    }
    return text;
}

void print_difference(std::string_view text, const std::vector<std::string>& fast,
                      const std::vector<std::string>& reference) {
    std::fprintf(stderr, "fast reader and yaml-cpp disagree on (%zu bytes):\n%.*s\n", text.size(),
                 static_cast<int>(std::min<std::size_t>(text.size(), 2000)), text.data());
    const std::size_t n = std::max(fast.size(), reference.size());
    for (std::size_t i = 0; i < n; ++i) {
        const std::string a = i < fast.size() ? fast[i] : "(none)";
        const std::string b = i < reference.size() ? reference[i] : "(none)";
        if (a != b) {
            std::fprintf(stderr, "event %zu: fast     %s\n          yaml-cpp %s\n", i, a.c_str(),
                         b.c_str());
            return;
        }
    }
}

/// A loaded key file as text: every diagnostic and every entry field the loader reads.
std::string describe(const keygate::LoadResult& r) {
    std::string out;
    for (const keygate::Diagnostic& d : r.diagnostics.items) {
        out += std::to_string(d.line) + ":" + std::to_string(d.column) + " " + d.message + "\n";
    }
    if (!r.config)
        return out + "no config";
    for (const keygate::KeyEntry& e : r.config->api_keys) {
        out += e.id + "|" + keygate::to_hex(e.secret.digest) + "|" + e.tenant.value_or("-") + "|" +
               e.role + "|" + e.description + "|" + std::to_string(e.line) + "|" +
               std::to_string(e.enabled) + "|" +
               std::to_string(e.allowed_datasets ? e.allowed_datasets->size() : 99) + "|" +
               std::to_string(e.denied_datasets.size()) + "|" +
               std::to_string(e.permissions ? e.permissions->size() : 99) + "|" +
               std::to_string(e.ip_allowlist.size()) + "|" + std::to_string(e.previous_keys.size()) +
               "|" + std::to_string(e.rate_limit.value_or(0)) + "|" +
               std::to_string(e.daily_limit.value_or(0)) + "\n";
    }
    return out;
}

/// The loader streams `api_keys` into entries while the fast path parses: the result must be
/// the one read from the whole tree.
void check_streamed_load(std::string_view text) {
    keygate::LoadOptions options;
    options.hash_pepper = "fuzz-pepper-not-a-secret-0001";
    options.now = *keygate::parse_timestamp("2025-03-01T12:00:00Z");
    const std::string streamed = describe(keygate::load_config_text(text, options));
    options.stream_api_keys = false;
    const std::string whole = describe(keygate::load_config_text(text, options));
    if (streamed != whole) {
        std::fprintf(stderr, "streamed load differs:\nstreamed: %s\nwhole: %s\n",
                     streamed.c_str(), whole.c_str());
    }
    FUZZ_CHECK(streamed == whole);
}

/// Checks one text; returns whether the fast reader took it.
bool check_text(std::string_view text) {
    EventRecorder viewed(text);
    const bool taken = keygate::yaml::parse_simple_subset(text, viewed);
    CopyRecorder copied;
    const bool taken_copy = keygate::yaml::parse_simple_subset(text, copied);
    // The decision and the events do not depend on the handler kind.
    FUZZ_CHECK(taken == taken_copy);
    if (!taken)
        return false; // left to yaml-cpp: the loader's answer is yaml-cpp's by construction
    FUZZ_CHECK(!viewed.view_outside_source);
    FUZZ_CHECK(viewed.events == copied.inner.events);

    const auto reference = yaml_cpp_events(text);
    if (!reference) {
        std::fprintf(stderr, "the fast reader took a text yaml-cpp refuses:\n%.*s\n",
                     static_cast<int>(std::min<std::size_t>(text.size(), 2000)), text.data());
    }
    FUZZ_CHECK(reference.has_value());
    if (viewed.events != *reference)
        print_difference(text, viewed.events, *reference);
    FUZZ_CHECK(viewed.events == *reference);

    // What the loader builds from it: the same tree and diagnostics either way.
    keygate::DiagnosticCollector fast_out;
    keygate::DiagnosticCollector slow_out;
    keygate::yaml::ParseLimits slow;
    slow.fast_path = false;
    const std::string fast_tree = describe(keygate::yaml::parse_document(text, fast_out), fast_out);
    const std::string slow_tree =
        describe(keygate::yaml::parse_document(text, slow_out, slow), slow_out);
    if (fast_tree != slow_tree) {
        std::fprintf(stderr, "trees differ:\nfast: %s\nslow: %s\n", fast_tree.c_str(),
                     slow_tree.c_str());
    }
    FUZZ_CHECK(fast_tree == slow_tree);
    check_streamed_load(text);
    return true;
}

// ---- key files generated from the input's bytes ---------------------------------------------

/// Reads choices from the input; zeros once it runs out.
class Choices {
  public:
    Choices(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
    unsigned next(unsigned bound) { return bound == 0 ? 0 : byte() % bound; }
    bool coin() { return (byte() & 1) != 0; }
    bool exhausted() const { return pos_ >= size_; }

  private:
    std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
};

/// Writes a key file; `in_subset` turns false when a form outside the fast reader's subset is
/// used (then the reader may refuse the file).
class KeyFileWriter {
  public:
    explicit KeyFileWriter(Choices& c) : c_(c) {
        crlf_ = c_.next(8) == 0;
        indent_ = c_.next(3) == 0 ? 4 : 2;
        dash_at_key_ = c_.next(4) == 0;
    }

    std::string write() {
        if (c_.next(16) == 0) {
            out_ += "\xEF\xBB\xBF";
            in_subset_ = false;
        }
        if (c_.next(12) == 0) {
            out_ += "---";
            newline();
            in_subset_ = false;
        }
        comment_line(0);
        if (c_.coin())
            entry(0, "version", plain_or_quoted("1"));
        if (c_.coin())
            settings();
        if (c_.coin())
            roles();
        if (c_.coin())
            tenants();
        if (c_.coin())
            routes();
        api_keys();
        if (c_.next(12) == 0) {
            out_ += "...";
            newline();
            in_subset_ = false;
        }
        if (c_.next(8) == 0 && !out_.empty() && out_.back() == '\n') {
            out_.pop_back(); // no newline at the end
            if (!out_.empty() && out_.back() == '\r')
                out_.pop_back();
        }
        return out_;
    }
    bool in_subset() const { return in_subset_; }

  private:
    void newline() { out_ += crlf_ ? "\r\n" : "\n"; }
    void spaces(int n) { out_.append(static_cast<std::size_t>(n), ' '); }

    void comment_line(int indent) {
        switch (c_.next(8)) {
        case 0:
            spaces(indent);
            out_ += "# a comment: with [flow] {chars}, 'quotes' and \"more\"";
            newline();
            break;
        case 1:
            newline(); // a blank line
            break;
        case 2:
            spaces(indent + 3);
            out_ += "#";
            newline();
            break;
        default:
            break;
        }
    }

    std::string trailing_comment() {
        switch (c_.next(10)) {
        case 0:
            return " # note";
        case 1:
            return "   #: x [y]";
        default:
            return "";
        }
    }

    /// A scalar value as it would be written for `plain`: plain, double or single quoted.
    std::string plain_or_quoted(const std::string& plain) {
        switch (c_.next(4)) {
        case 0:
            return "\"" + plain + "\"";
        case 1:
            return "'" + plain + "'";
        default:
            return plain;
        }
    }

    /// A string value in one of many forms (the key file's descriptions, ids, names); `flow`
    /// when it goes inside a flow collection, where the subset's plain scalars are narrower
    /// (no '#', '?' or leading "--").
    std::string text_value(bool flow = false) {
        static const char* const subset[] = {
            "plain words here",
            "\"double \\\"quoted\\\" \\\\ \\/ \\n \\t \\r\"",
            "'single ''quoted'' text'",
            "\"\"",
            "''",
            "a#b",
            "x:y",
            "http://host:80/path?q=1",
            "-5s",
            "\"caf\xC3\xA9 \xE2\x82\xAC\"",
            "\xC3\xBC\xC3\xA9",
            "~",
            "null",
            "Null",
            "NULL",
            "true",
            "0x1F",
            "1e3",
            ".inf",
            "2024-01-01T00:00:00Z",
            "\"# not a comment\"",
            "'a: b'",
            "--- x",
            "... y",
            "a  b   c",
            "\"trailing  \"",
            "'it''s'",
        };
        static const char* const outside[] = {
            "|\n    block text\n    more",
            ">-\n    folded\n    text",
            "&anchor value",
            "*anchor",
            "!!str tagged",
            "!custom x",
            "\"\\x41\\u00e9\\U0001F600\"",
            "\"multi\n    line\"",
            "plain\n    continued",
            "x\ty",
            "\"tab\there\"",
            "[a,\n    b]",
            "'unterminated",
            "\"bad \\q escape\"",
            "`tick",
            "%percent",
            "a: b",
            "x\xC2\x85y",
            "@x",
        };
        const unsigned pick = c_.next(64);
        if (pick < std::size(subset)) {
            const std::string_view v = subset[pick];
            if (flow && v.front() != '"' && v.front() != '\'' &&
                (v.find_first_of("#?") != std::string_view::npos || v.starts_with("--"))) {
                in_subset_ = false;
            }
            return std::string(v);
        }
        if (pick < std::size(subset) + std::size(outside)) {
            in_subset_ = false;
            return outside[pick - std::size(subset)];
        }
        if (pick == 60) {
            in_subset_ = false;
            return std::string(1100, 'v'); // a very long line (fine as a value, but rare)
        }
        return "value-" + std::to_string(c_.next(1000));
    }

    /// A list in flow or block style.
    std::string flow_list(const std::vector<std::string>& items) {
        std::string s = "[";
        for (std::size_t i = 0; i < items.size(); ++i) {
            if (i > 0)
                s += c_.next(4) == 0 ? " , " : ", ";
            // A '?' inside a flow plain scalar is outside the subset: such items are quoted.
            s += items[i].find('?') == std::string::npos ? plain_or_quoted(items[i])
                                                         : "\"" + items[i] + "\"";
        }
        return s + (c_.next(8) == 0 ? " ]" : "]");
    }

    void entry(int indent, const std::string& key, const std::string& value) {
        spaces(indent);
        out_ += c_.next(16) == 0 ? "\"" + key + "\"" : key;
        out_ += c_.next(16) == 0 ? " :" : ":";
        if (value.empty()) {
            out_ += trailing_comment();
        } else {
            out_ += c_.next(8) == 0 ? "   " : " ";
            out_ += value;
            if (value.find('\n') == std::string::npos)
                out_ += trailing_comment();
        }
        newline();
        comment_line(indent);
    }

    /// A list value: flow on the key's line, or block items below it.
    void list_entry(int indent, const std::string& key, const std::vector<std::string>& items) {
        if (items.empty() || c_.coin()) {
            entry(indent, key, flow_list(items));
            return;
        }
        entry(indent, key, "");
        const int item_indent = dash_at_key_ ? indent : indent + indent_;
        for (const std::string& item : items) {
            spaces(item_indent);
            out_ += "- " + plain_or_quoted(item) + trailing_comment();
            newline();
        }
    }

    std::string duration() {
        static const char* const d[] = {"90s", "5m", "0s", "1h", "\"30s\"", "-5s"};
        return d[c_.next(std::size(d))];
    }

    void settings() {
        entry(0, "settings", "");
        const int i = indent_;
        entry(i, "header", plain_or_quoted("X-API-Key"));
        if (c_.coin())
            entry(i, "grace_period", duration());
        if (c_.coin())
            list_entry(i, "trusted_proxies", {"10.0.0.0/8", "fd00::/8", "192.168.1.1"});
        if (c_.coin())
            entry(i, "allow_query_key", c_.coin() ? "true" : "false");
        if (c_.coin())
            entry(i, "reload_interval", duration());
        if (c_.coin()) {
            entry(i, "alerts", "");
            if (c_.coin()) {
                entry(2 * i, "failed_auth_burst", "{count: 5, window: 30s}");
            } else {
                entry(2 * i, "failed_auth_burst", "");
                entry(3 * i, "count", "5");
                entry(3 * i, "window", duration());
            }
            entry(2 * i, "new_ip", "false");
            entry(2 * i, "volume_spike", "{factor: 2.5, min_per_minute: 50}");
            entry(2 * i, "unusual_dataset", "true");
        }
    }

    void roles() {
        entry(0, "roles", "");
        const unsigned n = c_.next(4);
        for (unsigned r = 0; r < n; ++r) {
            const std::string name = "role" + std::to_string(r);
            if (c_.coin()) {
                entry(indent_, name,
                      "{permissions: [read, admin], description: " + text_value(true) + "}");
            } else {
                entry(indent_, name, "");
                list_entry(2 * indent_, "permissions", {"read", "export"});
                entry(2 * indent_, "bypass_rls", c_.coin() ? "true" : "false");
                entry(2 * indent_, "description", text_value());
            }
        }
    }

    void tenants() {
        entry(0, "tenants", "");
        const unsigned n = c_.next(4);
        for (unsigned t = 0; t < n; ++t) {
            const std::string name = "tenant_" + std::to_string(t);
            switch (c_.next(3)) {
            case 0:
                entry(indent_, name, "");
                break;
            case 1:
                entry(indent_, name, "{allowed_datasets: [orders, \"sales_*\"]}");
                break;
            default:
                entry(indent_, name, "");
                entry(2 * indent_, "description", text_value());
                list_entry(2 * indent_, "allowed_datasets", {"orders", "customers", "sales_*"});
                list_entry(2 * indent_, "denied_datasets", {"orders_raw"});
                break;
            }
        }
    }

    void routes() {
        entry(0, "routes", "");
        const unsigned n = c_.next(4);
        const int dash = dash_at_key_ ? 0 : indent_;
        for (unsigned r = 0; r < n; ++r) {
            spaces(dash);
            if (c_.coin()) {
                out_ += "- {path: \"/v1/query\", methods: [POST], permission: read}";
                newline();
            } else {
                out_ += "- path: \"/v1/datasets/{dataset}/export\"";
                newline();
                list_entry(dash + 2, "methods", {"get", "Post"});
                entry(dash + 2, "permission", "export");
            }
        }
    }

    std::string hash(unsigned n) {
        static const char hex[] = "0123456789abcdef";
        std::string h = "sha256:";
        for (int i = 0; i < 64; ++i)
            h += hex[(n * 7 + static_cast<unsigned>(i) * 13) % 16];
        return h;
    }

    void api_keys() {
        const unsigned n = c_.next(6);
        if (n == 0 && c_.coin()) {
            entry(0, "api_keys", "[]");
            return;
        }
        entry(0, "api_keys", "");
        const int dash = dash_at_key_ ? 0 : indent_;
        const int field = dash + 2;
        for (unsigned k = 0; k < n; ++k) {
            // The first field on the dash line.
            spaces(dash);
            out_ += "- key_hash: " + plain_or_quoted(hash(k)) + trailing_comment();
            newline();
            comment_line(field);
            const unsigned fields = c_.next(256);
            if (fields & 1)
                entry(field, "id", plain_or_quoted("key-" + std::to_string(k)));
            if (fields & 2)
                entry(field, "tenant", plain_or_quoted("tenant_" + std::to_string(k % 3)));
            entry(field, "role", plain_or_quoted("analyst"));
            if (fields & 4)
                entry(field, "description", text_value());
            if (fields & 8)
                list_entry(field, "allowed_datasets", {"orders", "cust?mers"});
            if (fields & 16)
                list_entry(field, "denied_datasets", {"orders_raw", "tmp_*"});
            if (fields & 32) {
                list_entry(field, "permissions", {"read"});
                entry(field, "enabled", c_.coin() ? "true" : "false");
            }
            if (fields & 64) {
                entry(field, "not_before", "2025-01-01T00:00:00Z");
                entry(field, "expires_at", plain_or_quoted("2099-12-31T23:59:59.250+02:00"));
                entry(field, "rate_limit", "100");
                entry(field, "daily_limit", "10000");
                list_entry(field, "ip_allowlist", {"10.0.0.0/8", "192.168.1.100", "2001:db8::/32"});
            }
            if (fields & 128) {
                entry(field, "previous_keys", "");
                const int item = dash_at_key_ ? field : field + indent_;
                spaces(item);
                out_ += "- {key_hash: \"" + hash(k + 100) + "\", expires_at: 2099-02-01}";
                newline();
                spaces(item);
                out_ += "- key_hash: \"" + hash(k + 200) + "\"";
                newline();
                entry(item + 2, "expires_at", "\"2099-03-01T12:30:00Z\"");
            }
            if (c_.next(16) == 0)
                entry(field, "role", "viewer"); // a duplicate key: in the subset, an error later
        }
    }

    Choices& c_;
    std::string out_;
    bool in_subset_ = true;
    bool crlf_ = false;
    int indent_ = 2;
    bool dash_at_key_ = false;
};

/// A few byte edits of `text`, driven by the choices left.
std::string mutate(std::string text, Choices& c) {
    static const char alphabet[] = "{}[]:,-?&*!|>'\"#% \n\r\tab01@`\\.~";
    for (unsigned e = 1 + c.next(4); e > 0 && !text.empty() && !c.exhausted(); --e) {
        const std::size_t at = (c.next(256) * 256 + c.next(256)) % text.size();
        const char ch = alphabet[c.next(sizeof alphabet - 1)];
        const std::size_t newline = text.rfind('\n', at);
        const std::size_t line_start = newline == std::string::npos ? 0 : newline + 1;
        switch (c.next(5)) {
        case 0:
            text[at] = ch;
            break;
        case 1:
            text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), ch);
            break;
        case 2:
            text.erase(at, 1);
            break;
        case 3:
            text.insert(line_start, 1 + c.next(3), ' ');
            break;
        default:
            if (text[line_start] == ' ')
                text.erase(line_start, 1);
            break;
        }
    }
    return text;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    check_text(std::string_view(reinterpret_cast<const char*>(data), size));

    Choices choices(data, size);
    KeyFileWriter writer(choices);
    const std::string generated = writer.write();
    const bool taken = check_text(generated);
    if (writer.in_subset() && !taken) {
        std::fprintf(stderr, "the fast reader refused a key file of its subset:\n%s\n",
                     generated.c_str());
    }
    FUZZ_CHECK(taken || !writer.in_subset());
    if (!choices.exhausted())
        check_text(mutate(generated, choices));
    return 0;
}
