//===- NumericsTest.cpp - Reference lowering vs the C++ reference ---------===//
//
// Each quantizer, TopK, BitLinear, ReLU^2-GLU and the KV-cache quantizer is
// compiled through the reference lowering and run on inputs with the rows
// that break quantizers: all zero, huge and tiny magnitudes, exact .5 ties.
// Integer codes and scales must match bit for bit; dequantized values within
// 1 ulp.
//
//===----------------------------------------------------------------------===//

#include "JitTestUtils.h"
#include "Reference.h"

#include <random>

using namespace bitnet;
using namespace bitnet::test;

namespace {

constexpr int64_t kRows = 8, kDim = 128;

/// Rows: 0 all zero; 1 huge (~1e30); 2 tiny (~1e-30, some subnormal);
/// 3 exact ties for a unit multiplier (max 127 / mean sqrt(7) / max 6 under
/// clamp); others normal with outliers.
std::vector<float> quantizerInput(uint32_t seed, float tieMax) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> x(kRows * kDim);
  for (int64_t i = 0; i < kDim; ++i) {
    x[0 * kDim + i] = 0.f;
    x[1 * kDim + i] = normal(rng) * 1e30f;
    x[2 * kDim + i] = normal(rng) * (i % 2 ? 1e-30f : 1e-41f);
    // Ties at k + 0.5 (and the E2M1 midpoints), capped by tieMax.
    static const float ties[] = {0.5f, 1.5f, 2.5f, -0.5f, -2.5f, 3.5f,
                                 0.25f, 0.75f, 1.25f, 1.75f, 5.f, -5.f};
    x[3 * kDim + i] = ties[i % 12];
  }
  x[3 * kDim + kDim - 1] = tieMax;
  for (int64_t r = 4; r < kRows; ++r)
    for (int64_t i = 0; i < kDim; ++i)
      x[r * kDim + i] = normal(rng) * (i == 7 * r ? 40.f : 1.f);
  return x;
}

/// Fills row r so that absmax codes depend on the multiplier form: the row
/// maximum is chosen so that Q / d and (1 / d) * Q differ, and the other
/// entries sit where the two multipliers round to different codes.
void fillFormSensitiveRow(std::vector<float> &x, int64_t r, float q,
                          bool clampEps) {
  float g = 3.0f, d, m1, m2;
  do {
    g = std::nextafter(g, 10.f);
    d = clampEps ? std::max(g, 1e-5f) : g + 1e-5f;
    m1 = q / d;
    m2 = (1.f / d) * q;
  } while (m1 == m2);
  float *row = &x[r * kDim];
  std::fill(row, row + kDim, 0.f);
  row[kDim - 1] = g;
  int64_t n = 0;
  for (int k = 0; k < int(q) && n < kDim - 1; ++k) {
    float t = (float(k) + 0.5f) / m1;
    for (int step = -4; step <= 4 && n < kDim - 1; ++step) {
      float v = t;
      for (int i = 0; i < std::abs(step); ++i)
        v = std::nextafter(v, step < 0 ? 0.f : 1e9f);
      if (std::nearbyint(v * m1) != std::nearbyint(v * m2))
        row[n++] = v;
    }
  }
  ASSERT_GT(n, 0) << "no value tells the two multiplier forms apart";
}

struct QuantCase {
  std::string op;   // absmax_quant | absmean_quant | fp4_quant
  int bits;         // ignored for fp4
  bool clampEps;
  bool recipMul = false;
};

void PrintTo(const QuantCase &c, std::ostream *os) {
  *os << c.op << " bits=" << c.bits << (c.clampEps ? " clamp" : " +eps")
      << (c.recipMul ? " recip_mul" : "");
}

std::string quantAttrs(const QuantCase &c) {
  std::string attrs;
  if (c.op != "fp4_quant")
    attrs += "bits = " + std::to_string(c.bits) + " : i32";
  if (c.clampEps)
    attrs += std::string(attrs.empty() ? "" : ", ") +
             "eps_mode = #bitnet.eps_mode<clamp>";
  if (c.recipMul)
    attrs += std::string(attrs.empty() ? "" : ", ") +
             "mult_form = #bitnet.mult_form<recip_mul>";
  return attrs.empty() ? "" : "{" + attrs + "}";
}

class QuantizerTest : public ::testing::TestWithParam<QuantCase> {};

