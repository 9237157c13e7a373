// stack/reassembly.h: IPv4 and IPv6 fragments in order, out of order, duplicated and
// overlapping (RFC 5722), malformed (RFC 8200 §4.5), past each bound (datagrams held, bytes,
// fragments) and past the timeout; each outcome with its counter, and the reassembled headers
// as the wire parsers read them.
#include "stack/reassembly.h"

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/ip_protocol.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"

namespace tempo::stack {
namespace {

using Verdict = Reassembly::Verdict;

const wire::Ipv4Addr kSrc4{198, 18, 0, 1};
const wire::Ipv4Addr kDst4{198, 18, 0, 2};
const wire::Ipv6Addr kSrc6 = *wire::Ipv6Addr::parse("2001:db8::1");
const wire::Ipv6Addr kDst6 = *wire::Ipv6Addr::parse("2001:db8::2");
constexpr Ticks kT0 = Ticks::from_sec(100);

std::vector<std::byte> pattern(size_t n, uint8_t seed = 0) {
  std::vector<std::byte> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i] = std::byte{static_cast<uint8_t>(i * 7 + seed + (i >> 8))};
  }
  return out;
}

// One fragment: its own headers and data, kept alive for the Fragment's spans.
struct Piece {
  std::vector<std::byte> header;
  std::vector<std::byte> data;
  FragmentKey key;
  uint32_t offset = 0;
  bool more = false;
  uint16_t next_header_at = 0;
  uint8_t next_header = 0;
  uint32_t room = UINT32_MAX;

  Fragment frag() const {
    Fragment f;
    f.key = key;
    f.offset = offset;
    f.more = more;
    f.data = data;
    f.header = header;
    f.next_header_at = next_header_at;
    f.next_header = next_header;
    f.room = room;
    return f;
  }
};

// Bytes [off, off + len) of `payload` as an IPv4 fragment of datagram `id` (a 20-byte header,
// or `options` more on the first).
Piece v4(const std::vector<std::byte>& payload, uint16_t id, uint32_t off, uint32_t len, bool more,
         size_t options = 0, wire::Ipv4Addr src = kSrc4) {
  Piece p;
  p.header.resize(20 + options);
  (void)*wire::write_ipv4(p.header,
                          wire::Ipv4HeaderFields{.src = src,
                                                 .dst = kDst4,
                                                 .protocol = wire::kIpProtoTcp,
                                                 .payload_len = static_cast<uint16_t>(len),
                                                 .ttl = 64,
                                                 .id = id,
                                                 .dont_fragment = false,
                                                 .tos = 0});
  p.header[0] = std::byte{static_cast<uint8_t>(0x40 | (20 + options) / 4)};
  for (size_t i = 20; i < p.header.size(); ++i) {
    p.header[i] = std::byte{1};  // NOP options
  }
  wire::detail::store_be16(&p.header[6], static_cast<uint16_t>((more ? 0x2000 : 0) | off / 8));
  wire::detail::store_be16(&p.header[10], 0);
  wire::detail::store_be16(&p.header[10], wire::internet_checksum(p.header));
  p.data.assign(payload.begin() + off, payload.begin() + off + len);
  std::memcpy(p.key.src.data(), p.header.data() + 12, 4);
  std::memcpy(p.key.dst.data(), p.header.data() + 16, 4);
  p.key.id = id;
  p.key.protocol = wire::kIpProtoTcp;
  p.offset = off;
  p.more = more;
  return p;
}

