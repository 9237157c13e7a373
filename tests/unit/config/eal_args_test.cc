// rte_eal_init's argv from the config: vdev ports, PCI ports, and the options around them.
#include <algorithm>
#include <string>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include <tempo/config.h>

namespace tempo::config {
namespace {

using Args = std::vector<std::string>;

TEST(EalArgsTest, VdevPortsGetNoPciAndVdev) {
  const Config c = load_string(R"(
eal: {lcores: "0-1", memory_mb: 1024, no_huge: true, file_prefix: tempo-demo}
ports:
  - {device: "net_tap0,iface=tempo0", ipv4: 198.18.0.2/24}
  - {device: "net_af_packet0,iface=veth0", ipv4: 198.19.0.2/24}
)");
  EXPECT_EQ(
      eal_args(c, "tempo-echo"),
      (Args{"tempo-echo", "-l", "0-1", "-m", "1024", "--no-huge", "--file-prefix", "tempo-demo",
            "--no-pci", "--vdev=net_tap0,iface=tempo0", "--vdev=net_af_packet0,iface=veth0"}));
}

// memif's zero-copy client needs its DPDK memory in one file per list; a server (which ignores
// zero-copy=yes) and a copy-mode client do not get the option.
TEST(EalArgsTest, AMemifZeroCopyClientGetsSingleFileSegments) {
  const Config zc = load_string(R"(
eal: {file_prefix: z}
ports:
  - {device: "net_memif0,role=client,id=0,zero-copy=yes", ipv4: 198.18.0.2/24}
)");
  EXPECT_EQ(eal_args(zc),
            (Args{"tempo", "-l", "0", "-m", "512", "--file-prefix", "z", "--no-pci",
                  "--single-file-segments", "--vdev=net_memif0,role=client,id=0,zero-copy=yes"}));
  EXPECT_TRUE(memif_zero_copy_client(zc.ports[0]));
  for (const char* device : {"net_memif0,role=server,zero-copy=yes", "net_memif0,role=client",
                             "net_tap0,role=client,zero-copy=yes"}) {
    PortConfig p;
    p.device = device;
    EXPECT_FALSE(memif_zero_copy_client(p)) << device;
  }
  EXPECT_EQ(device_arg("net_memif0,role=client,bsize=9216", "bsize"), "9216");
  EXPECT_EQ(device_arg("net_memif0,role=client,xbsize=1", "bsize"), "");
}

TEST(EalArgsTest, PciPortsGetAllowListAndKeepPciBus) {
  const Config c = load_string(R"(
eal: {file_prefix: p, log_level: "pmd.net.mlx5:debug", extra_args: ["--huge-unlink", "-n", "4"]}
ports:
  - {device: "0000:03:00.0,rxq_cqe_comp_en=1", ipv4: 10.0.0.2/24}
  - {device: "net_tap0", ipv4: 198.18.0.2/24}
)");
  EXPECT_EQ(eal_args(c), (Args{"tempo", "-l", "0", "-m", "512", "--file-prefix", "p", "-a",
                               "0000:03:00.0,rxq_cqe_comp_en=1", "--vdev=net_tap0", "--log-level",
                               "pmd.net.mlx5:debug", "--huge-unlink", "-n", "4"}));
}

TEST(EalArgsTest, NeverInMemoryAndDefaultFilePrefixIsPerProcess) {
  const Config c =
      load_string("eal: {no_huge: true}\nports: [{device: net_tap0, ipv4: 1.2.3.4/8}]");
  const Args a = eal_args(c);
  EXPECT_EQ(std::count(a.begin(), a.end(), "--in-memory"), 0);
  const auto it = std::find(a.begin(), a.end(), "--file-prefix");
  ASSERT_NE(it, a.end());
  ASSERT_NE(it + 1, a.end());
  EXPECT_EQ(*(it + 1), c.eal.file_prefix);
  EXPECT_EQ(c.eal.file_prefix.rfind("tempo-", 0), 0u);
}

TEST(EalArgsTest, InCodeConfigStillGetsAPerProcessFilePrefix) {
  Config c;
  PortConfig p;
  p.device = "0000:03:00.0";
  p.device_kind = DeviceKind::kPci;
  c.ports.push_back(p);
  EXPECT_EQ(eal_args(c), (Args{"tempo", "-l", "0", "-m", "512", "--file-prefix",
                               "tempo-" + std::to_string(getpid()), "-a", "0000:03:00.0"}));
}

}  // namespace
}  // namespace tempo::config
