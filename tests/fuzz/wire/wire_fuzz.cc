// libFuzzer target: parse an arbitrary frame all the way down (Ethernet -> ARP / IPv4 / IPv6 ->
// ICMP / ICMPv6 / TCP -> TCP options) and round-trip what parses through the builders: the
// rebuilt bytes must parse back to the same fields. Any crash, sanitizer report or mismatch
// (trap) is a bug.
//
//   CXX=clang++ meson setup build-fuzz -Dfuzz=true && ninja -C build-fuzz tests/fuzz/wire/wire_fuzz
//   cp -r tests/fuzz/wire/corpus /tmp/wc && build-fuzz/tests/fuzz/wire/wire_fuzz /tmp/wc
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "wire/arp.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/icmpv6.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"
#include "wire/packet_builder.h"
#include "wire/tcp.h"
#include "wire/tcp_options.h"

namespace tempo::wire {
namespace {

#define FUZZ_ASSERT(cond) \
  do {                    \
    if (!(cond)) {        \
      __builtin_trap();   \
    }                     \
  } while (0)

bool same(std::span<const std::byte> a, std::span<const std::byte> b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

// The options that survive write_tcp_options, compared field by field.
void expect_same_options(const TcpOptions& a, const TcpOptions& b, size_t sack_blocks) {
  FUZZ_ASSERT(a.has_mss == b.has_mss && (!a.has_mss || a.mss == b.mss));
  FUZZ_ASSERT(a.has_wscale == b.has_wscale && (!a.has_wscale || a.wscale == b.wscale));
  FUZZ_ASSERT(a.sack_permitted == b.sack_permitted);
  FUZZ_ASSERT(a.has_timestamps == b.has_timestamps);
  FUZZ_ASSERT(!a.has_timestamps || (a.tsval == b.tsval && a.tsecr == b.tsecr));
  FUZZ_ASSERT(b.num_sack == sack_blocks);
  for (size_t i = 0; i < sack_blocks; ++i) {
    FUZZ_ASSERT(a.sack[i].left == b.sack[i].left && a.sack[i].right == b.sack[i].right);
  }
  FUZZ_ASSERT(a.has_md5 == b.has_md5 && (!a.has_md5 || a.md5 == b.md5));
  FUZZ_ASSERT(a.has_ao == b.has_ao);
  if (a.has_ao) {
    FUZZ_ASSERT(a.ao_key_id == b.ao_key_id && a.ao_rnext_key_id == b.ao_rnext_key_id &&
                a.ao_mac_len == b.ao_mac_len &&
                std::memcmp(a.ao_mac.data(), b.ao_mac.data(), a.ao_mac_len) == 0);
    FUZZ_ASSERT(b.ao_offset == kTcpSignatureOffset + (b.has_md5 ? 20 : 0));
  }
  if (b.has_md5) {
    FUZZ_ASSERT(b.md5_offset == kTcpSignatureOffset);
  }
}

struct L3 {
  bool ipv6;
  Ipv4Addr src4, dst4;
  Ipv6Addr src6, dst6;
};

void fuzz_tcp(std::span<const std::byte> segment, const L3& l3) {
  if (l3.ipv6) {
    (void)verify_tcp_checksum_ipv6(l3.src6, l3.dst6, segment);
  } else {
    (void)verify_tcp_checksum_ipv4(l3.src4, l3.dst4, segment);
  }
  const auto tcp = TcpView::parse(segment);
  if (!tcp) {
    return;
  }
  FUZZ_ASSERT(tcp->header_length() >= 20 && tcp->header_length() <= 60);
  FUZZ_ASSERT(tcp->header_length() + tcp->payload().size() == segment.size());
  const auto opts = parse_tcp_options(tcp->options());
  if (!opts) {
    return;
  }
  // Rebuild the whole packet from the parsed fields and parse it back.
  TcpPacketSpec spec;
  spec.ipv6 = l3.ipv6;
  spec.src4 = l3.src4;
  spec.dst4 = l3.dst4;
  spec.src6 = l3.src6;
  spec.dst6 = l3.dst6;
  spec.tcp = TcpHeaderFields{.src_port = tcp->src_port(),
                             .dst_port = tcp->dst_port(),
                             .seq = tcp->seq(),
                             .ack = tcp->ack(),
                             .flags = tcp->flags(),
                             .window = tcp->window(),
                             .urgent = tcp->urgent()};
  spec.options = *opts;
  spec.payload = tcp->payload();
  static std::array<std::byte, 70000> out;
  const auto n = build_tcp_packet(out, spec);
  if (!n) {
    // Only a canonical layout longer than 40 bytes (the input packed its options tighter) or
    // a segment too long for the IPv4 header with our ethernet framing may be refused.
    FUZZ_ASSERT(n.error() == WireError::kOptionsTooLong || n.error() == WireError::kTooLong);
    FUZZ_ASSERT(n.error() != WireError::kOptionsTooLong || tcp_options_length(*opts) > 40);
    return;
  }
  const auto frame = std::span<const std::byte>(out.data(), *n);
  const auto eth = EthView::parse(frame);
  FUZZ_ASSERT(eth.ok());
  std::span<const std::byte> seg2;
  if (l3.ipv6) {
    const auto ip = Ipv6View::parse(eth->payload());
    FUZZ_ASSERT(ip.ok() && ip->protocol() == kIpProtoTcp && ip->src() == l3.src6);
    seg2 = ip->payload();
    FUZZ_ASSERT(verify_tcp_checksum_ipv6(l3.src6, l3.dst6, seg2));
  } else {
    const auto ip = Ipv4View::parse(eth->payload());
    FUZZ_ASSERT(ip.ok() && ip->protocol() == kIpProtoTcp && ip->dst() == l3.dst4);
    seg2 = ip->payload();
    FUZZ_ASSERT(verify_tcp_checksum_ipv4(l3.src4, l3.dst4, seg2));
  }
  const auto tcp2 = TcpView::parse(seg2);
  FUZZ_ASSERT(tcp2.ok());
  FUZZ_ASSERT(tcp2->src_port() == tcp->src_port() && tcp2->dst_port() == tcp->dst_port());
  FUZZ_ASSERT(tcp2->seq() == tcp->seq() && tcp2->ack() == tcp->ack());
  FUZZ_ASSERT(tcp2->flags() == tcp->flags() && tcp2->window() == tcp->window());
  FUZZ_ASSERT(tcp2->urgent() == tcp->urgent());
  FUZZ_ASSERT(tcp2->header_length() == 20 + tcp_options_length(*opts));
  FUZZ_ASSERT(same(tcp2->payload(), tcp->payload()));
  const auto opts2 = parse_tcp_options(tcp2->options());
  FUZZ_ASSERT(opts2.ok());
  expect_same_options(*opts, *opts2, tcp_options_sack_blocks(*opts));
}

void fuzz_icmp(std::span<const std::byte> message) {
  const auto icmp = IcmpView::parse(message);
  if (!icmp) {
    return;
  }
  static std::array<std::byte, 70000> out;
  const auto n = write_icmp(out, icmp->type(), icmp->code(), icmp->rest_of_header(), icmp->data());
  FUZZ_ASSERT(n.ok());
  FUZZ_ASSERT(IcmpView::parse(std::span(out).first(*n)).ok());
  // The same message comes back, except that a checksum of 0x0000 and 0xffff are both valid
  // (RFC 1071 §1: the two zeros of one's complement); we always write one of them.
  FUZZ_ASSERT(same(std::span(out).first(*n).subspan(4), message.subspan(4)));
}

void fuzz_icmpv6(const Ipv6View& ip) {
  const auto v = Icmpv6View::parse(ip);
  if (!v) {
    return;
  }
  static std::array<std::byte, 70000> out;
  if (v->is_echo_request() || v->is_echo_reply()) {
    const auto n = write_icmpv6_echo(out, ip.src(), ip.dst(), v->type(), v->echo_id(),
                                     v->echo_seq(), v->echo_data());
    FUZZ_ASSERT(n.ok());
    FUZZ_ASSERT(same(std::span(out).first(*n).subspan(4), ip.payload().subspan(4)));
  } else if (v->is_neighbor_advert() || v->is_neighbor_solicit()) {
    const auto n = v->is_neighbor_advert()
                       ? write_icmpv6_na(out, ip.src(), ip.dst(), v->nd_target(), v->na_flags(),
                                         v->target_ll())
                       : write_icmpv6_ns(out, ip.src(), ip.dst(), v->nd_target(), v->source_ll());
    FUZZ_ASSERT(n.ok());
    const auto w = Icmpv6View::parse(std::span(out).first(*n), ip.src(), ip.dst(), 255);
    FUZZ_ASSERT(w.ok());
    FUZZ_ASSERT(w->type() == v->type() && w->nd_target() == v->nd_target());
    FUZZ_ASSERT(w->source_ll() == v->source_ll() || v->is_neighbor_advert());
    FUZZ_ASSERT(w->target_ll() == v->target_ll() || v->is_neighbor_solicit());
  }
}

void fuzz_arp(std::span<const std::byte> packet) {
  const auto arp = ArpView::parse(packet);
  if (!arp) {
    return;
  }
  std::array<std::byte, ArpView::kLen> out;
  const auto n =
      write_arp(out, static_cast<ArpOp>(arp->op()), arp->sha(), arp->spa(), arp->tha(), arp->tpa());
  FUZZ_ASSERT(n.ok() && *n == ArpView::kLen);
  FUZZ_ASSERT(same(out, packet.first(ArpView::kLen)));
}

void fuzz_ipv4(std::span<const std::byte> packet) {
  (void)Ipv4View::parse(packet);  // with the checksum, as the datapath does
  const auto ip = Ipv4View::parse(packet, ChecksumMode::kSkip);
  if (!ip) {
    return;
  }
  FUZZ_ASSERT(ip->header_length() + ip->payload().size() == ip->total_length());
  // Without options or fragment bits the builder reproduces the header (checksum aside).
  if (ip->header_length() == 20 && (ip->bytes()[6] & std::byte{0xbf}) == std::byte{0} &&
      ip->bytes()[7] == std::byte{0}) {
    std::array<std::byte, 20> out;
    const auto n = write_ipv4(
        out, Ipv4HeaderFields{.src = ip->src(),
                              .dst = ip->dst(),
                              .protocol = ip->protocol(),
                              .payload_len = static_cast<uint16_t>(ip->total_length() - 20u),
                              .ttl = ip->ttl(),
                              .id = ip->id(),
                              .dont_fragment = ip->dont_fragment(),
                              .tos = static_cast<uint8_t>(ip->dscp() << 2 | ip->ecn())});
    FUZZ_ASSERT(n.ok());
    FUZZ_ASSERT(same(std::span(out).first(10), ip->header().first(10)));
    FUZZ_ASSERT(same(std::span(out).subspan(12), ip->header().subspan(12)));
    FUZZ_ASSERT(verify_internet_checksum(out));
  }
  if (ip->is_fragment()) {
    return;
  }
  if (ip->protocol() == kIpProtoTcp) {
    fuzz_tcp(ip->payload(), L3{.ipv6 = false, .src4 = ip->src(), .dst4 = ip->dst()});
  } else if (ip->protocol() == kIpProtoIcmp) {
    fuzz_icmp(ip->payload());
  }
}

void fuzz_ipv6(std::span<const std::byte> packet) {
  const auto ip = Ipv6View::parse(packet);
  if (!ip) {
    return;
  }
  FUZZ_ASSERT(ip->extension_headers_length() + ip->payload().size() == ip->payload_length());
  if (ip->is_fragment()) {
    // RFC 8200 §4.5: the walk stopped at a Fragment header that is not atomic (RFC 6946); what
    // reassembly reads of it lies inside the packet.
    FUZZ_ASSERT(ip->protocol() == kIpProtoFragment);
    FUZZ_ASSERT(ip->unfragmentable().size() + Ipv6View::kFragmentHeaderLen + ip->payload().size() ==
                Ipv6View::kHeaderLen + ip->payload_length());
    FUZZ_ASSERT(ip->fragment_next_header_at() < ip->unfragmentable().size());
    FUZZ_ASSERT(detail::load8(&ip->unfragmentable()[ip->fragment_next_header_at()]) ==
                kIpProtoFragment);
    FUZZ_ASSERT(ip->fragment_offset() % 8 == 0);
    FUZZ_ASSERT(ip->fragment_offset() != 0 || ip->more_fragments());
    return;
  }
  if (ip->protocol() == kIpProtoTcp) {
    fuzz_tcp(ip->payload(), L3{.ipv6 = true, .src6 = ip->src(), .dst6 = ip->dst()});
  } else if (ip->protocol() == kIpProtoIcmpv6) {
    fuzz_icmpv6(*ip);
  }
}

}  // namespace
}  // namespace tempo::wire

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tempo::wire;
  const auto frame = std::as_bytes(std::span(data, size));
  const auto eth = EthView::parse(frame);
  if (!eth) {
    return 0;
  }
  switch (eth->ethertype()) {
    case kEtherTypeArp:
      fuzz_arp(eth->payload());
      break;
    case kEtherTypeIpv4:
      fuzz_ipv4(eth->payload());
      break;
    case kEtherTypeIpv6:
      fuzz_ipv6(eth->payload());
      break;
    default:
      break;
  }
  return 0;
}
