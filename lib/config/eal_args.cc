// Config to rte_eal_init's argv. lib/dpdk turns the strings into a char* array.
#include <string>
#include <unistd.h>

#include <tempo/config.h>

namespace tempo::config {

std::vector<std::string> eal_args(const Config& config, std::string_view program) {
  const EalConfig& e = config.eal;
  std::vector<std::string> args;
  args.emplace_back(program);
  args.emplace_back("-l");
  args.push_back(e.lcores);
  args.emplace_back("-m");
  args.push_back(std::to_string(e.memory_mb));
  if (e.no_huge) {
    args.emplace_back("--no-huge");
  }
  // Never --in-memory: it does not combine with --no-huge (DESIGN.md); a per-process
  // --file-prefix keeps concurrent processes apart instead. A Config built in code may leave
  // it empty: it gets the loader's default, "tempo-<pid>".
  args.emplace_back("--file-prefix");
  args.push_back(e.file_prefix.empty() ? "tempo-" + std::to_string(getpid()) : e.file_prefix);
  bool any_pci = false;
  bool memif_zero_copy = false;
  for (const PortConfig& p : config.ports) {
    any_pci = any_pci || p.device_kind == DeviceKind::kPci;
    memif_zero_copy = memif_zero_copy || memif_zero_copy_client(p);
  }
  if (!any_pci) {
    // Without this the EAL probes every PCI device the process can see.
    args.emplace_back("--no-pci");
  }
  if (memif_zero_copy) {
    // memif's zero-copy client shares its DPDK memory with the server as one file per memory
    // list: without this its probe fails ("Zero-copy doesn't support multi-file segments").
    args.emplace_back("--single-file-segments");
  }
  for (const PortConfig& p : config.ports) {
    if (p.device_kind == DeviceKind::kVdev) {
      args.push_back("--vdev=" + p.device);
    } else {
      args.emplace_back("-a");
      args.push_back(p.device);
    }
  }
  if (e.log_level) {
    args.emplace_back("--log-level");
    args.push_back(*e.log_level);
  }
  args.insert(args.end(), e.extra_args.begin(), e.extra_args.end());
  return args;
}

}  // namespace tempo::config
