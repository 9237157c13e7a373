#include "crypto/tcp_ao.h"

#include <algorithm>

#include <tempo/check.h>

namespace tempo::crypto {

namespace {

constexpr uint8_t kKindAo = 29;
constexpr size_t kAoOptionBytes = 4 + kAoMacBytes;  // kind, length, KeyID, RNextKeyID, MAC

std::variant<HmacSha1, Aes128Cmac> prepare(AoAlgorithm alg, std::span<const std::byte> key,
                                           const Mgr& mgr) noexcept {
  switch (alg) {
    case AoAlgorithm::kHmacSha1_96:
      return std::variant<HmacSha1, Aes128Cmac>(std::in_place_index<0>, mgr, key);
    case AoAlgorithm::kAes128Cmac96:
      break;
  }
  return std::variant<HmacSha1, Aes128Cmac>(std::in_place_index<1>, mgr,
                                            key.first<Aes128Cmac::kKeyBytes>());
}

}  // namespace

AoTrafficKey::AoTrafficKey(AoAlgorithm alg, const std::array<std::byte, 20>& raw, size_t raw_len,
                           const Mgr& mgr) noexcept
    : alg_(alg),
      raw_(raw),
      raw_len_(raw_len),
      prepared_(prepare(alg, {raw_.data(), raw_len}, mgr)) {}

AoTrafficKey AoTrafficKey::derive(const Mgr& mgr, AoAlgorithm alg,
                                  std::span<const std::byte> master_key,
                                  const AoContext& ctx) noexcept {
  TEMPO_CHECK(master_key.size() <= kAoMaxMasterKeyBytes);
  TEMPO_CHECK(ctx.src.is_v6 == ctx.dst.is_v6);
  // RFC 5926 §3.1.1: i (one byte, 1) || Label "TCP-AO" || Context || Output_Length (16 bits).
  std::array<std::byte, 1 + 6 + 44 + 2> input{};
  size_t at = put_be<uint8_t>(input, 0, 1);
  for (char c : {'T', 'C', 'P', '-', 'A', 'O'}) {
    at = put_be<uint8_t>(input, at, static_cast<uint8_t>(c));
  }
  // RFC 5925 §5.2: Context = addresses, ports, ISNs, of the direction being keyed.
  at = put_bytes(input, at, ctx.src.view());
  at = put_bytes(input, at, ctx.dst.view());
  at = put_be<uint16_t>(input, at, ctx.src_port);
  at = put_be<uint16_t>(input, at, ctx.dst_port);
  at = put_be<uint32_t>(input, at, ctx.src_isn);
  at = put_be<uint32_t>(input, at, ctx.dst_isn);

  std::array<std::byte, 20> raw{};
  switch (alg) {
    case AoAlgorithm::kHmacSha1_96: {
      at = put_be<uint16_t>(input, at, 160);
      HmacSha1(mgr, master_key).compute(mgr, std::span(input).first(at), raw);
      return AoTrafficKey(alg, raw, 20, mgr);
    }
    case AoAlgorithm::kAes128Cmac96:
      break;
  }
  at = put_be<uint16_t>(input, at, 128);
  // RFC 5926 §3.1.1.2: a Master_Key of other than 128 bits becomes AES-CMAC(0^128, Master_Key).
  std::array<std::byte, 16> k{};
  if (master_key.size() == k.size()) {
    std::copy(master_key.begin(), master_key.end(), k.begin());
  } else {
    const std::array<std::byte, 16> zero{};
    Aes128Cmac(mgr, zero).compute(mgr, master_key, k);
  }
  Aes128Cmac(mgr, k).compute(mgr, std::span(input).first(at), std::span(raw).first<16>());
  return AoTrafficKey(alg, raw, 16, mgr);
}

void AoTrafficKey::compute(const Mgr& mgr, std::span<const std::byte> msg,
                           AoMac& out) const noexcept {
  std::visit([&](const auto& m) { m.compute(mgr, msg, out); }, prepared_);
}

AoTrafficKeys ao_traffic_keys(const Mgr& mgr, AoAlgorithm alg,
                              std::span<const std::byte> master_key, const flow::Tuple& t,
                              uint32_t local_isn, uint32_t remote_isn) noexcept {
  const IpAddress local = local_address(t);
  const IpAddress remote = remote_address(t);
  const uint16_t lport = t.local_port();
  const uint16_t rport = t.remote_port();
  const AoContext out_syn{local, remote, lport, rport, local_isn, 0};
  const AoContext in_syn{remote, local, rport, lport, remote_isn, 0};
  const AoContext out_other{local, remote, lport, rport, local_isn, remote_isn};
  const AoContext in_other{remote, local, rport, lport, remote_isn, local_isn};
  return AoTrafficKeys{
      AoTrafficKey::derive(mgr, alg, master_key, out_syn),
      AoTrafficKey::derive(mgr, alg, master_key, in_syn),
      AoTrafficKey::derive(mgr, alg, master_key, out_other),
      AoTrafficKey::derive(mgr, alg, master_key, in_other),
  };
}

namespace {

// Lays out the RFC 5925 §5.1 MAC input in the manager's scratch buffer; returns its length and
// where the received MAC sits in the header.
struct Layout {
  size_t len;
  size_t mac_offset;  // offset of the MAC field in seg.tcp_header
};

Result<Layout, CryptoError> layout(const Mgr& mgr, const SegmentRef& seg, uint32_t sne,
                                   bool include_options) noexcept {
  auto hdr_len = tcp_header_length(seg.tcp_header);
  if (!hdr_len) {
    return fail(hdr_len.error());
  }
  auto ao = find_option(seg.tcp_header, *hdr_len, kKindAo);
  if (!ao) {
    return fail(ao.error());
  }
  if (ao->length != kAoOptionBytes) {
    return fail(CryptoError::kBadOptionLength);
  }
  const std::span<std::byte> out = mgr.scratch();
  if (4 + 40 + *hdr_len + seg.payload.size() > out.size()) {
    return fail(CryptoError::kTooLong);
  }
  const auto hdr = seg.tcp_header.first(*hdr_len);
  // RFC 5925 §5.1 (1): the Sequence Number Extension, network byte order.
  size_t at = put_be<uint32_t>(out, 0, sne);
  // (2): the pseudo-header; its length is the whole segment's, options included.
  at += write_pseudo_header(out.subspan(at), seg.src, seg.dst,
                            static_cast<uint32_t>(*hdr_len + seg.payload.size()));
  // (3): the TCP header with a zero checksum ...
  const size_t hdr_at = at;
  at = put_bytes(out, at, hdr.first(20));
  out[hdr_at + 16] = std::byte{0};
  out[hdr_at + 17] = std::byte{0};
  // ... and its options: all of them, or (MKT TCP option flag off) only TCP-AO; the AO MAC
  // field is zero either way.
  const size_t ao_at = include_options ? hdr_at + ao->offset : at;
  if (include_options) {
    at = put_bytes(out, at, hdr.subspan(20));
  } else {
    at = put_bytes(out, at, hdr.subspan(ao->offset, ao->length));
  }
  std::fill_n(out.begin() + static_cast<ptrdiff_t>(ao_at + 4), kAoMacBytes, std::byte{0});
  // (4): the data.
  at = put_bytes(out, at, seg.payload);
  return Layout{at, ao->offset + 4};
}

}  // namespace

Result<AoMac, CryptoError> ao_mac(const Mgr& mgr, const AoTrafficKey& key, const SegmentRef& seg,
                                  uint32_t sne, bool include_options) noexcept {
  auto l = layout(mgr, seg, sne, include_options);
  if (!l) {
    return fail(l.error());
  }
  AoMac mac{};
  key.compute(mgr, mgr.scratch().first(l->len), mac);
  return mac;
}

Result<void, CryptoError> ao_verify(const Mgr& mgr, const AoTrafficKey& key, const SegmentRef& seg,
                                    uint32_t sne, bool include_options) noexcept {
  auto l = layout(mgr, seg, sne, include_options);
  if (!l) {
    return fail(l.error());
  }
  AoMac mac{};
  key.compute(mgr, mgr.scratch().first(l->len), mac);
  if (!equal_ct(mac, seg.tcp_header.subspan(l->mac_offset, kAoMacBytes))) {
    return fail(CryptoError::kMismatch);
  }
  return {};
}

}  // namespace tempo::crypto
