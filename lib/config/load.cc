// YAML to tempo::Config: one function per section, each checking its keys first so a typo is
// reported as an unknown key rather than silently taking the default.
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>

#include <rte_build_config.h>

#include <tempo/config.h>

#include "config/address.h"
#include "config/lcores.h"
#include "config/reader.h"

namespace tempo::config {
namespace {

using detail::fail;
using detail::fail_text;
using detail::fail_value;
using detail::MapView;

constexpr std::int64_t kHourMs = 3600000;

// A string the EAL gets as an argument: a NUL would cut it short there, and no EAL option takes
// a control character.
bool has_control(std::string_view s) {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return true;
    }
  }
  return false;
}

void check_eal_string(const std::string& path, const std::string& value) {
  if (has_control(value)) {
    fail_text(path, value, "expected no control characters (it is passed to rte_eal_init)");
  }
}

// DPDK --log-level: a level (number 1..8 or name), optionally after "PATTERN:" or "REGEX,".
bool valid_log_level(std::string_view s) {
  const auto sep = s.find_last_of(":,");
  const std::string_view level = sep == std::string_view::npos ? s : s.substr(sep + 1);
  if (sep == 0) {
    return false;
  }
  if (level.size() == 1 && level[0] >= '1' && level[0] <= '8') {
    return true;
  }
  for (const char* name :
       {"emergency", "alert", "critical", "error", "warning", "notice", "info", "debug"}) {
    if (level == name) {
      return true;
    }
  }
  return false;
}

bool valid_file_prefix(std::string_view s) {
  if (s.empty() || s.size() > 64) {
    return false;
  }
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) {
      return false;
    }
  }
  return true;
}

bool is_hex(std::string_view s, std::size_t len) {
  if (s.size() != len) {
    return false;
  }
  for (const char c : s) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!ok) {
      return false;
    }
  }
  return true;
}

// "DDDD:BB:DD.F" or "BB:DD.F" (rte_pci_addr_parse accepts both), before any ",devargs".
// Returns the address in its full, lower-case form, or "" when it is not one.
std::string pci_address(std::string_view device) {
  std::string_view a = device.substr(0, device.find(','));
  std::string domain = "0000";
  if (a.size() == 12) {
    if (!is_hex(a.substr(0, 4), 4) || a[4] != ':') {
      return "";
    }
    domain = std::string(a.substr(0, 4));
    a.remove_prefix(5);
  }
  if (a.size() != 7 || !is_hex(a.substr(0, 2), 2) || a[2] != ':' || !is_hex(a.substr(3, 2), 2) ||
      a[5] != '.' || a[6] < '0' || a[6] > '7') {
    return "";
  }
  std::string out = domain + ":" + std::string(a);
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

// A vdev name is a driver name ("net_tap", "net_af_packet", ...) and an instance suffix:
// "net_tap0". Returns the name (before ",args"), or "" when it is not one.
std::string vdev_name(std::string_view device) {
  const std::string_view name = device.substr(0, device.find(','));
  if (name.size() <= 4 || name.substr(0, 4) != "net_") {
    return "";
  }
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) {
      return "";
    }
  }
  return std::string(name);
}

// 65,535 (an mbuf's data room is 16 bits) less RTE_PKTMBUF_HEADROOM (128), the Ethernet
// header, a VLAN tag and the CRC (dpdk/port.cc sizes RX buffers so).
constexpr int kMemifMaxMtu = 65535 - 128 - 14 - 4 - 4;

// The port is DPDK's net_memif (a vdev "net_memifN,...").
bool is_memif(const PortConfig& p) { return p.device.rfind("net_memif", 0) == 0; }

// net_af_xdp (22.11) fills its fill ring with 2,048 buffers of the RX pool at queue setup and
// refuses the queue with EINVAL when the pool cannot give them: half the pool at most.
constexpr int kAfXdpMinMbufs = 4095;
bool is_af_xdp(const PortConfig& p) { return p.device.rfind("net_af_xdp", 0) == 0; }

// net_memif carries a frame longer than its buffers (devarg bsize, 2048 by default) in several
// descriptors, and DPDK 22.11's memif TX can write one descriptor past the free ones when its
// ring is nearly full, over a frame the peer has not read yet. Every frame must fit one buffer.
void check_memif_frames(const PortConfig& p, const std::string& mtu_key) {
  if (!is_memif(p)) {
    return;
  }
  const std::string_view b = device_arg(p.device, "bsize");
  long bsize = 2048;
  if (!b.empty() && std::from_chars(b.data(), b.data() + b.size(), bsize).ec != std::errc{}) {
    return;  // the PMD refuses it, naming it
  }
  const long frame = p.mtu + 14;  // the Ethernet header (memif carries no CRC)
  if (frame > bsize) {
    fail_text(mtu_key, std::to_string(p.mtu),
              "a " + std::to_string(frame) + "-byte frame needs memif buffers that large: add " +
                  "bsize=" + std::to_string(frame) + " (or more) to the device (it is " +
                  std::to_string(bsize) +
                  "; DPDK 22.11's memif can overwrite frames that span buffers)");
  }
}

