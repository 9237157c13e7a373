#include "wire/ipv6.h"

namespace tempo::wire {
namespace {

// RFC 8200 §4.2: walk the TLV options of a Hop-by-Hop or Destination Options header.
// Pad1 (0) and PadN (1) are padding; an unknown option is skipped only when the two high bits of
// its type are 00, otherwise the packet is discarded. tempo knows no other option: Router Alert
// (RFC 2711, type 0x05) has high bits 00 and is skipped like any other such option.
Result<void, WireError> check_tlv_options(std::span<const std::byte> opts) noexcept {
  size_t i = 0;
  while (i < opts.size()) {
    const uint8_t type = detail::load8(&opts[i]);
    if (type == 0) {
      ++i;
      continue;
    }
    if (i + 2 > opts.size()) {
      return fail(WireError::kBadOptionLength);
    }
    const size_t len = 2u + detail::load8(&opts[i + 1]);
    if (i + len > opts.size()) {
      return fail(WireError::kBadOptionLength);
    }
    if (type != 1 && (type >> 6) != 0) {
      return fail(WireError::kUnsupported);
    }
    i += len;
  }
  return {};
}

}  // namespace

Result<Ipv6View, WireError> Ipv6View::parse(std::span<const std::byte> packet) noexcept {
  if (packet.size() < kHeaderLen) {
    return fail(WireError::kTruncated);
  }
  if ((detail::load8(&packet[0]) >> 4) != 6) {
    return fail(WireError::kBadVersion);
  }
  const size_t total = kHeaderLen + detail::load_be16(&packet[4]);
  if (total > packet.size()) {
    return fail(WireError::kBadTotalLength);
  }
  const auto buf = packet.first(total);
  uint8_t nh = detail::load8(&buf[6]);
  size_t nh_at = 6;  // the Next Header field that named `nh`
  size_t off = kHeaderLen;
  for (size_t count = 0;; ++count) {
    if (nh != kIpProtoHopByHop && nh != kIpProtoRouting && nh != kIpProtoDstOpts &&
        nh != kIpProtoFragment) {
      break;  // upper-layer protocol (or No Next Header)
    }
    // RFC 8200 §4.1: Hop-by-Hop Options MUST immediately follow the IPv6 header.
    if ((nh == kIpProtoHopByHop && off != kHeaderLen) || count == kMaxExtensionHeaders) {
      return fail(WireError::kBadExtensionHeader);
    }
    if (nh == kIpProtoFragment) {
      // The header is 8 octets, Hdr Ext Len reserved. RFC 6946 §4: an atomic fragment (offset
      // 0, M clear) is processed as if unfragmented, its Fragment header skipped. A real one
      // ends the walk: what follows is the fragmentable part, read only once reassembled
      // (RFC 8200 §4.5).
      if (off + kFragmentHeaderLen > buf.size()) {
        return fail(WireError::kTruncated);
      }
      if ((detail::load_be16(&buf[off + 2]) & 0xfff9U) != 0) {
        return Ipv6View(buf, static_cast<uint16_t>(off + kFragmentHeaderLen), kIpProtoFragment,
                        static_cast<uint16_t>(off), static_cast<uint16_t>(nh_at));
      }
      nh = detail::load8(&buf[off]);
      nh_at = off;
      off += kFragmentHeaderLen;
      continue;
    }
    // All three share the layout Next Header(1), Hdr Ext Len(1) in 8-octet units past the
    // first 8; the first 8 octets are always there.
    if (off + 8 > buf.size()) {
      return fail(WireError::kTruncated);
    }
    const size_t len = (detail::load8(&buf[off + 1]) + 1u) * 8u;
    if (off + len > buf.size()) {
      return fail(WireError::kBadOptionLength);
    }
    if (nh == kIpProtoRouting) {
      // RFC 8200 §4.4: Segments Left (byte 3) non-zero means we are not the final destination.
      if (detail::load8(&buf[off + 3]) != 0) {
        return fail(WireError::kUnsupported);
      }
    } else {
      const auto r = check_tlv_options(buf.subspan(off + 2, len - 2));
      if (!r) {
        return fail(r.error());
      }
    }
    nh = detail::load8(&buf[off]);
    nh_at = off;
    off += len;
  }
  return Ipv6View(buf, static_cast<uint16_t>(off), nh);
}

Result<size_t, WireError> write_ipv6(std::span<std::byte> out, const Ipv6HeaderFields& f) noexcept {
  if (out.size() < Ipv6View::kHeaderLen) {
    return fail(WireError::kNoSpace);
  }
  detail::store_be32(&out[0],
                     6u << 28 | uint32_t{f.traffic_class} << 20 | (f.flow_label & 0xfffff));
  detail::store_be16(&out[4], f.payload_len);
  detail::store8(&out[6], f.next_header);
  detail::store8(&out[7], f.hop_limit);
  f.src.store(&out[8]);
  f.dst.store(&out[24]);
  return Ipv6View::kHeaderLen;
}

}  // namespace tempo::wire
