// The TX path under pressure, on the real Worker over a ring port (issue 19): the TX batch
// filling while the segment encoder holds a TSO frame open (the crash: the batch's bound was
// the caller's to keep, and flushing the open frame into a full batch wrote one past it).
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "peer.h"

namespace tempo::conformance {
namespace {

using namespace flags;
constexpr uint16_t kListen = 80;

// `len` bytes ('a'..'z' repeating) in a chain of mbufs of `piece` bytes each: every piece is
// one mbuf the encoder attaches, so a TSO frame fills its mbufs in a few segments.
stack::MbufBuf chain(uint32_t len, uint16_t piece) {
  rte_mbuf* head = nullptr;
  for (uint32_t off = 0; off < len; off += piece) {
    rte_mbuf* m = rte_pktmbuf_alloc(Eal::pool());
    EXPECT_NE(m, nullptr);
    const auto n = static_cast<uint16_t>(std::min<uint32_t>(piece, len - off));
    char* p = rte_pktmbuf_append(m, n);
    for (uint16_t k = 0; k < n; ++k) {
      p[k] = static_cast<char>('a' + (off + k) % 26);
    }
    if (head == nullptr) {
      head = m;
    } else {
      EXPECT_EQ(rte_pktmbuf_chain(head, m), 0);
    }
  }
  return stack::MbufBuf(head);
}

// One receive burst of 32: 31 SYNs to a port nobody serves (each answered by a RST, queued in
// the TX batch) and last a window update that lets a connection send its whole initial
// window, which the encoder cuts into several TSO frames (one held open at every moment).
// The 32nd frame fills the batch while the next is held: everything must still leave, in
// order, nothing lost and nothing freed twice.
TEST(TxPressure, TheBatchFillsWhileATsoFrameIsHeldOpen) {
  RingWorkerConfig cfg = peer_config();
  cfg.tso = true;
  RingWorker rw(cfg);
  rw.introduce_peer();
  Peer peer(rw, kListen);
  Flow f = peer.open(St::kEstablished);
  Conn* c = Peer::conn(f.pport);
  ASSERT_NE(c, nullptr);

  // The peer's window shuts: what the application sends waits in the queue.
  Seg shut = peer.seg(f, kA, f.p_nxt, f.t_nxt, kPeerTs + 1);
  shut.win = 0;
  rw.send(shut);
  (void)rw.poll();
  constexpr uint32_t kBytes = 10 * 1448;  // the initial window (RFC 6928)
  ASSERT_TRUE(rw.worker().send(*c, chain(kBytes, 64)).ok());
  (void)rw.poll();

  const unsigned free_before = rte_mempool_avail_count(Eal::pool());
  for (uint16_t i = 0; i < stack::TxBatch::kCapacity - 1; ++i) {
    Seg s;
    s.sport = static_cast<uint16_t>(30000 + i);
    s.dport = 9;
    s.seq = 1000;
    s.flags = kS;
    s.win = kPeerWin;
    rw.send(s);
  }
  rw.send(peer.seg(f, kA, f.p_nxt, f.t_nxt, kPeerTs + 2));  // the window opens
  const std::vector<Seg> got = rw.poll();

  size_t rsts = 0;
  size_t tso_frames = 0;
  std::string data;
  for (const Seg& s : got) {
    if (s.has(kR)) {
      ++rsts;
    } else if (s.dport == f.pport && !s.data.empty()) {
      EXPECT_EQ(s.seq, f.t_nxt + data.size());  // in order, no gap, no repeat
      data += s.data;
      tso_frames += s.tso_segsz != 0 ? 1 : 0;
    }
  }
  EXPECT_EQ(rsts, stack::TxBatch::kCapacity - 1u);
  ASSERT_EQ(data.size(), kBytes);
  for (uint32_t k = 0; k < kBytes; ++k) {
    ASSERT_EQ(data[k], static_cast<char>('a' + k % 26)) << "byte " << k;
  }
  EXPECT_GE(tso_frames, 2u);  // the case needs frames completed while another was open
  EXPECT_EQ(rw.worker().counters().tx_full, 0u);
  EXPECT_GT(rw.worker().counters().tx_tso_frames, 1u);
  // Every RX mbuf and every frame went back: the sent data is still held by the send queue
  // (unacknowledged), nothing else.
  rw.send(peer.seg(f, kA, f.p_nxt, f.t_nxt + kBytes, kPeerTs + 3));
  (void)rw.poll();
  EXPECT_GE(rte_mempool_avail_count(Eal::pool()) + 1, free_before);
}

// The send budget (stack/tx_budget.h, issue 19 finding 5). An application that writes to a
// connection whose peer stopped reading: its copies take no more TX buffers than the peer's
// window (one segment at least), the rest waits, and on_writable follows when the window
// opens. Before, the copies took buffers up to tcp.snd_buf per connection until the pool was
// empty, and a copy that found no buffer armed no wakeup.
struct Writer {
  static inline int writable = 0;
  static inline Conn* conn = nullptr;
  static void on_connected(Conn& c, void*) { conn = &c; }
  static void on_data(Conn& c, const Bytes& d, void*) { c.worker->consume(c, d.size()); }
  static void on_writable(Conn&, void*) { ++writable; }
  static void on_closed(Conn&, CloseReason, void*) { conn = nullptr; }
  static constexpr Handler kHandler{.ctx = nullptr,
                                    .on_connected = on_connected,
                                    .on_data = on_data,
                                    .on_writable = on_writable,
                                    .on_peer_closed = nullptr,
                                    .on_closed = on_closed};
};

TEST(SendBudget, CopiesStopAtThePeersWindowAndOnWritableFollowsWhenItOpens) {
  RingWorkerConfig cfg = peer_config();
  RingWorker rw(cfg);
  rw.introduce_peer();
  Peer opener(rw, kListen, 31000);
  rw.worker().listen(kListen, &Writer::kHandler);  // a later listen() wins: the Writer serves
  Flow f = opener.open(St::kEstablished);
  ASSERT_NE(Writer::conn, nullptr);
  Conn& c = *Writer::conn;
  // The peer's window shuts: everything sent so far is acknowledged, nothing more is taken.
  Seg shut = opener.seg(f, kA, f.p_nxt, f.t_nxt, kPeerTs + 1);
  shut.win = 0;
  rw.send(shut);
  (void)rw.poll();
  const unsigned free_before = rte_mempool_avail_count(Eal::pool());
  const std::vector<std::byte> response(1 << 20, std::byte{'r'});
  const uint32_t taken = rw.worker().send_copy(c, response);
  EXPECT_GT(taken, 0u);
  EXPECT_LE(taken, 2048u);  // one buffer: what a shut window may pin
  EXPECT_LE(free_before - rte_mempool_avail_count(Eal::pool()), 2u);
  EXPECT_EQ(rw.worker().counters().tcp_tx_wait_window, 1u);
  EXPECT_EQ(Writer::writable, 0);
  // The window opens: on_writable, and the copies go on as far as it takes.
  rw.send(opener.seg(f, kA, f.p_nxt, f.t_nxt, kPeerTs + 2));
  (void)rw.poll();
  EXPECT_EQ(Writer::writable, 1);
  EXPECT_EQ(rw.worker().counters().tcp_tx_woken, 1u);
  const uint32_t more = rw.worker().send_copy(c, std::span(response).subspan(taken));
  EXPECT_GT(more, 30000u);
  EXPECT_LE(taken + more, uint32_t{kPeerWin} + 2048u);
}

// The same rule for zero-copy sends (Worker::send): a zero-copy echo toward a peer that never
// reads queued the very RX buffers it received, up to tcp.snd_buf per connection, outside the
// receive budget's reach; 32 such peers shut every other connection's window for good
// (tests/interop/test_tcp_echo.py ReceiveMemory, 1 run in 6). Now a send is refused once the
// queue holds what the peer's window takes (one segment at least), and on_writable follows.
TEST(SendBudget, ZeroCopySendsStopAtThePeersWindowToo) {
  Writer::writable = 0;
  RingWorkerConfig cfg = peer_config();
  RingWorker rw(cfg);
  rw.introduce_peer();
  Peer opener(rw, kListen, 31500);
  rw.worker().listen(kListen, &Writer::kHandler);
  Flow f = opener.open(St::kEstablished);
  ASSERT_NE(Writer::conn, nullptr);
  Conn& c = *Writer::conn;
  Seg shut = opener.seg(f, kA, f.p_nxt, f.t_nxt, kPeerTs + 1);
  shut.win = 0;
  rw.send(shut);
  (void)rw.poll();
  EXPECT_TRUE(rw.worker().send(c, chain(1448, 1448)).ok());  // one segment may wait
  const auto refused = rw.worker().send(c, chain(1448, 1448));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error(), tcp::SendError::kQueueFull);
  EXPECT_EQ(rw.worker().counters().tcp_tx_wait_window, 1u);
  EXPECT_EQ(Writer::writable, 0);
  // The window opens: on_writable, and sends are taken again.
  rw.send(opener.seg(f, kA, f.p_nxt, f.t_nxt, kPeerTs + 2));
  (void)rw.poll();
  EXPECT_EQ(Writer::writable, 1);
  EXPECT_TRUE(rw.worker().send(c, chain(1448, 1448)).ok());
}

}  // namespace
}  // namespace tempo::conformance