EalConfig parse_eal(const YAML::Node& node) {
  const MapView m(node, "eal");
  m.check_keys({"lcores", "memory_mb", "no_huge", "file_prefix", "log_level", "extra_args",
                "idle_sleep_us", "idle_polls"});
  EalConfig e;
  e.lcores = m.get_string("lcores", e.lcores);
  const auto cores = detail::parse_core_list(e.lcores);
  if (!cores) {
    fail_text(m.key_path("lcores"), e.lcores, "expected a core list like 0-3 or 0,2,4");
  }
  // With -l an lcore is the CPU of that number; DPDK refuses one past RTE_MAX_LCORE. Whether
  // the machine has it is check_environment's (the loader reads files for other machines too).
  if (cores->back() >= RTE_MAX_LCORE) {
    fail_text(m.key_path("lcores"), e.lcores,
              "expected lcores in [0, " + std::to_string(RTE_MAX_LCORE - 1) + "] (RTE_MAX_LCORE " +
                  std::to_string(RTE_MAX_LCORE) + ")");
  }
  e.memory_mb = static_cast<int>(m.get_int("memory_mb", 64, 1048576, e.memory_mb));
  e.no_huge = m.get_bool("no_huge", e.no_huge);
  e.idle_sleep_us = static_cast<int>(m.get_int("idle_sleep_us", 0, 100000, e.idle_sleep_us));
  e.idle_polls = static_cast<int>(m.get_int("idle_polls", 1, 1000000000, e.idle_polls));
  e.file_prefix = m.get_string("file_prefix", "tempo-" + std::to_string(getpid()));
  if (!valid_file_prefix(e.file_prefix)) {
    fail_text(m.key_path("file_prefix"), e.file_prefix,
              "expected 1 to 64 letters, digits, '-', '_' or '.'");
  }
  if (m.has("log_level")) {
    const std::string level = detail::read_string(m.get("log_level"), m.key_path("log_level"));
    check_eal_string(m.key_path("log_level"), level);
    if (!valid_log_level(level)) {
      fail_text(m.key_path("log_level"), level,
                "expected 1..8 or one of emergency, alert, critical, error, warning, notice, "
                "info, debug (optionally after PATTERN:)");
    }
    e.log_level = level;
  }
  if (m.has("extra_args")) {
    const YAML::Node args = m.get("extra_args");
    e.extra_args = detail::read_string_list(args, m.key_path("extra_args"));
    for (std::size_t i = 0; i < e.extra_args.size(); ++i) {
      check_eal_string(detail::join_index(m.key_path("extra_args"), i), e.extra_args[i]);
      // DESIGN.md: --no-huge cannot be combined with --in-memory; each process gets its own
      // --file-prefix instead.
      if (e.extra_args[i] == "--in-memory" && e.no_huge) {
        fail_text(detail::join_index(m.key_path("extra_args"), i), e.extra_args[i],
                  "does not combine with no_huge; give each process its own file_prefix");
      }
    }
  }
  return e;
}

Ipv4Prefix read_ipv4_prefix(const YAML::Node& node, const std::string& path, int min_len) {
  const std::string text = detail::read_string(node, path);
  bool bad_len = false;
  const auto p = detail::parse_ipv4_prefix(text, bad_len);
  if (!p || p->len < min_len) {
    if (bad_len || p) {
      fail_text(path, text, "expected a prefix length in [" + std::to_string(min_len) + ", 32]");
    }
    fail_text(path, text, "expected an IPv4 address/prefix like 198.18.0.2/24");
  }
  return *p;
}

Ipv6Prefix read_ipv6_prefix(const YAML::Node& node, const std::string& path, int min_len) {
  const std::string text = detail::read_string(node, path);
  bool bad_len = false;
  const auto p = detail::parse_ipv6_prefix(text, bad_len);
  if (!p || p->len < min_len) {
    if (bad_len || p) {
      fail_text(path, text, "expected a prefix length in [" + std::to_string(min_len) + ", 128]");
    }
    fail_text(path, text, "expected an IPv6 address/prefix like 2001:db8::2/64");
  }
  return *p;
}

