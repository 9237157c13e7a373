#include "config/lcores.h"

#include <algorithm>
#include <sched.h>

#include "config/reader.h"

namespace tempo::config::detail {

std::optional<std::vector<unsigned>> parse_core_list(std::string_view list) {
  if (list.empty()) {
    return std::nullopt;
  }
  const auto number = [](std::string_view t, unsigned& v) {
    if (t.empty() || t.size() > 5) {
      return false;
    }
    v = 0;
    for (const char c : t) {
      if (c < '0' || c > '9') {
        return false;
      }
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    return true;
  };
  std::vector<unsigned> cores;
  std::string_view s = list;
  while (true) {
    const auto comma = s.find(',');
    const std::string_view item = s.substr(0, comma);
    const auto dash = item.find('-');
    const std::string_view a = item.substr(0, dash);
    const std::string_view b = dash == std::string_view::npos ? a : item.substr(dash + 1);
    unsigned lo = 0;
    unsigned hi = 0;
    if (!number(a, lo) || !number(b, hi) || lo > hi) {
      return std::nullopt;
    }
    for (unsigned c = lo; c <= hi; ++c) {
      cores.push_back(c);
    }
    if (comma == std::string_view::npos) {
      break;
    }
    s.remove_prefix(comma + 1);
  }
  std::sort(cores.begin(), cores.end());
  cores.erase(std::unique(cores.begin(), cores.end()), cores.end());
  return cores;
}

std::string format_core_list(const std::vector<unsigned>& cpus) {
  if (cpus.empty()) {
    return "none";
  }
  std::string out;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) {
      ++j;
    }
    if (!out.empty()) {
      out += ',';
    }
    out += std::to_string(cpus[i]);
    if (j > i) {
      out += '-' + std::to_string(cpus[j]);
    }
    i = j + 1;
  }
  return out;
}

void check_cores_allowed(std::string_view path, std::string_view list,
                         const std::vector<unsigned>& cores, const std::vector<unsigned>& allowed) {
  for (const unsigned c : cores) {
    if (!std::binary_search(allowed.begin(), allowed.end(), c)) {
      fail_text(path, list,
                "lcore " + std::to_string(c) + " is not a CPU this process may run on (it may " +
                    "run on " + format_core_list(allowed) + ")");
    }
  }
}

std::vector<unsigned> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<unsigned> out;
  if (sched_getaffinity(0, sizeof set, &set) != 0) {
    return out;
  }
  for (unsigned c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace tempo::config::detail
