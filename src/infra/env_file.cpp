// Env files: parsing is pure; applying them touches the process environment.
#include "infra/env_file.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>

namespace keygate {
namespace {

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_blank(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_blank(s.back()))
        s.remove_suffix(1);
    return s;
}

bool valid_name(std::string_view name) {
    if (name.empty())
        return false;
    const auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); };
    if (!alpha(name.front()) && name.front() != '_')
        return false;
    for (char c : name) {
        if (!alpha(c) && c != '_' && !(c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

/// What may follow a closing quote: blanks, then nothing or a comment.
bool only_comment_left(std::string_view rest) {
    rest = trim(rest);
    return rest.empty() || rest.front() == '#';
}

Result<std::string> parse_double_quoted(std::string_view text) {
    std::string value;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '"') {
            if (!only_comment_left(text.substr(i + 1))) {
                return fail("unexpected text after the closing quote");
            }
            return value;
        }
        if (c == '\\' && i + 1 < text.size()) {
            const char next = text[++i];
            switch (next) {
            case 'n':
                value += '\n';
                break;
            case 'r':
                value += '\r';
                break;
            case 't':
                value += '\t';
                break;
            case '"':
            case '\\':
                value += next;
                break;
            default: // unknown escapes stay as written, as in most dotenv readers
                value += '\\';
                value += next;
            }
            continue;
        }
        value += c;
    }
    return fail("missing closing double quote");
}

Result<std::string> parse_single_quoted(std::string_view text) {
    const auto close = text.find('\'');
    if (close == std::string_view::npos)
        return fail("missing closing single quote");
    if (!only_comment_left(text.substr(close + 1))) {
        return fail("unexpected text after the closing quote");
    }
    return std::string(text.substr(0, close));
}

std::string parse_unquoted(std::string_view text) {
    // A comment starts at a '#' that follows a blank, so that "a#b" keeps its '#'.
    for (std::size_t i = 1; i < text.size(); ++i) {
        if (text[i] == '#' && is_blank(text[i - 1])) {
            text = text.substr(0, i);
            break;
        }
    }
    return std::string(trim(text));
}

Result<EnvFileEntry> parse_line(std::string_view line, int number) {
    const auto eq = line.find('=');
    if (eq == std::string_view::npos)
        return fail("expected NAME=value");
    std::string_view name = trim(line.substr(0, eq));
    if (name.starts_with("export") && name.size() > 6 && is_blank(name[6])) {
        name = trim(name.substr(6));
    }
    if (!valid_name(name))
        return fail("invalid variable name (expected [A-Za-z_][A-Za-z0-9_]*)");
    const std::string_view raw = trim(line.substr(eq + 1));
    Result<std::string> value = std::string{};
    if (!raw.empty() && raw.front() == '"') {
        value = parse_double_quoted(raw.substr(1));
    } else if (!raw.empty() && raw.front() == '\'') {
        value = parse_single_quoted(raw.substr(1));
    } else {
        value = parse_unquoted(raw);
    }
    if (!value)
        return fail(value.error().message + " in " + std::string(name));
    if (value->find('\0') != std::string::npos) {
        return fail("NUL byte in the value of " + std::string(name));
    }
    return EnvFileEntry{std::string(name), std::move(*value), number};
}

} // namespace

Result<std::vector<EnvFileEntry>> parse_env_file(std::string_view text) {
    std::vector<EnvFileEntry> entries;
    std::unordered_map<std::string, std::size_t> index_of;
    int number = 0;
    while (!text.empty()) {
        ++number;
        const auto newline = text.find('\n');
        std::string_view line = text.substr(0, newline);
        text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        const std::string_view content = trim(line);
        if (content.empty() || content.front() == '#')
            continue;
        auto entry = parse_line(content, number);
        if (!entry)
            return fail("line " + std::to_string(number) + ": " + entry.error().message);
        if (const auto it = index_of.find(entry->name); it != index_of.end()) {
            entries[it->second] = std::move(*entry);
        } else {
            index_of.emplace(entry->name, entries.size());
            entries.push_back(std::move(*entry));
        }
    }
    return entries;
}

Result<std::vector<EnvFileEntry>> read_env_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return fail(path + ": cannot open env file: " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad())
        return fail(path + ": cannot read env file");
    auto entries = parse_env_file(text.str());
    if (!entries)
        return fail(path + ": " + entries.error().message);
    return entries;
}

std::vector<std::string> apply_env_entries(const std::vector<EnvFileEntry>& entries) {
    std::vector<std::string> set;
    for (const auto& entry : entries) {
        if (std::getenv(entry.name.c_str()) != nullptr)
            continue;
        if (::setenv(entry.name.c_str(), entry.value.c_str(), 0) == 0)
            set.push_back(entry.name);
    }
    return set;
}

} // namespace keygate