// The same as an IPv6 fragment: the fixed header (Next Header 44) alone, or with an 8-byte
// Destination Options header before the Fragment header (`dst_opts`).
Piece v6(const std::vector<std::byte>& payload, uint32_t id, uint32_t off, uint32_t len, bool more,
         bool dst_opts = false) {
  Piece p;
  p.header.resize(40 + (dst_opts ? 8 : 0));
  const auto plen = static_cast<uint16_t>(p.header.size() - 40 + 8 + len);
  (void)*wire::write_ipv6(p.header, kSrc6, kDst6,
                          dst_opts ? wire::kIpProtoDstOpts : wire::kIpProtoFragment, plen, 64);
  if (dst_opts) {
    const uint8_t opts[8] = {wire::kIpProtoFragment, 0, 1, 4, 0, 0, 0, 0};
    std::memcpy(p.header.data() + 40, opts, 8);
  }
  p.data.assign(payload.begin() + off, payload.begin() + off + len);
  p.key.src = kSrc6.bytes();
  p.key.dst = kDst6.bytes();
  p.key.id = id;
  p.key.v6 = 1;
  p.offset = off;
  p.more = more;
  p.next_header_at = dst_opts ? 40 : 6;
  p.next_header = wire::kIpProtoTcp;
  return p;
}

class ReassemblyTest : public ::testing::Test {
 protected:
  void init(ReassemblyConfig cfg = ReassemblyConfig{}, uint32_t room = 65535) {
    r_.init(cfg, room);
  }
  Reassembly::Outcome add(const Piece& p, Ticks at = kT0) { return r_.add(p.frag(), at); }

  telemetry::StackCounters c_;
  Reassembly r_{c_};
};

TEST_F(ReassemblyTest, Ipv4InOrder) {
  init();
  const auto payload = pattern(40);
  EXPECT_EQ(add(v4(payload, 1, 0, 16, true)).verdict, Verdict::kHeld);
  EXPECT_EQ(add(v4(payload, 1, 16, 16, true)).verdict, Verdict::kHeld);
  EXPECT_EQ(r_.held(), 1u);
  const auto out = add(v4(payload, 1, 32, 8, false));
  ASSERT_EQ(out.verdict, Verdict::kComplete);
  EXPECT_EQ(r_.held(), 0u);
  // RFC 791 §3.2: the first fragment's header, total length the datagram's, no MF, no offset,
  // a checksum that verifies.
  std::vector<std::byte> whole(out.header.begin(), out.header.end());
  whole.insert(whole.end(), out.payload.begin(), out.payload.end());
  const auto ip = wire::Ipv4View::parse(whole);
  ASSERT_TRUE(ip.ok()) << static_cast<int>(ip.error());
  EXPECT_FALSE(ip->is_fragment());
  EXPECT_EQ(ip->total_length(), 60u);
  EXPECT_EQ(ip->id(), 1u);
  EXPECT_EQ(ip->protocol(), wire::kIpProtoTcp);
  EXPECT_TRUE(std::equal(ip->payload().begin(), ip->payload().end(), payload.begin()));
  EXPECT_EQ(c_.reasm_fragments, 3u);
  EXPECT_EQ(c_.reasm_datagrams, 1u);
  EXPECT_EQ(c_.reasm_peak, 1u);
}

TEST_F(ReassemblyTest, Ipv4OutOfOrderTakesTheFirstFragmentsHeaderAndOptions) {
  init();
  const auto payload = pattern(1500);
  EXPECT_EQ(add(v4(payload, 9, 1480, 20, false)).verdict, Verdict::kHeld);  // the last
  EXPECT_EQ(add(v4(payload, 9, 1000, 480, true)).verdict, Verdict::kHeld);
  const auto out = add(v4(payload, 9, 0, 1000, true, 4));  // the first, with 4 option bytes
  ASSERT_EQ(out.verdict, Verdict::kComplete);
  ASSERT_EQ(out.header.size(), 24u);
  std::vector<std::byte> whole(out.header.begin(), out.header.end());
  whole.insert(whole.end(), out.payload.begin(), out.payload.end());
  const auto ip = wire::Ipv4View::parse(whole);
  ASSERT_TRUE(ip.ok());
  EXPECT_EQ(ip->header_length(), 24u);
  EXPECT_EQ(ip->total_length(), 1524u);
  EXPECT_TRUE(std::equal(ip->payload().begin(), ip->payload().end(), payload.begin()));
}

