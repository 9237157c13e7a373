// Worker: one per lcore, owning one RX and one TX queue on each port (DESIGN.md principle 1).
// It is the loop and the routing between parts that each own one concern, know nothing of the
// Worker, and have their own tests (tests/unit/stack/):
//  - per port (Port): the TX batch (stack/tx_batch.h), the segment encoder (tx_encoder.h) and
//    the neighbours: ARP, neighbour discovery, resolution, parked frames (neighbors.h);
//  - Steering (steering.h): segments passed to the Worker that owns their tuple;
//  - Reassembly (reassembly.h): IPv4 and IPv6 fragments, copied into a bounded arena until
//    their datagram is whole, which then re-enters input() (or goes to its tuple's owner);
//  - Connections (connections.h): the slots, their tables, the burst lookup, the listeners;
//    what a segment with no connection gets is the verdict of stack/demux.h;
//  - RxMemory (rx_memory.h): the pools, the receive budget, how payload is held, the windows
//    waiting on it; TxBudget (tx_budget.h): which data copies may take TX buffers;
//  - the protocol core (lib/tcp) through ConnSink (worker_detail.h), the timer wheel
//    (lib/time), the TIME_WAIT tables (lib/timewait).
//
// poll() is one turn of the run-to-completion loop (principle 2): read the clock once, receive
// a burst, parse and dispatch each packet (IPv4, IPv6, ICMP and ICMPv6 echo here, and their
// errors to the connection they quote (stack/icmp_errors.h, stack/path_mtu.h), ARP and
// neighbour discovery to the port's neighbours, TCP to its connection or the demux verdict),
// and flush the TX batch with one rte_eth_tx_burst per port. Every packet that is not answered
// is counted by reason (telemetry::StackCounters). No locks, no allocation after construction:
// replies come from the port's mempool and an empty pool is a counted drop.
//
// Files: worker.cc (the loop, L2/L3, output), worker_tcp.cc (demultiplexing, opening),
// worker_conn.cc (open connections and the application's calls), active_open.cc, worker_stop.cc.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
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
#include "stack/census.h"
#include "stack/conn.h"
#include "stack/connections.h"
#include "stack/faults.h"
#include "stack/icmp_errors.h"
#include "stack/interface.h"
#include "stack/mesh.h"
#include "stack/neighbors.h"
#include "stack/path_mtu.h"
#include "stack/reassembly.h"
#include "stack/rx_memory.h"
#include "stack/slot_fifo.h"
#include "stack/steering.h"
#include "stack/tcp_identity.h"
#include "stack/tx_batch.h"
#include "stack/tx_budget.h"
#include "stack/tx_encoder.h"
#include "telemetry/counters.h"
#include "time/clock.h"
#include "time/wheel.h"
#include "timewait/demux.h"
#include "timewait/tables.h"
#include "wire/ethernet.h"
#include "wire/icmp_quote.h"
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

// Worker-wide TCP settings beyond the protocol core's (tcp.* in the configuration).
struct WorkerTcpConfig {
  uint16_t local_port_lo = 32768;  // tcp.local_port_range
  uint16_t local_port_hi = 60999;
  Ticks active_reuse_min_age = Ticks::from_ms(1000);  // tcp.active_reuse_min_age_ms
  uint32_t listen_backlog = 4096;                     // tcp.listen_backlog, per listener
  SynCookies syncookies = SynCookies::kAuto;          // tcp.syncookies
  uint32_t challenge_ack_limit_per_sec = 1000;        // RFC 5961 §7, per core
  uint32_t max_orphans = 16384;  // tcp.max_orphans: past it, close() resets (Linux)
  // tcp.pmtu: path MTU discovery (RFC 1191, RFC 8201; stack/path_mtu.h, tcp/pmtu.h). A
  // reported MTU below the floor is raised to it (Linux min_pmtu 552; RFC 8200 §5: 1280).
  uint16_t pmtu_min_ipv4 = 552;
  uint16_t pmtu_min_ipv6 = 1280;
  Ticks pmtu_expires = Ticks::from_sec(600);  // Linux mtu_expires
  uint32_t pmtu_max_entries = 4096;           // learned destinations per Worker

