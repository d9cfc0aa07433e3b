#pragma once
// Private to the config loader: one reader per top-level section of the key file
// (CONTRACT §3). Each reports every problem it finds and returns what it could read.
#include "core/config.hpp"
#include "core/config_loader.hpp"
#include "core/config_reader.hpp"

#include <memory>
#include <vector>

namespace keygate::loader {

/// `settings:` (a map). Absent fields keep their defaults; trusted_proxies stays empty
/// when absent (the caller applies the default).
Settings read_settings(const Reader& r, NodeId map, bool& has_trusted_proxies);

/// `roles:` (a map of name -> definition) applied over `roles`, which holds the built-ins: a
/// built-in named again is changed field by field, a new name is appended.
void read_roles(const Reader& r, NodeId map, std::vector<Role>& roles);

/// `tenants:` (a map of name -> defaults), in file order.
std::vector<Tenant> read_tenants(const Reader& r, NodeId map);

/// `routes:` (a list), in file order.
std::vector<Route> read_routes(const Reader& r, NodeId list);

/// `api_keys:` (a list), in file order, checked against the final `roles`.
std::vector<KeyEntry> read_api_keys(const Reader& r, NodeId list, const std::vector<Role>& roles,
                                    const LoadOptions& options);

/// Reads the items of `api_keys:` while the YAML is parsed (the fast path streams them, so
/// that no tree of every key exists), with the same checks and diagnostics as
/// read_api_keys. The roles are those of the top map's entries before `api_keys`; the
/// caller checks that they are the final ones (roles_match) and re-parses without the
/// stream when a later `roles:` changed them.
class ApiKeyStream final : public yaml::SequenceSink {
  public:
    /// `expected_keys`: about how many entries to make room for (the checks' indexes).
    ApiKeyStream(DiagnosticCollector& out, const LoadOptions& options, std::size_t expected_keys);
    ~ApiKeyStream() override;
    ApiKeyStream(const ApiKeyStream&) = delete;
    ApiKeyStream& operator=(const ApiKeyStream&) = delete;

    std::string_view key() const override { return "api_keys"; }
    bool begin(const yaml::Document& doc, NodeId top, NodeId sequence) override;
    void item(const yaml::Document& doc, NodeId item) override;
    void reset() override;

    /// The sequence node that was streamed, or k_no_node.
    NodeId sequence() const { return sequence_; }
    /// Whether the roles the items were checked against are `roles`.
    bool roles_match(const std::vector<Role>& roles) const;
    /// The entries read, in file order.
    std::vector<KeyEntry> take_entries() { return std::move(entries_); }

  private:
    class Items;
    DiagnosticCollector& out_;
    const LoadOptions& options_;
    std::size_t expected_keys_;
    DiagnosticCollector::Mark start_{};
    NodeId sequence_ = yaml::k_no_node;
    std::vector<Role> roles_;
    std::vector<KeyEntry> entries_;
    std::unique_ptr<Reader> reader_;
    std::unique_ptr<Items> items_;
};

} // namespace keygate::loader