TEST_F(ReassemblyTest, Ipv6OutOfOrder) {
  init();
  const auto payload = pattern(100, 3);
  EXPECT_EQ(add(v6(payload, 0x1234, 48, 52, false)).verdict, Verdict::kHeld);
  EXPECT_EQ(add(v6(payload, 0x1234, 0, 24, true)).verdict, Verdict::kHeld);
  const auto out = add(v6(payload, 0x1234, 24, 24, true));
  ASSERT_EQ(out.verdict, Verdict::kComplete);
  std::vector<std::byte> whole(out.header.begin(), out.header.end());
  whole.insert(whole.end(), out.payload.begin(), out.payload.end());
  // RFC 8200 §4.5: the unfragmentable part, Payload Length the packet's, Next Header the
  // Fragment header's.
  const auto ip = wire::Ipv6View::parse(whole);
  ASSERT_TRUE(ip.ok()) << static_cast<int>(ip.error());
  EXPECT_FALSE(ip->is_fragment());
  EXPECT_EQ(ip->protocol(), wire::kIpProtoTcp);
  EXPECT_EQ(ip->payload_length(), 100u);
  EXPECT_TRUE(std::equal(ip->payload().begin(), ip->payload().end(), payload.begin()));
}

TEST_F(ReassemblyTest, Ipv6AfterDestinationOptionsRewritesTheirNextHeader) {
  init();
  const auto payload = pattern(64);
  EXPECT_EQ(add(v6(payload, 5, 32, 32, false, true)).verdict, Verdict::kHeld);
  const auto out = add(v6(payload, 5, 0, 32, true, true));
  ASSERT_EQ(out.verdict, Verdict::kComplete);
  std::vector<std::byte> whole(out.header.begin(), out.header.end());
  whole.insert(whole.end(), out.payload.begin(), out.payload.end());
  const auto ip = wire::Ipv6View::parse(whole);
  ASSERT_TRUE(ip.ok());
  EXPECT_EQ(ip->next_header(), wire::kIpProtoDstOpts);
  EXPECT_EQ(ip->extension_headers_length(), 8u);
  EXPECT_EQ(ip->protocol(), wire::kIpProtoTcp);
  EXPECT_EQ(ip->payload_length(), 72u);
  EXPECT_EQ(ip->payload().size(), 64u);
}

TEST_F(ReassemblyTest, ExactDuplicateIsDroppedAloneAndTheDatagramCompletes) {
  init();
  const auto payload = pattern(40);
  EXPECT_EQ(add(v4(payload, 1, 0, 16, true)).verdict, Verdict::kHeld);
  EXPECT_EQ(add(v4(payload, 1, 0, 16, true)).verdict, Verdict::kDropped);
  EXPECT_EQ(c_.drop_reasm_duplicate, 1u);
  EXPECT_EQ(add(v4(payload, 1, 16, 24, false)).verdict, Verdict::kComplete);
  EXPECT_EQ(c_.drop_reasm_overlap, 0u);
}

TEST_F(ReassemblyTest, OverlapAbandonsTheWholeIpv6Datagram) {
  init();
  const auto payload = pattern(64);
  EXPECT_EQ(add(v6(payload, 7, 0, 24, true)).verdict, Verdict::kHeld);
  EXPECT_EQ(add(v6(payload, 7, 48, 16, false)).verdict, Verdict::kHeld);
  // RFC 5722 §4: [8, 32) overlaps [0, 24): every fragment of the datagram is discarded.
  EXPECT_EQ(add(v6(payload, 7, 8, 24, true)).verdict, Verdict::kDropped);
  EXPECT_EQ(c_.drop_reasm_overlap, 1u);
  EXPECT_EQ(r_.held(), 0u);
  // What comes after starts a new datagram that lacks what was discarded: never complete.
  EXPECT_EQ(add(v6(payload, 7, 24, 24, true)).verdict, Verdict::kHeld);
  EXPECT_EQ(c_.reasm_datagrams, 0u);
}

