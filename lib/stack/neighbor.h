// The neighbour cache of one Worker and one port: IPv4 address -> MAC (ARP, RFC 826) or IPv6
// address -> MAC (neighbour discovery, RFC 4861). Fixed capacity, open addressing with linear
// probing, no allocation after construction, one writer (the owning Worker).
//
// Entries are learned from ARP requests/replies and neighbour solicitations/advertisements
// addressed to us, and age out after `ttl` (RFC 4861 §6.3.2 REACHABLE_TIME is 30 s; Linux's
// gc_stale_time is 60 s: we keep 60 s). A full cache replaces the oldest entry in the probe
// window, so a flood of spoofed senders costs lookups, never memory.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

#include "time/ticks.h"
#include "wire/ipv4_addr.h"
#include "wire/ipv6_addr.h"
#include "wire/mac_addr.h"

namespace tempo::stack {

template <class Addr, size_t kCapacity = 256>
class NeighborCache {
  static_assert((kCapacity & (kCapacity - 1)) == 0, "capacity is a power of two");

 public:
  static constexpr size_t kProbe = 8;  // slots looked at per lookup or insert
  static constexpr Ticks kDefaultTtl = Ticks::from_sec(60);

  NeighborCache() noexcept : NeighborCache(kDefaultTtl) {}
  explicit NeighborCache(Ticks ttl) noexcept : ttl_(ttl) {
    slots_.fill(Entry{});  // explicit: g++ 12 -O2 with ASan misreads the default init as absent
  }

  std::optional<wire::MacAddr> lookup(const Addr& ip, Ticks now) const noexcept {
    const size_t h = hash(ip);
    for (size_t i = 0; i < kProbe; ++i) {
      const Entry& e = slots_[(h + i) & (kCapacity - 1)];
      if (e.used && e.ip == ip) {
        if (now - e.learned > ttl_) {
          return std::nullopt;
        }
        return e.mac;
      }
    }
    return std::nullopt;
  }

  // Inserts or refreshes. Returns true when the entry is new or its MAC changed.
  bool learn(const Addr& ip, const wire::MacAddr& mac, Ticks now) noexcept {
    const size_t h = hash(ip);
    Entry* victim = nullptr;
    for (size_t i = 0; i < kProbe; ++i) {
      Entry& e = slots_[(h + i) & (kCapacity - 1)];
      if (e.used && e.ip == ip) {
        const bool changed = e.mac != mac;
        e.mac = mac;
        e.learned = now;
        return changed;
      }
      if (!e.used) {
        if (victim == nullptr || victim->used) {
          victim = &e;
        }
      } else if (victim == nullptr || (victim->used && e.learned < victim->learned)) {
        victim = &e;
      }
    }
    *victim = Entry{ip, mac, now, true};
    return true;
  }

  // Calls f(addr, mac) for each live entry (reports and tests; not the datapath).
  template <class F>
  void for_each(Ticks now, F&& f) const {
    for (const Entry& e : slots_) {
      if (e.used && now - e.learned <= ttl_) {
        f(e.ip, e.mac);
      }
    }
  }

  size_t size() const noexcept {
    size_t n = 0;
    for (const Entry& e : slots_) {
      n += e.used ? 1 : 0;
    }
    return n;
  }

 private:
  struct Entry {
    Addr ip{};
    wire::MacAddr mac{};
    Ticks learned{};
    bool used = false;
  };

  // Fibonacci hashing of the address bits; the cache is small and probed, so spread matters
  // more than strength (an attacker filling it only evicts, see the class comment).
  static size_t hash(const wire::Ipv4Addr& ip) noexcept { return mix(ip.value()); }
  static size_t hash(const wire::Ipv6Addr& ip) noexcept {
    uint64_t hi = 0;
    uint64_t lo = 0;
    std::memcpy(&hi, ip.bytes().data(), 8);
    std::memcpy(&lo, ip.bytes().data() + 8, 8);
    return mix(hi ^ lo);
  }
  static size_t mix(uint64_t x) noexcept {
    return static_cast<size_t>((x * 0x9e3779b97f4a7c15ULL) >> 40);
  }

  std::array<Entry, kCapacity> slots_{};
  Ticks ttl_;
};

}  // namespace tempo::stack
