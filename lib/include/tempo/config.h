// tempo::Config: the typed configuration, read from one YAML file before the EAL starts
// (DESIGN.md "Configuration"), or built in code by an embedder.
//
// Every field has its default here, so `tempo::Config{}` plus one port is a working config.
// Loading validates everything and throws tempo::config::ConfigError whose what() is exactly one
// line naming the key, the value and what is allowed:
//   config: tcp.time_wait.max_entries: -3: expected an integer in [1, 1e9]
// Exceptions are fine here: this is startup code, never the datapath (STYLE.md 5).
//
// No yaml-cpp type appears in this header: the per-app sections are kept behind an opaque
// tree (config::AppTree) and read with config::AppSection.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tempo {

// Addresses are kept in network byte order, as they are on the wire.
struct Ipv4Addr {
  std::array<std::uint8_t, 4> bytes{};
  friend bool operator==(const Ipv4Addr&, const Ipv4Addr&) = default;
};

struct Ipv6Addr {
  std::array<std::uint8_t, 16> bytes{};
  friend bool operator==(const Ipv6Addr&, const Ipv6Addr&) = default;
};

// An interface address or a route destination: `addr/len`.
struct Ipv4Prefix {
  Ipv4Addr addr;
  std::uint8_t len = 0;
  friend bool operator==(const Ipv4Prefix&, const Ipv4Prefix&) = default;
};

struct Ipv6Prefix {
  Ipv6Addr addr;
  std::uint8_t len = 0;
  friend bool operator==(const Ipv6Prefix&, const Ipv6Prefix&) = default;
};

// `addr:port`, as the apps' backends and targets are written ("198.18.0.1:8000").
struct Ipv4Endpoint {
  Ipv4Addr addr;
  std::uint16_t port = 0;
  friend bool operator==(const Ipv4Endpoint&, const Ipv4Endpoint&) = default;
};

// `eal:` — what rte_eal_init gets (see config::eal_args).
struct EalConfig {
  std::string lcores = "0";  // -l: "0", "0-3", "0,2,4-5"
  int memory_mb = 512;       // -m
  bool no_huge = false;      // --no-huge (tests and demos)
  std::string file_prefix;   // --file-prefix; the loader fills "tempo-<pid>" when absent
  std::optional<std::string> log_level;  // --log-level: "7", "debug", "pmd.net.tap:debug"
  std::vector<std::string> extra_args;   // appended last, verbatim
  // The Workers' loops. Busy polling (idle_sleep_us 0, the default) suits dedicated cores;
  // where cores are shared (several processes on few cores, a desktop, a CI runner) a loop
  // that found nothing idle_polls turns in a row sleeps idle_sleep_us (F-Stack's idle_sleep,
  // VPP's adaptive polling), and again after each empty turn until one does work.
  int idle_sleep_us = 0;  // 0: never sleep
  int idle_polls = 256;
};

enum class DeviceKind : std::uint8_t {
  kVdev,  // an EAL --vdev string: "net_tap0,iface=tempo0"
  kPci,   // a PCI address, optionally with devargs: "0000:03:00.0", "03:00.0,rxq_cqe_comp_en=1"
};

struct Route4 {
  Ipv4Prefix prefix;
  Ipv4Addr via;
  friend bool operator==(const Route4&, const Route4&) = default;
};

struct Route6 {
  Ipv6Prefix prefix;
  Ipv6Addr via;
  friend bool operator==(const Route6&, const Route6&) = default;
};

// One entry of `ports:`.
struct PortConfig {
  std::string name;  // defaults to "port<i>"
  std::string device;
  DeviceKind device_kind = DeviceKind::kVdev;
  // Receive frames for any MAC address (on: the default, as before this key). Off for a port
  // the kernel or other functions share (a bifurcated mlx5, a VF whose hypervisor refuses it):
  // then only frames for the port's own MAC, broadcast and multicast arrive.
  bool promiscuous = true;
  int queues = 1;  // RX/TX queue pairs, one per worker lcore
  Ipv4Prefix ipv4;
  std::optional<Ipv6Prefix> ipv6;
  // More IPv4 addresses of this port, all inside `ipv4`'s subnet: each entry one address
  // ("198.18.1.7", kept as a /32) or a block of them ("198.18.1.0/26": every address in it,
  // prefix length 16 or more). tempo answers ARP and accepts traffic for each, and connect()
  // may open from any (a load generator's many sources; a proxy's source pool).
  std::vector<Ipv4Prefix> ipv4_secondary;
  std::optional<Ipv4Addr> gateway;
  std::optional<Ipv6Addr> gateway6;
  int mtu = 1500;
  // mbufs per queue in the port's pool: RX descriptors, send queues, out-of-order data and
  // retransmissions all draw on it. An exhausted pool slows service, never corrupts it.
  int mbufs = 8191;
  // TCP segmentation offload where the device has it: consecutive segments of one connection
  // leave as one large frame the NIC cuts up.
  bool tso = true;
  // The link is shared memory between processes of this host (memif to another tempo): no
  // frame is corrupted on it, so TCP checksums are neither summed on TX nor verified on RX,
  // and IPv4 header checksums are not verified, as the kernel does on veth and loopback.
  // Off by default; never on a link with wire, a NIC or another host behind it.
  bool trusted_link = false;
  std::vector<Route4> routes;   // `routes:` entries with an IPv4 prefix
  std::vector<Route6> routes6;  // `routes:` entries with an IPv6 prefix
};