Ipv4Addr read_ipv4(const YAML::Node& node, const std::string& path) {
  const std::string text = detail::read_string(node, path);
  const auto a = detail::parse_ipv4(text);
  if (!a) {
    fail_text(path, text, "expected an IPv4 address like 198.18.0.1");
  }
  return *a;
}

Ipv6Addr read_ipv6(const YAML::Node& node, const std::string& path) {
  const std::string text = detail::read_string(node, path);
  const auto a = detail::parse_ipv6(text);
  if (!a) {
    fail_text(path, text, "expected an IPv6 address like 2001:db8::1");
  }
  return *a;
}

template <class Prefix>
void check_network(const Prefix& p, const std::string& path) {
  const Prefix n = detail::network_of(p);
  if (!(n == p)) {
    fail_text(path, to_string(p), "host bits set; the network is " + to_string(n));
  }
}

void parse_routes(const YAML::Node& node, const std::string& path, PortConfig& port) {
  detail::describe(path, "list of {prefix, via}");
  if (!node.IsSequence()) {
    fail_value(path, node, "expected a list of {prefix, via}");
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    const MapView r(node[i], detail::join_index(path, i));
    r.check_keys({"prefix", "via"});
    const YAML::Node prefix = r.require("prefix");
    const YAML::Node via = r.require("via");
    const std::string prefix_text = detail::read_string(prefix, r.key_path("prefix"));
    if (prefix_text.find(':') == std::string::npos) {
      Route4 route;
      route.prefix = read_ipv4_prefix(prefix, r.key_path("prefix"), 0);
      check_network(route.prefix, r.key_path("prefix"));
      route.via = read_ipv4(via, r.key_path("via"));
      port.routes.push_back(route);
    } else {
      Route6 route;
      route.prefix = read_ipv6_prefix(prefix, r.key_path("prefix"), 0);
      check_network(route.prefix, r.key_path("prefix"));
      route.via = read_ipv6(via, r.key_path("via"));
      port.routes6.push_back(route);
    }
  }
}

// `ipv4_secondary`: addresses and blocks of addresses on the port's own subnet, none of them
// the primary address, the subnet's network or broadcast address, or in another entry.
void parse_secondary(const YAML::Node& node, const std::string& path, PortConfig& port) {
  detail::describe(path, "list of IPv4 addresses and blocks");
  if (!node.IsSequence()) {
    fail_value(path, node, "expected a list of addresses or address blocks (198.18.1.0/26)");
  }
  const auto host = [](const Ipv4Addr& a) {
    return std::uint32_t{a.bytes[0]} << 24 | std::uint32_t{a.bytes[1]} << 16 |
           std::uint32_t{a.bytes[2]} << 8 | a.bytes[3];
  };
  const auto range = [&](const Ipv4Prefix& p) {
    const std::uint32_t mask = p.len == 0 ? 0 : ~std::uint32_t{0} << (32 - p.len);
    return std::pair{host(p.addr) & mask, (host(p.addr) & mask) | ~mask};
  };
  const auto [net_lo, net_hi] = range(port.ipv4);
  const std::uint32_t primary = host(port.ipv4.addr);
  for (std::size_t i = 0; i < node.size(); ++i) {
    const std::string here = detail::join_index(path, i);
    const std::string text = detail::read_string(node[i], here);
    Ipv4Prefix p;
    if (text.find('/') == std::string::npos) {
      p.addr = read_ipv4(node[i], here);
      p.len = 32;
    } else {
      p = read_ipv4_prefix(node[i], here, 16);
      check_network(p, here);
    }
    const auto [lo, hi] = range(p);
    if (lo < net_lo || hi > net_hi) {
      fail_text(here, text,
                "outside the port's subnet " + to_string(detail::network_of(port.ipv4)));
    }
    if (port.ipv4.len < 31 && (lo == net_lo || hi == net_hi)) {
      fail_text(here, text, "holds the subnet's network or broadcast address");
    }
    if (lo <= primary && primary <= hi) {
      fail_text(here, text, "holds the port's own ipv4 address");
    }
    for (std::size_t j = 0; j < port.ipv4_secondary.size(); ++j) {
      const auto [olo, ohi] = range(port.ipv4_secondary[j]);
      if (lo <= ohi && olo <= hi) {
        fail_text(here, text, "overlaps " + detail::join_index(path, j));
      }
    }
    port.ipv4_secondary.push_back(p);
  }
}

bool contains(const Ipv4Prefix& net, const Ipv4Addr& a) {
  return detail::network_of(Ipv4Prefix{a, net.len}) == detail::network_of(net);
}
bool contains(const Ipv6Prefix& net, const Ipv6Addr& a) {
  return detail::network_of(Ipv6Prefix{a, net.len}) == detail::network_of(net);
}

