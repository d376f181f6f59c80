//===- BitNetToLinalgPass.cpp - The reference lowering pass ---------------===//

#include "bitnet/Conversion/BitNetToLinalg/BitNetToLinalg.h"
#include "bitnet/Dialect/BitNet/IR/BitNetDialect.h"
#include "bitnet/Dialect/BitNet/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETCONVERTTOLINALG
#include "bitnet/Conversion/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;
using namespace mlir::bitnet;

namespace {

struct BitNetConvertToLinalgPass
    : mlir::bitnet::impl::BitNetConvertToLinalgBase<BitNetConvertToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    ModuleOp module = getOperation();

    RewritePatternSet decompose(ctx);
    populateDecomposeFusedBitLinearPatterns(decompose);
    if (failed(applyPatternsGreedily(module, std::move(decompose))))
      return signalPassFailure();

    BitNetToLinalgTypeConverter converter;
    ConversionTarget target(*ctx);
    target.addIllegalDialect<BitNetDialect>();
    target.addLegalDialect<arith::ArithDialect, linalg::LinalgDialect,
                           math::MathDialect, tensor::TensorDialect>();
    target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp op) {
      return converter.isSignatureLegal(op.getFunctionType()) &&
             converter.isLegal(&op.getBody());
    });
    target.markUnknownOpDynamicallyLegal(
        [&](Operation *op) { return converter.isLegal(op); });

    RewritePatternSet patterns(ctx);
    populateBitNetToLinalgPatterns(converter, patterns);
    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns,
                                                                   converter);
    populateCallOpTypeConversionPattern(patterns, converter);
    populateReturnOpTypeConversionPattern(patterns, converter);
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
