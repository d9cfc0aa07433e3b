// The environment's variables and the keys it carries.
#include "infra/environment.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

namespace keygate {
namespace {

constexpr std::size_t k_max_secret_file_bytes = std::size_t{64} * 1024;

/// `name` or `name`_FILE; both set is an error.
Result<std::optional<std::string>> read_key_variable(const EnvLookup& env,
                                                     const std::string& name) {
    const std::string file_variable = name + "_FILE";
    auto direct = env_value(env, name);
    auto file = env_value(env, file_variable);
    if (direct && file) {
        return fail(name + " and " + file_variable + " are both set; set only one of them");
    }
    if (file) {
        auto secret = read_secret_file(file_variable, *file);
        if (!secret)
            return Unexpected(secret.error());
        return std::optional<std::string>(std::move(*secret));
    }
    return direct;
}

} // namespace

EnvLookup process_environment() {
    return [](const std::string& name) -> std::optional<std::string> {
        const char* value = std::getenv(name.c_str());
        if (value == nullptr)
            return std::nullopt;
        return std::string(value);
    };
}

EnvLookup environment_from_map(std::map<std::string, std::string> variables) {
    return
        [variables = std::move(variables)](const std::string& name) -> std::optional<std::string> {
            const auto it = variables.find(name);
            if (it == variables.end())
                return std::nullopt;
            return it->second;
        };
}

std::optional<std::string> env_value(const EnvLookup& env, const std::string& name) {
    auto value = env(name);
    if (value && value->empty())
        return std::nullopt;
    return value;
}

Result<std::string> read_secret_file(const std::string& variable, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return fail(variable + ": cannot open '" + path + "': " + std::strerror(errno));
    std::string content;
    char buffer[4096];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
        content.append(buffer, static_cast<std::size_t>(in.gcount()));
        if (content.size() > k_max_secret_file_bytes) {
            return fail(variable + ": '" + path + "' is larger than 64 KiB");
        }
    }
    if (in.bad())
        return fail(variable + ": cannot read '" + path + "'");
    // Exactly one line end goes: `echo KEY > file` and editors add one, and a key never
    // ends with one.
    if (content.ends_with("\r\n")) {
        content.resize(content.size() - 2);
    } else if (content.ends_with('\n')) {
        content.pop_back();
    }
    if (content.empty())
        return fail(variable + ": '" + path + "' is empty");
    return content;
}

Result<EnvironmentKeys> read_environment_keys(const EnvLookup& env) {
    EnvironmentKeys keys;
    auto admin = read_key_variable(env, "API_KEY_ADMIN");
    if (!admin)
        return Unexpected(admin.error());
    keys.admin = std::move(*admin);
    auto default_key = read_key_variable(env, "API_KEY_DEFAULT");
    if (!default_key)
        return Unexpected(default_key.error());
    keys.default_key = std::move(*default_key);
    if (auto role = env_value(env, "KEYGATE_DEFAULT_ROLE"))
        keys.default_role = std::move(*role);
    if (auto tenant = env_value(env, "KEYGATE_DEFAULT_TENANT")) {
        keys.default_tenant = std::move(*tenant);
    }
    return keys;
}

} // namespace keygate
