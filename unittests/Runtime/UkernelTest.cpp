//===- UkernelTest.cpp - The BitLinear kernels against a plain reference --===//
//
// Every kernel (portable; AVX2, AVX-512 VNNI and AMX where the host has them) on random
// codes and packed weights, with shapes that exercise the 64-byte tail, row
// blocks of 4 and thread splits, against the generic's definition written
// out with the TernaryPacking.h reference unpacking.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Runtime/CpuFeatures.h"
#include "bitnet/Runtime/Ukernels.h"
#include "bitnet/Support/HalfFloat.h"
#include "bitnet/Support/TernaryPacking.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>
#include <cstring>
#include <random>
#include <vector>

using namespace bitnet_rt;

namespace {

struct Shape {
  int64_t rows, n, k;
};

class UkernelTest : public ::testing::TestWithParam<Shape> {};

TEST_P(UkernelTest, MatchesReference) {
  Shape s = GetParam();
  int64_t kq = (s.k + 3) / 4;
  std::mt19937 rng(1234 + s.rows * 7 + s.n * 13 + s.k);
  std::uniform_int_distribution<int> code(-128, 127), trit(-1, 1);
  std::vector<int8_t> x(size_t(s.rows * kq * 4), 0), w(size_t(s.n * s.k));
  for (int64_t m = 0; m < s.rows; ++m)
    for (int64_t k = 0; k < s.k; ++k)
      x[size_t(m * kq * 4 + k)] = int8_t(code(rng));
  for (int8_t &v : w)
    v = int8_t(trit(rng));
  // Extreme rows: all -128 and all 127 (the largest sums).
  if (s.rows > 2)
    for (int64_t k = 0; k < s.k; ++k) {
      x[size_t(0 * kq * 4 + k)] = -128;
      x[size_t(1 * kq * 4 + k)] = 127;
    }
  std::vector<uint8_t> packed(size_t(s.n * kq));
  ternary::packTernaryRows(ternary::PackedLayout::Bits2, w.data(), s.n, s.k,
                           packed.data());
  std::vector<int32_t> want(size_t(s.rows * s.n));
  for (int64_t m = 0; m < s.rows; ++m)
    for (int64_t n = 0; n < s.n; ++n) {
      int32_t acc = 7; // the kernels accumulate into what is there
      for (int64_t k = 0; k < s.k; ++k)
        acc += int32_t(x[size_t(m * kq * 4 + k)]) * w[size_t(n * s.k + k)];
      want[size_t(m * s.n + n)] = acc;
    }
  for (KernelKind kind : availableKernels()) {
    std::vector<int32_t> out(size_t(s.rows * s.n), 7);
    bitlinearI8Bits2(x.data(), s.rows, kq * 4, packed.data(), s.n, kq, kq,
                     out.data(), s.n, kind);
    EXPECT_EQ(out, want) << "kernel " << kernelName(kind);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, UkernelTest,
                         ::testing::Values(Shape{1, 1, 4}, Shape{1, 3, 67},
                                           Shape{1, 64, 256}, Shape{1, 200, 2560},
                                           Shape{3, 17, 260}, Shape{5, 33, 1000},
                                           Shape{16, 96, 512}, Shape{7, 13, 130},
                                           Shape{8, 1000, 2560}, Shape{1, 40, 500},
                                           // AMX tiles: partial token and
                                           // weight tiles, the K tail, odd
                                           // and even token-tile counts.
                                           Shape{19, 45, 1000}, Shape{33, 32, 260},
                                           Shape{64, 100, 2560}, Shape{48, 57, 300},
                                           Shape{130, 64, 6912}));

// The thread pool hands jobs over through atomics and sleeps only when
// idle: back-to-back calls of every split (one part, all threads), with
// pauses long enough for the workers to fall asleep in between, must each
// see every output row exactly once.
TEST(UkernelTest, ThreadPoolBackToBackAndAfterSleeping) {
  const int64_t kq = 64, maxN = 4096;
  std::mt19937 rng(5);
  std::vector<uint8_t> w(static_cast<size_t>(maxN * kq));
  for (uint8_t &b : w)
    b = 0x55 | uint8_t(rng() & 0x82); // trits 1 or 2 (w = 0 or 1)
  std::vector<int8_t> x(size_t(kq * 4), 1);
  std::vector<int32_t> want(static_cast<size_t>(maxN));
  for (int64_t n = 0; n < maxN; ++n) {
    int32_t s = 0;
    for (int64_t q = 0; q < kq; ++q)
      for (int j = 0; j < 4; ++j)
        s += ((w[size_t(n * kq + q)] >> (2 * j)) & 3) - 1;
    want[size_t(n)] = s;
  }
  for (int call = 0; call < 600; ++call) {
    int64_t n = call % 3 == 0 ? 5 : call % 3 == 1 ? 700 : maxN;
    std::vector<int32_t> out(size_t(n), 0);
    bitlinearI8Bits2(x.data(), 1, kq * 4, w.data(), n, kq, kq, out.data(), n);
    ASSERT_TRUE(std::equal(out.begin(), out.end(), want.begin()))
        << "call " << call << ", n " << n;
    if (call % 100 == 99)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

TEST(UkernelTest, Configuration) {
  EXPECT_GE(kernelThreads(), 1);
  KernelKind k = selectedKernel();
  // The widest kind the host has (BITNET_UKERNEL unset in tests).
  EXPECT_EQ(k, availableKernels().back()) << kernelName(k);
}

} // namespace

namespace {

class MatmulF32Test : public ::testing::TestWithParam<Shape> {};

TEST_P(MatmulF32Test, BothLayoutsMatchReference) {
  Shape s = GetParam();
  std::mt19937 rng(99 + s.rows + s.n * 3 + s.k * 5);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> x(size_t(s.rows * s.k)), w(size_t(s.n * s.k));
  for (float &v : x)
    v = u(rng);
  for (float &v : w)
    v = u(rng);
  std::vector<KernelKind> kinds = availableKernels();
  for (bool transposed : {false, true}) {
    // transposed: w is [n, k]; else [k, n] (the same numbers reinterpreted).
    std::vector<double> want(size_t(s.rows * s.n), 0.5);
    for (int64_t m = 0; m < s.rows; ++m)
      for (int64_t n = 0; n < s.n; ++n)
        for (int64_t k = 0; k < s.k; ++k)
          want[size_t(m * s.n + n)] +=
              double(x[size_t(m * s.k + k)]) *
              (transposed ? w[size_t(n * s.k + k)] : w[size_t(k * s.n + n)]);
    for (KernelKind kind : kinds) {
      std::vector<float> out(size_t(s.rows * s.n), 0.5f);
      matmulF32(x.data(), s.rows, s.k, w.data(), s.n, s.k,
                transposed ? s.k : s.n, transposed, out.data(), s.n, kind);
      for (size_t i = 0; i < out.size(); ++i)
        ASSERT_NEAR(out[i], want[i], 1e-4 * (1 + std::abs(want[i])) * s.k / 64)
            << "kind " << kernelName(kind) << " transposed " << transposed << " at " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, MatmulF32Test,
                         ::testing::Values(Shape{1, 1, 1}, Shape{1, 5, 17},
                                           Shape{2, 300, 128}, Shape{3, 33, 260},
                                           Shape{16, 70, 512}, Shape{7, 200, 96},
                                           Shape{64, 130, 33}));

} // namespace

namespace {

class MatmulI8WTest : public ::testing::TestWithParam<Shape> {};

TEST_P(MatmulI8WTest, MatchesReference) {
  Shape s = GetParam();
  std::mt19937 rng(5 + s.rows + s.n * 3 + s.k * 5);
  std::uniform_real_distribution<float> u(-1, 1);
  std::uniform_int_distribution<int> q(-127, 127);
  std::vector<float> x(size_t(s.rows * s.k));
  std::vector<int8_t> w(size_t(s.n * s.k));
  for (float &v : x)
    v = u(rng);
  for (int8_t &v : w)
    v = int8_t(q(rng));
  std::vector<double> want(size_t(s.rows * s.n), 0.25);
  for (int64_t m = 0; m < s.rows; ++m)
    for (int64_t n = 0; n < s.n; ++n)
      for (int64_t k = 0; k < s.k; ++k)
        want[size_t(m * s.n + n)] +=
            double(x[size_t(m * s.k + k)]) * double(w[size_t(n * s.k + k)]);
  std::vector<KernelKind> kinds = availableKernels();
  for (KernelKind kind : kinds) {
    std::vector<float> out(size_t(s.rows * s.n), 0.25f);
    matmulF32I8W(x.data(), s.rows, s.k, w.data(), s.n, s.k, s.k, out.data(),
                 s.n, kind);
    for (size_t i = 0; i < out.size(); ++i)
      ASSERT_NEAR(out[i], want[i], 1e-3 * (1 + std::abs(want[i])) * s.k / 16)
          << "kind " << kernelName(kind) << " at " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, MatmulI8WTest,
                         ::testing::Values(Shape{1, 1, 1}, Shape{1, 7, 33},
                                           Shape{2, 260, 128},
                                           Shape{4, 9, 2560}));

/// The int4 LM head (--lm-head=int4): every kernel tier against double
/// sums of x's codes times the layout's codes (low nibbles the first 16 of
/// a group, high the last 16) times their group's scale; rows not a
/// multiple of 4 (the tile's tail), K with and without groups past the
/// last 128 (the VNNI chunk), several activation rows, padded strides.
class MatmulI4WTest : public ::testing::TestWithParam<Shape> {};

TEST_P(MatmulI4WTest, MatchesReference) {
  Shape s = GetParam();
  std::mt19937 rng(13 + s.rows + s.n * 3 + s.k * 5);
  std::uniform_real_distribution<float> scale(0.01f, 2.0f);
  std::uniform_int_distribution<int> byte(0, 255), code(-127, 127);
  const int64_t groups = s.k / kI4Group, wStride = s.k / 2 + 16,
                sStride = groups + 3, xStride = s.k + 5;
  std::vector<int8_t> x(size_t(s.rows * xStride));
  std::vector<float> sc(size_t(s.n * sStride));
  std::vector<uint8_t> w(size_t(s.n * wStride));
  for (int8_t &v : x)
    v = int8_t(code(rng));
  for (float &v : sc)
    v = scale(rng);
  for (uint8_t &v : w)
    v = uint8_t(byte(rng));
  std::vector<double> want(size_t(s.rows * s.n), 0.5);
  for (int64_t m = 0; m < s.rows; ++m)
    for (int64_t n = 0; n < s.n; ++n)
      for (int64_t k = 0; k < s.k; ++k) {
        int64_t g = k / kI4Group, j = k % kI4Group;
        uint8_t b = w[size_t(n * wStride + 16 * g + j % 16)];
        int q = int(j < 16 ? b & 15 : b >> 4) - 8;
        want[size_t(m * s.n + n)] += double(x[size_t(m * xStride + k)]) * q *
                                     double(sc[size_t(n * sStride + g)]);
      }
  for (KernelKind kind : availableKernels()) {
    std::vector<float> out(size_t(s.rows * s.n), 0.5f);
    matmulI8I4W(x.data(), s.rows, xStride, w.data(), sc.data(), s.n, s.k,
                wStride, sStride, out.data(), s.n, kind);
    for (size_t i = 0; i < out.size(); ++i)
      ASSERT_NEAR(out[i], want[i], 1e-5 * (1 + std::abs(want[i])) * s.k / 16)
          << "kind " << kernelName(kind) << " at " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, MatmulI4WTest,
                         ::testing::Values(Shape{1, 1, 32}, Shape{1, 7, 64},
                                           Shape{3, 130, 128},
                                           Shape{2, 9, 160},
                                           Shape{1, 13, 2560}));

/// The f16 / bf16 LM head (--lm-head=f16 / bf16): every kernel tier against
/// double sums of the widened weights, both formats.
class MatmulHalfWTest : public ::testing::TestWithParam<Shape> {};

TEST_P(MatmulHalfWTest, MatchesReference) {
  Shape s = GetParam();
  for (HalfFormat format : {HalfFormat::F16, HalfFormat::BF16}) {
    std::mt19937 rng(7 + s.rows + s.n * 3 + s.k * 5);
    std::uniform_real_distribution<float> u(-1, 1);
    std::vector<float> x(size_t(s.rows * s.k));
    std::vector<uint16_t> w(size_t(s.n * s.k));
    for (float &v : x)
      v = u(rng);
    bool f16 = format == HalfFormat::F16;
    for (uint16_t &v : w)
      v = f16 ? halffloat::floatToHalf(u(rng)) : halffloat::floatToBF16(u(rng));
    std::vector<double> want(size_t(s.rows * s.n), 0.25);
    for (int64_t m = 0; m < s.rows; ++m)
      for (int64_t n = 0; n < s.n; ++n)
        for (int64_t k = 0; k < s.k; ++k) {
          uint16_t h = w[size_t(n * s.k + k)];
          want[size_t(m * s.n + n)] +=
              double(x[size_t(m * s.k + k)]) *
              double(f16 ? halffloat::halfToFloat(h) : halffloat::bf16ToFloat(h));
        }
    for (KernelKind kind : availableKernels()) {
      std::vector<float> out(size_t(s.rows * s.n), 0.25f);
      matmulF32HalfW(x.data(), s.rows, s.k, w.data(), s.n, s.k, s.k,
                     out.data(), s.n, format, kind);
      for (size_t i = 0; i < out.size(); ++i)
        ASSERT_NEAR(out[i], want[i], 1e-5 * (1 + std::abs(want[i])) * s.k)
            << (f16 ? "f16" : "bf16") << " kind " << kernelName(kind)
            << " at " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, MatmulHalfWTest,
                         ::testing::Values(Shape{1, 1, 1}, Shape{1, 7, 33},
                                           Shape{2, 260, 128},
                                           Shape{3, 13, 2560}));

} // namespace

namespace {

TEST(TopKRankTest, MatchesPairwiseDefinition) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> small(-3, 3);
  // Each kernel kind: AVX-512 ones count by compares up to d = 256 and
  // sort beyond; the others sort.
  for (KernelKind kind : availableKernels())
  for (int64_t d : {1, 2, 7, 17, 64, 128, 200, 256, 257}) {
    int64_t rows = 3;
    std::vector<float> x(size_t(rows * d));
    for (float &v : x)
      v = float(small(rng)) * 0.5f; // many ties, +-0
    if (d > 3)
      x[2] = std::nanf(""); // row 0 takes the NaN path
    if (d > 5) { // infinities and huge values outrank everything
      x[size_t(d + 1)] = -INFINITY;
      x[size_t(d + 3)] = 3e38f;
    }
    std::vector<int32_t> want(x.size(), 1), got(x.size(), 1);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < d; ++i)
        for (int64_t j = 0; j < d; ++j) {
          float ai = std::fabs(x[size_t(r * d + i)]), aj = std::fabs(x[size_t(r * d + j)]);
          want[size_t(r * d + i)] += (aj > ai) || (aj == ai && j < i);
        }
    topkRankF32(x.data(), rows, d, d, got.data(), d, kind);
    EXPECT_EQ(got, want) << "d = " << d << " kind " << kernelName(kind);
  }
  // Continuous values (every radix pass does work), a few equal pairs,
  // subnormals and zeros of both signs.
  std::uniform_real_distribution<float> u(-4, 4);
  for (KernelKind kind : availableKernels())
  for (int64_t d : {100, 256, 2560}) {
    std::vector<float> x(static_cast<size_t>(d));
    for (float &v : x)
      v = u(rng);
    x[5] = -x[9];
    x[11] = 1e-42f;
    x[12] = -1e-42f;
    x[13] = 0.0f;
    x[14] = -0.0f;
    std::vector<int32_t> want(x.size(), 0), got(x.size(), 0);
    for (int64_t i = 0; i < d; ++i)
      for (int64_t j = 0; j < d; ++j) {
        float ai = std::fabs(x[size_t(i)]), aj = std::fabs(x[size_t(j)]);
        want[size_t(i)] += (aj > ai) || (aj == ai && j < i);
      }
    topkRankF32(x.data(), 1, d, d, got.data(), d, kind);
    EXPECT_EQ(got, want) << "d = " << d << " kind " << kernelName(kind);
  }
}

} // namespace

namespace {

/// A rank-4 memref descriptor as MLIR's C interface lays it out.
template <typename T> struct Desc4 {
  T *allocated, *aligned;
  int64_t offset, sizes[4], strides[4];
};

template <typename T>
Desc4<T> desc4(std::vector<T> &v, int64_t a, int64_t b, int64_t c, int64_t d) {
  return {v.data(), v.data(), 0, {a, b, c, d}, {b * c * d, c * d, d, 1}};
}

/// IEEE half bits of a float that is exactly representable (|x| in
/// [2^-14, 65504], at most 11 significant bits).
uint16_t exactHalf(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  uint32_t sign = bits >> 31, exp = (bits >> 23) & 255, man = bits & 0x7fffff;
  if (f == 0.0f)
    return uint16_t(sign << 15);
  return uint16_t((sign << 15) | ((exp - 112) << 10) | (man >> 13));
}

// The f16-cache attention kernels read the same numbers as the f32 ones
// when the cache values are halves: results must be identical, and only
// the filled positions (j < start) are read.
TEST(AttentionCacheTest, HalfCacheMatchesFloatCache) {
  const int64_t heads = 4, kvHeads = 2, seq = 3, C = 10, D = 40, start = 7;
  std::mt19937 rng(5);
  std::vector<float> q(heads * seq * D), kv(kvHeads * C * D), p(heads * seq * C);
  std::vector<uint16_t> kvHalf(kv.size());
  for (float &v : q)
    v = float(int(rng() % 200) - 100) / 64.0f;
  for (float &v : p)
    v = float(int(rng() % 100)) / 128.0f;
  for (size_t i = 0; i < kv.size(); ++i) {
    kv[i] = float(int(rng() % 2000) - 1000) / 256.0f; // exact in f16
    kvHalf[i] = exactHalf(kv[i]);
  }
  for (int64_t j = start; j < C; ++j) // unfilled: never read
    for (int64_t h = 0; h < kvHeads; ++h)
      kvHalf[(h * C + j) * D] = 0x7e00; // NaN
  int64_t startValue = start;
  struct {
    int64_t *allocated, *aligned, offset;
  } startDesc{&startValue, &startValue, 0};
  BitnetUnrankedMemRef startRef{0, &startDesc};
  auto ref = [](auto &d) { return BitnetUnrankedMemRef{4, &d}; };
  auto qd = desc4(q, 1, heads, seq, D);
  auto kd = desc4(kv, 1, kvHeads, C, D);
  auto kh = desc4(kvHalf, 1, kvHeads, C, D);
  auto pd = desc4(p, 1, heads, seq, C);
  std::vector<float> s32(heads * seq * C, 0.5f), s16(s32), o32(heads * seq * D, 0.25f),
      o16(o32);
  auto s32d = desc4(s32, 1, heads, seq, C), s16d = desc4(s16, 1, heads, seq, C);
  auto o32d = desc4(o32, 1, heads, seq, D), o16d = desc4(o16, 1, heads, seq, D);
  BitnetUnrankedMemRef qr = ref(qd), kr = ref(kd), khr = ref(kh), pr = ref(pd),
                       s32r = ref(s32d), s16r = ref(s16d), o32r = ref(o32d),
                       o16r = ref(o16d);
  _mlir_ciface_bitnet_ukernel_attn_scores_cached(&qr, &kr, &startRef, &s32r);
  _mlir_ciface_bitnet_ukernel_attn_scores_cached_f16(&qr, &khr, &startRef, &s16r);
  EXPECT_EQ(s32, s16);
  for (int64_t i = 0; i < heads * seq; ++i)
    for (int64_t j = start; j < C; ++j)
      EXPECT_EQ(s16[size_t(i * C + j)], 0.5f);
  _mlir_ciface_bitnet_ukernel_attn_pv_cached(&pr, &kr, &startRef, &o32r);
  _mlir_ciface_bitnet_ukernel_attn_pv_cached_f16(&pr, &khr, &startRef, &o16r);
  EXPECT_EQ(o32, o16);
}

/// The `start` and [offset, BOS offset] operands of the attention kernels
/// (rank 0 and rank 1 memref descriptors).
struct CacheScalars {
  int64_t start;
  int32_t offsets[2];
  struct {
    int64_t *allocated, *aligned, offset;
  } startDesc;
  struct {
    int32_t *allocated, *aligned;
    int64_t offset, size, stride;
  } offDesc;
  BitnetUnrankedMemRef startRef, offRef;
  CacheScalars(int64_t s, int32_t offset, int32_t bosOffset)
      : start(s), offsets{offset, bosOffset}, startDesc{&start, &start, 0},
        offDesc{offsets, offsets, 0, 2, 1}, startRef{0, &startDesc},
        offRef{1, &offDesc} {}
  CacheScalars(const CacheScalars &) = delete;
};

// A packed cache (q4: 4-bit codes two per byte; q3: three bit planes and
// the BOS row's fourth plane in a row of its own; each row then its f32
// scale, the BOS row at its own offset) against an f32 cache of its
// dequantized values, on the AVX-512 blocks (D = 64: two row blocks and a
// tail) and on the portable loops (D = 40): identical results, unfilled
// rows never read, and the sums close to a double-precision reference.
void expectPackedCacheMatchesFloatCache(bool q3) {
  for (int64_t D : {int64_t(40), int64_t(64)}) {
    const int64_t heads = 8, kvHeads = 2, seq = 3, C = 70, start = 67;
    const int32_t offset = 4, bosOffset = 8; // 3-bit codes, BOS at 4 bits
    const int64_t plane = D / 8, codeBytes = q3 ? 3 * plane : D / 2,
                  row = codeBytes + 4;
    std::mt19937 rng(q3 ? 13 : 11);
    std::vector<float> q(heads * seq * D), kv(kvHeads * C * D),
        p(heads * seq * C);
    std::vector<int8_t> packed(kvHeads * C * row, 0), bos(kvHeads * row, 0);
    for (float &v : q)
      v = float(int(rng() % 200) - 100) / 64.0f;
    for (float &v : p)
      v = float(int(rng() % 100)) / 128.0f;
    for (int64_t h = 0; h < kvHeads; ++h)
      for (int64_t j = 0; j < C; ++j) {
        int32_t off = j == 0 ? bosOffset : offset;
        float scale = float(1 + rng() % 50) / 64.0f;
        uint8_t *r = reinterpret_cast<uint8_t *>(&packed[(h * C + j) * row]);
        uint8_t *fourth = reinterpret_cast<uint8_t *>(&bos[h * row]);
        std::memcpy(r + codeBytes, &scale, 4);
        for (int64_t d = 0; d < D; ++d) {
          uint32_t c = rng() % uint32_t(2 * off);
          if (!q3) {
            r[d / 2] |= d % 2 ? uint8_t(c << 4) : uint8_t(c);
          } else {
            for (int64_t b = 0; b < 3; ++b)
              r[b * plane + d / 8] |= uint8_t(((c >> b) & 1) << (d % 8));
            if (j == 0)
              fourth[d / 8] |= uint8_t(((c >> 3) & 1) << (d % 8));
          }
          kv[(h * C + j) * D + d] = float(int32_t(c) - off) * scale;
        }
        if (j >= start) { // unfilled: never read
          float nan = std::nanf("");
          std::memcpy(r + codeBytes, &nan, 4);
          kv[(h * C + j) * D] = nan;
        }
      }
    CacheScalars scalars(start, offset, bosOffset);
    BitnetUnrankedMemRef &startRef = scalars.startRef, &offRef = scalars.offRef;
    auto ref = [](auto &d) { return BitnetUnrankedMemRef{4, &d}; };
    auto qd = desc4(q, 1, heads, seq, D);
    auto kd = desc4(kv, 1, kvHeads, C, D);
    auto kpd = desc4(packed, 1, kvHeads, C, row);
    auto bd = desc4(bos, 1, kvHeads, 1, row);
    auto pd = desc4(p, 1, heads, seq, C);
    std::vector<float> sf(heads * seq * C, 0.5f), sp(sf),
        of(heads * seq * D, 0.25f), op(of);
    auto sfd = desc4(sf, 1, heads, seq, C), spd = desc4(sp, 1, heads, seq, C);
    auto ofd = desc4(of, 1, heads, seq, D), opd = desc4(op, 1, heads, seq, D);
    BitnetUnrankedMemRef qr = ref(qd), kr = ref(kd), kp = ref(kpd),
                         br = ref(bd), pr = ref(pd), sfr = ref(sfd),
                         spr = ref(spd), ofr = ref(ofd), opr = ref(opd);
    _mlir_ciface_bitnet_ukernel_attn_scores_cached(&qr, &kr, &startRef, &sfr);
    _mlir_ciface_bitnet_ukernel_attn_pv_cached(&pr, &kr, &startRef, &ofr);
    if (q3) {
      _mlir_ciface_bitnet_ukernel_attn_scores_cached_q3(
          &qr, &kp, &kp, &kp, &br, &kp, &kp, &kp, &kp, &offRef, &offRef,
          &startRef, &spr);
      _mlir_ciface_bitnet_ukernel_attn_pv_cached_q3(
          &pr, &kp, &kp, &kp, &br, &kp, &kp, &kp, &kp, &offRef, &offRef,
          &startRef, &opr);
    } else {
      _mlir_ciface_bitnet_ukernel_attn_scores_cached_q4(
          &qr, &kp, &kp, &kp, &kp, &kp, &offRef, &offRef, &startRef, &spr);
      _mlir_ciface_bitnet_ukernel_attn_pv_cached_q4(
          &pr, &kp, &kp, &kp, &kp, &kp, &offRef, &offRef, &startRef, &opr);
    }
    EXPECT_EQ(sf, sp) << "D = " << D;
    EXPECT_EQ(of, op) << "D = " << D;
    const int64_t rep = heads / kvHeads;
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < seq; ++i) {
        for (int64_t j = 0; j < C; ++j) {
          double want = 0.5;
          for (int64_t d = 0; j < start && d < D; ++d)
            want += double(q[(h * seq + i) * D + d]) *
                    kv[((h / rep) * C + j) * D + d];
          EXPECT_NEAR(sp[(h * seq + i) * C + j], want, 1e-4 * (1 + std::fabs(want)));
        }
        for (int64_t d = 0; d < D; ++d) {
          double want = 0.25;
          for (int64_t j = 0; j < start; ++j)
            want += double(p[(h * seq + i) * C + j]) *
                    kv[((h / rep) * C + j) * D + d];
          EXPECT_NEAR(op[(h * seq + i) * D + d], want, 1e-4 * (1 + std::fabs(want)));
        }
      }
  }
}

TEST(AttentionCacheTest, Q4CacheMatchesFloatCache) {
  expectPackedCacheMatchesFloatCache(/*q3=*/false);
}

TEST(AttentionCacheTest, Q3CacheMatchesFloatCache) {
  expectPackedCacheMatchesFloatCache(/*q3=*/true);
}

} // namespace

namespace {

// The batched-matmul entry on 4-D operands as attention passes them: the
// batch flattening, an offset output, and a B whose columns are not unit
// stride (a transposed view: the strided path) next to a contiguous one
// (the vector path), against a double-precision reference.
TEST(BatchedMatmulTest, EntryMatchesReferenceOnStridedViews) {
  const int64_t b0 = 2, b1 = 3, m = 5, k = 37, n = 19;
  std::mt19937 rng(77);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> a(size_t(b0 * b1 * m * k)), bt(size_t(b0 * b1 * n * k));
  for (float &v : a)
    v = u(rng);
  for (float &v : bt)
    v = u(rng);
  // bt holds B^T ([.., n, k]); `bc` holds B itself contiguous ([.., k, n]).
  std::vector<float> bc(bt.size());
  for (int64_t bi = 0; bi < b0 * b1; ++bi)
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < n; ++j)
        bc[size_t(bi * k * n + i * n + j)] = bt[size_t(bi * n * k + j * k + i)];
  std::vector<double> want(size_t(b0 * b1 * m * n), 0.5);
  for (int64_t bi = 0; bi < b0 * b1; ++bi)
    for (int64_t r = 0; r < m; ++r)
      for (int64_t j = 0; j < n; ++j)
        for (int64_t i = 0; i < k; ++i)
          want[size_t(bi * m * n + r * n + j)] +=
              double(a[size_t(bi * m * k + r * k + i)]) *
              bc[size_t(bi * k * n + i * n + j)];
  Desc4<float> ad{a.data(), a.data(), 0, {b0, b1, m, k}, {b1 * m * k, m * k, k, 1}};
  Desc4<float> btd{bt.data(), bt.data(), 0, {b0, b1, k, n}, {b1 * n * k, n * k, 1, k}};
  Desc4<float> bcd{bc.data(), bc.data(), 0, {b0, b1, k, n}, {b1 * k * n, k * n, n, 1}};
  for (Desc4<float> *bd : {&btd, &bcd}) {
    const int64_t pad = 3; // the output starts at an offset
    std::vector<float> out(size_t(pad + b0 * b1 * m * n), 0.5f);
    Desc4<float> od{out.data(), out.data(), pad, {b0, b1, m, n}, {b1 * m * n, m * n, n, 1}};
    BitnetUnrankedMemRef ua{4, &ad}, ub{4, bd}, uo{4, &od};
    _mlir_ciface_bitnet_ukernel_bmm_f32(&ua, &ub, &uo);
    EXPECT_EQ(out[0], 0.5f); // before the offset: untouched
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_NEAR(out[pad + i], want[i], 1e-5 * k)
          << (bd == &btd ? "strided B" : "contiguous B") << " at " << i;
  }
}

} // namespace
