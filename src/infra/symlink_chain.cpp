// Follows a path's symlink chain with readlink and keeps the names in one directory.
#include "infra/symlink_chain.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace keygate {
namespace {

namespace fs = std::filesystem;

/// The first component of `path` below `directory`, or "" when `path` is not below it.
std::string first_component_below(const fs::path& path, const fs::path& directory) {
    const fs::path relative = path.lexically_relative(directory);
    if (relative.empty())
        return {};
    const std::string first = relative.begin()->string();
    if (first == "." || first == "..")
        return {};
    return first;
}

void add_name(std::vector<std::string>& names, std::string name) {
    if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end())
        names.push_back(std::move(name));
}

} // namespace

std::vector<std::string> names_resolving(const std::string& path, const std::string& directory) {
    std::vector<std::string> names;
    const fs::path dir = fs::path(directory).lexically_normal();
    fs::path current = fs::path(path).lexically_normal();
    if (current.is_relative())
        current = (fs::path(".") / current).lexically_normal();
    add_name(names, current.filename().string());
    for (int hop = 0; hop < 40; ++hop) {
        std::error_code ec;
        const fs::path target = fs::read_symlink(current, ec);
        if (ec)
            break; // not a symlink (or gone): the chain ends here
        current =
            (target.is_absolute() ? target : current.parent_path() / target).lexically_normal();
        add_name(names, first_component_below(current, dir));
    }
    return names;
}

} // namespace keygate
