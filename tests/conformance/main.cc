// The conformance tests' main: GoogleTest with the EAL set up once per process (ring_worker.h).
#include <gtest/gtest.h>

#include "ring_worker.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new tempo::conformance::Eal());
  return RUN_ALL_TESTS();
}
