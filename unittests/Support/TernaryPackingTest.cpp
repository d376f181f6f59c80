//===- TernaryPackingTest.cpp - Bit-exact packing layouts -----------------===//

#include "bitnet/Support/TernaryPacking.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

using namespace ternary;

// Bytes written out by hand from the layout's definition.
TEST(TernaryPacking, Bits2KnownBytes) {
  // codes w+1: 0,1,2,1 -> bits 0b01'10'01'00 = 0x64
  const int8_t w[] = {-1, 0, 1, 0};
  EXPECT_EQ(packTernaryGroup(PackedLayout::Bits2, w, 4), 0x64);
  // A short group pads with 0 (code 1): 2,1,1,1 -> 0b01'01'01'10 = 0x56
  const int8_t one[] = {1};
  EXPECT_EQ(packTernaryGroup(PackedLayout::Bits2, one, 1), 0x56);
}

TEST(TernaryPacking, Trits5KnownBytes) {
  // All zero weights: digits 1,1,1,1,1 -> v = 121 -> ceil(121*256/243) = 128.
  const int8_t zeros[] = {0, 0, 0, 0, 0};
  EXPECT_EQ(packTernaryGroup(PackedLayout::Trits5, zeros, 5), 128);
  // All -1: v = 0 -> 0. All +1: v = 242 -> ceil(242*256/243) = 255.
  const int8_t neg[] = {-1, -1, -1, -1, -1}, pos[] = {1, 1, 1, 1, 1};
  EXPECT_EQ(packTernaryGroup(PackedLayout::Trits5, neg, 5), 0);
  EXPECT_EQ(packTernaryGroup(PackedLayout::Trits5, pos, 5), 255);
  // 1,-1,0,0,0: digits 2,0,1,1,1 -> v = 162+0+9+3+1 = 175 -> ceil(184.36) = 185
  const int8_t mixed[] = {1, -1, 0, 0, 0};
  EXPECT_EQ(packTernaryGroup(PackedLayout::Trits5, mixed, 5), 185);
}

// Every possible group round-trips, in both layouts.
TEST(TernaryPacking, EveryGroupRoundTrips) {
  for (PackedLayout layout : {PackedLayout::Bits2, PackedLayout::Trits5}) {
    int64_t n = weightsPerByte(layout);
    int64_t combos = 1;
    for (int64_t i = 0; i < n; ++i)
      combos *= 3;
    for (int64_t c = 0; c < combos; ++c) {
      int8_t w[5];
      for (int64_t j = 0, r = c; j < n; ++j, r /= 3)
        w[j] = int8_t(r % 3 - 1);
      uint8_t byte = packTernaryGroup(layout, w, n);
      for (int64_t j = 0; j < n; ++j)
        ASSERT_EQ(unpackTernary(layout, byte, j), w[j])
            << "layout " << int(layout) << " combo " << c << " slot " << j;
    }
  }
}

TEST(TernaryPacking, RowsWithPaddingRoundTrip) {
  std::mt19937 rng(7);
  for (PackedLayout layout : {PackedLayout::Bits2, PackedLayout::Trits5}) {
    for (int64_t k : {1, 3, 4, 5, 7, 64, 129}) {
      const int64_t rows = 3;
      std::vector<int8_t> w(rows * k), back(rows * k);
      for (int8_t &v : w)
        v = int8_t(int(rng() % 3) - 1);
      std::vector<uint8_t> packed(rows * packedRowBytes(layout, k));
      packTernaryRows(layout, w.data(), rows, k, packed.data());
      unpackTernaryRows(layout, packed.data(), rows, k, back.data());
      EXPECT_EQ(w, back) << "k = " << k;
    }
  }
}