  friend bool operator==(const WorkerTcpConfig&, const WorkerTcpConfig&) = default;
};

class Worker {
 public:
  static constexpr uint16_t kBurst = 32;

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
  // A sleep of the loop's idle mode (eal.idle_sleep_us): idle time, not a turn.
  void account_sleep(uint64_t cycles) noexcept {
    counters_.cycles_idle += cycles;
    ++counters_.loops_idle_sleeps;
  }
  void account_turn(bool busy, uint64_t cycles) noexcept {
    if (cycles > counters_.cycles_turn_max) {
      counters_.cycles_turn_max = cycles;
    }
    if (busy) {
      counters_.cycles_busy += cycles;
      ++counters_.loops_busy;
    } else {
      counters_.cycles_idle += cycles;
    }
  }

  // The MAC to send to `dst` through interface `iface`: from the neighbour cache, or nullopt
  // after (rate-limited) sending an ARP request / neighbour solicitation for the next hop.
  // With `solicit` false, only the cache is read.
  std::optional<wire::MacAddr> resolve(size_t iface, wire::Ipv4Addr dst,
                                       bool solicit = true) noexcept;
  std::optional<wire::MacAddr> resolve(size_t iface, const wire::Ipv6Addr& dst,
                                       bool solicit = true) noexcept;

  // "198.18.0.1 lladdr 02:..:.." per live neighbour entry of every port (for reports).
  std::vector<std::string> neighbors() const;

  uint16_t index() const noexcept { return index_; }
  const telemetry::StackCounters& counters() const noexcept { return counters_; }
  const tcp::Counters& tcp_counters() const noexcept { return core_.counters; }
  const IcmpCounters& icmp_counters() const noexcept { return icmp_counters_; }
  const PathMtuCounters& pmtu_counters() const noexcept { return pmtu_counters_; }
  // Destinations with a learned path MTU (stack/path_mtu.h), expired ones not yet found included.
  uint32_t pmtu_entries() const noexcept { return pmtu_.size(); }
  // The path MTU learned toward `remote`'s address, if any (its port is not read).
  std::optional<uint16_t> path_mtu(const Remote& remote) noexcept;
  // IPv4 and IPv6 TIME_WAIT tables together.
  timewait::TwCounters tw_counters() const noexcept;
  size_t tw_entries() const noexcept;
  size_t tw_peak() const noexcept;                               // the most entries held at once
  size_t conn_slots() const noexcept { return conns_.slots(); }  // preallocated, resident
  // Segments whose connection the burst lookup found (stack/connections.h).
  uint64_t burst_lookup_hits() const noexcept { return conns_.burst_hits(); }
  uint64_t conn_options_ignored() const noexcept { return id_.options_ignored(); }
  // Bytes a send() may still queue on `c` before kQueueFull (its snd_buf less what is queued).
  static uint32_t send_space(const Conn& c) noexcept {
    const uint32_t q = queued_bytes(c);
    return c.tcb.cfg->snd_buf > q ? c.tcb.cfg->snd_buf - q : 0;
  }
  uint32_t orphans() const noexcept { return conns_.orphans(); }  // closed, not yet gone
  // The receive budget every window offered is charged to (stack/rx_memory.h).
  const tcp::RcvBudget& rcv_budget() const noexcept { return rx_mem_.budget(); }
  // Connections by state, counted by this Worker on request (stack/census.h): request() and
  // result() from any thread; census_step() on this Worker's lcore, each turn (Runtime).
  Census& census() noexcept { return census_; }
  void census_step() noexcept { census_.step(conns_.all(), tw_ ? &*tw_ : nullptr, now_); }

