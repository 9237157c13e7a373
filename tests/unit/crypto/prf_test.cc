// crypto::Prf and the primitives under it: published vectors for AES-CMAC (RFC 4493 §4) and
// HMAC-SHA-1 (RFC 2202 §3), then the PRF's determinism and its sensitivity to key and message.
#include "crypto/prf.h"

#include <array>
#include <cstddef>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "crypto/cmac.h"
#include "crypto/hmac_sha1.h"
#include "crypto/mgr.h"
#include "crypto/random.h"
#include "hex.h"

namespace tempo::crypto {
namespace {

using test::bytes;
using test::hex;
using test::same;

class CryptoPrfTest : public ::testing::TestWithParam<MgrArch> {
 protected:
  Mgr mgr_ = std::move(Mgr::create(GetParam()).value());
};

Key128 key_of(std::string_view h) {
  Key128 k{};
  auto v = hex(h);
  std::copy(v.begin(), v.end(), k.begin());
  return k;
}

TEST_P(CryptoPrfTest, CmacRfc4493Vectors) {
  const Key128 k = key_of("2b7e1516 28aed2a6 abf71588 09cf4f3c");
  Aes128Cmac cmac(mgr_, k);
  const auto m =
      hex("6bc1bee2 2e409f96 e93d7e11 7393172a ae2d8a57 1e03ac9c 9eb76fac 45af8e51"
          "30c81c46 a35ce411 e5fbc119 1a0a52ef f69f2445 df4f9b17 ad2b417b e66c3710");
  struct Case {
    size_t len;
    const char* tag;
  };
  for (const Case c : {Case{0, "bb1d6929 e9593728 7fa37d12 9b756746"},
                       Case{16, "070a16b4 6b4d4144 f79bdd9d d04a287c"},
                       Case{40, "dfa66747 de9ae630 30ca3261 1497c827"},
                       Case{64, "51f0bebf 7e3b9d92 fc497417 79363cfe"}}) {
    std::array<std::byte, 16> tag{};
    cmac.compute(mgr_, std::span(m).first(c.len), tag);
    EXPECT_TRUE(same(tag, hex(c.tag))) << "Mlen " << c.len;
  }
  // RFC 4493 §2.5 truncation: a 12-byte tag is the full tag's prefix.
  std::array<std::byte, 12> short_tag{};
  cmac.compute(mgr_, std::span(m).first(40), short_tag);
  const auto want = hex("dfa66747 de9ae630 30ca3261");
  EXPECT_TRUE(same(short_tag, want));
}

TEST_P(CryptoPrfTest, HmacSha1Rfc2202Vectors) {
  struct Case {
    std::vector<std::byte> key;
    std::vector<std::byte> data;
    const char* digest;
  };
  const std::vector<Case> cases = {
      {std::vector<std::byte>(20, std::byte{0x0b}), bytes("Hi There"),
       "b617318655057264e28bc0b6fb378c8ef146be00"},
      {bytes("Jefe"), bytes("what do ya want for nothing?"),
       "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
      // Test case 6: an 80-byte key, longer than a block, is hashed first.
      {std::vector<std::byte>(80, std::byte{0xaa}),
       bytes("Test Using Larger Than Block-Size Key - Hash Key First"),
       "aa4ae5e15272d00e95705637ce8a3b55ed402112"},
  };
  for (const auto& c : cases) {
    HmacSha1 h(mgr_, c.key);
    std::array<std::byte, 20> d{};
    h.compute(mgr_, c.data, d);
    EXPECT_TRUE(same(d, hex(c.digest))) << c.digest;
    std::array<std::byte, 12> d96{};
    h.compute(mgr_, c.data, d96);
    const auto full = hex(c.digest);
    EXPECT_TRUE(same(d96, std::span(full).first(12))) << c.digest;
  }
}

TEST_P(CryptoPrfTest, DeterministicForKeyAndMessage) {
  const Key128 k = key_of("000102030405060708090a0b0c0d0e0f");
  Prf a(mgr_, k);
  Prf b(mgr_, k);
  const auto msg = hex("c6120001 c6120002 1f90 8000 00000000 11223344 55667788 99aabbcc dd");
  EXPECT_EQ(a.eval(msg), a.eval(msg));
  EXPECT_EQ(a.eval(msg), b.eval(msg));
  // eval() is the big-endian first half of eval128(), which is AES-CMAC itself.
  const auto full = a.eval128(msg);
  std::array<std::byte, 16> cmac{};
  Aes128Cmac(mgr_, k).compute(mgr_, msg, cmac);
  EXPECT_EQ(full, cmac);
  uint64_t first = 0;
  for (size_t i = 0; i < 8; ++i) {
    first = (first << 8) | static_cast<uint64_t>(full[i]);
  }
  EXPECT_EQ(a.eval(msg), first);
}

TEST_P(CryptoPrfTest, EveryKeyBitAndMessageBitMatters) {
  const Key128 k = key_of("000102030405060708090a0b0c0d0e0f");
  const auto msg = hex("c6120001 c6120002 1f90 8000 00000000 11223344 55667788 99aabbcc dd");
  Prf base(mgr_, k);
  const uint64_t v = base.eval(msg);
  std::set<uint64_t> seen{v};
  for (size_t bit = 0; bit < 128; ++bit) {
    Key128 k2 = k;
    k2[bit / 8] ^= std::byte(1u << (bit % 8));
    seen.insert(Prf(mgr_, k2).eval(msg));
  }
  for (size_t bit = 0; bit < msg.size() * 8; ++bit) {
    auto m2 = msg;
    m2[bit / 8] ^= std::byte(1u << (bit % 8));
    seen.insert(base.eval(m2));
  }
  // A trailing zero byte is a different message, not padding.
  auto longer = msg;
  longer.push_back(std::byte{0});
  seen.insert(base.eval(longer));
  EXPECT_EQ(seen.size(), 1 + 128 + msg.size() * 8 + 1);
}

TEST_P(CryptoPrfTest, ManagerMovesKeepWorking) {
  Mgr other = std::move(mgr_);
  EXPECT_EQ(mgr_.imb(), nullptr);
  ASSERT_NE(other.imb(), nullptr);
  EXPECT_FALSE(other.arch_name().empty());
  const Key128 k = key_of("2b7e1516 28aed2a6 abf71588 09cf4f3c");
  std::array<std::byte, 16> tag{};
  Aes128Cmac(other, k).compute(other, {}, tag);
  EXPECT_TRUE(same(tag, hex("bb1d6929 e9593728 7fa37d12 9b756746")));
  mgr_ = std::move(other);
  EXPECT_NE(mgr_.imb(), nullptr);
}

INSTANTIATE_TEST_SUITE_P(Arch, CryptoPrfTest, ::testing::Values(MgrArch::kAuto, MgrArch::kSse),
                         [](const auto& p) { return p.param == MgrArch::kAuto ? "auto" : "sse"; });

TEST(CryptoRandomTest, KeysDifferAndAreNotZero) {
  auto a = random_key();
  auto b = random_key();
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_NE(*a, Key128{});
}

}  // namespace
}  // namespace tempo::crypto
