// Every bad input gets exactly one line naming the key, the value and what is allowed
// (DESIGN.md "Configuration"). One table per error class; each row is a whole YAML document
// and the exact what() it must produce.
#include <cstdlib>
#include <string>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include <tempo/config.h>

namespace tempo::config {
namespace {

struct ErrorCase {
  const char* name;
  std::string yaml;
  std::string message;
};

std::ostream& operator<<(std::ostream& os, const ErrorCase& c) { return os << c.name; }

// A valid port, to which each row adds the one bad thing.
const std::string kPorts = "ports: [{device: net_tap0, ipv4: 198.18.0.2/24}]\n";

std::string port_with(const std::string& fields) {
  return "ports: [{device: net_tap0, ipv4: 198.18.0.2/24, " + fields + "}]\n";
}

class ConfigErrorsTest : public testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigErrorsTest, ExactOneLineMessage) {
  const ErrorCase& c = GetParam();
  try {
    (void)load_string(c.yaml);
    FAIL() << "accepted:\n" << c.yaml;
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), c.message);
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
  }
}

std::string case_name(const testing::TestParamInfo<ErrorCase>& info) { return info.param.name; }

const std::string kTcpKeys =
    "time_wait, pmtu, active_reuse_min_age_ms, local_port_range, mss, min_snd_mss, "
    "initial_rto_ms, min_rto_ms, "
    "max_rto_ms, delayed_ack_ms, nagle, keepalive, fin_wait2_timeout_ms, syn_retries, "
    "synack_retries, orphan_retries, max_orphans, congestion, sack, rack, timestamps, "
    "window_scale, "
    "rcv_buf_bytes, snd_buf_bytes, "
    "listen_backlog, max_connections, syncookies, challenge_ack_limit_per_sec, stop_grace_ms";

INSTANTIATE_TEST_SUITE_P(
    UnknownKey, ConfigErrorsTest,
    testing::Values(
        ErrorCase{"top", "bogus: 1\n" + kPorts,
                  "config: bogus: unknown key (known: eal, ports, tcp, ip, faults, capture, app)"},
        ErrorCase{"eal", "eal: {lcore: 1}\n" + kPorts,
                  "config: eal.lcore: unknown key (known: lcores, memory_mb, no_huge, "
                  "file_prefix, log_level, extra_args, idle_sleep_us, idle_polls)"},
        ErrorCase{"port", port_with("ip4: 1.2.3.4"),
                  "config: ports[0].ip4: unknown key (known: name, device, queues, ipv4, "
                  "ipv4_secondary, ipv6, gateway, gateway6, mtu, mbufs, tso, trusted_link, routes, "
                  "promiscuous)"},
        ErrorCase{"tcp", kPorts + "tcp: {time_wiat: {}}",
                  "config: tcp.time_wiat: unknown key (known: " + kTcpKeys + ")"},
        ErrorCase{"time_wait", kPorts + "tcp: {time_wait: {max_entry: 1}}",
                  "config: tcp.time_wait.max_entry: unknown key (known: duration_ms, "
                  "max_entries, on_full, reuse, rfc1337, expiry_per_turn)"},
        ErrorCase{"pmtu", kPorts + "tcp: {pmtu: {min_pmtu: 552}}",
                  "config: tcp.pmtu.min_pmtu: unknown key (known: min_ipv4, min_ipv6, "
                  "expires_ms, max_entries)"},
        ErrorCase{"keepalive", kPorts + "tcp: {keepalive: {idle: 1}}",
                  "config: tcp.keepalive.idle: unknown key (known: enabled, idle_ms, "
                  "interval_ms, probes)"},
        ErrorCase{"ip", kPorts + "ip: {reasembly: {}}",
                  "config: ip.reasembly: unknown key (known: reassembly)"},
        ErrorCase{"reassembly", kPorts + "ip: {reassembly: {max_datagram: 1}}",
                  "config: ip.reassembly.max_datagram: unknown key (known: max_datagrams, "
                  "max_bytes, max_fragments, timeout_ms, on_full)"},
        ErrorCase{"faults", kPorts + "faults: {rxx: {}}",
                  "config: faults.rxx: unknown key (known: seed, rx, tx)"},
        ErrorCase{"fault_direction", kPorts + "faults: {tx: {loss: 0.1}}",
                  "config: faults.tx.loss: unknown key (known: drop, duplicate, reorder, "
                  "delay_ms)"},
        ErrorCase{"route", port_with("routes: [{prefix: 10.0.0.0/8, gw: 198.18.0.1}]"),
                  "config: ports[0].routes[0].gw: unknown key (known: prefix, via)"},
        ErrorCase{"second_port",
                  "ports: [{device: net_tap0, ipv4: 198.18.0.2/24}, {devices: net_tap1}]",
                  "config: ports[1].devices: unknown key (known: name, device, queues, ipv4, "
                  "ipv4_secondary, ipv6, gateway, gateway6, mtu, mbufs, tso, trusted_link, routes, "
                  "promiscuous)"},
        ErrorCase{"duplicate", kPorts + "tcp: {mss: 1000, mss: 1200}",
                  "config: tcp.mss: duplicate key"},
        ErrorCase{"duplicate_app", kPorts + "app: {echo: {}, echo: {}}",
                  "config: app.echo: duplicate key"}),
    case_name);

