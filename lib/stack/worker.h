// Worker: one per lcore, owning one RX and one TX queue on each port (DESIGN.md principle 1).
//
// poll() is one turn of the run-to-completion loop (principle 2): read the clock once, receive
// a burst, parse and dispatch each packet (ARP, neighbour discovery, ICMP and ICMPv6 echo here;
// TCP as it arrives), and flush the TX batch with one rte_eth_tx_burst per port. Every packet
// that is not answered is counted by reason (telemetry::StackCounters). No locks, no
// allocation after construction: replies come from the port's mempool and an empty pool is a
// counted drop.
//
// Neighbour caches are per Worker; what one Worker learns from the wire it passes to the others
// (stack/mesh.h), since ARP and neighbour discovery reach whichever queue the device picks.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <rte_mbuf.h>

#include "crypto/mgr.h"
#include "crypto/prf.h"
#include "flow/conn_table.h"
#include "flow/rss.h"
#include "stack/conn.h"
#include "stack/faults.h"
#include "stack/interface.h"
#include "stack/mesh.h"
#include "stack/neighbor.h"
#include "stack/tx_batch.h"
#include "stack/tx_budget.h"
#include "stack/tx_encoder.h"
#include "telemetry/counters.h"
#include "time/clock.h"
#include "time/wheel.h"
#include "timewait/demux.h"
#include "timewait/tables.h"
#include "wire/ethernet.h"
#include "wire/ipv4_addr.h"
#include "wire/ipv6_addr.h"
#include "wire/mac_addr.h"
#include "wire/packet_builder.h"
#include "wire/tcp.h"

namespace tempo::wire {
class Ipv4View;
class Ipv6View;
}  // namespace tempo::wire

namespace tempo::stack {

// The far end of an active open.
struct Remote {
  bool v6 = false;
  wire::Ipv4Addr ip4;
  wire::Ipv6Addr ip6;
  uint16_t port = 0;
};

// Worker-wide TCP settings beyond the protocol core's (tcp.* in the configuration).
struct WorkerTcpConfig {
  uint16_t local_port_lo = 32768;  // tcp.local_port_range
  uint16_t local_port_hi = 60999;
  Ticks active_reuse_min_age = Ticks::from_ms(1000);  // tcp.active_reuse_min_age_ms
  uint32_t listen_backlog = 4096;                     // tcp.listen_backlog, per listener
  SynCookies syncookies = SynCookies::kAuto;          // tcp.syncookies
  uint32_t challenge_ack_limit_per_sec = 1000;        // RFC 5961 §7, per core
  uint32_t max_orphans = 16384;  // tcp.max_orphans: past it, close() resets (Linux)

  friend bool operator==(const WorkerTcpConfig&, const WorkerTcpConfig&) = default;
};

class Worker {
 public:
  static constexpr uint16_t kBurst = 32;
  // Payload at most this long may be packed (pack_payload): a buffer holding it alone would
  // be less than a third full.
  static constexpr uint32_t kPackMax = 512;

  // `start` is the time of the first poll (DESIGN.md principle 3: time is a parameter, so a
  // Worker runs on the TSC under the Runtime and on a virtual clock in tests). `faults` (a test
  // feature) adds fault-injection stages on RX and TX when configured.
  Worker(uint16_t index, std::vector<Interface> ifaces, Ticks start,
         const FaultConfig& faults = FaultConfig{});
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Joins the other Workers of the process (software steering and neighbour sharing); before
  // the first poll. The Worker's index is its place in the mesh.
  void join(const Mesh* mesh) noexcept;

  // One loop iteration over every interface at time `now` (read once by the caller; never
  // earlier than the last poll's). Returns the packets received.
  uint32_t poll(Ticks now) noexcept;
  // The loop's accounting of one turn (Runtime): `cycles` TSC cycles, busy when it did work.
  void account_turn(bool busy, uint64_t cycles) noexcept {
    if (busy) {
      counters_.cycles_busy += cycles;
      ++counters_.loops_busy;
    } else {
      counters_.cycles_idle += cycles;
    }
  }

  // The MAC to send to `dst` through interface `port`: from the neighbour cache, or nullopt
  // after (rate-limited) sending an ARP request / neighbour solicitation for the next hop.
  // With `solicit` false, only the cache is read.
  std::optional<wire::MacAddr> resolve(size_t port, wire::Ipv4Addr dst,
                                       bool solicit = true) noexcept;
  std::optional<wire::MacAddr> resolve(size_t port, const wire::Ipv6Addr& dst,
                                       bool solicit = true) noexcept;

