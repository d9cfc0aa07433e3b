// The fast path of the YAML parse: a line-oriented parser for the plain block subset.
// Every rule below errs on the side of giving up: a false "yes" would make the loader
// disagree with yaml-cpp, a false "no" only costs time.
#include "core/yaml_simple_parser.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <yaml-cpp/emitterstyle.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/mark.h>

namespace keygate::yaml {
namespace {

/// yaml-cpp refuses a key longer than 1024 characters ("illegal map value"); longer ones,
/// and a margin below, are left to it.
constexpr std::size_t k_max_simple_key = 1000;

/// A line with content (not blank, not only a comment), or the rest of one after "- ".
struct Line {
    std::size_t begin = 0; ///< offset of the first character to read
    std::size_t end = 0;   ///< offset of the line's end (before "\r\n" or "\n")
    int number = 0;        ///< 0-based, as YAML::Mark
    int column = 0;        ///< column of `begin`: the indentation of a whole line
};

bool is_plain_start(char c) {
    // Indicators that start something else than a plain scalar ('-', '?' and ':' are
    // handled by the callers).
    switch (c) {
    case ',':
    case '[':
    case ']':
    case '{':
    case '}':
    case '#':
    case '&':
    case '*':
    case '!':
    case '|':
    case '>':
    case '\'':
    case '"':
    case '%':
    case '@':
    case '`':
    case ' ':
        return false;
    default:
        return true;
    }
}

/// C1 controls (U+0080..U+009F, NEL among them), U+2028, U+2029 and U+FEFF, from the
/// UTF-8 bytes that start at the front of `bytes`.
bool unusual_code_point(std::string_view bytes) {
    const auto at = [&](std::size_t i) {
        return i < bytes.size() ? static_cast<unsigned char>(bytes[i]) : 0;
    };
    if (at(0) == 0xc2)
        return at(1) <= 0x9f;
    if (at(0) == 0xe2)
        return at(1) == 0x80 && (at(2) == 0xa8 || at(2) == 0xa9);
    if (at(0) == 0xef)
        return at(1) == 0xbb && at(2) == 0xbf;
    return false;
}

class SimpleParser {
  public:
    SimpleParser(std::string_view text, YAML::EventHandler& handler)
        : text_(text), handler_(handler), views_(dynamic_cast<ScalarViewHandler*>(&handler)) {}

    bool parse() {
        if (!scan_file())
            return false;
        const auto first = peek();
        if (!first)
            return !unsupported_; // only comments: no document, as yaml-cpp
        handler_.OnDocumentStart(mark(first->begin, first->number, first->column));
        if (!block_node(*first))
            return false;
        if (peek())
            return false; // content after the top node: leave it to yaml-cpp
        handler_.OnDocumentEnd();
        return !unsupported_;
    }

  private:
    /// Refuses, in one pass, what the subset never holds anywhere: tabs, control
    /// characters (yaml-cpp drops DEL and NEL), a lone CR, Unicode line and paragraph
    /// separators and byte order marks.
    bool scan_file() const {
        for (std::size_t i = 0; i < text_.size(); ++i) {
            const auto u = static_cast<unsigned char>(text_[i]);
            if (u >= 0x20 && u < 0x7f)
                continue; // printable ASCII: nearly all of a key file
            if (u == '\n')
                continue;
            if (u == '\r' && i + 1 < text_.size() && text_[i + 1] == '\n')
                continue;
            if (u < 0x80)
                return false;
            if (u >= 0xc2 && u != 0xc3 && unusual_code_point(text_.substr(i, 3)))
                return false;
        }
        return true;
    }

    static YAML::Mark mark(std::size_t pos, int line, int column) {
        YAML::Mark m;
        m.pos = static_cast<int>(pos);
        m.line = line;
        m.column = column;
        return m;
    }
    YAML::Mark mark_at(const Line& line, std::size_t pos) const {
        return mark(pos, line.number, line.column + static_cast<int>(pos - line.begin));
    }

