// stack/settings.h: the public configuration mapped to the internal settings. A default public
// config (in code, and as the loader reads a file that names nothing) maps to the internal
// defaults, so tcp::Config{} and the others that tests, benchmarks and fuzzers run are what an
// app runs; and a config with every field away from its default puts each value in its own
// internal field.
#include "stack/settings.h"

#include <ostream>

#include <gtest/gtest.h>

#include <tempo/config.h>

namespace tempo {

void PrintTo(Ticks t, std::ostream* os) { *os << t.us() << " us"; }

namespace stack {
namespace {

// Every field of tcp::Config is named: a field the mapping sets lands where the default
// would; one it does not set keeps the default.
void expect_tcp_equal(const tcp::Config& got, const tcp::Config& want) {
  EXPECT_EQ(got.mss, want.mss);
  EXPECT_EQ(got.default_snd_mss, want.default_snd_mss);
  EXPECT_EQ(got.min_snd_mss, want.min_snd_mss);
  EXPECT_EQ(got.rcv_buf, want.rcv_buf);
  EXPECT_EQ(got.snd_buf, want.snd_buf);
  EXPECT_EQ(got.window_scaling, want.window_scaling);
  EXPECT_EQ(got.timestamps, want.timestamps);
  EXPECT_EQ(got.sack, want.sack);
  EXPECT_EQ(got.nagle, want.nagle);
  EXPECT_EQ(got.delack_timeout, want.delack_timeout);
  EXPECT_EQ(got.rto_initial, want.rto_initial);
  EXPECT_EQ(got.rto_min, want.rto_min);
  EXPECT_EQ(got.rto_max, want.rto_max);
  EXPECT_EQ(got.syn_retries, want.syn_retries);
  EXPECT_EQ(got.synack_retries, want.synack_retries);
  EXPECT_EQ(got.max_retries, want.max_retries);
  EXPECT_EQ(got.orphan_retries, want.orphan_retries);
  EXPECT_EQ(got.keepalive_probes, want.keepalive_probes);
  EXPECT_EQ(got.keepalive, want.keepalive);
  EXPECT_EQ(got.keepalive_idle, want.keepalive_idle);
  EXPECT_EQ(got.keepalive_interval, want.keepalive_interval);
  EXPECT_EQ(got.fin_wait_2_timeout, want.fin_wait_2_timeout);
  EXPECT_EQ(got.oow_ack_interval, want.oow_ack_interval);
  EXPECT_EQ(got.cc, want.cc);
  EXPECT_EQ(got.ooo_max_bytes, want.ooo_max_bytes);
  // A field added later and not named above is still compared.
  EXPECT_TRUE(got == want)
      << "tcp::Config: a field not named above differs (unless one above failed)";
}

void expect_tw_equal(const timewait::TwTableConfig& got, const timewait::TwTableConfig& want) {
  EXPECT_EQ(got.max_entries, want.max_entries);
  EXPECT_EQ(got.on_full, want.on_full);
  EXPECT_EQ(got.policy.reuse, want.policy.reuse);
  EXPECT_EQ(got.policy.rfc1337, want.policy.rfc1337);
  EXPECT_EQ(got.policy.duration, want.policy.duration);
  EXPECT_EQ(got.seed, want.seed);
  EXPECT_TRUE(got == want)
      << "TwTableConfig: a field not named above differs (unless one above failed)";
}

void expect_worker_equal(const WorkerTcpConfig& got, const WorkerTcpConfig& want) {
  EXPECT_EQ(got.local_port_lo, want.local_port_lo);
  EXPECT_EQ(got.local_port_hi, want.local_port_hi);
  EXPECT_EQ(got.active_reuse_min_age, want.active_reuse_min_age);
  EXPECT_EQ(got.listen_backlog, want.listen_backlog);
  EXPECT_EQ(got.syncookies, want.syncookies);
  EXPECT_EQ(got.challenge_ack_limit_per_sec, want.challenge_ack_limit_per_sec);
  EXPECT_EQ(got.max_orphans, want.max_orphans);
  EXPECT_EQ(got.pmtu_min_ipv4, want.pmtu_min_ipv4);
  EXPECT_EQ(got.pmtu_min_ipv6, want.pmtu_min_ipv6);
  EXPECT_EQ(got.pmtu_expires, want.pmtu_expires);
  EXPECT_EQ(got.pmtu_max_entries, want.pmtu_max_entries);
  EXPECT_TRUE(got == want)
      << "WorkerTcpConfig: a field not named above differs (unless one above failed)";
}

void expect_reasm_equal(const ReassemblyConfig& got, const ReassemblyConfig& want) {
  EXPECT_EQ(got.max_datagrams, want.max_datagrams);
  EXPECT_EQ(got.max_bytes, want.max_bytes);
  EXPECT_EQ(got.max_fragments, want.max_fragments);
  EXPECT_EQ(got.timeout, want.timeout);
  EXPECT_EQ(got.on_full, want.on_full);
  EXPECT_TRUE(got == want)
      << "ReassemblyConfig: a field not named above differs (unless one above failed)";
}

TEST(Settings, DefaultPublicConfigMapsToTheInternalDefaults) {
  const TcpConfig pub{};
  {
    SCOPED_TRACE("tcp::Config");
    expect_tcp_equal(tcp_config(pub), tcp::Config{});
  }
  {
    SCOPED_TRACE("timewait::TwTableConfig");
    expect_tw_equal(tw_config(pub.time_wait), timewait::TwTableConfig{});
  }
  {
    SCOPED_TRACE("WorkerTcpConfig");
    expect_worker_equal(worker_tcp_config(pub), WorkerTcpConfig{});
  }
  {
    SCOPED_TRACE("ReassemblyConfig");
    expect_reasm_equal(reassembly_config(IpReassemblyConfig{}), ReassemblyConfig{});
  }
}

// The loader's defaults (lib/config/load.cc) are the third place a default could live.
TEST(Settings, FileNamingNoTcpSettingMapsToTheInternalDefaults) {
  const Config loaded = config::load_string(R"(
ports:
  - device: "net_tap0,iface=tempo0"
    ipv4: 198.18.0.2/24
)");
  {
    SCOPED_TRACE("tcp::Config");
    expect_tcp_equal(tcp_config(loaded.tcp), tcp::Config{});
  }
  {
    SCOPED_TRACE("timewait::TwTableConfig");
    expect_tw_equal(tw_config(loaded.tcp.time_wait), timewait::TwTableConfig{});
  }
  {
    SCOPED_TRACE("WorkerTcpConfig");
    expect_worker_equal(worker_tcp_config(loaded.tcp), WorkerTcpConfig{});
  }
  {
    SCOPED_TRACE("ReassemblyConfig");
    expect_reasm_equal(reassembly_config(loaded.ip.reassembly), ReassemblyConfig{});
  }
}

// `want` is what `field` must hold after mapping; it must also differ from the internal
// default, or the check could not tell a mapped value from an untouched one.
#define EXPECT_MAPPED(got, defaults, field, want)                                 \
  do {                                                                            \
    EXPECT_NE((defaults).field, (want)) << #field ": choose a non-default value"; \
    EXPECT_EQ((got).field, (want)) << #field;                                     \
  } while (0)

// Every field of TcpConfig away from its default (each within the loader's range). Not mapped
// here: max_connections (Worker::init_tcp's own argument) and stop_grace_ms (the Runtime's).
TcpConfig non_default() {
  TcpConfig c;
  c.time_wait.duration_ms = 30000;
  c.time_wait.max_entries = 1000;
  c.time_wait.on_full = TwOnFull::kRefuse;
  c.time_wait.reuse = TwReuse::kOff;
  c.time_wait.rfc1337 = false;
  c.active_reuse_min_age_ms = 2500;
  c.local_port_lo = 40000;
  c.local_port_hi = 50000;
  c.mss = 1400;
  c.min_snd_mss = 1400;
  c.initial_rto_ms = 2000;
  c.min_rto_ms = 300;
  c.max_rto_ms = 90000;
  c.delayed_ack_ms = 25;
  c.nagle = false;
  c.keepalive.enabled = true;
  c.keepalive.idle_ms = 60000;
  c.keepalive.interval_ms = 5000;
  c.keepalive.probes = 4;
  c.fin_wait2_timeout_ms = 15000;
  c.syn_retries = 3;
  c.synack_retries = 2;
  c.orphan_retries = 4;
  c.max_orphans = 100;
  c.congestion = Congestion::kNewReno;
  c.sack = false;
  c.timestamps = false;
  c.window_scale = false;
  c.rcv_buf_bytes = 131072;
  c.snd_buf_bytes = 65536;
  c.listen_backlog = 128;
  c.syncookies = SynCookies::kAlways;
  c.challenge_ack_limit_per_sec = 77;
  c.pmtu.min_ipv4 = 1000;
  c.pmtu.min_ipv6 = 1400;
  c.pmtu.expires_ms = 5000;
  c.pmtu.max_entries = 64;
  return c;
}

TEST(Settings, EveryTcpFieldLandsInItsProtocolCoreField) {
  const tcp::Config t = tcp_config(non_default());
  const tcp::Config d{};
  EXPECT_MAPPED(t, d, mss, 1400);
  EXPECT_MAPPED(t, d, min_snd_mss, 1400);
  EXPECT_MAPPED(t, d, rcv_buf, 131072u);
  EXPECT_MAPPED(t, d, snd_buf, 65536u);
  EXPECT_MAPPED(t, d, window_scaling, false);
  EXPECT_MAPPED(t, d, timestamps, false);
  EXPECT_MAPPED(t, d, sack, false);
  EXPECT_MAPPED(t, d, nagle, false);
  EXPECT_MAPPED(t, d, delack_timeout, Ticks::from_ms(25));
  EXPECT_MAPPED(t, d, rto_initial, Ticks::from_ms(2000));
  EXPECT_MAPPED(t, d, rto_min, Ticks::from_ms(300));
  EXPECT_MAPPED(t, d, rto_max, Ticks::from_ms(90000));
  EXPECT_MAPPED(t, d, syn_retries, 3);
  EXPECT_MAPPED(t, d, synack_retries, 2);
  EXPECT_MAPPED(t, d, orphan_retries, 4);
  EXPECT_MAPPED(t, d, keepalive, true);
  EXPECT_MAPPED(t, d, keepalive_idle, Ticks::from_ms(60000));
  EXPECT_MAPPED(t, d, keepalive_interval, Ticks::from_ms(5000));
  EXPECT_MAPPED(t, d, keepalive_probes, 4);
  EXPECT_MAPPED(t, d, fin_wait_2_timeout, Ticks::from_ms(15000));
  EXPECT_MAPPED(t, d, cc, tcp::cc::Algorithm::kNewReno);
  // No public key: the protocol core's own.
  EXPECT_EQ(t.default_snd_mss, d.default_snd_mss);
  EXPECT_EQ(t.max_retries, d.max_retries);
  EXPECT_EQ(t.oow_ack_interval, d.oow_ack_interval);
  EXPECT_EQ(t.ooo_max_bytes, d.ooo_max_bytes);
}

TEST(Settings, EveryTimeWaitFieldLandsInTheTableConfig) {
  const timewait::TwTableConfig t = tw_config(non_default().time_wait);
  const timewait::TwTableConfig d{};
  EXPECT_MAPPED(t, d, max_entries, 1000u);
  EXPECT_MAPPED(t, d, on_full, timewait::TwOnFull::kRefuse);
  EXPECT_MAPPED(t, d, policy.reuse, timewait::TwReuse::kOff);
  EXPECT_MAPPED(t, d, policy.rfc1337, false);
  EXPECT_MAPPED(t, d, policy.duration, Ticks::from_ms(30000));
  EXPECT_EQ(t.seed, d.seed);  // the Worker draws it
}

TEST(Settings, EveryWorkerFieldLandsInTheWorkerConfig) {
  const WorkerTcpConfig w = worker_tcp_config(non_default());
  const WorkerTcpConfig d{};
  EXPECT_MAPPED(w, d, local_port_lo, 40000);
  EXPECT_MAPPED(w, d, local_port_hi, 50000);
  EXPECT_MAPPED(w, d, active_reuse_min_age, Ticks::from_ms(2500));
  EXPECT_MAPPED(w, d, listen_backlog, 128u);
  EXPECT_MAPPED(w, d, syncookies, SynCookies::kAlways);
  EXPECT_MAPPED(w, d, challenge_ack_limit_per_sec, 77u);
  EXPECT_MAPPED(w, d, max_orphans, 100u);
  EXPECT_MAPPED(w, d, pmtu_min_ipv4, 1000);
  EXPECT_MAPPED(w, d, pmtu_min_ipv6, 1400);
  EXPECT_MAPPED(w, d, pmtu_expires, Ticks::from_ms(5000));
  EXPECT_MAPPED(w, d, pmtu_max_entries, 64u);
}

TEST(Settings, EveryReassemblyFieldLandsInTheReassemblyConfig) {
  IpReassemblyConfig pub;
  pub.max_datagrams = 7;
  pub.max_bytes = 9000;
  pub.max_fragments = 9;
  pub.timeout_ms = 1234;
  pub.on_full = ::tempo::ReasmOnFull::kRefuse;
  const ReassemblyConfig r = reassembly_config(pub);
  const ReassemblyConfig d{};
  EXPECT_MAPPED(r, d, max_datagrams, 7u);
  EXPECT_MAPPED(r, d, max_bytes, 9000u);
  EXPECT_MAPPED(r, d, max_fragments, 9u);
  EXPECT_MAPPED(r, d, timeout, Ticks::from_ms(1234));
  EXPECT_MAPPED(r, d, on_full, ReasmOnFull::kRefuse);
}

// A port's `routes:` (IPv4 and IPv6 entries), gateway and gateway6, from the file to the
// Interface that next_hop() reads.
TEST(Settings, PortRoutesFromTheFileLandInTheInterface) {
  const Config c = config::load_string(R"(
ports:
  - device: "net_tap0,iface=tempo0"
    ipv4: 198.18.0.2/24
    ipv6: "2001:db8::2/64"
    gateway: 198.18.0.1
    gateway6: "fe80::1"
    routes:
      - { prefix: 10.0.0.0/8, via: 198.18.0.254 }
      - { prefix: "2001:db8:99::/48", via: "2001:db8::fe" }
      - { prefix: "2001:db8:98::/47", via: "fe80::fe" }
)");
  Interface iface;
  iface.routes6.push_back({});  // replaced, not added to
  set_routes(c.ports.at(0), iface);
  EXPECT_EQ(iface.gateway4, wire::Ipv4Addr(198, 18, 0, 1));
  EXPECT_EQ(iface.gateway6, *wire::Ipv6Addr::parse("fe80::1"));
  ASSERT_EQ(iface.routes4.size(), 1u);
  EXPECT_EQ(iface.routes4[0].prefix, wire::Ipv4Addr(10, 0, 0, 0));
  EXPECT_EQ(iface.routes4[0].len, 8);
  EXPECT_EQ(iface.routes4[0].via, wire::Ipv4Addr(198, 18, 0, 254));
  ASSERT_EQ(iface.routes6.size(), 2u);
  EXPECT_EQ(iface.routes6[0].prefix, *wire::Ipv6Addr::parse("2001:db8:99::"));
  EXPECT_EQ(iface.routes6[0].len, 48);
  EXPECT_EQ(iface.routes6[0].via, *wire::Ipv6Addr::parse("2001:db8::fe"));
  EXPECT_EQ(iface.routes6[1].prefix, *wire::Ipv6Addr::parse("2001:db8:98::"));
  EXPECT_EQ(iface.routes6[1].len, 47);
  EXPECT_EQ(iface.routes6[1].via, *wire::Ipv6Addr::parse("fe80::fe"));

  // No gateway and no routes: none left from before.
  set_routes(PortConfig{}, iface);
  EXPECT_FALSE(iface.gateway4.has_value());
  EXPECT_FALSE(iface.gateway6.has_value());
  EXPECT_TRUE(iface.routes4.empty());
  EXPECT_TRUE(iface.routes6.empty());
}

TEST(Settings, AddressesKeepTheirByteOrder) {
  const Ipv4Addr a4{{198, 18, 0, 2}};
  EXPECT_EQ(to_wire(a4), wire::Ipv4Addr(198, 18, 0, 2));
  EXPECT_EQ(to_wire(a4).value(), 0xc6120002u);
  const Ipv6Addr a6{{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}};
  EXPECT_EQ(to_wire(a6), *wire::Ipv6Addr::parse("2001:db8::2"));
}

}  // namespace
}  // namespace stack
}  // namespace tempo
