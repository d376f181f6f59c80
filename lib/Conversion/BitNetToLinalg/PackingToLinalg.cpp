//===- PackingToLinalg.cpp - Ternary packing to linalg --------------------===//
//
// pack_ternary, unpack_ternary and packed_constant over the storage form of
// !bitnet.packed_ternary (tensor<... x P x i8>). The layouts are those of
// bitnet/Support/TernaryPacking.h; unit tests hold the two together.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "Patterns.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::bitnet;
using namespace mlir::bitnet::lowering;

/// Per-slot weight of a digit: bits2 shifts by 2j (x 4^j); trits5 is base 3
/// with the first weight most significant.
static SmallVector<int32_t> slotMultipliers(TernaryLayout layout) {
  if (layout == TernaryLayout::bits2)
    return {1, 4, 16, 64};
  return {81, 27, 9, 3, 1};
}

/// bits2_cols: loops (n, k) over the [N, K] codes; the byte is at
/// (k, n floordiv 256, n mod 64) of the [K, NB, 64] storage, the field at
/// bits 2 * ((n mod 256) floordiv 64).
static Value unpackColsStorage(OpBuilder &b, Location loc, Value storage,
                               PackedTernaryType type) {
  MLIRContext *ctx = b.getContext();
  AffineExpr n = getAffineDimExpr(0, ctx), k = getAffineDimExpr(1, ctx);
  AffineMap in = AffineMap::get(
      2, 0,
      {k, n.floorDiv(ternary::kColBlockRows), n % ternary::kColBlockBytes},
      ctx);
  AffineMap out = AffineMap::getMultiDimIdentityMap(2, ctx);
  Value init = emptyTensor(b, loc, getAsIndexOpFoldResult(ctx, type.getShape()),
                           b.getI8Type());
  SmallVector<utils::IteratorType> its(2, utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, init.getType(), storage, init, ArrayRef<AffineMap>{in, out}, its,
      [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value w =
            bits2ColsWeight(nb, nl, linalg::IndexOp::create(nb, nl, 0), a[0]);
        linalg::YieldOp::create(
            nb, nl, Value(arith::TruncIOp::create(nb, nl, nb.getI8Type(), w)));
      });
  return generic.getResult(0);
}

/// Inside a packing generic: acc + mult * (code + 1), the code read from
/// `codes` at `idx` (whose packed position was clamped into range) and
/// clamped to {-1, 0, 1}; a position outside the weights (`inside` false)
/// packs as weight 0 (digit 1).
static Value addPackedDigit(OpBuilder &b, Location l, Value codes,
                            ValueRange idx, Value inside, Value mult,
                            Value acc) {
  Value w = tensor::ExtractOp::create(b, l, codes, idx);
  w = arith::ExtSIOp::create(b, l, b.getI32Type(), w);
  w = arith::MaxSIOp::create(b, l, w, i32Const(b, l, -1));
  w = arith::MinSIOp::create(b, l, w, i32Const(b, l, 1));
  Value digit = arith::AddIOp::create(b, l, w, i32Const(b, l, 1));
  digit = arith::SelectOp::create(b, l, inside, digit, i32Const(b, l, 1));
  Value term = arith::MulIOp::create(b, l, digit, mult);
  return arith::AddIOp::create(b, l, acc, term);
}

