//===- PolynomialExp.cpp - f32 math.exp as a vectorizable polynomial ------===//
//
// A scalar libm call per element keeps LLVM from vectorizing softmax and
// SiLU loops; MLIR's polynomial form of exp is plain arithmetic.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETPOLYNOMIALEXP
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

namespace {

struct BitNetPolynomialExpPass
    : mlir::bitnet::impl::BitNetPolynomialExpBase<BitNetPolynomialExpPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    // Only exp: MLIR's sin/cos reduce the argument in single precision,
    // too coarse for RoPE's angles (position * frequency reaches the
    // thousands).
    populateMathPolynomialApproximationPatterns(
        patterns, [](StringRef name) {
          return name == math::ExpOp::getOperationName();
        });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
