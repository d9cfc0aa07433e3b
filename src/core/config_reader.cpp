// Strict readers of typed values for the config loader.
#include "core/config_reader.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <limits>

namespace keygate::loader {
namespace {

char lower(char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

/// Optimal-string-alignment distance (a swap of two neighbours counts 1), case ignored.
/// Names are short, so the quadratic table is cheap; longer inputs are not compared.
std::size_t edit_distance(std::string_view a, std::string_view b) {
    constexpr std::size_t k_max = 64;
    if (a.size() > k_max || b.size() > k_max)
        return std::numeric_limits<std::size_t>::max();
    std::array<std::array<std::size_t, k_max + 1>, k_max + 1> d{};
    for (std::size_t i = 0; i <= a.size(); ++i)
        d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j)
        d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
                lower(a[i - 2]) == lower(b[j - 1])) {
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
    }
    return d[a.size()][b.size()];
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
    return prefix.size() <= text.size() &&
           std::equal(prefix.begin(), prefix.end(), text.begin(),
                      [](char a, char b) { return lower(a) == lower(b); });
}

/// The nearest candidate within edit distance 2 (but never more than half the candidate:
/// "x" is not a typo of "id"); failing that, one that the name starts or is the start of
/// ("expires" -> "expires_at"), for names of 4 characters or more.
template <class Range>
std::optional<std::size_t> closest_index(std::string_view name, const Range& candidates) {
    std::optional<std::size_t> best;
    std::optional<std::size_t> by_prefix;
    std::size_t best_distance = 3;
    std::size_t index = 0;
    for (const auto& candidate : candidates) {
        const std::string_view c(candidate);
        const std::size_t d = edit_distance(name, c);
        if (d < best_distance && d * 2 <= c.size()) {
            best = index;
            best_distance = d;
        }
        const bool prefix =
            name.size() >= 4 && c.size() >= 4 &&
            (starts_with_ignoring_case(c, name) || starts_with_ignoring_case(name, c));
        if (prefix && !by_prefix)
            by_prefix = index;
        ++index;
    }
    return best ? best : by_prefix;
}

bool all_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

} // namespace

std::optional<std::string_view> closest_name(std::string_view name,
                                             std::initializer_list<std::string_view> candidates) {
    const auto i = closest_index(name, candidates);
    if (!i)
        return std::nullopt;
    return *(candidates.begin() + static_cast<std::ptrdiff_t>(*i));
}

std::optional<std::string> closest_name(std::string_view name,
                                        const std::vector<std::string>& candidates) {
    const auto i = closest_index(name, candidates);
    if (!i)
        return std::nullopt;
    return candidates[*i];
}

bool has_control_character(std::string_view text) {
    return std::any_of(text.begin(), text.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
    });
}

std::string cat(std::initializer_list<std::string_view> parts) {
    std::size_t size = 0;
    for (const std::string_view part : parts)
        size += part.size();
    std::string out;
    out.reserve(size);
    for (const std::string_view part : parts)
        out.append(part);
    return out;
}

std::string quoted(std::string_view text) {
    // A long text is cut to its first 16 characters: enough to recognize a name, and no
    // more than a key's prefix should a key have been pasted as a field name.
    constexpr std::size_t k_max = 40;
    constexpr std::size_t k_cut = 16;
    std::string out;
    out.reserve(k_max + 2);
    out += '\'';
    if (text.size() > k_max) {
        out.append(text.substr(0, k_cut));
        out += "...";
    } else {
        out.append(text);
    }
    out += '\'';
    return out;
}

std::string Reader::describe(NodeId id, bool quote_value) const {
    switch (doc_.kind(id)) {
    case NodeKind::map:
        return "a map";
    case NodeKind::sequence:
        return "a list";
    case NodeKind::alias:
        return "an alias";
    case NodeKind::null:
        return "empty";
    case NodeKind::scalar:
        break;
    }
    if (doc_.node(id).quoted)
        return "a quoted string";
    const std::string_view text = doc_.text(id);
    // A value is quoted back only where a number or a boolean was expected, and only when
    // short: a key pasted into the wrong place must never be echoed.
    if (quote_value && text.size() <= 16)
        return quoted(text);
    if (text == "true" || text == "false")
        return "a boolean";
    const std::string_view digits = text.substr(text[0] == '-' ? 1 : 0);
    if (!digits.empty() && std::all_of(digits.begin(), digits.end(),
                                       [](char c) { return (c >= '0' && c <= '9') || c == '.'; })) {
        return "a number";
    }
    return "a string";
}

