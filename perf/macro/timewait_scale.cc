// timewait-scale: fills a TIME_WAIT table with N entries and reports what they cost in memory,
// beside the Linux kernel's per-entry cost (the tw_sock_TCP / tw_sock_TCPv6 slab object).
//
//   timewait-scale COUNT [4|6] [BOUND]
//
// BOUND is the table's max_entries (default: COUNT, a table sized for the load; tempo's default
// config has 4000000). The index and slab follow the entries held, not the bound (table.h).
//
// Prints the process RSS delta per entry (from /proc/self/statm, before creating the table and
// after the fill), the table's own all-in figure at its bound, how much of the RSS is in 2 MB
// pages, the kernel's slab bytes per object (/sys/kernel/slab/tw_sock_TCP/slab_size, else
// /proc/slabinfo, else "unavailable") and the ratio.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <unistd.h>

#include "timewait/table.h"

namespace {

using namespace tempo::timewait;

double rss_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) {
    return 0;
  }
  unsigned long size = 0, resident = 0;
  const int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return n == 2 ? static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) : 0;
}

// AnonHugePages from /proc/self/smaps_rollup, in bytes (0 if unknown).
double huge_bytes() {
  std::FILE* f = std::fopen("/proc/self/smaps_rollup", "r");
  if (f == nullptr) {
    return 0;
  }
  char line[256];
  double kb = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, "AnonHugePages:", 14) == 0) {
      kb = std::atof(line + 14);
    }
  }
  std::fclose(f);
  return kb * 1024;
}

// Linux's bytes per TIME_WAIT socket: the slab object size including its alignment.
std::optional<double> linux_tw_bytes(int family) {
  const char* name = family == 6 ? "tw_sock_TCPv6" : "tw_sock_TCP";
  char path[128];
  std::snprintf(path, sizeof path, "/sys/kernel/slab/%s/slab_size", name);
  if (std::FILE* f = std::fopen(path, "r")) {
    double v = 0;
    const int n = std::fscanf(f, "%lf", &v);
    std::fclose(f);
    if (n == 1 && v > 0) {
      return v;
    }
  }
  if (std::FILE* f = std::fopen("/proc/slabinfo", "r")) {
    char line[512];
    while (std::fgets(line, sizeof line, f) != nullptr) {
      char slab[64];
      unsigned long active = 0, total = 0, objsize = 0;
      if (std::sscanf(line, "%63s %lu %lu %lu", slab, &active, &total, &objsize) == 4 &&
          std::strcmp(slab, name) == 0) {
        std::fclose(f);
        return static_cast<double>(objsize);
      }
    }
    std::fclose(f);
  }
  return std::nullopt;
}

template <class Tuple>
Tuple make(uint32_t id);

template <>
tempo::flow::Tuple4 make<tempo::flow::Tuple4>(uint32_t id) {
  tempo::flow::Tuple4 t;
  t.local = 0x020012c6;
  t.remote = 0x000012c6 | ((id >> 16) << 16);
  t.local_port = 0x5000;
  t.remote_port = static_cast<uint16_t>(id);
  return t;
}

template <>
tempo::flow::Tuple6 make<tempo::flow::Tuple6>(uint32_t id) {
  tempo::flow::Tuple6 t;
  t.local = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  t.remote = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  std::memcpy(&t.remote[12], &id, sizeof id);
  t.local_port = 0x5000;
  t.remote_port = static_cast<uint16_t>(id >> 3);
  return t;
}

template <class Tuple>
int run(uint32_t count, int family, uint32_t bound) {
  TwTableConfig cfg;
  cfg.max_entries = bound;
  cfg.on_full = TwOnFull::kRefuse;
  cfg.seed = std::random_device{}() | uint64_t{std::random_device{}()} << 32;
  const double before = rss_bytes();
  auto table = TwTable<Tuple>::create(cfg);
  if (!table.ok()) {
    std::fprintf(stderr, "timewait-scale: cannot create a table of %u entries\n", count);
    return 1;
  }
  TwConn conn;
  conn.flags = TwConn::kTsOk;
  const auto start = std::chrono::steady_clock::now();
  const tempo::Ticks now = tempo::Ticks::from_sec(1);
  for (uint32_t id = 0; id < count; ++id) {
    if (!table->insert(make<Tuple>(id), conn, now).ok()) {
      std::fprintf(stderr, "timewait-scale: insert %u failed\n", id);
      return 1;
    }
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double after = rss_bytes();
  const double per_entry = (after - before) / count;
  std::printf("family                 IPv%d\n", family);
  std::printf("entries                %u\n", table->size());
  std::printf("max_entries            %u\n", table->max_entries());
  std::printf("index buckets          %u (%u at the bound), %.0f%% load\n", table->bucket_count(),
              table->bucket_count_at_bound(),
              100.0 * table->size() / (10.0 * table->bucket_count()));
  std::printf("fill time              %.2f s (%.0f inserts/s)\n", secs, count / secs);
  std::printf("record bytes           %zu\n", sizeof(TwRecord<Tuple>));
  std::printf("all-in bytes at bound  %.1f (record + index share)\n",
              table->bytes_per_entry_at_bound());
  std::printf("RSS delta              %.1f MB\n", (after - before) / 1e6);
  std::printf("RSS bytes per entry    %.1f\n", per_entry);
  std::printf("of it in 2 MB pages    %.0f%%\n", 100.0 * huge_bytes() / (after > 0 ? after : 1));
  const auto linux_bytes = linux_tw_bytes(family);
  if (linux_bytes) {
    std::printf("linux %-13s bytes  %.0f (slab object, the socket alone)\n",
                family == 6 ? "tw_sock_TCPv6" : "tw_sock_TCP", *linux_bytes);
    std::printf("ratio linux / tempo    %.2f\n", *linux_bytes / per_entry);
  } else {
    std::printf("linux tw_sock bytes    unavailable\n");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4 || std::strcmp(argv[1], "--help") == 0) {
    std::fprintf(stderr, "usage: timewait-scale COUNT [4|6] [BOUND]\n");
    return 2;
  }
  char* end = nullptr;
  const unsigned long count = std::strtoul(argv[1], &end, 10);
  const int family = argc >= 3 ? std::atoi(argv[2]) : 4;
  char* bound_end = nullptr;
  const unsigned long bound = argc == 4 ? std::strtoul(argv[3], &bound_end, 10) : count;
  if (*end != '\0' || count == 0 || count > TwTableV4::kMaxEntries ||
      (family != 4 && family != 6) || (bound_end != nullptr && *bound_end != '\0') ||
      bound < count || bound > TwTableV4::kMaxEntries) {
    std::fprintf(stderr,
                 "timewait-scale: COUNT in [1, 1e9], family 4 or 6, BOUND in [COUNT, 1e9]\n");
    return 2;
  }
  const auto n = static_cast<uint32_t>(count);
  const auto b = static_cast<uint32_t>(bound);
  return family == 4 ? run<tempo::flow::Tuple4>(n, 4, b) : run<tempo::flow::Tuple6>(n, 6, b);
}