INSTANTIATE_TEST_SUITE_P(
    WrongType, ConfigErrorsTest,
    testing::Values(
        ErrorCase{"top_level_list", "- a\n- b\n", "config: (top level): [a, b]: expected a map"},
        ErrorCase{"section_scalar", "eal: 5\n" + kPorts, "config: eal: 5: expected a map"},
        ErrorCase{"int_word", "eal: {memory_mb: abc}\n" + kPorts,
                  "config: eal.memory_mb: abc: expected an integer in [64, 1048576]"},
        ErrorCase{"int_float", kPorts + "tcp: {time_wait: {duration_ms: 1.5}}",
                  "config: tcp.time_wait.duration_ms: 1.5: expected an integer in [1, 3600000]"},
        ErrorCase{"int_hex", kPorts + "tcp: {mss: 0x400}",
                  "config: tcp.mss: 0x400: expected an integer in [536, 65345]"},
        ErrorCase{"int_null", "eal: {memory_mb: }\n" + kPorts,
                  "config: eal.memory_mb: null: expected an integer in [64, 1048576]"},
        ErrorCase{"int_list", port_with("queues: [1]"),
                  "config: ports[0].queues: [1]: expected an integer in [1, 64]"},
        ErrorCase{"bool", "eal: {no_huge: maybe}\n" + kPorts,
                  "config: eal.no_huge: maybe: expected true or false"},
        ErrorCase{"bool_number", kPorts + "tcp: {sack: 1}",
                  "config: tcp.sack: 1: expected true or false"},
        ErrorCase{"string_list", "eal: {lcores: [0, 1]}\n" + kPorts,
                  "config: eal.lcores: [0, 1]: expected a string"},
        ErrorCase{"string_map", port_with("name: {a: 1}"),
                  "config: ports[0].name: {a: 1}: expected a string"},
        ErrorCase{"ports_map", "ports: {a: 1}", "config: ports: {a: 1}: expected a list of ports"},
        ErrorCase{"port_scalar", "ports: [tap0]", "config: ports[0]: tap0: expected a map"},
        ErrorCase{"extra_args_scalar", "eal: {extra_args: --foo}\n" + kPorts,
                  "config: eal.extra_args: --foo: expected a list of strings"},
        ErrorCase{"extra_args_item", "eal: {extra_args: [--a, [b]]}\n" + kPorts,
                  "config: eal.extra_args[1]: [b]: expected a string"},
        ErrorCase{"double_word", kPorts + "faults: {rx: {drop: lots}}",
                  "config: faults.rx.drop: lots: expected a number in [0, 1]"},
        ErrorCase{"routes_map", port_with("routes: {prefix: 10.0.0.0/8}"),
                  "config: ports[0].routes: {prefix: 10.0.0.0/8}: expected a list of {prefix, "
                  "via}"},
        ErrorCase{"port_range_scalar", kPorts + "tcp: {local_port_range: 1024}",
                  "config: tcp.local_port_range: 1024: expected a list [lo, hi]"},
        ErrorCase{"port_range_three", kPorts + "tcp: {local_port_range: [1, 2, 3]}",
                  "config: tcp.local_port_range: [1, 2, 3]: expected a list [lo, hi]"},
        ErrorCase{"app_list", kPorts + "app: [echo]", "config: app: [echo]: expected a map"},
        ErrorCase{"app_section_scalar", kPorts + "app: {echo: 7}",
                  "config: app.echo: 7: expected a map"}),
    case_name);

