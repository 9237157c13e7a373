// A minimal EAL for unit tests that need real DPDK objects (mempools, rte_hash): no
// hugepages, no PCI, no shared config, a per-process file prefix. Register it from main():
//   ::testing::AddGlobalTestEnvironment(new tempo::test::EalEnvironment("name"));
#pragma once

#include <filesystem>
#include <string>
#include <system_error>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_mbuf.h>

namespace tempo::test {

class EalEnvironment : public ::testing::Environment {
 public:
  explicit EalEnvironment(std::string name) : name_(std::move(name)) {}

  void SetUp() override {
    const std::string prefix = "tempo-" + name_ + "-" + std::to_string(getpid());
    std::vector<std::string> args = {
        name_,           "--no-huge", "-m",          "64", "--no-pci", "--no-shconf",
        "--file-prefix", prefix,      "--log-level", "3",  "-l",       "0"};
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    ASSERT_GE(rte_eal_init(static_cast<int>(argv.size()), argv.data()), 0);
  }
  // rte_eal_cleanup leaves the runtime directory (/var/run/dpdk/<prefix>): removed as
  // dpdk::eal_cleanup does for the apps, so test runs do not pile them up.
  void TearDown() override {
    const std::string dir = rte_eal_get_runtime_dir();
    rte_eal_cleanup();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

 private:
  std::string name_;
};

// A packet mbuf pool made once the EAL is up (register it after EalEnvironment), freed at the
// end; tests draw from *out.
class MbufPoolEnvironment : public ::testing::Environment {
 public:
  MbufPoolEnvironment(std::string name, unsigned n, rte_mempool** out)
      : name_(std::move(name)), n_(n), out_(out) {}

  void SetUp() override {
    *out_ = rte_pktmbuf_pool_create(name_.c_str(), n_, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    ASSERT_NE(*out_, nullptr);
  }
  void TearDown() override { rte_mempool_free(*out_); }

 private:
  std::string name_;
  unsigned n_;
  rte_mempool** out_;
};

}  // namespace tempo::test
