#include "dpdk/eal.h"

#include <rte_eal.h>
#include <rte_errno.h>

namespace tempo::dpdk {
namespace {
bool g_started = false;  // startup-only state; the datapath never reads it
}  // namespace

Result<void, std::string> eal_init(const std::vector<std::string>& args) {
  std::vector<std::string> copy = args;  // rte_eal_init may permute argv
  std::vector<char*> argv;
  argv.reserve(copy.size() + 1);
  for (auto& a : copy) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(copy.size()), argv.data()) < 0) {
    return fail(std::string("eal: ") + rte_strerror(rte_errno));
  }
  g_started = true;
  return {};
}

void eal_cleanup() noexcept {
  if (g_started) {
    rte_eal_cleanup();
    g_started = false;
  }
}

}  // namespace tempo::dpdk