TEST_P(QuantizerTest, MatchesReference) {
  const QuantCase &c = GetParam();
  bool fp4 = c.op == "fp4_quant";
  std::string codeElem = fp4 ? "f4E2M1FN" : "i8";
  RunFunction fn;
  std::string x = fn.input("x", {kRows, kDim}, "f32");
  fn.line("%c, %s = bitnet." + c.op + " " + x + " " + quantAttrs(c) +
          " : tensor<8x128xf32> -> tensor<8x128x" + codeElem +
          ">, tensor<8xf32>");
  fn.line("%d = bitnet.dequantize %c, %s : tensor<8x128x" + codeElem +
          ">, tensor<8xf32> -> tensor<8x128xf32>");
  fn.output("codes", "%c", {kRows, kDim}, codeElem);
  fn.output("scale", "%s", {kRows}, "f32");
  fn.output("deq", "%d", {kRows, kDim}, "f32");
  auto engine = compileOrFail(fn);
  ASSERT_TRUE(engine);

  // The tie row's maximum makes the multiplier exactly 1 under clamp.
  float tieMax = c.op == "absmax_quant" ? float((1 << (c.bits - 1)) - 1)
                 : fp4                  ? 6.f
                                        : 0.f;
  std::vector<float> in = quantizerInput(42 + c.bits, tieMax);
  if (c.op == "absmean_quant") {
    // Make the tie row's mean exactly sqrt(Q) so the multiplier is 1.
    float sqrtQ = float(std::sqrt(double((1 << (c.bits - 1)) - 1)));
    double rest = 0;
    for (int64_t i = 0; i < kDim - 1; ++i)
      rest += std::fabs(in[3 * kDim + i]);
    in[3 * kDim + kDim - 1] = float(double(sqrtQ) * kDim - rest);
  }
  if (c.op == "absmax_quant")
    fillFormSensitiveRow(in, 4, float((1 << (c.bits - 1)) - 1), c.clampEps);
  std::vector<int8_t> codes(kRows * kDim);
  std::vector<float> scale(kRows), deq(kRows * kDim);
  auto inV = view<float, 2>(in, {kRows, kDim});
  auto codesV = view<int8_t, 2>(codes, {kRows, kDim});
  auto scaleV = view<float, 1>(scale, {kRows});
  auto deqV = view<float, 2>(deq, {kRows, kDim});
  llvm::Error err = engine->invoke("run", &inV, &codesV, &scaleV, &deqV);
  ASSERT_FALSE(err) << llvm::toString(std::move(err));

  const float eps = 1e-5f;
  ref::Quantized want =
      c.op == "absmax_quant"
          ? ref::absmaxQuant(in, kRows, kDim, c.bits, eps, c.clampEps,
                             c.recipMul)
      : c.op == "absmean_quant"
          ? ref::absmeanQuant(in, kRows, kDim, c.bits, eps, c.clampEps,
                              c.recipMul)
          : ref::fp4Quant(in, kRows, kDim, eps, c.clampEps, c.recipMul);
  // FP4 codes live in the low nibble of each byte.
  expectSameCodes(codes, want.codes, "codes", fp4 ? 0xf : 0xff);
  expectNear(scale, want.scales, 0, "scale");
  expectNear(deq, ref::dequantize(want.codes, want.scales, kDim, fp4), 1,
             "dequantized");

  // The tie row really exercised ties (clamp makes the multiplier 1).
  if (c.clampEps && !fp4) {
    EXPECT_EQ(codes[3 * kDim + 0], 0);  // 0.5 -> 0
    EXPECT_EQ(codes[3 * kDim + 1], 2);  // 1.5 -> 2
    EXPECT_EQ(codes[3 * kDim + 2], 2);  // 2.5 -> 2
    EXPECT_EQ(codes[3 * kDim + 4], -2); // -2.5 -> -2
  }
  if (c.clampEps && fp4) {
    EXPECT_EQ(codes[3 * kDim + 6] & 0xf, 0);  // 0.25 -> 0
    EXPECT_EQ(codes[3 * kDim + 7] & 0xf, 2);  // 0.75 -> 1.0
    EXPECT_EQ(codes[3 * kDim + 8] & 0xf, 2);  // 1.25 -> 1.0
    EXPECT_EQ(codes[3 * kDim + 10] & 0xf, 6); // 5 -> 4
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllQuantizers, QuantizerTest,
    ::testing::Values(QuantCase{"absmax_quant", 8, false},
                      QuantCase{"absmax_quant", 8, true},
                      QuantCase{"absmax_quant", 4, true},
                      QuantCase{"absmean_quant", 4, false},
                      QuantCase{"absmean_quant", 4, true},
                      QuantCase{"absmean_quant", 8, true},
                      QuantCase{"fp4_quant", 0, false},
                      QuantCase{"fp4_quant", 0, true},
                      QuantCase{"absmax_quant", 8, true, true},
                      QuantCase{"absmean_quant", 4, false, true},
                      QuantCase{"fp4_quant", 0, true, true}),
    [](const ::testing::TestParamInfo<QuantCase> &info) {
      return info.param.op + std::to_string(info.param.bits) +
             (info.param.clampEps ? "Clamp" : "AddEps") +
             (info.param.recipMul ? "RecipMul" : "");
    });

class TernaryQuantTest : public ::testing::TestWithParam<bool> {};

TEST_P(TernaryQuantTest, MatchesReference) {
  bool clampEps = GetParam();
  RunFunction fn;
  std::string w = fn.input("w", {16, 64}, "f32");
  fn.line(std::string("%c, %s = bitnet.ternary_quant ") + w +
          (clampEps ? " {eps_mode = #bitnet.eps_mode<clamp>}" : "") +
          " : tensor<16x64xf32> -> tensor<16x64xi8>, tensor<f32>");
  fn.line("%d = bitnet.dequantize %c, %s : tensor<16x64xi8>, tensor<f32> -> "
          "tensor<16x64xf32>");
  fn.output("codes", "%c", {16, 64}, "i8");
  fn.output("scale", "%s", {}, "f32");
  fn.output("deq", "%d", {16, 64}, "f32");
  auto engine = compileOrFail(fn);
  ASSERT_TRUE(engine);

  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.f, 0.02f);
  std::vector<float> in(16 * 64);
  // Multiples of 2^-10, so that every sum below is exact.
  for (float &v : in)
    v = std::round(normal(rng) * 1024.f) / 1024.f;
  // Row 0: ties at +-0.5 and +-1.5 once the mean is exactly 1 (set below).
  if (clampEps) {
    for (int64_t i = 0; i < 64; ++i)
      in[i] = (i % 2 ? -1.f : 1.f) * (i % 4 < 2 ? 0.5f : 1.5f);
    double rest = 0;
    for (int64_t i = 64; i < 16 * 64; ++i)
      rest += std::fabs(in[i]);
    // Total |W| = 1024 so that mean = 1: absorb the remainder in element 0.
    double row0 = 0;
    for (int64_t i = 1; i < 64; ++i)
      row0 += std::fabs(in[i]);
    in[0] = float(1024.0 - rest - row0);
  }
  std::vector<int8_t> codes(16 * 64);
  std::vector<float> scale(1), deq(16 * 64);
  auto inV = view<float, 2>(in, {16, 64});
  auto codesV = view<int8_t, 2>(codes, {16, 64});
  auto scaleV = scalarView(scale);
  auto deqV = view<float, 2>(deq, {16, 64});
  llvm::Error err = engine->invoke("run", &inV, &codesV, &scaleV, &deqV);
  ASSERT_FALSE(err) << llvm::toString(std::move(err));
  ref::Quantized want = ref::ternaryQuant(in, 1e-5f, clampEps);
  expectSameCodes(codes, want.codes, "codes");
  expectNear(scale, want.scales, 0, "scale");
  // Per-tensor dequantization: one scale for every element.
  expectNear(deq, ref::dequantize(want.codes, want.scales, 64, false), 1,
             "dequantized");
  if (clampEps) {
    EXPECT_EQ(scale[0], 1.f);
    EXPECT_EQ(codes[1], 0);  // -0.5 -> 0 (tie to even)
    EXPECT_EQ(codes[4], 0);  // 0.5 -> 0
    EXPECT_EQ(codes[2], 1);  // 1.5 -> 2, clipped to 1
    EXPECT_EQ(codes[3], -1); // -1.5 -> -2, clipped to -1
  }
}

