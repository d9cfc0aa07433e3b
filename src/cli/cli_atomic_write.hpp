#pragma once
// Replacing a file so that readers (keygate's own watcher included) see the old or the new
// content whole, never a mix or a truncated file.
#include "core/result.hpp"

#include <string>
#include <string_view>

namespace keygate::cli {

/// Writes `content` to a temporary file in the directory of `path` (of its target, when
/// `path` is a symlink), fsyncs it, gives it the old file's permission bits, renames it over
/// the target and fsyncs the directory. On any failure the file is untouched and the
/// temporary file removed. `path` must exist. Not thread-safe against other writers.
Result<void> write_file_atomically(const std::string& path, std::string_view content);

} // namespace keygate::cli
