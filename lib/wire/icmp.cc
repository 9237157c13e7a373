#include "wire/icmp.h"

#include <cstring>

#include "wire/checksum.h"

namespace tempo::wire {

Result<IcmpView, WireError> IcmpView::parse(std::span<const std::byte> message) noexcept {
  if (message.size() < kHeaderLen) {
    return fail(WireError::kTruncated);
  }
  if (!verify_internet_checksum(message)) {
    return fail(WireError::kBadChecksum);
  }
  return IcmpView(message);
}

Result<size_t, WireError> write_icmp(std::span<std::byte> out, uint8_t type, uint8_t code,
                                     uint32_t rest_of_header,
                                     std::span<const std::byte> data) noexcept {
  const size_t len = IcmpView::kHeaderLen + data.size();
  if (out.size() < len) {
    return fail(WireError::kNoSpace);
  }
  if (!data.empty()) {
    std::memmove(&out[IcmpView::kHeaderLen], data.data(), data.size());
  }
  detail::store8(&out[0], type);
  detail::store8(&out[1], code);
  detail::store_be16(&out[2], 0);
  detail::store_be32(&out[4], rest_of_header);
  detail::store_be16(&out[2], internet_checksum(out.first(len)));
  return len;
}

}  // namespace tempo::wire
