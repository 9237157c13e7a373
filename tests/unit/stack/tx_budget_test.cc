// TxBudget (lib/stack/tx_budget.h): each rule on both sides of its threshold.
#include "stack/tx_budget.h"

#include <gtest/gtest.h>

namespace tempo::stack {
namespace {

using V = TxBudget::Verdict;
constexpr uint32_t kSize = 8192;
constexpr uint32_t kMss = 1448;
constexpr uint32_t kBigWindow = 1 << 20;

TEST(TxBudget, TheLastQuarterIsForHeaders) {
  EXPECT_EQ(TxBudget::may_copy(kSize / 4, kSize, 0, kBigWindow, kMss), V::kWaitPool);
  EXPECT_EQ(TxBudget::may_copy(kSize / 4 + 1, kSize, 0, kBigWindow, kMss), V::kTake);
}

TEST(TxBudget, NoMoreIsQueuedThanThePeersWindowTakes) {
  // A peer that stopped reading (window 0) gets one segment's worth, not a send buffer's.
  EXPECT_EQ(TxBudget::may_copy(kSize, kSize, 0, 0, kMss), V::kTake);
  EXPECT_EQ(TxBudget::may_copy(kSize, kSize, kMss - 1, 0, kMss), V::kTake);
  EXPECT_EQ(TxBudget::may_copy(kSize, kSize, kMss, 0, kMss), V::kWaitWindow);
  // A window of 64 KiB: copies go on while less than 64 KiB is queued.
  EXPECT_EQ(TxBudget::may_copy(kSize, kSize, 65535, 65536, kMss), V::kTake);
  EXPECT_EQ(TxBudget::may_copy(kSize, kSize, 65536, 65536, kMss), V::kWaitWindow);
  EXPECT_FALSE(TxBudget::window_allows(65536, 65536, kMss));
  EXPECT_TRUE(TxBudget::window_allows(65535, 65536, kMss));
  EXPECT_TRUE(TxBudget::window_allows(0, 0, kMss));
}

TEST(TxBudget, ConnectionsHoldingLittleKeepAReserveTheBusyCannotTake) {
  const uint32_t half = kSize / 2;
  // Busy (holding 64 KiB or more): only above half the pool free.
  EXPECT_EQ(TxBudget::may_copy(half, kSize, TxBudget::kSmall, kBigWindow, kMss), V::kWaitPool);
  EXPECT_EQ(TxBudget::may_copy(half + 1, kSize, TxBudget::kSmall, kBigWindow, kMss), V::kTake);
  // Holding little: down to the headers' quarter.
  EXPECT_EQ(TxBudget::may_copy(half, kSize, TxBudget::kSmall - 1, kBigWindow, kMss), V::kTake);
  EXPECT_TRUE(TxBudget::pool_allows(kSize / 4 + 1, kSize, 0));
  EXPECT_FALSE(TxBudget::pool_allows(kSize / 4 + 1, kSize, TxBudget::kSmall));
}

}  // namespace
}  // namespace tempo::stack
