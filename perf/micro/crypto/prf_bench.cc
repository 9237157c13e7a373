// Which IPsec-MB MAC makes the fastest keyed PRF for ~36-byte inputs (an IPv6 4-tuple, or an
// IPv4 one plus a counter)? lib/crypto/prf.h picked by these numbers: AES-128-CMAC, HMAC-SHA-1
// and HMAC-SHA-256, one job at a time as the datapath runs them. Second argument: the manager's
// code path, 0 = init_mb_mgr_auto (avx2 on an AMD EPYC), 1 = SSE.
//
// Measured (AMD EPYC, 2 shared cores, median of 5, ns per 36-byte MAC):
//   auto/avx2: CMAC 213, HMAC-SHA-1 735, HMAC-SHA-256 1194
//   sse:       CMAC 140, HMAC-SHA-1 212, HMAC-SHA-256 213
#include <array>
#include <cstddef>
#include <string>
#include <utility>

#include <benchmark/benchmark.h>

#include "crypto/cmac.h"
#include "crypto/hmac_sha1.h"
#include "crypto/imb.h"
#include "crypto/mgr.h"
#include "crypto/prf.h"

namespace tempo::crypto {
namespace {

std::array<std::byte, 64> make_msg() {
  std::array<std::byte, 64> m{};
  for (size_t i = 0; i < m.size(); ++i) {
    m[i] = std::byte(i * 7 + 1);
  }
  return m;
}

void BM_Cmac(benchmark::State& state) {
  auto mgr = std::move(Mgr::create(state.range(1) ? MgrArch::kSse : MgrArch::kAuto).value());
  Key128 key{};
  key[0] = std::byte{1};
  Aes128Cmac mac(mgr, key);
  auto msg = make_msg();
  std::array<std::byte, 16> tag{};
  const auto len = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    mac.compute(mgr, std::span(msg).first(len), tag);
    benchmark::DoNotOptimize(tag);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(std::string(mgr.arch_name()));
}
BENCHMARK(BM_Cmac)->ArgsProduct({{12, 36}, {0, 1}});

void BM_HmacSha1(benchmark::State& state) {
  auto mgr = std::move(Mgr::create(state.range(1) ? MgrArch::kSse : MgrArch::kAuto).value());
  Key128 key{};
  key[0] = std::byte{1};
  HmacSha1 mac(mgr, key);
  auto msg = make_msg();
  std::array<std::byte, 20> tag{};
  const auto len = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    mac.compute(mgr, std::span(msg).first(len), tag);
    benchmark::DoNotOptimize(tag);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HmacSha1)->ArgsProduct({{12, 36}, {0, 1}});

// HMAC-SHA-256 straight on the IPsec-MB API: tempo does not otherwise use it.
void BM_HmacSha256(benchmark::State& state) {
  auto mgr = std::move(Mgr::create(state.range(1) ? MgrArch::kSse : MgrArch::kAuto).value());
  alignas(16) std::array<std::byte, 64> pad{};
  alignas(16) std::array<std::byte, 32> ipad{};
  alignas(16) std::array<std::byte, 32> opad{};
  pad.fill(std::byte{0x36});
  pad[0] ^= std::byte{1};
  IMB_SHA256_ONE_BLOCK(mgr.imb(), pad.data(), ipad.data());
  pad.fill(std::byte{0x5c});
  pad[0] ^= std::byte{1};
  IMB_SHA256_ONE_BLOCK(mgr.imb(), pad.data(), opad.data());
  auto msg = make_msg();
  std::array<std::byte, 32> tag{};
  const auto len = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    IMB_JOB* job =
        detail::hash_job(mgr.imb(), IMB_AUTH_HMAC_SHA_256, msg.data(), len, tag.data(), 32);
    job->u.HMAC._hashed_auth_key_xor_ipad = reinterpret_cast<const uint8_t*>(ipad.data());
    job->u.HMAC._hashed_auth_key_xor_opad = reinterpret_cast<const uint8_t*>(opad.data());
    if (!detail::run(mgr.imb())) {
      state.SkipWithError("job failed");
      break;
    }
    benchmark::DoNotOptimize(tag);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HmacSha256)->ArgsProduct({{12, 36}, {0, 1}});

void BM_PrfEval(benchmark::State& state) {
  auto mgr = std::move(Mgr::create(state.range(1) ? MgrArch::kSse : MgrArch::kAuto).value());
  Key128 key{};
  key[0] = std::byte{1};
  Prf prf(mgr, key);
  auto msg = make_msg();
  const auto len = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    benchmark::DoNotOptimize(prf.eval(std::span(msg).first(len)));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PrfEval)->ArgsProduct({{12, 36}, {0, 1}});

}  // namespace
}  // namespace tempo::crypto

BENCHMARK_MAIN();
