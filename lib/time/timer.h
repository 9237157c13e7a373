// tempo::time::Timer: the intrusive hook a timer wheel links, embedded in its owner.
//
// A TCP control block, a TIME_WAIT record or anything else that needs a timeout embeds one
// `Timer` per timeout and gets it back in the expiry callback; `owner_of<&Owner::member>()`
// recovers the owner (container_of), so the hook carries no tag and no callback pointer. The
// callback is a template parameter of `Wheel::advance`, one per wheel: a closed set of timer
// kinds is told apart by which member fired (compare addresses) or by the owner's state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <tempo/detail/timer_hook.h>  // struct Timer: public, since tempo::Timer embeds one

namespace tempo::time {

namespace detail {
template <class M>
struct TimerMember;
template <class O>
struct TimerMember<Timer O::*> {
  using Owner = O;
};
}  // namespace detail

// container_of: the object whose member `kMember` is `t`. `Owner` must be standard-layout,
// so that the member lies at a fixed offset (the one offsetof would give).
template <auto kMember>
typename detail::TimerMember<decltype(kMember)>::Owner& owner_of(Timer& t) noexcept {
  using Owner = typename detail::TimerMember<decltype(kMember)>::Owner;
  static_assert(std::is_standard_layout_v<Owner>, "owner_of needs a standard-layout owner");
  // The member's offset, taken on static storage that is never read; folds to a constant.
  alignas(Owner) static constinit std::byte probe[sizeof(Owner)] = {};
  const auto* p = reinterpret_cast<const Owner*>(probe);
  const auto offset = reinterpret_cast<const std::byte*>(&(p->*kMember)) - probe;
  return *reinterpret_cast<Owner*>(reinterpret_cast<std::byte*>(&t) - offset);
}

}  // namespace tempo::time
