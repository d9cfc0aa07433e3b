// Builds the loader's YAML tree from yaml-cpp events.
#include "core/yaml_document.hpp"

#include "core/yaml_simple_parser.hpp"

#include <memory>
#include <new>
#include <spanstream>
#include <unordered_map>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

namespace keygate::yaml {
namespace {

/// Thrown from inside the event handler to abandon the parse at once.
struct ParseStop {
    SourcePlace at;
    std::string message;
};

SourcePlace to_place(const YAML::Mark& mark) {
    if (mark.is_null() || mark.line < 0)
        return {};
    return {mark.line + 1, mark.column + 1};
}

/// Names from the file are quoted in messages; one over 40 characters is cut to its first
/// 16, no more than a key's prefix should a key have been pasted as a map key.
std::string shorten(std::string_view text) {
    if (text.size() <= 40)
        return std::string(text);
    std::string out(text.substr(0, 16));
    out += "...";
    return out;
}

/// Maps with more keys than this get a hash index for the duplicate check; smaller ones are
/// scanned, which is faster and allocates nothing. A key entry with every field has 16 keys:
/// a hash index each was ~6 % of a 100 000-key load (its nodes allocated and freed).
constexpr std::size_t k_scan_limit = 32;

} // namespace

std::string_view Document::text(NodeId id) const {
    const Node& n = nodes_[id];
    if (n.kind != NodeKind::scalar)
        return {};
    return (n.in_source ? source_ : std::string_view(pool_)).substr(n.a, n.b);
}

std::size_t Document::size(NodeId id) const {
    const Node& n = nodes_[id];
    if (n.kind == NodeKind::sequence)
        return n.b;
    if (n.kind == NodeKind::map)
        return n.b / 2;
    return 0;
}

NodeId Document::first_child(NodeId id) const {
    const Node& n = nodes_[id];
    const bool collection = n.kind == NodeKind::sequence || n.kind == NodeKind::map;
    return collection && n.b > 0 ? n.a : k_no_node;
}

/// The event handler that fills a Document.
class TreeBuilder final : public ScalarViewHandler {
  public:
    TreeBuilder(Document& doc, DiagnosticCollector& out, const ParseLimits& limits,
                std::string_view text, SequenceSink* sink = nullptr)
        : doc_(doc), out_(out), limits_(limits), sink_(sink) {
        // Reserved but untouched pages cost no memory; this avoids most regrowth copies.
        doc_.nodes_.reserve(std::min(limits.max_nodes, text.size() / 12 + 16));
        doc_.pool_.reserve(text.size());
        doc_.source_ = text;
    }

    void OnDocumentStart(const YAML::Mark& mark) override {
        if (++documents_ > 1)
            throw ParseStop{to_place(mark), "only one yaml document is allowed"};
    }
    void OnDocumentEnd() override {}

    void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        name_anchor(anchor);
        attach(add(NodeKind::null, mark));
    }

