// The subcommands' shared command-line parser.
#include "cli/cli_args.hpp"

#include "cli/cli_suggest.hpp"

#include <algorithm>
#include <ostream>

namespace keygate::cli {
namespace {

/// "unknown option '--listn' (did you mean '--listen'?)"
std::string unknown_option(std::string_view name, std::span<const OptionSpec> specs) {
    std::vector<std::string_view> names;
    names.reserve(specs.size() + 1);
    for (const OptionSpec& spec : specs)
        names.push_back(spec.name);
    names.push_back("--help");
    std::string message = "unknown option '" + std::string(name) + "'";
    if (const auto near = closest_name(name, names))
        message += " (did you mean '" + std::string(*near) + "'?)";
    return message;
}

} // namespace

std::optional<std::string> ParsedArgs::value(std::string_view name) const {
    const auto it = values.find(name);
    if (it == values.end())
        return std::nullopt;
    return it->second;
}

std::string ParsedArgs::value_or(std::string_view name, std::string_view fallback) const {
    const auto it = values.find(name);
    return it == values.end() ? std::string(fallback) : it->second;
}

Result<ParsedArgs> parse_args(const Args& args, std::span<const OptionSpec> specs) {
    ParsedArgs parsed;
    bool options_ended = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (options_ended || arg == "-" || !arg.starts_with("-")) {
            parsed.positionals.push_back(arg);
            continue;
        }
        if (arg == "--") {
            options_ended = true;
            continue;
        }
        if (arg == "--help" || arg == "-h") {
            parsed.help = true;
            continue;
        }
        const std::size_t equals = arg.find('=');
        const std::string name = arg.substr(0, equals);
        const auto spec = std::find_if(specs.begin(), specs.end(),
                                       [&](const OptionSpec& s) { return s.name == name; });
        if (spec == specs.end())
            return fail(unknown_option(name, specs));
        if (parsed.has(name))
            return fail("option '" + name + "' given twice");
        std::string value;
        if (!spec->takes_value) {
            if (equals != std::string::npos)
                return fail("option '" + name + "' takes no value");
        } else if (equals != std::string::npos) {
            value = arg.substr(equals + 1);
        } else if (i + 1 < args.size()) {
            value = args[++i];
        } else {
            return fail("option '" + name + "' needs a value");
        }
        parsed.values.emplace(name, std::move(value));
    }
    if (!parsed.help) {
        for (const OptionSpec& spec : specs) {
            if (spec.required && !parsed.has(spec.name))
                return fail(std::string(spec.name) + " is required");
        }
    }
    return parsed;
}

std::optional<std::string> value_or_default(const ParsedArgs& parsed, const CommandSpec& command,
                                            std::string_view name) {
    if (auto given = parsed.value(name))
        return given;
    for (const OptionSpec& spec : command.options) {
        if (spec.name == name && !spec.default_value.empty())
            return std::string(spec.default_value);
    }
    return std::nullopt;
}

int usage_error(std::ostream& err, std::string_view command, std::string_view message,
                std::string_view usage) {
    err << "keygate " << command << ": " << message << "\nusage: " << usage << '\n';
    return k_exit_usage;
}

int usage_error(std::ostream& err, const CommandSpec& command, std::string_view message) {
    return usage_error(err, command.name, message, command.synopsis);
}

int operation_failed(std::ostream& err, std::string_view command, std::string_view message) {
    err << "keygate " << command << ": " << message << '\n';
    return k_exit_failed;
}

} // namespace keygate::cli