    /// The next line with content, from the read position, without consuming it. A
    /// directive or a document marker ends the text here and marks it unsupported.
    std::optional<Line> peek() const {
        if (peeked_at_ == pos_)
            return peeked_;
        peeked_at_ = pos_;
        peeked_.reset();
        std::size_t pos = pos_;
        int number = line_number_;
        while (pos < text_.size()) {
            std::size_t end = text_.find('\n', pos);
            const std::size_t next = end == std::string_view::npos ? text_.size() : end + 1;
            if (end == std::string_view::npos)
                end = text_.size();
            if (end > pos && text_[end - 1] == '\r')
                --end;
            const std::string_view line = text_.substr(pos, end - pos);
            if (line.starts_with('%') || line.starts_with("---") || line.starts_with("...")) {
                unsupported_ = true;
                return peeked_;
            }
            std::size_t first = pos;
            while (first < end && text_[first] == ' ')
                ++first;
            if (first < end && text_[first] != '#') {
                peeked_ = Line{first, end, number, static_cast<int>(first - pos)};
                return peeked_;
            }
            pos = next;
            ++number;
        }
        return peeked_;
    }

    /// Moves the read position past `line`.
    void consume(const Line& line) {
        pos_ = line.end;
        if (pos_ < text_.size() && text_[pos_] == '\r')
            ++pos_;
        if (pos_ < text_.size() && text_[pos_] == '\n')
            ++pos_;
        line_number_ = line.number + 1;
    }

    /// Where yaml-cpp marks the empty value of a key of the map at `indent`: at the next
    /// token. At the end of the text that is the end of the map, where yaml-cpp's scanner
    /// stands after the last spaces and comments, except that when it stands at or beyond
    /// the map's indentation it first moves to column 0 (Scanner::EndStream).
    YAML::Mark next_token_mark(int indent) const {
        if (const auto next = peek())
            return mark(next->begin, next->number, next->column);
        const auto newlines = std::count(text_.begin(), text_.end(), '\n');
        const std::size_t last_newline = text_.rfind('\n');
        const std::size_t line_start =
            last_newline == std::string_view::npos ? 0 : last_newline + 1;
        const int column = static_cast<int>(text_.size() - line_start);
        return mark(text_.size(), static_cast<int>(newlines), column < indent ? column : 0);
    }

    /// yaml-cpp turns a plain "~", "null", "Null" or "NULL" into a null event.
    void plain_scalar(const YAML::Mark& at, std::string_view text) {
        if (text == "~" || text == "null" || text == "Null" || text == "NULL") {
            handler_.OnNull(at, 0);
        } else {
            if (views_ != nullptr) {
                views_->OnScalarView(at, false, text);
            } else {
                handler_.OnScalar(at, "?", 0, std::string(text));
            }
        }
    }

    /// A quoted scalar at `pos`: sent as a view of the text when it holds no escape and the
    /// handler takes views, else decoded. Returns the offset after its closing quote.
    std::optional<std::size_t> quoted_scalar(const Line& line, std::size_t pos) {
        std::string value;
        const auto after = quoted(line, pos, value);
        if (!after)
            return after;
        if (views_ != nullptr && *after - pos - 2 == value.size()) {
            views_->OnScalarView(mark_at(line, pos), true, text_.substr(pos + 1, value.size()));
        } else {
            handler_.OnScalar(mark_at(line, pos), "!", 0, value);
        }
        return after;
    }

    bool is_entry_dash(const Line& line) const {
        return text_[line.begin] == '-' &&
               (line.begin + 1 == line.end || text_[line.begin + 1] == ' ');
    }

    /// Only spaces and an optional comment (after a space) from `pos` to the line's end.
    bool rest_is_empty(const Line& line, std::size_t pos) const {
        const std::size_t start = pos;
        while (pos < line.end && text_[pos] == ' ')
            ++pos;
        return pos == line.end || (text_[pos] == '#' && pos > start);
    }

    bool block_node(const Line& line) {
        if (is_entry_dash(line))
            return block_sequence(line);
        return block_map(line);
    }

