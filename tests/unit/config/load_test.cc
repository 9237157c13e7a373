// A full valid file (DESIGN.md's example) round-trips to the typed Config with the values it
// names and the documented defaults for everything else.
#include <cstdio>
#include <string>
#include <unistd.h>

#include <gtest/gtest.h>

#include <tempo/config.h>

#include "config/address.h"

namespace tempo::config {
namespace {

// DESIGN.md "Configuration", verbatim, plus the example app sections.
constexpr const char* kDesignExample = R"(
eal:                        # passed to rte_eal_init
  lcores: "0-1"
  memory_mb: 512
  no_huge: true             # tests and demos; production uses hugepages
  file_prefix: tempo-demo   # unique per process; never --in-memory with no_huge
ports:
  - name: tap0
    device: "net_tap0,iface=tempo0"   # the EAL --vdev string, or a PCI address
    queues: 1               # RX/TX queue pairs; one per worker lcore
    ipv4: 198.18.0.2/24
    ipv6: "2001:db8::2/64"  # optional (documentation prefix; stays in the namespace)
    gateway: 198.18.0.1     # optional
tcp:
  time_wait:
    duration_ms: 60000
    max_entries: 4000000    # per core
    on_full: evict_oldest   # or: refuse
    reuse: rfc6191          # or: off
    rfc1337: true
  active_reuse_min_age_ms: 1000
  local_port_range: [32768, 60999]
app:
  echo:  { port: 7 }
  httpd: { port: 80, response_bytes: 1024, keepalive: true }
  proxy: { listen: 8080, backends: ["198.18.0.1:8000"], balance: round_robin }
  loadgen: { target: "198.18.0.1:80", rate: 0, connections: 100000, close_first: server }
)";

Ipv4Addr v4(const char* s) { return *detail::parse_ipv4(s); }
Ipv6Addr v6(const char* s) { return *detail::parse_ipv6(s); }

TEST(LoadTest, DesignExampleRoundTrips) {
  const Config c = load_string(kDesignExample);
  EXPECT_EQ(c.eal.lcores, "0-1");
  EXPECT_EQ(c.eal.memory_mb, 512);
  EXPECT_TRUE(c.eal.no_huge);
  EXPECT_EQ(c.eal.file_prefix, "tempo-demo");
  EXPECT_FALSE(c.eal.log_level.has_value());
  EXPECT_TRUE(c.eal.extra_args.empty());

  ASSERT_EQ(c.ports.size(), 1u);
  const PortConfig& p = c.ports[0];
  EXPECT_EQ(p.name, "tap0");
  EXPECT_EQ(p.device, "net_tap0,iface=tempo0");
  EXPECT_EQ(p.device_kind, DeviceKind::kVdev);
  EXPECT_EQ(p.queues, 1);
  EXPECT_EQ(p.ipv4.addr, v4("198.18.0.2"));
  EXPECT_EQ(p.ipv4.len, 24);
  ASSERT_TRUE(p.ipv6.has_value());
  EXPECT_EQ(p.ipv6->addr, v6("2001:db8::2"));
  EXPECT_EQ(p.ipv6->len, 64);
  ASSERT_TRUE(p.gateway.has_value());
  EXPECT_EQ(*p.gateway, v4("198.18.0.1"));
  EXPECT_FALSE(p.gateway6.has_value());
  EXPECT_EQ(p.mtu, 1500);
  EXPECT_FALSE(p.trusted_link);       // off unless a port declares it
  EXPECT_TRUE(p.promiscuous);         // on unless a port says otherwise
  EXPECT_EQ(c.eal.idle_sleep_us, 0);  // busy polling unless asked
  EXPECT_EQ(c.eal.idle_polls, 256);
  EXPECT_TRUE(p.routes.empty());

  EXPECT_EQ(c.tcp.time_wait.duration_ms, 60000);
  EXPECT_EQ(c.tcp.time_wait.max_entries, 4000000);
  EXPECT_EQ(c.tcp.time_wait.on_full, TwOnFull::kEvictOldest);
  EXPECT_EQ(c.tcp.time_wait.reuse, TwReuse::kRfc6191);
  EXPECT_TRUE(c.tcp.time_wait.rfc1337);
  EXPECT_EQ(c.tcp.active_reuse_min_age_ms, 1000);
  EXPECT_EQ(c.tcp.local_port_lo, 32768);
  EXPECT_EQ(c.tcp.local_port_hi, 60999);
  EXPECT_FALSE(c.faults.any());

  const AppSection echo = app_section(c, "echo");
  EXPECT_TRUE(echo.present());
  EXPECT_EQ(echo.get_int("port", 1, 65535, 9999), 7);
  const AppSection httpd = app_section(c, "httpd");
  EXPECT_EQ(httpd.get_int("response_bytes", 0, 1 << 20, 0), 1024);
  EXPECT_TRUE(httpd.get_bool("keepalive", false));
  const AppSection proxy = app_section(c, "proxy");
  EXPECT_EQ(proxy.get_string_list("backends"), std::vector<std::string>{"198.18.0.1:8000"});
  EXPECT_EQ(proxy.get_enum("balance", {"hash", "round_robin"}, "hash"), "round_robin");
  const AppSection loadgen = app_section(c, "loadgen");
  EXPECT_EQ(loadgen.require_endpoint("target"), (Ipv4Endpoint{v4("198.18.0.1"), 80}));
  EXPECT_EQ(loadgen.get_int("connections", 1, 100000000, 1), 100000);
  EXPECT_EQ(loadgen.get_enum("close_first", {"client", "server"}, "client"), "server");
}

TEST(LoadTest, MinimalConfigTakesEveryDefault) {
  const Config c = load_string("ports: [{device: net_tap0, ipv4: 198.18.0.2/24}]");
  const Config d;
  EXPECT_EQ(c.eal.lcores, "0");
  EXPECT_EQ(c.eal.memory_mb, 512);
  EXPECT_FALSE(c.eal.no_huge);
  EXPECT_EQ(c.eal.file_prefix, "tempo-" + std::to_string(getpid()));
  ASSERT_EQ(c.ports.size(), 1u);
  EXPECT_EQ(c.ports[0].name, "port0");
  EXPECT_EQ(c.ports[0].queues, 1);
  EXPECT_EQ(c.ports[0].mtu, 1500);
  EXPECT_FALSE(c.ports[0].ipv6.has_value());
  EXPECT_FALSE(c.ports[0].gateway.has_value());

  const TcpConfig& t = c.tcp;
  EXPECT_EQ(t.time_wait.duration_ms, 60000);
  EXPECT_EQ(t.time_wait.max_entries, 4000000);
  EXPECT_EQ(t.time_wait.on_full, TwOnFull::kEvictOldest);
  EXPECT_EQ(t.time_wait.reuse, TwReuse::kRfc6191);
  EXPECT_TRUE(t.time_wait.rfc1337);
  EXPECT_EQ(t.time_wait.expiry_per_turn, 64);
  EXPECT_EQ(t.pmtu.min_ipv4, 552);
  EXPECT_EQ(t.pmtu.min_ipv6, 1280);
  EXPECT_EQ(t.pmtu.expires_ms, 600000);
  EXPECT_EQ(t.pmtu.max_entries, 4096);
  EXPECT_EQ(t.active_reuse_min_age_ms, 1000);
  EXPECT_EQ(t.local_port_lo, 32768);
  EXPECT_EQ(t.local_port_hi, 60999);
  EXPECT_EQ(t.mss, 1460);
  EXPECT_EQ(t.min_snd_mss, 48);
  EXPECT_EQ(t.initial_rto_ms, 1000);
  EXPECT_EQ(t.min_rto_ms, 200);
  EXPECT_EQ(t.max_rto_ms, 120000);
  EXPECT_EQ(t.delayed_ack_ms, 40);
  EXPECT_TRUE(t.nagle);
  EXPECT_FALSE(t.keepalive.enabled);
  EXPECT_EQ(t.keepalive.idle_ms, 7200000);
  EXPECT_EQ(t.keepalive.interval_ms, 75000);
  EXPECT_EQ(t.keepalive.probes, 9);
  EXPECT_EQ(t.fin_wait2_timeout_ms, 60000);
  EXPECT_EQ(t.syn_retries, 6);
  EXPECT_EQ(t.synack_retries, 5);
  EXPECT_EQ(t.congestion, Congestion::kCubic);
  EXPECT_TRUE(t.sack);
  EXPECT_TRUE(t.rack);
  EXPECT_TRUE(t.timestamps);
  EXPECT_TRUE(t.window_scale);
  EXPECT_EQ(t.rcv_buf_bytes, 262144);
  EXPECT_EQ(t.snd_buf_bytes, 262144);
  EXPECT_EQ(t.listen_backlog, 4096);
  EXPECT_EQ(t.max_connections, 65536);
  EXPECT_EQ(t.syncookies, SynCookies::kAuto);
  EXPECT_EQ(t.challenge_ack_limit_per_sec, 1000);
  EXPECT_EQ(t.stop_grace_ms, 0);
  EXPECT_FALSE(c.faults.any());
  EXPECT_EQ(c.faults.seed, d.faults.seed);
  const IpReassemblyConfig& r = c.ip.reassembly;
  EXPECT_EQ(r.max_datagrams, 64);
  EXPECT_EQ(r.max_bytes, 65535);
  EXPECT_EQ(r.max_fragments, 64);
  EXPECT_EQ(r.timeout_ms, 5000);
  EXPECT_EQ(r.on_full, ReasmOnFull::kEvictOldest);
  EXPECT_FALSE(app_section(c, "echo").present());
  EXPECT_EQ(app_section(c, "echo").get_int("port", 1, 65535, 7), 7);
}

TEST(LoadTest, EveryTcpKnobAndFaultIsRead) {
  const Config c = load_string(R"(
ports: [{device: net_tap0, ipv4: 198.18.0.2/24, mtu: 9000}]
tcp:
  time_wait: {duration_ms: 1000, max_entries: 1e9, on_full: refuse, reuse: off, rfc1337: false,
              expiry_per_turn: 0}
  pmtu: {min_ipv4: 1000, min_ipv6: 1400, expires_ms: 5000, max_entries: 64}
  active_reuse_min_age_ms: 0
  local_port_range: [1024, 1024]
  mss: 8960
  min_snd_mss: 600
  initial_rto_ms: 300
  min_rto_ms: 10
  max_rto_ms: 60000
  delayed_ack_ms: 0
  nagle: false
  keepalive: {enabled: true, idle_ms: 5000, interval_ms: 1000, probes: 3}
  fin_wait2_timeout_ms: 2000
  syn_retries: 2
  synack_retries: 3
  congestion: newreno
  sack: false
  rack: false
  timestamps: no
  window_scale: off
  rcv_buf_bytes: 65536
  snd_buf_bytes: 131072
  listen_backlog: 128
  syncookies: always
  challenge_ack_limit_per_sec: 10
  stop_grace_ms: 2500
faults:
  seed: 42
  rx: {drop: 0.02, duplicate: 0.5, reorder: 1, delay_ms: 5}
  tx: {drop: 0}
)");
  const TcpConfig& t = c.tcp;
  EXPECT_EQ(t.time_wait.duration_ms, 1000);
  EXPECT_EQ(t.time_wait.max_entries, 1000000000);
  EXPECT_EQ(t.time_wait.on_full, TwOnFull::kRefuse);
  EXPECT_EQ(t.time_wait.reuse, TwReuse::kOff);
  EXPECT_FALSE(t.time_wait.rfc1337);
  EXPECT_EQ(t.time_wait.expiry_per_turn, 0);
  EXPECT_EQ(t.pmtu.min_ipv4, 1000);
  EXPECT_EQ(t.pmtu.min_ipv6, 1400);
  EXPECT_EQ(t.pmtu.expires_ms, 5000);
  EXPECT_EQ(t.pmtu.max_entries, 64);
  EXPECT_EQ(t.active_reuse_min_age_ms, 0);
  EXPECT_EQ(t.local_port_lo, 1024);
  EXPECT_EQ(t.local_port_hi, 1024);
  EXPECT_EQ(t.mss, 8960);
  EXPECT_EQ(t.min_snd_mss, 600);
  EXPECT_EQ(t.initial_rto_ms, 300);
  EXPECT_EQ(t.min_rto_ms, 10);
  EXPECT_EQ(t.max_rto_ms, 60000);
  EXPECT_EQ(t.delayed_ack_ms, 0);
  EXPECT_FALSE(t.nagle);
  EXPECT_TRUE(t.keepalive.enabled);
  EXPECT_EQ(t.keepalive.idle_ms, 5000);
  EXPECT_EQ(t.keepalive.interval_ms, 1000);
  EXPECT_EQ(t.keepalive.probes, 3);
  EXPECT_EQ(t.fin_wait2_timeout_ms, 2000);
  EXPECT_EQ(t.syn_retries, 2);
  EXPECT_EQ(t.synack_retries, 3);
  EXPECT_EQ(t.congestion, Congestion::kNewReno);
  EXPECT_FALSE(t.sack);
  EXPECT_FALSE(t.rack);
  EXPECT_FALSE(t.timestamps);
  EXPECT_FALSE(t.window_scale);
  EXPECT_EQ(t.rcv_buf_bytes, 65536);
  EXPECT_EQ(t.snd_buf_bytes, 131072);
  EXPECT_EQ(t.listen_backlog, 128);
  EXPECT_EQ(t.syncookies, SynCookies::kAlways);
  EXPECT_EQ(t.challenge_ack_limit_per_sec, 10);
  EXPECT_EQ(t.stop_grace_ms, 2500);
  EXPECT_EQ(c.faults.seed, 42u);
  EXPECT_DOUBLE_EQ(c.faults.rx.drop, 0.02);
  EXPECT_DOUBLE_EQ(c.faults.rx.duplicate, 0.5);
  EXPECT_DOUBLE_EQ(c.faults.rx.reorder, 1.0);
  EXPECT_EQ(c.faults.rx.delay_ms, 5);
  EXPECT_FALSE(c.faults.tx.any());
  EXPECT_TRUE(c.faults.any());
}

TEST(LoadTest, EveryReassemblyKnobIsRead) {
  const Config c = load_string(R"(
ports: [{device: net_tap0, ipv4: 198.18.0.2/24}]
ip:
  reassembly: {max_datagrams: 0, max_bytes: 1500, max_fragments: 8192, timeout_ms: 120000,
               on_full: refuse}
)");
  const IpReassemblyConfig& r = c.ip.reassembly;
  EXPECT_EQ(r.max_datagrams, 0);
  EXPECT_EQ(r.max_bytes, 1500);
  EXPECT_EQ(r.max_fragments, 8192);
  EXPECT_EQ(r.timeout_ms, 120000);
  EXPECT_EQ(r.on_full, ReasmOnFull::kRefuse);
  // An empty section takes the defaults.
  EXPECT_EQ(load_string("ports: [{device: net_tap0, ipv4: 198.18.0.2/24}]\nip: {}\n")
                .ip.reassembly.max_datagrams,
            64);
}

TEST(LoadTest, PortsWithPciRoutesAndIpv6) {
  const Config c = load_string(R"(
eal: {log_level: "pmd.net.tap:debug", extra_args: ["--huge-unlink"], idle_sleep_us: 100,
      idle_polls: 64}
ports:
  - name: nic0
    device: "0000:03:00.0,rxq_cqe_comp_en=1"
    queues: 64
    ipv4: 10.0.0.2/32
    ipv6: 2001:db8::2/128
    gateway6: fe80::1
    mtu: 9000
    trusted_link: true
    promiscuous: false
    routes:
      - {prefix: 198.18.1.0/24, via: 198.18.0.1}
      - {prefix: 0.0.0.0/0, via: 10.0.0.1}
      - {prefix: "2001:db8:1::/48", via: "2001:db8::1"}
  - device: 03:00.1
    ipv4: 198.19.0.2/16
)");
  ASSERT_EQ(c.ports.size(), 2u);
  const PortConfig& p = c.ports[0];
  EXPECT_EQ(c.eal.idle_sleep_us, 100);
  EXPECT_EQ(c.eal.idle_polls, 64);
  EXPECT_EQ(p.device_kind, DeviceKind::kPci);
  EXPECT_EQ(p.queues, 64);
  EXPECT_EQ(p.mtu, 9000);
  EXPECT_TRUE(p.trusted_link);
  EXPECT_FALSE(c.ports[1].trusted_link);
  EXPECT_FALSE(p.promiscuous);
  EXPECT_TRUE(c.ports[1].promiscuous);
  EXPECT_EQ(p.ipv4, (Ipv4Prefix{v4("10.0.0.2"), 32}));
  EXPECT_EQ(*p.ipv6, (Ipv6Prefix{v6("2001:db8::2"), 128}));
  EXPECT_EQ(*p.gateway6, v6("fe80::1"));
  ASSERT_EQ(p.routes.size(), 2u);
  EXPECT_EQ(p.routes[0], (Route4{{v4("198.18.1.0"), 24}, v4("198.18.0.1")}));
  EXPECT_EQ(p.routes[1], (Route4{{v4("0.0.0.0"), 0}, v4("10.0.0.1")}));
  ASSERT_EQ(p.routes6.size(), 1u);
  EXPECT_EQ(p.routes6[0], (Route6{{v6("2001:db8:1::"), 48}, v6("2001:db8::1")}));
  EXPECT_EQ(c.ports[1].name, "port1");
  EXPECT_EQ(c.ports[1].device_kind, DeviceKind::kPci);
  EXPECT_EQ(c.eal.log_level, "pmd.net.tap:debug");
  EXPECT_EQ(c.eal.extra_args, std::vector<std::string>{"--huge-unlink"});
}

TEST(LoadTest, SecondaryAddressesAndBlocks) {
  const Config c = load_string(
      "ports: [{device: net_tap0, ipv4: 198.18.0.2/16,"
      " ipv4_secondary: [198.18.1.0/26, 198.18.2.9, 198.18.3.0/32]}]\n");
  ASSERT_EQ(c.ports[0].ipv4_secondary.size(), 3u);
  EXPECT_EQ(to_string(c.ports[0].ipv4_secondary[0]), "198.18.1.0/26");
  EXPECT_EQ(to_string(c.ports[0].ipv4_secondary[1]), "198.18.2.9/32");
  EXPECT_EQ(to_string(c.ports[0].ipv4_secondary[2]), "198.18.3.0/32");
  EXPECT_TRUE(load_string("ports: [{device: net_tap0, ipv4: 198.18.0.2/24}]\n")
                  .ports[0]
                  .ipv4_secondary.empty());
}

TEST(LoadTest, LoadFileReadsTheFile) {
  char path[] = "/tmp/tempo-config-test-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string text = kDesignExample;
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  const Config c = load_file(path);
  unlink(path);
  EXPECT_EQ(c.eal.file_prefix, "tempo-demo");
  EXPECT_EQ(c.ports.at(0).name, "tap0");
}

TEST(LoadTest, EmptyAppSectionsAreAccepted) {
  const Config c = load_string("ports: [{device: net_tap0, ipv4: 198.18.0.2/24}]\napp:\n  echo:\n");
  EXPECT_TRUE(app_section(c, "echo").present());
  EXPECT_EQ(app_section(c, "echo").get_int("port", 1, 65535, 7), 7);
  app_section(c, "echo").check_keys({"port"});
}

// Jumbo frames on memif: each frame fits one memif buffer (bsize), and tcp.mss fits the MTU.
TEST(LoadTest, MemifJumboFramesWithBuffersToHoldThem) {
  const Config c = load_string(R"(
ports:
  - device: "net_memif0,role=server,id=0,bsize=9216"
    ipv4: 198.18.0.1/24
    mtu: 9000
    trusted_link: true
tcp: {mss: 8960}
)");
  EXPECT_EQ(c.ports[0].mtu, 9000);
  EXPECT_EQ(c.tcp.mss, 8960);
  // Up to a 64 KB frame in one buffer (bsize at most 65535).
  const Config big = load_string(R"(
ports:
  - {device: "net_memif0,role=client,id=0,bsize=65535", ipv4: 198.18.0.2/24, mtu: 65000}
tcp: {mss: 64960}
)");
  EXPECT_EQ(big.ports[0].mtu, 65000);
  EXPECT_EQ(big.tcp.mss, 64960);
}

}  // namespace
}  // namespace tempo::config
