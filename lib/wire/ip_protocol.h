// IANA "Assigned Internet Protocol Numbers": the IPv4 Protocol / IPv6 Next Header values tempo
// looks at.
#pragma once

#include <cstdint>

namespace tempo::wire {

inline constexpr uint8_t kIpProtoHopByHop = 0;   // RFC 8200 §4.3
inline constexpr uint8_t kIpProtoIcmp = 1;       // RFC 792
inline constexpr uint8_t kIpProtoTcp = 6;        // RFC 9293
inline constexpr uint8_t kIpProtoUdp = 17;       // RFC 768
inline constexpr uint8_t kIpProtoRouting = 43;   // RFC 8200 §4.4
inline constexpr uint8_t kIpProtoFragment = 44;  // RFC 8200 §4.5
inline constexpr uint8_t kIpProtoIcmpv6 = 58;    // RFC 4443
inline constexpr uint8_t kIpProtoNoNext = 59;    // RFC 8200 §4.7
inline constexpr uint8_t kIpProtoDstOpts = 60;   // RFC 8200 §4.6

}  // namespace tempo::wire