INSTANTIATE_TEST_SUITE_P(
    OutOfRange, ConfigErrorsTest,
    testing::Values(
        // The line DESIGN.md promises, verbatim.
        ErrorCase{"reasm_max_datagrams", kPorts + "ip: {reassembly: {max_datagrams: -1}}",
                  "config: ip.reassembly.max_datagrams: -1: expected an integer in [0, 65536]"},
        ErrorCase{"reasm_max_bytes_low", kPorts + "ip: {reassembly: {max_bytes: 1499}}",
                  "config: ip.reassembly.max_bytes: 1499: expected an integer in [1500, 65535]"},
        ErrorCase{"reasm_max_bytes_high", kPorts + "ip: {reassembly: {max_bytes: 65536}}",
                  "config: ip.reassembly.max_bytes: 65536: expected an integer in [1500, 65535]"},
        ErrorCase{"reasm_max_fragments", kPorts + "ip: {reassembly: {max_fragments: 1}}",
                  "config: ip.reassembly.max_fragments: 1: expected an integer in [2, 8192]"},
        ErrorCase{"reasm_timeout", kPorts + "ip: {reassembly: {timeout_ms: 0}}",
                  "config: ip.reassembly.timeout_ms: 0: expected an integer in [1, 120000]"},
        ErrorCase{"max_entries_low", kPorts + "tcp: {time_wait: {max_entries: -3}}",
                  "config: tcp.time_wait.max_entries: -3: expected an integer in [1, 1e9]"},
        ErrorCase{"stop_grace_negative", kPorts + "tcp: {stop_grace_ms: -1}",
                  "config: tcp.stop_grace_ms: -1: expected an integer in [0, 3600000]"},
        ErrorCase{"stop_grace_past_an_hour", kPorts + "tcp: {stop_grace_ms: 3600001}",
                  "config: tcp.stop_grace_ms: 3600001: expected an integer in [0, 3600000]"},
        ErrorCase{"max_entries_high", kPorts + "tcp: {time_wait: {max_entries: 1000000001}}",
                  "config: tcp.time_wait.max_entries: 1000000001: expected an integer in [1, "
                  "1e9]"},
        ErrorCase{"max_entries_overflow",
                  kPorts + "tcp: {time_wait: {max_entries: 99999999999999999999}}",
                  "config: tcp.time_wait.max_entries: 99999999999999999999: expected an integer "
                  "in [1, 1e9]"},
        ErrorCase{"duration_low", kPorts + "tcp: {time_wait: {duration_ms: 0}}",
                  "config: tcp.time_wait.duration_ms: 0: expected an integer in [1, 3600000]"},
        ErrorCase{"duration_high", kPorts + "tcp: {time_wait: {duration_ms: 3600001}}",
                  "config: tcp.time_wait.duration_ms: 3600001: expected an integer in [1, "
                  "3600000]"},
        ErrorCase{"reuse_age_low", kPorts + "tcp: {active_reuse_min_age_ms: -1}",
                  "config: tcp.active_reuse_min_age_ms: -1: expected an integer in [0, 3600000]"},
        ErrorCase{"queues_low", port_with("queues: 0"),
                  "config: ports[0].queues: 0: expected an integer in [1, 64]"},
        ErrorCase{"queues_high", port_with("queues: 65"),
                  "config: ports[0].queues: 65: expected an integer in [1, 64]"},
        ErrorCase{"mtu_low", port_with("mtu: 67"),
                  "config: ports[0].mtu: 67: expected an integer in [68, 9000]"},
        ErrorCase{"mtu_high", port_with("mtu: 9001"),
                  "config: ports[0].mtu: 9001: expected an integer in [68, 9000]"},
        ErrorCase{"tso_not_bool", port_with("tso: maybe"),
                  "config: ports[0].tso: maybe: expected true or false"},
        ErrorCase{"idle_sleep_high", "eal: {idle_sleep_us: 200000}\n" + kPorts,
                  "config: eal.idle_sleep_us: 200000: expected an integer in [0, 100000]"},
        ErrorCase{"idle_polls_zero", "eal: {idle_polls: 0}\n" + kPorts,
                  "config: eal.idle_polls: 0: expected an integer in [1, 1e9]"},
        ErrorCase{"trusted_link_not_bool", port_with("trusted_link: 1"),
                  "config: ports[0].trusted_link: 1: expected true or false"},
        ErrorCase{"mbufs_low", port_with("mbufs: 1000"),
                  "config: ports[0].mbufs: 1000: expected an integer in [1023, 16777215]"},
        ErrorCase{"mss_low", kPorts + "tcp: {mss: 535}",
                  "config: tcp.mss: 535: expected an integer in [536, 65345]"},
        ErrorCase{"mss_high", kPorts + "tcp: {mss: 65346}",
                  "config: tcp.mss: 65346: expected an integer in [536, 65345]"},
        ErrorCase{"min_snd_mss_low", kPorts + "tcp: {min_snd_mss: 47}",
                  "config: tcp.min_snd_mss: 47: expected an integer in [48, 1460]"},
        ErrorCase{"min_snd_mss_over_mss", kPorts + "tcp: {mss: 1000, min_snd_mss: 1001}",
                  "config: tcp.min_snd_mss: 1001: expected an integer in [48, 1000]"},
        ErrorCase{"memif_mtu_high",
                  "ports: [{device: 'net_memif0,bsize=65535', ipv4: 198.18.0.2/24, mtu: 65386}]\n",
                  "config: ports[0].mtu: 65386: expected an integer in [68, 65385]"},
        ErrorCase{"mss_over_mtu", port_with("mtu: 1500") + "tcp: {mss: 1461}",
                  "config: tcp.mss: 1461: segments this long do not fit ports[0].mtu (1500): at "
                  "most mtu - 40"},
        ErrorCase{"memif_frame_over_bsize",
                  "ports: [{device: 'net_memif0,role=server,id=0', ipv4: 198.18.0.2/24, mtu: "
                  "9000}]\n",
                  "config: ports[0].mtu: 9000: a 9014-byte frame needs memif buffers that large: "
                  "add bsize=9014 (or more) to the device (it is 2048; DPDK 22.11's memif can "
                  "overwrite frames that span buffers)"},
        ErrorCase{"capture_port_past_the_ports", kPorts + "capture: {file: /tmp/x.pcapng, port: 1}",
                  "config: capture.port: 1: expected an integer in [-1, 0]"},
        ErrorCase{"capture_without_file", kPorts + "capture: {count: 5}",
                  "config: capture.file: missing required key"},
        ErrorCase{"af_xdp_mbufs_low",
                  "ports: [{device: 'net_af_xdp0,iface=veth-t', ipv4: 198.18.0.2/24, mbufs: "
                  "2047}]\n",
                  "config: ports[0].mbufs: 2047: expected an integer in [4095, 16777215]"},
        ErrorCase{"memif_bsize_short",
                  "ports: [{device: 'net_memif1,bsize=8192', ipv4: 198.18.0.2/24, mtu: 8500}]\n",
                  "config: ports[0].mtu: 8500: a 8514-byte frame needs memif buffers that large: "
                  "add bsize=8514 (or more) to the device (it is 8192; DPDK 22.11's memif can "
                  "overwrite frames that span buffers)"},
        ErrorCase{"memory_low", "eal: {memory_mb: 63}\n" + kPorts,
                  "config: eal.memory_mb: 63: expected an integer in [64, 1048576]"},
        ErrorCase{"delayed_ack_high", kPorts + "tcp: {delayed_ack_ms: 500}",
                  "config: tcp.delayed_ack_ms: 500: expected an integer in [0, 499]"},
        ErrorCase{"max_rto_low", kPorts + "tcp: {max_rto_ms: 59999}",
                  "config: tcp.max_rto_ms: 59999: expected an integer in [60000, 3600000]"},
        ErrorCase{"initial_rto_below_min", kPorts + "tcp: {min_rto_ms: 2000}",
                  "config: tcp.initial_rto_ms: 1000: expected a value in [tcp.min_rto_ms, "
                  "tcp.max_rto_ms] = [2000, 120000]"},
        ErrorCase{"probes_high", kPorts + "tcp: {keepalive: {probes: 128}}",
                  "config: tcp.keepalive.probes: 128: expected an integer in [1, 127]"},
        ErrorCase{"backlog_high", kPorts + "tcp: {listen_backlog: 1000001}",
                  "config: tcp.listen_backlog: 1000001: expected an integer in [1, 1e6]"},
        ErrorCase{"max_connections_low", kPorts + "tcp: {max_connections: 7}",
                  "config: tcp.max_connections: 7: expected an integer in [8, 16777216]"},
        ErrorCase{"orphan_retries_zero", kPorts + "tcp: {orphan_retries: 0}",
                  "config: tcp.orphan_retries: 0: expected an integer in [1, 127]"},
        ErrorCase{"max_orphans_negative", kPorts + "tcp: {max_orphans: -1}",
                  "config: tcp.max_orphans: -1: expected an integer in [0, 16777216]"},
        ErrorCase{"pmtu_min_ipv4_low", kPorts + "tcp: {pmtu: {min_ipv4: 68}}",
                  "config: tcp.pmtu.min_ipv4: 68: expected an integer in [128, 65535]"},
        ErrorCase{"pmtu_min_ipv6_low", kPorts + "tcp: {pmtu: {min_ipv6: 1279}}",
                  "config: tcp.pmtu.min_ipv6: 1279: expected an integer in [1280, 65535]"},
        ErrorCase{"pmtu_expires_low", kPorts + "tcp: {pmtu: {expires_ms: 999}}",
                  "config: tcp.pmtu.expires_ms: 999: expected an integer in [1000, 86400000]"},
        ErrorCase{"pmtu_max_entries_low", kPorts + "tcp: {pmtu: {max_entries: 3}}",
                  "config: tcp.pmtu.max_entries: 3: expected an integer in [4, 16777216]"},
        ErrorCase{"drop_high", kPorts + "faults: {tx: {drop: 1.5}}",
                  "config: faults.tx.drop: 1.5: expected a number in [0, 1]"},
        ErrorCase{"drop_low", kPorts + "faults: {rx: {reorder: -0.1}}",
                  "config: faults.rx.reorder: -0.1: expected a number in [0, 1]"},
        ErrorCase{"delay_high", kPorts + "faults: {rx: {delay_ms: 10001}}",
                  "config: faults.rx.delay_ms: 10001: expected an integer in [0, 10000]"},
        ErrorCase{"port_lo_low", kPorts + "tcp: {local_port_range: [0, 10]}",
                  "config: tcp.local_port_range[0]: 0: expected an integer in [1, 65535]"},
        ErrorCase{"port_hi_high", kPorts + "tcp: {local_port_range: [1, 65536]}",
                  "config: tcp.local_port_range[1]: 65536: expected an integer in [1, 65535]"},
        ErrorCase{"port_range_reversed", kPorts + "tcp: {local_port_range: [61000, 32768]}",
                  "config: tcp.local_port_range: [61000, 32768]: expected [lo, hi] with lo <= "
                  "hi"}),
    case_name);

