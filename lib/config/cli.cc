#include <tempo/cli.h>

#ifndef TEMPO_VERSION
#error "TEMPO_VERSION is defined by meson (project version)"
#endif

namespace tempo::config {
namespace {

constexpr int kExitUsage = 2;

CliAction usage_error(std::string_view program, std::string_view what, std::ostream& err) {
  err << program << ": " << what << " (try --help)\n";
  return CliAction{CliAction::Kind::kError, {}, kExitUsage};
}

}  // namespace

std::string program_name(std::string_view app) {
  if (app.substr(0, 6) == "tempo-") {
    return std::string(app);
  }
  return "tempo-" + std::string(app);
}

CliAction parse_cli(int argc, char** argv, std::string_view app, std::string_view summary,
                    std::ostream& out, std::ostream& err) {
  const std::string program = program_name(app);
  std::string config_path;
  bool have_config = false;
  bool help = false;
  bool version = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    std::string_view value;
    bool is_config = false;
    if (arg == "--help" || arg == "-h") {
      help = true;
      continue;
    }
    if (arg == "--version") {
      version = true;
      continue;
    }
    if (arg == "--config" || arg == "-c") {
      if (i + 1 >= argc) {
        return usage_error(program, std::string(arg) + " needs a FILE", err);
      }
      value = argv[++i];
      is_config = true;
    } else if (arg.substr(0, 9) == "--config=") {
      value = arg.substr(9);
      is_config = true;
    } else if (arg.size() > 2 && arg.substr(0, 2) == "-c") {
      value = arg.substr(2);
      is_config = true;
    }
    if (!is_config) {
      if (!arg.empty() && arg.front() == '-') {
        return usage_error(program, "unknown option '" + std::string(arg) + "'", err);
      }
      return usage_error(program, "unexpected argument '" + std::string(arg) + "'", err);
    }
    if (value.empty()) {
      return usage_error(program, "--config needs a FILE", err);
    }
    if (have_config) {
      return usage_error(program, "--config given more than once", err);
    }
    config_path = value;
    have_config = true;
  }
  if (help) {
    out << "usage: " << program << " --config FILE\n"
        << "       " << program << " --help | --version\n\n"
        << summary << "\n\n"
        << "options:\n"
        << "  -c, --config FILE  the YAML configuration: eal, ports, tcp, faults, and this\n"
        << "                     app's own section app." << app << "\n"
        << "  -h, --help         print this help and exit\n"
        << "      --version      print the version and exit\n\n"
        << "Runs until SIGINT, SIGTERM or SIGHUP (loadgen: or until its work is done). Then it\n"
        << "resets its open connections (RST; with tcp.stop_grace_ms, closes them with FIN and\n"
        << "resets what is left when the grace ends, or at a second signal), prints its\n"
        << "counters, removes its DPDK runtime directory and exits 0. SIGUSR1 prints the\n"
        << "counters and it goes on running. A bad configuration prints one line naming the\n"
        << "key and exits 2, before the EAL starts.\n";
    return CliAction{CliAction::Kind::kHelp, {}, 0};
  }
  if (version) {
    out << program << " " << TEMPO_VERSION << "\n";
    return CliAction{CliAction::Kind::kVersion, {}, 0};
  }
  if (!have_config) {
    return usage_error(program, "missing --config FILE", err);
  }
  return CliAction{CliAction::Kind::kRun, std::move(config_path), 0};
}

}  // namespace tempo::config