INSTANTIATE_TEST_SUITE_P(EpsModes, TernaryQuantTest, ::testing::Bool());

//===----------------------------------------------------------------------===//
// TopK
//===----------------------------------------------------------------------===//

class TopKTest : public ::testing::TestWithParam<double> {};

TEST_P(TopKTest, MatchesReference) {
  double ratio = GetParam();
  RunFunction fn;
  std::string x = fn.input("x", {6, 40}, "f32");
  fn.line("%y = bitnet.topk_sparsify " + x + " {ratio = " + std::to_string(ratio) +
          " : f64} : tensor<6x40xf32>");
  fn.output("y", "%y", {6, 40}, "f32");
  auto engine = compileOrFail(fn);
  ASSERT_TRUE(engine);
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> in(6 * 40), out(6 * 40);
  for (float &v : in)
    v = normal(rng);
  // Row 0: every magnitude equal, mixed signs (ties resolved by index).
  for (int64_t i = 0; i < 40; ++i)
    in[i] = i % 3 ? 1.f : -1.f;
  // Row 1: pairs of equal magnitudes around the cut.
  for (int64_t i = 0; i < 40; ++i)
    in[40 + i] = float((i / 2) % 7) * (i % 2 ? -1.f : 1.f);
  // Row 2: all zero.
  for (int64_t i = 0; i < 40; ++i)
    in[80 + i] = 0.f;
  auto inV = view<float, 2>(in, {6, 40});
  auto outV = view<float, 2>(out, {6, 40});
  llvm::Error err = engine->invoke("run", &inV, &outV);
  ASSERT_FALSE(err) << llvm::toString(std::move(err));
  expectNear(out, ref::topkSparsify(in, 6, 40, ratio), 0, "topk");
  int64_t k = std::max<int64_t>(1, int64_t(std::floor(ratio * 40 + 1e-9)));
  for (int64_t r = 3; r < 6; ++r) {
    int64_t kept = 0;
    for (int64_t i = 0; i < 40; ++i)
      kept += out[r * 40 + i] != 0.f;
    EXPECT_EQ(kept, k) << "row " << r;
  }
}

INSTANTIATE_TEST_SUITE_P(Ratios, TopKTest,
                         ::testing::Values(0.5, 0.3, 0.01, 1.0));

//===----------------------------------------------------------------------===//
// BitLinear
//===----------------------------------------------------------------------===//

