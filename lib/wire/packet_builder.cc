#include "wire/packet_builder.h"

#include <cstring>

#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"

namespace tempo::wire {

Result<size_t, WireError> build_tcp_packet(std::span<std::byte> out,
                                           const TcpPacketSpec& spec) noexcept {
  size_t off = 0;
  if (spec.with_ethernet) {
    const uint16_t type = spec.ipv6 ? kEtherTypeIpv6 : kEtherTypeIpv4;
    const auto n = spec.vlan_tci
                       ? write_eth_vlan(out, spec.eth_dst, spec.eth_src, *spec.vlan_tci, type)
                       : write_eth(out, spec.eth_dst, spec.eth_src, type);
    if (!n) {
      return fail(n.error());
    }
    off += *n;
  }
  const size_t ip_len = spec.ipv6 ? Ipv6View::kHeaderLen : Ipv4View::kMinHeaderLen;
  if (out.size() < off + ip_len) {
    return fail(WireError::kNoSpace);
  }
  const auto l4 = out.subspan(off + ip_len);
  const auto th = write_tcp(l4, spec.tcp, spec.options);
  if (!th) {
    return fail(th.error());
  }
  const size_t seg_len = *th + spec.payload.size();
  if (l4.size() < seg_len) {
    return fail(WireError::kNoSpace);
  }
  if (seg_len > 0xffff - ip_len) {
    return fail(WireError::kTooLong);
  }
  if (!spec.payload.empty()) {
    std::memmove(&l4[*th], spec.payload.data(), spec.payload.size());
  }
  const auto seg = l4.first(seg_len);
  const auto ip_out = out.subspan(off, ip_len);
  if (spec.ipv6) {
    (void)write_ipv6(ip_out, Ipv6HeaderFields{.src = spec.src6,
                                              .dst = spec.dst6,
                                              .next_header = kIpProtoTcp,
                                              .payload_len = static_cast<uint16_t>(seg_len),
                                              .hop_limit = spec.ttl});
    if (spec.fill_checksum) {
      fill_tcp_checksum_ipv6(seg, spec.src6, spec.dst6);
    }
  } else {
    (void)write_ipv4(ip_out, Ipv4HeaderFields{.src = spec.src4,
                                              .dst = spec.dst4,
                                              .protocol = kIpProtoTcp,
                                              .payload_len = static_cast<uint16_t>(seg_len),
                                              .ttl = spec.ttl,
                                              .id = spec.ip_id});
    if (spec.fill_checksum) {
      fill_tcp_checksum_ipv4(seg, spec.src4, spec.dst4);
    }
  }
  return off + ip_len + seg_len;
}

std::vector<std::byte> make_tcp_packet(const TcpPacketSpec& spec) {
  std::vector<std::byte> buf(18 + 40 + 60 + spec.payload.size());
  const auto n = build_tcp_packet(buf, spec);
  if (!n) {
    return {};
  }
  buf.resize(*n);
  return buf;
}

}  // namespace tempo::wire