// Two prefixes overlap when the shorter one holds the other's network.
template <class Prefix>
bool overlap(const Prefix& a, const Prefix& b) {
  const Prefix& shorter = a.len <= b.len ? a : b;
  const Prefix& longer = a.len <= b.len ? b : a;
  return contains(shorter, longer.addr);
}

// The gateway is the next hop of everything off the subnet, so it must be on it (ARP reaches
// only the link), and be neither this port nor the subnet's network or broadcast address.
void check_gateway(const Ipv4Addr& gw, const Ipv4Prefix& own, const std::string& path) {
  const Ipv4Prefix net = detail::network_of(own);
  if (!contains(own, gw)) {
    fail_text(path, to_string(gw), "outside the port's subnet " + to_string(net));
  }
  if (gw == own.addr) {
    fail_text(path, to_string(gw), "is the port's own ipv4 address");
  }
  Ipv4Addr broadcast = net.addr;
  for (int bit = own.len; bit < 32; ++bit) {
    broadcast.bytes[bit / 8] =
        static_cast<std::uint8_t>(broadcast.bytes[bit / 8] | 0x80 >> bit % 8);
  }
  if (own.len < 31 && (gw == net.addr || gw == broadcast)) {
    fail_text(path, to_string(gw), "is the subnet's network or broadcast address");
  }
}

// RFC 4861 §4.2: routers advertise from their link-local address, so a link-local gateway6 is
// on-link whatever the port's prefix; any other must be on the port's ipv6 subnet.
void check_gateway6(const Ipv6Addr& gw, const std::optional<Ipv6Prefix>& own,
                    const std::string& path) {
  const bool link_local = gw.bytes[0] == 0xfe && (gw.bytes[1] & 0xc0) == 0x80;
  if (link_local) {
    return;
  }
  if (!own) {
    fail_text(path, to_string(gw),
              "expected a link-local address (fe80::/10): the port has no ipv6");
  }
  if (!contains(*own, gw)) {
    fail_text(path, to_string(gw),
              "outside the port's subnet " + to_string(detail::network_of(*own)) +
                  " and not link-local (fe80::/10)");
  }
  if (gw == own->addr) {
    fail_text(path, to_string(gw), "is the port's own ipv6 address");
  }
}

PortConfig parse_port(const YAML::Node& node, std::size_t index) {
  const MapView m(node, detail::join_index("ports", index));
  m.check_keys({"name", "device", "queues", "ipv4", "ipv4_secondary", "ipv6", "gateway", "gateway6",
                "mtu", "mbufs", "tso", "trusted_link", "routes", "promiscuous"});
  PortConfig p;
  p.name = m.get_string("name", "port" + std::to_string(index));
  if (p.name.empty()) {
    fail_text(m.key_path("name"), "\"\"", "expected a non-empty name");
  }
  p.device = detail::read_string(m.require("device"), m.key_path("device"));
  check_eal_string(m.key_path("device"), p.device);
  if (!pci_address(p.device).empty()) {
    p.device_kind = DeviceKind::kPci;
  } else if (!vdev_name(p.device).empty()) {
    p.device_kind = DeviceKind::kVdev;
  } else {
    fail_text(m.key_path("device"), p.device,
              "expected a PCI address like 0000:03:00.0 or a vdev like net_tap0,iface=tempo0");
  }
  p.queues = static_cast<int>(m.get_int("queues", 1, 64, p.queues));
  p.ipv4 = read_ipv4_prefix(m.require("ipv4"), m.key_path("ipv4"), 1);
  if (m.has("ipv4_secondary")) {
    parse_secondary(m.get("ipv4_secondary"), m.key_path("ipv4_secondary"), p);
  }
  if (m.has("ipv6")) {
    p.ipv6 = read_ipv6_prefix(m.get("ipv6"), m.key_path("ipv6"), 1);
  }
  if (m.has("gateway")) {
    p.gateway = read_ipv4(m.get("gateway"), m.key_path("gateway"));
    check_gateway(*p.gateway, p.ipv4, m.key_path("gateway"));
  }
  if (m.has("gateway6")) {
    p.gateway6 = read_ipv6(m.get("gateway6"), m.key_path("gateway6"));
    check_gateway6(*p.gateway6, p.ipv6, m.key_path("gateway6"));
  }
  // Jumbo frames, 9,000 bytes, on a NIC; on memif (shared memory, no wire) up to what one RX
  // buffer holds (a 16-bit data room, less headroom, Ethernet header, VLAN tag and CRC): the
  // 64 KB segments veth's GSO passes, as large frames.
  p.mtu = static_cast<int>(m.get_int("mtu", 68, is_memif(p) ? kMemifMaxMtu : 9000, p.mtu));
  check_memif_frames(p, m.key_path("mtu"));
  p.mbufs =
      static_cast<int>(m.get_int("mbufs", is_af_xdp(p) ? kAfXdpMinMbufs : 1023, 16777215, p.mbufs));
  p.tso = m.get_bool("tso", p.tso);
  p.trusted_link = m.get_bool("trusted_link", p.trusted_link);
  p.promiscuous = m.get_bool("promiscuous", p.promiscuous);
  if (m.has("routes")) {
    parse_routes(m.get("routes"), m.key_path("routes"), p);
  }
  return p;
}

