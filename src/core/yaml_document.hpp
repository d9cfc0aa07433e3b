#pragma once
// Private to the config loader: a compact YAML tree that keeps every node's place, built
// from yaml-cpp's event API. Unlike YAML::Node it reports duplicate keys (at the second),
// never expands an alias (no "billion laughs"), and bounds nesting depth and node count.
#include "core/config_collector.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keygate::yaml {

/// What a node is. An alias is kept as a leaf (it is an error, already reported).
enum class NodeKind : std::uint8_t { null, scalar, sequence, map, alias };

/// Index of a node in its Document.
using NodeId = std::uint32_t;
inline constexpr NodeId k_no_node = 0xffffffffu;

/// One node; 24 bytes, so that a 100k-key file stays small. Scalars use `a`/`b` as the
/// offset/size of their text in the parsed text (in_source) or in the document's pool;
/// collections as first child / count.
struct Node {
    NodeKind kind = NodeKind::null;
    bool quoted = false;    ///< quoted, block (`|`, `>`) or tagged scalar: a string, never a number
    bool in_source = false; ///< a scalar whose `a`/`b` point into the parsed text, not the pool
    std::int32_t line = 0;  ///< 1-based
    std::int32_t column = 0;
    std::uint32_t a = 0;
    std::uint32_t b = 0;
    NodeId next_sibling = k_no_node;
};

/// Limits of the parse.
struct ParseLimits {
    int max_depth = 64;                ///< nested lists/maps
    std::size_t max_nodes = 5'000'000; ///< about 120 MB of nodes at most
    bool fast_path = true; ///< try the plain-subset parser before yaml-cpp (tests turn it off)
};

/// A parsed YAML document. Map children alternate key, value. Immutable once built. Its
/// scalars may view the text it was parsed from: keep that text alive as long as the
/// document.
class Document {
  public:
    /// The top node, or k_no_node when the file held no document (only comments).
    NodeId root() const { return root_; }
    /// The node `id` (a valid id of this document).
    const Node& node(NodeId id) const { return nodes_[id]; }
    /// Its kind.
    NodeKind kind(NodeId id) const { return nodes_[id].kind; }
    /// Its 1-based place; a missing map value ("key:" alone) has its key's place.
    SourcePlace place(NodeId id) const { return {nodes_[id].line, nodes_[id].column}; }
    /// The text of a scalar; empty for every other kind (a plain `~` or `null` is a null).
    std::string_view text(NodeId id) const;
    /// Items of a sequence, entries (key/value pairs) of a map.
    std::size_t size(NodeId id) const;

    /// Calls f(item) for each item of a sequence.
    template <class F> void for_each_item(NodeId seq, F&& f) const {
        for (NodeId c = first_child(seq); c != k_no_node; c = nodes_[c].next_sibling)
            f(c);
    }
    /// Calls f(key, value) for each entry of a map, in file order.
    template <class F> void for_each_entry(NodeId map, F&& f) const {
        for (NodeId k = first_child(map); k != k_no_node;) {
            const NodeId v = nodes_[k].next_sibling;
            f(k, v);
            k = nodes_[v].next_sibling;
        }
    }

  private:
    friend class TreeBuilder;
    NodeId first_child(NodeId id) const;

    std::vector<Node> nodes_;
    std::string pool_;        ///< scalars that differ from their source bytes (escapes, yaml-cpp)
    std::string_view source_; ///< the parsed text, for in_source scalars
    NodeId root_ = k_no_node;
};

/// Takes the items of one sequence of the top map (the key file's `api_keys`) while the fast
/// path parses, one complete item at a time; the document then drops the item's nodes, so
/// that a 100 000-key file never exists as one tree. The sequence node stays in the tree
/// with no items. Only the fast path streams: when it gives up, reset() is called and the
/// yaml-cpp parse builds the whole tree as usual.
class SequenceSink {
  public:
    virtual ~SequenceSink() = default;
    /// The key of the top map whose sequence value is streamed.
    virtual std::string_view key() const = 0;
    /// That sequence starts: `top` is the top map, which holds the entries before it.
    /// Returns false to keep the sequence in the tree instead.
    virtual bool begin(const Document& doc, NodeId top, NodeId sequence) = 0;
    /// One complete item of the sequence (valid during the call only).
    virtual void item(const Document& doc, NodeId item) = 0;
    /// The fast path gave up: forget everything begin() and item() did.
    virtual void reset() = 0;
};

/// Parses one YAML document. Problems that still leave a usable tree (duplicate keys,
/// anchors, aliases, tags, non-string keys) are reported and the tree is returned; fatal
/// ones (syntax error, too deep, too many nodes, a second document) are reported and
/// nullopt is returned. Never throws. With a `sink`, the fast path streams its sequence.
std::optional<Document> parse_document(std::string_view text, DiagnosticCollector& out,
                                       const ParseLimits& limits = {},
                                       SequenceSink* sink = nullptr);

} // namespace keygate::yaml
