// Capture: a bounded packet capture to a pcapng file (rte_pcapng), built in: from the config
// (`capture:`) or started and stopped through telemetry (/tempo/capture). The Workers copy each
// frame they receive or send (rte_pcapng_copy, at most `snaplen` bytes) into a ring, lock-free;
// a writer thread of its own writes the file, so no Worker waits on a disk. It ends when it has
// `count` frames or `bytes` bytes, or when stopped. Frames it cannot take (its ring full, its
// pool empty) are counted and not waited for: a capture never slows the loop it watches.
//
// Off, it costs each burst one atomic load (Capture::active(): a plain load on x86-64).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <tempo/result.h>

namespace tempo::stack {

struct CaptureSpec {
  std::string file;  // created (truncated) by start()
  int port = -1;     // the ethdev port id to capture, -1: every port
  bool rx = true, tx = true;
  uint64_t count = 10000;  // frames, then it ends (0: no bound)
  uint64_t bytes = 0;      // or bytes written (0: no bound)
  uint32_t snaplen = 65535;
};

struct CaptureStatus {
  bool active = false;
  std::string file;
  uint64_t captured = 0;  // frames written
  uint64_t bytes = 0;     // bytes written to the file
  uint64_t dropped = 0;   // frames not taken: ring full, pool empty
};

class Capture {
 public:
  enum class Dir : uint8_t { kRx, kTx };

  // The process's one capture.
  static Capture& instance() noexcept;

  // Starts a capture (ending one still running first). Errors: the file cannot be created, or
  // the pool or ring cannot be made (one line).
  Result<void, std::string> start(const CaptureSpec& spec);
  // Ends the capture now; what is in the ring is written first. Idempotent.
  void stop();
  CaptureStatus status() const;

  static bool active() noexcept { return active_.load(std::memory_order_acquire); }
  // A Worker's burst on (port, queue): copies what the spec wants. Call only when active().
  void tap(uint16_t port, uint16_t queue, rte_mbuf* const* pkts, uint16_t n, Dir d) noexcept;

 private:
  Capture() = default;
  void write_loop();

  static std::atomic<bool> active_;
  mutable std::mutex mu_;  // start, stop, status: never the datapath
  std::string file_;
  uint64_t byte_limit_ = 0;
  // What tap() reads, as atomics: a Worker may still be in tap() as a capture ends and the next
  // starts. The pool and the ring are made once and kept for the same reason.
  std::atomic<int> port_{-1};
  std::atomic<bool> rx_{true}, tx_{true};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint32_t> snaplen_{65535};
  rte_mempool* pool_ = nullptr;
  rte_ring* ring_ = nullptr;
  std::thread writer_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> taken_{0};  // frames the Workers copied (bounded by spec_.count)
  std::atomic<uint64_t> captured_{0};
  std::atomic<uint64_t> bytes_{0};
  std::atomic<uint64_t> dropped_{0};
  int fd_ = -1;
};

}  // namespace tempo::stack