INSTANTIATE_TEST_SUITE_P(
    Missing, ConfigErrorsTest,
    testing::Values(
        ErrorCase{"ports", "eal: {lcores: \"0\"}\n", "config: ports: missing required key"},
        ErrorCase{"empty_document", "", "config: ports: missing required key"},
        ErrorCase{"ports_empty", "ports: []", "config: ports: []: expected at least one port"},
        ErrorCase{"ipv4", "ports: [{device: net_tap0}]",
                  "config: ports[0].ipv4: missing required key"},
        ErrorCase{"device", "ports: [{ipv4: 198.18.0.2/24}]",
                  "config: ports[0].device: missing required key"},
        ErrorCase{"device_second_port",
                  "ports:\n  - {device: net_tap0, ipv4: 198.18.0.2/24}\n  - {name: b}\n",
                  "config: ports[1].device: missing required key"},
        ErrorCase{"route_via", port_with("routes: [{prefix: 10.0.0.0/8}]"),
                  "config: ports[0].routes[0].via: missing required key"}),
    case_name);

INSTANTIATE_TEST_SUITE_P(
    BadEnum, ConfigErrorsTest,
    testing::Values(
        ErrorCase{"on_full", kPorts + "tcp: {time_wait: {on_full: drop}}",
                  "config: tcp.time_wait.on_full: drop: expected one of evict_oldest, refuse"},
        ErrorCase{"reasm_on_full", kPorts + "ip: {reassembly: {on_full: drop}}",
                  "config: ip.reassembly.on_full: drop: expected one of evict_oldest, refuse"},
        ErrorCase{"reuse", kPorts + "tcp: {time_wait: {reuse: yes}}",
                  "config: tcp.time_wait.reuse: yes: expected one of rfc6191, off"},
        ErrorCase{"congestion", kPorts + "tcp: {congestion: bbr}",
                  "config: tcp.congestion: bbr: expected one of newreno, cubic"},
        ErrorCase{"syncookies", kPorts + "tcp: {syncookies: [auto]}",
                  "config: tcp.syncookies: [auto]: expected one of auto, always, off"}),
    case_name);

