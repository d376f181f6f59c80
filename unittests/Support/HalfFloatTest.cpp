//===- HalfFloatTest.cpp - f16 / bf16 rounding, checked exhaustively ------===//
//
// Every 16-bit pattern widens and narrows back to itself; every midpoint
// between two neighbours rounds to the even one, and the floats just beside
// it to the nearer one; past the largest value is infinite.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Support/HalfFloat.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace halffloat;

namespace {

struct Format {
  const char *name;
  float (*widen)(uint16_t);
  uint16_t (*narrow)(float);
  uint16_t largest; ///< The largest finite positive pattern.
};

class HalfFloatTest : public ::testing::TestWithParam<Format> {};

TEST_P(HalfFloatTest, RoundTripsEveryPattern) {
  const Format &f = GetParam();
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float v = f.widen(uint16_t(h));
    if (std::isnan(v)) {
      EXPECT_TRUE(std::isnan(f.widen(f.narrow(v)))) << std::hex << h;
      continue;
    }
    ASSERT_EQ(f.narrow(v), h) << f.name << " pattern 0x" << std::hex << h;
  }
}

TEST_P(HalfFloatTest, RoundsToNearestEven) {
  const Format &f = GetParam();
  for (uint32_t h = 0; h < f.largest; ++h) {
    for (float sign : {1.0f, -1.0f}) {
      uint16_t s = sign > 0 ? 0 : 0x8000;
      float a = sign * f.widen(uint16_t(h)), b = sign * f.widen(uint16_t(h + 1));
      float mid = a + (b - a) / 2; // exact: f32 has the bits (no overflow)
      uint16_t even = uint16_t(s | (h % 2 == 0 ? h : h + 1));
      ASSERT_EQ(f.narrow(mid), even) << f.name << " midpoint above 0x" << std::hex << h;
      ASSERT_EQ(f.narrow(std::nextafter(mid, a)), uint16_t(s | h)) << std::hex << h;
      ASSERT_EQ(f.narrow(std::nextafter(mid, b)), uint16_t(s | (h + 1))) << std::hex << h;
    }
  }
}

TEST_P(HalfFloatTest, OverflowsPastTheLargest) {
  const Format &f = GetParam();
  float top = f.widen(f.largest);
  // The midpoint between the largest and the next power step rounds up
  // (to even) to infinity; below it, down to the largest.
  float ulp = top - f.widen(uint16_t(f.largest - 1));
  float mid = top + ulp / 2;
  EXPECT_TRUE(std::isinf(f.widen(f.narrow(mid)))) << f.name;
  EXPECT_EQ(f.narrow(std::nextafter(mid, 0.0f)), f.largest) << f.name;
  EXPECT_TRUE(std::isinf(f.widen(f.narrow(-std::numeric_limits<float>::max()))))
      << f.name;
  EXPECT_TRUE(std::isnan(f.widen(f.narrow(std::nanf(""))))) << f.name;
}

INSTANTIATE_TEST_SUITE_P(
    Formats, HalfFloatTest,
    ::testing::Values(Format{"f16", halfToFloat, floatToHalf, 0x7bff},
                      Format{"bf16", bf16ToFloat, floatToBF16, 0x7f7f}),
    [](const ::testing::TestParamInfo<Format> &i) { return i.param.name; });

} // namespace
