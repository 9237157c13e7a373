// PathMtuCache: the path MTUs a Worker learned, per destination address (RFC 1191 §6.3, RFC 8201
// §5.2: "a host MUST keep the PMTU per destination"), so that a later connection to the same
// destination starts at the learned size instead of losing its first full-sized segments again,
// as Linux keeps the learned MTU on the route's exception entry (ip_rt_update_pmtu) and lowers
// the MSS of new connections by it.
//
// Bounded by construction: `max_entries` slots allocated at init, in sets of kWays (a hash of the
// address picks the set); a destination learned when its set is full takes the place of the set's
// entry that expires first (counted: evicted). An entry expires `expires` after it was learned
// (Linux net.ipv4.route.mtu_expires, 600 s): a lookup or a learn that finds it expired frees it
// (counted: expired), and the destination is back at the interface MTU (RFC 1191 §6.3: raise the
// estimate again after a while, at least 10 minutes after a decrease). Learning only ever lowers a
// live entry (a higher MTU for it is ignored; the same one restarts its time), as Linux.
//
// Only what passed the RFC 5927 checks is learned (the Worker: a quoted segment in flight on a
// live connection), so a forged ICMP message cannot lower the MTU of destinations it has no
// connection to. No allocation after init(); no clock read (time is a parameter).
// Tests: tests/unit/stack/path_mtu_test.cc.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "flow/tuple.h"
#include "telemetry/registry.h"
#include "time/ticks.h"

namespace tempo::stack {

struct PathMtuCounters {
  uint64_t pmtu_learned = 0;
  uint64_t pmtu_expired = 0;
  uint64_t pmtu_evicted = 0;
  uint64_t pmtu_applied = 0;

  using Field = telemetry::CounterField<PathMtuCounters>;
  static constexpr auto kFields = std::to_array<Field>({
      {"pmtu.learned", &PathMtuCounters::pmtu_learned,
       "path MTUs learned or lowered for a destination (tcp.pmtu, RFC 1191/8201)"},
      {"pmtu.expired", &PathMtuCounters::pmtu_expired,
       "learned path MTUs dropped after tcp.pmtu.expires_ms: back to the interface MTU"},
      {"pmtu.evicted", &PathMtuCounters::pmtu_evicted,
       "learned path MTUs dropped for another destination: the cache was full (max_entries)"},
      {"pmtu.applied", &PathMtuCounters::pmtu_applied,
       "new connections whose send MSS a learned path MTU lowered"},
  });
};
static_assert(telemetry::check_registry(PathMtuCounters::kFields, "pmtu."));
static_assert(sizeof(PathMtuCounters) == sizeof(uint64_t) * PathMtuCounters::kFields.size());

class PathMtuCache {
 public:
  static constexpr uint32_t kWays = 4;

  // A destination: an IPv4 address (host order, in the first 4 bytes) or an IPv6 one.
  struct Key {
    std::array<uint8_t, 16> addr{};
    bool v6 = false;
    friend bool operator==(const Key&, const Key&) noexcept = default;
    static Key remote_of(const flow::Tuple& t) noexcept;
  };

  struct Config {
    uint32_t max_entries = 4096;           // tcp.pmtu.max_entries, per Worker
    Ticks expires = Ticks::from_sec(600);  // tcp.pmtu.expires_ms (Linux mtu_expires)
    uint64_t seed = 0;                     // keys the set hash
  };

  explicit PathMtuCache(PathMtuCounters& counters) noexcept : counters_(counters) {}
  // Allocates the slots: max_entries rounded up to a power of two sets of kWays (at least one).
  void init(const Config& cfg);
  bool ready() const noexcept { return !slots_.empty(); }

  // `mtu` for `dst`, learned at `now`: a new entry, a lower MTU for a live one (its time
  // restarted), or the same one (time restarted). Returns whether the entry was made or lowered.
  bool learn(const Key& dst, uint16_t mtu, Ticks now) noexcept;
  // The learned MTU of `dst`, or nullopt (none, or it expired: then freed and counted).
  std::optional<uint16_t> lookup(const Key& dst, Ticks now) noexcept;
  // Entries held (expired ones not yet found included).
  uint32_t size() const noexcept { return used_; }
  uint32_t capacity() const noexcept { return static_cast<uint32_t>(slots_.size()); }

 private:
  struct Slot {
    Key key;
    uint16_t mtu = 0;  // 0: free
    Ticks expires{};
  };
  size_t set_of(const Key& k) const noexcept;
  void free_slot(Slot& s) noexcept {
    s.mtu = 0;
    --used_;
  }

  PathMtuCounters& counters_;
  std::vector<Slot> slots_;  // sets_ * kWays
  size_t set_mask_ = 0;
  Ticks expires_ = Ticks::from_sec(600);
  uint64_t seed_ = 0;
  uint32_t used_ = 0;
};

}  // namespace tempo::stack