INSTANTIATE_TEST_SUITE_P(
    BadAddress, ConfigErrorsTest,
    testing::Values(
        ErrorCase{"ipv4_octet", "ports: [{device: net_tap0, ipv4: 198.18.0.300/24}]",
                  "config: ports[0].ipv4: 198.18.0.300/24: expected an IPv4 address/prefix like "
                  "198.18.0.2/24"},
        ErrorCase{"ipv4_no_prefix", "ports: [{device: net_tap0, ipv4: 198.18.0.2}]",
                  "config: ports[0].ipv4: 198.18.0.2: expected an IPv4 address/prefix like "
                  "198.18.0.2/24"},
        ErrorCase{"ipv4_is_ipv6", "ports: [{device: net_tap0, ipv4: \"2001:db8::2/64\"}]",
                  "config: ports[0].ipv4: 2001:db8::2/64: expected an IPv4 address/prefix like "
                  "198.18.0.2/24"},
        ErrorCase{"ipv6", port_with("ipv6: \"2001:db8::zz/64\""),
                  "config: ports[0].ipv6: 2001:db8::zz/64: expected an IPv6 address/prefix like "
                  "2001:db8::2/64"},
        ErrorCase{"gateway", port_with("gateway: 198.18.0"),
                  "config: ports[0].gateway: 198.18.0: expected an IPv4 address like 198.18.0.1"},
        ErrorCase{"gateway6", port_with("gateway6: 198.18.0.1"),
                  "config: ports[0].gateway6: 198.18.0.1: expected an IPv6 address like "
                  "2001:db8::1"},
        ErrorCase{"route_via_family",
                  port_with("routes: [{prefix: \"2001:db8:1::/48\", via: 198.18.0.1}]"),
                  "config: ports[0].routes[0].via: 198.18.0.1: expected an IPv6 address like "
                  "2001:db8::1"},
        ErrorCase{"route_host_bits", port_with("routes: [{prefix: 198.18.1.5/24, via: 1.2.3.4}]"),
                  "config: ports[0].routes[0].prefix: 198.18.1.5/24: host bits set; the network "
                  "is 198.18.1.0/24"},
        ErrorCase{"device_word", "ports: [{device: eth0, ipv4: 198.18.0.2/24}]",
                  "config: ports[0].device: eth0: expected a PCI address like 0000:03:00.0 or a "
                  "vdev like net_tap0,iface=tempo0"},
        ErrorCase{"device_pci_function", "ports: [{device: \"0000:03:00.8\", ipv4: 10.0.0.1/8}]",
                  "config: ports[0].device: 0000:03:00.8: expected a PCI address like "
                  "0000:03:00.0 or a vdev like net_tap0,iface=tempo0"},
        ErrorCase{"same_device",
                  "ports:\n  - {device: net_tap0, ipv4: 198.18.0.2/24}\n"
                  "  - {device: \"net_tap0,iface=x\", ipv4: 198.19.0.2/24}\n",
                  "config: ports[1].device: net_tap0,iface=x: same device as ports[0]"},
        ErrorCase{"same_pci_device",
                  "ports:\n  - {device: \"0000:03:00.0\", ipv4: 198.18.0.2/24}\n"
                  "  - {device: \"03:00.0\", ipv4: 198.19.0.2/24}\n",
                  "config: ports[1].device: 03:00.0: same device as ports[0]"},
        ErrorCase{"same_name",
                  "ports:\n  - {name: a, device: net_tap0, ipv4: 198.18.0.2/24}\n"
                  "  - {name: a, device: net_tap1, ipv4: 198.19.0.2/24}\n",
                  "config: ports[1].name: a: same name as ports[0]"}),
    case_name);

