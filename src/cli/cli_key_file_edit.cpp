// Text-level rotation of one key entry: locate the entry by its line and indentation, then
// rewrite only the lines that change.
#include "cli/cli_key_file_edit.hpp"

#include "cli/cli_key_entry.hpp"

namespace keygate::cli {

namespace {

struct Line {
    std::string body; ///< without the line terminator
    std::string eol;  ///< "\n", "\r\n" or "" (last line without one)
};

std::vector<Line> split_lines(std::string_view text) {
    std::vector<Line> lines;
    while (!text.empty()) {
        const std::size_t newline = text.find('\n');
        if (newline == std::string_view::npos) {
            lines.push_back({std::string(text), ""});
            break;
        }
        std::string_view body = text.substr(0, newline);
        std::string eol = "\n";
        if (body.ends_with('\r')) {
            body.remove_suffix(1);
            eol = "\r\n";
        }
        lines.push_back({std::string(body), eol});
        text.remove_prefix(newline + 1);
    }
    return lines;
}

std::size_t indent_of(std::string_view body) {
    const std::size_t first = body.find_first_not_of(' ');
    return first == std::string_view::npos ? body.size() : first;
}

bool blank_or_comment(std::string_view body) {
    const std::size_t first = body.find_first_not_of(' ');
    return first == std::string_view::npos || body[first] == '#';
}

/// True for "- x", "-" and "-  # c" starting at `column`.
bool dash_at(std::string_view body, std::size_t column) {
    return column < body.size() && body[column] == '-' &&
           (column + 1 == body.size() || body[column + 1] == ' ');
}

/// The name of the mapping key written at `column` ("key_hash" for `key_hash: x` or
/// `"key_hash": x`), or "" when the text there is not a key.
std::string field_name(std::string_view body, std::size_t column) {
    if (column >= body.size())
        return "";
    std::string_view rest = body.substr(column);
    std::string name;
    std::size_t after = 0;
    if (rest.front() == '"' || rest.front() == '\'') {
        const std::size_t close = rest.find(rest.front(), 1);
        if (close == std::string_view::npos)
            return "";
        name = std::string(rest.substr(1, close - 1));
        after = close + 1;
    } else {
        const std::size_t colon = rest.find(':');
        if (colon == std::string_view::npos)
            return "";
        name = std::string(rest.substr(0, colon));
        after = colon;
        while (!name.empty() && name.back() == ' ')
            name.pop_back();
    }
    while (after < rest.size() && rest[after] == ' ')
        ++after;
    if (after >= rest.size() || rest[after] != ':')
        return "";
    if (after + 1 < rest.size() && rest[after + 1] != ' ')
        return "";
    return name;
}

/// The value written after the key on a field line, without a trailing comment.
std::string_view inline_value(std::string_view body, std::size_t column) {
    const std::size_t colon = body.find(':', column);
    std::string_view value = body.substr(colon + 1);
    const std::size_t first = value.find_first_not_of(' ');
    if (first == std::string_view::npos || value[first] == '#')
        return {};
    return value.substr(first);
}

std::string previous_item(const PreviousKeyText& item) {
    return "- {key_hash: \"" + item.key_hash + "\", expires_at: " + item.expires_at + "}";
}

struct Field {
    std::string name;
    std::size_t begin = 0;    ///< the field's line
    std::size_t core_end = 0; ///< one past its last non-comment line
    std::size_t end = 0;      ///< one past its last line (comments before the next field)
};

} // namespace

Result<EditedKeyFile> apply_secret_rotation(std::string_view file_text,
                                            const SecretRotation& rotation) {
    std::vector<Line> lines = split_lines(file_text);
    const std::string where = "the entry at line " + std::to_string(rotation.entry_line);
    if (rotation.entry_line < 1 || static_cast<std::size_t>(rotation.entry_line) > lines.size()) {
        return fail(where + " is outside the file");
    }

    // Where the entry starts, where its fields are indented, and its first field's line.
    std::size_t start = static_cast<std::size_t>(rotation.entry_line) - 1;
    std::size_t first = start;
    std::size_t column = indent_of(lines[start].body);
    if (dash_at(lines[start].body, column)) {
        const std::size_t after_dash = lines[start].body.find_first_not_of(' ', column + 1);
        if (after_dash == std::string::npos || lines[start].body[after_dash] == '#') {
            // "-" alone: the mapping starts on the next line that holds something.
            first = start + 1;
            while (first < lines.size() && blank_or_comment(lines[first].body))
                ++first;
            if (first == lines.size() || indent_of(lines[first].body) <= column) {
                return fail(where + " is not a mapping");
            }
            column = indent_of(lines[first].body);
        } else {
            column = after_dash;
        }
    } else if (start > 0) {
        // The loader may report the mapping's own line below a lone "-": take that dash too.
        std::size_t above = start;
        while (above > 0 && blank_or_comment(lines[above - 1].body))
            --above;
        if (above > 0) {
            const std::string& dash_line = lines[above - 1].body;
            const std::size_t dash = indent_of(dash_line);
            if (dash < column && dash_at(dash_line, dash) &&
                blank_or_comment(std::string_view(dash_line).substr(dash + 1))) {
                start = above - 1;
            }
        }
    }
    if (lines[first].body.size() > column && lines[first].body[column] == '{') {
        return fail(where + " is written in flow style ({...}); rotate edits block-style "
                            "entries only: apply the printed entry by hand");
    }
    if (field_name(lines[first].body, column).empty())
        return fail(where + " is not a mapping");

    // The entry ends before the first line that is indented less than its fields.
    std::size_t end = first + 1;
    while (end < lines.size() &&
           (blank_or_comment(lines[end].body) || indent_of(lines[end].body) >= column)) {
        ++end;
    }
    // Blank lines and outdented comments at its end belong to what follows.
    while (end > first + 1 && blank_or_comment(lines[end - 1].body) &&
           (indent_of(lines[end - 1].body) < column ||
            lines[end - 1].body.find_first_not_of(' ') == std::string::npos)) {
        --end;
    }

    std::vector<Field> fields;
    for (std::size_t i = first; i < end; ++i) {
        const std::string& body = lines[i].body;
        const bool starts_field =
            i == first ||
            (!blank_or_comment(body) && indent_of(body) == column && !dash_at(body, column));
        if (starts_field) {
            fields.push_back({field_name(body, column), i, i + 1, i + 1});
        } else {
            fields.back().end = i + 1;
            if (!blank_or_comment(body))
                fields.back().core_end = i + 1;
        }
    }

    const std::string eol = lines[first].eol.empty() ? "\n" : lines[first].eol;
    const std::string pad(column, ' ');
    const auto prefix_of = [&](std::size_t line) { return lines[line].body.substr(0, column); };
    bool has_id = false;
    int secret_fields = 0;
    for (const Field& field : fields) {
        has_id = has_id || field.name == "id";
        if (field.name == "key" || field.name == "key_hash")
            ++secret_fields;
    }
    if (secret_fields != 1)
        return fail(where + " does not have exactly one key or key_hash");

    std::vector<Line> out(lines.begin() + static_cast<std::ptrdiff_t>(start),
                          lines.begin() + static_cast<std::ptrdiff_t>(first));
    const auto copy = [&](std::size_t from, std::size_t to) {
        for (std::size_t i = from; i < to; ++i)
            out.push_back(lines[i]);
    };
    bool previous_written = false;
    for (const Field& field : fields) {
        if (field.name == "key" || field.name == "key_hash") {
            out.push_back(
                {prefix_of(field.begin) + "key_hash: \"" + rotation.new_key_hash + "\"", eol});
            if (!has_id && rotation.pin_id) {
                // The default id derives from the secret: pin it so the key keeps its id.
                out.push_back({pad + "id: " + yaml_quote(*rotation.pin_id), eol});
            }
            copy(field.core_end, field.end);
        } else if (field.name == "previous_keys") {
            previous_written = true;
            const std::string_view value = inline_value(lines[field.begin].body, column);
            std::size_t item_indent = std::string::npos;
            for (std::size_t i = field.begin + 1; i < field.core_end; ++i) {
                const std::size_t indent = indent_of(lines[i].body);
                if (dash_at(lines[i].body, indent)) {
                    item_indent = indent;
                    break;
                }
            }
            if (value.empty() && item_indent != std::string::npos) {
                copy(field.begin, field.core_end);
                out.push_back(
                    {std::string(item_indent, ' ') + previous_item(rotation.retired), eol});
            } else {
                out.push_back({prefix_of(field.begin) + "previous_keys:", eol});
                for (const PreviousKeyText& item : rotation.kept) {
                    out.push_back({pad + "  " + previous_item(item), eol});
                }
                out.push_back({pad + "  " + previous_item(rotation.retired), eol});
            }
            copy(field.core_end, field.end);
        } else {
            copy(field.begin, field.end);
        }
    }
    if (!previous_written) {
        out.push_back({pad + "previous_keys:", eol});
        out.push_back({pad + "  " + previous_item(rotation.retired), eol});
    }
    // A last line without a terminator stays without one; lines inserted after it need one.
    for (std::size_t i = 0; i + 1 < out.size(); ++i) {
        if (out[i].eol.empty())
            out[i].eol = eol;
    }
    out.back().eol = lines[end - 1].eol;

    EditedKeyFile result;
    result.first_line = static_cast<int>(start) + 1;
    const auto append = [](std::string& text, const Line& line) {
        text += line.body;
        text += line.eol;
    };
    for (std::size_t i = 0; i < start; ++i)
        append(result.text, lines[i]);
    for (const Line& line : out) {
        append(result.text, line);
        append(result.entry_text, line);
    }
    for (std::size_t i = end; i < lines.size(); ++i)
        append(result.text, lines[i]);
    return result;
}

} // namespace keygate::cli
