//===- BitLinearToLinalg.cpp - bitlinear and relu2_glu to linalg ----------===//
//
// bitlinear: an i32 contraction of the codes with the ternary weights (packed
// weights are unpacked first), then one f32 multiply by both scales.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "Patterns.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::bitnet;
using namespace mlir::bitnet::lowering;

namespace {

/// bitlinear and gated_bitlinear (which adds `gate`: outputs where the gate
/// is not positive are 0, and the packed kernels do not compute them).
template <typename OpTy>
struct BitLinearLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  using OpAdaptor = typename OpTy::Adaptor;
  LogicalResult
  matchAndRewrite(OpTy op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    Value w = adaptor.getWeight();
    Value gate;
    if constexpr (std::is_same_v<OpTy, GatedBitLinearOp>)
      gate = adaptor.getGate();
    bool fp4 = isa<Float4E2M1FNType>(
        cast<RankedTensorType>(x.getType()).getElementType());
    auto packed = dyn_cast<PackedTernaryType>(op.getWeight().getType());
    bool direct = packed && packed.getLayout() != TernaryLayout::trits5 &&
                  cast<RankedTensorType>(x.getType()).hasStaticShape();
    Value acc;
    if (direct) {
      // FP4 codes enter as 2 * value, integers in [-12, 12] (exact; the sum
      // is halved below).
      if (fp4)
        x = mapElementwise(rewriter, loc, x, x, {rewriter.getI8Type()},
                           [](OpBuilder &b, Location l,
                              ValueRange a) -> SmallVector<Value> {
                             Type i32 = b.getI32Type();
                             Value bits = arith::BitcastOp::create(
                                 b, l, b.getIntegerType(4), a[0]);
                             Value twice = decodeE2M1Twice(
                                 b, l, arith::ExtUIOp::create(b, l, i32, bits));
                             return {arith::TruncIOp::create(
                                 b, l, b.getI8Type(), twice)};
                           })[0];
      acc = packed.getLayout() == TernaryLayout::bits2
                ? packedBits2Accumulate(rewriter, loc, x, w, packed, gate)
                : packedColsAccumulate(rewriter, loc, x, w, packed);
    } else {
      if (packed)
        w = unpackTernaryStorage(rewriter, loc, w, packed);
      acc = unpackedAccumulate(rewriter, loc, x, w, fp4);
    }

    SmallVector<Value> perElement{acc};
    if (gate)
      perElement.push_back(gate);
    Value result = mapWithPerToken(
        rewriter, loc, perElement,
        ValueRange{adaptor.getInputScale(), adaptor.getWeightScale()},
        rewriter.getF32Type(),
        [&](OpBuilder &b, Location l, ValueRange a) -> SmallVector<Value> {
          Value y = arith::SIToFPOp::create(b, l, b.getF32Type(), a[0]);
          if (fp4) // the sum was over 2 * x; halving is exact
            y = arith::MulFOp::create(b, l, y, f32Const(b, l, 0.5));
          unsigned scales = gate ? 2 : 1;
          Value s = arith::MulFOp::create(b, l, a[scales], a[scales + 1]);
          y = arith::MulFOp::create(b, l, y, s);
          if (gate) {
            Value open = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT,
                                               a[1], f32Const(b, l, 0.0));
            y = arith::SelectOp::create(b, l, open, y, f32Const(b, l, 0.0));
          }
          return {y};
        });
    rewriter.replaceOp(op, result);
    return success();
  }

  /// i32 [lead..., n] = sum_k x[lead..., k] * unpack(w)[n, k], reading the
  /// 2-bit packed bytes directly: loops (lead..., n, kq, j) over byte kq's
  /// weight j = (byte >> 2j & 3) - 1 and x[4 kq + j] (x zero-padded to a
  /// multiple of 4). The generic is tagged `bitnet.ukernel` so the CPU
  /// pipeline can call a vectorized kernel for it (LowerUkernels.cpp); as
  /// plain loops it computes the same.
  ///
  /// With a gate [lead..., n], sums only where gate > 0 (the accumulator
  /// stays 0 elsewhere), tagged `bitlinear_i8_bits2_gated`.
  static Value packedBits2Accumulate(ConversionPatternRewriter &rewriter,
                                     Location loc, Value x, Value w,
                                     PackedTernaryType packed, Value gate) {
    MLIRContext *ctx = rewriter.getContext();
    auto xType = cast<RankedTensorType>(x.getType());
    int64_t rank = xType.getRank(), k = xType.getShape().back();
    int64_t kq = (k + 3) / 4, n = packed.getShape()[0];
    Type i8 = rewriter.getI8Type(), i32 = rewriter.getI32Type();
    if (kq * 4 != k) {
      SmallVector<OpFoldResult> low(rank, rewriter.getIndexAttr(0));
      SmallVector<OpFoldResult> high(rank, rewriter.getIndexAttr(0));
      high.back() = rewriter.getIndexAttr(kq * 4 - k);
      SmallVector<int64_t> padded(xType.getShape());
      padded.back() = kq * 4;
      Value zero = arith::ConstantOp::create(rewriter, loc,
                                             rewriter.getIntegerAttr(i8, 0));
      x = tensor::PadOp::create(rewriter, loc, RankedTensorType::get(padded, i8),
                                x, low, high, zero);
    }
    SmallVector<int64_t> grouped(xType.getShape().drop_back());
    grouped.push_back(kq);
    grouped.push_back(4);
    SmallVector<ReassociationIndices> reassoc;
    for (int64_t d = 0; d < rank - 1; ++d)
      reassoc.push_back({d});
    reassoc.push_back({rank - 1, rank});
    x = tensor::ExpandShapeOp::create(rewriter, loc,
                                      RankedTensorType::get(grouped, i8), x,
                                      reassoc);
    // Loops: lead (rank - 1), n, kq, j.
    int64_t loops = rank + 2;
    SmallVector<AffineExpr> lead;
    for (int64_t d = 0; d < rank - 1; ++d)
      lead.push_back(getAffineDimExpr(d, ctx));
    AffineExpr dn = getAffineDimExpr(rank - 1, ctx),
               dq = getAffineDimExpr(rank, ctx),
               dj = getAffineDimExpr(rank + 1, ctx);
    SmallVector<AffineExpr> xE(lead), outE(lead);
    xE.append({dq, dj});
    outE.push_back(dn);
    SmallVector<AffineMap> maps{AffineMap::get(loops, 0, xE, ctx),
                                AffineMap::get(loops, 0, {dn, dq}, ctx)};
    SmallVector<Value> inputs{x, w};
    if (gate) {
      maps.push_back(AffineMap::get(loops, 0, outE, ctx));
      inputs.push_back(gate);
    }
    maps.push_back(AffineMap::get(loops, 0, outE, ctx));
    SmallVector<utils::IteratorType> its(rank, utils::IteratorType::parallel);
    its.push_back(utils::IteratorType::reduction);
    its.push_back(utils::IteratorType::reduction);
    SmallVector<int64_t> outShape(xType.getShape().drop_back());
    outShape.push_back(n);
    Value init = zeroI32Tensor(rewriter, loc, outShape);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, init.getType(), inputs, init, maps, its,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value accIn = a.back();
          Value j = arith::IndexCastOp::create(b, l, i32,
                                               linalg::IndexOp::create(b, l, rank + 1));
          Value shift = arith::ShLIOp::create(b, l, j, i32Const(b, l, 1));
          Value byte = arith::ExtUIOp::create(b, l, i32, a[1]);
          Value field = arith::AndIOp::create(
              b, l, arith::ShRUIOp::create(b, l, byte, shift), i32Const(b, l, 3));
          Value wi = arith::SubIOp::create(b, l, field, i32Const(b, l, 1));
          Value xi = arith::ExtSIOp::create(b, l, i32, a[0]);
          Value prod = arith::MulIOp::create(b, l, xi, wi);
          Value sum = arith::AddIOp::create(b, l, accIn, prod);
          if (gate) {
            Value open = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT,
                                               a[2], f32Const(b, l, 0.0));
            sum = arith::SelectOp::create(b, l, open, sum, accIn);
          }
          linalg::YieldOp::create(b, l, sum);
        });
    generic->setAttr("bitnet.ukernel",
                     rewriter.getStringAttr(gate ? "bitlinear_i8_bits2_gated"
                                                 : "bitlinear_i8_bits2"));
    return generic.getResult(0);
  }

  /// i32 [lead..., n] = sum_k x[lead..., k] * w(n, k) on the bits2_cols
  /// storage [K, NB, 64]: loops (lead..., n, k), the byte at (k, n floordiv
  /// 256, n mod 64), the field at bits 2 ((n mod 256) floordiv 64). Tagged
  /// `bitlinear_i8_bits2_cols`: the kernel walks the non-zero inputs only.
  static Value packedColsAccumulate(ConversionPatternRewriter &rewriter,
                                    Location loc, Value x, Value w,
                                    PackedTernaryType packed) {
    MLIRContext *ctx = rewriter.getContext();
    auto xType = cast<RankedTensorType>(x.getType());
    int64_t rank = xType.getRank(), n = packed.getShape()[0];
    Type i32 = rewriter.getI32Type();
    SmallVector<AffineExpr> lead;
    for (int64_t d = 0; d < rank - 1; ++d)
      lead.push_back(getAffineDimExpr(d, ctx));
    AffineExpr dn = getAffineDimExpr(rank - 1, ctx),
               dk = getAffineDimExpr(rank, ctx);
    SmallVector<AffineExpr> xE(lead), outE(lead);
    xE.push_back(dk);
    outE.push_back(dn);
    SmallVector<AffineMap> maps{
        AffineMap::get(rank + 1, 0, xE, ctx),
        AffineMap::get(rank + 1, 0,
                       {dk, dn.floorDiv(ternary::kColBlockRows),
                        dn % ternary::kColBlockBytes},
                       ctx),
        AffineMap::get(rank + 1, 0, outE, ctx)};
    SmallVector<utils::IteratorType> its(rank, utils::IteratorType::parallel);
    its.push_back(utils::IteratorType::reduction);
    SmallVector<int64_t> outShape(xType.getShape().drop_back());
    outShape.push_back(n);
    Value init = zeroI32Tensor(rewriter, loc, outShape);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, init.getType(), ValueRange{x, w}, init, maps, its,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value wi = bits2ColsWeight(
              b, l, linalg::IndexOp::create(b, l, rank - 1), a[1]);
          Value xi = arith::ExtSIOp::create(b, l, i32, a[0]);
          Value prod = arith::MulIOp::create(b, l, xi, wi);
          linalg::YieldOp::create(b, l,
                                  Value(arith::AddIOp::create(b, l, a[2], prod)));
        });
    generic->setAttr("bitnet.ukernel",
                     rewriter.getStringAttr("bitlinear_i8_bits2_cols"));
    return generic.getResult(0);
  }

  /// i32 [lead..., n] = sum_k x[lead..., k] * w[n, k] on unpacked weights.
  static Value unpackedAccumulate(ConversionPatternRewriter &rewriter,
                                  Location loc, Value x, Value w, bool fp4) {
    MLIRContext *ctx = rewriter.getContext();

    // Loops (lead..., n, k).
    int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
    int64_t nDim = rank - 1, kDim = rank;
    SmallVector<AffineExpr> lead;
    for (int64_t i = 0; i < rank - 1; ++i)
      lead.push_back(getAffineDimExpr(i, ctx));
    auto map = [&](ArrayRef<AffineExpr> tail, bool withLead) {
      SmallVector<AffineExpr> e;
      if (withLead)
        e.append(lead);
      e.append(tail.begin(), tail.end());
      return AffineMap::get(rank + 1, 0, e, ctx);
    };
    AffineExpr n = getAffineDimExpr(nDim, ctx), k = getAffineDimExpr(kDim, ctx);
    SmallVector<AffineMap> maps{map(k, true), map({n, k}, false), map(n, true)};
    SmallVector<utils::IteratorType> its(rank, utils::IteratorType::parallel);
    its.push_back(utils::IteratorType::reduction);

    SmallVector<OpFoldResult> sizes = leadingSizes(rewriter, loc, x);
    sizes.push_back(tensor::getMixedSizes(rewriter, loc, w)[0]);
    Value init = emptyTensor(rewriter, loc, sizes, rewriter.getI32Type());
    init = linalg::FillOp::create(rewriter, loc, i32Const(rewriter, loc, 0), init)
               .getResult(0);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, init.getType(), ValueRange{x, w}, init, maps, its,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Type i32 = b.getI32Type();
          Value xi;
          if (fp4) {
            Value bits = arith::BitcastOp::create(b, l, b.getIntegerType(4), a[0]);
            xi = decodeE2M1Twice(b, l, arith::ExtUIOp::create(b, l, i32, bits));
          } else {
            xi = arith::ExtSIOp::create(b, l, i32, a[0]);
          }
          Value wi = arith::ExtSIOp::create(b, l, i32, a[1]);
          Value prod = arith::MulIOp::create(b, l, xi, wi);
          linalg::YieldOp::create(b, l,
                                  Value(arith::AddIOp::create(b, l, a[2], prod)));
        });
    return generic.getResult(0);
  }
};

struct ReLU2GLULowering : OpConversionPattern<ReLU2GLUOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ReLU2GLUOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value result = mapElementwise(
        rewriter, op.getLoc(), adaptor.getGate(),
        ValueRange{adaptor.getGate(), adaptor.getUp()},
        {rewriter.getF32Type()},
        [&](OpBuilder &b, Location l, ValueRange a) -> SmallVector<Value> {
          Value r = arith::MaximumFOp::create(b, l, a[0], f32Const(b, l, 0.0));
          Value sq = arith::MulFOp::create(b, l, r, r);
          return {arith::MulFOp::create(b, l, a[1], sq)};
        })[0];
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void mlir::bitnet::lowering::populateBitLinearToLinalgPatterns(const TypeConverter &converter,
                                               RewritePatternSet &patterns) {
  patterns.add<BitLinearLowering<BitLinearOp>,
               BitLinearLowering<GatedBitLinearOp>, ReLU2GLULowering>(
      converter, patterns.getContext());
}