    bool block_sequence(const Line& first) {
        handler_.OnSequenceStart(mark_at(first, first.begin), "?", 0, YAML::EmitterStyle::Block);
        Line line = first;
        for (;;) {
            std::size_t pos = line.begin + 1;
            while (pos < line.end && text_[pos] == ' ')
                ++pos;
            if (pos == line.end || text_[pos] == '#') {
                // "-" alone: the item is the block below it; an empty item is left to yaml-cpp.
                consume(line);
                const auto below = peek();
                if (!below || below->column <= first.column || !block_node(*below))
                    return false;
            } else {
                Line rest{pos, line.end, line.number,
                          line.column + static_cast<int>(pos - line.begin)};
                if (is_entry_dash(rest))
                    return false; // "- - a"
                if (key_end(rest)) {
                    if (!block_map(rest))
                        return false;
                } else {
                    if (!inline_value(rest, pos))
                        return false;
                    consume(line);
                }
            }
            const auto next = peek();
            if (!next || next->column < first.column)
                break;
            if (next->column > first.column)
                return false;
            if (!is_entry_dash(*next))
                break; // the map that holds this list goes on
            line = *next;
        }
        handler_.OnSequenceEnd();
        return true;
    }

    bool block_map(const Line& first) {
        handler_.OnMapStart(mark_at(first, first.begin), "?", 0, YAML::EmitterStyle::Block);
        Line line = first;
        for (;;) {
            const auto colon = key_end(line);
            if (!colon || !emit_key(line, *colon))
                return false;
            const std::size_t value = *colon + 1;
            if (rest_is_empty(line, value)) {
                consume(line);
                const auto below = peek();
                if (below && below->column > first.column) {
                    if (!block_node(*below))
                        return false;
                } else if (below && below->column == first.column && is_entry_dash(*below)) {
                    // "key:" then "- item" at the key's own indentation.
                    if (!block_sequence(*below))
                        return false;
                } else {
                    handler_.OnNull(next_token_mark(first.column), 0);
                }
            } else {
                std::size_t pos = value;
                while (text_[pos] == ' ')
                    ++pos;
                if (!inline_value(line, pos))
                    return false;
                consume(line);
            }
            const auto next = peek();
            if (!next || next->column < first.column)
                break;
            if (next->column > first.column || is_entry_dash(*next))
                return false;
            line = *next;
        }
        handler_.OnMapEnd();
        return true;
    }

    /// The offset of the ':' that ends the key at the start of `line`, when the line is a
    /// "key: value" entry with a key of the subset.
    std::optional<std::size_t> key_end(const Line& line) const {
        std::size_t pos = line.begin;
        const char c = text_[pos];
        if (c == '"' || c == '\'') {
            std::string ignored;
            const auto after = quoted(line, pos, ignored);
            if (!after)
                return std::nullopt;
            pos = *after;
            while (pos < line.end && text_[pos] == ' ')
                ++pos;
        } else {
            if (!is_plain_start(c) || c == '-' || c == '?' || c == ':')
                return std::nullopt;
            while (pos < line.end) {
                const char k = text_[pos];
                if (k == ':' && (pos + 1 == line.end || text_[pos + 1] == ' '))
                    break;
                // Flow indicators and comments inside a key: not worth the corner cases.
                if (k == '[' || k == ']' || k == '{' || k == '}' || k == ',' || k == '#') {
                    return std::nullopt;
                }
                ++pos;
            }
        }
        if (pos >= line.end || text_[pos] != ':')
            return std::nullopt;
        if (pos + 1 != line.end && text_[pos + 1] != ' ')
            return std::nullopt;
        if (pos - line.begin > k_max_simple_key)
            return std::nullopt;
        return pos;
    }

    bool emit_key(const Line& line, std::size_t colon) {
        const char c = text_[line.begin];
        if (c == '"' || c == '\'')
            return quoted_scalar(line, line.begin).has_value();
        std::size_t end = colon;
        while (end > line.begin && text_[end - 1] == ' ')
            --end;
        plain_scalar(mark_at(line, line.begin), text_.substr(line.begin, end - line.begin));
        return true;
    }

