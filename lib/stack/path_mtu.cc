#include "stack/path_mtu.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace tempo::stack {

PathMtuCache::Key PathMtuCache::Key::remote_of(const flow::Tuple& t) noexcept {
  Key k;
  k.v6 = t.v6;
  if (t.v6) {
    k.addr = t.t6.remote;
  } else {
    std::memcpy(k.addr.data(), &t.t4.remote, sizeof t.t4.remote);
  }
  return k;
}

void PathMtuCache::init(const Config& cfg) {
  const uint32_t sets = std::bit_ceil(std::max<uint32_t>(1, (cfg.max_entries + kWays - 1) / kWays));
  slots_.assign(size_t{sets} * kWays, Slot{});
  set_mask_ = sets - 1;
  expires_ = cfg.expires;
  seed_ = cfg.seed;
  used_ = 0;
}

size_t PathMtuCache::set_of(const Key& k) const noexcept {
  // Two 64-bit words of the address, mixed with the Worker's seed (splitmix64's finalizer): an
  // address's set is not predictable from outside.
  uint64_t a;
  uint64_t b;
  std::memcpy(&a, k.addr.data(), 8);
  std::memcpy(&b, k.addr.data() + 8, 8);
  uint64_t h = seed_ ^ a ^ (b * 0x9e3779b97f4a7c15ULL) ^ (k.v6 ? 0x6a09e667f3bcc909ULL : 0);
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return static_cast<size_t>(h) & set_mask_;
}

std::optional<uint16_t> PathMtuCache::lookup(const Key& dst, Ticks now) noexcept {
  if (used_ == 0) {
    return std::nullopt;
  }
  Slot* set = &slots_[set_of(dst) * kWays];
  for (uint32_t w = 0; w < kWays; ++w) {
    Slot& s = set[w];
    if (s.mtu == 0 || !(s.key == dst)) {
      continue;
    }
    if (now >= s.expires) {
      free_slot(s);
      ++counters_.pmtu_expired;
      return std::nullopt;
    }
    return s.mtu;
  }
  return std::nullopt;
}

bool PathMtuCache::learn(const Key& dst, uint16_t mtu, Ticks now) noexcept {
  if (slots_.empty() || mtu == 0) {
    return false;
  }
  Slot* set = &slots_[set_of(dst) * kWays];
  Slot* free = nullptr;
  Slot* soonest = &set[0];  // the entry that expires first: evicted when the set is full
  for (uint32_t w = 0; w < kWays; ++w) {
    Slot& s = set[w];
    if (s.mtu != 0 && now >= s.expires) {
      free_slot(s);
      ++counters_.pmtu_expired;
    }
    if (s.mtu == 0) {
      free = free != nullptr ? free : &s;
      continue;
    }
    if (s.key == dst) {
      // Linux __ip_rt_update_pmtu: a live entry is only ever lowered.
      if (mtu > s.mtu) {
        return false;
      }
      const bool lowered = mtu < s.mtu;
      s.mtu = mtu;
      s.expires = now + expires_;
      counters_.pmtu_learned += lowered ? 1 : 0;
      return lowered;
    }
    if (s.expires < soonest->expires || soonest->mtu == 0) {
      soonest = &s;
    }
  }
  Slot* into = free;
  if (into == nullptr) {
    into = soonest;
    free_slot(*into);
    ++counters_.pmtu_evicted;
  }
  into->key = dst;
  into->mtu = mtu;
  into->expires = now + expires_;
  ++used_;
  ++counters_.pmtu_learned;
  return true;
}

}  // namespace tempo::stack