    void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        const auto it = anchor_names_.find(anchor);
        const std::string name = it == anchor_names_.end() ? std::string() : it->second;
        out_.error(to_place(mark), "yaml aliases are not allowed ('*" + name + "')");
        attach(add(NodeKind::alias, mark));
    }

    void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  const std::string& value) override {
        name_anchor(anchor);
        check_tag(mark, tag);
        // yaml-cpp marks a plain scalar with the tag "?", a quoted or block one with "!". A
        // plain "~" or "null" never comes here: yaml-cpp sends it as OnNull.
        const bool plain = tag == "?";
        const NodeId id = add(NodeKind::scalar, mark);
        Node& n = doc_.nodes_[id];
        n.quoted = !plain;
        n.a = static_cast<std::uint32_t>(doc_.pool_.size());
        n.b = static_cast<std::uint32_t>(value.size());
        doc_.pool_ += value;
        attach(id);
    }

    void OnScalarView(const YAML::Mark& mark, bool quoted, std::string_view text) override {
        // The fast path sends no anchor and no tag other than "?" / "!".
        const NodeId id = add(NodeKind::scalar, mark);
        Node& n = doc_.nodes_[id];
        n.quoted = quoted;
        n.in_source = true;
        n.a = static_cast<std::uint32_t>(text.data() - doc_.source_.data());
        n.b = static_cast<std::uint32_t>(text.size());
        attach(id);
    }

    void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                         YAML::EmitterStyle::value) override {
        open(NodeKind::sequence, mark, tag, anchor);
    }
    void OnSequenceEnd() override { close(); }

    void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                    YAML::EmitterStyle::value) override {
        open(NodeKind::map, mark, tag, anchor);
    }
    void OnMapEnd() override { close(); }

    void OnAnchor(const YAML::Mark& mark, const std::string& name) override {
        out_.error(to_place(mark), "yaml anchors are not allowed ('&" + shorten(name) + "')");
        pending_anchor_name_ = shorten(name);
    }

  private:
    struct Frame {
        NodeId node;
        NodeId last_child = k_no_node;
        bool is_map = false;
        bool expect_key = true;
        bool drop_value = false; ///< the key was rejected: its value is parsed but not linked
        bool streamed = false;   ///< the sink's sequence: each item goes to the sink, then away
        std::unique_ptr<std::unordered_map<std::string, int>> key_lines; ///< big maps only
    };

    NodeId add(NodeKind kind, const YAML::Mark& mark) {
        // The limit counts every node parsed, streamed ones too: the same files pass.
        if (doc_.nodes_.size() + dropped_nodes_ >= limits_.max_nodes) {
            throw ParseStop{to_place(mark), "file has too many yaml nodes (more than " +
                                                std::to_string(limits_.max_nodes) + ")"};
        }
        const SourcePlace at = to_place(mark);
        Node n;
        n.kind = kind;
        n.line = at.line;
        n.column = at.column;
        doc_.nodes_.push_back(n);
        return static_cast<NodeId>(doc_.nodes_.size() - 1);
    }

    void open(NodeKind kind, const YAML::Mark& mark, const std::string& tag,
              YAML::anchor_t anchor) {
        name_anchor(anchor);
        check_tag(mark, tag);
        if (stack_.size() >= static_cast<std::size_t>(limits_.max_depth)) {
            throw ParseStop{to_place(mark),
                            "nesting deeper than " + std::to_string(limits_.max_depth) + " levels"};
        }
        const NodeId id = add(kind, mark);
        const bool linked = attach(id);
        Frame f;
        f.node = id;
        f.is_map = kind == NodeKind::map;
        // The value of the sink's key in the top map (a key accepted, not a duplicate).
        if (sink_ != nullptr && linked && kind == NodeKind::sequence && stack_.size() == 1 &&
            stack_.front().is_map && f.node == stack_.front().last_child &&
            doc_.text(key_of_last_value(stack_.front())) == sink_->key()) {
            f.streamed = sink_->begin(doc_, stack_.front().node, id);
        }
        stack_.push_back(std::move(f));
    }

    /// The key node of the last value linked into map frame `f`.
    NodeId key_of_last_value(const Frame& f) const {
        NodeId key = k_no_node;
        doc_.for_each_entry(f.node, [&](NodeId k, NodeId v) {
            if (v == f.last_child)
                key = k;
        });
        return key;
    }

    /// A collection ends; a complete item of the streamed sequence goes to the sink.
    void close() {
        const NodeId done = stack_.back().node;
        stack_.pop_back();
        if (!stack_.empty() && stack_.back().streamed)
            stream_item(done);
    }

    /// Hands `item`, the one item of the streamed sequence in the tree, to the sink and
    /// drops its nodes and pooled text.
    void stream_item(NodeId item) {
        sink_->item(doc_, item);
        Frame& f = stack_.back();
        Node& seq = doc_.nodes_[f.node];
        seq.a = 0;
        seq.b = 0;
        f.last_child = k_no_node;
        dropped_nodes_ += doc_.nodes_.size() - item;
        doc_.nodes_.resize(item);
        doc_.pool_.resize(item_pool_start_);
    }

    void check_tag(const YAML::Mark& mark, const std::string& tag) {
        if (tag != "?" && tag != "!") {
            out_.error(to_place(mark), "yaml tags are not allowed ('" + shorten(tag) + "')");
        }
    }

    /// yaml-cpp announces an anchor's name (OnAnchor) before the node that carries its id.
    void name_anchor(YAML::anchor_t anchor) {
        if (anchor != 0)
            anchor_names_[anchor] = std::move(pending_anchor_name_);
    }

    /// Links `id` into the open collection (or makes it the root); false when it is dropped
    /// (a rejected key and its value).
    bool attach(NodeId id) {
        if (stack_.empty()) {
            doc_.root_ = id;
            return true;
        }
        Frame& f = stack_.back();
        if (f.is_map) {
            if (f.expect_key) {
                f.expect_key = false;
                f.drop_value = !accept_key(f, id);
                if (f.drop_value)
                    return false;
            } else {
                f.expect_key = true;
                if (f.drop_value) {
                    f.drop_value = false;
                    return false;
                }
                // A null value takes its key's place: yaml-cpp marks a missing one ("tenant:"
                // then a new line) where the next token starts, lines away.
                Node& value = doc_.nodes_[id];
                if (value.kind == NodeKind::null) {
                    value.line = doc_.nodes_[f.last_child].line;
                    value.column = doc_.nodes_[f.last_child].column;
                }
            }
        }
        Node& parent = doc_.nodes_[f.node];
        if (f.last_child == k_no_node) {
            parent.a = id;
        } else {
            doc_.nodes_[f.last_child].next_sibling = id;
        }
        f.last_child = id;
        ++parent.b;
        if (f.streamed) {
            // A collection item is complete when it closes, a scalar now (its text, when
            // pooled, was added just before).
            const Node& n = doc_.nodes_[id];
            const bool pooled = n.kind == NodeKind::scalar && !n.in_source;
            item_pool_start_ = pooled ? n.a : doc_.pool_.size();
            if (n.kind != NodeKind::sequence && n.kind != NodeKind::map)
                stream_item(id);
        }
        return true;
    }

    /// Checks a new key of map `f`: a string, not seen before in this map.
    bool accept_key(Frame& f, NodeId id) {
        const Node& k = doc_.nodes_[id];
        if (k.kind == NodeKind::alias)
            return false; // already reported
        if (k.kind == NodeKind::sequence || k.kind == NodeKind::map) {
            out_.error(doc_.place(id), "map keys must be strings");
            return false;
        }
        const std::string_view name = doc_.text(id);
        if (k.kind == NodeKind::null) {
            out_.error(doc_.place(id), "map keys must not be empty or null");
            return false;
        }
        const int first_line = find_key(f, name);
        if (first_line != 0) {
            out_.error(doc_.place(id), "duplicate key '" + shorten(name) + "' (first at line " +
                                           std::to_string(first_line) + ")");
            return false;
        }
        if (f.key_lines) {
            f.key_lines->emplace(std::string(name), k.line);
        } else if (doc_.nodes_[f.node].b / 2 + 1 > k_scan_limit) {
            f.key_lines = std::make_unique<std::unordered_map<std::string, int>>();
            doc_.for_each_entry(f.node, [&](NodeId key, NodeId) {
                f.key_lines->emplace(std::string(doc_.text(key)), doc_.nodes_[key].line);
            });
            f.key_lines->emplace(std::string(name), k.line);
        }
        return true;
    }

    /// The line of an earlier key `name` in map `f`, or 0.
    int find_key(const Frame& f, std::string_view name) const {
        if (f.key_lines) {
            const auto it = f.key_lines->find(std::string(name));
            return it == f.key_lines->end() ? 0 : it->second;
        }
        int line = 0;
        doc_.for_each_entry(f.node, [&](NodeId key, NodeId) {
            if (line == 0 && doc_.text(key) == name)
                line = doc_.nodes_[key].line;
        });
        return line;
    }

    Document& doc_;
    DiagnosticCollector& out_;
    const ParseLimits& limits_;
    SequenceSink* sink_;
    std::size_t dropped_nodes_ = 0;   ///< nodes of streamed items, no longer in the tree
    std::size_t item_pool_start_ = 0; ///< size of the pool before the streamed item
    std::vector<Frame> stack_;
    int documents_ = 0;
    std::string pending_anchor_name_;
    std::unordered_map<YAML::anchor_t, std::string> anchor_names_;
};

