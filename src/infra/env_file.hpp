#pragma once
// `--env-file` (CONTRACT §4): `KEY=value` lines that set the variables the process
// environment does not already have.
#include "core/result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace keygate {

/// One assignment of an env file.
struct EnvFileEntry {
    std::string name;
    std::string value;
    int line = 0; ///< 1-based
};

/// Parses the text of an env file:
/// - `NAME=value` per line; NAME is [A-Za-z_][A-Za-z0-9_]*, an optional `export ` prefix
///   is ignored, spaces around NAME and `=` are ignored;
/// - blank lines and lines starting with `#` are skipped;
/// - `'single quoted'` values are literal; `"double quoted"` values understand `\"`, `\\`,
///   `\n`, `\r` and `\t`; unquoted values are trimmed and end at a ` #` comment;
/// - CRLF line ends are accepted.
/// The first problem is an error "line N: ..." that never quotes a value (values are
/// often secrets). A name given twice keeps its last value. Pure and thread-safe.
Result<std::vector<EnvFileEntry>> parse_env_file(std::string_view text);

/// Reads and parses the env file at `path`; errors are prefixed with the path.
Result<std::vector<EnvFileEntry>> read_env_file(const std::string& path);

/// Sets every entry whose variable is not set in the process environment (an empty value
/// counts as set: the environment wins). Returns the names it set. Calls setenv, which is
/// not thread-safe: call it before any thread is started.
std::vector<std::string> apply_env_entries(const std::vector<EnvFileEntry>& entries);

} // namespace keygate
