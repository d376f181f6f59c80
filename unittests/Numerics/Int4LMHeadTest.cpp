//===- Int4LMHeadTest.cpp - bitnet-int4-lm-head's contraction, by the JIT -===//
//
// The pass's tagged contraction is the definition the runtime's kernel
// (matmulF32I4W, UkernelTest) replaces: lowered by the reference pipeline
// it must compute x's int8 codes times the weight codes the pass stored,
// dequantized by the layout, times x's scale; and the weight codes must
// be a good 4-bit reading of the weights.
//
//===----------------------------------------------------------------------===//

#include "JitTestUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <algorithm>
#include <random>
#include <sstream>

using namespace bitnet::test;

namespace {

TEST(Int4LMHeadTest, ReferenceLoweringComputesTheDequantizedProduct) {
  constexpr int64_t rows = 3, k = 64, n = 40;
  std::mt19937 rng(11);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> w(size_t(k * n)), x(size_t(rows * k));
  for (float &v : w)
    v = g(rng);
  for (float &v : x)
    v = g(rng);
  w[5 * n + 3] = 0.0f; // a group with a zero, and an all-zero group
  for (int64_t c = 32; c < 64; ++c)
    w[size_t(c * n + 7)] = 0.0f;

  std::ostringstream src;
  src.precision(9);
  src << std::scientific; // "0" would not parse as an f32 element
  src << "module attributes {bitnet.decoder = {vocab = " << n << " : i64}} {\n"
      << "func.func @run(%x: memref<3x64xf32>, %out: memref<3x40xf32>)"
         " attributes {llvm.emit_c_interface} {\n"
      << "  %xt = bufferization.to_tensor %x restrict : memref<3x64xf32> to "
         "tensor<3x64xf32>\n  %w = arith.constant dense<[";
  for (int64_t c = 0; c < k; ++c) {
    src << (c ? ", [" : "[");
    for (int64_t r = 0; r < n; ++r)
      src << (r ? ", " : "") << w[size_t(c * n + r)];
    src << "]";
  }
  src << "]> : tensor<64x40xf32>\n"
      << R"mlir(  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x40xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<3x40xf32>) -> tensor<3x40xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>,
      affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%xt, %w : tensor<3x64xf32>, tensor<64x40xf32>) outs(%init : tensor<3x40xf32>)
      attrs = {bitnet.ukernel = "matmul_f32"} {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<3x40xf32>
  bufferization.materialize_in_destination %r in restrict writable %out :
      (tensor<3x40xf32>, memref<3x40xf32>) -> ()
  return
}
}
)mlir";
  std::unique_ptr<mlir::MLIRContext> context =
      mlir::bitnet::createReferenceContext();
  mlir::OwningOpRef<mlir::ModuleOp> module =
      parseAndRunPasses(*context, src.str(), "bitnet-int4-lm-head");
  ASSERT_TRUE(module);
  bool tagged = false;
  module->walk([&](mlir::linalg::GenericOp op) {
    if (auto t = op->getAttrOfType<mlir::StringAttr>("bitnet.ukernel"))
      tagged |= t.getValue() == "matmul_i8_i4w_nt";
  });
  ASSERT_TRUE(tagged);
  // The codes and scales the pass stored, decoded by the layout (byte
  // 16 g + j mod 16, the high nibble for j >= 16), give the expected
  // product (read before the JIT lowers the module in place): the
  // contraction must compute exactly what the constants say.
  std::vector<int8_t> packed;
  std::vector<float> scales;
  module->walk([&](mlir::arith::ConstantOp c) {
    auto d = mlir::dyn_cast<mlir::DenseElementsAttr>(c.getValue());
    if (!d || d.getType().getRank() != 2)
      return;
    if (d.getElementType().isInteger(8))
      packed.assign(d.value_begin<int8_t>(), d.value_end<int8_t>());
    else if (d.getType().getShape()[1] == k / 32)
      scales.assign(d.value_begin<float>(), d.value_end<float>());
  });
  ASSERT_EQ(packed.size(), size_t(n * k / 2));
  ASSERT_EQ(scales.size(), size_t(n * k / 32));
  auto engine = mlir::bitnet::compileReferenceJit(*module);
  ASSERT_TRUE(bool(engine)) << llvm::toString(engine.takeError());

  std::vector<float> got(size_t(rows * n), -1.0f);
  auto xm = view<float, 2>(x, {rows, k});
  auto om = view<float, 2>(got, {rows, n});
  auto *xp = &xm, *op = &om;
  ASSERT_FALSE(bool((*engine)->invoke("run", xp, op)));

  auto dequantized = [&](int64_t r, int64_t c) {
    uint8_t b = uint8_t(packed[size_t(r * k / 2 + 16 * (c / 32) + c % 16)]);
    int q = int(c % 32 < 16 ? b & 15 : b >> 4) - 8;
    return double(q) * double(scales[size_t(r * (k / 32) + c / 32)]);
  };
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t r = 0; r < n; ++r) {
      // x's row as the pass quantizes it: codes round(x * (127 / max|x|)).
      float mx = 0;
      for (int64_t c = 0; c < k; ++c)
        mx = std::max(mx, std::fabs(x[size_t(m * k + c)]));
      float inv = 127.0f / mx;
      double want = 0;
      for (int64_t c = 0; c < k; ++c)
        want += double(std::round(x[size_t(m * k + c)] * inv)) *
                dequantized(r, c);
      want *= double(mx / 127.0f);
      EXPECT_NEAR(got[size_t(m * n + r)], want, 1e-4 * (1 + std::fabs(want)))
          << "row " << m << " vocabulary entry " << r;
    }
  // And the codes are a good 4-bit reading of W: per group, no more
  // squared error than max / 7 with round to nearest (the pass's first
  // candidate), and all zero for an all-zero group.
  for (int64_t r = 0; r < n; ++r)
    for (int64_t g0 = 0; g0 < k; g0 += 32) {
      float mx = 0;
      for (int64_t j = 0; j < 32; ++j)
        mx = std::max(mx, std::fabs(w[size_t((g0 + j) * n + r)]));
      double err = 0, plain = 0;
      for (int64_t j = 0; j < 32; ++j) {
        double v = w[size_t((g0 + j) * n + r)];
        err += (v - dequantized(r, g0 + j)) * (v - dequantized(r, g0 + j));
        if (mx > 0) {
          double s = mx / 7.0f;
          double q = std::lround(std::clamp(float(v / s), -7.0f, 7.0f));
          plain += (v - q * s) * (v - q * s);
        }
      }
      EXPECT_LE(err, plain * (1 + 1e-6) + 1e-12)
          << "vocabulary entry " << r << " group " << g0 / 32;
    }
}

} // namespace
