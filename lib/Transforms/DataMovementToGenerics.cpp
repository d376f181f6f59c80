//===- DataMovementToGenerics.cpp - Copies that fusion can absorb ----------===//
//
// Attention's inputs reach their kernel through a chain of copies: a head
// transpose, RoPE's rotate-half (two slices, a negation, a concat), and the
// RoPE product. linalg's elementwise fusion only sees through generics, so
// each copy stayed a loop (on the GPU a kernel) of its own. Written as
// generics whose indexing maps do the movement, they fuse into the RoPE
// product (see the pass description in Passes.td).
//
//===----------------------------------------------------------------------===//

#include "bitnet/Transforms/InsertChains.h"
#include "bitnet/Transforms/Passes.h"
#include "bitnet/Transforms/Transposes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETDATAMOVEMENTTOGENERICS
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kUkernelAttr = "bitnet.ukernel";

/// One inserted piece of a concat along dimension `dim`: output positions
/// [offset, offset + size) hold source positions [start, start + size),
/// through `unary` (an elementwise generic of one input) if set.
struct Piece {
  int64_t offset;
  int64_t size;
  int64_t start;
  linalg::GenericOp unary;
};

/// A generic that applies its body to one input elementwise: one input, an
/// init its body does not read, identity maps, parallel loops, and a body
/// that does not ask for its position.
bool isUnaryElementwise(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 1 ||
      op.getNumDpsInits() != 1 || op.getNumResults() != 1 ||
      op.getNumParallelLoops() != op.getNumLoops() ||
      op->hasAttr(kUkernelAttr) ||
      !llvm::all_of(op.getIndexingMapsArray(),
                    [](AffineMap m) { return m.isIdentity(); }))
    return false;
  Block &body = op.getRegion().front();
  if (!body.getArgument(1).use_empty())
    return false;
  return !body.walk([](linalg::IndexOp) { return WalkResult::interrupt(); })
              .wasInterrupted();
}

/// A static, unit-stride slice that is whole in every dimension but `dim`,
/// where it starts at the returned offset.
std::optional<int64_t> sliceAlong(ArrayRef<int64_t> offsets,
                                  ArrayRef<int64_t> sizes,
                                  ArrayRef<int64_t> strides,
                                  ArrayRef<int64_t> full, int64_t dim) {
  for (int64_t d = 0, e = full.size(); d < e; ++d) {
    if (ShapedType::isDynamic(offsets[d]) || ShapedType::isDynamic(sizes[d]) ||
        strides[d] != 1)
      return std::nullopt;
    if (d != dim && (offsets[d] != 0 || sizes[d] != full[d]))
      return std::nullopt;
  }
  return offsets[dim];
}

