// The test double for tcp::Buffer: a shared, immutable byte string. Copying takes a reference,
// like an mbuf refcount, so tests can check that queues reference rather than copy.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace tempo::tcp::test {

struct TestBuf {
  std::shared_ptr<const std::string> bytes;

  TestBuf() = default;
  explicit TestBuf(std::string_view s) : bytes(std::make_shared<const std::string>(s)) {}
  uint32_t size() const noexcept { return bytes ? static_cast<uint32_t>(bytes->size()) : 0; }
  std::string_view view(uint32_t off, uint32_t len) const {
    return std::string_view(*bytes).substr(off, len);
  }
  long refs() const noexcept { return bytes.use_count(); }
};

}  // namespace tempo::tcp::test
