// Segments as the protocol core sees them: `Segment` in (parsed by the stack from a
// wire::TcpView), `OutSegment` out (turned into a frame by the Sink).
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "tcp/buffer.h"
#include "tcp/seq.h"
#include "wire/tcp_options.h"

namespace tempo::tcp {

// RFC 9293 §3.1 control bits.
namespace flag {
inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kPsh = 0x08;
inline constexpr uint8_t kAck = 0x10;
inline constexpr uint8_t kUrg = 0x20;
}  // namespace flag

template <Buffer Buf>
struct Segment {
  SeqNum seq;
  SeqNum ack;
  uint8_t flags = 0;
  uint16_t window = 0;  // as carried (unscaled)
  uint32_t len = 0;     // payload bytes
  uint32_t payload_off = 0;
  Buf payload{};  // payload = [payload_off, payload_off + len) of this buffer
  wire::TcpOptions opts{};

  constexpr bool has(uint8_t f) const noexcept { return (flags & f) != 0; }
  // RFC 9293 §3.4 SEG.LEN: octets occupied, counting SYN and FIN.
  constexpr uint32_t seg_len() const noexcept {
    return len + (has(flag::kSyn) ? 1u : 0u) + (has(flag::kFin) ? 1u : 0u);
  }
};

template <Buffer Buf>
struct OutSegment {
  static constexpr size_t kMaxRefs = 8;

  SeqNum seq;
  SeqNum ack;
  uint8_t flags = 0;
  uint8_t num_refs = 0;
  uint16_t window = 0;  // as carried (already scaled down)
  uint32_t len = 0;     // payload bytes, the sum of refs[].len
  wire::TcpOptions opts{};
  std::array<PayloadRef<Buf>, kMaxRefs> refs{};

  constexpr bool has(uint8_t f) const noexcept { return (flags & f) != 0; }
  std::span<const PayloadRef<Buf>> payload() const noexcept { return {refs.data(), num_refs}; }
};

}  // namespace tempo::tcp