void Reader::wrong_type(NodeId id, std::string_view subject, std::string_view expected) const {
    report_type(id, subject, expected, false);
}

void Reader::wrong_value(NodeId id, std::string_view subject, std::string_view expected) const {
    report_type(id, subject, expected, true);
}

void Reader::report_type(NodeId id, std::string_view subject, std::string_view expected,
                         bool quote_value) const {
    if (doc_.kind(id) == NodeKind::alias)
        return;
    if (doc_.kind(id) == NodeKind::null) {
        out_.error(place(id), cat({subject, " has no value"}));
        return;
    }
    out_.error(place(id),
               cat({subject, " must be ", expected, ", not ", describe(id, quote_value)}));
}

bool Reader::expect_map(NodeId id, std::string_view field) const {
    if (doc_.kind(id) == NodeKind::map)
        return true;
    wrong_type(id, cat({"'", field, "'"}), "a map");
    return false;
}

bool Reader::expect_list(NodeId id, std::string_view field) const {
    if (doc_.kind(id) == NodeKind::sequence)
        return true;
    wrong_type(id, cat({"'", field, "'"}), "a list");
    return false;
}

std::optional<std::string_view> Reader::scalar(NodeId id, std::string_view field,
                                               std::string_view expected) const {
    if (doc_.kind(id) != NodeKind::scalar) {
        wrong_type(id, field, expected);
        return std::nullopt;
    }
    return doc_.text(id);
}

std::optional<std::string> Reader::string(NodeId id, std::string_view field) const {
    const std::string subject = cat({"'", field, "'"});
    const auto text = scalar(id, subject, "a string");
    if (!text)
        return std::nullopt;
    if (text->empty()) {
        out_.error(place(id), subject + " must not be empty");
        return std::nullopt;
    }
    return std::string(*text);
}

std::optional<std::string> Reader::name(NodeId id, std::string_view field) const {
    auto text = string(id, field);
    if (text && has_control_character(*text)) {
        out_.error(place(id), cat({"'", field, "' must not contain control characters"}));
        return std::nullopt;
    }
    return text;
}

std::optional<std::uint64_t> Reader::integer(NodeId id, std::string_view field,
                                             std::uint64_t min) const {
    const std::string subject = cat({"'", field, "'"});
    const auto text = scalar(id, subject, "a decimal integer");
    if (!text)
        return std::nullopt;
    const bool negative = text->size() > 1 && (*text)[0] == '-' && all_digits(text->substr(1));
    if (negative) {
        out_.error(place(id), subject + " must be at least " + std::to_string(min));
        return std::nullopt;
    }
    // Decimal only: no sign, no 0x, no exponent, no leading zero (YAML 1.1 reads 010 as 8).
    const bool decimal = all_digits(*text) && ((*text)[0] != '0' || text->size() == 1);
    if (doc_.node(id).quoted || !decimal) {
        wrong_value(id, subject, "a decimal integer");
        return std::nullopt;
    }
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc{} || end != text->data() + text->size()) {
        out_.error(place(id), subject + " is too large");
        return std::nullopt;
    }
    if (value < min) {
        out_.error(place(id), subject + " must be at least " + std::to_string(min));
        return std::nullopt;
    }
    return value;
}

std::optional<double> Reader::number(NodeId id, std::string_view field, double min) const {
    const std::string subject = cat({"'", field, "'"});
    const auto text = scalar(id, subject, "a number");
    if (!text)
        return std::nullopt;
    const std::string_view whole = text->substr(0, text->find('.'));
    const bool has_fraction = whole.size() != text->size();
    const std::string_view fraction = has_fraction ? text->substr(whole.size() + 1) : "0";
    const bool valid =
        all_digits(whole) && (whole[0] != '0' || whole.size() == 1) && all_digits(fraction);
    double value = 0;
    if (doc_.node(id).quoted || !valid ||
        std::from_chars(text->data(), text->data() + text->size(), value).ec != std::errc{}) {
        wrong_value(id, subject, "a number");
        return std::nullopt;
    }
    if (value < min) {
        std::string shown = std::to_string(min);
        shown.erase(shown.find_last_not_of('0') + 1);
        if (shown.back() == '.')
            shown.pop_back();
        out_.error(place(id), subject + " must be at least " + shown);
        return std::nullopt;
    }
    return value;
}

