//===- SparseUkernelTest.cpp - Gated and column BitLinear kernels ---------===//
//
// The kernels that skip work (the gate-first up projection, the column
// kernel over non-zero inputs) against the plain definition, every kernel
// kind the host has, at sparsities from none to all, with extreme activation rows (the
// largest sums) and shapes that exercise partial column blocks, the group
// padding and the thread split. Integer results: exact equality.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Runtime/CpuFeatures.h"
#include "bitnet/Runtime/Ukernels.h"
#include "bitnet/Support/TernaryPacking.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

using namespace bitnet_rt;

namespace {

struct SparseShape {
  int64_t rows, n, k;
  double sparsity; // fraction of zero inputs / closed gates
};

void PrintTo(const SparseShape &s, std::ostream *os) {
  *os << s.rows << "x" << s.n << "x" << s.k << " at " << s.sparsity;
}

std::vector<KernelKind> kinds() { return availableKernels(); }

/// Random activations with the given share of zeros; rows 0 and 1 at the
/// extremes where there are enough rows.
std::vector<int8_t> activations(const SparseShape &s, int64_t stride,
                                std::mt19937 &rng) {
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<int8_t> x(size_t(s.rows * stride), 0);
  for (int64_t m = 0; m < s.rows; ++m)
    for (int64_t k = 0; k < s.k; ++k) {
      int8_t v = int8_t(int(rng() % 255) - 127);
      if (s.rows > 2 && m < 2)
        v = m == 0 ? -128 : 127;
      x[size_t(m * stride + k)] = u(rng) < s.sparsity ? 0 : v;
    }
  return x;
}

std::vector<int8_t> weights(const SparseShape &s, std::mt19937 &rng) {
  std::vector<int8_t> w(size_t(s.n * s.k));
  for (int8_t &v : w)
    v = int8_t(int(rng() % 3) - 1);
  return w;
}

int32_t dot(const std::vector<int8_t> &x, int64_t xOff,
            const std::vector<int8_t> &w, int64_t n, int64_t k) {
  int32_t acc = 0;
  for (int64_t i = 0; i < k; ++i)
    acc += int32_t(x[size_t(xOff + i)]) * w[size_t(n * k + i)];
  return acc;
}

class ColumnUkernelTest : public ::testing::TestWithParam<SparseShape> {};

TEST_P(ColumnUkernelTest, MatchesReference) {
  SparseShape s = GetParam();
  std::mt19937 rng(7 + s.rows + 3 * s.n + 5 * s.k);
  int64_t xStride = s.k + 3; // rows need not be packed
  std::vector<int8_t> x = activations(s, xStride, rng), w = weights(s, rng);
  std::vector<uint8_t> packed(size_t(ternary::colBlocks(s.n) * s.k *
                                     ternary::kColBlockBytes));
  ternary::packTernaryCols(w.data(), s.n, s.k, packed.data());
  std::vector<int32_t> want(size_t(s.rows * s.n));
  for (int64_t m = 0; m < s.rows; ++m)
    for (int64_t n = 0; n < s.n; ++n)
      want[size_t(m * s.n + n)] = 7 + dot(x, m * xStride, w, n, s.k);
  for (KernelKind kind : kinds()) {
    std::vector<int32_t> out(size_t(s.rows * s.n), 7);
    bitlinearI8Bits2Cols(x.data(), s.rows, xStride, s.k, packed.data(), s.n,
                         out.data(), s.n, kind);
    EXPECT_EQ(out, want) << "kernel " << kernelName(kind);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ColumnUkernelTest,
    ::testing::Values(SparseShape{1, 1, 1, 0.0}, SparseShape{1, 256, 4, 0.0},
                      SparseShape{1, 300, 67, 0.5}, SparseShape{1, 2560, 6912, 0.8},
                      SparseShape{1, 2560, 2560, 0.5}, SparseShape{1, 130, 320, 1.0},
                      SparseShape{1, 700, 1001, 0.99}, SparseShape{3, 257, 33, 0.3},
                      // One row, its non-zero columns split over threads
                      // (from 16 groups a thread) with a partial block.
                      SparseShape{1, 300, 700, 0.3}, SparseShape{1, 520, 130, 0.0},
                      SparseShape{16, 512, 700, 0.8}, SparseShape{5, 64, 9, 0.0},
                      SparseShape{16, 300, 2000, 0.0}, SparseShape{2, 520, 999, 0.6},
                      // AMX tiles: partial token tiles, a block of fewer
                      // than 256 rows, several K steps, all-zero columns.
                      SparseShape{37, 600, 1000, 0.5}, SparseShape{64, 2560, 700, 0.97},
                      SparseShape{48, 100, 90, 0.3}, SparseShape{33, 257, 6912, 0.8}));

// The one-row VNNI kernel sums codes scaled by up to 4^3 (masked in place,
// not shifted down) while K allows: past that its int32 sums would wrap,
// so a long row must take the unscaled path. All weights +1 against -128:
// the scaled sums of the top field reach 131,100 x 128 x -128 < -2^31.
TEST(ColumnUkernel, LongRowStaysExact) {
  const int64_t n = 256, k = 131100;
  std::vector<int8_t> x(size_t(k), -128), w(size_t(n * k), 1);
  std::vector<uint8_t> packed(size_t(ternary::colBlocks(n) * k *
                                     ternary::kColBlockBytes));
  ternary::packTernaryCols(w.data(), n, k, packed.data());
  for (KernelKind kind : kinds()) {
    std::vector<int32_t> out(size_t(n), 0);
    bitlinearI8Bits2Cols(x.data(), 1, k, k, packed.data(), n, out.data(), n,
                         kind);
    EXPECT_EQ(out, std::vector<int32_t>(size_t(n), int32_t(-128 * k)))
        << "kernel " << kernelName(kind);
  }
}

class GatedUkernelTest : public ::testing::TestWithParam<SparseShape> {};

TEST_P(GatedUkernelTest, MatchesReference) {
  SparseShape s = GetParam();
  std::mt19937 rng(11 + s.rows + 3 * s.n + 5 * s.k);
  int64_t kq = (s.k + 3) / 4;
  SparseShape dense = s;
  dense.sparsity = 0.0;
  std::vector<int8_t> x = activations(dense, kq * 4, rng), w = weights(s, rng);
  std::vector<uint8_t> packed(size_t(s.n * kq));
  ternary::packTernaryRows(ternary::PackedLayout::Bits2, w.data(), s.n, s.k,
                           packed.data());
  std::uniform_real_distribution<float> u(0, 1);
  int64_t gStride = s.n + 1;
  std::vector<float> gate(size_t(s.rows * gStride), 0.0f);
  for (int64_t m = 0; m < s.rows; ++m)
    for (int64_t n = 0; n < s.n; ++n) {
      float v = u(rng);
      gate[size_t(m * gStride + n)] =
          v < s.sparsity ? -v : (n % 7 == 0 ? 1e-30f : v); // tiny but open
    }
  if (s.n > 3)
    gate[2] = std::nanf(""); // NaN is not open
  std::vector<int32_t> want(size_t(s.rows * s.n));
  for (int64_t m = 0; m < s.rows; ++m)
    for (int64_t n = 0; n < s.n; ++n)
      want[size_t(m * s.n + n)] =
          gate[size_t(m * gStride + n)] > 0.0f
              ? 7 + dot(x, m * kq * 4, w, n, s.k)
              : 7;
  for (KernelKind kind : kinds()) {
    std::vector<int32_t> out(size_t(s.rows * s.n), 7);
    bitlinearI8Bits2Gated(x.data(), s.rows, kq * 4, packed.data(), s.n, kq, kq,
                          gate.data(), gStride, out.data(), s.n, kind);
    EXPECT_EQ(out, want) << "kernel " << kernelName(kind);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GatedUkernelTest,
    ::testing::Values(SparseShape{1, 1, 4, 0.0}, SparseShape{1, 67, 260, 0.675},
                      SparseShape{1, 6912, 2560, 0.675}, SparseShape{1, 100, 64, 1.0},
                      SparseShape{4, 333, 129, 0.9}, SparseShape{16, 96, 512, 0.675},
                      // AMX tiles: listed rows (most closed) and every row
                      // with the gate per output (most open).
                      SparseShape{24, 200, 1000, 0.99}, SparseShape{40, 77, 300, 0.1}));

} // namespace