  // "198.18.0.1 lladdr 02:..:.." per live neighbour entry of every port (for reports).
  std::vector<std::string> neighbors() const;

  uint16_t index() const noexcept { return index_; }
  const telemetry::StackCounters& counters() const noexcept { return counters_; }
  const tcp::Counters& tcp_counters() const noexcept { return core_.counters; }
  // IPv4 and IPv6 TIME_WAIT tables together.
  timewait::TwCounters tw_counters() const noexcept;
  size_t tw_entries() const noexcept;
  size_t tw_peak() const noexcept;                              // the most entries held at once
  size_t conn_slots() const noexcept { return conns_.size(); }  // preallocated, resident
  uint64_t burst_lookup_hits() const noexcept { return burst_hits_; }  // see RxHint
  uint32_t orphans() const noexcept { return orphans_; }  // closed by the app, not yet gone

  // --- TCP (startup) -----------------------------------------------------------------
  // Sets up the connection array and tables. `name` makes the rte_hash names unique.
  Result<void, std::string> init_tcp(const tcp::Config& cfg, uint32_t max_conns,
                                     const timewait::TwTableConfig& tw,
                                     const WorkerTcpConfig& wcfg = WorkerTcpConfig{});
  // Serves TCP `port` with `app` (which outlives the Worker).
  void listen(uint16_t port, const AppHandler* app, const ConnOptions& opts = ConnOptions{});

  // Active OPEN (RFC 9293 §3.10.1) from interface `port` to `remote`: picks a source port
  // (RFC 6056 algorithm 3) whose replies RSS steers to this Worker's queue, taking a tuple
  // still in TIME_WAIT only where timestamps make it safe (DESIGN.md, active early reuse),
  // and sends the SYN (held until the next hop resolves). on_connected or on_closed follows.
  // `source` is the local IPv4 address (the port's own or one of its ipv4_secondary; 0.0.0.0:
  // the port's own); kNoAddress when it is not the port's.
  Result<Conn*, ConnectError> connect(size_t port, const Remote& remote, const AppHandler* app,
                                      void* user = nullptr, const ConnOptions& opts = ConnOptions{},
                                      wire::Ipv4Addr source = {}) noexcept;
  // Called at the end of every poll(), on this Worker's lcore: where an application starts
  // work of its own (connects, timers of its own).
  void set_poll_hook(void (*fn)(Worker&, void* ctx), void* ctx) noexcept {
    poll_hook_ = fn;
    poll_hook_ctx_ = ctx;
  }
  Ticks now() const noexcept { return now_; }
  size_t num_ports() const noexcept { return ports_.size(); }
  // rte_eth_link_get_nowait: the port's link is up (false for a port it does not have).
  bool link_up(size_t port) const noexcept;

  // --- Diagnostics (tools and tests) ----------------------------------------------------
  // What holds the 4-tuple from `local_port` on interface `port` to `remote`: its
  // connection's state, kTimeWait when a TIME_WAIT entry does, kClosed when nothing does.
  tcp::State tuple_state(size_t port, const Remote& remote, uint16_t local_port) noexcept;

  // --- TCP (application calls; from callbacks they are queued, see stack/conn.h) -------
  // Queues `data` (a reference) for sending. kQueueFull: on_writable follows.
  Result<void, tcp::SendError> send(Conn& c, const MbufBuf& data) noexcept;
  // Copies `bytes` into mbufs from the port's pool and sends them. Returns the bytes taken
  // (fewer when the pool or the send queue is short).
  uint32_t send_copy(Conn& c, std::span<const std::byte> bytes) noexcept;
  void consume(Conn& c, uint32_t bytes) noexcept;
  void set_nagle(Conn& c, bool on) noexcept;
  void shutdown(Conn& c) noexcept;  // half-close: FIN after queued data
  void close(Conn& c) noexcept;     // FIN after queued data; the application is done
  void abort(Conn& c) noexcept;     // RST now
  uint32_t connections() const noexcept { return conns_used_; }
  // The peer's FIN has arrived (on_peer_closed was called).
  static bool peer_closed(const Conn& c) noexcept { return c.tcb.peer_fin; }

