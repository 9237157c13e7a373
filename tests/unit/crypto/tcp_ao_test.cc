// TCP-AO (RFC 5925, RFC 5926) against the test vectors of RFC 9235: IPv4 and IPv6, KDF_HMAC_SHA1
// + HMAC-SHA-1-96 and KDF_AES_128_CMAC + AES-128-CMAC-96, MACs covering and omitting TCP options.
// Master_Key "testvector"; client 10.11.12.13 / fd00::1, server 172.27.28.29 / fd00::2, port 179.
// Each vector's traffic key and MAC must match byte for byte.
#include "crypto/tcp_ao.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "crypto/mgr.h"
#include "hex.h"

namespace tempo::crypto {
namespace {

using test::bytes;
using test::hex;
using test::same;
using test::segment_of;

struct Vector {
  const char* name;  // RFC 9235 section
  AoAlgorithm alg;
  bool include_options;
  uint32_t src_isn;  // ISN of the segment's sender
  uint32_t dst_isn;  // of its receiver (0 for a SYN: Send_SYN_traffic_key)
  const char* packet;
  const char* traffic_key;
  const char* mac;
};

constexpr auto kSha1 = AoAlgorithm::kHmacSha1_96;
constexpr auto kCmac = AoAlgorithm::kAes128Cmac96;

// RFC 9235 §4.1: client ISN fbfbab5a, server ISN 11c14261. §4.2: cb0efbee, acd5b5e1.
// §5.1: 787a1ddf. §6.1: 176a833f, 3f51994b. §6.2: 020c1e69, eba3734d. §7.1: 193ccCEC, a6744ecb.
const Vector kRfc9235[] = {
    {"4_1_1_ipv4_sha1_syn", kSha1, true, 0xfbfbab5a, 0,
     "45 e0 00 4c dd 0f 40 00 ff 06 bf 6b 0a 0b 0c 0d ac 1b 1c 1d e9 d7 00 b3 fb fb ab 5a 00 00 00 "
     "00"
     "e0 02 ff ff ca c4 00 00 02 04 05 b4 01 03 03 08 04 02 08 0a 00 15 5a b7 00 00 00 00 1d 10 3d "
     "54"
     "2e e4 37 c6 f8 ed e6 d7 c4 d6 02 e7",
     "6d 63 ef 1b 02 fe 15 09 d4 b1 40 27 07 fd 7b 04 16 ab b7 4f",
     "2e e4 37 c6 f8 ed e6 d7 c4 d6 02 e7"},
    {"4_1_2_ipv4_sha1_synack", kSha1, true, 0x11c14261, 0xfbfbab5a,
     "45 e0 00 4c 65 06 40 00 ff 06 37 75 ac 1b 1c 1d 0a 0b 0c 0d 00 b3 e9 d7 11 c1 42 61 fb fb ab "
     "5b"
     "e0 12 ff ff 37 76 00 00 02 04 05 b4 01 03 03 08 04 02 08 0a 84 a5 0b eb 00 15 5a b7 1d 10 54 "
     "3d"
     "ee ab 0f e2 4c 30 10 81 51 16 b3 be",
     "d9 e2 17 e4 83 4a 80 ca 2f 3f d8 de 2e 41 b8 e6 79 7f ea 96",
     "ee ab 0f e2 4c 30 10 81 51 16 b3 be"},
    {"4_1_3_ipv4_sha1_client_data", kSha1, true, 0xfbfbab5a, 0x11c14261,
     "45 e0 00 87 36 a1 40 00 ff 06 65 9f 0a 0b 0c 0d ac 1b 1c 1d e9 d7 00 b3 fb fb ab 5b 11 c1 42 "
     "62"
     "c0 18 01 04 a1 62 00 00 01 01 08 0a 00 15 5a c1 84 a5 0b eb 1d 10 3d 54 70 64 cf 99 8c c6 c3 "
     "15"
     "c2 c2 e2 bf ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff 00 43 01 04 da bf 00 b4 0a 0b 0c "
     "0d"
     "26 02 06 01 04 00 01 00 01 02 02 80 00 02 02 02 00 02 02 42 00 02 06 41 04 00 00 da bf 02 08 "
     "40"
     "06 00 64 00 01 01 00",
     "d2 e5 9c 65 ff c7 b1 a3 93 47 65 64 63 b7 0e dc 24 a1 3d 71",
     "70 64 cf 99 8c c6 c3 15 c2 c2 e2 bf"},
    {"4_1_4_ipv4_sha1_server_data", kSha1, true, 0x11c14261, 0xfbfbab5a,
     "45 e0 00 87 1f a9 40 00 ff 06 7c 97 ac 1b 1c 1d 0a 0b 0c 0d 00 b3 e9 d7 11 c1 42 62 fb fb ab "
     "9e"
     "c0 18 01 00 40 0c 00 00 01 01 08 0a 84 a5 0b f5 00 15 5a c1 1d 10 54 3d a6 3f 0e cb bb 2e 63 "
     "5c"
     "95 4d ea c7 ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff 00 43 01 04 da c0 00 b4 ac 1b 1c "
     "1d"
     "26 02 06 01 04 00 01 00 01 02 02 80 00 02 02 02 00 02 02 42 00 02 06 41 04 00 00 da c0 02 08 "
     "40"
     "06 00 64 00 01 01 00",
     "d9 e2 17 e4 83 4a 80 ca 2f 3f d8 de 2e 41 b8 e6 79 7f ea 96",
     "a6 3f 0e cb bb 2e 63 5c 95 4d ea c7"},
    {"4_2_1_ipv4_sha1_omit_syn", kSha1, false, 0xcb0efbee, 0,
     "45 e0 00 4c 53 99 40 00 ff 06 48 e2 0a 0b 0c 0d ac 1b 1c 1d ff 12 00 b3 cb 0e fb ee 00 00 00 "
     "00"
     "e0 02 ff ff 54 1f 00 00 02 04 05 b4 01 03 03 08 04 02 08 0a 00 02 4c ce 00 00 00 00 1d 10 3d "
     "54"
     "80 af 3c fe b8 53 68 93 7b 8f 9e c2",
     "30 ea a1 56 0c f0 be 57 da b5 c0 45 22 9f b1 0a 42 3c d7 ea",
     "80 af 3c fe b8 53 68 93 7b 8f 9e c2"},
    {"4_2_2_ipv4_sha1_omit_synack", kSha1, false, 0xacd5b5e1, 0xcb0efbee,
     "45 e0 00 4c 32 84 40 00 ff 06 69 f7 ac 1b 1c 1d 0a 0b 0c 0d 00 b3 ff 12 ac d5 b5 e1 cb 0e fb "
     "ef"
     "e0 12 ff ff 38 8e 00 00 02 04 05 b4 01 03 03 08 04 02 08 0a 57 67 72 f3 00 02 4c ce 1d 10 54 "
     "3d"
     "09 30 6f 9a ce a6 3a 8c 68 cb 9a 70",
     "b5 b2 89 6b b3 66 4e 81 76 b0 ed c6 e7 99 52 41 01 a8 30 7f",
     "09 30 6f 9a ce a6 3a 8c 68 cb 9a 70"},
    {"4_2_3_ipv4_sha1_omit_client_data", kSha1, false, 0xcb0efbee, 0xacd5b5e1,
     "45 e0 00 87 a8 f5 40 00 ff 06 f3 4a 0a 0b 0c 0d ac 1b 1c 1d ff 12 00 b3 cb 0e fb ef ac d5 b5 "
     "e2"
     "c0 18 01 04 6c 45 00 00 01 01 08 0a 00 02 4c ce 57 67 72 f3 1d 10 3d 54 71 06 08 cc 69 6c 03 "
     "a2"
     "71 c9 3a a5 ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff 00 43 01 04 da bf 00 b4 0a 0b 0c "
     "0d"
     "26 02 06 01 04 00 01 00 01 02 02 80 00 02 02 02 00 02 02 42 00 02 06 41 04 00 00 da bf 02 08 "
     "40"
     "06 00 64 00 01 01 00",
     "f3 db 17 93 d7 91 0e cd 80 6c 34 f1 55 ea 1f 00 34 59 53 e3",
     "71 06 08 cc 69 6c 03 a2 71 c9 3a a5"},
    {"4_2_4_ipv4_sha1_omit_server_data", kSha1, false, 0xacd5b5e1, 0xcb0efbee,
     "45 e0 00 87 54 37 40 00 ff 06 48 09 ac 1b 1c 1d 0a 0b 0c 0d 00 b3 ff 12 ac d5 b5 e2 cb 0e fc "
     "32"
     "c0 18 01 00 46 b6 00 00 01 01 08 0a 57 67 72 f3 00 02 4c ce 1d 10 54 3d 97 76 6e 48 ac 26 2d "
     "e9"
     "ae 61 b4 f9 ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff ff 00 43 01 04 da c0 00 b4 ac 1b 1c "
     "1d"
     "26 02 06 01 04 00 01 00 01 02 02 80 00 02 02 02 00 02 02 42 00 02 06 41 04 00 00 da c0 02 08 "
     "40"
     "06 00 64 00 01 01 00",
     "b5 b2 89 6b b3 66 4e 81 76 b0 ed c6 e7 99 52 41 01 a8 30 7f",
     "97 76 6e 48 ac 26 2d e9 ae 61 b4 f9"},
    {"5_1_1_ipv4_cmac_syn", kCmac, true, 0x787a1ddf, 0,
     "45 e0 00 4c 7b 9f 40 00 ff 06 20 dc 0a 0b 0c 0d ac 1b 1c 1d c4 fa 00 b3 78 7a 1d df 00 00 00 "
     "00"
     "e0 02 ff ff 5a 0f 00 00 02 04 05 b4 01 03 03 08 04 02 08 0a 00 01 7e d0 00 00 00 00 1d 10 3d "
     "54"
     "e4 77 e9 9c 80 40 76 54 98 e5 50 91",
     "f5 b8 b3 d5 f3 4f db b6 eb 8d 4a b9 66 0e 60 e3", "e4 77 e9 9c 80 40 76 54 98 e5 50 91"},
    {"6_1_1_ipv6_sha1_syn", kSha1, true, 0x176a833f, 0,
     "6e 08 91 dc 00 38 06 40 fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 fd 00 00 00 00 00 00 "
     "00"
     "00 00 00 00 00 00 00 02 f7 e4 00 b3 17 6a 83 3f 00 00 00 00 e0 02 ff ff 47 21 00 00 02 04 05 "
     "a0"
     "01 03 03 08 04 02 08 0a 00 41 d0 87 00 00 00 00 1d 10 3d 54 90 33 ec 3d 73 34 b6 4c 5e dd 03 "
     "9f",
     "62 5e c0 9d 57 58 36 ed c9 b6 42 84 18 bb f0 69 89 a3 61 bb",
     "90 33 ec 3d 73 34 b6 4c 5e dd 03 9f"},
    {"6_1_2_ipv6_sha1_synack", kSha1, true, 0x3f51994b, 0x176a833f,
     "6e 01 00 9e 00 38 06 40 fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02 fd 00 00 00 00 00 00 "
     "00"
     "00 00 00 00 00 00 00 01 00 b3 f7 e4 3f 51 99 4b 17 6a 83 40 e0 12 ff ff bf ec 00 00 02 04 05 "
     "a0"
     "01 03 03 08 04 02 08 0a bd 33 12 9b 00 41 d0 87 1d 10 54 3d f1 cb a3 46 c3 52 61 63 f7 1f 1f "
     "55",
     "e4 a3 7a da 2a 0a fc a8 71 14 34 91 3f e1 38 c7 71 eb cb 4a",
     "f1 cb a3 46 c3 52 61 63 f7 1f 1f 55"},
    {"6_2_2_ipv6_sha1_omit_synack", kSha1, false, 0xeba3734d, 0x020c1e69,
     "6e 0a 7e 1f 00 38 06 40 fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02 fd 00 00 00 00 00 00 "
     "00"
     "00 00 00 00 00 00 00 01 00 b3 c6 cd eb a3 73 4d 02 0c 1e 6a e0 12 ff ff 77 4d 00 00 02 04 05 "
     "a0"
     "01 03 03 08 04 02 08 0a 5e c9 9b 70 00 9d b9 5b 1d 10 54 3d 3c 54 6b ad 97 43 f1 2d f8 b8 01 "
     "0d",
     "40 51 08 94 7f 99 65 75 e7 bd bc 26 d4 02 16 a2 c7 fa 91 bd",
     "3c 54 6b ad 97 43 f1 2d f8 b8 01 0d"},
    {"6_2_4_ipv6_sha1_omit_server_data", kSha1, false, 0xeba3734d, 0x020c1e69,
     "6e 0a 7e 1f 00 73 06 40 fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02 fd 00 00 00 00 00 00 "
     "00"
     "00 00 00 00 00 00 00 01 00 b3 c6 cd eb a3 73 4e 02 0c 1e ad c0 18 01 00 71 6a 00 00 01 01 08 "
     "0a"
     "5e c9 9b 7a 00 9d b9 65 1d 10 54 3d 55 9a 81 94 45 b4 fd e9 8d 9e 13 17 ff ff ff ff ff ff ff "
     "ff"
     "ff ff ff ff ff ff ff ff 00 43 01 04 fd e8 00 b4 01 01 01 7a 26 02 06 01 04 00 01 00 01 02 02 "
     "80"
     "00 02 02 02 00 02 02 42 00 02 06 41 04 00 00 fd e8 02 08 40 06 00 64 00 01 01 00",
     "40 51 08 94 7f 99 65 75 e7 bd bc 26 d4 02 16 a2 c7 fa 91 bd",
     "55 9a 81 94 45 b4 fd e9 8d 9e 13 17"},
    {"7_1_2_ipv6_cmac_synack", kCmac, true, 0xa6744ecb, 0x193ccCEC,
     "6e 06 15 20 00 38 06 40 fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02 fd 00 00 00 00 00 00 "
     "00"
     "00 00 00 00 00 00 00 01 00 b3 f8 5a a6 74 4e cb 19 3c cc ed e0 12 ff ff ea bb 00 00 02 04 05 "
     "a0"
     "01 03 03 08 04 02 08 0a 71 da ab c8 13 e4 ab 99 1d 10 54 3d dc 28 43 a8 4e 78 a6 bc fd c5 ed "
     "80",
     "cf 1b 1e 22 5e 06 a6 36 16 76 4a 06 7b 46 f4 b1", "dc 28 43 a8 4e 78 a6 bc fd c5 ed 80"},
    {"7_1_4_ipv6_cmac_server_data", kCmac, true, 0xa6744ecb, 0x193ccCEC,
     "6e 06 15 20 00 73 06 40 fd 00 00 00 00 00 00 00 00 00 00 00 00 00 00 02 fd 00 00 00 00 00 00 "
     "00"
     "00 00 00 00 00 00 00 01 00 b3 f8 5a a6 74 4e cc 19 3c cd 30 c0 18 01 00 52 f4 00 00 01 01 08 "
     "0a"
     "71 da ab d3 13 e4 ab a3 1d 10 54 3d c1 06 9b 7d fd 3d 69 3a 6d f3 f2 89 ff ff ff ff ff ff ff "
     "ff"
     "ff ff ff ff ff ff ff ff 00 43 01 04 fd e8 00 b4 01 01 01 7a 26 02 06 01 04 00 01 00 01 02 02 "
     "80"
     "00 02 02 02 00 02 02 42 00 02 06 41 04 00 00 fd e8 02 08 40 06 00 64 00 01 01 00",
     "cf 1b 1e 22 5e 06 a6 36 16 76 4a 06 7b 46 f4 b1", "c1 06 9b 7d fd 3d 69 3a 6d f3 f2 89"},
};

uint16_t port_at(const SegmentRef& seg, size_t off) {
  return static_cast<uint16_t>(static_cast<unsigned>(seg.tcp_header[off]) << 8 |
                               static_cast<unsigned>(seg.tcp_header[off + 1]));
}

class CryptoTcpAoTest : public ::testing::TestWithParam<Vector> {
 protected:
  Mgr mgr_ = std::move(Mgr::create().value());
  std::vector<std::byte> master_ = bytes("testvector");
};

TEST_P(CryptoTcpAoTest, TrafficKeyAndMacMatchRfc9235) {
  const Vector& v = GetParam();
  const auto pkt = hex(v.packet);
  const SegmentRef seg = segment_of(pkt);
  const AoContext ctx{seg.src, seg.dst, port_at(seg, 0), port_at(seg, 2), v.src_isn, v.dst_isn};
  const auto key = AoTrafficKey::derive(mgr_, v.alg, master_, ctx);
  EXPECT_EQ(key.algorithm(), v.alg);
  EXPECT_TRUE(same(key.bytes(), hex(v.traffic_key)));

  auto mac = ao_mac(mgr_, key, seg, /*sne=*/0, v.include_options);
  ASSERT_TRUE(mac.ok()) << to_string(mac.error());
  EXPECT_TRUE(same(*mac, hex(v.mac)));
  EXPECT_TRUE(ao_verify(mgr_, key, seg, 0, v.include_options).ok());

  // The same segment under another SNE, or the other option-coverage setting, is a different
  // message (every vector has options besides TCP-AO).
  EXPECT_EQ(ao_verify(mgr_, key, seg, 1, v.include_options).error(), CryptoError::kMismatch);
  EXPECT_EQ(ao_verify(mgr_, key, seg, 0, !v.include_options).error(), CryptoError::kMismatch);
}

TEST_P(CryptoTcpAoTest, RejectsFlippedBits) {
  const Vector& v = GetParam();
  const auto pkt = hex(v.packet);
  const SegmentRef seg0 = segment_of(pkt);
  const AoContext ctx{seg0.src, seg0.dst, port_at(seg0, 0), port_at(seg0, 2), v.src_isn, v.dst_isn};
  const auto key = AoTrafficKey::derive(mgr_, v.alg, master_, ctx);
  const size_t tcp_at = pkt.size() - seg0.tcp_header.size() - seg0.payload.size();
  const size_t ao_at = tcp_at + find_option(seg0.tcp_header, seg0.tcp_header.size(), 29)->offset;
  const bool v4 = (pkt[0] >> 4) == std::byte{4};
  const size_t hdr_end = tcp_at + seg0.tcp_header.size();
  // Every bit of the addresses and of the TCP segment is covered, except the checksum and,
  // when the MKT omits them, options other than TCP-AO (checked separately below).
  for (size_t i = 0; i < pkt.size(); ++i) {
    if (i == 0 || (v4 && (i == 2 || i == 3)) || (!v4 && (i == 4 || i == 5))) {
      continue;  // version/IHL and the IP length fields move the segment: not a one-bit test
    }
    const bool option = i >= tcp_at + 20 && i < hdr_end;
    const bool ao = i >= ao_at && i < ao_at + 16;
    if (option && !ao && !v.include_options) {
      continue;
    }
    const bool addr = v4 ? (i >= 12 && i < 20) : (i >= 8 && i < 40);
    const bool checksum = i == tcp_at + 16 || i == tcp_at + 17;
    const bool covered = addr || (i >= tcp_at && !checksum);
    auto p2 = pkt;
    p2[i] ^= std::byte{0x01};
    const auto r = ao_verify(mgr_, key, segment_of(p2), 0, v.include_options);
    EXPECT_EQ(r.ok(), !covered) << "packet byte " << i;
  }
  // The last data byte of the first option that is not a NOP or TCP-AO (MSS or timestamps):
  // covered only when the MKT includes options.
  size_t at = tcp_at + 20;
  while (pkt[at] == std::byte{1}) {
    ++at;
  }
  ASSERT_NE(at, ao_at);
  auto p2 = pkt;
  p2[at + static_cast<size_t>(pkt[at + 1]) - 1] ^= std::byte{0x01};
  EXPECT_EQ(ao_verify(mgr_, key, segment_of(p2), 0, v.include_options).ok(), !v.include_options);
}

INSTANTIATE_TEST_SUITE_P(Rfc9235, CryptoTcpAoTest, ::testing::ValuesIn(kRfc9235),
                         [](const auto& p) { return std::string(p.param.name); });

// RFC 5925 §5.2: the four keys of one connection, from each end, against RFC 9235 §4.1.
TEST(CryptoTcpAo, ConnectionKeysFromBothEnds) {
  auto mgr = std::move(Mgr::create().value());
  const auto master = bytes("testvector");
  const flow::Tuple client = flow::Tuple::of(flow::Tuple4{0x0a0b0c0d, 0xac1b1c1d, 0xe9d7, 179});
  const flow::Tuple server = flow::Tuple::of(flow::Tuple4{0xac1b1c1d, 0x0a0b0c0d, 179, 0xe9d7});
  const uint32_t client_isn = 0xfbfbab5a;
  const uint32_t server_isn = 0x11c14261;

  const auto c = ao_traffic_keys(mgr, kSha1, master, client, client_isn, server_isn);
  EXPECT_TRUE(same(c.send_syn.bytes(), hex("6d63ef1b02fe1509d4b1402707fd7b0416abb74f")));
  EXPECT_TRUE(same(c.send_other.bytes(), hex("d2e59c65ffc7b1a39347656463b70edc24a13d71")));
  EXPECT_TRUE(same(c.receive_other.bytes(), hex("d9e217e4834a80ca2f3fd8de2e41b8e6797fea96")));

  const auto s = ao_traffic_keys(mgr, kSha1, master, server, server_isn, client_isn);
  EXPECT_TRUE(same(s.receive_syn.bytes(), c.send_syn.bytes()));
  EXPECT_TRUE(same(s.send_other.bytes(), c.receive_other.bytes()));
  EXPECT_TRUE(same(s.receive_other.bytes(), c.send_other.bytes()));
  EXPECT_FALSE(same(s.send_syn.bytes(), c.send_syn.bytes()));
}

TEST(CryptoTcpAo, SixteenByteCmacMasterKeyIsUsedAsIs) {
  // RFC 5926 §3.1.1.2: only a Master_Key of other than 128 bits goes through AES-CMAC(0, K)
  // first; so a 16-byte key K and the 10-byte "testvector" reduced to K derive the same key.
  auto mgr = std::move(Mgr::create().value());
  const auto master = bytes("testvector");
  std::array<std::byte, 16> reduced{};
  const std::array<std::byte, 16> zero{};
  Aes128Cmac(mgr, zero).compute(mgr, master, reduced);
  const AoContext ctx{
      IpAddress::v4(0x0a0b0c0d), IpAddress::v4(0xac1b1c1d), 0xc4fa, 179, 0x787a1ddf, 0};
  const auto a = AoTrafficKey::derive(mgr, kCmac, master, ctx);
  const auto b = AoTrafficKey::derive(mgr, kCmac, reduced, ctx);
  EXPECT_TRUE(same(a.bytes(), hex("f5b8b3d5f34fdbb6eb8d4ab9660e60e3")));
  EXPECT_TRUE(same(a.bytes(), b.bytes()));
}

TEST(CryptoTcpAo, ShapeErrors) {
  auto mgr = std::move(Mgr::create().value());
  auto pkt = hex(kRfc9235[0].packet);
  const auto key = AoTrafficKey::derive(mgr, kSha1, bytes("testvector"), AoContext{});
  // The AO option (at TCP byte 40) turned into NOPs.
  auto p2 = pkt;
  for (size_t i = 20 + 40; i < 20 + 56; ++i) {
    p2[i] = std::byte{1};
  }
  EXPECT_EQ(ao_mac(mgr, key, segment_of(p2), 0, true).error(), CryptoError::kNoOption);
  // A MAC length other than 12 bytes.
  p2 = pkt;
  p2[20 + 41] = std::byte{12};
  EXPECT_EQ(ao_verify(mgr, key, segment_of(p2), 0, true).error(), CryptoError::kBadOptionLength);
  // A segment larger than the scratch buffer.
  std::vector<std::byte> big(Mgr::kScratchBytes);
  SegmentRef seg = segment_of(pkt);
  seg.payload = big;
  EXPECT_EQ(ao_mac(mgr, key, seg, 0, true).error(), CryptoError::kTooLong);
}

}  // namespace
}  // namespace tempo::crypto
