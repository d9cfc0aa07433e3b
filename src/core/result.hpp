#pragma once
// Errors as values: the core never lets an exception cross its API.
#include "core/expected.hpp"

#include <string>
#include <utility>

namespace keygate {

/// A failure carried as a value: a human-readable message that never holds a secret.
struct Error {
    std::string message;
};

/// The result of an operation of the core that can fail.
template <class T> using Result = Expected<T, Error>;

/// Builds the error side of a Result.
inline Unexpected<Error> fail(std::string message) {
    return Unexpected<Error>(Error{std::move(message)});
}

} // namespace keygate
