// TcpIdentity: what makes a Worker's connections its own, and unguessable from outside.
//  - The keyed PRF (crypto::Prf, AES-CMAC in IPsec-MB, a random key per Worker) behind the
//    initial sequence numbers (RFC 6528, raised above a reused tuple's old sequence space,
//    RFC 6191), the timestamp offsets (RFC 7323 §5.4), SYN cookies (RFC 4987), the source-port
//    offsets of active opens (RFC 6056 algorithm 3, with its next_ephemeral cursor) and the
//    seeds of the Worker's hash tables.
//  - The protocol core's settings per kind of connection: IPv4 or IPv6 (whose MSS is 20 bytes
//    less), keepalive or not, CUBIC or NewReno. A Tcb points at one of the eight; a
//    connection's ConnOptions pick it over the configured defaults.
// It knows the PRF and the settings, not the Worker. Tests: tests/unit/stack/
// tcp_identity_test.cc.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <tempo/result.h>
#include <tempo/stack.h>

#include "crypto/mgr.h"
#include "crypto/prf.h"
#include "crypto/tuple.h"
#include "tcp/config.h"
#include "time/ticks.h"

namespace tempo::stack {

class TcpIdentity {
 public:
  TcpIdentity() = default;
  TcpIdentity(const TcpIdentity&) = delete;  // the PRF runs on mgr_, in place
  TcpIdentity& operator=(const TcpIdentity&) = delete;

  // The settings `cfg` stands for, and a PRF keyed with `key` (tests) or a fresh random key.
  Result<void, std::string> init(const tcp::Config& cfg,
                                 std::optional<crypto::Key128> key = std::nullopt);
  bool ready() const noexcept { return prf_.has_value(); }

  // --- the keyed functions ---------------------------------------------------------------
  const crypto::Prf& prf() const noexcept { return *prf_; }
  // A 64-bit value for `label`, the same for the same label: a table's seed.
  uint64_t seed(std::string_view label) const noexcept;
  // The ISS for `tuple` at `now` (RFC 6528), raised to `floor` when one is given.
  uint32_t iss(const flow::Tuple& tuple, Ticks now, std::optional<uint32_t> floor) const noexcept;
  // The timestamp offset of the tuple's address pair (RFC 7323 §5.4: per pair, so that TSvals
  // to one peer stay monotonic across connections, TIME_WAIT reuse included).
  uint32_t ts_offset(const flow::Tuple& tuple) const noexcept;
  // RFC 6056 §3.3.3 F(local, remote, remote port, secret): where the search for a source port
  // toward the tuple's remote address and port starts, before next_ephemeral (its local port
  // is not read).
  uint32_t port_offset(const flow::Tuple& tuple) const noexcept;
  // RFC 6056 §3.3.3 "next_ephemeral": advanced by the ports each search tried.
  uint32_t& next_ephemeral() noexcept { return next_ephemeral_; }

  // --- the settings ----------------------------------------------------------------------
  // The protocol core's settings for a connection of family `v6` with options `o`.
  const tcp::Config& config(bool v6, const ConnOptions& o) const noexcept {
    const bool ka = o.keepalive == ConnOptions::Choice::kDefault
                        ? keepalive_
                        : o.keepalive == ConnOptions::Choice::kOn;
    const bool cubic = o.congestion == ConnOptions::Cc::kDefault
                           ? cubic_
                           : o.congestion == ConnOptions::Cc::kCubic;
    const tcp::Config& k = configs_[(v6 ? 4u : 0u) | (ka ? 2u : 0u) | (cubic ? 1u : 0u)];
    if ((o.rcv_buf | o.snd_buf | o.mss_clamp | o.writable_lowat) == 0) [[likely]] {
      return k;
    }
    return variant(k, o);
  }
  // Connections whose buffer options found no room among the variants (kMaxVariants).
  uint64_t options_ignored() const noexcept { return options_ignored_; }
  static constexpr size_t kMaxVariants = 64;
  // The settings as configured (IPv4, the configured defaults).
  const tcp::Config& base() const noexcept { return base_; }

 private:
  // `k` with o's buffers and MSS clamp: an interned copy, so that a Tcb keeps pointing at one
  // config (the options cost a connection no byte). Past kMaxVariants, `k` itself.
  const tcp::Config& variant(const tcp::Config& k, const ConnOptions& o) const noexcept;

  tcp::Config base_;
  std::array<tcp::Config, 8> configs_{};
  struct Variant {
    const tcp::Config* of = nullptr;  // the preset it varies
    tcp::Config cfg;
  };
  mutable std::array<Variant, kMaxVariants> variants_{};
  mutable size_t n_variants_ = 0;
  mutable uint64_t options_ignored_ = 0;
  bool keepalive_ = false;
  bool cubic_ = true;
  std::optional<crypto::Mgr> mgr_;
  std::optional<crypto::Prf> prf_;  // on mgr_
  uint32_t next_ephemeral_ = 0;
};

}  // namespace tempo::stack
