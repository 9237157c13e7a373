#include "telemetry/counters.h"

#include <algorithm>

namespace tempo::telemetry {

StackCounters& StackCounters::operator+=(const StackCounters& o) noexcept {
  add(*this, o);
  for (const FaultDirection& d : kFaultDirections) {
    add(this->*d.faults, o.*d.faults);
  }
  for (size_t l = 0; l < parse.size(); ++l) {
    for (size_t e = 0; e < kWireErrors; ++e) {
      parse[l][e] += o.parse[l][e];
    }
  }
  return *this;
}

std::vector<std::pair<std::string, uint64_t>> StackCounters::items() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  for_each_field(*this, [&](const Field& f, uint64_t value) { out.emplace_back(f.name, value); });
  for (const FaultDirection& d : kFaultDirections) {
    for_each_field(this->*d.faults, [&](const CounterField<FaultCounters>& f, uint64_t value) {
      if (value != 0) {
        out.emplace_back(std::string(d.name) + "." + f.name, value);
      }
    });
  }
  for (size_t l = 0; l < parse.size(); ++l) {
    for (size_t e = 0; e < kWireErrors; ++e) {
      if (parse[l][e] == 0) {
        continue;
      }
      std::string name = std::string("drop.") + kLayerNames[l] + "." +
                         std::string(wire::to_string(static_cast<wire::WireError>(e)));
      // A field may count the same drop under the same name (drop.ipv4.fragment): one line.
      const auto same = std::find_if(out.begin(), out.end(),
                                     [&](const auto& item) { return item.first == name; });
      if (same != out.end()) {
        same->second += parse[l][e];
      } else {
        out.emplace_back(std::move(name), parse[l][e]);
      }
    }
  }
  return out;
}

}  // namespace tempo::telemetry
