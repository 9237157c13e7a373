// The buffer abstraction the protocol core queues and references payload through.
//
// In the stack a Buf is a handle on an mbuf chain whose copy takes a reference (refcount) and
// whose destruction releases it; in tests it is a small shared byte string. The core never
// looks at payload bytes: it keeps Bufs in the send queue and the out-of-order queue and hands
// (Buf, offset, length) references to the Sink, which clones by reference count when it builds
// a frame (DESIGN.md principle 4: retransmission re-references, never copies).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>

namespace tempo::tcp {

// Copy = a new reference to the same bytes; size() = bytes held. A default-constructed Buf is
// empty (size() == 0).
template <class B>
concept Buffer = std::copyable<B> && std::default_initializable<B> && requires(const B b) {
  { b.size() } -> std::convertible_to<uint32_t>;
};

// [off, off + len) of *buf. Valid until the queue that owns *buf changes (the Sink clones what it
// keeps before returning from emit()).
template <class Buf>
struct PayloadRef {
  const Buf* buf = nullptr;
  uint32_t off = 0;
  uint32_t len = 0;
};

// A non-owning (pointer, length) buffer: for benchmarks and fuzzing, where the bytes outlive
// every connection.
struct SpanBuf {
  const std::byte* data = nullptr;
  uint32_t len = 0;
  uint32_t size() const noexcept { return len; }
};
static_assert(Buffer<SpanBuf>);

}  // namespace tempo::tcp