/// bits2_cols packing: loops (k, b, j, p) over the [K, NB, 64] storage and
/// the 4 fields p; field p of byte (k, b, j) is row 256 b + 64 p + j (code 1
/// past N), read with tensor.extract. The multiplier table {1, 4, 16, 64},
/// read at p, gives the generic its p range.
static Value packColsStorage(OpBuilder &rewriter, Location loc, Value codes,
                             PackedTernaryType type) {
  MLIRContext *ctx = rewriter.getContext();
  int64_t rows = type.getShape()[0];
  SmallVector<int32_t> mults{1, 4, 16, 64};
  auto tableType = RankedTensorType::get({4}, rewriter.getI32Type());
  Value table = arith::ConstantOp::create(
      rewriter, loc, DenseIntElementsAttr::get(tableType, ArrayRef(mults)));
  AffineMap tableMap = AffineMap::get(4, 0, getAffineDimExpr(3, ctx), ctx);
  AffineMap outMap = AffineMap::getMultiDimIdentityMap(4, ctx).dropResult(3);
  RankedTensorType storage = type.getStorageType();
  Value init = emptyTensor(rewriter, loc,
                           getAsIndexOpFoldResult(ctx, storage.getShape()),
                           rewriter.getI32Type());
  init = linalg::FillOp::create(rewriter, loc, i32Const(rewriter, loc, 0), init)
             .getResult(0);
  SmallVector<utils::IteratorType> its(3, utils::IteratorType::parallel);
  its.push_back(utils::IteratorType::reduction);
  auto sum = linalg::GenericOp::create(
      rewriter, loc, init.getType(), table, init,
      ArrayRef<AffineMap>{tableMap, outMap}, its,
      [&](OpBuilder &b, Location l, ValueRange a) {
        auto idx = [&](int64_t d) { return linalg::IndexOp::create(b, l, d); };
        auto c = [&](int64_t v) { return arith::ConstantIndexOp::create(b, l, v); };
        Value row = arith::AddIOp::create(
            b, l,
            arith::AddIOp::create(
                b, l,
                arith::MulIOp::create(b, l, idx(1), c(ternary::kColBlockRows)),
                arith::MulIOp::create(b, l, idx(3), c(ternary::kColBlockBytes))),
            idx(2));
        Value last = c(rows - 1);
        Value inside =
            arith::CmpIOp::create(b, l, arith::CmpIPredicate::ule, row, last);
        Value clamped = arith::SelectOp::create(b, l, inside, row, last);
        linalg::YieldOp::create(
            b, l,
            addPackedDigit(b, l, codes, ValueRange{clamped, idx(0)}, inside,
                           a[0], a[1]));
      });
  return mapElementwise(
      rewriter, loc, sum.getResult(0), sum.getResult(0), {rewriter.getI8Type()},
      [&](OpBuilder &b, Location l, ValueRange a) -> SmallVector<Value> {
        return {arith::TruncIOp::create(b, l, b.getI8Type(), a[0])};
      })[0];
}

Value mlir::bitnet::lowering::unpackTernaryStorage(OpBuilder &b, Location loc, Value storage,
                                   PackedTernaryType type) {
  MLIRContext *ctx = b.getContext();
  if (type.getLayout() == TernaryLayout::bits2_cols)
    return unpackColsStorage(b, loc, storage, type);
  int64_t rank = type.getShape().size();
  int64_t n = ternary::weightsPerByte(toPackedLayout(type.getLayout()));
  bool bits2 = type.getLayout() == TernaryLayout::bits2;
  AffineMap out = AffineMap::getMultiDimIdentityMap(rank, ctx);
  AffineMap in = out.replace(getAffineDimExpr(rank - 1, ctx),
                             getAffineDimExpr(rank - 1, ctx).floorDiv(n), rank,
                             0);
  Value init = emptyTensor(b, loc, getAsIndexOpFoldResult(ctx, type.getShape()),
                           b.getI8Type());
  SmallVector<utils::IteratorType> its(rank, utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, init.getType(), storage, init, ArrayRef<AffineMap>{in, out}, its,
      [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value byte = arith::ExtUIOp::create(nb, nl, nb.getI32Type(), a[0]);
        Value k = linalg::IndexOp::create(nb, nl, rank - 1);
        Value slot = arith::RemUIOp::create(
            nb, nl, k, arith::ConstantIndexOp::create(nb, nl, n));
        slot = arith::IndexCastOp::create(nb, nl, nb.getI32Type(), slot);
        Value digit;
        if (bits2) {
          Value shift = arith::MulIOp::create(nb, nl, slot, i32Const(nb, nl, 2));
          digit = arith::AndIOp::create(
              nb, nl, arith::ShRUIOp::create(nb, nl, byte, shift),
              i32Const(nb, nl, 3));
        } else {
          // x = (byte * 3^slot) mod 256; digit = (x * 3) >> 8.
          Value pow = i32Const(nb, nl, 1);
          for (int64_t j = 1; j < n; ++j) {
            Value is = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq,
                                             slot, i32Const(nb, nl, j));
            int64_t p = 1;
            for (int64_t i = 0; i < j; ++i)
              p *= 3;
            pow = arith::SelectOp::create(nb, nl, is, i32Const(nb, nl, p), pow);
          }
          Value x = arith::AndIOp::create(
              nb, nl, arith::MulIOp::create(nb, nl, byte, pow),
              i32Const(nb, nl, 255));
          digit = arith::ShRUIOp::create(
              nb, nl, arith::MulIOp::create(nb, nl, x, i32Const(nb, nl, 3)),
              i32Const(nb, nl, 8));
        }
        Value w = arith::SubIOp::create(nb, nl, digit, i32Const(nb, nl, 1));
        linalg::YieldOp::create(
            nb, nl, Value(arith::TruncIOp::create(nb, nl, nb.getI8Type(), w)));
      });
  return generic.getResult(0);
}