struct BitLinearCase {
  std::string codes;  // i8 | f4E2M1FN
  std::string weight; // i8 | bits2 | trits5 | bits2_cols
};

void PrintTo(const BitLinearCase &c, std::ostream *os) {
  *os << c.codes << " codes, " << c.weight << " weights";
}

class BitLinearTest : public ::testing::TestWithParam<BitLinearCase> {};

TEST_P(BitLinearTest, MatchesReference) {
  const BitLinearCase &c = GetParam();
  const int64_t m = 5, n = 24, k = 67; // K not a multiple of 4 or 5: padding
  bool fp4 = c.codes == "f4E2M1FN";
  RunFunction fn;
  std::string x = fn.input("x", {m, k}, c.codes);
  std::string xs = fn.input("xs", {m}, "f32");
  std::string w = fn.input("w", {n, k}, "i8");
  std::string ws = fn.input("ws", {}, "f32");
  std::string wType = "tensor<24x67xi8>";
  std::string wVal = w;
  if (c.weight != "i8") {
    wType = "!bitnet.packed_ternary<24x67, " + c.weight + ">";
    fn.line("%p = bitnet.pack_ternary " + w + " : tensor<24x67xi8> -> " + wType);
    wVal = "%p";
  }
  fn.line("%y = bitnet.bitlinear " + x + ", " + xs + ", " + wVal + ", " + ws +
          " : (tensor<5x67x" + c.codes + ">, tensor<5xf32>, " + wType +
          ", tensor<f32>) -> tensor<5x24xf32>");
  fn.output("y", "%y", {m, n}, "f32");
  auto engine = compileOrFail(fn);
  ASSERT_TRUE(engine);

  std::mt19937 rng(5);
  std::vector<int8_t> xin(m * k), win(n * k);
  for (int8_t &v : xin)
    v = fp4 ? int8_t(rng() % 16) : int8_t(int(rng() % 256) - 128);
  for (int8_t &v : win)
    v = int8_t(int(rng() % 3) - 1);
  // Row 0 at the extremes of the code range.
  for (int64_t i = 0; i < k; ++i)
    xin[i] = fp4 ? 7 : -128;
  std::vector<float> xsin{0.5f, 1e-3f, 3.25f, 1e20f, 0.f}, wsin{0.0371f};
  std::vector<float> y(m * n);
  auto xV = view<int8_t, 2>(xin, {m, k});
  auto xsV = view<float, 1>(xsin, {m});
  auto wV = view<int8_t, 2>(win, {n, k});
  auto wsV = scalarView(wsin);
  auto yV = view<float, 2>(y, {m, n});
  llvm::Error err = engine->invoke("run", &xV, &xsV, &wV, &wsV, &yV);
  ASSERT_FALSE(err) << llvm::toString(std::move(err));
  expectNear(y, ref::bitLinear(xin, xsin, win, wsin[0], m, n, k, fp4), 0,
             "bitlinear");
}

INSTANTIATE_TEST_SUITE_P(
    CodesAndLayouts, BitLinearTest,
    ::testing::Values(BitLinearCase{"i8", "i8"}, BitLinearCase{"i8", "bits2"},
                      BitLinearCase{"i8", "trits5"},
                      BitLinearCase{"i8", "bits2_cols"},
                      BitLinearCase{"f4E2M1FN", "i8"},
                      BitLinearCase{"f4E2M1FN", "bits2"},
                      BitLinearCase{"f4E2M1FN", "bits2_cols"}),
    [](const ::testing::TestParamInfo<BitLinearCase> &info) {
      return (info.param.codes == "i8" ? std::string("Int") : "Fp4") +
             "CodesWeight" + info.param.weight;
    });

// gated_bitlinear = bitlinear where gate > 0, else 0, for each weight form
// (the packed 2-bit row layout has its own gated contraction).
class GatedBitLinearTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GatedBitLinearTest, MatchesReference) {
  const std::string layout = GetParam();
  const int64_t m = 3, n = 300, k = 37; // two column blocks, one partial
  RunFunction fn;
  std::string x = fn.input("x", {m, k}, "i8");
  std::string xs = fn.input("xs", {m}, "f32");
  std::string w = fn.input("w", {n, k}, "i8");
  std::string ws = fn.input("ws", {}, "f32");
  std::string g = fn.input("g", {m, n}, "f32");
  std::string wType = "tensor<300x37xi8>", wVal = w;
  if (layout != "i8") {
    wType = "!bitnet.packed_ternary<300x37, " + layout + ">";
    fn.line("%p = bitnet.pack_ternary " + w + " : tensor<300x37xi8> -> " + wType);
    wVal = "%p";
  }
  fn.line("%y = bitnet.gated_bitlinear " + x + ", " + xs + ", " + wVal + ", " +
          ws + ", " + g + " : (tensor<3x37xi8>, tensor<3xf32>, " + wType +
          ", tensor<f32>, tensor<3x300xf32>) -> tensor<3x300xf32>");
  fn.output("y", "%y", {m, n}, "f32");
  auto engine = compileOrFail(fn);
  ASSERT_TRUE(engine);

