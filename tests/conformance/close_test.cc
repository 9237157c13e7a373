// RFC 1122 §4.2.2.13 on the real Worker (ring port, virtual clock): the application's close()
// with received bytes it never consumed sends an RST at once, not a FIN, and frees the slot;
// consumed, the same close() sends a FIN. (Data arriving after close() is in the matrix:
// FIN-WAIT-1 and FIN-WAIT-2 with text.)
#include <gtest/gtest.h>

#include "peer.h"

namespace tempo::conformance {
namespace {

using namespace flags;
constexpr uint16_t kListen = 80;

// Keeps every byte (never consumes), as an application that stopped reading.
void keep(Conn&, const Bytes&, void*) {}
const Handler kKeeper{.ctx = nullptr, .on_data = keep};

TEST(Close, Rfc1122_4_2_2_13_CloseWithUnconsumedBytesResets) {
  RingWorker rw(peer_config());
  rw.introduce_peer();
  Peer peer(rw, kListen);
  for (const bool consume : {false, true}) {
    Flow f = peer.open(St::kEstablished);
    Conn* c = Peer::conn(f.pport);
    ASSERT_NE(c, nullptr);
    if (!consume) {
      c->app = &kKeeper;
    }
    rw.send(peer.seg(f, kA | kP, f.p_nxt, f.t_nxt, kPeerTs, "request"));
    f.p_nxt += 7;
    (void)peer.replies(f, rw.now() + Ticks::from_ms(100));  // the delayed ACK
    rw.worker().close(*c);
    const std::vector<Seg> got = peer.replies(f, rw.now() + Ticks::from_ms(10));
    ASSERT_EQ(got.size(), 1u) << "consumed: " << consume;
    if (consume) {
      EXPECT_EQ(flag_string(got[0].flags), flag_string(kF | kA));
      EXPECT_EQ(peer.state(f), St::kFinWait1);
    } else {
      EXPECT_EQ(flag_string(got[0].flags), flag_string(kR));
      EXPECT_EQ(got[0].seq, f.t_nxt);
      EXPECT_EQ(peer.state(f), St::kClosed);
    }
  }
  EXPECT_EQ(rw.worker().tcp_counters().abort_on_close, 1u);
}

}  // namespace
}  // namespace tempo::conformance
