// The command line every tempo app shares (DESIGN.md "Configuration"):
//   tempo-APP --config FILE | -c FILE | --config=FILE | -cFILE
//   tempo-APP --help | -h        usage on stdout, exit 0
//   tempo-APP --version          "tempo-APP VERSION" on stdout, exit 0
// Anything else, or no config, prints one usage error line on stderr and exits 2. All of it
// happens before any EAL call.
#pragma once

#include <cstdint>
#include <iostream>
#include <string>
#include <string_view>

#include <tempo/config.h>

namespace tempo::config {

struct CliAction {
  enum class Kind : std::uint8_t {
    kRun,      // config_path is set; load it and run
    kHelp,     // usage printed; exit with exit_code (0)
    kVersion,  // version printed; exit with exit_code (0)
    kError,    // one line printed on `err`; exit with exit_code (2)
  };
  Kind kind = Kind::kError;
  std::string config_path;
  int exit_code = 2;
};

// "tempo-echo" for app "echo" (an app name already starting with "tempo-" is kept).
std::string program_name(std::string_view app);

// `app` is the short name ("echo"), `summary` one sentence for --help.
CliAction parse_cli(int argc, char** argv, std::string_view app, std::string_view summary,
                    std::ostream& out = std::cout, std::ostream& err = std::cerr);

// The whole startup of an app's main(): parse the command line, load the config, then call
// `body(const Config&) -> int`. A ConfigError from loading or from `body` (reading its
// app section, which it should do before starting the EAL) prints what() on stderr and
// returns 2.
//   int main(int argc, char** argv) {
//     return tempo::config::run_main(argc, argv, "echo", "TCP echo server.",
//                                    [](const tempo::Config& c) { ...; return 0; });
//   }
template <class Body>
int run_main(int argc, char** argv, std::string_view app, std::string_view summary, Body&& body,
             std::ostream& out = std::cout, std::ostream& err = std::cerr) {
  const CliAction action = parse_cli(argc, argv, app, summary, out, err);
  if (action.kind != CliAction::Kind::kRun) {
    return action.exit_code;
  }
  try {
    const Config config = load_file(action.config_path);
    return body(config);
  } catch (const ConfigError& e) {
    err << e.what() << '\n';
    return 2;
  }
}

}  // namespace tempo::config
