// tempo::Result (lib/include/tempo/result.h): a value or an error, and access that is checked
// in every build: the value of an error, or the error of a value, aborts with a message naming
// which (issue 25: it was undefined behaviour).
#include <string>

#include <gtest/gtest.h>

#include <tempo/result.h>

namespace tempo {
namespace {

enum class Why : int { kA = 1, kB = 2 };

Result<std::string, Why> make(bool good) {
  if (good) {
    return std::string("seven");
  }
  return fail(Why::kB);
}

Result<void, Why> act(bool good) {
  if (good) {
    return {};
  }
  return fail(Why::kA);
}

TEST(Result, ValueAndErrorWhenTheyAreThere) {
  auto r = make(true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), "seven");
  EXPECT_EQ(r->size(), 5u);
  EXPECT_EQ(*r, "seven");
  EXPECT_EQ(std::move(r).value(), "seven");
  const auto e = make(false);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error(), Why::kB);
  EXPECT_TRUE(act(true).ok());
  EXPECT_EQ(act(false).error(), Why::kA);
}

TEST(ResultDeathTest, TheValueOfAnErrorAborts) {
  EXPECT_DEATH((void)make(false).value(), "value\\(\\) of a Result that holds an error");
  EXPECT_DEATH((void)make(false)->size(), "value\\(\\) of a Result that holds an error");
  const auto e = make(false);
  EXPECT_DEATH((void)*e, "value\\(\\) of a Result that holds an error");
}

TEST(ResultDeathTest, TheErrorOfAValueAborts) {
  EXPECT_DEATH((void)make(true).error(), "error\\(\\) of a Result that holds a value");
  EXPECT_DEATH((void)act(true).error(), "error\\(\\) of a Result that holds success");
}

}  // namespace
}  // namespace tempo