std::optional<Document> parse_document(std::string_view text, DiagnosticCollector& out,
                                       const ParseLimits& limits, SequenceSink* sink) {
    if (limits.fast_path) {
        // The fast path either parses the whole text exactly as yaml-cpp would, or gives
        // up; then (and on any stop or failure inside it) its work is thrown away, the
        // sink's too.
        try {
            Document doc;
            DiagnosticCollector found;
            TreeBuilder builder(doc, found, limits, text, sink);
            if (parse_simple_subset(text, builder)) {
                for (Diagnostic& d : found.take().items) {
                    if (d.severity == Severity::error) {
                        out.error({d.line, d.column}, std::move(d.message));
                    } else {
                        out.warning({d.line, d.column}, std::move(d.message));
                    }
                }
                return doc;
            }
        } catch (...) {
        }
        if (sink != nullptr)
            sink->reset();
    }
    // Every failure of yaml-cpp (or of memory) ends here as a diagnostic: nothing escapes.
    try {
        Document doc;
        std::ispanstream in(std::span<const char>(text.data(), text.size()));
        TreeBuilder builder(doc, out, limits, text);
        YAML::Parser parser(in);
        while (parser.HandleNextDocument(builder)) {
        }
        return doc;
    } catch (const ParseStop& stop) {
        out.error(stop.at, stop.message);
    } catch (const YAML::Exception& e) {
        out.error(to_place(e.mark), "yaml syntax error: " + e.msg);
    } catch (const std::bad_alloc&) {
        out.error({}, "out of memory while parsing the file");
    } catch (const std::exception& e) {
        out.error({}, std::string("cannot parse the file: ") + e.what());
    } catch (...) {
        out.error({}, "cannot parse the file");
    }
    return std::nullopt;
}

} // namespace keygate::yaml