std::vector<PortConfig> parse_ports(const YAML::Node& node) {
  detail::describe("ports", "list of ports (at least one)");
  if (!node.IsDefined()) {
    fail("ports", "missing required key");
  }
  if (!node.IsSequence()) {
    fail_value("ports", node, "expected a list of ports");
  }
  if (node.size() == 0) {
    fail_value("ports", node, "expected at least one port");
  }
  std::vector<PortConfig> ports;
  for (std::size_t i = 0; i < node.size(); ++i) {
    PortConfig p = parse_port(node[i], i);
    const std::string here = detail::join_index("ports", i);
    const std::string id =
        p.device_kind == DeviceKind::kPci ? pci_address(p.device) : vdev_name(p.device);
    for (std::size_t j = 0; j < ports.size(); ++j) {
      const std::string there = detail::join_index("ports", j);
      if (ports[j].name == p.name) {
        fail_text(here + ".name", p.name, "same name as " + there);
      }
      // Which port a destination on both subnets leaves by would be a guess.
      if (overlap(ports[j].ipv4, p.ipv4)) {
        fail_text(here + ".ipv4", to_string(p.ipv4),
                  "overlaps the subnet of " + there + " (" +
                      to_string(detail::network_of(ports[j].ipv4)) + ")");
      }
      if (ports[j].ipv6 && p.ipv6 && overlap(*ports[j].ipv6, *p.ipv6)) {
        fail_text(here + ".ipv6", to_string(*p.ipv6),
                  "overlaps the subnet of " + there + " (" +
                      to_string(detail::network_of(*ports[j].ipv6)) + ")");
      }
      const std::string other_id = ports[j].device_kind == DeviceKind::kPci
                                       ? pci_address(ports[j].device)
                                       : vdev_name(ports[j].device);
      if (other_id == id) {
        fail_text(here + ".device", p.device, "same device as " + there);
      }
    }
    ports.push_back(std::move(p));
  }
  return ports;
}

TimeWaitConfig parse_time_wait(const YAML::Node& node) {
  const MapView m(node, "tcp.time_wait");
  m.check_keys({"duration_ms", "max_entries", "on_full", "reuse", "rfc1337", "expiry_per_turn"});
  TimeWaitConfig t;
  t.duration_ms = m.get_int("duration_ms", 1, kHourMs, t.duration_ms);
  t.max_entries = m.get_int("max_entries", 1, 1000000000, t.max_entries);
  // Each enum list is in its enum's order, so an absent key keeps the default of config.h.
  t.on_full = static_cast<TwOnFull>(
      m.get_enum("on_full", {"evict_oldest", "refuse"}, static_cast<std::size_t>(t.on_full)));
  t.reuse = static_cast<TwReuse>(
      m.get_enum("reuse", {"rfc6191", "off"}, static_cast<std::size_t>(t.reuse)));
  t.rfc1337 = m.get_bool("rfc1337", t.rfc1337);
  t.expiry_per_turn = m.get_int("expiry_per_turn", 0, 1000000, t.expiry_per_turn);
  return t;
}

PmtuConfig parse_pmtu(const YAML::Node& node) {
  const MapView m(node, "tcp.pmtu");
  m.check_keys({"min_ipv4", "min_ipv6", "expires_ms", "max_entries"});
  PmtuConfig c;
  // 128: the smallest IPv4 MTU that carries the smallest send MSS tempo takes (88, Linux's
  // TCP_MIN_MSS) with its headers; RFC 8200 §5: no IPv6 link is below 1280.
  c.min_ipv4 = static_cast<int>(m.get_int("min_ipv4", 128, 65535, c.min_ipv4));
  c.min_ipv6 = static_cast<int>(m.get_int("min_ipv6", 1280, 65535, c.min_ipv6));
  // RFC 1191 §6.3: raise an estimate again no sooner than 5 minutes after a decrease, 10
  // recommended (the default); shorter is for tests, a day at most.
  c.expires_ms = m.get_int("expires_ms", 1000, 24 * kHourMs, c.expires_ms);
  c.max_entries = m.get_int("max_entries", 4, 16777216, c.max_entries);
  return c;
}