  std::mt19937 rng(17);
  std::vector<int8_t> xin(m * k), win(n * k);
  for (int8_t &v : xin)
    v = int8_t(int(rng() % 256) - 128);
  for (int8_t &v : win)
    v = int8_t(int(rng() % 3) - 1);
  std::vector<float> gin(m * n);
  for (float &v : gin) // about 2/3 closed, some exactly 0
    v = float(int(rng() % 6) - 3) * 0.25f;
  gin[5] = std::nanf("");
  std::vector<float> xsin{0.5f, 1e-3f, 3.25f}, wsin{0.0371f};
  std::vector<float> y(m * n);
  auto xV = view<int8_t, 2>(xin, {m, k});
  auto xsV = view<float, 1>(xsin, {m});
  auto wV = view<int8_t, 2>(win, {n, k});
  auto wsV = scalarView(wsin);
  auto gV = view<float, 2>(gin, {m, n});
  auto yV = view<float, 2>(y, {m, n});
  llvm::Error err = engine->invoke("run", &xV, &xsV, &wV, &wsV, &gV, &yV);
  ASSERT_FALSE(err) << llvm::toString(std::move(err));
  std::vector<float> want = ref::bitLinear(xin, xsin, win, wsin[0], m, n, k,
                                           /*fp4=*/false);
  for (int64_t i = 0; i < m * n; ++i)
    if (!(gin[size_t(i)] > 0.0f))
      want[size_t(i)] = 0.0f;
  expectNear(y, want, 0, "gated_bitlinear");
}

INSTANTIATE_TEST_SUITE_P(Layouts, GatedBitLinearTest,
                         ::testing::Values("i8", "bits2", "bits2_cols"));

// fused_bitlinear = bitlinear(quant(topk(x))) for every activation scheme.
struct FusedCase {
  std::string act;
  bool topk;
};

void PrintTo(const FusedCase &c, std::ostream *os) {
  *os << c.act << (c.topk ? " with topk" : "");
}

class FusedBitLinearTest : public ::testing::TestWithParam<FusedCase> {};

TEST_P(FusedBitLinearTest, MatchesComposedReference) {
  const FusedCase &c = GetParam();
  const int64_t m = 4, n = 16, k = 64;
  RunFunction fn;
  std::string x = fn.input("x", {m, k}, "f32");
  std::string w = fn.input("w", {n, k}, "f32");
  fn.line("%wc, %ws = bitnet.ternary_quant " + w +
          " : tensor<16x64xf32> -> tensor<16x64xi8>, tensor<f32>");
  fn.line("%p = bitnet.pack_ternary %wc : tensor<16x64xi8> -> "
          "!bitnet.packed_ternary<16x64, bits2>");
  fn.line("%y = bitnet.fused_bitlinear " + x + ", %p, %ws {act = #bitnet.act<" +
          c.act + ">" + (c.topk ? ", topk_ratio = 5.000000e-01 : f64" : "") +
          "} : (tensor<4x64xf32>, !bitnet.packed_ternary<16x64, bits2>, "
          "tensor<f32>) -> tensor<4x16xf32>");
  fn.output("y", "%y", {m, n}, "f32");
  auto engine = compileOrFail(fn);
  ASSERT_TRUE(engine);

  std::mt19937 rng(9);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> xin(m * k), win(n * k), y(m * n);
  for (float &v : xin)
    v = normal(rng);
  for (float &v : win)
    v = normal(rng) * 0.05f;
  auto xV = view<float, 2>(xin, {m, k});
  auto wV = view<float, 2>(win, {n, k});
  auto yV = view<float, 2>(y, {m, n});
  llvm::Error err = engine->invoke("run", &xV, &wV, &yV);
  ASSERT_FALSE(err) << llvm::toString(std::move(err));

  std::vector<float> xt = c.topk ? ref::topkSparsify(xin, m, k, 0.5) : xin;
  bool fp4 = c.act == "fp4_minmax";
  ref::Quantized q = c.act == "int8_absmax"
                         ? ref::absmaxQuant(xt, m, k, 8, 1e-5f, false)
                     : c.act == "int4_absmean"
                         ? ref::absmeanQuant(xt, m, k, 4, 1e-5f, false)
                         : ref::fp4Quant(xt, m, k, 1e-5f, false);
  ref::Quantized wq = ref::ternaryQuant(win, 1e-5f, false);
  expectNear(y, ref::bitLinear(q.codes, q.scales, wq.codes, wq.scales[0], m, n,
                               k, fp4),
             0, "fused_bitlinear");
}

INSTANTIATE_TEST_SUITE_P(
    Schemes, FusedBitLinearTest,
    ::testing::Values(FusedCase{"int8_absmax", false},
                      FusedCase{"int8_absmax", true},
                      FusedCase{"int4_absmean", false},
                      FusedCase{"fp4_minmax", true}),
    [](const ::testing::TestParamInfo<FusedCase> &info) {
      return info.param.act + (info.param.topk ? "_topk" : "");
    });

