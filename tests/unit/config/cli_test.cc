// The command line every app shares: every flag form, --help, --version, and each usage error.
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include <tempo/cli.h>

namespace tempo::config {
namespace {

using Kind = CliAction::Kind;

struct CliCase {
  const char* name;
  std::vector<std::string> args;  // after the program name
  Kind kind;
  int exit_code;
  std::string config_path;
  std::string out_starts;  // stdout must start with this ("" = stdout empty)
  std::string err;         // stderr, exactly
};

std::ostream& operator<<(std::ostream& os, const CliCase& c) { return os << c.name; }

struct Argv {
  explicit Argv(const std::vector<std::string>& args) : storage{"tempo-echo"} {
    storage.insert(storage.end(), args.begin(), args.end());
    for (auto& s : storage) {
      ptrs.push_back(s.data());
    }
    ptrs.push_back(nullptr);
  }
  int argc() const { return static_cast<int>(storage.size()); }
  char** argv() { return ptrs.data(); }
  std::vector<std::string> storage;
  std::vector<char*> ptrs;
};

class CliFormsTest : public testing::TestWithParam<CliCase> {};

TEST_P(CliFormsTest, ActionAndOutput) {
  const CliCase& c = GetParam();
  Argv a(c.args);
  std::ostringstream out;
  std::ostringstream err;
  const CliAction action = parse_cli(a.argc(), a.argv(), "echo", "TCP echo server.", out, err);
  EXPECT_EQ(action.kind, c.kind);
  EXPECT_EQ(action.exit_code, c.exit_code);
  EXPECT_EQ(action.config_path, c.config_path);
  if (c.out_starts.empty()) {
    EXPECT_EQ(out.str(), "");
  } else {
    EXPECT_EQ(out.str().substr(0, c.out_starts.size()), c.out_starts) << out.str();
  }
  EXPECT_EQ(err.str(), c.err);
}

const std::string kVersionLine = std::string("tempo-echo ") + TEMPO_VERSION + "\n";

INSTANTIATE_TEST_SUITE_P(
    Forms, CliFormsTest,
    testing::Values(
        CliCase{"long", {"--config", "a.yaml"}, Kind::kRun, 0, "a.yaml", "", ""},
        CliCase{"short", {"-c", "b.yaml"}, Kind::kRun, 0, "b.yaml", "", ""},
        CliCase{"long_equals", {"--config=c.yaml"}, Kind::kRun, 0, "c.yaml", "", ""},
        CliCase{"short_attached", {"-cd.yaml"}, Kind::kRun, 0, "d.yaml", "", ""},
        CliCase{"help", {"--help"}, Kind::kHelp, 0, "", "usage: tempo-echo --config FILE\n", ""},
        CliCase{"help_short", {"-h"}, Kind::kHelp, 0, "", "usage: tempo-echo --config FILE\n", ""},
        CliCase{
            "help_with_config", {"-c", "x", "--help"}, Kind::kHelp, 0, "", "usage: tempo-echo", ""},
        CliCase{"version", {"--version"}, Kind::kVersion, 0, "", kVersionLine, ""},
        CliCase{"nothing",
                {},
                Kind::kError,
                2,
                "",
                "",
                "tempo-echo: missing --config FILE (try --help)\n"},
        CliCase{"unknown_option",
                {"--confg", "a"},
                Kind::kError,
                2,
                "",
                "",
                "tempo-echo: unknown option '--confg' (try --help)\n"},
        CliCase{"unknown_short",
                {"-x"},
                Kind::kError,
                2,
                "",
                "",
                "tempo-echo: unknown option '-x' (try --help)\n"},
        CliCase{"positional",
                {"a.yaml"},
                Kind::kError,
                2,
                "",
                "",
                "tempo-echo: unexpected argument 'a.yaml' (try --help)\n"},
        CliCase{"config_without_file",
                {"--config"},
                Kind::kError,
                2,
                "",
                "",
                "tempo-echo: --config needs a FILE (try --help)\n"},
        CliCase{"short_without_file",
                {"-c"},
                Kind::kError,
                2,
                "",
                "",
                "tempo-echo: -c needs a FILE (try --help)\n"},
        CliCase{"equals_empty",
                {"--config="},
                Kind::kError,
                2,
                "",
                "",
                "tempo-echo: --config needs a FILE (try --help)\n"},
        CliCase{"twice",
                {"-c", "a", "--config=b"},
                Kind::kError,
                2,
                "",
                "",
                "tempo-echo: --config given more than once (try --help)\n"}),
    [](const testing::TestParamInfo<CliCase>& p) { return std::string(p.param.name); });

TEST(CliTest, HelpNamesTheSummaryAndEveryOption) {
  Argv a({"--help"});
  std::ostringstream out;
  std::ostringstream err;
  (void)parse_cli(a.argc(), a.argv(), "echo", "TCP echo server.", out, err);
  for (const char* s :
       {"TCP echo server.", "-c, --config FILE", "-h, --help", "--version", "app.echo"}) {
    EXPECT_NE(out.str().find(s), std::string::npos) << s;
  }
}

// What each signal does (issue 13: SIGHUP and SIGUSR1 used to kill silently).
TEST(CliTest, HelpSaysWhatEachSignalDoes) {
  Argv a({"--help"});
  std::ostringstream out;
  std::ostringstream err;
  (void)parse_cli(a.argc(), a.argv(), "echo", "TCP echo server.", out, err);
  for (const char* s : {"SIGINT, SIGTERM or SIGHUP", "resets its open connections (RST",
                        "tcp.stop_grace_ms", "SIGUSR1 prints the\ncounters and it goes on running",
                        "removes its DPDK runtime directory"}) {
    EXPECT_NE(out.str().find(s), std::string::npos) << s;
  }
}

TEST(CliTest, ProgramName) {
  EXPECT_EQ(program_name("echo"), "tempo-echo");
  EXPECT_EQ(program_name("tempo-proxy"), "tempo-proxy");
}

TEST(CliTest, RunMainLoadsConfigAndCallsBody) {
  char path[] = "/tmp/tempo-cli-test-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string text =
      "ports: [{device: net_tap0, ipv4: 198.18.0.2/24}]\napp: {echo: {port: 70000}}\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);

  Argv a({"-c", path});
  std::ostringstream out;
  std::ostringstream err;
  int seen_port = 0;
  // The body's own ConfigError (its app section) is reported the same way, exit 2.
  const int rc = run_main(
      a.argc(), a.argv(), "echo", "s",
      [&](const Config& c) {
        seen_port = static_cast<int>(app_section(c, "echo").get_int("port", 1, 100000, 7));
        (void)app_section(c, "echo").get_int("port", 1, 65535, 7);
        return 0;
      },
      out, err);
  unlink(path);
  EXPECT_EQ(seen_port, 70000);
  EXPECT_EQ(rc, 2);
  EXPECT_EQ(err.str(), "config: app.echo.port: 70000: expected an integer in [1, 65535]\n");
}

TEST(CliTest, RunMainReportsUnreadableFileAndSkipsBody) {
  Argv a({"--config=/nonexistent/t.yaml"});
  std::ostringstream out;
  std::ostringstream err;
  bool called = false;
  const int rc = run_main(
      a.argc(), a.argv(), "echo", "s",
      [&](const Config&) {
        called = true;
        return 0;
      },
      out, err);
  EXPECT_EQ(rc, 2);
  EXPECT_FALSE(called);
  EXPECT_EQ(err.str(), "config: /nonexistent/t.yaml: cannot read: No such file or directory\n");
}

TEST(CliTest, RunMainReturnsBodyResult) {
  Argv a({"--version"});
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(run_main(
                a.argc(), a.argv(), "echo", "s", [](const Config&) { return 5; }, out, err),
            0);
  EXPECT_EQ(out.str(), kVersionLine);

  char path[] = "/tmp/tempo-cli-test-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  const std::string text = "ports: [{device: net_tap0, ipv4: 198.18.0.2/24}]\n";
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  close(fd);
  Argv b({"-c", path});
  EXPECT_EQ(run_main(
                b.argc(), b.argv(), "echo", "s", [](const Config&) { return 5; }, out, err),
            5);
  unlink(path);
  EXPECT_EQ(err.str(), "");
}

}  // namespace
}  // namespace tempo::config