  // IP reassembly (stack/reassembly.h) with `cfg` (ip.reassembly); before the first poll. A
  // Worker starts with ReassemblyConfig{}.
  void init_reassembly(const ReassemblyConfig& cfg);
  uint32_t reassembling() const noexcept { return reasm_.held(); }  // datagrams held now

  // --- TCP (startup) -----------------------------------------------------------------
  // Sets up the connection array and tables. `name` makes the rte_hash names unique.
  Result<void, std::string> init_tcp(const tcp::Config& cfg, uint32_t max_conns,
                                     const timewait::TwTableConfig& tw,
                                     const WorkerTcpConfig& wcfg = WorkerTcpConfig{});
  // Serves TCP `port` with `app` (which outlives the Worker).
  bool listen(uint16_t port, const AppHandler* app, const ConnOptions& opts = ConnOptions{},
              const ListenOptions& how = ListenOptions{});
  bool unlisten(uint16_t port, const std::optional<Endpoint>& local) noexcept {
    return conns_.unlisten(port, local);
  }

  // Active OPEN (RFC 9293 §3.10.1) from interface `iface` to `remote`: picks a source port
  // (RFC 6056 algorithm 3) whose replies RSS steers to this Worker's queue, taking a tuple
  // still in TIME_WAIT only where timestamps make it safe (DESIGN.md, active early reuse),
  // and sends the SYN (held until the next hop resolves). on_connected or on_closed follows.
  // `source` is the local IPv4 address (the port's own or one of its ipv4_secondary; 0.0.0.0:
  // the port's own); kNoAddress when it is not the port's. The source port comes from
  // [port_lo, port_hi] when port_lo != 0, else from tcp.local_port_range.
  Result<Conn*, ConnectError> connect(size_t iface, const Remote& remote, const AppHandler* app,
                                      void* user = nullptr, const ConnOptions& opts = ConnOptions{},
                                      wire::Ipv4Addr source = {}, uint16_t port_lo = 0,
                                      uint16_t port_hi = 0) noexcept;
  // Called at the end of every poll(), on this Worker's lcore: where an application starts
  // work of its own (connects, timers of its own).
  void set_poll_hook(void (*fn)(Worker&, void* ctx), void* ctx) noexcept {
    poll_hook_ = fn;
    poll_hook_ctx_ = ctx;
  }
  // The application's timers (tempo::Timer): a wheel of their own beside the TCP timers', so
  // that neither's expiry callback has to tell the two apart; advanced every turn (one compare
  // when nothing is due).
  void arm_app_timer(tempo::Timer& t, uint64_t delay_ms, uint64_t period_ms) noexcept {
    t.period_ms = period_ms;
    app_wheel_.arm(t.hook, now_ + Ticks::from_ms(delay_ms));
  }
  void cancel_app_timer(tempo::Timer& t) noexcept { app_wheel_.cancel(t.hook); }
  // tempo::post: the application's message to Worker `to` (mesh.h), on this Worker's lcore.
  Result<void, PostError> post(size_t to, AppMsg m) noexcept;
  size_t mesh_workers() const noexcept { return mesh_ != nullptr ? mesh_->workers() : 1; }
  // tempo::drain: stop accepting, let connections finish, close the rest (worker_stop.cc).
  void drain(const DrainOptions& o) noexcept;
  bool draining() const noexcept { return drain_.active; }
  // The application's counters (tempo::Stack::add_counter): their names, the Runtime's, and
  // this Worker's values.
  void set_app_counter_names(const std::vector<std::string>* names) noexcept {
    app_counter_names_ = names;
  }
  const std::vector<std::string>& app_counter_names() const noexcept {
    static const std::vector<std::string> kNone;
    return app_counter_names_ != nullptr ? *app_counter_names_ : kNone;
  }
  void count_app(uint16_t id, uint64_t n) noexcept {
    if (id < app_counters_.size()) {
      app_counters_[id] += n;
    }
  }
  uint64_t app_counter(size_t id) const noexcept {
    return id < app_counters_.size() ? app_counters_[id] : 0;
  }
  // The application's per-Worker state (tempo::WorkerState), made and destroyed by Runtime.
  void* app_state() const noexcept { return app_state_; }
  void set_app_state(void* state) noexcept { app_state_ = state; }
  Ticks now() const noexcept { return now_; }
  size_t num_ports() const noexcept { return ports_.size(); }
  // The mbuf pool of interface `iface` (nullptr for one it does not have).
  rte_mempool* pool(size_t iface) const noexcept {
    return iface < ports_.size() ? ports_[iface].iface.pool : nullptr;
  }
  // The port is a memif zero-copy client (Interface::memif_zero_copy).
  bool memif_zero_copy(size_t iface) const noexcept {
    return iface < ports_.size() && ports_[iface].iface.memif_zero_copy;
  }
  // rte_eth_link_get_nowait: the port's link is up (false for a port it does not have).
  bool link_up(size_t iface) const noexcept;
  // The interface that reaches `remote`: the first with it on-link, else the first with a
  // route or gateway toward it (next_hop()); nullopt when none does.
  std::optional<size_t> port_toward(const Remote& remote) const noexcept;

