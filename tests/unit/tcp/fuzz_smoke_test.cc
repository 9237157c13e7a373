// Runs the fuzzer body on seeded pseudo-random inputs in the ordinary unit suite, so the
// invariants are exercised by gcc, clang and the ASan+UBSan build without libFuzzer.
#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "tcp_fuzz_body.h"

namespace tempo::tcp {
namespace {

TEST(TcpFuzzSmoke, RandomInputsKeepInvariants) {
  std::mt19937 rng(12345);
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> in(16 + rng() % 2048);
    for (auto& b : in) b = static_cast<uint8_t>(rng());
    fuzz::run_one(in.data(), in.size());
  }
}

}  // namespace
}  // namespace tempo::tcp
