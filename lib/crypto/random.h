// Secret keys from the kernel's CSPRNG, getrandom(2). Startup only (it is a syscall).
#pragma once

#include <array>
#include <cstddef>
#include <span>

#include <tempo/result.h>

#include "crypto/error.h"

namespace tempo::crypto {

using Key128 = std::array<std::byte, 16>;

// Fills `out` from getrandom(2) (blocking until the pool is initialised, retrying EINTR).
// Errors: kNoEntropy.
Result<void, CryptoError> fill_random(std::span<std::byte> out) noexcept;

// A fresh 128-bit key: the secret of a Prf (ISNs, SYN cookies, timestamp offsets).
// Errors: kNoEntropy.
Result<Key128, CryptoError> random_key() noexcept;

}  // namespace tempo::crypto