// Constant weights are quantized and packed at compile time
// (--bitnet-fold-weights in the pipeline): the result must be what the same
// weights give when quantized at run time, i.e. the C++ reference.
class FoldedWeightsTest : public ::testing::TestWithParam<bool> {};

TEST_P(FoldedWeightsTest, MatchesRuntimeQuantization) {
  bool clampRecip = GetParam();
  const int64_t m = 4, n = 16, k = 64;
  std::mt19937 rng(29);
  std::normal_distribution<float> normal(0.f, 0.05f);
  std::vector<float> w(n * k);
  for (float &v : w)
    v = normal(rng);
  std::string dense = "dense<[";
  for (int64_t i = 0; i < n; ++i) {
    dense += i ? ", [" : "[";
    for (int64_t j = 0; j < k; ++j) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%s%.9g", j ? ", " : "", w[i * k + j]);
      dense += buf;
    }
    dense += "]";
  }
  dense += "]>";
  std::string attrs = clampRecip ? " {eps_mode = #bitnet.eps_mode<clamp>, "
                                   "mult_form = #bitnet.mult_form<recip_mul>}"
                                 : "";
  RunFunction fn;
  std::string x = fn.input("x", {m, k}, "f32");
  fn.line("%w = arith.constant " + dense + " : tensor<16x64xf32>");
  fn.line("%wc, %ws = bitnet.ternary_quant %w" + attrs +
          " : tensor<16x64xf32> -> tensor<16x64xi8>, tensor<f32>");
  fn.line("%q, %s = bitnet.absmax_quant " + x +
          " : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4xf32>");
  fn.line("%y = bitnet.bitlinear %q, %s, %wc, %ws : (tensor<4x64xi8>, "
          "tensor<4xf32>, tensor<16x64xi8>, tensor<f32>) -> tensor<4x16xf32>");
  fn.output("y", "%y", {m, n}, "f32");
  auto engine = compileOrFail(fn);
  ASSERT_TRUE(engine);
  std::normal_distribution<float> act(0.f, 1.f);
  std::vector<float> xin(m * k), y(m * n);
  for (float &v : xin)
    v = act(rng);
  auto xV = view<float, 2>(xin, {m, k});
  auto yV = view<float, 2>(y, {m, n});
  llvm::Error err = engine->invoke("run", &xV, &yV);
  ASSERT_FALSE(err) << llvm::toString(std::move(err));
  ref::Quantized q = ref::absmaxQuant(xin, m, k, 8, 1e-5f, false);
  ref::Quantized wq = ref::ternaryQuant(w, 1e-5f, clampRecip, clampRecip);
  expectNear(y, ref::bitLinear(q.codes, q.scales, wq.codes, wq.scales[0], m, n,
                               k, false),
             0, "bitlinear with folded weights");
}

INSTANTIATE_TEST_SUITE_P(EpsAndMultForms, FoldedWeightsTest, ::testing::Bool());

//===----------------------------------------------------------------------===//
// ReLU^2-GLU
//===----------------------------------------------------------------------===//

TEST(ReLU2GLUTest, MatchesReference) {
  RunFunction fn;
  std::string g = fn.input("g", {3, 50}, "f32");
  std::string u = fn.input("u", {3, 50}, "f32");
  fn.line("%h = bitnet.relu2_glu " + g + ", " + u + " : tensor<3x50xf32>");
  fn.output("h", "%h", {3, 50}, "f32");
  auto engine = compileOrFail(fn);
  ASSERT_TRUE(engine);
  std::mt19937 rng(13);
  std::normal_distribution<float> normal(0.f, 2.f);
  std::vector<float> gin(150), uin(150), h(150);
  for (size_t i = 0; i < 150; ++i) {
    gin[i] = normal(rng);
    uin[i] = normal(rng);
  }
  gin[0] = 0.f;
  gin[1] = -0.f;
  auto gV = view<float, 2>(gin, {3, 50});
  auto uV = view<float, 2>(uin, {3, 50});
  auto hV = view<float, 2>(h, {3, 50});
  llvm::Error err = engine->invoke("run", &gV, &uV, &hV);
  ASSERT_FALSE(err) << llvm::toString(std::move(err));
  expectNear(h, ref::relu2Glu(gin, uin), 0, "relu2_glu");
  int64_t zeros = 0;
  for (float v : h)
    zeros += v == 0.f;
  EXPECT_GT(zeros, 50); // about half the gates are negative
}

//===----------------------------------------------------------------------===//
// KV cache
//===----------------------------------------------------------------------===//

struct KVCase {
  int bits;
  int bosBits; // 0: none
  int64_t start;
};

void PrintTo(const KVCase &c, std::ostream *os) {
  *os << "bits=" << c.bits << " bos_bits=" << c.bosBits << " start=" << c.start;
}

class KVCacheTest : public ::testing::TestWithParam<KVCase> {};