namespace {

struct PackTernaryLowering : OpConversionPattern<PackTernaryOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(PackTernaryOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    PackedTernaryType type = op.getResult().getType();
    Value codes = adaptor.getInput();
    if (type.getLayout() == TernaryLayout::bits2_cols) {
      rewriter.replaceOp(op, packColsStorage(rewriter, loc, codes, type));
      return success();
    }
    int64_t rank = type.getShape().size();
    int64_t k = type.getReductionSize();
    SmallVector<int32_t> mults = slotMultipliers(type.getLayout());
    int64_t n = mults.size();

    // Loops (lead..., p, j): the slot multiplier table is read at j, which
    // gives the generic its j range; the code is read with tensor.extract at
    // p * n + j, padding past K with weight 0.
    auto tableType = RankedTensorType::get({n}, rewriter.getI32Type());
    Value table = arith::ConstantOp::create(
        rewriter, loc, DenseIntElementsAttr::get(tableType, ArrayRef(mults)));
    AffineMap tableMap =
        AffineMap::get(rank + 1, 0, getAffineDimExpr(rank, ctx), ctx);
    AffineMap outMap = AffineMap::getMultiDimIdentityMap(rank + 1, ctx)
                           .dropResult(rank);
    RankedTensorType storage = type.getStorageType();
    Value init = emptyTensor(rewriter, loc,
                             getAsIndexOpFoldResult(ctx, storage.getShape()),
                             rewriter.getI32Type());
    init = linalg::FillOp::create(rewriter, loc, i32Const(rewriter, loc, 0),
                                  init)
               .getResult(0);
    SmallVector<utils::IteratorType> its(rank, utils::IteratorType::parallel);
    its.push_back(utils::IteratorType::reduction);
    auto sum = linalg::GenericOp::create(
        rewriter, loc, init.getType(), table, init,
        ArrayRef<AffineMap>{tableMap, outMap}, its,
        [&](OpBuilder &b, Location l, ValueRange a) {
          SmallVector<Value> idx;
          for (int64_t i = 0; i < rank - 1; ++i)
            idx.push_back(linalg::IndexOp::create(b, l, i));
          Value p = linalg::IndexOp::create(b, l, rank - 1);
          Value j = linalg::IndexOp::create(b, l, rank);
          Value pos = arith::AddIOp::create(
              b, l,
              arith::MulIOp::create(b, l, p,
                                    arith::ConstantIndexOp::create(b, l, n)),
              j);
          Value last = arith::ConstantIndexOp::create(b, l, k - 1);
          Value inside =
              arith::CmpIOp::create(b, l, arith::CmpIPredicate::ule, pos, last);
          idx.push_back(arith::SelectOp::create(b, l, inside, pos, last));
          linalg::YieldOp::create(
              b, l, addPackedDigit(b, l, codes, idx, inside, a[0], a[1]));
        });
    bool trits5 = type.getLayout() == TernaryLayout::trits5;
    Value bytes = mapElementwise(
        rewriter, loc, sum.getResult(0), sum.getResult(0),
        {rewriter.getI8Type()},
        [&](OpBuilder &b, Location l, ValueRange a) -> SmallVector<Value> {
          Value v = a[0];
          if (trits5) // ceil(v * 256 / 243)
            v = arith::DivUIOp::create(
                b, l,
                arith::AddIOp::create(
                    b, l, arith::MulIOp::create(b, l, v, i32Const(b, l, 256)),
                    i32Const(b, l, 242)),
                i32Const(b, l, 243));
          return {arith::TruncIOp::create(b, l, b.getI8Type(), v)};
        })[0];
    rewriter.replaceOp(op, bytes);
    return success();
  }
};

struct UnpackTernaryLowering : OpConversionPattern<UnpackTernaryOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(UnpackTernaryOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, unpackTernaryStorage(rewriter, op.getLoc(),
                                                adaptor.getInput(),
                                                op.getInput().getType()));
    return success();
  }
};

struct PackedConstantLowering : OpConversionPattern<PackedConstantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(PackedConstantOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto value = dyn_cast<TypedAttr>(op.getValue());
    if (!value)
      return rewriter.notifyMatchFailure(op, "packed bytes are not a TypedAttr");
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, value);
    return success();
  }
};

} // namespace

void mlir::bitnet::lowering::populatePackingToLinalgPatterns(const TypeConverter &converter,
                                             RewritePatternSet &patterns) {
  patterns.add<PackTernaryLowering, UnpackTernaryLowering,
               PackedConstantLowering>(converter, patterns.getContext());
}