  // --- Stop (stack/worker_stop.cc) -------------------------------------------------------
  // The process is stopping: every open connection is reset (abort(): an RST where RFC 9293
  // §3.10.4 sends one, on_closed(kAborted) to the application) and the RSTs leave now, so
  // peers learn at once instead of at their own timeouts. Returns how many were reset. On
  // this Worker's lcore, after its last poll.
  uint32_t reset_all() noexcept;
  // tcp.stop_grace_ms: every open connection is closed (close(): FIN after its queued data)
  // instead; poll on until connections() is 0 or the grace is over, then reset_all(). Returns
  // how many were closed.
  uint32_t close_all() noexcept;

 private:
  struct Listener {
    uint16_t port;
    const AppHandler* app;
    ConnOptions opts;
    uint32_t embryonic = 0;  // its connections in SYN-RECEIVED: the listen backlog
  };
  struct Port {
    Port(const Interface& i, telemetry::StackCounters& counters)
        : iface(i), tx(i.port_id, i.queue, counters), enc(counters) {}
    Interface iface;
    NeighborCache<wire::Ipv4Addr> arp;
    NeighborCache<wire::Ipv6Addr> nd;
    TxBatch tx;  // what leaves this turn: one rte_eth_tx_burst, its bound its own
    // Last solicitation per next hop, so that a burst of sends to an unresolved neighbour
    // costs one request a second (RFC 1122 §2.3.2.1: at most one per second per address).
    struct Pending {
      wire::Ipv6Addr addr;  // IPv4 as ::ffff:a.b.c.d
      Ticks sent;
    };
    // Bounded by construction: may_solicit() overwrites the oldest entry when none matches.
    std::array<Pending, 8> pending{};
    // Packets waiting for their next hop's link-layer address (Linux: the neighbour's
    // unres_qlen queue): sent when it resolves, dropped (counted) after kParkTimeout.
    struct Parked {
      Remote dst;  // the packet's destination; resolve() finds the hop
      rte_mbuf* m = nullptr;
      Ticks since;
    };
    // Checked and counted: park() drops the oldest (drop_no_neighbor) when all 16 are in use.
    std::array<Parked, 16> parked{};
    uint8_t n_parked = 0;
    // Checked once per burst. rx_low: the RX pool is below a sixteenth free, which the receive
    // budget should never let happen (peers sending smaller segments than it counts on):
    // received payload is copied out, not held. tx_low: `pool` is below a quarter free; the
    // rest is kept for headers (ACKs, ARP, retransmission headers), so data copies are refused
    // and the data dropped or pushed back (dpdk/port.h).
    bool rx_low = false;
    bool tx_low = false;
    // The TX pool's free buffers as last sampled, less what send_copy took since (the send
    // budget's figure, TxBudget).
    uint32_t tx_free = UINT32_MAX;
    int64_t rcv_limit = INT64_MAX / 4;  // this port's share of the receive budget's limit
    // rx_tight: the RX pool is below half free, so small segments are packed (pack_payload).
    bool rx_tight = false;
    // The RX buffer small segments are being packed into (one reference held here), or null.
    rte_mbuf* rx_pack = nullptr;
    TxEncoder enc;  // holds a TSO frame open while the core emits one connection's segments
    std::unique_ptr<MbufFaultStage> rx_faults;  // null unless `faults.rx` is configured
  };

  static constexpr Ticks kSolicitInterval = Ticks::from_sec(1);
  static constexpr Ticks kMaintenanceInterval = Ticks::from_sec(1);
  static constexpr Ticks kParkTimeout = Ticks::from_sec(3);

  // Holds `m` (destination MAC not yet written) until `dst`'s next hop resolves.
  void park(Port& p, const Remote& dst, rte_mbuf* m) noexcept;
  // After a neighbour was learned: sends what now resolves; drops what waited too long.
  void release_parked(Port& p) noexcept;
  // The cached MAC for `dst`'s next hop; when there is none, a solicitation (at most one a
  // second per address, may_solicit) so that a packet parked or retransmitted while the first
  // request went unanswered still resolves (Linux: the neighbour's probes while it queues).
  std::optional<wire::MacAddr> lookup(Port& p, const Remote& dst) noexcept;

  // Once a second: keep the gateways resolved, so the first packet to them need not wait.
  void maintain() noexcept;
  // True when a solicitation for `addr` may go out now (and records it).
  bool may_solicit(Port& p, const wire::Ipv6Addr& addr) noexcept;
  void send_arp_request(Port& p, wire::Ipv4Addr target) noexcept;
  void send_neighbor_solicit(Port& p, const wire::Ipv6Addr& target) noexcept;