TEST_P(KVCacheTest, MatchesReference) {
  const KVCase &c = GetParam();
  const int64_t t = 5, h = 3, d = 32;
  RunFunction fn;
  std::string x = fn.input("x", {t, h, d}, "f32");
  fn.scalarArg("%start: index");
  std::string attrs = "{bits = " + std::to_string(c.bits) + " : i32" +
                      (c.bosBits ? ", bos_bits = " + std::to_string(c.bosBits) +
                                       " : i32"
                                 : std::string()) +
                      "}";
  fn.line("%c, %s = bitnet.kv_quant " + x + " start %start " + attrs +
          " : tensor<5x3x32xf32> -> tensor<5x3x32xi8>, tensor<5x3xf32>");
  fn.line("%d = bitnet.kv_dequant %c, %s start %start " + attrs +
          " : tensor<5x3x32xi8>, tensor<5x3xf32> -> tensor<5x3x32xf32>");
  fn.output("codes", "%c", {t, h, d}, "i8");
  fn.output("scale", "%s", {t, h}, "f32");
  fn.output("deq", "%d", {t, h, d}, "f32");
  auto engine = compileOrFail(fn);
  ASSERT_TRUE(engine);

  std::mt19937 rng(17);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> in(t * h * d), scale(t * h), deq(t * h * d);
  for (float &v : in)
    v = normal(rng);
  for (int64_t i = 0; i < d; ++i) // one all-zero head
    in[(2 * h + 1) * d + i] = 0.f;
  std::vector<int8_t> codes(t * h * d);
  auto inV = view<float, 3>(in, {t, h, d});
  auto codesV = view<int8_t, 3>(codes, {t, h, d});
  auto scaleV = view<float, 2>(scale, {t, h});
  auto deqV = view<float, 3>(deq, {t, h, d});
  llvm::Error err =
      engine->invoke("run", &inV, c.start, &codesV, &scaleV, &deqV);
  ASSERT_FALSE(err) << llvm::toString(std::move(err));
  ref::Quantized want = ref::kvQuant(in, t, h, d, c.bits, c.bosBits, c.start, 1e-5f);
  expectSameCodes(codes, want.codes, "codes");
  expectNear(scale, want.scales, 0, "scale");
  expectNear(deq, ref::kvDequant(want, t, h, d, c.bits, c.bosBits, c.start), 1,
             "dequantized");
  // Codes are unsigned and fit the token's width.
  for (int64_t ti = 0; ti < t; ++ti) {
    int b = (c.start + ti == 0 && c.bosBits) ? c.bosBits : c.bits;
    for (int64_t i = 0; i < h * d; ++i)
      ASSERT_LT(int(uint8_t(codes[ti * h * d + i])), 1 << b);
  }
}

INSTANTIATE_TEST_SUITE_P(Widths, KVCacheTest,
                         ::testing::Values(KVCase{4, 0, 0}, KVCase{3, 4, 0},
                                           KVCase{3, 4, 7}, KVCase{3, 0, 0}),
                         [](const ::testing::TestParamInfo<KVCase> &info) {
                           return "bits" + std::to_string(info.param.bits) +
                                  "_bos" + std::to_string(info.param.bosBits) +
                                  "_start" + std::to_string(info.param.start);
                         });

//===----------------------------------------------------------------------===//
// Dynamic token count
//===----------------------------------------------------------------------===//

