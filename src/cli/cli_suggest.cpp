// Edit distance and the closest name.
#include "cli/cli_suggest.hpp"

#include <algorithm>
#include <numeric>
#include <vector>

namespace keygate::cli {

std::size_t edit_distance(std::string_view a, std::string_view b) {
    // One row of the dynamic-programming table at a time.
    std::vector<std::size_t> row(b.size() + 1);
    std::iota(row.begin(), row.end(), std::size_t{0});
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            const std::size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
            row[j] = std::min({above + 1, row[j - 1] + 1, substitute});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::optional<std::string_view> closest_name(std::string_view given,
                                             std::span<const std::string_view> candidates) {
    std::optional<std::string_view> best;
    std::size_t best_distance = 0;
    for (const std::string_view candidate : candidates) {
        const std::size_t distance = edit_distance(given, candidate);
        const std::size_t longer = std::max(given.size(), candidate.size());
        const std::size_t limit = std::min<std::size_t>(longer <= 3 ? 1 : 2, longer / 3 + 1);
        if (distance == 0 || distance > limit)
            continue;
        if (!best || distance < best_distance) {
            best = candidate;
            best_distance = distance;
        }
    }
    return best;
}

} // namespace keygate::cli
