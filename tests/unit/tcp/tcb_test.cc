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

}  // namespace
}  // namespace tempo::tcp
