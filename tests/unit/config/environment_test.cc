// What is checked once the process runs a config, just before the EAL starts: the CPUs
// eal.lcores names, and that every app section is one somebody reads.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <tempo/config.h>

#include "config/lcores.h"

namespace tempo::config {
namespace {

const std::string kPorts = "ports: [{device: net_tap0, ipv4: 198.18.0.2/24}]\n";

std::string message(const auto& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(EnvironmentLcoresTest, ParseExpandsSortsAndDeduplicates) {
  EXPECT_EQ(detail::parse_core_list("3,0-1,1"), (std::vector<unsigned>{0, 1, 3}));
  EXPECT_EQ(detail::parse_core_list("7"), (std::vector<unsigned>{7}));
  EXPECT_FALSE(detail::parse_core_list(""));
  EXPECT_FALSE(detail::parse_core_list("1-0"));
  EXPECT_FALSE(detail::parse_core_list("0-1,"));
  EXPECT_FALSE(detail::parse_core_list("a"));
}

TEST(EnvironmentLcoresTest, FormatJoinsRuns) {
  EXPECT_EQ(detail::format_core_list({0, 1, 2, 3, 6, 8, 9}), "0-3,6,8-9");
  EXPECT_EQ(detail::format_core_list({5}), "5");
  EXPECT_EQ(detail::format_core_list({}), "none");
}

// Both sides of the bound: the last allowed CPU passes, the next one is refused by number.
TEST(EnvironmentLcoresTest, EveryLcoreMustBeAnAllowedCpu) {
  const std::vector<unsigned> allowed{0, 1};
  EXPECT_EQ(message([&] {
              detail::check_cores_allowed("eal.lcores", "0-1", {0, 1}, allowed);
            }),
            "(accepted)");
  EXPECT_EQ(message([&] {
              detail::check_cores_allowed("eal.lcores", "0-3", {0, 1, 2, 3}, allowed);
            }),
            "config: eal.lcores: 0-3: lcore 2 is not a CPU this process may run on (it may run "
            "on 0-1)");
  EXPECT_EQ(message([&] {
              detail::check_cores_allowed("eal.lcores", "0,2", {0, 2}, {0, 1, 3});
            }),
            "config: eal.lcores: 0,2: lcore 2 is not a CPU this process may run on (it may run "
            "on 0-1,3)");
}

// The real process: one CPU past the ones it may run on is refused, with them named.
TEST(EnvironmentLcoresTest, CheckEnvironmentUsesTheAffinityMask) {
  const std::vector<unsigned> allowed = detail::allowed_cpus();
  ASSERT_FALSE(allowed.empty());
  const std::string ok = detail::format_core_list(allowed);
  Config good = load_string("eal: {lcores: \"" + ok + "\"}\n" + kPorts);
  EXPECT_EQ(message([&] { check_environment(good); }), "(accepted)");
  const unsigned past = allowed.back() + 1;
  if (past < 128) {
    const std::string list = std::to_string(allowed.front()) + "," + std::to_string(past);
    Config bad = load_string("eal: {lcores: \"" + list + "\"}\n" + kPorts);
    EXPECT_EQ(message([&] { check_environment(bad); }),
              "config: eal.lcores: " + list + ": lcore " + std::to_string(past) +
                  " is not a CPU this process may run on (it may run on " + ok + ")");
  }
}

TEST(EnvironmentAppSectionsTest, AnUnknownSectionIsNamed) {
  const Config c = load_string(kPorts + "app:\n  ecoh: {port: 7}\n");
  (void)app_section(c, "echo");
  EXPECT_EQ(message([&] { check_app_sections(c); }),
            "config: app.ecoh: unknown app section (known: echo, httpd, loadgen, proxy)");
  EXPECT_EQ(message([&] { check_environment(c); }),
            "config: app.ecoh: unknown app section (known: echo, httpd, loadgen, proxy)");
}

// A file may serve several of tempo's apps (DESIGN.md's example has all four sections).
TEST(EnvironmentAppSectionsTest, TempoAppsSectionsAreKnown) {
  const Config c = load_string(kPorts +
                               "app:\n  echo: {port: 7}\n  httpd: {port: 80}\n"
                               "  proxy: {listen: 8080}\n  loadgen: {target: \"198.18.0.1:80\"}\n");
  (void)app_section(c, "echo");
  EXPECT_EQ(message([&] { check_app_sections(c); }), "(accepted)");
  EXPECT_EQ(message([&] { check_app_sections(load_string(kPorts)); }), "(accepted)");
  EXPECT_EQ(message([&] { check_app_sections(Config{}); }), "(accepted)");
}

// An embedder's (or a test tool's) own section is known once it opened it, and only then.
TEST(EnvironmentAppSectionsTest, ASectionTheProcessReadIsKnown) {
  const Config c = load_string(kPorts + "app:\n  connect: {target: \"198.18.0.1:7\"}\n");
  EXPECT_EQ(message([&] { check_app_sections(c); }),
            "config: app.connect: unknown app section (known: echo, httpd, loadgen, proxy)");
  (void)app_section(c, "connect");
  EXPECT_EQ(message([&] { check_app_sections(c); }), "(accepted)");
  const Config two = load_string(kPorts + "app:\n  connect: {}\n  mine: {}\n");
  (void)app_section(two, "mine");
  EXPECT_EQ(message([&] { check_app_sections(two); }),
            "config: app.connect: unknown app section (known: echo, httpd, loadgen, mine, "
            "proxy)");
}

}  // namespace
}  // namespace tempo::config
