#pragma once
// Which names in the key file's directory can change what the key file's path resolves to:
// the file's own name and each hop of its symlink chain that lies in that directory (for
// Kubernetes: `keys.yaml -> ..data/keys.yaml` makes `..data` one). Events for any other name
// (a log beside the file, an editor's swap file) cannot change the key file.
#include <string>
#include <vector>

namespace keygate {

/// The names in `directory` (no slash, as inotify reports them) through which `path`
/// resolves: the last component of `path`, then, for each symlink hop whose target lies in
/// `directory`, the first component of that target below `directory`. At most 40 hops (the
/// kernel's limit); a dangling or looping chain gives the names found so far.
std::vector<std::string> names_resolving(const std::string& path, const std::string& directory);

} // namespace keygate