INSTANTIATE_TEST_SUITE_P(
    BadPrefixLength, ConfigErrorsTest,
    testing::Values(
        ErrorCase{"ipv4_33", "ports: [{device: net_tap0, ipv4: 198.18.0.2/33}]",
                  "config: ports[0].ipv4: 198.18.0.2/33: expected a prefix length in [1, 32]"},
        ErrorCase{"ipv4_0", "ports: [{device: net_tap0, ipv4: 198.18.0.2/0}]",
                  "config: ports[0].ipv4: 198.18.0.2/0: expected a prefix length in [1, 32]"},
        ErrorCase{"ipv4_word", "ports: [{device: net_tap0, ipv4: 198.18.0.2/x}]",
                  "config: ports[0].ipv4: 198.18.0.2/x: expected a prefix length in [1, 32]"},
        ErrorCase{"ipv6_129", port_with("ipv6: \"2001:db8::2/129\""),
                  "config: ports[0].ipv6: 2001:db8::2/129: expected a prefix length in [1, 128]"},
        ErrorCase{"route_40", port_with("routes: [{prefix: 10.0.0.0/40, via: 198.18.0.1}]"),
                  "config: ports[0].routes[0].prefix: 10.0.0.0/40: expected a prefix length in "
                  "[0, 32]"}),
    case_name);

INSTANTIATE_TEST_SUITE_P(
    BadEal, ConfigErrorsTest,
    testing::Values(
        ErrorCase{"lcores_word", "eal: {lcores: 0-x}\n" + kPorts,
                  "config: eal.lcores: 0-x: expected a core list like 0-3 or 0,2,4"},
        ErrorCase{"lcores_reversed", "eal: {lcores: 3-1}\n" + kPorts,
                  "config: eal.lcores: 3-1: expected a core list like 0-3 or 0,2,4"},
        ErrorCase{"file_prefix", "eal: {file_prefix: a/b}\n" + kPorts,
                  "config: eal.file_prefix: a/b: expected 1 to 64 letters, digits, '-', '_' or "
                  "'.'"},
        ErrorCase{"log_level", "eal: {log_level: 9}\n" + kPorts,
                  "config: eal.log_level: 9: expected 1..8 or one of emergency, alert, "
                  "critical, error, warning, notice, info, debug (optionally after PATTERN:)"},
        ErrorCase{"in_memory", "eal: {no_huge: true, extra_args: [--a, --in-memory]}\n" + kPorts,
                  "config: eal.extra_args[1]: --in-memory: does not combine with no_huge; give "
                  "each process its own file_prefix"}),
    case_name);

INSTANTIATE_TEST_SUITE_P(
    Syntax, ConfigErrorsTest,
    testing::Values(ErrorCase{"unclosed_flow_map", kPorts + "tcp: {mss: 1000\n",
                              "config: <string>:3:1: syntax error: end of map flow not found"},
                    ErrorCase{"bad_indent", kPorts + "tcp:\n  mss: 1000\n mss2: 1\n",
                              "config: <string>:4:2: syntax error: end of map not found"}),
    case_name);

TEST(FileErrorsTest, MissingFile) {
  try {
    (void)load_file("/nonexistent/tempo.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "config: /nonexistent/tempo.yaml: cannot read: No such file or directory");
  }
}

TEST(FileErrorsTest, Directory) {
  try {
    (void)load_file("/tmp");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "config: /tmp: cannot read: Is a directory");
  }
}

