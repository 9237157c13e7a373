#include "wire/tcp.h"

namespace tempo::wire {

Result<TcpView, WireError> TcpView::parse(std::span<const std::byte> segment) noexcept {
  if (segment.size() < kMinHeaderLen) {
    return fail(WireError::kTruncated);
  }
  // RFC 9293 §3.1: Data Offset counts 32-bit words; at least 5 (the fixed header).
  const size_t hlen = (detail::load8(&segment[12]) >> 4) * 4u;
  if (hlen < kMinHeaderLen || hlen > segment.size()) {
    return fail(WireError::kBadDataOffset);
  }
  return TcpView(segment);
}

Result<size_t, WireError> write_tcp(std::span<std::byte> out, const TcpHeaderFields& f,
                                    const TcpOptions& opts) noexcept {
  const size_t opt_len = tcp_options_length(opts);
  if (opt_len > kTcpMaxOptionsLen) {
    return fail(WireError::kOptionsTooLong);
  }
  const size_t hlen = TcpView::kMinHeaderLen + opt_len;
  if (out.size() < hlen) {
    return fail(WireError::kNoSpace);
  }
  const auto written = write_tcp_options(out.subspan(TcpView::kMinHeaderLen), opts);
  if (!written) {
    return fail(written.error());
  }
  detail::store_be16(&out[0], f.src_port);
  detail::store_be16(&out[2], f.dst_port);
  detail::store_be32(&out[4], f.seq);
  detail::store_be32(&out[8], f.ack);
  detail::store8(&out[12], static_cast<uint8_t>((hlen / 4) << 4));
  detail::store8(&out[13], f.flags.bits());
  detail::store_be16(&out[14], f.window);
  detail::store_be16(&out[16], 0);
  detail::store_be16(&out[18], f.urgent);
  return hlen;
}

}  // namespace tempo::wire