  void input(Port& p, rte_mbuf* m) noexcept;
  // Software steering (Interface::soft_steer): the Worker that owns `m`'s tuple (this one for
  // anything but TCP over IPv4 or IPv6 without extension headers or fragments).
  uint16_t owner_of(const Port& p, const rte_mbuf* m) const noexcept;
  // Passes `m` to Worker `to` (batched; flush_steered sends the batches).
  void steer(uint16_t to, rte_mbuf* m) noexcept;
  void flush_steered() noexcept;
  // What the other Workers passed here: their steered segments and the neighbours they learned.
  void receive_steered() noexcept;
  void receive_neighbors() noexcept;
  // A neighbour entry was learned here from the wire: tell the other Workers.
  void share_neighbor(const Port& p, const wire::Ipv4Addr& ip, const wire::MacAddr& mac) noexcept;
  void share_neighbor(const Port& p, const wire::Ipv6Addr& ip, const wire::MacAddr& mac) noexcept;
  void share(NeighborMsg msg) noexcept;  // a copy: rte_ring_enqueue_elem takes void*
  void input_arp(Port& p, const wire::EthView& eth) noexcept;
  void input_ipv4(Port& p, rte_mbuf* m, const wire::EthView& eth) noexcept;
  // The TCP checksum as the NIC verified it (RTE_ETH_RX_OFFLOAD_TCP_CKSUM: good or bad), else
  // `sum()` here (no offload, or the device did not look: RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN).
  template <class Sum>
  bool tcp_checksum_ok(const rte_mbuf* m, Sum&& sum) noexcept {
    switch (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) {
      case RTE_MBUF_F_RX_L4_CKSUM_GOOD:
        counters_.rx_cksum_offloaded++;
        return true;
      case RTE_MBUF_F_RX_L4_CKSUM_BAD:
        return false;
      default:
        return sum();
    }
  }
  void input_ipv6(Port& p, rte_mbuf* m, const wire::EthView& eth) noexcept;
  void input_icmp(Port& p, const wire::EthView& eth, const wire::Ipv4View& ip) noexcept;
  void input_icmpv6(Port& p, const wire::EthView& eth, const wire::Ipv6View& ip) noexcept;
  friend struct ConnSink;
  // TCP, after the IP layer accepted the packet: `spec` carries the reply's addresses
  // (swapped from the packet), ready to build an answer.
  void input_tcp(Port& p, rte_mbuf* m, std::span<const std::byte> segment,
                 wire::TcpPacketSpec& reply) noexcept;
  Conn* find_conn(const wire::TcpPacketSpec& reply, uint16_t lport, uint16_t rport) noexcept;
  // Burst lookup: poll() looks up the connections of a burst's IPv4 TCP segments together
  // (rte_hash's bulk path hashes and prefetches them all before it compares), and input_tcp
  // takes the answer for its segment when it still holds. A hit holds while its slot still
  // has that key; a miss holds while no connection was inserted since.
  struct RxHint {
    const flow::FlowKey4* key = nullptr;  // null: no hint for this segment
    Conn* conn = nullptr;
    uint64_t inserts = 0;  // inserts4_ at the lookup
  };
  void lookup_burst(rte_mbuf* const* rx, size_t n) noexcept;
  Conn* find_conn_hinted(const wire::TcpPacketSpec& reply, uint16_t lport, uint16_t rport) noexcept;
  Conn* open_conn(Port& p, const wire::TcpPacketSpec& reply, uint16_t lport, uint16_t rport,
                  Listener& l, std::optional<uint32_t> iss_floor) noexcept;
  // A connection leaves its listener's backlog (established, or gone).
  void leave_backlog(Conn& c) noexcept;
  // RFC 4987 §3.6: the stateless SYN,ACK of a listener whose backlog is full.
  void send_cookie_syn_ack(Port& p, const wire::TcpView& tcp, const wire::TcpOptions& opts,
                           wire::TcpPacketSpec& reply, const Listener& l) noexcept;
  // A free Conn entered in the connection table under `spec`'s addresses (src = local), or
  // nullptr (counted). Sets *tuple for the keyed ISN and timestamp offset.
  Conn* new_conn(Port& p, const wire::TcpPacketSpec& spec, uint16_t lport, uint16_t rport,
                 const AppHandler* app, crypto::FlowTuple* tuple) noexcept;
  // The ISS for `tuple` (RFC 6528), raised to `floor` when one is given (a reused tuple).
  uint32_t choose_iss(const crypto::FlowTuple& tuple, std::optional<uint32_t> floor) noexcept;
  // A source port for an active open, or nullopt; *iss_floor is set when it reuses a tuple
  // from TIME_WAIT.
  // `spec` holds the addresses (src = local).
  std::optional<uint16_t> pick_local_port(Port& p, const wire::TcpPacketSpec& spec, uint16_t rport,
                                          std::optional<uint32_t>* iss_floor) noexcept;
  // Builds `spec` into an mbuf (padded to the Ethernet minimum) and queues it.
  void send_built(Port& p, const wire::TcpPacketSpec& spec) noexcept;
  void free_conn(Conn& c) noexcept;
  // The largest send queue seen, in buffers (a gauge: what zero-copy senders really queue).
  void note_sndq(const Conn& c) noexcept {
    if (c.tcb.sndq.entries() > counters_.tcp_sndq_peak_buffers) {
      counters_.tcp_sndq_peak_buffers = c.tcb.sndq.entries();
    }
  }
  // Runs the queued application calls and frees a dead Conn, after the core returned.
  void finish(Conn& c) noexcept;
  // call(ConnSink&) into the protocol core for `c`, then finish(c); returns what call returns.
  template <class F>
  auto in_core(Conn& c, F&& call) noexcept;
  // The core's segment out through the port's encoder; what it completes is queued (or
  // parked while the next hop resolves).
  void emit(Conn& c, const tcp::OutSegment<MbufBuf>& seg) noexcept;
  // The port's open TSO frame, finished and queued.
  void tso_flush(Port& p) noexcept;
  void on_wheel_timer(time::Timer& t) noexcept;
  // A segment for a tuple that has no connection, looked up in TIME_WAIT before the listeners
  // (timewait::demux_time_wait, which the hazard bench runs too); sends the entry's ACK when
  // the verdict has one. `listener`: a listener serves the port.
  template <class Tuple>
  timewait::TwDemux input_time_wait(Port& p, timewait::TwTable<Tuple>& table, const Tuple& tuple,
                                    const wire::TcpView& tcp, const wire::TcpOptions& opts,
                                    wire::TcpPacketSpec& reply, bool listener) noexcept;
  // RFC 9293 §3.10.7.1: the answer to a segment for a connection that does not exist.
  void reply_reset(Port& p, const wire::TcpView& tcp, wire::TcpPacketSpec& reply) noexcept;