TEST_F(ReassemblyTest, OverlapAbandonsAnIpv4DatagramToo) {
  init();
  const auto payload = pattern(64);
  EXPECT_EQ(add(v4(payload, 7, 16, 16, true)).verdict, Verdict::kHeld);
  // Same offset, longer: not an exact duplicate.
  EXPECT_EQ(add(v4(payload, 7, 16, 24, true)).verdict, Verdict::kDropped);
  EXPECT_EQ(c_.drop_reasm_overlap, 1u);
  EXPECT_EQ(c_.drop_reasm_duplicate, 0u);
  EXPECT_EQ(r_.held(), 0u);
}

TEST_F(ReassemblyTest, TimeoutFromTheFirstFragment) {
  ReassemblyConfig cfg;
  cfg.timeout = Ticks::from_ms(2000);
  init(cfg);
  const auto payload = pattern(40);
  EXPECT_EQ(add(v4(payload, 1, 0, 16, true), kT0).verdict, Verdict::kHeld);
  EXPECT_EQ(add(v4(payload, 1, 16, 8, true), kT0 + Ticks::from_ms(1500)).verdict, Verdict::kHeld);
  r_.expire(kT0 + Ticks::from_ms(1999));  // a later fragment does not extend it
  EXPECT_EQ(r_.held(), 1u);
  r_.expire(kT0 + Ticks::from_ms(2000));
  EXPECT_EQ(r_.held(), 0u);
  EXPECT_EQ(c_.drop_reasm_timeout, 1u);
  // The last fragment, late: a new datagram, incomplete.
  EXPECT_EQ(add(v4(payload, 1, 24, 16, false), kT0 + Ticks::from_ms(2001)).verdict, Verdict::kHeld);
  EXPECT_EQ(c_.reasm_datagrams, 0u);
}

TEST_F(ReassemblyTest, FullTableEvictsTheOldest) {
  ReassemblyConfig cfg;
  cfg.max_datagrams = 2;
  init(cfg);
  const auto payload = pattern(32);
  for (uint16_t id = 1; id <= 3; ++id) {
    EXPECT_EQ(add(v4(payload, id, 0, 16, true), kT0 + Ticks::from_ms(id)).verdict, Verdict::kHeld);
  }
  EXPECT_EQ(c_.drop_reasm_evicted, 1u);
  EXPECT_EQ(r_.held(), 2u);
  EXPECT_EQ(c_.reasm_peak, 2u);
  // 1 went: its last fragment starts anew (and evicts 2); 3 completes.
  EXPECT_EQ(add(v4(payload, 3, 16, 16, false)).verdict, Verdict::kComplete);
  EXPECT_EQ(add(v4(payload, 1, 16, 16, false)).verdict, Verdict::kHeld);
  EXPECT_EQ(c_.reasm_datagrams, 1u);
}

TEST_F(ReassemblyTest, FullTableRefusesWhenConfiguredTo) {
  ReassemblyConfig cfg;
  cfg.max_datagrams = 2;
  cfg.on_full = ReasmOnFull::kRefuse;
  init(cfg);
  const auto payload = pattern(32);
  for (uint16_t id = 1; id <= 3; ++id) {
    (void)add(v4(payload, id, 0, 16, true));
  }
  EXPECT_EQ(c_.drop_reasm_table_full, 1u);
  EXPECT_EQ(c_.drop_reasm_evicted, 0u);
  EXPECT_EQ(add(v4(payload, 1, 16, 16, false)).verdict, Verdict::kComplete);
  EXPECT_EQ(add(v4(payload, 2, 16, 16, false)).verdict, Verdict::kComplete);
  EXPECT_EQ(add(v4(payload, 3, 16, 16, false)).verdict, Verdict::kHeld);  // its first was refused
}