  // --- Diagnostics (tools and tests) ----------------------------------------------------
  // What holds the 4-tuple from `local_port` on interface `iface` to `remote`: its
  // connection's state, kTimeWait when a TIME_WAIT entry does, kClosed when nothing does.
  tcp::State tuple_state(size_t iface, const Remote& remote, uint16_t local_port) noexcept;

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
  uint32_t connections() const noexcept { return conns_.used(); }
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
  // One interface and what the Worker keeps per interface. Its parts refer to one another
  // (the neighbours send through the batch): a Port never moves (ports_ is a deque).
  struct Port {
    Port(const Interface& i, uint8_t at, telemetry::StackCounters& counters)
        : iface(i),
          index(at),
          tx(i.port_id, i.queue, counters),
          enc(counters),
          nbr(iface, at, tx, counters) {}
    Port(const Port&) = delete;
    Port& operator=(const Port&) = delete;
    Interface iface;
    uint8_t index;  // its place among the Worker's ports (Conn::iface)
    TxBatch tx;     // what leaves this turn: one rte_eth_tx_burst, its bound its own
    TxEncoder enc;  // holds a TSO frame open while the core emits one connection's segments
    Neighbors nbr;  // ARP and neighbour discovery, resolution, frames parked for a next hop
    std::unique_ptr<MbufFaultStage> rx_faults;  // null unless `faults.rx` is configured
  };

  static constexpr Ticks kMaintenanceInterval = Ticks::from_sec(1);
  // Once a second: each port's neighbours kept (gateways resolved, parked frames aged).
  void maintain() noexcept;

