// libFuzzer target: tcp::input, on_timer and the user calls on arbitrary input.
#include <cstddef>
#include <cstdint>

#include "tcp_fuzz_body.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)tempo::tcp::fuzz::run_one(data, size);
  return 0;
}