std::optional<bool> Reader::boolean(NodeId id, std::string_view field) const {
    const std::string subject = cat({"'", field, "'"});
    const auto text = scalar(id, subject, "true or false");
    if (!text)
        return std::nullopt;
    if (!doc_.node(id).quoted) {
        if (*text == "true")
            return true;
        if (*text == "false")
            return false;
    }
    wrong_value(id, subject, "true or false");
    return std::nullopt;
}

std::optional<Duration> Reader::duration(NodeId id, std::string_view field, bool positive) const {
    const std::string subject = cat({"'", field, "'"});
    const auto text = scalar(id, subject, "a duration");
    if (!text)
        return std::nullopt;
    const auto value = parse_duration(*text);
    if (!value) {
        out_.error(place(id), "bad duration " + quoted(*text) + " for " + subject + ": " +
                                  value.error().message);
        return std::nullopt;
    }
    if (positive && value->count() <= 0) {
        out_.error(place(id), subject + " must be more than 0s");
        return std::nullopt;
    }
    return *value;
}

std::optional<TimePoint> Reader::timestamp(NodeId id, std::string_view field) const {
    const std::string subject = cat({"'", field, "'"});
    const auto text = scalar(id, subject, "a timestamp");
    if (!text)
        return std::nullopt;
    const auto value = parse_timestamp(*text);
    if (!value) {
        out_.error(place(id), "bad timestamp " + quoted(*text) + " for " + subject + ": " +
                                  value.error().message);
        return std::nullopt;
    }
    return *value;
}

std::optional<std::vector<std::string>> Reader::strings(NodeId id, std::string_view field) const {
    if (!expect_list(id, field))
        return std::nullopt;
    const std::string subject = cat({"each item of '", field, "'"});
    std::vector<std::string> values;
    values.reserve(doc_.size(id));
    bool ok = true;
    doc_.for_each_item(id, [&](NodeId item) {
        const auto text = scalar(item, subject, "a string");
        if (!text) {
            ok = false;
        } else if (text->empty()) {
            out_.error(place(item), subject + " must not be empty");
            ok = false;
        } else if (text->find(',') != std::string_view::npos || has_control_character(*text)) {
            out_.error(place(item), subject + " must not contain commas or control characters");
            ok = false;
        } else {
            values.emplace_back(*text);
        }
    });
    if (!ok)
        return std::nullopt;
    return values;
}

std::optional<std::vector<Cidr>> Reader::cidrs(NodeId id, std::string_view field) const {
    if (!expect_list(id, field))
        return std::nullopt;
    const std::string subject = cat({"each item of '", field, "'"});
    std::vector<Cidr> values;
    values.reserve(doc_.size(id));
    bool ok = true;
    doc_.for_each_item(id, [&](NodeId item) {
        const auto text = scalar(item, subject, "an address or cidr");
        if (!text) {
            ok = false;
            return;
        }
        auto cidr = parse_cidr(*text);
        if (!cidr) {
            out_.error(place(item), cat({"bad cidr in '", field, "': ", cidr.error().message}));
            ok = false;
            return;
        }
        values.push_back(std::move(*cidr));
    });
    if (!ok)
        return std::nullopt;
    return values;
}

void Reader::unknown_field(NodeId key, std::initializer_list<std::string_view> known,
                           std::string_view where) const {
    const std::string_view name = doc_.text(key);
    if (name == "<<" && !doc_.node(key).quoted) {
        // The merge key of YAML 1.1: it needs an alias, which is refused anyway.
        out_.error(place(key), "yaml merge keys ('<<') are not allowed");
        return;
    }
    std::string message = "unknown field " + quoted(name);
    if (!where.empty())
        message += " in " + std::string(where);
    if (const auto hint = closest_name(name, known)) {
        message += cat({"; did you mean '", *hint, "'?"});
    }
    out_.error(place(key), std::move(message));
}

} // namespace keygate::loader
