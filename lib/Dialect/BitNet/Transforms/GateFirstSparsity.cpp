//===- GateFirstSparsity.cpp - Skip what ReLU2-GLU and TopK zero out ------===//
//
// See the pass description (Passes.td). The rewrites only change which
// values kernels may skip, never a value: the tests compare the results
// with and without the pass bit for bit.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Dialect/BitNet/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETGATEFIRSTSPARSITY
#include "bitnet/Dialect/BitNet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;
using namespace mlir::bitnet;

namespace {

/// The one arithmetic op an elementwise generic applies (all loops
/// parallel, identity map on the result and on `value`'s operand), with
/// the block arguments mapped back to the generic's operands; null if the
/// generic is anything else.
struct Elementwise {
  linalg::GenericOp generic;
  Operation *op = nullptr;
  /// The generic's input behind an operand of `op`, or null if that operand
  /// is not a block argument of an identity-mapped input.
  Value input(unsigned i) {
    auto arg = dyn_cast<BlockArgument>(op->getOperand(i));
    if (!arg || arg.getOwner() != generic.getBody() ||
        arg.getArgNumber() >= generic.getNumDpsInputs())
      return {};
    OpOperand *operand = generic.getDpsInputOperand(arg.getArgNumber());
    if (!generic.getMatchingIndexingMap(operand).isIdentity())
      return {};
    return operand->get();
  }
};

std::optional<Elementwise> matchElementwise(Value v) {
  auto generic = v.getDefiningOp<linalg::GenericOp>();
  if (!generic || generic.getNumResults() != 1 ||
      generic.getNumParallelLoops() != generic.getNumLoops() ||
      !generic.getMatchingIndexingMap(generic.getDpsInitOperand(0))
           .isIdentity() ||
      v.getType() != generic.getDpsInitOperand(0)->get().getType())
    return std::nullopt;
  auto yield = cast<linalg::YieldOp>(generic.getBody()->getTerminator());
  Operation *op = yield.getOperand(0).getDefiningOp();
  if (!op || op->getBlock() != generic.getBody() || op->getNumResults() != 1)
    return std::nullopt;
  return Elementwise{generic, op};
}

/// `max(x, 0)` (or `max(0, x)`) elementwise: x, or null.
Value matchRelu(Value v) {
  auto e = matchElementwise(v);
  if (!e || !isa<arith::MaximumFOp, arith::MaxNumFOp>(e->op))
    return {};
  for (unsigned i = 0; i < 2; ++i)
    if (matchPattern(e->op->getOperand(1 - i), m_AnyZeroFloat()))
      if (Value x = e->input(i))
        return x;
  return {};
}

/// `x * x` elementwise: x, or null.
Value matchSquare(Value v) {
  auto e = matchElementwise(v);
  if (!e || !isa<arith::MulFOp>(e->op) ||
      e->op->getOperand(0) != e->op->getOperand(1))
    return {};
  return e->input(0);
}

/// mul(square(relu(gate)), up) (either order) -> relu2_glu(gate, up).
struct RaiseReLU2GLU : OpRewritePattern<linalg::GenericOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::GenericOp generic,
                                PatternRewriter &rewriter) const override {
    if (generic.getNumResults() != 1)
      return failure();
    Value result = generic.getResult(0);
    auto e = matchElementwise(result);
    if (!e || !isa<arith::MulFOp>(e->op))
      return rewriter.notifyMatchFailure(generic, "not an elementwise multiply");
    auto type = dyn_cast<RankedTensorType>(result.getType());
    if (!type || !type.getElementType().isF32())
      return failure();
    for (unsigned i = 0; i < 2; ++i) {
      Value squared = e->input(i), up = e->input(1 - i);
      if (!squared || !up || up.getType() != type)
        continue;
      Value relu = matchSquare(squared);
      Value gate = relu ? matchRelu(relu) : Value();
      if (!gate || gate.getType() != type)
        continue;
      rewriter.replaceOpWithNewOp<ReLU2GLUOp>(generic, type, gate, up);
      return success();
    }
    return rewriter.notifyMatchFailure(generic, "not up * relu(gate)^2");
  }
};

