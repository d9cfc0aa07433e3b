#pragma once
// Parses and validates a key file into a Config. The one place of the core that knows YAML.
#include "core/config.hpp"
#include "core/diagnostics.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace keygate {

/// What the loader needs besides the file's text.
struct LoadOptions {
    std::optional<std::string> hash_pepper; ///< KEYGATE_HASH_PEPPER, for hmac-sha256: hashes
    TimePoint now{};                        ///< for "key already expired" warnings
    /// Set (`keygate validate --warn-expiring 14d`): warn about each enabled key whose
    /// `expires_at` falls within this long after `now` (expires_within()).
    std::optional<Duration> warn_expiring_within;
    std::size_t max_file_bytes = 64u << 20; ///< larger files are refused whole
    /// Read only a regular file (after symlinks): a FIFO, device, socket or directory is an
    /// error at once, never a wait (the server's loads and reloads). False: `keygate
    /// validate` also reads a pipe (`validate <(kubectl ...)`), up to max_file_bytes.
    bool regular_files_only = true;
    /// Read the `api_keys` entries while the YAML is parsed, without a tree of every key
    /// (docs/key-file-loading.md). False: from the whole tree (the fuzzer compares the two).
    bool stream_api_keys = true;
};

/// The outcome of a load: the config when there were no errors, and every diagnostic.
struct LoadResult {
    std::optional<Config> config; ///< set only when diagnostics has no error
    Diagnostics diagnostics;
};

/// Parses and validates the text of a key file. Never throws; every problem becomes a
/// diagnostic with its line and column. Thread-safe (no shared state).
LoadResult load_config_text(std::string_view text, const LoadOptions& options);

/// Reads a key file whole, with the size limit of `options` checked before reading (a pipe
/// or a growing file is read at most one byte past it). On failure returns nullopt and sets
/// `error` ("cannot open the file (No such file or directory)", "file too large (...)"),
/// and `error_number` when given: the errno of the failed call, 0 for a refusal (a FIFO, too
/// large), ENOMEM when memory ran out.
std::optional<std::string> read_key_file(const std::string& path, const LoadOptions& options,
                                         std::string& error, int* error_number = nullptr);

/// Reads the file at `path` and loads it; an unreadable file is one diagnostic at 0:0.
LoadResult load_config_file(const std::string& path, const LoadOptions& options);

} // namespace keygate
