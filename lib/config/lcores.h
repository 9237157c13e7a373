// DPDK's core list, the `-l` argument `eal.lcores` becomes: "N", "N-M", comma-separated. With
// -l an lcore is the CPU of the same number, so each must be below RTE_MAX_LCORE and a CPU the
// process may run on. Internal to lib/config.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tempo::config::detail {

// The lcores of `list` in ascending order without repeats, or nullopt when it is not a core
// list (empty, not digits, N > M in N-M, a number of more than 5 digits).
std::optional<std::vector<unsigned>> parse_core_list(std::string_view list);

// "0-3,6": ascending `cpus` as a core list, runs of consecutive numbers as N-M ("none" when
// empty).
std::string format_core_list(const std::vector<unsigned>& cpus);

// Throws ConfigError naming `path` (eal.lcores) and `list` when an lcore of it is not in
// `allowed` (ascending): "lcore 2 is not a CPU this process may run on (it may run on 0-1)".
void check_cores_allowed(std::string_view path, std::string_view list,
                         const std::vector<unsigned>& cores, const std::vector<unsigned>& allowed);

// The CPUs this process may run on (sched_getaffinity), ascending; empty when that cannot be
// read.
std::vector<unsigned> allowed_cpus();

}  // namespace tempo::config::detail