/// relu2_glu(bitlinear(..), bitlinear(..)) -> the up projection gated.
struct GateUpProjection : OpRewritePattern<ReLU2GLUOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReLU2GLUOp op,
                                PatternRewriter &rewriter) const override {
    auto up = op.getUp().getDefiningOp<BitLinearOp>();
    if (!up || !op.getGate().getDefiningOp<BitLinearOp>())
      return rewriter.notifyMatchFailure(op, "gate and up are not BitLinear");
    if (!up->hasOneUse())
      return rewriter.notifyMatchFailure(op, "the up projection has other users");
    if (up.getResult().getType() != op.getGate().getType())
      return failure();
    rewriter.setInsertionPoint(op);
    Value gated = GatedBitLinearOp::create(
        rewriter, up.getLoc(), up.getResult().getType(), up.getInput(),
        up.getInputScale(), up.getWeight(), up.getWeightScale(), op.getGate());
    rewriter.modifyOpInPlace(op, [&] { op.getUpMutable().assign(gated); });
    rewriter.eraseOp(up);
    return success();
  }
};

/// True if `codes` are the codes of a quantizer of a relu2_glu result, or
/// of a topk_sparsify that zeroes at least `minTopKZeros` of its input:
/// inputs that are mostly zero.
bool quantizesSparseValues(Value codes, double minTopKZeros) {
  Operation *quant = codes.getDefiningOp();
  if (!isa_and_present<AbsmaxQuantOp, AbsmeanQuantOp, FP4QuantOp>(quant) ||
      quant->getResult(0) != codes)
    return false;
  Operation *source = quant->getOperand(0).getDefiningOp();
  if (auto topk = dyn_cast_if_present<TopKSparsifyOp>(source))
    return 1.0 - topk.getRatio().convertToDouble() >= minTopKZeros - 1e-9;
  return isa_and_present<ReLU2GLUOp>(source);
}

/// A BitLinear behind a sparse input gets its weight in bits2_cols.
struct ColumnLayoutForSparseInput : OpRewritePattern<BitLinearOp> {
  ColumnLayoutForSparseInput(MLIRContext *ctx, double minTopKZeros,
                             int64_t maxRows)
      : OpRewritePattern(ctx), minTopKZeros(minTopKZeros), maxRows(maxRows) {}
  double minTopKZeros;
  int64_t maxRows;
  LogicalResult matchAndRewrite(BitLinearOp op,
                                PatternRewriter &rewriter) const override {
    if (!quantizesSparseValues(op.getInput(), minTopKZeros))
      return rewriter.notifyMatchFailure(op, "input is not known to be sparse");
    if (maxRows > 0) {
      auto in = cast<ShapedType>(op.getInput().getType());
      ArrayRef<int64_t> lead = in.getShape().drop_back();
      if (ShapedType::isDynamicShape(lead) ||
          ShapedType::getNumElements(lead) > maxRows)
        return rewriter.notifyMatchFailure(op, "more rows than column-max-rows");
    }
    Value weight = op.getWeight();
    auto packed = dyn_cast<PackedTernaryType>(weight.getType());
    if (packed && packed.getLayout() == TernaryLayout::bits2_cols)
      return rewriter.notifyMatchFailure(op, "already column-contiguous");
    ArrayRef<int64_t> shape =
        packed ? packed.getShape()
               : cast<RankedTensorType>(weight.getType()).getShape();
    if (shape.size() != 2 || ShapedType::isDynamicShape(shape))
      return rewriter.notifyMatchFailure(op, "weight is not a static matrix");
    Location loc = op.getLoc();
    if (packed)
      weight = UnpackTernaryOp::create(
          rewriter, loc, RankedTensorType::get(shape, rewriter.getI8Type()),
          weight);
    auto cols = PackedTernaryType::get(op.getContext(), shape,
                                       TernaryLayout::bits2_cols);
    Value repacked = PackTernaryOp::create(rewriter, loc, cols, weight);
    rewriter.modifyOpInPlace(op, [&] { op.getWeightMutable().assign(repacked); });
    return success();
  }
};

struct GateFirstSparsityPass
    : mlir::bitnet::impl::BitNetGateFirstSparsityBase<GateFirstSparsityPass> {
  using BitNetGateFirstSparsityBase::BitNetGateFirstSparsityBase;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RaiseReLU2GLU>(&getContext());
    if (gateFirst)
      patterns.add<GateUpProjection>(&getContext());
    if (skipZeroInputs)
      patterns.add<ColumnLayoutForSparseInput>(&getContext(), minTopKZeros,
                                              columnMaxRows);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