  void input(Port& p, rte_mbuf* m) noexcept;
  // What the other Workers passed here: their steered segments and the neighbours they learned.
  void receive_steered() noexcept;
  template <class Msg, class F>
  void receive_mesh(rte_ring* (Mesh::*ring)(uint16_t, uint16_t) const, F&& on_msg);
  void receive_neighbors() noexcept;
  void receive_app_messages() noexcept;
  void input_ipv4(Port& p, rte_mbuf* m, const wire::EthView& eth) noexcept;
  // The TCP checksum: not checked on a trusted link (ports[].trusted_link); else as the NIC
  // verified it (RTE_ETH_RX_OFFLOAD_TCP_CKSUM: good or bad), else `sum()` here (no offload, or
  // the device did not look: RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN).
  template <class Sum>
  bool tcp_checksum_ok(const Port& p, const rte_mbuf* m, Sum&& sum) noexcept {
    if (p.iface.trusted_link) {
      counters_.rx_cksum_trusted++;
      return true;
    }
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
  // A fragment (its key, offset and bytes read by input_ipv4/input_ipv6) to reassembly; the
  // datagram it completes is copied into one buffer, Ethernet header first (`ethertype`,
  // from `eth`'s source), and re-enters input(), or goes to the Worker that owns its tuple.
  void input_fragment(Port& p, const wire::EthView& eth, Fragment& f, uint16_t ethertype) noexcept;
  // The pool a reassembled datagram is copied into (the RX pool: it is received data), and the
  // most bytes of IP datagram one of its buffers holds after the Ethernet header.
  static rte_mempool* reasm_pool(const Interface& i) noexcept {
    return i.rx_pool != nullptr ? i.rx_pool : i.pool;
  }
  static uint32_t reasm_room(const Interface& i) noexcept;
  void input_icmp(Port& p, const wire::EthView& eth, const wire::Ipv4View& ip) noexcept;
  void input_icmpv6(Port& p, const wire::EthView& eth, const wire::Ipv6View& ip) noexcept;
  // An ICMP or ICMPv6 error (`cls`) quoting our segment `q` (RFC 5927 checks, path MTU, hard and
  // soft errors: stack/icmp_errors.h, tcp/pmtu.h); `reported_mtu` is the message's MTU field
  // (path MTU messages). Passed to the Worker that owns the quoted tuple when that is another,
  // which counts it in `received` (icmp.frag_needed, ...).
  void input_icmp_error(Port& p, const wire::EthView& eth, const IcmpClass& cls,
                        const wire::QuotedTcp& q, uint32_t reported_mtu,
                        uint64_t IcmpCounters::*received) noexcept;
  void input_path_mtu(Port& p, Conn& c, const wire::QuotedTcp& q, uint32_t reported_mtu) noexcept;
  // A copy of the frame `eth` to Worker `owner` (the received mbuf is freed by the loop).
  void pass_frame(Port& p, const wire::EthView& eth, uint16_t owner) noexcept;
  // A new connection (ESTABLISHED, nothing sent yet) takes the path MTU learned toward its
  // peer (ConnSink::on_connected).
  void apply_learned_pmtu(Conn& c) noexcept;
  friend struct ConnSink;
  // TCP, after the IP layer accepted the packet: `spec` carries the reply's addresses
  // (swapped from the packet), ready to build an answer.
  void input_tcp(Port& p, rte_mbuf* m, std::span<const std::byte> segment,
                 wire::TcpPacketSpec& reply) noexcept;
  // A segment for tuple `t` with no connection (stack/demux.h): TIME_WAIT's, a listener's or
  // CLOSED's answer. Returns the connection it opens, if any; *cookie_ack when that is a SYN
  // cookie's (whose check is the caller's).
  Conn* accept(Port& p, const flow::Tuple& t, const wire::TcpView& tcp,
               const wire::TcpOptions& opts, wire::TcpPacketSpec& reply, bool* cookie_ack) noexcept;
  Conn* open_conn(Port& p, const flow::Tuple& t, const wire::MacAddr& dst, Connections::Listener& l,
                  std::optional<uint32_t> iss_floor) noexcept;
  // RFC 4987 §3.6: the stateless SYN,ACK of a listener whose backlog is full.
  void send_cookie_syn_ack(Port& p, const flow::Tuple& t, const wire::TcpView& tcp,
                           const wire::TcpOptions& opts, wire::TcpPacketSpec& reply,
                           const Connections::Listener& l) noexcept;
  // A free Conn entered in the connection table under `t`, its next hop `dst` when known, or
  // nullptr.
  Conn* new_conn(Port& p, const flow::Tuple& t, const AppHandler* app,
                 std::optional<wire::MacAddr> dst) noexcept;
  // A source port for an active open on `t` (its local port not set yet), or nullopt;
  // *iss_floor is set when it reuses a tuple from TIME_WAIT.
  // From [lo, hi] when lo != 0, else from tcp.local_port_range.
  std::optional<uint16_t> pick_local_port(Port& p, const flow::Tuple& t,
                                          std::optional<uint32_t>* iss_floor, uint16_t lo = 0,
                                          uint16_t hi = 0) noexcept;
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
  timewait::TwDemux input_time_wait(Port& p, const flow::Tuple& t, timewait::TwTable<Tuple>& table,
                                    uint32_t idx, const wire::TcpView& tcp,
                                    const wire::TcpOptions& opts, wire::TcpPacketSpec& reply,
                                    bool listener) noexcept;
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
  Ticks next_maintenance_{};
  telemetry::StackCounters counters_;  // before ports_: their encoders count into it
  Steering steer_;    // software steering: segments passed to the Worker owning their tuple
  Reassembly reasm_;  // fragments until their datagram is whole (stack/reassembly.h)
  std::deque<Port> ports_;

  // TCP state (init_tcp).
  WorkerTcpConfig wcfg_;
  void (*poll_hook_)(Worker&, void*) = nullptr;
  void* poll_hook_ctx_ = nullptr;
  void* app_state_ = nullptr;
  struct Drain {
    bool active = false;
    bool closed_rest = false;  // the rest got their FIN; RST at the next deadline
    Ticks deadline{};
    DrainOptions opts;
  };
  Drain drain_;
  void drain_step() noexcept;
  const std::vector<std::string>* app_counter_names_ = nullptr;
  std::array<uint64_t, kMaxAppCounters> app_counters_{};
  tcp::CoreState core_;
  time::Wheel wheel_;
  time::Wheel app_wheel_;
  std::vector<std::byte> sndq_storage_;      // the send-queue chunks (init_tcp)
  std::optional<tcp::ChunkPool> sndq_pool_;  // before conns_: their queues return chunks to it
  std::vector<std::byte> ooo_storage_;       // the out-of-order arrays (init_tcp)
  std::optional<tcp::ChunkPool> ooo_pool_;   // before conns_: their queues return arrays to it
  // The slots, their tables, the burst lookup, the listeners (stack/connections.h). After
  // sndq_pool_ (the slots' send queues return chunks to it) and the wheel (their timers).
  Connections conns_;
  Census census_;
  // Receive memory: the pools, the budget windows draw on, how payload is held, and the
  // windows waiting on it (stack/rx_memory.h).
  RxMemory rx_mem_;
  // Reads port `p`'s pools (once per burst, or when something waits on them).
  void sample_pools(const Port& p) noexcept { rx_mem_.sample(p.index, p.iface); }
  void reopen_windows() noexcept;
  // The send budget (stack/tx_budget.h): connections whose copies wait for TX buffers, oldest
  // first; woken (on_writable) as far as the pool has room for each, checked every
  // kReopenInterval while any waits.
  SlotFifo tx_waiters_;
  Ticks next_tx_wake_{};
  void wait_for_tx_buffers(Conn& c) noexcept;
  void wake_tx_waiters() noexcept;
  // Bytes `c` holds for sending: its send queue and the sends queued on the Conn.
  static uint32_t queued_bytes(const Conn& c) noexcept;
  // f(c) for every open connection, then the ports flushed: reset_all and close_all.
  template <class F>
  uint32_t for_each_open(F&& f) noexcept;
  // ConnOptions::nagle over the configured default.
  static void apply_nagle(Conn& c) noexcept;
  // The keyed PRF (ISNs, timestamp and port offsets, seeds) and the protocol core's settings
  // per kind of connection (stack/tcp_identity.h).
  TcpIdentity id_;
  // ICMP errors for TCP (stack/icmp_errors.h) and the path MTUs learned (stack/path_mtu.h).
  IcmpCounters icmp_counters_;
  PathMtuCounters pmtu_counters_;
  PathMtuCache pmtu_{pmtu_counters_};
  uint64_t tw_acks_limited_ = 0;          // TwCounters::acks_rate_limited (demux_time_wait)
  std::optional<timewait::TwTables> tw_;  // IPv4 and IPv6, one bound (tcp.time_wait.max_entries)
};

}  // namespace tempo::stack
