// The configuration reference in README.md is what the loader says of every key (KeyDoc,
// config/reader.h) as it reads a config that sets every section: the same keys, types,
// defaults and ranges, so that it cannot drift. After changing the loader, regenerate it:
//   TEMPO_WRITE_README=1 build-release/tests/unit/config/config_test --gtest_filter=Reference*
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include <tempo/config.h>

#include "config/reader.h"

namespace {

using tempo::config::detail::KeyDoc;

const std::string kReadme = std::string(TEMPO_SOURCE_ROOT) + "/README.md";
constexpr const char* kBegin =
    "<!-- configuration reference: tests/unit/config/reference_test.cc writes it -->\n";
constexpr const char* kEnd = "<!-- end of the configuration reference -->\n";

// Every section and list the loader reads, each key set once (its own value, not a default).
constexpr const char* kEverySection = R"(
eal: {lcores: "0", memory_mb: 512, no_huge: true, file_prefix: ref, log_level: 4,
      extra_args: ["--no-telemetry"], idle_sleep_us: 0, idle_polls: 256}
ports:
  - name: p0
    device: net_tap0,iface=t0
    queues: 1
    ipv4: 198.18.0.2/24
    ipv4_secondary: [198.18.0.3/32]
    ipv6: 2001:db8::2/64
    gateway: 198.18.0.1
    gateway6: 2001:db8::1
    mtu: 1500
    mbufs: 8191
    tso: true
    trusted_link: false
    promiscuous: true
    routes: [{prefix: 198.19.0.0/16, via: 198.18.0.1}, {prefix: "2001:db8:1::/48", via: "2001:db8::1"}]
tcp:
  time_wait: {duration_ms: 60000, max_entries: 4000000, on_full: evict_oldest, reuse: rfc6191,
              rfc1337: true, expiry_per_turn: 64}
  pmtu: {min_ipv4: 552, min_ipv6: 1280, expires_ms: 600000, max_entries: 4096}
  keepalive: {enabled: false, idle_ms: 7200000, interval_ms: 75000, probes: 9}
  local_port_range: [32768, 60999]
ip:
  reassembly: {max_datagrams: 64, max_bytes: 65535, max_fragments: 64, timeout_ms: 30000,
               on_full: evict_oldest}
capture: {file: /tmp/tempo.pcapng, port: 0, direction: both, count: 10000, bytes: 0,
          snaplen: 65535}
faults:
  seed: 1
  rx: {drop: 0, duplicate: 0, reorder: 0, delay_ms: 0}
  tx: {drop: 0, duplicate: 0, reorder: 0, delay_ms: 0}
)";

// The table the loader's records make.
std::string generate() {
  std::vector<KeyDoc> docs;
  tempo::config::detail::record_keys(&docs);
  try {
    (void)tempo::config::load_string(kEverySection, "reference");
  } catch (...) {
    tempo::config::detail::record_keys(nullptr);
    throw;
  }
  tempo::config::detail::record_keys(nullptr);
  const std::string pid = std::to_string(getpid());
  std::ostringstream out;
  out << kBegin << "| key | type | default | range |\n| --- | --- | --- | --- |\n";
  for (KeyDoc d : docs) {
    if (d.path.rfind("app.", 0) == 0) {
      continue;  // each app's own section: see "Apps"
    }
    if (const auto at = d.def.find(pid); at != std::string::npos) {
      d.def.replace(at, pid.size(), "<pid>");
    }
    const auto cell = [](const std::string& s) { return s.empty() ? std::string("-") : s; };
    out << "| `" << d.path << "` | " << cell(d.kind) << " | " << cell(d.def) << " | "
        << cell(d.range) << " |\n";
  }
  out << kEnd;
  return out.str();
}

TEST(Reference, ReadmeHasTheTableTheLoaderMakes) {
  const std::string want = generate();
  std::ifstream in(kReadme);
  ASSERT_TRUE(in) << kReadme;
  std::stringstream buf;
  buf << in.rdbuf();
  std::string readme = buf.str();
  const auto begin = readme.find(kBegin);
  const auto end = readme.find(kEnd);
  ASSERT_NE(begin, std::string::npos) << "README.md has no line: " << kBegin;
  ASSERT_NE(end, std::string::npos) << "README.md has no line: " << kEnd;
  const std::string have = readme.substr(begin, end + std::string(kEnd).size() - begin);
  if (have != want && std::getenv("TEMPO_WRITE_README") != nullptr) {
    readme.replace(begin, have.size(), want);
    std::ofstream(kReadme) << readme;
    GTEST_SKIP() << "README.md rewritten";
  }
  EXPECT_EQ(have, want) << "regenerate: TEMPO_WRITE_README=1 "
                           "build-release/tests/unit/config/config_test "
                           "--gtest_filter='Reference*'";
}

// Every key the loader knows is in it, with a type (none is read past the recorder).
TEST(Reference, EveryKeyHasAType) {
  const std::string table = generate();
  std::istringstream lines(table);
  int rows = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("| `", 0) == 0) {
      ++rows;
      EXPECT_EQ(line.find("` | - |"), std::string::npos) << line;
    }
  }
  EXPECT_GT(rows, 80);
}

}  // namespace
