//===- PolynomialExpTest.cpp - bitnet-polynomial-exp against libm ---------===//
//
// Compiled artifacts compute softmax's and SiLU's exp with MLIR's Cephes
// polynomial (bitnet-polynomial-exp); this holds it to libm over the range
// that matters and to the documented behaviour at the edges.
//
//===----------------------------------------------------------------------===//

#include "JitTestUtils.h"


#include <cfloat>
#include <random>

using namespace bitnet::test;

namespace {

TEST(PolynomialExpTest, MatchesLibmAndEdges) {
  std::unique_ptr<mlir::MLIRContext> context =
      mlir::bitnet::createReferenceContext();
  const char *source = R"mlir(
func.func @run(%x: memref<?xf32>, %y: memref<?xf32>)
    attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %x, %c0 : memref<?xf32>
  scf.for %i = %c0 to %n step %c1 {
    %v = memref.load %x[%i] : memref<?xf32>
    %e = math.exp %v : f32
    memref.store %e, %y[%i] : memref<?xf32>
  }
  return
}
)mlir";
  mlir::OwningOpRef<mlir::ModuleOp> module =
      parseAndRunPasses(*context, source, "bitnet-polynomial-exp");
  ASSERT_TRUE(module);
  bool left = false;
  module->walk([&](mlir::Operation *op) {
    left |= op->getName().getStringRef() == "math.exp";
  });
  ASSERT_FALSE(left) << "math.exp survived the pass";
  auto engine = mlir::bitnet::compileReferenceJit(*module);
  ASSERT_TRUE(bool(engine)) << llvm::toString(engine.takeError());

  // Softmax's arguments (<= 0) and SiLU's (either sign), densely, plus the
  // edges: zero, -inf (masked scores), the flush and saturation points.
  std::vector<float> x;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-87.0f, 88.0f);
  for (int i = 0; i < 20000; ++i)
    x.push_back(u(rng));
  for (int i = -2000; i <= 2000; ++i)
    x.push_back(float(i) / 256.0f);
  const std::vector<float> edges = {0.0f, -0.0f, -INFINITY, -100.0f, -88.0f,
                                    100.0f, INFINITY};
  x.insert(x.end(), edges.begin(), edges.end());
  std::vector<float> y(x.size(), -1.0f);
  auto xm = view<float, 1>(x, {int64_t(x.size())});
  auto ym = view<float, 1>(y, {int64_t(y.size())});
  auto *xp = &xm, *yp = &ym;
  ASSERT_FALSE(bool((*engine)->invoke("run", xp, yp)));

  int64_t worst = 0;
  for (size_t i = 0; i + edges.size() < x.size(); ++i) {
    float want = float(std::exp(double(x[i])));
    if (want < FLT_MIN) { // below the normals: flushed to zero
      EXPECT_EQ(y[i], 0.0f) << "exp(" << x[i] << ")";
      continue;
    }
    worst = std::max(worst, ulpDistance(y[i], want));
  }
  // Cephes' relative error is below 2^-22.5: at most 2 ulp after rounding.
  EXPECT_LE(worst, 2);
  size_t e = x.size() - edges.size();
  EXPECT_EQ(y[e + 0], 1.0f);
  EXPECT_EQ(y[e + 1], 1.0f);
  EXPECT_EQ(y[e + 2], 0.0f);   // -inf: masked attention scores weigh 0
  EXPECT_EQ(y[e + 3], 0.0f);
  EXPECT_EQ(y[e + 4], 0.0f);   // e^-88 is subnormal: flushed
  EXPECT_GT(y[e + 5], 1e38f) << y[e + 5]; // overflows (+inf)
  EXPECT_GT(y[e + 6], 1e38f) << y[e + 6];
}

} // namespace
