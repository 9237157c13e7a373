// ARP (RFC 826) for Ethernet and IPv4 only: a bounds-checked view and a builder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include <tempo/result.h>

#include "wire/bytes.h"
#include "wire/error.h"
#include "wire/ipv4_addr.h"
#include "wire/mac_addr.h"

namespace tempo::wire {

// RFC 826 ar$op; RFC 5227 probes and announcements are requests.
enum class ArpOp : uint16_t { kRequest = 1, kReply = 2 };

class ArpView {
  // RFC 826 packet: hrd(2) pro(2) hln(1) pln(1) op(2) sha(6) spa(4) tha(6) tpa(4).
 public:
  static constexpr size_t kLen = 28;
  static constexpr uint16_t kHwEthernet = 1;

  // Errors: kTruncated (under 28 bytes), kUnsupported (hardware type not Ethernet, protocol
  // type not IPv4, or address lengths not 6 and 4). Any op value parses: op() returns it raw.
  static Result<ArpView, WireError> parse(std::span<const std::byte> packet) noexcept;

  uint16_t op() const noexcept { return detail::load_be16(&buf_[6]); }
  bool is_request() const noexcept { return op() == static_cast<uint16_t>(ArpOp::kRequest); }
  bool is_reply() const noexcept { return op() == static_cast<uint16_t>(ArpOp::kReply); }
  MacAddr sha() const noexcept { return MacAddr::load(&buf_[8]); }
  Ipv4Addr spa() const noexcept { return Ipv4Addr::load(&buf_[14]); }
  MacAddr tha() const noexcept { return MacAddr::load(&buf_[18]); }
  Ipv4Addr tpa() const noexcept { return Ipv4Addr::load(&buf_[24]); }
  std::span<const std::byte> bytes() const noexcept { return buf_; }

 private:
  explicit ArpView(std::span<const std::byte> buf) noexcept : buf_(buf) {}
  std::span<const std::byte> buf_;  // exactly kLen bytes
};

// Writes a 28-byte Ethernet/IPv4 ARP packet. Errors: kNoSpace.
Result<size_t, WireError> write_arp(std::span<std::byte> out, ArpOp op, const MacAddr& sha,
                                    Ipv4Addr spa, const MacAddr& tha, Ipv4Addr tpa) noexcept;

}  // namespace tempo::wire