TEST_F(ReassemblyTest, TooBigForMaxBytesOrThePortsBuffer) {
  ReassemblyConfig cfg;
  cfg.max_bytes = 1500;
  init(cfg, 2034);
  const auto payload = pattern(4000);
  EXPECT_EQ(add(v4(payload, 1, 0, 1480, true)).verdict, Verdict::kHeld);
  // 20 + 1488 > 1500: the datagram goes, not only the fragment.
  EXPECT_EQ(add(v4(payload, 1, 1480, 8, false)).verdict, Verdict::kDropped);
  EXPECT_EQ(c_.drop_reasm_too_big, 1u);
  EXPECT_EQ(r_.held(), 0u);
  // The port's buffer (Fragment::room) may be smaller still.
  Piece small = v4(payload, 2, 0, 1000, true);
  small.room = 1000;
  EXPECT_EQ(add(small).verdict, Verdict::kDropped);
  EXPECT_EQ(c_.drop_reasm_too_big, 2u);
  // A datagram of exactly max_bytes fits.
  EXPECT_EQ(add(v4(payload, 3, 0, 1000, true)).verdict, Verdict::kHeld);
  EXPECT_EQ(add(v4(payload, 3, 1000, 480, false)).verdict, Verdict::kComplete);
}

TEST_F(ReassemblyTest, TheLargestDatagram) {
  ReassemblyConfig cfg;
  cfg.max_fragments = 64;
  init(cfg, 65535);
  const auto payload = pattern(65515);
  Reassembly::Outcome out;
  // Backwards, 1480 bytes a fragment (45 of them).
  uint32_t off = 65515 / 1480 * 1480;
  out = add(v4(payload, 4, off, 65515 - off, false));
  while (off > 0) {
    off -= 1480;
    out = add(v4(payload, 4, off, 1480, true));
  }
  ASSERT_EQ(out.verdict, Verdict::kComplete);
  ASSERT_EQ(out.payload.size(), 65515u);
  EXPECT_TRUE(std::equal(out.payload.begin(), out.payload.end(), payload.begin()));
  EXPECT_EQ(wire::detail::load_be16(&out.header[2]), 65535u);
}

TEST_F(ReassemblyTest, TooManyFragments) {
  ReassemblyConfig cfg;
  cfg.max_fragments = 2;
  init(cfg);
  const auto payload = pattern(48);
  EXPECT_EQ(add(v4(payload, 1, 0, 16, true)).verdict, Verdict::kHeld);
  EXPECT_EQ(add(v4(payload, 1, 16, 16, true)).verdict, Verdict::kHeld);
  EXPECT_EQ(add(v4(payload, 1, 32, 16, false)).verdict, Verdict::kDropped);
  EXPECT_EQ(c_.drop_reasm_too_many_fragments, 1u);
  EXPECT_EQ(r_.held(), 0u);
}

