// EAL start and stop. Configuration is validated before this runs (lib/config); what can still
// fail here is the environment (memory, devices, permissions), reported as one line.
#pragma once

#include <string>
#include <vector>

#include <tempo/result.h>

namespace tempo::dpdk {

// Calls rte_eal_init with `args` (args[0] is the program name). On failure returns
// "eal: <rte_strerror(rte_errno)>". Call once per process.
Result<void, std::string> eal_init(const std::vector<std::string>& args);

// rte_eal_cleanup, then removes the primary process's runtime directory
// (/var/run/dpdk/<file_prefix>, which rte_eal_cleanup leaves); safe to call when eal_init
// failed or was never called.
void eal_cleanup() noexcept;

}  // namespace tempo::dpdk
