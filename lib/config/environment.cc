// What a loaded Config is checked against once the process is running it, just before the EAL
// starts (Runtime::start): the CPUs the lcores name, and the app sections the process read.
#include <algorithm>
#include <string>
#include <vector>

#include <tempo/config.h>

#include "config/lcores.h"
#include "config/reader.h"

namespace tempo::config {
namespace {

// The sections of tempo's own apps: a file may serve several of them (DESIGN.md
// "Configuration" gives one with all four), so another app's section is not a typo.
constexpr std::string_view kTempoApps[] = {"echo", "httpd", "loadgen", "proxy"};

}  // namespace

void check_app_sections(const Config& config) {
  if (!config.app || !config.app->root.IsMap()) {
    return;
  }
  std::vector<std::string> known(std::begin(kTempoApps), std::end(kTempoApps));
  known.insert(known.end(), config.app->read.begin(), config.app->read.end());
  std::sort(known.begin(), known.end());
  known.erase(std::unique(known.begin(), known.end()), known.end());
  for (const auto& kv : config.app->root) {
    const std::string name = kv.first.Scalar();
    if (!std::binary_search(known.begin(), known.end(), name)) {
      std::string list;
      for (const std::string& k : known) {
        list += (list.empty() ? "" : ", ") + k;
      }
      detail::fail(detail::join_key("app", name), "unknown app section (known: " + list + ")");
    }
  }
}

void check_environment(const Config& config) {
  const auto cores = detail::parse_core_list(config.eal.lcores);
  const std::vector<unsigned> allowed = detail::allowed_cpus();
  if (cores && !allowed.empty()) {
    detail::check_cores_allowed("eal.lcores", config.eal.lcores, *cores, allowed);
  }
  check_app_sections(config);
}

}  // namespace tempo::config
