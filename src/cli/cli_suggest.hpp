#pragma once
// "Did you mean" for mistyped commands and options: the closest known name by edit
// distance, when it is close enough to be a typo rather than another word.
#include <optional>
#include <span>
#include <string_view>

namespace keygate::cli {

/// The Levenshtein distance of `a` and `b` (insertions, deletions, substitutions).
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `given`, if it is at most 2 edits away (1 for names of up to 3
/// characters) and no farther than a third of the longer name; the first one on a tie.
std::optional<std::string_view> closest_name(std::string_view given,
                                             std::span<const std::string_view> candidates);

} // namespace keygate::cli
