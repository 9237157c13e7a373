#include "wire/error.h"

namespace tempo::wire {

std::string_view to_string(WireError e) noexcept {
  switch (e) {
    case WireError::kTruncated:
      return "truncated";
    case WireError::kBadVersion:
      return "bad_version";
    case WireError::kBadHeaderLength:
      return "bad_header_length";
    case WireError::kBadTotalLength:
      return "bad_total_length";
    case WireError::kBadChecksum:
      return "bad_checksum";
    case WireError::kFragment:
      return "fragment";
    case WireError::kBadOptionLength:
      return "bad_option_length";
    case WireError::kDuplicateOption:
      return "duplicate_option";
    case WireError::kBadDataOffset:
      return "bad_data_offset";
    case WireError::kBadExtensionHeader:
      return "bad_extension_header";
    case WireError::kUnsupported:
      return "unsupported";
    case WireError::kBadNeighborDiscovery:
      return "bad_neighbor_discovery";
    case WireError::kBadAddress:
      return "bad_address";
    case WireError::kNoSpace:
      return "no_space";
    case WireError::kOptionsTooLong:
      return "options_too_long";
    case WireError::kTooLong:
      return "too_long";
  }
  return "unknown";
}

}  // namespace tempo::wire