enum class TwOnFull : std::uint8_t { kEvictOldest, kRefuse };
enum class TwReuse : std::uint8_t { kRfc6191, kOff };
enum class Congestion : std::uint8_t { kNewReno, kCubic };
enum class SynCookies : std::uint8_t { kAuto, kAlways, kOff };

struct TimeWaitConfig {
  std::int64_t duration_ms = 60000;    // 2*MSL, the Linux value
  std::int64_t max_entries = 4000000;  // per core
  TwOnFull on_full = TwOnFull::kEvictOldest;
  TwReuse reuse = TwReuse::kRfc6191;  // passive early reuse, RFC 6191
  bool rfc1337 = true;                // ignore RST in TIME_WAIT (RFC 1337)
  // At most this many entries leave TIME_WAIT per loop turn (0: all that are due), so that a
  // mass expiry (a burst's entries, all due in one second) is spread over turns instead of
  // stalling one; an entry left due stays a few turns longer, the safe side of every rule.
  // Counted: timewait.expiry_deferred.
  std::int64_t expiry_per_turn = 64;
};

// RFC 1122 §4.2.3.6: keep-alives MUST default to off; the interval MUST default to no less
// than two hours.
struct KeepaliveConfig {
  bool enabled = false;
  std::int64_t idle_ms = 7200000;
  std::int64_t interval_ms = 75000;
  int probes = 9;
};

// tcp.pmtu: path MTU discovery (RFC 1191, RFC 8201). An ICMP "fragmentation needed" or ICMPv6
// "packet too big" that passes RFC 5927's checks lowers its connection's send MSS (what is in
// flight is resent at once at the new size) and is kept for its destination, so that later
// connections there start at it. A reported MTU below the floor is raised to it.
struct PmtuConfig {
  int min_ipv4 = 552;                // Linux net.ipv4.route.min_pmtu
  int min_ipv6 = 1280;               // RFC 8200 §5: every IPv6 link carries 1280
  std::int64_t expires_ms = 600000;  // Linux net.ipv4.route.mtu_expires (RFC 1191 §6.3)
  std::int64_t max_entries = 4096;   // destinations remembered per Worker
};

struct TcpConfig {
  TimeWaitConfig time_wait;
  PmtuConfig pmtu;
  std::int64_t active_reuse_min_age_ms = 1000;
  std::uint16_t local_port_lo = 32768;  // `local_port_range: [lo, hi]`
  std::uint16_t local_port_hi = 60999;
  int mss = 1460;
  // The floor under a peer's MSS option (Linux tcp_min_snd_mss): a smaller one is raised to
  // it, counted as tcp.mss_clamped. At most tcp.mss.
  int min_snd_mss = 48;
  std::int64_t initial_rto_ms = 1000;  // RFC 6298 (2.1)
  std::int64_t min_rto_ms = 200;       // below RFC 6298 (2.4)'s 1 s, as Linux does
  std::int64_t max_rto_ms = 120000;    // RFC 6298 (2.5): at least 60 s
  std::int64_t delayed_ack_ms = 40;    // RFC 9293 §3.8.6.3: less than 0.5 s; 0 = no delay
  bool nagle = true;                   // RFC 9293 §3.7.4 SHOULD
  KeepaliveConfig keepalive;
  std::int64_t fin_wait2_timeout_ms = 60000;
  int syn_retries = 6;
  int synack_retries = 5;
  // Connections the application has closed (orphans: FIN-WAIT-1, CLOSING, LAST-ACK) give up
  // after this many retransmissions or zero-window probes (Linux tcp_orphan_retries: 8), and
  // at most max_orphans of them per Worker finish; past that, close() resets (Linux
  // tcp_max_orphans). Counted: tcp.orphans, tcp.orphan_timeouts, tcp.orphans_reset.
  int orphan_retries = 8;
  std::int64_t max_orphans = 16384;
  Congestion congestion = Congestion::kCubic;
  bool sack = true;  // RFC 2018
  // RFC 8985 §6 (RACK): with SACK, a segment is lost once one sent after it was delivered and
  // it is still missing a reordering window later (Linux net.ipv4.tcp_recovery = 1). Off: RFC
  // 6675's DupThresh and the RTO alone find losses (the tail loss probe stays).
  bool rack = true;
  bool timestamps = true;    // RFC 7323
  bool window_scale = true;  // RFC 7323
  std::int64_t rcv_buf_bytes = 262144;
  std::int64_t snd_buf_bytes = 262144;
  int listen_backlog = 4096;
  // Connection slots per Worker, allocated and touched at start: 1,728 bytes of RSS each
  // (measured: the slot, its share of the connection table and of the send-queue chunk pool),
  // so 65,536 slots cost 110 MB a Worker. TIME_WAIT needs none (tcp.time_wait). When all are
  // in use, a SYN is answered with a SYN cookie where cookies are on (the connection takes a
  // slot when its ACK returns and one is free), else dropped; both counted
  // (tcp.syncookies_table_full, drop.tcp.conn_exhausted).
  std::int64_t max_connections = 65536;
  SynCookies syncookies = SynCookies::kAuto;
  int challenge_ack_limit_per_sec = 1000;  // RFC 5961 §7
  // On SIGINT/SIGTERM/SIGHUP: 0 resets every open connection at once; more closes them (FIN
  // after their queued data) and gives them this long to finish before the rest are reset
  // (a second stop signal cuts it short). Connections that arrive meanwhile are served, then
  // reset with the rest.
  std::int64_t stop_grace_ms = 0;
};