/// A concat of slices of one tensor `x` along one dimension, each piece
/// optionally through an elementwise op: RoPE's rotate-half
/// (`concat(-x[.., h/2:], x[.., :h/2])`) and the duplicated angle table
/// (`concat(t, t)`). Where every piece reads `x` at `(d + c) mod H` for one
/// constant c (H: x's size along the dimension), it is one generic reading
/// `x` through that map and selecting the piece's op by position.
struct ConcatOfSlicesToGeneric : OpRewritePattern<tensor::InsertSliceOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(tensor::InsertSliceOp root,
                                PatternRewriter &rewriter) const override {
    // Start from the last insert of a chain into a tensor.empty.
    RankedTensorType type = root.getResultType();
    if (!type.hasStaticShape())
      return rewriter.notifyMatchFailure(root, "dynamic shape");
    SmallVector<tensor::InsertSliceOp> chain = bitnet::insertChainEndingAt(root);
    if (chain.empty())
      return rewriter.notifyMatchFailure(
          root, "not the last insert of a chain from tensor.empty");
    if (chain.size() < 2)
      return rewriter.notifyMatchFailure(root, "a single insert");

    // The concat dimension: the one a piece does not cover whole.
    ArrayRef<int64_t> full = type.getShape();
    int64_t dim = -1;
    for (tensor::InsertSliceOp insert : chain)
      for (auto [d, size] : llvm::enumerate(insert.getStaticSizes()))
        if (size != full[d])
          dim = d;
    if (dim < 0)
      return rewriter.notifyMatchFailure(root, "no concat dimension");

    Value x;
    SmallVector<Piece> pieces;
    for (tensor::InsertSliceOp insert : chain) {
      std::optional<int64_t> offset =
          sliceAlong(insert.getStaticOffsets(), insert.getStaticSizes(),
                     insert.getStaticStrides(), full, dim);
      if (!offset)
        return rewriter.notifyMatchFailure(root, "not a slice along one dim");
      Piece piece{*offset, insert.getStaticSizes()[dim], 0, nullptr};
      Value source = insert.getSource();
      if (auto unary = source.getDefiningOp<linalg::GenericOp>();
          unary && isUnaryElementwise(unary)) {
        piece.unary = unary;
        source = unary.getDpsInputs()[0];
      }
      Value pieceSource = source;
      if (auto slice = source.getDefiningOp<tensor::ExtractSliceOp>()) {
        auto sourceType = cast<RankedTensorType>(slice.getSourceType());
        if (slice.getResultType().getRank() != sourceType.getRank())
          return rewriter.notifyMatchFailure(root, "rank-reducing slice");
        std::optional<int64_t> start =
            sliceAlong(slice.getStaticOffsets(), slice.getStaticSizes(),
                       slice.getStaticStrides(), sourceType.getShape(), dim);
        if (!start)
          return rewriter.notifyMatchFailure(root, "not a slice along one dim");
        piece.start = *start;
        pieceSource = slice.getSource();
      }
      if (x && pieceSource != x)
        return rewriter.notifyMatchFailure(root, "pieces of several tensors");
      x = pieceSource;
      pieces.push_back(piece);
    }
    auto xType = dyn_cast<RankedTensorType>(x.getType());
    if (!xType || !xType.hasStaticShape() ||
        xType.getElementType() != type.getElementType())
      return rewriter.notifyMatchFailure(root, "source type");
    for (int64_t d = 0, e = type.getRank(); d < e; ++d)
      if (d != dim && xType.getDimSize(d) != full[d])
        return rewriter.notifyMatchFailure(root, "source shape");

    // The pieces tile [0, full[dim]) and share one rotation c.
    llvm::sort(pieces, [](const Piece &a, const Piece &b) {
      return a.offset < b.offset;
    });
    const int64_t h = xType.getDimSize(dim);
    int64_t covered = 0;
    for (const Piece &piece : pieces) {
      if (piece.offset != covered || piece.start + piece.size > h)
        return rewriter.notifyMatchFailure(root, "pieces do not tile");
      covered += piece.size;
    }
    if (covered != full[dim])
      return rewriter.notifyMatchFailure(root, "pieces do not tile");
    const int64_t c = llvm::mod(pieces[0].start - pieces[0].offset, h);
    for (const Piece &piece : pieces)
      if (llvm::mod(piece.offset + c, h) != piece.start)
        return rewriter.notifyMatchFailure(root, "no common rotation");

    MLIRContext *ctx = getContext();
    int64_t rank = type.getRank();
    AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, ctx);
    AffineExpr position = getAffineDimExpr(dim, ctx);
    AffineExpr read =
        c == 0 && full[dim] <= h ? position : (position + c) % h;
    AffineMap xMap = identity.replace(position, read, rank, 0);
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    Location loc = root.getLoc();
    Value init = tensor::EmptyOp::create(rewriter, loc, full,
                                         type.getElementType());
    auto generic = linalg::GenericOp::create(
        rewriter, loc, type, ValueRange{x}, ValueRange{init},
        ArrayRef<AffineMap>{xMap, identity}, iterators,
        [&](OpBuilder &b, Location nested, ValueRange args) {
          SmallVector<Value> values;
          // Pieces that are slices of one op's result share its value.
          llvm::SmallDenseMap<Operation *, Value> computed;
          for (const Piece &piece : pieces) {
            if (!piece.unary) {
              values.push_back(args[0]);
              continue;
            }
            if (Value known = computed.lookup(piece.unary)) {
              values.push_back(known);
              continue;
            }
            Block &body = linalg::GenericOp(piece.unary).getRegion().front();
            IRMapping mapping;
            mapping.map(body.getArgument(0), args[0]);
            for (Operation &op : body.without_terminator())
              b.clone(op, mapping);
            values.push_back(
                mapping.lookup(body.getTerminator()->getOperand(0)));
            computed[piece.unary] = values.back();
          }
          Value result = values.back();
          if (!llvm::all_equal(values)) {
            Value index = linalg::IndexOp::create(b, nested, dim);
            for (int64_t i = int64_t(pieces.size()) - 2; i >= 0; --i) {
              Value end = arith::ConstantIndexOp::create(
                  b, nested, pieces[i + 1].offset);
              Value inPiece = arith::CmpIOp::create(
                  b, nested, arith::CmpIPredicate::ult, index, end);
              result = arith::SelectOp::create(b, nested, inPiece, values[i],
                                               result);
            }
          }
          linalg::YieldOp::create(b, nested, result);
        });
    rewriter.replaceOp(root, generic.getResults());
    return success();
  }
};

/// A transpose that moves a non-unit dimension and is read only by
/// elementwise generics becomes a generic, which elementwise fusion folds
/// into its readers. Transposes of unit dimensions (a decode step's heads)
/// stay: bitnet-fold-unit-transposes makes them reshapes, which is cheaper
/// still.
struct TransposeIntoElementwiseReaders : OpRewritePattern<linalg::TransposeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(linalg::TransposeOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "not on tensors");
    auto in = cast<RankedTensorType>(op.getInput().getType());
    if (!in.hasStaticShape() ||
        bitnet::onlyMovesUnitDims(in.getShape(), op.getPermutation()))
      return rewriter.notifyMatchFailure(op, "a reshape");
    if (op->use_empty())
      return rewriter.notifyMatchFailure(op, "unused");
    for (OpOperand &use : op->getUses()) {
      auto reader = dyn_cast<linalg::GenericOp>(use.getOwner());
      if (!reader || reader->hasAttr(kUkernelAttr) ||
          !reader.isDpsInput(&use) ||
          reader.getNumParallelLoops() != reader.getNumLoops())
        return rewriter.notifyMatchFailure(op, "a reader fusion cannot take");
    }
    return linalg::generalizeNamedOp(rewriter, op);
  }
};

struct DataMovementToGenericsPass
    : mlir::bitnet::impl::BitNetDataMovementToGenericsBase<
          DataMovementToGenericsPass> {
  void runOnOperation() override {
    GreedyRewriteConfig config;
    config.enableFolding(false).enableConstantCSE(false).setRegionSimplificationLevel(
        GreedySimplifyRegionLevel::Disabled);
    // The concats first: the transposes' readers are then the generics
    // that replaced them.
    RewritePatternSet concats(&getContext());
    concats.add<ConcatOfSlicesToGeneric>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(concats),
                                     config)))
      return signalPassFailure();
    RewritePatternSet transposes(&getContext());
    transposes.add<TransposeIntoElementwiseReaders>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(transposes),
                                     config)))
      return signalPassFailure();
  }
};

} // namespace