KeepaliveConfig parse_keepalive(const YAML::Node& node) {
  const MapView m(node, "tcp.keepalive");
  m.check_keys({"enabled", "idle_ms", "interval_ms", "probes"});
  KeepaliveConfig k;
  k.enabled = m.get_bool("enabled", k.enabled);
  k.idle_ms = m.get_int("idle_ms", 1, 24 * kHourMs, k.idle_ms);
  k.interval_ms = m.get_int("interval_ms", 1, kHourMs, k.interval_ms);
  k.probes = static_cast<int>(m.get_int("probes", 1, 127, k.probes));
  return k;
}

void parse_local_port_range(const YAML::Node& node, const std::string& path, TcpConfig& t) {
  detail::describe(path, "[lo, hi]", "[1, 65535]");
  if (!node.IsSequence() || node.size() != 2) {
    fail_value(path, node, "expected a list [lo, hi]");
  }
  const std::int64_t lo = detail::read_int(node[0], detail::join_index(path, 0), 1, 65535);
  const std::int64_t hi = detail::read_int(node[1], detail::join_index(path, 1), 1, 65535);
  if (lo > hi) {
    fail_value(path, node, "expected [lo, hi] with lo <= hi");
  }
  t.local_port_lo = static_cast<std::uint16_t>(lo);
  t.local_port_hi = static_cast<std::uint16_t>(hi);
}

TcpConfig parse_tcp(const YAML::Node& node) {
  const MapView m(node, "tcp");
  m.check_keys({"time_wait",
                "pmtu",
                "active_reuse_min_age_ms",
                "local_port_range",
                "mss",
                "min_snd_mss",
                "initial_rto_ms",
                "min_rto_ms",
                "max_rto_ms",
                "delayed_ack_ms",
                "nagle",
                "keepalive",
                "fin_wait2_timeout_ms",
                "syn_retries",
                "synack_retries",
                "orphan_retries",
                "max_orphans",
                "congestion",
                "sack",
                "rack",
                "timestamps",
                "window_scale",
                "rcv_buf_bytes",
                "snd_buf_bytes",
                "listen_backlog",
                "max_connections",
                "syncookies",
                "challenge_ack_limit_per_sec",
                "stop_grace_ms"});
  TcpConfig t;
  t.time_wait = parse_time_wait(m.get("time_wait"));
  t.pmtu = parse_pmtu(m.get("pmtu"));
  t.active_reuse_min_age_ms =
      m.get_int("active_reuse_min_age_ms", 0, kHourMs, t.active_reuse_min_age_ms);
  if (m.has("local_port_range")) {
    parse_local_port_range(m.get("local_port_range"), m.key_path("local_port_range"), t);
  }
  // RFC 879 / RFC 9293 §3.7.1: 536 is the default send MSS every host must accept.
  // At most every port's MTU less 40 (check_mss), so past 9,000 only on memif.
  t.mss = static_cast<int>(m.get_int("mss", 536, kMemifMaxMtu - 40, t.mss));
  // Linux tcp_min_snd_mss: 48 leaves 8 bytes of payload after 40 of options.
  t.min_snd_mss = static_cast<int>(m.get_int("min_snd_mss", 48, t.mss, t.min_snd_mss));
  t.initial_rto_ms = m.get_int("initial_rto_ms", 1, 60000, t.initial_rto_ms);
  t.min_rto_ms = m.get_int("min_rto_ms", 1, 60000, t.min_rto_ms);
  // RFC 6298 (2.5): a maximum may be placed on RTO provided it is at least 60 seconds.
  t.max_rto_ms = m.get_int("max_rto_ms", 60000, kHourMs, t.max_rto_ms);
  if (t.initial_rto_ms < t.min_rto_ms || t.initial_rto_ms > t.max_rto_ms) {
    fail_text(m.key_path("initial_rto_ms"), std::to_string(t.initial_rto_ms),
              "expected a value in [tcp.min_rto_ms, tcp.max_rto_ms] = [" +
                  std::to_string(t.min_rto_ms) + ", " + std::to_string(t.max_rto_ms) + "]");
  }
  // RFC 9293 §3.8.6.3 (RFC 1122 §4.2.3.2): an ACK MUST NOT be delayed 0.5 s or more.
  t.delayed_ack_ms = m.get_int("delayed_ack_ms", 0, 499, t.delayed_ack_ms);
  t.nagle = m.get_bool("nagle", t.nagle);
  t.keepalive = parse_keepalive(m.get("keepalive"));
  t.fin_wait2_timeout_ms = m.get_int("fin_wait2_timeout_ms", 1, kHourMs, t.fin_wait2_timeout_ms);
  t.syn_retries = static_cast<int>(m.get_int("syn_retries", 1, 127, t.syn_retries));
  t.synack_retries = static_cast<int>(m.get_int("synack_retries", 1, 127, t.synack_retries));
  t.orphan_retries = static_cast<int>(m.get_int("orphan_retries", 1, 127, t.orphan_retries));
  t.max_orphans = m.get_int("max_orphans", 0, 16777216, t.max_orphans);
  t.congestion = static_cast<Congestion>(
      m.get_enum("congestion", {"newreno", "cubic"}, static_cast<std::size_t>(t.congestion)));
  t.sack = m.get_bool("sack", t.sack);
  t.rack = m.get_bool("rack", t.rack);
  t.timestamps = m.get_bool("timestamps", t.timestamps);
  t.window_scale = m.get_bool("window_scale", t.window_scale);
  // RFC 7323 §2.3: with the maximum shift of 14 a window reaches 1 GiB.
  t.rcv_buf_bytes = m.get_int("rcv_buf_bytes", 2048, 1 << 30, t.rcv_buf_bytes);
  t.snd_buf_bytes = m.get_int("snd_buf_bytes", 2048, 1 << 30, t.snd_buf_bytes);
  t.listen_backlog = static_cast<int>(m.get_int("listen_backlog", 1, 1000000, t.listen_backlog));
  // rte_hash's smallest table is 8 entries; a slot index is 32 bits.
  t.max_connections = m.get_int("max_connections", 8, 16777216, t.max_connections);
  t.syncookies = static_cast<SynCookies>(
      m.get_enum("syncookies", {"auto", "always", "off"}, static_cast<std::size_t>(t.syncookies)));
  t.challenge_ack_limit_per_sec = static_cast<int>(
      m.get_int("challenge_ack_limit_per_sec", 1, 1000000, t.challenge_ack_limit_per_sec));
  t.stop_grace_ms = m.get_int("stop_grace_ms", 0, kHourMs, t.stop_grace_ms);
  return t;
}

