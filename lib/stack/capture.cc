#include "stack/capture.h"

#include <array>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_pcapng.h>

namespace tempo::stack {

std::atomic<bool> Capture::active_{false};

namespace {
// The capture's own buffers: a copy a frame (chained 2 KB mbufs past that), and the ring
// between the Workers and the writer. Sized for bursts, not for a whole capture: the writer
// drains it continuously, and what does not fit is counted as dropped.
constexpr unsigned kPoolMbufs = 8191;
constexpr unsigned kRingSize = 8192;
constexpr unsigned kWriteBurst = 64;
rte_pcapng_t* g_pcapng = nullptr;  // the open file: the writer's, between start and stop
}  // namespace

Capture& Capture::instance() noexcept {
  static Capture c;
  return c;
}

Result<void, std::string> Capture::start(const CaptureSpec& spec) {
  stop();
  std::lock_guard lock(mu_);
  if (pool_ == nullptr) {
    pool_ = rte_pktmbuf_pool_create("tempo_capture", kPoolMbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    SOCKET_ID_ANY);
    ring_ = rte_ring_create("tempo_capture", kRingSize, SOCKET_ID_ANY, RING_F_SC_DEQ);
    if (pool_ == nullptr || ring_ == nullptr) {
      return fail("capture: buffers: " + std::string(rte_strerror(rte_errno)));
    }
  }
  // Frames a Worker queued as the last capture ended.
  std::array<void*, kWriteBurst> stale;
  while (unsigned n = rte_ring_dequeue_burst(ring_, stale.data(), kWriteBurst, nullptr)) {
    rte_pktmbuf_free_bulk(reinterpret_cast<rte_mbuf**>(stale.data()), n);
  }
  fd_ = open(spec.file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    return fail("capture: " + spec.file + ": " + std::strerror(errno));
  }
  g_pcapng = rte_pcapng_fdopen(fd_, nullptr, nullptr, "tempo", nullptr);
  if (g_pcapng == nullptr) {
    close(fd_);
    fd_ = -1;
    return fail("capture: " + spec.file + ": " + rte_strerror(rte_errno));
  }
  file_ = spec.file;
  byte_limit_ = spec.bytes;
  port_ = spec.port;
  rx_ = spec.rx;
  tx_ = spec.tx;
  count_ = spec.count;
  snaplen_ = spec.snaplen;
  taken_ = 0;
  captured_ = 0;
  bytes_ = 0;
  dropped_ = 0;
  stopping_ = false;
  writer_ = std::thread([this] { write_loop(); });
  active_.store(true, std::memory_order_release);
  return {};
}

void Capture::stop() {
  std::lock_guard lock(mu_);
  active_.store(false, std::memory_order_release);
  stopping_ = true;
  if (writer_.joinable()) {
    writer_.join();
  }
  if (g_pcapng != nullptr) {
    rte_pcapng_close(g_pcapng);  // closes fd_ too
    g_pcapng = nullptr;
    fd_ = -1;
  }
}

CaptureStatus Capture::status() const {
  std::lock_guard lock(mu_);
  return CaptureStatus{.active = active(),
                       .file = file_,
                       .captured = captured_.load(),
                       .bytes = bytes_.load(),
                       .dropped = dropped_.load()};
}

void Capture::tap(uint16_t port, uint16_t queue, rte_mbuf* const* pkts, uint16_t n,
                  Dir d) noexcept {
  const int want = port_.load(std::memory_order_relaxed);
  if ((want >= 0 && want != port) || !(d == Dir::kRx ? rx_ : tx_).load(std::memory_order_relaxed)) {
    return;
  }
  const uint64_t limit = count_.load(std::memory_order_relaxed);
  const uint32_t snaplen = snaplen_.load(std::memory_order_relaxed);
  const uint64_t now = rte_rdtsc();
  for (uint16_t i = 0; i < n; ++i) {
    if (limit != 0 && taken_.fetch_add(1, std::memory_order_relaxed) >= limit) {
      return;  // the writer ends the capture once it has written `limit`
    }
    rte_mbuf* c =
        rte_pcapng_copy(port, queue, pkts[i], pool_, snaplen, now,
                        d == Dir::kRx ? RTE_PCAPNG_DIRECTION_IN : RTE_PCAPNG_DIRECTION_OUT);
    if (c == nullptr || rte_ring_enqueue(ring_, c) != 0) {
      rte_pktmbuf_free(c);
      dropped_.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void Capture::write_loop() {
  std::array<rte_mbuf*, kWriteBurst> burst;
  const uint64_t limit = count_.load();
  for (;;) {
    const unsigned n =
        rte_ring_dequeue_burst(ring_, reinterpret_cast<void**>(burst.data()), kWriteBurst, nullptr);
    if (n == 0) {
      if (stopping_.load()) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    const ssize_t w = rte_pcapng_write_packets(g_pcapng, burst.data(), static_cast<uint16_t>(n));
    if (w < 0) {
      dropped_ += n;
      active_.store(false, std::memory_order_release);  // the disk refused: end it
      return;
    }
    captured_ += n;
    bytes_ += static_cast<uint64_t>(w);
    if ((limit != 0 && captured_.load() + dropped_.load() >= limit) ||
        (byte_limit_ != 0 && bytes_.load() >= byte_limit_)) {
      active_.store(false, std::memory_order_release);  // done: stop() closes the file
      stopping_ = true;
    }
  }
}

}  // namespace tempo::stack
