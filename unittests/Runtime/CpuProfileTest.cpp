//===- CpuProfileTest.cpp - BITNET_CPU_PROFILE's sums and table -----------===//

#include "CpuProfile.h"

#include <gtest/gtest.h>

#include <string>

using bitnet_rt::cpu_profile::Totals;

namespace {

/// The line of `report` that starts (after its indent) with `head`.
std::string lineOf(const std::string &report, const std::string &head) {
  size_t at = report.find("\n  " + head);
  if (at == std::string::npos)
    return "";
  size_t end = report.find('\n', at + 1);
  return report.substr(at + 3, end - at - 3);
}

TEST(CpuProfileTest, SumsByKeyLargestFirstWithShares) {
  Totals t;
  t.addStep("prefill64", 0.010);
  t.addStep("decode", 0.002);
  t.addStep("decode", 0.002);
  t.addCall("small  [1x4]", 0.001);
  t.addCall("big  [64x2560]", 0.003);
  t.addCall("big  [64x2560]", 0.004);
  std::string r = t.report();
  // 14 ms of steps, 8 ms of ukernels: 6 ms left to the generated code.
  EXPECT_NE(r.find("bitnet cpu profile: 3 steps, 14.000 ms; 3 ukernel calls, "
                   "8.000 ms (57.1%); the rest, 6.000 ms, is the generated "
                   "code"),
            std::string::npos)
      << r;
  EXPECT_NE(lineOf(r, "decode   steps      2       4.000 ms").find(
                "2000.0 us a step"),
            std::string::npos)
      << r;
  // The larger total comes first; 7 ms of 14 is 50%.
  size_t big = r.find("big  [64x2560]"), small = r.find("small  [1x4]");
  ASSERT_NE(big, std::string::npos);
  ASSERT_NE(small, std::string::npos);
  EXPECT_LT(big, small);
  std::string bigLine = lineOf(r, "big  [64x2560]");
  EXPECT_NE(bigLine.find("      2       7.000   3500.00  50.0%"),
            std::string::npos)
      << bigLine;
}

TEST(CpuProfileTest, RowLimitAndNoSteps) {
  Totals t;
  EXPECT_TRUE(t.empty());
  t.addCall("a", 0.002);
  t.addCall("b", 0.001);
  t.addCall("c", 0.001);
  EXPECT_FALSE(t.empty());
  std::string r = t.report(/*rows=*/1);
  // Without steps the shares are of the ukernels' own time.
  EXPECT_NE(lineOf(r, "a").find("50.0%"), std::string::npos) << r;
  EXPECT_EQ(lineOf(r, "b"), "") << r;
  EXPECT_NE(r.find("  (2 more)"), std::string::npos) << r;
}

} // namespace
