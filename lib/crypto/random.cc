#include "crypto/random.h"

#include <cerrno>
#include <sys/random.h>

namespace tempo::crypto {

Result<void, CryptoError> fill_random(std::span<std::byte> out) noexcept {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = getrandom(out.data() + done, out.size() - done, 0);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail(CryptoError::kNoEntropy);
    }
    if (n == 0) {
      return fail(CryptoError::kNoEntropy);
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

Result<Key128, CryptoError> random_key() noexcept {
  Key128 k{};
  if (auto r = fill_random(k); !r) {
    return fail(r.error());
  }
  return k;
}

}  // namespace tempo::crypto
