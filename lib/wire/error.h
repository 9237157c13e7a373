// WireError: why a view refused a packet or a builder refused to write one.
//
// Every parse and build function in lib/wire returns tempo::Result<T, WireError> and documents
// which of these it returns. The stack keeps one drop counter per reason (STYLE.md 5), so each
// reason is specific: pick the narrowest one that fits.
#pragma once

#include <cstdint>
#include <string_view>

namespace tempo::wire {

enum class WireError : uint8_t {
  // The buffer ends before a fixed header, or before a length the header itself needs to read
  // (IPv4 options, an extension header's length byte, an ICMP body of a given type).
  kTruncated,
  // IPv4 version nibble is not 4, or IPv6 version nibble is not 6.
  kBadVersion,
  // IPv4 IHL below 5 (a header shorter than 20 bytes).
  kBadHeaderLength,
  // IPv4 total length below the header length or beyond the buffer; IPv6 payload length beyond
  // the buffer. Trailing bytes past the stated length (Ethernet padding) are not an error.
  kBadTotalLength,
  // IPv4 header, ICMP or ICMPv6 checksum does not verify.
  kBadChecksum,
  // Not returned since fragments parse and go to reassembly (Ipv6View::parse, stack/
  // reassembly.h); kept so that the values after it, and their counters' names, do not move.
  kFragment,
  // A TCP option, IPv6 extension-header option or ND option with length 0 or 1 where at least
  // 2 is needed, running past its container, or with a length its kind does not allow.
  kBadOptionLength,
  // The same TCP option appears twice (RFC 9293 §3.1 allows each kind once).
  kDuplicateOption,
  // TCP data offset below 5 or beyond the segment.
  kBadDataOffset,
  // An IPv6 extension header that is malformed or out of place: Hop-by-Hop not first
  // (RFC 8200 §4.1), or a chain longer than tempo follows.
  kBadExtensionHeader,
  // A well-formed packet tempo does not handle: ARP for other than Ethernet/IPv4, more VLAN
  // tags than tempo strips, a Routing header with segments left (tempo is a host, not a
  // router), an IPv6 option whose type says discard when unrecognised (RFC 8200 §4.2).
  kUnsupported,
  // ICMPv6 Neighbor Discovery message failing RFC 4861 §7.1.1/§7.1.2 validity checks: hop
  // limit not 255, code not 0, multicast target, source link-layer option from the unspecified
  // address, or the Solicited flag on an advertisement to a multicast address.
  kBadNeighborDiscovery,
  // A textual address that does not parse (MacAddr/Ipv4Addr/Ipv6Addr::parse).
  kBadAddress,
  // Builder: the output span is too small for what it was asked to write.
  kNoSpace,
  // Builder: the options asked for do not fit in the 40 bytes a TCP header has.
  kOptionsTooLong,
  // Builder: a length that does not fit its field (IPv4 total length or IPv6 payload length
  // above 65535).
  kTooLong,
};

// A stable name for counters and logs, e.g. "truncated".
std::string_view to_string(WireError e) noexcept;

}  // namespace tempo::wire
