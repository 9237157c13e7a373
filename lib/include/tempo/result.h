// tempo::Result<T, E>: a small std::expected lookalike for the datapath.
//
// g++ 12 ships std::expected only under -std=c++23, so the datapath uses this instead. It holds
// either a value or an error (an enum class reason, by convention), never throws, and never
// allocates. `Result<void, E>` is the form for operations that only succeed or fail.
#pragma once

#include <type_traits>
#include <utility>
#include <variant>

namespace tempo {

template <class E>
struct Unexpected {
  E error;
};

// Wraps an error so that `return tempo::fail(Reason::kX);` converts to any Result<T, Reason>.
template <class E>
constexpr Unexpected<E> fail(E e) noexcept {
  return Unexpected<E>{e};
}

template <class T, class E>
class [[nodiscard]] Result {
 public:
  constexpr Result(T value) noexcept(std::is_nothrow_move_constructible_v<T>)  // NOLINT: implicit
      : v_(std::in_place_index<0>, std::move(value)) {}
  constexpr Result(Unexpected<E> u) noexcept  // NOLINT: implicit
      : v_(std::in_place_index<1>, u.error) {}

  constexpr bool ok() const noexcept { return v_.index() == 0; }
  constexpr explicit operator bool() const noexcept { return ok(); }

  constexpr T& value() & noexcept { return *std::get_if<0>(&v_); }
  constexpr const T& value() const& noexcept { return *std::get_if<0>(&v_); }
  constexpr T&& value() && noexcept { return std::move(*std::get_if<0>(&v_)); }
  constexpr T* operator->() noexcept { return std::get_if<0>(&v_); }
  constexpr const T* operator->() const noexcept { return std::get_if<0>(&v_); }
  constexpr T& operator*() & noexcept { return value(); }
  constexpr const T& operator*() const& noexcept { return value(); }

  // Only meaningful when !ok().
  constexpr E error() const noexcept { return *std::get_if<1>(&v_); }

 private:
  std::variant<T, E> v_;
};

template <class E>
class [[nodiscard]] Result<void, E> {
 public:
  constexpr Result() noexcept = default;
  constexpr Result(Unexpected<E> u) noexcept : ok_(false), e_(u.error) {}  // NOLINT: implicit

  constexpr bool ok() const noexcept { return ok_; }
  constexpr explicit operator bool() const noexcept { return ok_; }
  constexpr E error() const noexcept { return e_; }

 private:
  bool ok_ = true;
  E e_{};
};

}  // namespace tempo