  // A fresh mbuf from the port's pool with `len` bytes of data room, or nullptr (counted).
  rte_mbuf* alloc(Port& p, uint16_t len) noexcept;
  static std::span<std::byte> bytes(rte_mbuf* m) noexcept;
  // Queues `m` for the end-of-poll burst (TxBatch sends a full batch itself).
  void transmit(Port& p, rte_mbuf* m) noexcept { p.tx.push(m, now_); }
  // The encoder's open TSO frame into the batch, then the batch out.
  void flush(Port& p) noexcept;

  uint16_t index_;
  Ticks now_{};
  const Mesh* mesh_ = nullptr;  // other Workers; null when alone
  struct SteerBatch {
    std::array<rte_mbuf*, kBurst> m{};  // steer() sends a full batch before the next is added
    uint16_t n = 0;
  };
  std::vector<SteerBatch> steer_out_;  // per destination Worker
  Ticks next_maintenance_{};
  telemetry::StackCounters counters_;  // before ports_: their encoders count into it
  std::vector<Port> ports_;

  // TCP state (init_tcp).
  WorkerTcpConfig wcfg_;
  uint32_t next_ephemeral_ = 0;  // RFC 6056 §3.3.3 "next_ephemeral"
  void (*poll_hook_)(Worker&, void*) = nullptr;
  void* poll_hook_ctx_ = nullptr;
  tcp::CoreState core_;
  time::Wheel wheel_;
  std::vector<std::byte> sndq_storage_;      // the send-queue chunks (init_tcp)
  std::optional<tcp::ChunkPool> sndq_pool_;  // before conns_: their queues return chunks to it
  std::vector<Conn> conns_;                  // never resized after init_tcp: timers point into it
  uint32_t free_head_ = UINT32_MAX;
  uint32_t conns_used_ = 0;
  std::optional<flow::ConnTable<flow::FlowKey4, Conn>> table4_;
  std::optional<flow::ConnTable<flow::FlowKey6, Conn>> table6_;
  // Bounded by construction: lookup_burst() keys at most kBurst segments, and a burst holds at
  // most 2 * kBurst (rx_burst's kBurst, or the fault stage's output array of 2 * kBurst).
  std::array<flow::FlowKey4, kBurst> burst_keys_{};
  std::array<RxHint, 2 * kBurst> burst_hints_{};  // by position in the burst
  const RxHint* rx_hint_ = nullptr;               // the segment input() is handling
  uint64_t inserts4_ = 0;
  uint32_t orphans_ = 0;
  uint64_t burst_hits_ = 0;
  std::vector<Listener> listeners_;
  // Port -> 1 + its listener's index (0: none), 64K entries made by the first listen(): one
  // load per segment that finds no connection, where a scan would cost one per listener.
  std::vector<uint16_t> listener_at_;
  Listener* find_listener(uint16_t port) noexcept {
    if (listener_at_.empty() || listener_at_[port] == 0) {
      return nullptr;
    }
    return &listeners_[listener_at_[port] - 1U];
  }
  // The protocol core's settings per (IPv6, keepalive, CUBIC) choice: a Tcb points at one.
  std::array<tcp::Config, 8> cfgs_{};
  const tcp::Config& cfg_for(bool v6, const ConnOptions& o) const noexcept;
  bool default_keepalive_ = false;
  // The receive memory every connection's window draws on (tcp::RcvBudget): its limit follows
  // the RX pools' free buffers, sampled per burst (sample_pools).
  tcp::RcvBudget rcv_budget_;
  bool rcv_pressure_ = false;  // some port's RX pool is nearly empty: payload is copied out
  // Connections whose window the budget held shut, oldest first (Conn::starved_listed), and
  // where the unprocessed part begins: reopen_windows() sends their window updates.
  std::vector<uint32_t> starved_;
  size_t starved_head_ = 0;
  static constexpr Ticks kReopenInterval = Ticks::from_us(10);
  Ticks next_reopen_{};
  // Connections whose open window is charged to the budget, visited a few a turn: one that
  // received no data for kDormantAfter stops being charged (Tcb::rcv_dormant), so idle
  // connections' windows do not hold the budget.
  std::vector<uint32_t> charged_;
  size_t charged_head_ = 0;
  static constexpr Ticks kDormantAfter = Ticks::from_ms(200);
  void release_dormant() noexcept;
  static void compact_fifo(std::vector<uint32_t>& fifo, size_t& head) noexcept;
  // The pools' free counts (rte_mempool_avail_count walks the per-lcore caches: once per
  // burst, not per packet): Port::rx_low, tx_low and tx_free, and the receive budget's limit.
  void sample_pools(Port& p) noexcept;
  // What the receive budget counts one RX buffer as: a full segment carrying timestamps. The
  // budget's limit and the step that reopens a starved window must use the same figure (they
  // differed by 12 bytes, and windows stayed shut).
  int64_t rx_buffer_bytes() const noexcept { return cfgs_[0].mss - tcp::detail::kTsOptionLen; }
  void reopen_windows() noexcept;
  // The send budget (stack/tx_budget.h): connections whose copies wait for TX buffers, oldest
  // first; woken (on_writable) as far as the pool has room for each, checked every
  // kReopenInterval while any waits.
  std::vector<uint32_t> tx_waiters_;
  size_t tx_waiters_head_ = 0;
  Ticks next_tx_wake_{};
  void wait_for_tx_buffers(Conn& c) noexcept;
  void wake_tx_waiters() noexcept;
  // Bytes `c` holds for sending: its send queue and the sends queued on the Conn.
  static uint32_t queued_bytes(const Conn& c) noexcept;
  // Small payload copied into the tail of p.rx_pack, so that a run of small segments holds a
  // few buffers, not one each (Linux collapses such receive queues): the protocol core then
  // holds about as many buffers as the bytes its window counts. False: no buffer for it.
  bool pack_payload(Port& p, std::span<const std::byte> payload, MbufBuf& out) noexcept;
  void release_pack(Port& p) noexcept;
  // f(c) for every open connection, then the ports flushed: reset_all and close_all.
  template <class F>
  uint32_t for_each_open(F&& f) noexcept;
  bool default_cubic_ = true;
  // ConnOptions::nagle over the configured default.
  static void apply_nagle(Conn& c) noexcept;
  std::optional<crypto::Mgr> crypto_;
  std::optional<crypto::Prf> prf_;        // ISNs (RFC 6528) and timestamp offsets
  uint64_t tw_acks_limited_ = 0;          // TwCounters::acks_rate_limited (demux_time_wait)
  std::optional<timewait::TwTables> tw_;  // IPv4 and IPv6, one bound (tcp.time_wait.max_entries)
};

}  // namespace tempo::stack
