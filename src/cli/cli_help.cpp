// Help pages from command tables.
#include "cli/cli_help.hpp"

#include <algorithm>

namespace keygate::cli {
namespace {

/// "--config PATH", "--strict", "--key KEY|-".
std::string option_label(const OptionSpec& option) {
    std::string label(option.name);
    if (option.takes_value) {
        label += ' ';
        label += option.value_name.empty() ? std::string_view("VALUE") : option.value_name;
    }
    return label;
}

/// "(required)", "(default: keys.yaml; env: KEYGATE_CONFIG)", or "".
std::string option_facts(const OptionSpec& option) {
    std::string facts;
    const auto add = [&](std::string_view fact) {
        facts += facts.empty() ? "(" : "; ";
        facts += fact;
    };
    if (option.required)
        add("required");
    if (!option.default_value.empty())
        add("default: " + std::string(option.default_value));
    if (!option.env.empty())
        add("env: " + std::string(option.env));
    if (!facts.empty())
        facts += ')';
    return facts;
}

/// Rows of "  LABEL  TEXT", the texts aligned two columns after the longest label.
struct Row {
    std::string label;
    std::string text;
    std::string facts{}; ///< "(default: ...)": on the text's line, or the next if too long
};

constexpr std::size_t k_line_limit = 100;

void append_rows(std::string& out, std::string_view title, const std::vector<Row>& rows) {
    if (rows.empty())
        return;
    std::size_t width = 0;
    for (const Row& row : rows)
        width = std::max(width, row.label.size());
    out += '\n';
    out += title;
    out += ":\n";
    for (const Row& row : rows) {
        out += "  " + row.label;
        out.append(width - row.label.size() + 2, ' ');
        out += row.text;
        if (!row.facts.empty()) {
            if (2 + width + 2 + row.text.size() + 1 + row.facts.size() > k_line_limit) {
                out += '\n';
                out.append(2 + width + 2, ' ');
            } else {
                out += ' ';
            }
            out += row.facts;
        }
        out += '\n';
    }
}

} // namespace

std::string help_text(const CommandSpec& command) {
    std::string out = "usage: " + std::string(command.synopsis) + "\n\n";
    out += command.summary;
    if (!command.summary.ends_with('\n'))
        out += '\n';

    std::vector<Row> options;
    for (const OptionSpec& option : command.options) {
        options.push_back({option_label(option), std::string(option.help), option_facts(option)});
    }
    options.push_back({"-h, --help", "print this help on stdout and exit 0"});
    append_rows(out, "options", options);

    std::vector<Row> arguments;
    for (const ArgumentSpec& argument : command.arguments) {
        arguments.push_back({std::string(argument.name), std::string(argument.help)});
    }
    append_rows(out, "arguments", arguments);

    std::vector<Row> environment;
    for (const EnvironmentSpec& variable : command.environment) {
        std::string facts;
        if (!variable.default_value.empty())
            facts = "(default: " + std::string(variable.default_value) + ")";
        environment.push_back(
            {std::string(variable.name), std::string(variable.help), std::move(facts)});
    }
    append_rows(out, "environment", environment);

    std::vector<Row> codes;
    for (const ExitCodeSpec& code : command.exit_codes) {
        codes.push_back({std::to_string(code.code), std::string(code.meaning)});
    }
    append_rows(out, "exit codes", codes);

    if (!command.notes.empty()) {
        out += '\n';
        out += command.notes;
        if (!command.notes.ends_with('\n'))
            out += '\n';
    }
    return out;
}

} // namespace keygate::cli
