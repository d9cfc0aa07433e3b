#pragma once
// Reading the process environment (CONTRACT §4) through a lookup function, so that tests
// can hand in a map instead of mutating the real environment.
#include "core/environment_keys.hpp"
#include "core/result.hpp"

#include <functional>
#include <map>
#include <optional>
#include <string>

namespace keygate {

/// Looks a variable up; nullopt when it is unset. Must be callable from one thread at a time.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

/// The real process environment (getenv).
EnvLookup process_environment();

/// A fixed set of variables, for tests.
EnvLookup environment_from_map(std::map<std::string, std::string> variables);

/// The value of `name`, treating an empty value as unset (so that `NAME=` in an env file or a
/// compose file is a placeholder, not an empty key or an empty path).
std::optional<std::string> env_value(const EnvLookup& env, const std::string& name);

/// Reads a mounted secret: the whole file, with exactly one trailing newline ("\n" or
/// "\r\n") removed. Errors name the variable and the path, never the content; an empty
/// file and a file over 64 KiB are errors.
Result<std::string> read_secret_file(const std::string& variable, const std::string& path);

/// API_KEY_ADMIN / API_KEY_ADMIN_FILE, API_KEY_DEFAULT / API_KEY_DEFAULT_FILE,
/// KEYGATE_DEFAULT_ROLE (default analyst) and KEYGATE_DEFAULT_TENANT (default default).
/// Setting both a variable and its _FILE twin is an error.
Result<EnvironmentKeys> read_environment_keys(const EnvLookup& env);

} // namespace keygate
