// The streamed `api_keys` list: the fast path hands each item to a sink and drops its nodes,
// and the loader reads the same entries and diagnostics as from a whole tree.
#include "core/config_collector.hpp"
#include "core/config_loader.hpp"
#include "core/yaml_document.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace keygate;

namespace {

/// Records what it is given: each item's place and its first field's value.
class RecordingSink final : public yaml::SequenceSink {
  public:
    std::vector<std::string> items;
    int begins = 0;
    int resets = 0;

    std::string_view key() const override { return "api_keys"; }
    bool begin(const yaml::Document&, yaml::NodeId, yaml::NodeId) override {
        ++begins;
        return true;
    }
    void item(const yaml::Document& doc, yaml::NodeId item) override {
        std::string text =
            std::to_string(doc.place(item).line) + ":" + std::to_string(doc.place(item).column);
        if (doc.kind(item) == yaml::NodeKind::map) {
            doc.for_each_entry(item, [&](yaml::NodeId k, yaml::NodeId v) {
                text += " " + std::string(doc.text(k)) + "=" + std::string(doc.text(v));
            });
        } else {
            text += " " + std::string(doc.text(item));
        }
        items.push_back(text);
    }
    void reset() override {
        ++resets;
        items.clear();
    }
};

/// The value node of `key` in the top map.
yaml::NodeId top_value(const yaml::Document& doc, std::string_view key) {
    yaml::NodeId found = yaml::k_no_node;
    doc.for_each_entry(doc.root(), [&](yaml::NodeId k, yaml::NodeId v) {
        if (doc.text(k) == key)
            found = v;
    });
    return found;
}

std::vector<std::string> lines_of(const LoadResult& r) {
    std::vector<std::string> out;
    for (const Diagnostic& d : r.diagnostics.items) {
        out.push_back(std::to_string(d.line) + ":" + std::to_string(d.column) + ": " +
                      to_string(d.severity) + ": " + d.message);
    }
    return out;
}

LoadOptions at_2026() {
    LoadOptions options;
    options.now = *parse_timestamp("2026-01-01T00:00:00Z");
    return options;
}

const std::string k_hash_1 =
    "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const std::string k_hash_2 =
    "sha256:2222222222222222222222222222222222222222222222222222222222222222";

} // namespace

TEST_CASE("the fast path streams the items of api_keys and keeps none in the tree",
          "[key_stream]") {
    const std::string text = "version: 1\n"
                             "api_keys:\n"
                             "  - id: a\n"
                             "    role: viewer\n"
                             "  - {id: b, role: \"admin\"}\n"
                             "  - plain\n"
                             "other: [x]\n";
    RecordingSink sink;
    DiagnosticCollector out;
    const auto doc = yaml::parse_document(text, out, {}, &sink);
    REQUIRE(doc);
    CHECK(sink.begins == 1);
    CHECK(sink.resets == 0);
    CHECK(sink.items ==
          std::vector<std::string>{"3:5 id=a role=viewer", "5:5 id=b role=admin", "6:5 plain"});
    const yaml::NodeId keys = top_value(*doc, "api_keys");
    REQUIRE(keys != yaml::k_no_node);
    CHECK(doc->kind(keys) == yaml::NodeKind::sequence);
    CHECK(doc->size(keys) == 0);
    // What follows the list is still in the tree.
    const yaml::NodeId other = top_value(*doc, "other");
    REQUIRE(other != yaml::k_no_node);
    CHECK(doc->size(other) == 1);
}

TEST_CASE("a text the fast path gives up on resets the stream and keeps a whole tree",
          "[key_stream]") {
    // The block scalar in the last item is outside the fast path's subset: it gives up there,
    // after two items were streamed.
    const std::string text = "api_keys:\n"
                             "  - id: a\n"
                             "  - id: b\n"
                             "  - description: |\n"
                             "      text\n";
    RecordingSink sink;
    DiagnosticCollector out;
    const auto doc = yaml::parse_document(text, out, {}, &sink);
    REQUIRE(doc);
    CHECK(sink.resets == 1);
    CHECK(sink.items.empty());
    CHECK(doc->size(top_value(*doc, "api_keys")) == 3);
}

TEST_CASE("only the first api_keys of the top map is streamed, not a nested one", "[key_stream]") {
    const std::string text = "settings:\n"
                             "  api_keys:\n"
                             "    - nested\n"
                             "api_keys: [a]\n"
                             "api_keys: [b]\n";
    RecordingSink sink;
    DiagnosticCollector out;
    const auto doc = yaml::parse_document(text, out, {}, &sink);
    REQUIRE(doc);
    CHECK(sink.items == std::vector<std::string>{"4:12 a"});
    const auto diagnostics = out.take();
    REQUIRE(diagnostics.items.size() == 1);
    CHECK(diagnostics.items[0].message == "duplicate key 'api_keys' (first at line 4)");
}

