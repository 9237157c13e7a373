#include "stack/tcp_identity.h"

#include <algorithm>
#include <cstring>

#include "crypto/random.h"
#include "tcp/isn.h"
#include "tcp/ts_offset.h"
#include "timewait/demux.h"

namespace tempo::stack {

const tcp::Config& TcpIdentity::variant(const tcp::Config& k, const ConnOptions& o) const noexcept {
  constexpr uint32_t kMinBuf = 4096, kMaxBuf = 1u << 30;
  const auto buf = [&](uint32_t v, uint32_t dflt) {
    return v == 0 ? dflt : std::clamp(v, kMinBuf, kMaxBuf);
  };
  const uint32_t rcv = buf(o.rcv_buf, k.rcv_buf);
  const uint32_t snd = buf(o.snd_buf, k.snd_buf);
  const uint32_t lowat = std::min(o.writable_lowat, snd);
  const uint16_t clamp = o.mss_clamp == 0 ? 0 : std::max<uint16_t>(o.mss_clamp, 88);
  const uint16_t mss = clamp != 0 && clamp < k.mss ? clamp : k.mss;
  // A variant is known by the preset it varies and the four values it changes.
  for (size_t i = 0; i < n_variants_; ++i) {
    const Variant& v = variants_[i];
    if (v.of == &k && v.cfg.rcv_buf == rcv && v.cfg.snd_buf == snd &&
        v.cfg.writable_lowat == lowat && v.cfg.mss == mss) {
      return v.cfg;
    }
  }
  if (n_variants_ == variants_.size()) {
    ++options_ignored_;
    return k;
  }
  Variant& v = variants_[n_variants_++];
  v.of = &k;
  v.cfg = k;
  v.cfg.rcv_buf = rcv;
  v.cfg.snd_buf = snd;
  v.cfg.writable_lowat = lowat;
  v.cfg.mss = mss;
  v.cfg.min_snd_mss = std::min(v.cfg.min_snd_mss, mss);
  return v.cfg;
}

Result<void, std::string> TcpIdentity::init(const tcp::Config& cfg,
                                            std::optional<crypto::Key128> key) {
  base_ = cfg;
  for (size_t i = 0; i < configs_.size(); ++i) {
    tcp::Config& k = configs_[i];
    k = cfg;
    if ((i & 4) != 0) {
      k.mss = static_cast<uint16_t>(cfg.mss - 20);  // the IPv6 header is 20 bytes longer
      k.min_snd_mss = std::min(k.min_snd_mss, k.mss);
    }
    k.keepalive = (i & 2) != 0;
    k.cc = (i & 1) != 0 ? tcp::cc::Algorithm::kCubic : tcp::cc::Algorithm::kNewReno;
  }
  keepalive_ = cfg.keepalive;
  cubic_ = cfg.cc == tcp::cc::Algorithm::kCubic;
  auto mgr = crypto::Mgr::create();
  if (!mgr) {
    return fail(std::string("crypto: cannot start IPsec-MB"));
  }
  mgr_.emplace(std::move(*mgr));
  if (!key) {
    auto fresh = crypto::random_key();
    if (!fresh) {
      return fail(std::string("crypto: no entropy for the ISN key"));
    }
    key = *fresh;
  }
  prf_.emplace(*mgr_, *key);
  return {};
}

uint64_t TcpIdentity::seed(std::string_view label) const noexcept {
  return prf_->eval(std::as_bytes(std::span(label.data(), label.size())));
}

uint32_t TcpIdentity::iss(const flow::Tuple& tuple, Ticks now,
                          std::optional<uint32_t> floor) const noexcept {
  return timewait::iss_above_floor(tcp::isn(*prf_, tuple, now), floor);
}

uint32_t TcpIdentity::ts_offset(const flow::Tuple& tuple) const noexcept {
  return tcp::ts_offset(*prf_, tuple);
}

uint32_t TcpIdentity::port_offset(const flow::Tuple& tuple) const noexcept {
  // 'P', the two addresses (16 bytes each, an IPv4 address in its first 4), the remote port.
  std::array<std::byte, 2 * 16 + 2 + 1> msg{};
  msg[0] = std::byte{'P'};
  const crypto::IpAddress local = crypto::local_address(tuple);
  const crypto::IpAddress remote = crypto::remote_address(tuple);
  const uint16_t rport = tuple.remote_port();
  const auto l = local.view();
  const auto r = remote.view();
  std::memcpy(&msg[1], l.data(), l.size());
  std::memcpy(&msg[17], r.data(), r.size());
  std::memcpy(&msg[33], &rport, 2);
  return static_cast<uint32_t>(prf_->eval(msg));
}

}  // namespace tempo::stack
