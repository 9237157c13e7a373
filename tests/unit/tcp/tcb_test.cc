// The control block's footprint and layout (DESIGN.md: compact, cache-friendly).
#include "tcp/tcb.h"

#include <cstddef>
#include <cstdio>

#include <gtest/gtest.h>

namespace tempo::tcp {
namespace {

// An mbuf-handle-sized buffer, as in the stack.
struct HandleBuf {
  void* m = nullptr;
  uint32_t size() const noexcept { return 0; }
};

using StackTcb = Tcb<HandleBuf>;

// The state, sequence, window and timestamp variables every segment touches fit in the first
// two cache lines; the queues follow.
static_assert(offsetof(StackTcb, cfg) <= 128);
static_assert(sizeof(StackTcb) <= 1024);

TEST(Tcb, Footprint) {
  std::printf("sizeof(Tcb<8-byte handle>) = %zu, protocol part = %zu, rtt %zu, cc %zu\n",
              sizeof(StackTcb), offsetof(StackTcb, rtt), sizeof(StackTcb::rtt),
              sizeof(StackTcb::cc));
  EXPECT_LE(sizeof(StackTcb), 1024u);
}

// The data acknowledged and received, as 64-bit counts from the sequence space: past the SYN,
// less a FIN, across 2^32 with the wrap counts input.h keeps.
TEST(Tcb, BytesAckedAndReceivedSpanTheSequenceSpaceAndItsWraps) {
  StackTcb t;
  t.iss = SeqNum(0xFFFFFF00u);
  t.snd_una = t.iss;
  EXPECT_EQ(t.bytes_acked(), 0u);  // SYN not yet acknowledged
  t.snd_una = t.iss + 1;
  EXPECT_EQ(t.bytes_acked(), 0u);  // only the SYN
  t.snd_una = t.iss + 1 + 1000;    // past 2^32 in sequence numbers, not in bytes
  EXPECT_EQ(t.bytes_acked(), 1000u);
  t.una_wraps = 2;
  EXPECT_EQ(t.bytes_acked(), (uint64_t{2} << 32) + 1000);
  t.una_wraps = 0;
  t.fin_sent = true;
  t.snd_max = t.snd_una;  // the FIN is acknowledged too
  EXPECT_EQ(t.bytes_acked(), 999u);

  t.irs = SeqNum(7);
  t.rcv_nxt = t.irs + 1 + 5;
  EXPECT_EQ(t.bytes_received(), 5u);
  t.rcv_wraps = 1;
  EXPECT_EQ(t.bytes_received(), (uint64_t{1} << 32) + 5);
  t.peer_fin = true;
  t.rcv_nxt += 1;
  EXPECT_EQ(t.bytes_received(), (uint64_t{1} << 32) + 5);
}

}  // namespace
}  // namespace tempo::tcp