TEST_CASE("the node limit counts streamed nodes too", "[key_stream]") {
    std::string text = "api_keys:\n";
    for (int i = 0; i < 40; ++i)
        text += "  - {id: k" + std::to_string(i) + ", role: viewer}\n";
    yaml::ParseLimits limits;
    limits.max_nodes = 100;
    RecordingSink sink;
    DiagnosticCollector streamed_out;
    DiagnosticCollector tree_out;
    CHECK_FALSE(yaml::parse_document(text, streamed_out, limits, &sink));
    CHECK_FALSE(yaml::parse_document(text, tree_out, limits));
    const auto a = streamed_out.take();
    const auto b = tree_out.take();
    REQUIRE(a.items.size() == 1);
    REQUIRE(b.items.size() == 1);
    CHECK(a.items[0].message == b.items[0].message);
    CHECK(a.items[0].line == b.items[0].line);
}

TEST_CASE("keys are checked against a roles: section written after api_keys:", "[key_stream]") {
    // Streamed, the keys are first checked against the built-in roles only; the loader sees
    // that the final roles differ and reads the file again from a whole tree.
    const std::string text = "api_keys:\n"
                             "  - key_hash: \"" +
                             k_hash_1 +
                             "\"\n"
                             "    id: one\n"
                             "    role: auditor\n"
                             "    tenant: acme\n"
                             "    permissions: [read, export]\n"
                             "roles:\n"
                             "  auditor: {permissions: [read]}\n";
    const LoadResult r = load_config_text(text, at_2026());
    CHECK(lines_of(r) == std::vector<std::string>{"6:25: warning: permission 'export' is not "
                                                  "granted by role 'auditor' and is ignored"});
    REQUIRE(r.config);
    REQUIRE(r.config->api_keys.size() == 1);
    CHECK(r.config->api_keys[0].role == "auditor");
}

TEST_CASE("a key file the fast path leaves midway reports each problem once", "[key_stream]") {
    // The first key's unknown role is found while streaming; the anchor of the second entry
    // makes the fast path give up, and yaml-cpp's tree is read instead.
    const std::string text = "api_keys:\n"
                             "  - key_hash: \"" +
                             k_hash_1 +
                             "\"\n"
                             "    role: analist\n"
                             "    tenant: acme\n"
                             "  - key_hash: \"" +
                             k_hash_2 +
                             "\"\n"
                             "    role: &r viewer\n"
                             "    tenant: acme\n";
    const LoadResult r = load_config_text(text, at_2026());
    CHECK(lines_of(r) ==
          std::vector<std::string>{"3:11: error: unknown role 'analist'; did you mean 'analyst'?",
                                   "6:11: error: yaml anchors are not allowed ('&r')"});
    CHECK_FALSE(r.config);
}

TEST_CASE("streamed and whole-tree loads agree on every entry field", "[key_stream]") {
    std::string keys;
    for (int i = 0; i < 30; ++i) {
        keys += "  - key_hash: \"sha256:" + std::string(62, 'a') + (i < 10 ? "0" : "") +
                std::to_string(i) +
                "\"\n"
                "    id: key-" +
                std::to_string(i) +
                "\n"
                "    tenant: acme\n"
                "    role: analyst\n"
                "    description: \"key \\\"" +
                std::to_string(i) +
                "\\\"\"\n"
                "    allowed_datasets: [orders, \"cust*\"]\n"
                "    ip_allowlist: [10.0.0.0/8]\n";
    }
    // The same entries, once streamed and once from a tree: a document end marker after
    // them makes the fast path give up at the end, and yaml-cpp reads the whole text.
    const std::string streamed = "api_keys:\n" + keys + "settings: {header: X-Key}\n";
    const std::string whole = streamed + "...\n";
    const LoadResult a = load_config_text(streamed, at_2026());
    const LoadResult b = load_config_text(whole, at_2026());
    REQUIRE(a.config);
    REQUIRE(b.config);
    CHECK(lines_of(a) == lines_of(b));
    REQUIRE(a.config->api_keys.size() == 30);
    REQUIRE(b.config->api_keys.size() == 30);
    for (std::size_t i = 0; i < 30; ++i) {
        const KeyEntry& x = a.config->api_keys[i];
        const KeyEntry& y = b.config->api_keys[i];
        CHECK(x.id == y.id);
        CHECK(x.secret.digest == y.secret.digest);
        CHECK(x.description == y.description);
        CHECK(x.allowed_datasets == y.allowed_datasets);
        CHECK(x.ip_allowlist.size() == y.ip_allowlist.size());
        CHECK(x.line == y.line);
    }
}