TEST_F(ReassemblyTest, InvalidFragments) {
  init();
  const auto payload = pattern(70000 - 20);
  // RFC 8200 §4.5: M set and a length not a multiple of 8.
  EXPECT_EQ(add(v4(payload, 1, 0, 20, true)).verdict, Verdict::kDropped);
  EXPECT_EQ(add(v6(payload, 1, 0, 20, true)).verdict, Verdict::kDropped);
  // Ending past 65,535 bytes (with the 20-byte header).
  EXPECT_EQ(add(v4(payload, 2, 65512, 8, false)).verdict, Verdict::kDropped);
  // Empty.
  EXPECT_EQ(add(v4(payload, 3, 8, 0, false)).verdict, Verdict::kDropped);
  // RFC 7112 §5: an IPv6 first fragment without the TCP header's 20 bytes.
  EXPECT_EQ(add(v6(payload, 4, 0, 16, true)).verdict, Verdict::kDropped);
  EXPECT_EQ(c_.drop_reasm_invalid, 5u);
  EXPECT_EQ(r_.held(), 0u);
  // Two last fragments that disagree on the length: the datagram goes.
  EXPECT_EQ(add(v4(payload, 5, 16, 16, false)).verdict, Verdict::kHeld);
  EXPECT_EQ(add(v4(payload, 5, 40, 8, false)).verdict, Verdict::kDropped);
  EXPECT_EQ(r_.held(), 0u);
  // Data past the last fragment's end.
  EXPECT_EQ(add(v4(payload, 6, 16, 16, false)).verdict, Verdict::kHeld);
  EXPECT_EQ(add(v4(payload, 6, 32, 8, true)).verdict, Verdict::kDropped);
  // A last fragment ending before data held.
  EXPECT_EQ(add(v4(payload, 7, 32, 16, true)).verdict, Verdict::kHeld);
  EXPECT_EQ(add(v4(payload, 7, 0, 16, false)).verdict, Verdict::kDropped);
  EXPECT_EQ(c_.drop_reasm_invalid, 8u);
  EXPECT_EQ(r_.held(), 0u);
}

TEST_F(ReassemblyTest, DatagramsAreKeptApartByTheirKeys) {
  init();
  const auto a = pattern(32, 1);
  const auto b = pattern(32, 2);
  EXPECT_EQ(add(v4(a, 1, 0, 16, true)).verdict, Verdict::kHeld);
  EXPECT_EQ(add(v4(b, 1, 0, 16, true, 0, wire::Ipv4Addr{198, 18, 0, 9})).verdict,
            Verdict::kHeld);  // another source, the same id
  Piece other_proto = v4(a, 1, 16, 16, false);
  other_proto.key.protocol = wire::kIpProtoUdp;
  EXPECT_EQ(add(other_proto).verdict, Verdict::kHeld);
  Piece other_port = v4(a, 1, 16, 16, false);
  other_port.key.port = 1;
  EXPECT_EQ(add(other_port).verdict, Verdict::kHeld);
  EXPECT_EQ(r_.held(), 4u);
  const auto out = add(v4(b, 1, 16, 16, false, 0, wire::Ipv4Addr{198, 18, 0, 9}));
  ASSERT_EQ(out.verdict, Verdict::kComplete);
  EXPECT_TRUE(std::equal(out.payload.begin(), out.payload.end(), b.begin()));
  EXPECT_EQ(add(v4(a, 1, 16, 16, false)).verdict, Verdict::kComplete);
}

TEST_F(ReassemblyTest, OffHoldsNothing) {
  ReassemblyConfig cfg;
  cfg.max_datagrams = 0;
  init(cfg);
  EXPECT_FALSE(r_.enabled());
  const auto payload = pattern(32);
  EXPECT_EQ(add(v4(payload, 1, 0, 16, true)).verdict, Verdict::kDropped);
  EXPECT_EQ(c_.reasm_fragments, 0u);  // the Worker counts drop.ipv4.fragment
}

// A flood of incomplete datagrams never holds more than max_datagrams, and a datagram that
// arrives whole after it is reassembled.
TEST_F(ReassemblyTest, FloodStaysBounded) {
  ReassemblyConfig cfg;
  cfg.max_datagrams = 16;
  init(cfg);
  const auto payload = pattern(32);
  for (uint32_t id = 0; id < 10000; ++id) {
    (void)add(v4(payload, static_cast<uint16_t>(id), 0, 16, true, 0,
                 wire::Ipv4Addr(0xc6120000u | (id >> 16))));
    ASSERT_LE(r_.held(), 16u);
  }
  EXPECT_EQ(c_.drop_reasm_evicted, 10000u - 16);
  EXPECT_EQ(add(v4(payload, 99, 16, 16, false)).verdict, Verdict::kHeld);
  EXPECT_EQ(add(v4(payload, 99, 0, 16, true)).verdict, Verdict::kComplete);
}

}  // namespace
}  // namespace tempo::stack