IpReassemblyConfig parse_reassembly(const YAML::Node& node) {
  const MapView m(node, "ip.reassembly");
  m.check_keys({"max_datagrams", "max_bytes", "max_fragments", "timeout_ms", "on_full"});
  IpReassemblyConfig r;
  r.max_datagrams = m.get_int("max_datagrams", 0, 65536, r.max_datagrams);
  // RFC 8200 §4.5 (and §5): a node must be able to reassemble 1500 octets; 65,535 is the
  // largest IPv4 total length.
  r.max_bytes = m.get_int("max_bytes", 1500, 65535, r.max_bytes);
  // 8,192 fragments of 8 bytes make the largest datagram.
  r.max_fragments = m.get_int("max_fragments", 2, 8192, r.max_fragments);
  r.timeout_ms = m.get_int("timeout_ms", 1, 120000, r.timeout_ms);
  r.on_full = static_cast<ReasmOnFull>(
      m.get_enum("on_full", {"evict_oldest", "refuse"}, static_cast<std::size_t>(r.on_full)));
  return r;
}

IpConfig parse_ip(const YAML::Node& node) {
  const MapView m(node, "ip");
  m.check_keys({"reassembly"});
  IpConfig ip;
  ip.reassembly = parse_reassembly(m.get("reassembly"));
  return ip;
}

FaultDirection parse_fault_direction(const YAML::Node& node, const std::string& path) {
  const MapView m(node, path);
  m.check_keys({"drop", "duplicate", "reorder", "delay_ms"});
  FaultDirection d;
  d.drop = m.get_double("drop", 0, 1, d.drop);
  d.duplicate = m.get_double("duplicate", 0, 1, d.duplicate);
  d.reorder = m.get_double("reorder", 0, 1, d.reorder);
  d.delay_ms = m.get_int("delay_ms", 0, 10000, d.delay_ms);
  return d;
}

FaultConfig parse_faults(const YAML::Node& node) {
  const MapView m(node, "faults");
  m.check_keys({"seed", "rx", "tx"});
  FaultConfig f;
  f.seed = static_cast<std::uint64_t>(
      m.get_int("seed", 0, INT64_MAX, static_cast<std::int64_t>(f.seed)));
  f.rx = parse_fault_direction(m.get("rx"), "faults.rx");
  f.tx = parse_fault_direction(m.get("tx"), "faults.tx");
  return f;
}

