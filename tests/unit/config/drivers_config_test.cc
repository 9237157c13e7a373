// drivers-config/: one commented YAML per device family tempo runs on (issue 24), each loaded
// by the real loader, so that a file the README points an operator at cannot drift from the
// configuration contract. The NIC files name a PCI device (EAL allowlist, PCI probing on); the
// test and virtual devices a vdev (--no-pci). Files this machine can run are also run by the
// interop tests (net_tap, af_packet, af_xdp, memif).
#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <tempo/config.h>

namespace tempo::config {
namespace {

const std::filesystem::path kDir = std::filesystem::path(TEMPO_SOURCE_ROOT) / "drivers-config";

const std::set<std::string> kPci = {"mlx5", "ice", "i40e", "ixgbe", "ena", "virtio"};
const std::set<std::string> kVdev = {"net_tap", "af_packet",    "af_xdp",
                                     "memif",   "memif-client", "virtio-user"};

TEST(DriversConfig, EveryFamilyHasAFile) {
  std::set<std::string> found;
  for (const auto& e : std::filesystem::directory_iterator(kDir)) {
    if (e.path().extension() == ".yaml") {
      found.insert(e.path().stem().string());
    }
  }
  std::set<std::string> want = kPci;
  want.insert(kVdev.begin(), kVdev.end());
  EXPECT_EQ(found, want);
}

TEST(DriversConfig, EveryFileLoadsAndNamesItsDeviceKind) {
  for (const auto& e : std::filesystem::directory_iterator(kDir)) {
    if (e.path().extension() != ".yaml") {
      continue;
    }
    const std::string family = e.path().stem().string();
    SCOPED_TRACE(family);
    Config c;
    try {
      c = load_file(e.path().string());
    } catch (const ConfigError& err) {
      ADD_FAILURE() << err.what();
      continue;
    }
    ASSERT_FALSE(c.ports.empty());
    const std::vector<std::string> args = eal_args(c);
    const bool no_pci = std::find(args.begin(), args.end(), "--no-pci") != args.end();
    const bool allow = std::find(args.begin(), args.end(), "-a") != args.end();
    if (kPci.count(family) != 0) {
      EXPECT_EQ(c.ports[0].device_kind, DeviceKind::kPci);
      EXPECT_FALSE(no_pci);
      EXPECT_TRUE(allow);
      EXPECT_FALSE(c.eal.no_huge) << "a NIC's DMA memory wants hugepages";
    } else {
      EXPECT_EQ(c.ports[0].device_kind, DeviceKind::kVdev);
      EXPECT_TRUE(no_pci);
      EXPECT_FALSE(allow);
    }
  }
}

}  // namespace
}  // namespace tempo::config