// Whole rows (the 2-bit layout's whole bytes take their own loop) pack to
// the bytes packTernaryGroup gives group by group, out-of-range values
// clamped alike.
TEST(TernaryPacking, RowsMatchGroups) {
  std::mt19937 rng(11);
  for (PackedLayout layout : {PackedLayout::Bits2, PackedLayout::Trits5}) {
    for (int64_t k : {1, 4, 6, 8, 33, 2560}) {
      const int64_t rows = 5, n = weightsPerByte(layout);
      const int64_t bytes = packedRowBytes(layout, k);
      std::vector<int8_t> w(rows * k);
      for (int8_t &v : w)
        v = int8_t(int(rng() % 256) - 128);
      std::vector<uint8_t> packed(rows * bytes);
      packTernaryRows(layout, w.data(), rows, k, packed.data());
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t b = 0; b < bytes; ++b)
          ASSERT_EQ(packed[r * bytes + b],
                    packTernaryGroup(layout, w.data() + r * k + b * n,
                                     std::min(n, k - b * n)))
              << "layout " << int(layout) << " k " << k << " row " << r
              << " byte " << b;
    }
  }
}

TEST(TernaryPacking, OutOfRangeClamps) {
  const int8_t w[] = {5, -7, 0, 1};
  uint8_t byte = packTernaryGroup(PackedLayout::Bits2, w, 4);
  EXPECT_EQ(unpackTernary(PackedLayout::Bits2, byte, 0), 1);
  EXPECT_EQ(unpackTernary(PackedLayout::Bits2, byte, 1), -1);
}

TEST(TernaryPacking, RowBytes) {
  EXPECT_EQ(packedRowBytes(PackedLayout::Bits2, 2560), 640);
  EXPECT_EQ(packedRowBytes(PackedLayout::Trits5, 2560), 512);
  EXPECT_EQ(packedRowBytes(PackedLayout::Trits5, 6912), 1383);
  EXPECT_EQ(packedRowBytes(PackedLayout::Bits2, 1), 1);
}

// The column-contiguous layout, placed by hand: row r, column c is byte
// (c * colBlocks(n) + r / 256) * 64 + r % 64, field (r % 256) / 64.
TEST(TernaryPacking, ColumnLayoutKnownPlaces) {
  const int64_t n = 300, k = 3;
  std::vector<int8_t> w(n * k, 0);
  w[0 * k + 0] = -1;   // block 0, column 0, byte 0, field 0 -> code 0
  w[65 * k + 1] = 1;   // block 0, column 1, byte 1, field 1 -> code 2
  w[299 * k + 2] = -1; // block 1, column 2, byte 43, field 0 -> code 0
  std::vector<uint8_t> packed(colBlocks(n) * k * kColBlockBytes);
  packTernaryCols(w.data(), n, k, packed.data());
  EXPECT_EQ(colBlocks(n), 2);
  EXPECT_EQ(packed[0], 0x54);                  // 01 01 01 00
  EXPECT_EQ(packed[(1 * 2 + 0) * 64 + 1], 0x59); // 01 01 10 01
  EXPECT_EQ(packed[(2 * 2 + 1) * 64 + 43], 0x54);
  // Rows past n (block 1 holds 300..511) are weight 0.
  EXPECT_EQ(packed[(0 * 2 + 1) * 64 + 63], 0x55);
  std::vector<int8_t> back(n * k);
  unpackTernaryCols(packed.data(), n, k, back.data());
  EXPECT_EQ(back, w);
}

TEST(TernaryPacking, ColumnLayoutRoundTripsAndClamps) {
  std::mt19937 rng(3);
  // k of over a thousand columns (a 2B4T layer has 2560 or 6912).
  for (int64_t n : {1, 63, 256, 257, 700})
    for (int64_t k : {1, 4, 9, 1100}) {
      std::vector<int8_t> w(n * k);
      for (int8_t &v : w)
        v = int8_t(int(rng() % 5) - 2); // includes out-of-range +-2
      std::vector<uint8_t> packed(colBlocks(n) * k * kColBlockBytes);
      packTernaryCols(w.data(), n, k, packed.data());
      std::vector<int8_t> back(n * k);
      unpackTernaryCols(packed.data(), n, k, back.data());
      for (size_t i = 0; i < w.size(); ++i)
        ASSERT_EQ(back[i], std::clamp<int>(w[i], -1, 1)) << n << "x" << k;
    }
}
