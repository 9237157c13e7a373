// The per-core connection table: 4-tuple -> connection, over DPDK's rte_hash (DESIGN.md
// principle 7: a well-kept library first). One table per Worker and address family; only its
// Worker reads or writes it, so rte_hash runs in its default single-writer mode with no
// locks. Keys are sized to rte_hash's vector compare (16 bytes for IPv4, 48 for IPv6) and
// hashed with CRC32C from a per-table random seed, so a peer cannot aim collisions at a
// table it cannot see the seed of.
//
// A cuckoo table refuses an insert when both of a key's buckets and their displacement paths
// are full, well before it holds `capacity` keys (at 4,096 entries, 3,751-3,886 idle
// connections fitted: issue 19). With rte_hash's extendable buckets
// (RTE_HASH_EXTRA_FLAGS_EXT_TABLE) a key whose buckets are full goes to a linked bucket
// instead, so the table holds every key up to its capacity: the connection slots, not the
// hash, decide when the Worker is full. Lookups pay for the linked buckets only where some
// exist.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>

#include <tempo/result.h>

#include "flow/tuple.h"

namespace tempo::flow {

// The keys: a tuple padded to rte_hash's vector compare (16 bytes for IPv4, 48 for IPv6), the
// padding zero. Aligned to 8: rte_hash_crc reads keys 8 bytes at a time, wherever a key lives.
// A key is its tuple: it passes where a Tuple4/Tuple6 is taken (TIME_WAIT, the PRF).
struct alignas(8) FlowKey4 : Tuple4 {
  uint32_t pad = 0;
  friend bool operator==(const FlowKey4&, const FlowKey4&) = default;
};
static_assert(sizeof(FlowKey4) == 16);

struct alignas(8) FlowKey6 : Tuple6 {
  std::array<uint8_t, 12> pad{};
  friend bool operator==(const FlowKey6&, const FlowKey6&) = default;
};
static_assert(sizeof(FlowKey6) == 48);

constexpr FlowKey4 key_of(const Tuple4& t) noexcept {
  FlowKey4 k;
  static_cast<Tuple4&>(k) = t;
  return k;
}
constexpr FlowKey6 key_of(const Tuple6& t) noexcept {
  FlowKey6 k;
  static_cast<Tuple6&>(k) = t;
  return k;
}

enum class TableError : uint8_t {
  kFull,    // no room: the caller refuses the connection (counted), never evicts a live one
  kExists,  // the key is already present
};

template <class Key, class Value>
class ConnTable {
 public:
  // `name` must be unique in the process (rte_hash names are global). Holds `capacity` keys
  // whatever they are (insert() refuses only beyond it). Startup only.
  static Result<ConnTable, std::string> create(const std::string& name, uint32_t capacity,
                                               uint32_t seed, int socket) {
    rte_hash_parameters params{};
    params.name = name.c_str();
    params.entries = capacity;
    params.key_len = sizeof(Key);
    params.hash_func = rte_hash_crc;
    params.hash_func_init_val = seed;
    params.socket_id = socket;
    params.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
    rte_hash* h = rte_hash_create(&params);
    if (h == nullptr) {
      return fail("conn table " + name + ": " + rte_strerror(rte_errno));
    }
    return ConnTable(h);
  }

  ConnTable(ConnTable&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  ConnTable& operator=(ConnTable&& o) noexcept {
    std::swap(h_, o.h_);
    return *this;
  }
  ConnTable(const ConnTable&) = delete;
  ConnTable& operator=(const ConnTable&) = delete;
  ~ConnTable() {
    if (h_ != nullptr) {
      rte_hash_free(h_);
    }
  }

  Value* find(const Key& k) const noexcept {
    void* data = nullptr;
    return rte_hash_lookup_data(h_, &k, &data) >= 0 ? static_cast<Value*>(data) : nullptr;
  }

  // Looks up `n` keys (n <= RTE_HASH_LOOKUP_BULK_MAX) with rte_hash's bulk path: hash all,
  // prefetch all, then compare. out[i] is null for a miss.
  void find_bulk(const Key* const* keys, uint32_t n, Value** out) const noexcept {
    std::array<void*, RTE_HASH_LOOKUP_BULK_MAX> data;
    uint64_t hits = 0;
    rte_hash_lookup_bulk_data(h_, reinterpret_cast<const void**>(const_cast<const Key**>(keys)), n,
                              &hits, data.data());
    for (uint32_t i = 0; i < n; ++i) {
      out[i] = (hits >> i) & 1 ? static_cast<Value*>(data[i]) : nullptr;
    }
  }

  Result<void, TableError> insert(const Key& k, Value* v) noexcept {
    if (find(k) != nullptr) {
      return fail(TableError::kExists);
    }
    if (rte_hash_add_key_data(h_, &k, v) != 0) {
      return fail(TableError::kFull);
    }
    return {};
  }

  bool erase(const Key& k) noexcept { return rte_hash_del_key(h_, &k) >= 0; }

  uint32_t size() const noexcept { return static_cast<uint32_t>(rte_hash_count(h_)); }

 private:
  explicit ConnTable(rte_hash* h) noexcept : h_(h) {}
  rte_hash* h_;
};

}  // namespace tempo::flow
