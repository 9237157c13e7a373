// ICMP and ICMPv6 errors for TCP: what each message type and code means to a connection (RFC 1122
// §4.2.3.9, RFC 1191, RFC 4443, RFC 8201, RFC 6633), the RFC 1191 §5 plateau for routers that
// send no next-hop MTU, the floor under a learned path MTU, and the counters of every outcome.
// Pure functions and a counter registry: the Worker applies them (stack/worker.cc, input_icmp,
// input_icmpv6, input_icmp_error), the protocol core acts (tcp/pmtu.h).
// Tests: tests/unit/stack/icmp_errors_test.cc.
#pragma once

#include <array>
#include <cstdint>

#include "tcp/sink.h"
#include "telemetry/registry.h"
#include "wire/icmp.h"
#include "wire/icmpv6.h"

namespace tempo::stack {

// RFC 792 / RFC 1812 §5.2.7.1 types and codes beside wire/icmp.h's.
inline constexpr uint8_t kIcmpSourceQuench = 4;
inline constexpr uint8_t kIcmpParamProblem = 12;
inline constexpr uint8_t kIcmpCodeNetUnreachable = 0;
inline constexpr uint8_t kIcmpCodeHostUnreachable = 1;
inline constexpr uint8_t kIcmpCodeProtoUnreachable = 2;
inline constexpr uint8_t kIcmpCodeSourceRouteFailed = 5;
inline constexpr uint8_t kIcmpCodeNetProhibited = 9;     // RFC 1122 §3.2.2.1
inline constexpr uint8_t kIcmpCodeHostProhibited = 10;   // RFC 1122 §3.2.2.1
inline constexpr uint8_t kIcmpCodeAdminProhibited = 13;  // RFC 1812 §5.2.7.1
// RFC 4443 §3.1 Destination Unreachable codes, §3.4 Parameter Problem codes.
inline constexpr uint8_t kIcmpv6CodeNoRoute = 0;
inline constexpr uint8_t kIcmpv6CodeAdminProhibited = 1;
inline constexpr uint8_t kIcmpv6CodeAddrUnreachable = 3;
inline constexpr uint8_t kIcmpv6CodePortUnreachable = 4;
inline constexpr uint8_t kIcmpv6CodePolicyFailed = 5;
inline constexpr uint8_t kIcmpv6CodeRejectRoute = 6;
inline constexpr uint8_t kIcmpv6CodeUnknownNextHeader = 1;

// What an ICMP message is to a TCP connection.
enum class IcmpKind : uint8_t {
  kNone,          // not an error message tempo acts on (echo, ND, ...)
  kPathMtu,       // RFC 1191 "fragmentation needed and DF set", RFC 8201 "packet too big"
  kHard,          // RFC 1122 §4.2.3.9 hard: aborts SYN-SENT only (a soft error elsewhere)
  kSoft,          // RFC 1122 §4.2.3.9 soft: counted, never an abort
  kSourceQuench,  // RFC 6633: ignored
};

struct IcmpClass {
  IcmpKind kind = IcmpKind::kNone;
  // kHard: why on_closed reports it (a port unreachable is a refusal, as Linux's ECONNREFUSED).
  tcp::CloseReason reason = tcp::CloseReason::kUnreachable;
};

// RFC 1122 §4.2.3.9: Destination Unreachable codes 0, 1, 5, Time Exceeded and Parameter Problem
// are soft; codes 2 (protocol) and 3 (port) hard; code 4 is RFC 1191's. The administrative
// prohibitions (9, 10, 13) are hard too, as Linux's icmp_err_convert (RFC 1812 §5.2.7.1 made code
// 13 what a filtering router sends instead of silence). Other codes (6-8, 11, 12, 14, 15) soft.
constexpr IcmpClass classify_icmp4(uint8_t type, uint8_t code) noexcept {
  switch (type) {
    case wire::kIcmpDestUnreachable:
      switch (code) {
        case wire::kIcmpCodeFragNeeded:
          return {IcmpKind::kPathMtu};
        case wire::kIcmpCodePortUnreachable:
          return {IcmpKind::kHard, tcp::CloseReason::kRefused};
        case kIcmpCodeProtoUnreachable:
        case kIcmpCodeNetProhibited:
        case kIcmpCodeHostProhibited:
        case kIcmpCodeAdminProhibited:
          return {IcmpKind::kHard, tcp::CloseReason::kUnreachable};
        default:
          return {IcmpKind::kSoft};
      }
    case kIcmpSourceQuench:
      return {IcmpKind::kSourceQuench};
    case wire::kIcmpTimeExceeded:
    case kIcmpParamProblem:
      return {IcmpKind::kSoft};
    default:
      return {IcmpKind::kNone};
  }
}

// RFC 4443 §3.1: no route (0) and address unreachable (3) are soft, like IPv4's net and host
// unreachable; port unreachable (4) hard, and so the prohibitions (1 administratively, 5 source
// address policy, 6 reject route), as Linux's icmpv6_err_convert. §3.4 Parameter Problem code 1
// (unrecognised Next Header: our TCP was not understood, IPv4's protocol unreachable) is hard,
// the other codes soft; §3.3 Time Exceeded soft. §3.2 Packet Too Big is RFC 8201's.
constexpr IcmpClass classify_icmp6(uint8_t type, uint8_t code) noexcept {
  switch (type) {
    case wire::kIcmpv6PacketTooBig:
      return {IcmpKind::kPathMtu};
    case wire::kIcmpv6DestUnreachable:
      switch (code) {
        case kIcmpv6CodePortUnreachable:
          return {IcmpKind::kHard, tcp::CloseReason::kRefused};
        case kIcmpv6CodeAdminProhibited:
        case kIcmpv6CodePolicyFailed:
        case kIcmpv6CodeRejectRoute:
          return {IcmpKind::kHard, tcp::CloseReason::kUnreachable};
        default:
          return {IcmpKind::kSoft};
      }
    case wire::kIcmpv6ParamProblem:
      if (code == kIcmpv6CodeUnknownNextHeader) {
        return {IcmpKind::kHard, tcp::CloseReason::kUnreachable};
      }
      return {IcmpKind::kSoft};
    case wire::kIcmpv6TimeExceeded:
      return {IcmpKind::kSoft};
    default:
      return {IcmpKind::kNone};
  }
}

// RFC 1191 §5 (table 7-1): an old router's "fragmentation needed" carries no next-hop MTU (0).
// The estimate is then the greatest plateau below the quoted datagram's length; 68, the IPv4
// minimum (RFC 791), below the smallest.
constexpr uint16_t mtu_plateau_below(uint32_t len) noexcept {
  constexpr std::array<uint16_t, 10> kPlateaus = {32000, 17914, 8166, 4352, 2002,
                                                  1492,  1006,  508,  296,  68};
  for (const uint16_t p : kPlateaus) {
    if (p < len) {
      return p;
    }
  }
  return 68;
}

// The MTU a "fragmentation needed" / "packet too big" tells, as tempo takes it: the reported
// value (or, for IPv4 (`v4`) 0, the plateau below the quoted length), raised to `floor` (RFC 8201
// §4: an IPv6 MTU below 1280 is taken as 1280). `*plateau` and `*floored` say which rule applied.
constexpr uint32_t reported_mtu_of(uint32_t reported, bool v4, uint32_t quoted_len, uint32_t floor,
                                   bool* plateau, bool* floored) noexcept {
  *plateau = v4 && reported == 0;
  uint32_t mtu = *plateau ? mtu_plateau_below(quoted_len) : reported;
  *floored = mtu < floor;
  return *floored ? floor : mtu;
}

// Every outcome of an ICMP or ICMPv6 error message that reached input_icmp_error.
struct IcmpCounters {
  uint64_t icmp_frag_needed = 0;
  uint64_t icmp6_packet_too_big = 0;
  uint64_t icmp_unreachable = 0;
  uint64_t icmp6_unreachable = 0;
  uint64_t icmp_time_exceeded = 0;
  uint64_t icmp6_time_exceeded = 0;
  uint64_t icmp_param_problem = 0;
  uint64_t icmp6_param_problem = 0;
  uint64_t icmp_source_quench = 0;
  uint64_t icmp_bad_quote = 0;
  uint64_t icmp_steered = 0;
  uint64_t icmp_pmtu_lowered = 0;
  uint64_t icmp_pmtu_not_lower = 0;
  uint64_t icmp_pmtu_handshake = 0;
  uint64_t icmp_pmtu_floor = 0;
  uint64_t icmp_pmtu_plateau = 0;
  uint64_t icmp_pmtu_ignored_seq = 0;
  uint64_t icmp_pmtu_ignored_no_conn = 0;
  uint64_t icmp_hard_error_abort = 0;
  uint64_t icmp_soft_error = 0;
  uint64_t icmp_error_ignored_seq = 0;
  uint64_t icmp_error_ignored_no_conn = 0;