std::shared_ptr<const AppTree> parse_app(const YAML::Node& node) {
  const MapView m(node, "app");
  auto tree = std::make_shared<AppTree>();
  if (node.IsDefined() && node.IsMap()) {
    std::vector<std::string> seen;
    for (const auto& kv : node) {
      const std::string name = detail::read_string(kv.first, "app");
      const MapView section(kv.second, m.key_path(name));  // each section is a map
      for (const auto& s : seen) {
        if (s == name) {
          fail(m.key_path(name), "duplicate key");
        }
      }
      seen.push_back(name);
    }
    tree->root = node;
  }
  return tree;
}

// Segments of tcp.mss bytes, with the IPv4 and TCP headers, fit every port's MTU (the IPv6
// MSS is 20 bytes less: tcp_identity.cc).
void check_mss(const Config& c) {
  for (size_t i = 0; i < c.ports.size(); ++i) {
    if (c.tcp.mss + 40 > c.ports[i].mtu) {
      fail_text("tcp.mss", std::to_string(c.tcp.mss),
                "segments this long do not fit " + detail::join_index("ports", i) + ".mtu (" +
                    std::to_string(c.ports[i].mtu) + "): at most mtu - 40");
    }
  }
}

CaptureConfig parse_capture(const YAML::Node& node, int ports) {
  const MapView m(node, "capture");
  m.check_keys({"file", "port", "direction", "count", "bytes", "snaplen"});
  CaptureConfig c;
  c.file = detail::read_string(m.require("file"), m.key_path("file"));
  if (c.file.empty()) {
    fail_text(m.key_path("file"), "\"\"", "expected a file name");
  }
  c.port = static_cast<int>(m.get_int("port", -1, ports - 1, c.port));
  const std::size_t dir = m.get_enum("direction", {"both", "rx", "tx"}, 0);
  c.rx = dir != 2;
  c.tx = dir != 1;
  c.count = m.get_int("count", 0, std::int64_t{1} << 40, c.count);
  c.bytes = m.get_int("bytes", 0, std::int64_t{1} << 50, c.bytes);
  c.snaplen = m.get_int("snaplen", 64, 65535, c.snaplen);
  return c;
}

Config parse_root(const YAML::Node& root) {
  const MapView top(root, "");
  top.check_keys({"eal", "ports", "tcp", "ip", "faults", "capture", "app"});
  Config c;
  c.eal = parse_eal(top.get("eal"));
  c.ports = parse_ports(top.get("ports"));
  c.tcp = parse_tcp(top.get("tcp"));
  check_mss(c);
  c.ip = parse_ip(top.get("ip"));
  c.faults = parse_faults(top.get("faults"));
  if (top.has("capture")) {
    c.capture = parse_capture(top.get("capture"), static_cast<int>(c.ports.size()));
  }
  c.app = parse_app(top.get("app"));
  return c;
}

Config load_yaml(const std::string& text, std::string_view source) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    // yaml-cpp marks are 0-based; editors count from 1.
    fail(std::string(source) + ":" + std::to_string(e.mark.line + 1) + ":" +
             std::to_string(e.mark.column + 1),
         "syntax error: " + e.msg);
  }
  try {
    return parse_root(root);
  } catch (const YAML::Exception& e) {
    // Not expected (every read is checked first), but yaml-cpp must not leak past here.
    fail(std::string(source), "cannot interpret: " + e.msg);
  }
}

}  // namespace

Config load_string(std::string_view yaml, std::string_view source) {
  return load_yaml(std::string(yaml), source);
}

Config load_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    fail(path, std::string("cannot read: ") + std::strerror(errno));
  }
  std::string text;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    text.append(buf, n);
  }
  // A directory opens but does not read (EISDIR).
  const int err = std::ferror(f) != 0 ? errno : 0;
  std::fclose(f);
  if (err != 0) {
    fail(path, std::string("cannot read: ") + std::strerror(err));
  }
  return load_yaml(text, path);
}

std::string_view device_arg(std::string_view device, std::string_view key) {
  size_t at = device.find(',');
  while (at != std::string_view::npos) {
    const std::string_view rest = device.substr(at + 1);
    const std::string_view arg = rest.substr(0, rest.find(','));
    if (arg.size() > key.size() && arg.substr(0, key.size()) == key && arg[key.size()] == '=') {
      return arg.substr(key.size() + 1);
    }
    at = device.find(',', at + 1);
  }
  return "";
}

bool memif_zero_copy_client(const PortConfig& p) {
  return is_memif(p) && device_arg(p.device, "role") == "client" &&
         device_arg(p.device, "zero-copy") == "yes";
}

}  // namespace tempo::config