enum class ReasmOnFull : std::uint8_t { kEvictOldest, kRefuse };

// `ip.reassembly:` — IPv4 and IPv6 fragment reassembly, per Worker (RFC 1122 §3.3.2: a host
// MUST reassemble; RFC 791 §3.2, RFC 8200 §4.5; overlapping fragments dropped, RFC 5722).
// Fragments are copied into a per-Worker arena as they arrive, so they never hold the RX
// buffers TCP needs; a complete datagram is copied into one buffer and processed whole.
struct IpReassemblyConfig {
  // Datagrams under reassembly at once, IPv4 and IPv6 together; 0 turns reassembly off (every
  // fragment dropped, drop.ipv4.fragment and drop.ipv6.fragment).
  std::int64_t max_datagrams = 64;
  // The largest datagram reassembled, IP header included (RFC 8200 §4.5: at least 1500). Also
  // never more than one of the port's buffers holds (2,048 bytes with the default pools; memif
  // ports with large buffers take more).
  std::int64_t max_bytes = 65535;
  std::int64_t max_fragments = 64;  // per datagram
  // From the first fragment received (RFC 8200 §4.5: 60 s; Linux's ipfrag_time: 30 s; shorter
  // frees the room a flood of incomplete datagrams holds sooner).
  std::int64_t timeout_ms = 5000;
  // With max_datagrams held, a fragment of a new datagram evicts the oldest, or is refused.
  ReasmOnFull on_full = ReasmOnFull::kEvictOldest;
};

struct IpConfig {
  IpReassemblyConfig reassembly;
};

// One direction of fault injection: probabilities in [0, 1] per packet.
struct FaultDirection {
  double drop = 0;
  double duplicate = 0;
  double reorder = 0;
  std::int64_t delay_ms = 0;  // added to every packet of this direction
  bool any() const noexcept { return drop > 0 || duplicate > 0 || reorder > 0 || delay_ms > 0; }
};

// `faults:` — a test feature (DESIGN.md "Running on this kind of machine"); off by default.
struct FaultConfig {
  std::uint64_t seed = 1;
  FaultDirection rx;
  FaultDirection tx;
  bool any() const noexcept { return rx.any() || tx.any(); }
};

namespace config {
struct AppTree;  // opaque: the parsed `app:` map, owned by lib/config
}

// A packet capture to a pcapng file from start (stack/capture.h; also started and stopped
// through telemetry, /tempo/capture).
struct CaptureConfig {
  std::string file;              // created, truncated
  int port = -1;                 // an index into ports, -1: every port
  bool rx = true, tx = true;     // direction: rx, tx or both
  std::int64_t count = 10000;    // frames, then it ends (0: no bound)
  std::int64_t bytes = 0;        // or bytes written (0: no bound)
  std::int64_t snaplen = 65535;  // bytes kept of each frame
};

struct Config {
  EalConfig eal;
  std::vector<PortConfig> ports;
  TcpConfig tcp;
  IpConfig ip;
  FaultConfig faults;
  std::optional<CaptureConfig> capture;        // `capture:` present
  std::shared_ptr<const config::AppTree> app;  // null: every app section is empty
};