  using Field = telemetry::CounterField<IcmpCounters>;
  static constexpr auto kFields = std::to_array<Field>({
      {"icmp.frag_needed", &IcmpCounters::icmp_frag_needed,
       "ICMP \"fragmentation needed and DF set\" quoting one of our TCP segments (RFC 1191)"},
      {"icmp6.packet_too_big", &IcmpCounters::icmp6_packet_too_big,
       "ICMPv6 \"packet too big\" quoting one of our TCP segments (RFC 8201)"},
      {"icmp.unreachable", &IcmpCounters::icmp_unreachable,
       "ICMP destination unreachable (but fragmentation needed) quoting one of our TCP segments"},
      {"icmp6.unreachable", &IcmpCounters::icmp6_unreachable,
       "ICMPv6 destination unreachable quoting one of our TCP segments"},
      {"icmp.time_exceeded", &IcmpCounters::icmp_time_exceeded,
       "ICMP time exceeded quoting one of our TCP segments"},
      {"icmp6.time_exceeded", &IcmpCounters::icmp6_time_exceeded,
       "ICMPv6 time exceeded quoting one of our TCP segments"},
      {"icmp.param_problem", &IcmpCounters::icmp_param_problem,
       "ICMP parameter problem quoting one of our TCP segments"},
      {"icmp6.param_problem", &IcmpCounters::icmp6_param_problem,
       "ICMPv6 parameter problem quoting one of our TCP segments"},
      {"icmp.source_quench", &IcmpCounters::icmp_source_quench,
       "ICMP source quench received and ignored (RFC 6633)"},
      {"icmp.bad_quote", &IcmpCounters::icmp_bad_quote,
       "ICMP/ICMPv6 errors ignored: the quoted datagram is not a TCP segment of ours (truncated, "
       "another protocol, a later fragment)"},
      {"icmp.steered", &IcmpCounters::icmp_steered,
       "ICMP/ICMPv6 errors passed to the Worker that owns the quoted connection"},
      {"icmp.pmtu_lowered", &IcmpCounters::icmp_pmtu_lowered,
       "connections whose send MSS a path MTU message lowered; what was in flight resent"},
      {"icmp.pmtu_not_lower", &IcmpCounters::icmp_pmtu_not_lower,
       "path MTU messages not below the connection's MTU: nothing to do"},
      {"icmp.pmtu_handshake", &IcmpCounters::icmp_pmtu_handshake,
       "path MTU messages for a connection still in its handshake: learned, applied once "
       "established"},
      {"icmp.pmtu_floor", &IcmpCounters::icmp_pmtu_floor,
       "path MTUs below tcp.pmtu.min_ipv4 / min_ipv6, raised to it"},
      {"icmp.pmtu_plateau", &IcmpCounters::icmp_pmtu_plateau,
       "fragmentation needed without a next-hop MTU: the RFC 1191 §5 plateau taken"},
      {"icmp.pmtu_ignored_seq", &IcmpCounters::icmp_pmtu_ignored_seq,
       "path MTU messages ignored: the quoted sequence number is not in flight (RFC 5927 §4.1)"},
      {"icmp.pmtu_ignored_no_conn", &IcmpCounters::icmp_pmtu_ignored_no_conn,
       "path MTU messages ignored: the quoted tuple is no live connection (RFC 5927 §4.1)"},
      {"icmp.hard_error_abort", &IcmpCounters::icmp_hard_error_abort,
       "connections in SYN-SENT aborted by a hard error (port or protocol unreachable, "
       "prohibited: RFC 1122 §4.2.3.9)"},
      {"icmp.soft_error", &IcmpCounters::icmp_soft_error,
       "errors taken as soft for a live connection: counted, no abort (RFC 1122 §4.2.3.9)"},
      {"icmp.error_ignored_seq", &IcmpCounters::icmp_error_ignored_seq,
       "unreachable/time exceeded/parameter problem ignored: the quoted sequence number is not in "
       "flight (RFC 5927 §4.1)"},
      {"icmp.error_ignored_no_conn", &IcmpCounters::icmp_error_ignored_no_conn,
       "unreachable/time exceeded/parameter problem ignored: the quoted tuple is no live "
       "connection"},
  });
};
static_assert(telemetry::check_registry(IcmpCounters::kFields));
static_assert(sizeof(IcmpCounters) == sizeof(uint64_t) * IcmpCounters::kFields.size(),
              "a field of IcmpCounters is missing from IcmpCounters::kFields");

}  // namespace tempo::stack
