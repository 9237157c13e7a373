// tempo::Result<T, E>: a small std::expected lookalike for the datapath.
//
// g++ 12 ships std::expected only under -std=c++23, so the datapath uses this instead. It holds
// either a value or an error (an enum class reason, by convention), never throws, and never
// allocates. `Result<void, E>` is the form for operations that only succeed or fail.
//
// Access is checked in every build: the value of an error, or the error of a value, is a bug in
// the caller, and it aborts with a message naming which (as TEMPO_CHECK does), never undefined
// behaviour. The check is one predictable branch; test ok() first.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <type_traits>
#include <utility>
#include <variant>

namespace tempo {

namespace detail {
[[noreturn, gnu::cold, gnu::noinline]] inline void bad_result_access(const char* what) noexcept {
  std::fprintf(stderr, "tempo::Result: %s\n", what);
  std::abort();
}
}  // namespace detail

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

  // The value; aborts when this holds an error.
  constexpr T& value() & noexcept { return *held(); }
  constexpr const T& value() const& noexcept { return *held(); }
  constexpr T&& value() && noexcept { return std::move(*held()); }
  constexpr T* operator->() noexcept { return held(); }
  constexpr const T* operator->() const noexcept { return held(); }
  constexpr T& operator*() & noexcept { return value(); }
  constexpr const T& operator*() const& noexcept { return value(); }

  // The error; aborts when this holds a value.
  constexpr E error() const noexcept {
    if (const E* e = std::get_if<1>(&v_); e != nullptr) [[likely]] {
      return *e;
    }
    detail::bad_result_access("error() of a Result that holds a value");
  }

 private:
  constexpr T* held() noexcept {
    if (T* v = std::get_if<0>(&v_); v != nullptr) [[likely]] {
      return v;
    }
    detail::bad_result_access("value() of a Result that holds an error");
  }
  constexpr const T* held() const noexcept {
    if (const T* v = std::get_if<0>(&v_); v != nullptr) [[likely]] {
      return v;
    }
    detail::bad_result_access("value() of a Result that holds an error");
  }

  std::variant<T, E> v_;
};

template <class E>
class [[nodiscard]] Result<void, E> {
 public:
  constexpr Result() noexcept = default;
  constexpr Result(Unexpected<E> u) noexcept : ok_(false), e_(u.error) {}  // NOLINT: implicit

  constexpr bool ok() const noexcept { return ok_; }
  constexpr explicit operator bool() const noexcept { return ok_; }
  // The error; aborts when this holds success.
  constexpr E error() const noexcept {
    if (!ok_) [[likely]] {
      return e_;
    }
    detail::bad_result_access("error() of a Result that holds success");
  }

 private:
  bool ok_ = true;
  E e_{};
};

}  // namespace tempo