TEST(FileErrorsTest, SyntaxErrorNamesTheFile) {
  char path[] = "/tmp/tempo-config-syntax-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string text = "ports: [\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  try {
    (void)load_file(path);
    unlink(path);
    FAIL();
  } catch (const ConfigError& e) {
    unlink(path);
    EXPECT_EQ(std::string(e.what()), "config: " + std::string(path) +
                                         ":2:1: syntax error: end of sequence flow not found");
  }
}

// ports[].ipv4_secondary: on the port's subnet, not its own address, not the subnet's network
// or broadcast address, not overlapping another entry.
INSTANTIATE_TEST_SUITE_P(
    Secondary, ConfigErrorsTest,
    testing::Values(
        ErrorCase{"not_a_list", port_with("ipv4_secondary: 198.18.0.7"),
                  "config: ports[0].ipv4_secondary: 198.18.0.7: expected a list of addresses or "
                  "address blocks (198.18.1.0/26)"},
        ErrorCase{"bad_address", port_with("ipv4_secondary: [198.18.0.300]"),
                  "config: ports[0].ipv4_secondary[0]: 198.18.0.300: expected an IPv4 address "
                  "like 198.18.0.1"},
        ErrorCase{"outside", port_with("ipv4_secondary: [198.18.1.7]"),
                  "config: ports[0].ipv4_secondary[0]: 198.18.1.7: outside the port's subnet "
                  "198.18.0.0/24"},
        ErrorCase{
            "block_too_large",
            "ports: [{device: net_tap0, ipv4: 198.18.0.2/8, ipv4_secondary: [10.0.0.0/15]}]\n",
            "config: ports[0].ipv4_secondary[0]: 10.0.0.0/15: expected a prefix length in "
            "[16, 32]"},
        ErrorCase{"host_bits", port_with("ipv4_secondary: [198.18.0.65/26]"),
                  "config: ports[0].ipv4_secondary[0]: 198.18.0.65/26: host bits set; the network "
                  "is 198.18.0.64/26"},
        ErrorCase{"own_address", port_with("ipv4_secondary: [198.18.0.0/30]"),
                  "config: ports[0].ipv4_secondary[0]: 198.18.0.0/30: holds the subnet's network "
                  "or broadcast address"},
        ErrorCase{"primary", port_with("ipv4_secondary: [198.18.0.2]"),
                  "config: ports[0].ipv4_secondary[0]: 198.18.0.2: holds the port's own ipv4 "
                  "address"},
        ErrorCase{"overlap", port_with("ipv4_secondary: [198.18.0.64/26, 198.18.0.70]"),
                  "config: ports[0].ipv4_secondary[1]: 198.18.0.70: overlaps "
                  "ports[0].ipv4_secondary[0]"}),
    case_name);

// eal.lcores: DPDK's -l syntax, each lcore below RTE_MAX_LCORE (128 in Debian's DPDK 22.11).
INSTANTIATE_TEST_SUITE_P(
    Lcores, ConfigErrorsTest,
    testing::Values(
        ErrorCase{"past_max", "eal: {lcores: 0-999}\n" + kPorts,
                  "config: eal.lcores: 0-999: expected lcores in [0, 127] (RTE_MAX_LCORE 128)"},
        ErrorCase{"one_past_max", "eal: {lcores: \"0,128\"}\n" + kPorts,
                  "config: eal.lcores: 0,128: expected lcores in [0, 127] (RTE_MAX_LCORE 128)"},
        ErrorCase{"empty_item", "eal: {lcores: \"0,,1\"}\n" + kPorts,
                  "config: eal.lcores: 0,,1: expected a core list like 0-3 or 0,2,4"},
        ErrorCase{"open_range", "eal: {lcores: 0-}\n" + kPorts,
                  "config: eal.lcores: 0-: expected a core list like 0-3 or 0,2,4"},
        ErrorCase{"space", "eal: {lcores: \"0, 1\"}\n" + kPorts,
                  "config: eal.lcores: 0, 1: expected a core list like 0-3 or 0,2,4"},
        ErrorCase{"six_digits", "eal: {lcores: \"000000\"}\n" + kPorts,
                  "config: eal.lcores: 000000: expected a core list like 0-3 or 0,2,4"}),
    case_name);

// Strings that reach rte_eal_init's argv: a control character (a NUL would cut the argument
// short) is refused, and the message shows it rather than ending at it.
INSTANTIATE_TEST_SUITE_P(
    EalStrings, ConfigErrorsTest,
    testing::Values(
        ErrorCase{"file_prefix_nul", "eal: {file_prefix: \"tempo\\0x\"}\n" + kPorts,
                  "config: eal.file_prefix: tempo\\x00x: expected 1 to 64 letters, digits, '-', "
                  "'_' or '.'"},
        ErrorCase{"file_prefix_escape", "eal: {file_prefix: \"a\\eb\"}\n" + kPorts,
                  "config: eal.file_prefix: a\\x1bb: expected 1 to 64 letters, digits, '-', '_' "
                  "or '.'"},
        ErrorCase{"extra_args_nul",
                  "eal: {extra_args: [\"--huge-unlink\\0--in-memory\"]}\n" + kPorts,
                  "config: eal.extra_args[0]: --huge-unlink\\x00--in-memory: expected no control "
                  "characters (it is passed to rte_eal_init)"},
        ErrorCase{"log_level_nul", "eal: {log_level: \"pmd\\0:debug\"}\n" + kPorts,
                  "config: eal.log_level: pmd\\x00:debug: expected no control characters (it is "
                  "passed to rte_eal_init)"},
        ErrorCase{"device_nul",
                  "ports: [{device: \"net_tap0,iface=a\\0b\", ipv4: 198.18.0.2/24}]\n",
                  "config: ports[0].device: net_tap0,iface=a\\x00b: expected no control characters "
                  "(it is passed to rte_eal_init)"},
        ErrorCase{"device_del",
                  "ports: [{device: \"net_tap0,iface=a\\x7f\", ipv4: 198.18.0.2/24}]\n",
                  "config: ports[0].device: net_tap0,iface=a\\x7f: expected no control characters "
                  "(it is passed to rte_eal_init)"}),
    case_name);

// Two ports on overlapping subnets: which one a destination on both leaves by is a guess.
INSTANTIATE_TEST_SUITE_P(
    OverlappingPorts, ConfigErrorsTest,
    testing::Values(
        ErrorCase{"same_subnet",
                  "ports:\n  - {device: net_tap0, ipv4: 198.18.0.2/24}\n"
                  "  - {device: net_tap1, ipv4: 198.18.0.3/24}\n",
                  "config: ports[1].ipv4: 198.18.0.3/24: overlaps the subnet of ports[0] "
                  "(198.18.0.0/24)"},
        ErrorCase{"wider_holds_narrower",
                  "ports:\n  - {device: net_tap0, ipv4: 198.18.5.2/24}\n"
                  "  - {device: net_tap1, ipv4: 198.18.0.1/16}\n",
                  "config: ports[1].ipv4: 198.18.0.1/16: overlaps the subnet of ports[0] "
                  "(198.18.5.0/24)"},
        ErrorCase{"narrower_inside_wider",
                  "ports:\n  - {device: net_tap0, ipv4: 198.18.0.1/15}\n"
                  "  - {device: net_tap1, ipv4: 198.19.7.1/32}\n",
                  "config: ports[1].ipv4: 198.19.7.1/32: overlaps the subnet of ports[0] "
                  "(198.18.0.0/15)"},
        ErrorCase{"third_against_first",
                  "ports:\n  - {device: net_tap0, ipv4: 198.18.0.2/24}\n"
                  "  - {device: net_tap1, ipv4: 198.18.1.2/24}\n"
                  "  - {device: net_tap2, ipv4: 198.18.0.129/25}\n",
                  "config: ports[2].ipv4: 198.18.0.129/25: overlaps the subnet of ports[0] "
                  "(198.18.0.0/24)"},
        ErrorCase{"ipv6",
                  "ports:\n  - {device: net_tap0, ipv4: 198.18.0.2/24, ipv6: \"2001:db8::2/64\"}\n"
                  "  - {device: net_tap1, ipv4: 198.18.1.2/24, ipv6: \"2001:db8::3/48\"}\n",
                  "config: ports[1].ipv6: 2001:db8::3/48: overlaps the subnet of ports[0] "
                  "(2001:db8::/64)"}),
    case_name);

// ports[].gateway: the next hop of everything off the subnet, so on it, and a host of it.
INSTANTIATE_TEST_SUITE_P(
    Gateway, ConfigErrorsTest,
    testing::Values(
        ErrorCase{"outside", port_with("gateway: 198.18.1.1"),
                  "config: ports[0].gateway: 198.18.1.1: outside the port's subnet "
                  "198.18.0.0/24"},
        ErrorCase{"own_address", port_with("gateway: 198.18.0.2"),
                  "config: ports[0].gateway: 198.18.0.2: is the port's own ipv4 address"},
        ErrorCase{"network", port_with("gateway: 198.18.0.0"),
                  "config: ports[0].gateway: 198.18.0.0: is the subnet's network or broadcast "
                  "address"},
        ErrorCase{"broadcast", port_with("gateway: 198.18.0.255"),
                  "config: ports[0].gateway: 198.18.0.255: is the subnet's network or broadcast "
                  "address"},
        ErrorCase{"host_route", "ports: [{device: net_tap0, ipv4: 10.0.0.2/32, gateway: 10.0.0.1}]",
                  "config: ports[0].gateway: 10.0.0.1: outside the port's subnet 10.0.0.2/32"},
        ErrorCase{"v6_outside", port_with("ipv6: \"2001:db8::2/64\", gateway6: \"2001:db9::1\""),
                  "config: ports[0].gateway6: 2001:db9::1: outside the port's subnet "
                  "2001:db8::/64 and not link-local (fe80::/10)"},
        ErrorCase{"v6_no_ipv6", port_with("gateway6: \"2001:db8::1\""),
                  "config: ports[0].gateway6: 2001:db8::1: expected a link-local address "
                  "(fe80::/10): the port has no ipv6"},
        ErrorCase{"v6_own", port_with("ipv6: \"2001:db8::2/64\", gateway6: \"2001:db8::2\""),
                  "config: ports[0].gateway6: 2001:db8::2: is the port's own ipv6 address"}),
    case_name);

TEST(ConfigErrorsGatewayTest, OnTheSubnetOrLinkLocalIsAccepted) {
  const Config c = load_string(
      port_with("gateway: 198.18.0.1, ipv6: \"2001:db8::2/64\", gateway6: \"2001:db8::1\""));
  EXPECT_EQ(to_string(*c.ports[0].gateway), "198.18.0.1");
  EXPECT_EQ(to_string(*load_string(port_with("gateway6: fe80::1")).ports[0].gateway6), "fe80::1");
  // A /31 (RFC 3021) has no network or broadcast address: the other end is the gateway.
  EXPECT_EQ(to_string(*load_string("ports: [{device: net_tap0, ipv4: 198.18.0.0/31, gateway: "
                                   "198.18.0.1}]")
                           .ports[0]
                           .gateway),
            "198.18.0.1");
}

TEST(ConfigErrorsGatewayTest, DisjointPortsAreAccepted) {
  const Config c = load_string(
      "ports:\n  - {device: net_tap0, ipv4: 198.18.0.2/24, ipv6: \"2001:db8::2/64\"}\n"
      "  - {device: net_tap1, ipv4: 198.18.1.2/24, ipv6: \"2001:db8:1::2/64\"}\n");
  EXPECT_EQ(c.ports.size(), 2u);
}

}  // namespace
}  // namespace tempo::config