// RMSNorm in front of an INT8 absmax quantizer, one generic per step as
// the ONNX importer emits it: the pipeline's bitnet-fuse-elementwise turns
// it into reductions over x and a code map from x (the normalized row is
// never stored). Codes and scales must equal the C++ reference computing
// the same f32 operations in the same order.
TEST(FusedPrologueTest, RMSNormThenAbsmaxMatchesReference) {
  RunFunction fn;
  std::string x = fn.input("x", {kRows, kDim}, "f32");
  std::string w = fn.input("w", {kDim}, "f32");
  const std::string row = "affine_map<(d0, d1) -> (d0, d1)>",
                    red = "affine_map<(d0, d1) -> (d0)>",
                    vec = "affine_map<(d0, d1) -> (d1)>",
                    one = "affine_map<(d0) -> (d0)>";
  auto generic = [&](const std::string &result, const std::string &maps,
                     const std::string &iters, const std::string &ins,
                     const std::string &outs, const std::string &outType,
                     const std::string &args, const std::string &body) {
    fn.line(result + " = linalg.generic {indexing_maps = [" + maps +
            "], iterator_types = [" + iters + "]} ins(" + ins + ") outs(" +
            outs + " : " + outType + ") {");
    fn.line("^bb0(" + args + "):");
    fn.line(body);
    fn.line("} -> " + outType);
  };
  fn.line("%e = tensor.empty() : tensor<8x128xf32>");
  fn.line("%er = tensor.empty() : tensor<8xf32>");
  fn.line("%zero = arith.constant 0.0 : f32");
  fn.line("%init = linalg.fill ins(%zero : f32) outs(%er : tensor<8xf32>) -> tensor<8xf32>");
  generic("%sq", row + ", " + row, "\"parallel\", \"parallel\"",
          x + " : tensor<8x128xf32>", "%e", "tensor<8x128xf32>",
          "%a: f32, %o: f32",
          "%m = arith.mulf %a, %a : f32\n  linalg.yield %m : f32");
  generic("%ms", row + ", " + red, "\"parallel\", \"reduction\"",
          "%sq : tensor<8x128xf32>", "%init", "tensor<8xf32>",
          "%a: f32, %o: f32",
          "%s = arith.addf %o, %a : f32\n  linalg.yield %s : f32");
  generic("%r", one + ", " + one, "\"parallel\"", "%ms : tensor<8xf32>",
          "%er", "tensor<8xf32>", "%a: f32, %o: f32",
          "%n = arith.constant 128.0 : f32\n  %eps = arith.constant 1.0e-5 : f32\n"
          "  %c1 = arith.constant 1.0 : f32\n  %mean = arith.divf %a, %n : f32\n"
          "  %v = arith.addf %mean, %eps : f32\n  %sqrt = math.sqrt %v : f32\n"
          "  %inv = arith.divf %c1, %sqrt : f32\n  linalg.yield %inv : f32");
  generic("%xr", row + ", " + red + ", " + row, "\"parallel\", \"parallel\"",
          x + ", %r : tensor<8x128xf32>, tensor<8xf32>", "%e",
          "tensor<8x128xf32>", "%a: f32, %b: f32, %o: f32",
          "%m = arith.mulf %a, %b : f32\n  linalg.yield %m : f32");
  generic("%xn", row + ", " + vec + ", " + row, "\"parallel\", \"parallel\"",
          "%xr, " + w + " : tensor<8x128xf32>, tensor<128xf32>", "%e",
          "tensor<8x128xf32>", "%a: f32, %b: f32, %o: f32",
          "%m = arith.mulf %a, %b : f32\n  linalg.yield %m : f32");
  fn.line("%c, %s = bitnet.absmax_quant %xn : tensor<8x128xf32> -> "
          "tensor<8x128xi8>, tensor<8xf32>");
  fn.output("codes", "%c", {kRows, kDim}, "i8");
  fn.output("scale", "%s", {kRows}, "f32");
  auto engine = compileOrFail(fn);
  ASSERT_TRUE(engine);

  std::vector<float> in = quantizerInput(7, 127.f), weight(kDim);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0.5f, 1.5f);
  for (float &v : weight)
    v = u(rng);
  std::vector<int8_t> codes(kRows * kDim);
  std::vector<float> scale(kRows);
  auto inV = view<float, 2>(in, {kRows, kDim});
  auto wV = view<float, 1>(weight, {kDim});
  auto codesV = view<int8_t, 2>(codes, {kRows, kDim});
  auto scaleV = view<float, 1>(scale, {kRows});
  llvm::Error err = engine->invoke("run", &inV, &wV, &codesV, &scaleV);
  ASSERT_FALSE(err) << llvm::toString(std::move(err));

  std::vector<float> normed(kRows * kDim);
  for (int64_t r = 0; r < kRows; ++r) {
    float ms = 0.f;
    for (int64_t i = 0; i < kDim; ++i)
      ms += in[r * kDim + i] * in[r * kDim + i];
    float inv = 1.f / std::sqrt(ms / 128.f + 1e-5f);
    for (int64_t i = 0; i < kDim; ++i)
      normed[r * kDim + i] = (in[r * kDim + i] * inv) * weight[i];
  }
  ref::Quantized want = ref::absmaxQuant(normed, kRows, kDim, 8, 1e-5f,
                                         /*clampEps=*/false, /*recipMul=*/false);
  expectSameCodes(codes, want.codes, "codes", 0xff);
  expectNear(scale, want.scales, 0, "scale");
}

TEST(DynamicShapeTest, AbsmaxQuantWithDynamicTokens) {
  RunFunction fn;
  std::string x = fn.input("x", {-1, 64}, "f32");
  fn.line("%c, %s = bitnet.absmax_quant " + x +
          " : tensor<?x64xf32> -> tensor<?x64xi8>, tensor<?xf32>");
  fn.output("codes", "%c", {-1, 64}, "i8");
  fn.output("scale", "%s", {-1}, "f32");
  auto engine = compileOrFail(fn);
  ASSERT_TRUE(engine);
  for (int64_t rows : {1, 3, 7}) {
    std::vector<float> in(rows * 64);
    for (size_t i = 0; i < in.size(); ++i)
      in[i] = std::sin(float(i)) * float(i % 9);
    std::vector<int8_t> codes(in.size());
    std::vector<float> scale(rows);
    auto inV = view<float, 2>(in, {rows, 64});
    auto codesV = view<int8_t, 2>(codes, {rows, 64});
    auto scaleV = view<float, 1>(scale, {rows});
    llvm::Error err = engine->invoke("run", &inV, &codesV, &scaleV);
    ASSERT_FALSE(err) << llvm::toString(std::move(err));
    ref::Quantized want = ref::absmaxQuant(in, rows, 64, 8, 1e-5f, false);
    expectSameCodes(codes, want.codes, "codes");
    expectNear(scale, want.scales, 0, "scale");
  }
}

} // namespace
