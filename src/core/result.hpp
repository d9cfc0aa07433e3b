#pragma once
// Errors as values: the core never lets an exception cross its API.
#include <expected>
#include <string>
#include <utility>

namespace keygate {

/// A failure carried as a value: a human-readable message that never holds a secret.
struct Error {
    std::string message;
};

/// The result of an operation of the core that can fail.
template <class T> using Result = std::expected<T, Error>;

/// Builds the error side of a Result.
inline std::unexpected<Error> fail(std::string message) {
    return std::unexpected(Error{std::move(message)});
}

} // namespace keygate