    /// A value that starts at `pos` and fills the rest of the line: a flow collection, a
    /// quoted scalar or a plain scalar.
    bool inline_value(const Line& line, std::size_t pos) {
        const char c = text_[pos];
        std::optional<std::size_t> after;
        if (c == '[' || c == '{') {
            after = flow_node(line, pos, 0);
        } else if (c == '"' || c == '\'') {
            after = quoted_scalar(line, pos);
        } else {
            if (!is_plain_start(c) || c == ',' || c == ']' || c == '}')
                return false;
            if ((c == '-' || c == '?' || c == ':') &&
                (pos + 1 == line.end || text_[pos + 1] == ' ')) {
                return false;
            }
            std::size_t end = pos;
            while (end < line.end) {
                const char k = text_[end];
                if (k == ' ' && end + 1 < line.end && text_[end + 1] == '#')
                    break;
                // ": " inside a plain value is a nested map: an error for yaml-cpp.
                if (k == ':' && (end + 1 == line.end || text_[end + 1] == ' '))
                    return false;
                ++end;
            }
            std::size_t trimmed = end;
            while (trimmed > pos && text_[trimmed - 1] == ' ')
                --trimmed;
            plain_scalar(mark_at(line, pos), text_.substr(pos, trimmed - pos));
            after = end;
        }
        return after && rest_is_empty(line, *after);
    }

    /// A flow node on one line; returns the offset after it.
    std::optional<std::size_t> flow_node(const Line& line, std::size_t pos, int depth) {
        // Deeply nested flow is left to yaml-cpp, whose depth error the builder reports.
        if (depth > 32)
            return std::nullopt;
        while (pos < line.end && text_[pos] == ' ')
            ++pos;
        if (pos >= line.end)
            return std::nullopt;
        const char c = text_[pos];
        if (c == '[')
            return flow_sequence(line, pos, depth);
        if (c == '{')
            return flow_map(line, pos, depth);
        if (c == '"' || c == '\'')
            return quoted_scalar(line, pos);
        const auto end = flow_plain_end(line, pos);
        if (!end)
            return std::nullopt;
        std::size_t trimmed = *end;
        while (trimmed > pos && text_[trimmed - 1] == ' ')
            --trimmed;
        plain_scalar(mark_at(line, pos), text_.substr(pos, trimmed - pos));
        return end;
    }

    /// The end of a plain scalar in a flow collection (before ',', ']', '}', or ": ").
    std::optional<std::size_t> flow_plain_end(const Line& line, std::size_t pos) const {
        const char c = text_[pos];
        if (!is_plain_start(c) || c == '-' || c == '?' || c == ':') {
            // "-5s" is a plain scalar; a lone '-', '?' or ':' start is left to yaml-cpp.
            if (!(c == '-' && pos + 1 < line.end &&
                  std::isalnum(static_cast<unsigned char>(text_[pos + 1])))) {
                return std::nullopt;
            }
        }
        std::size_t end = pos;
        while (end < line.end) {
            const char k = text_[end];
            if (k == ',' || k == ']' || k == '}')
                break;
            if (k == '[' || k == '{' || k == '?' || k == '#')
                return std::nullopt;
            if (k == ':') {
                const char n = end + 1 < line.end ? text_[end + 1] : ' ';
                if (n == ' ' || n == ',' || n == ']' || n == '}')
                    break;
            }
            ++end;
        }
        return end < line.end ? std::optional<std::size_t>(end) : std::nullopt;
    }

    std::optional<std::size_t> flow_sequence(const Line& line, std::size_t pos, int depth) {
        handler_.OnSequenceStart(mark_at(line, pos), "?", 0, YAML::EmitterStyle::Flow);
        ++pos;
        while (pos < line.end && text_[pos] == ' ')
            ++pos;
        if (pos < line.end && text_[pos] == ']') {
            handler_.OnSequenceEnd();
            return pos + 1;
        }
        for (;;) {
            const auto after = flow_node(line, pos, depth + 1);
            if (!after)
                return std::nullopt;
            pos = *after;
            while (pos < line.end && text_[pos] == ' ')
                ++pos;
            if (pos >= line.end)
                return std::nullopt;
            // ": " after an item makes a one-pair map: left to yaml-cpp.
            if (text_[pos] == ']')
                break;
            if (text_[pos] != ',')
                return std::nullopt;
            ++pos;
            while (pos < line.end && text_[pos] == ' ')
                ++pos;
            if (pos >= line.end || text_[pos] == ']' || text_[pos] == ',')
                return std::nullopt;
        }
        handler_.OnSequenceEnd();
        return pos + 1;
    }

