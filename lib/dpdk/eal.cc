#include "dpdk/eal.h"

#include <filesystem>
#include <system_error>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_pdump.h>

namespace tempo::dpdk {
namespace {
bool g_started = false;     // startup-only state; the datapath never reads it
std::string g_runtime_dir;  // /var/run/dpdk/<file_prefix> of the primary process
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
  if (rte_eal_process_type() == RTE_PROC_PRIMARY) {
    g_runtime_dir = rte_eal_get_runtime_dir();
    // dpdk-dumpcap and dpdk-pdump (secondary processes) capture the ports' traffic through
    // callbacks this serves; without a capture attached they cost nothing.
    (void)rte_pdump_init();
  }
  return {};
}

void eal_cleanup() noexcept {
  if (!g_started) {
    return;
  }
  rte_eal_cleanup();
  g_started = false;
  // DPDK 22.11's rte_eal_cleanup closes the memseg lists' files but leaves them and the rest of
  // the runtime directory (config, hugepage_info, mp_socket: about 6 MB with --no-huge); with
  // a file prefix per process they pile up. Only the primary owns it, and only once started:
  // a failed init may have met another primary's directory.
  if (!g_runtime_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(g_runtime_dir, ec);
    g_runtime_dir.clear();
  }
}

}  // namespace tempo::dpdk