namespace config {

// Every configuration error. what() is one line: "config: KEY: VALUE: WHAT" (or
// "config: KEY: WHAT" when there is no value, e.g. a missing or unknown key).
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads and validates a YAML file. Throws ConfigError on every bad input, including an
// unreadable file ("config: PATH: cannot read: REASON") and a YAML syntax error
// ("config: PATH:LINE:COL: syntax error: WHAT").
Config load_file(const std::string& path);

// As load_file, from text; `source` names it in syntax errors.
Config load_string(std::string_view yaml, std::string_view source = "<string>");

// The value of devarg `key` in a vdev string ("net_memif0,role=client,zero-copy=yes"), or "".
std::string_view device_arg(std::string_view device, std::string_view key);
// A memif port in the client role with zero-copy=yes (DPDK's memif zero-copy mode): it sends
// from and receives into its own DPDK memory, which the server maps, so one copy (the
// server's) moves each frame instead of two. The EAL then gets --single-file-segments, and
// tempo::lend() takes only memory of DPDK's own (rte_malloc) on the port.
bool memif_zero_copy_client(const PortConfig& p);

// rte_eal_init's argv for this config, program name first: -l, -m, --no-huge, --file-prefix,
// --no-pci (when every port is a vdev), --single-file-segments (for a memif zero-copy
// client), --vdev=... per vdev port, -a ADDR per PCI port, --log-level, then eal.extra_args. Never
// --in-memory (it does not combine with --no-huge).
std::vector<std::string> eal_args(const Config& config, std::string_view program = "tempo");

// What only the running process can check, once its app has read its section and before the
// EAL starts (Stack::start calls it first): every lcore of eal.lcores is a CPU this process may
// run on (sched_getaffinity; with -l an lcore is the CPU of that number), and
// check_app_sections. Throws ConfigError:
//   config: eal.lcores: 0-3: lcore 2 is not a CPU this process may run on (it may run on 0-1)
void check_environment(const Config& config);

// Every section of `app:` is one this process opened with app_section (or an AppSection), or
// one of tempo's own apps' (echo, httpd, loadgen, proxy: a file may serve several). Anything
// else is a typo that would leave the app on its defaults; throws ConfigError:
//   config: app.ecoh: unknown app section (known: echo, httpd, loadgen, proxy)
void check_app_sections(const Config& config);

// Text forms, as the loader accepts them.
std::string to_string(const Ipv4Addr& a);
std::string to_string(const Ipv6Addr& a);
std::string to_string(const Ipv4Prefix& p);
std::string to_string(const Ipv6Prefix& p);
std::string to_string(const Ipv4Endpoint& e);

// One app's section, `app.NAME`, read with typed getters that throw ConfigError naming the
// full key ("config: app.echo.port: 70000: expected an integer in [1, 65535]"). An absent
// key gives the default; an absent section behaves as an empty one. Read it (and call
// check_keys) before starting the EAL: opening it marks `app.NAME` as this process's for
// check_app_sections, which Stack::start runs.
class AppSection {
 public:
  AppSection(std::shared_ptr<const AppTree> tree, std::string app);

  // True when `app.NAME` is in the file.
  bool present() const;
  bool has(std::string_view key) const;
  // Throws on any key of the section not in `known` (and on a duplicated key).
  void check_keys(std::initializer_list<std::string_view> known) const;

  std::int64_t get_int(std::string_view key, std::int64_t lo, std::int64_t hi,
                       std::int64_t def) const;
  double get_double(std::string_view key, double lo, double hi, double def) const;
  bool get_bool(std::string_view key, bool def) const;
  std::string get_string(std::string_view key, std::string_view def) const;
  // Throws "missing required key" when absent.
  std::string require_string(std::string_view key) const;
  // Returns one of `allowed`; anything else throws, listing them.
  std::string get_enum(std::string_view key, std::initializer_list<std::string_view> allowed,
                       std::string_view def) const;
  std::vector<std::string> get_string_list(std::string_view key,
                                           std::vector<std::string> def = {}) const;
  // "198.18.0.1:8000"
  Ipv4Endpoint get_endpoint(std::string_view key, Ipv4Endpoint def) const;
  Ipv4Endpoint require_endpoint(std::string_view key) const;
  std::vector<Ipv4Endpoint> get_endpoint_list(std::string_view key,
                                              std::vector<Ipv4Endpoint> def = {}) const;

  // Addresses and blocks of addresses: "198.18.1.7" (as a /32) or "198.18.1.0/26" (prefix
  // length at least `min_len`, no host bits set). Absent: empty.
  std::vector<Ipv4Prefix> get_ipv4_block_list(std::string_view key, int min_len = 0) const;

  // "app.NAME"
  const std::string& path() const noexcept { return path_; }

 private:
  std::shared_ptr<const AppTree> tree_;
  std::string app_;
  std::string path_;
};

AppSection app_section(const Config& config, std::string_view app);

}  // namespace config
}  // namespace tempo