    std::optional<std::size_t> flow_map(const Line& line, std::size_t pos, int depth) {
        handler_.OnMapStart(mark_at(line, pos), "?", 0, YAML::EmitterStyle::Flow);
        ++pos;
        while (pos < line.end && text_[pos] == ' ')
            ++pos;
        if (pos < line.end && text_[pos] == '}') {
            handler_.OnMapEnd();
            return pos + 1;
        }
        for (;;) {
            // The key: a scalar, followed by ": ".
            if (pos >= line.end || text_[pos] == '[' || text_[pos] == '{')
                return std::nullopt;
            const std::size_t key_begin = pos;
            const auto key_after = flow_node(line, pos, depth + 1);
            if (!key_after || *key_after - key_begin > k_max_simple_key)
                return std::nullopt;
            pos = *key_after;
            while (pos < line.end && text_[pos] == ' ')
                ++pos;
            if (pos + 1 >= line.end || text_[pos] != ':' || text_[pos + 1] != ' ') {
                return std::nullopt;
            }
            pos += 2;
            while (pos < line.end && text_[pos] == ' ')
                ++pos;
            if (pos >= line.end || text_[pos] == ',' || text_[pos] == '}')
                return std::nullopt;
            const auto value_after = flow_node(line, pos, depth + 1);
            if (!value_after)
                return std::nullopt;
            pos = *value_after;
            while (pos < line.end && text_[pos] == ' ')
                ++pos;
            if (pos >= line.end)
                return std::nullopt;
            if (text_[pos] == '}')
                break;
            if (text_[pos] != ',')
                return std::nullopt;
            ++pos;
            while (pos < line.end && text_[pos] == ' ')
                ++pos;
            if (pos >= line.end || text_[pos] == '}' || text_[pos] == ',')
                return std::nullopt;
        }
        handler_.OnMapEnd();
        return pos + 1;
    }

    /// A quoted scalar that closes on its line; its text goes to `value`. Returns the offset
    /// after the closing quote.
    std::optional<std::size_t> quoted(const Line& line, std::size_t pos, std::string& value) const {
        const char quote = text_[pos];
        value.clear();
        // Most quoted values have no escape: copied in one go.
        const std::size_t special =
            text_.substr(0, line.end)
                .find_first_of(quote == '"' ? std::string_view("\"\\") : std::string_view("'"),
                               pos + 1);
        if (special == std::string_view::npos)
            return std::nullopt;
        if (text_[special] == quote &&
            (quote == '"' || special + 1 >= line.end || text_[special + 1] != '\'')) {
            value.assign(text_.substr(pos + 1, special - pos - 1));
            return special + 1;
        }
        for (std::size_t i = pos + 1; i < line.end; ++i) {
            const char c = text_[i];
            if (quote == '\'') {
                if (c != '\'') {
                    value += c;
                } else if (i + 1 < line.end && text_[i + 1] == '\'') {
                    value += '\'';
                    ++i;
                } else {
                    return i + 1;
                }
                continue;
            }
            if (c == '"')
                return i + 1;
            if (c != '\\') {
                value += c;
                continue;
            }
            if (++i >= line.end)
                return std::nullopt;
            switch (text_[i]) {
            case '\\':
                value += '\\';
                break;
            case '"':
                value += '"';
                break;
            case '/':
                value += '/';
                break;
            case 'n':
                value += '\n';
                break;
            case 't':
                value += '\t';
                break;
            case 'r':
                value += '\r';
                break;
            default:
                return std::nullopt;
            }
        }
        return std::nullopt;
    }

    std::string_view text_;
    YAML::EventHandler& handler_;
    ScalarViewHandler* views_; ///< the handler, when it takes views; else nullptr
    std::size_t pos_ = 0;      ///< start of the first line not read yet
    int line_number_ = 0;      ///< its 0-based number
    // peek() is called several times per line: it keeps its last answer.
    mutable std::size_t peeked_at_ = std::string_view::npos;
    mutable std::optional<Line> peeked_;
    mutable bool unsupported_ = false; ///< a directive or document marker was seen
};

} // namespace

bool parse_simple_subset(std::string_view text, YAML::EventHandler& handler) {
    return SimpleParser(text, handler).parse();
}

} // namespace keygate::yaml
