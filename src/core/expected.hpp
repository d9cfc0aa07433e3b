#pragma once
// keygate::Expected / keygate::Unexpected: std::expected and std::unexpected where the standard
// library provides them (GCC 12), else a minimal stand-in with the members keygate uses.
// The stand-in exists for the clang++-14 fuzz build: libstdc++ 12 guards <expected> behind
// __cpp_concepts >= 202002L, and clang 14 reports 201907. It is compiled everywhere (in
// keygate::expected_fallback), so that the GCC build's unit tests check it too.
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>
#include <version>

namespace keygate::expected_fallback {

/// The error side of an Expected: wraps an E so that it cannot be mistaken for a value.
template <class E> class Unexpected {
  public:
    template <class Err = E>
    requires(!std::is_same_v<std::remove_cvref_t<Err>, Unexpected> &&
             std::is_constructible_v<E, Err>) constexpr explicit Unexpected(Err&& error)
        : error_(std::forward<Err>(error)) {}

    constexpr const E& error() const& noexcept { return error_; }
    constexpr E& error() & noexcept { return error_; }
    constexpr E&& error() && noexcept { return std::move(error_); }

  private:
    E error_;
};

template <class E> Unexpected(E) -> Unexpected<E>;

/// Thrown by Expected::value() when it holds an error (as std::bad_expected_access would be).
class BadExpectedAccess : public std::exception {
  public:
    const char* what() const noexcept override { return "bad expected access"; }
};

/// A value of type T or an error of type E: the subset of std::expected keygate uses.
template <class T, class E> class Expected {
  public:
    using value_type = T;
    using error_type = E;
    using unexpected_type = Unexpected<E>;

    constexpr Expected() requires std::is_default_constructible_v<T>
        : storage_(std::in_place_index<0>) {}

    template <class U = T>
    requires(!std::is_same_v<std::remove_cvref_t<U>, Expected> &&
             !std::is_same_v<std::remove_cvref_t<U>, std::in_place_t> &&
             std::is_constructible_v<T, U>) constexpr explicit(!std::is_convertible_v<U, T>)
        Expected(U&& value)
        : storage_(std::in_place_index<0>, std::forward<U>(value)) {}

    template <class G>
    requires std::is_constructible_v<E, const G&>
    constexpr Expected(const Unexpected<G>& error)
        : storage_(std::in_place_index<1>, error.error()) {}

    template <class G>
    requires std::is_constructible_v<E, G>
    constexpr Expected(Unexpected<G>&& error)
        : storage_(std::in_place_index<1>, std::move(error).error()) {}

    template <class... Args>
    constexpr explicit Expected(std::in_place_t, Args&&... args)
        : storage_(std::in_place_index<0>, std::forward<Args>(args)...) {}

    constexpr bool has_value() const noexcept { return storage_.index() == 0; }
    constexpr explicit operator bool() const noexcept { return has_value(); }

    // std::get rather than *std::get_if: a misuse terminates (noexcept) instead of dereferencing
    // null, and GCC 12 at -O2 would report *get_if as a potential null dereference.
    constexpr const T& operator*() const& noexcept { return std::get<0>(storage_); }
    constexpr T& operator*() & noexcept { return std::get<0>(storage_); }
    constexpr T&& operator*() && noexcept { return std::move(std::get<0>(storage_)); }
    constexpr const T* operator->() const noexcept { return std::addressof(std::get<0>(storage_)); }
    constexpr T* operator->() noexcept { return std::addressof(std::get<0>(storage_)); }

    constexpr const T& value() const& { return checked(*this); }
    constexpr T& value() & { return checked(*this); }
    constexpr T&& value() && { return std::move(checked(*this)); }

    constexpr const E& error() const& noexcept { return std::get<1>(storage_); }
    constexpr E& error() & noexcept { return std::get<1>(storage_); }
    constexpr E&& error() && noexcept { return std::move(std::get<1>(storage_)); }

    template <class U> constexpr T value_or(U&& fallback) const& {
        return has_value() ? **this : static_cast<T>(std::forward<U>(fallback));
    }
    template <class U> constexpr T value_or(U&& fallback) && {
        return has_value() ? std::move(**this) : static_cast<T>(std::forward<U>(fallback));
    }

    template <class... Args> constexpr T& emplace(Args&&... args) {
        return storage_.template emplace<0>(std::forward<Args>(args)...);
    }

  private:
    template <class Self> static constexpr auto& checked(Self& self) {
        if (!self.has_value())
            throw BadExpectedAccess{};
        return std::get<0>(self.storage_);
    }

    // Indexed, not typed, alternatives: T and E may be the same type.
    std::variant<T, E> storage_;
};

/// Expected<void, E>: success carries nothing.
template <class E> class Expected<void, E> {
  public:
    using value_type = void;
    using error_type = E;
    using unexpected_type = Unexpected<E>;

    constexpr Expected() noexcept = default;

    template <class G>
    requires std::is_constructible_v<E, const G&>
    constexpr Expected(const Unexpected<G>& error) : error_(error.error()) {}

    template <class G>
    requires std::is_constructible_v<E, G>
    constexpr Expected(Unexpected<G>&& error) : error_(std::move(error).error()) {}

    constexpr bool has_value() const noexcept { return !error_.has_value(); }
    constexpr explicit operator bool() const noexcept { return has_value(); }
    constexpr void operator*() const noexcept {}

    constexpr void value() const {
        if (!has_value())
            throw BadExpectedAccess{};
    }

    constexpr const E& error() const& noexcept { return *error_; }
    constexpr E& error() & noexcept { return *error_; }
    constexpr E&& error() && noexcept { return std::move(*error_); }

  private:
    std::optional<E> error_;
};

} // namespace keygate::expected_fallback

#if defined(__cpp_lib_expected)

#include <expected>

namespace keygate {

/// A value of type T or an error of type E (std::expected).
template <class T, class E> using Expected = std::expected<T, E>;
/// The error side of an Expected (std::unexpected).
template <class E> using Unexpected = std::unexpected<E>;

} // namespace keygate

#else

namespace keygate {

using expected_fallback::Expected;
using expected_fallback::Unexpected;

} // namespace keygate

#endif
