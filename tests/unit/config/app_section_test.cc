// The apps' own sections: typed getters with the full key path in every error.
#include <functional>
#include <string>

#include <gtest/gtest.h>

#include <tempo/config.h>

#include "config/address.h"

namespace tempo::config {
namespace {

const std::string kPorts = "ports: [{device: net_tap0, ipv4: 198.18.0.2/24}]\n";

Config with_app(const std::string& app) { return load_string(kPorts + "app:\n" + app); }

TEST(AppSectionTest, ValuesAndDefaults) {
  const Config c = with_app(R"(
  proxy:
    listen: 8080
    backends: ["198.18.0.1:8000", "198.18.0.3:8001"]
    balance: round_robin
    weight: 0.25
    verbose: yes
    label: edge
)");
  const AppSection s = app_section(c, "proxy");
  EXPECT_TRUE(s.present());
  EXPECT_EQ(s.path(), "app.proxy");
  s.check_keys({"listen", "backends", "balance", "weight", "verbose", "label"});
  EXPECT_TRUE(s.has("listen"));
  EXPECT_FALSE(s.has("port"));
  EXPECT_EQ(s.get_int("listen", 1, 65535, 1), 8080);
  EXPECT_EQ(s.get_int("port", 1, 65535, 81), 81);
  EXPECT_DOUBLE_EQ(s.get_double("weight", 0, 1, 1), 0.25);
  EXPECT_TRUE(s.get_bool("verbose", false));
  EXPECT_FALSE(s.get_bool("quiet", false));
  EXPECT_EQ(s.get_string("label", "x"), "edge");
  EXPECT_EQ(s.get_string("other", "x"), "x");
  EXPECT_EQ(s.require_string("label"), "edge");
  EXPECT_EQ(s.get_enum("balance", {"hash", "round_robin"}, "hash"), "round_robin");
  EXPECT_EQ(s.get_enum("mode", {"a", "b"}, "b"), "b");
  EXPECT_EQ(s.get_string_list("backends"),
            (std::vector<std::string>{"198.18.0.1:8000", "198.18.0.3:8001"}));
  EXPECT_EQ(s.get_string_list("none", {"d"}), std::vector<std::string>{"d"});
  const auto eps = s.get_endpoint_list("backends");
  ASSERT_EQ(eps.size(), 2u);
  EXPECT_EQ(to_string(eps[0]), "198.18.0.1:8000");
  EXPECT_EQ(to_string(eps[1]), "198.18.0.3:8001");
  EXPECT_TRUE(s.get_ipv4_block_list("sources").empty());
  const Ipv4Endpoint def{*detail::parse_ipv4("127.0.0.1"), 9};
  EXPECT_EQ(s.get_endpoint("target", def), def);
}

TEST(AppSectionTest, Ipv4BlockList) {
  const Config c = with_app("  loadgen: {sources: [198.18.1.0/26, 198.18.2.7]}\n");
  const auto blocks = app_section(c, "loadgen").get_ipv4_block_list("sources", 16);
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(to_string(blocks[0]), "198.18.1.0/26");
  EXPECT_EQ(to_string(blocks[1]), "198.18.2.7/32");
}

TEST(AppSectionTest, AbsentSectionAndInCodeConfig) {
  const Config c = with_app("  echo: {port: 7}\n");
  const AppSection s = app_section(c, "httpd");
  EXPECT_FALSE(s.present());
  s.check_keys({});
  EXPECT_EQ(s.get_int("port", 1, 65535, 80), 80);
  const Config in_code;  // built by an embedder: no app tree at all
  EXPECT_FALSE(app_section(in_code, "echo").present());
  EXPECT_EQ(app_section(in_code, "echo").get_string("x", "d"), "d");
}

struct AppErrorCase {
  const char* name;
  std::string app_yaml;
  std::function<void(const AppSection&)> read;
  std::string section;
  std::string message;
};

std::ostream& operator<<(std::ostream& os, const AppErrorCase& c) { return os << c.name; }

class AppSectionErrorsTest : public testing::TestWithParam<AppErrorCase> {};

TEST_P(AppSectionErrorsTest, ExactOneLineMessage) {
  const AppErrorCase& c = GetParam();
  const Config config = with_app(c.app_yaml);
  const AppSection s = app_section(config, c.section);
  try {
    c.read(s);
    FAIL() << "accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), c.message);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Getters, AppSectionErrorsTest,
    testing::Values(
        AppErrorCase{"int_high", "  echo: {port: 70000}\n",
                     [](const AppSection& s) { (void)s.get_int("port", 1, 65535, 7); }, "echo",
                     "config: app.echo.port: 70000: expected an integer in [1, 65535]"},
        AppErrorCase{"int_low", "  echo: {port: 0}\n",
                     [](const AppSection& s) { (void)s.get_int("port", 1, 65535, 7); }, "echo",
                     "config: app.echo.port: 0: expected an integer in [1, 65535]"},
        AppErrorCase{"int_word", "  loadgen: {connections: many}\n",
                     [](const AppSection& s) { (void)s.get_int("connections", 1, 100000000, 1); },
                     "loadgen",
                     "config: app.loadgen.connections: many: expected an integer in [1, 1e8]"},
        AppErrorCase{"double", "  loadgen: {rate: -1}\n",
                     [](const AppSection& s) { (void)s.get_double("rate", 0, 1e9, 0); }, "loadgen",
                     "config: app.loadgen.rate: -1: expected a number in [0, 1e9]"},
        AppErrorCase{"bool", "  httpd: {keepalive: sometimes}\n",
                     [](const AppSection& s) { (void)s.get_bool("keepalive", true); }, "httpd",
                     "config: app.httpd.keepalive: sometimes: expected true or false"},
        AppErrorCase{"string", "  httpd: {root: [a]}\n",
                     [](const AppSection& s) { (void)s.get_string("root", "/"); }, "httpd",
                     "config: app.httpd.root: [a]: expected a string"},
        AppErrorCase{"required", "  loadgen: {rate: 1}\n",
                     [](const AppSection& s) { (void)s.require_string("target"); }, "loadgen",
                     "config: app.loadgen.target: missing required key"},
        AppErrorCase{"required_in_absent_section", "  echo: {}\n",
                     [](const AppSection& s) { (void)s.require_endpoint("target"); }, "loadgen",
                     "config: app.loadgen.target: missing required key"},
        AppErrorCase{"enum", "  proxy: {balance: random}\n",
                     [](const AppSection& s) {
                       (void)s.get_enum("balance", {"round_robin", "hash"}, "hash");
                     },
                     "proxy",
                     "config: app.proxy.balance: random: expected one of round_robin, hash"},
        AppErrorCase{"list_scalar", "  proxy: {backends: 5}\n",
                     [](const AppSection& s) { (void)s.get_string_list("backends"); }, "proxy",
                     "config: app.proxy.backends: 5: expected a list of strings"},
        AppErrorCase{"list_item", "  proxy: {backends: [a, {b: 1}]}\n",
                     [](const AppSection& s) { (void)s.get_string_list("backends"); }, "proxy",
                     "config: app.proxy.backends[1]: {b: 1}: expected a string"},
        AppErrorCase{"endpoint_no_port", "  loadgen: {target: 198.18.0.1}\n",
                     [](const AppSection& s) { (void)s.require_endpoint("target"); }, "loadgen",
                     "config: app.loadgen.target: 198.18.0.1: expected ADDRESS:PORT like "
                     "198.18.0.1:8000"},
        AppErrorCase{"endpoint_port_zero",
                     "  proxy: {backends: [\"198.18.0.1:80\", \"1.2.3.4:0\"]}\n",
                     [](const AppSection& s) { (void)s.get_endpoint_list("backends"); }, "proxy",
                     "config: app.proxy.backends[1]: 1.2.3.4:0: expected ADDRESS:PORT like "
                     "198.18.0.1:8000"},
        AppErrorCase{"block_bad", "  loadgen: {sources: [198.18.1.0/26, 198.18.1]}\n",
                     [](const AppSection& s) { (void)s.get_ipv4_block_list("sources", 16); },
                     "loadgen",
                     "config: app.loadgen.sources[1]: 198.18.1: expected an IPv4 address or "
                     "block like 198.18.1.0/26"},
        AppErrorCase{"block_short", "  loadgen: {sources: [198.0.0.0/8]}\n",
                     [](const AppSection& s) { (void)s.get_ipv4_block_list("sources", 16); },
                     "loadgen",
                     "config: app.loadgen.sources[0]: 198.0.0.0/8: expected a prefix length in "
                     "[16, 32]"},
        AppErrorCase{"block_host_bits", "  loadgen: {sources: [198.18.1.1/26]}\n",
                     [](const AppSection& s) { (void)s.get_ipv4_block_list("sources", 16); },
                     "loadgen",
                     "config: app.loadgen.sources[0]: 198.18.1.1/26: host bits set; the block "
                     "is 198.18.1.0/26"},
        AppErrorCase{"unknown_key", "  echo: {prot: 7}\n",
                     [](const AppSection& s) { s.check_keys({"port"}); }, "echo",
                     "config: app.echo.prot: unknown key (known: port)"},
        AppErrorCase{"unknown_key_many", "  httpd: {port: 80, keep_alive: true}\n",
                     [](const AppSection& s) {
                       s.check_keys({"port", "response_bytes", "keepalive"});
                     },
                     "httpd",
                     "config: app.httpd.keep_alive: unknown key (known: port, response_bytes, "
                     "keepalive)"}),
    [](const testing::TestParamInfo<AppErrorCase>& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace tempo::config
