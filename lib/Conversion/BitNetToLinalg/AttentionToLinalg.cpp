//===- AttentionToLinalg.cpp - cached_attention to linalg -----------------===//
//
// The reference for bitnet.cached_attention, in the form the unfused import
// has: scores over every cache row and new row, the scale, the causal mask
// (cache rows at or past `start`, new rows after the query) as -inf, a
// softmax over the last dimension, then the probabilities times the values.
// Cache rows are widened to f32 and joined with the new rows, so one
// contraction covers both; masked rows get probability 0 exactly.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "Patterns.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;
using namespace mlir::bitnet;
using namespace mlir::bitnet::lowering;

namespace {

struct CachedAttentionLowering : OpConversionPattern<CachedAttentionOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(CachedAttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    OpBuilder &b = rewriter;
    ArrayRef<int64_t> qs = op.getQ().getType().getShape(),
                      ks = op.getK().getType().getShape(),
                      cs = op.getKCache().getType().getShape();
    int64_t H = qs[1], S = qs[2], D = qs[3], KVH = ks[1], C = cs[2];
    int64_t rep = H / KVH, N = C + S;
    Type f32 = b.getF32Type();
    auto par = utils::IteratorType::parallel;
    auto red = utils::IteratorType::reduction;
    auto dims = [&](unsigned n) {
      SmallVector<AffineExpr> e;
      for (unsigned i = 0; i < n; ++i)
        e.push_back(b.getAffineDimExpr(i));
      return e;
    };
    auto filled = [&](ArrayRef<int64_t> shape, double v) -> Value {
      Value init = tensor::EmptyOp::create(b, loc, shape, f32);
      return linalg::FillOp::create(b, loc, f32Const(b, loc, v), init)
          .getResult(0);
    };

    // out[0, h, i, x] = sum_y lhs[0, h, i, y] rhs[0, h / rep, ...] over loops
    // (0, h, i, x, y): the scores (x = key row, y = d) and P V (x = d, y =
    // key row).
    auto contract = [&](Value lhs, Value rhs, AffineMap rhsMap,
                        ArrayRef<int64_t> outShape) -> Value {
      SmallVector<AffineExpr> l = dims(5);
      return linalg::GenericOp::create(
                 b, loc, TypeRange{RankedTensorType::get(outShape, f32)},
                 ValueRange{lhs, rhs}, ValueRange{filled(outShape, 0.0)},
                 SmallVector<AffineMap>{
                     AffineMap::get(5, 0, {l[0], l[1], l[2], l[4]}, ctx),
                     rhsMap,
                     AffineMap::get(5, 0, {l[0], l[1], l[2], l[3]}, ctx)},
                 SmallVector<utils::IteratorType>{par, par, par, par, red},
                 [&](OpBuilder &nb, Location nl, ValueRange a) {
                   Value p = arith::MulFOp::create(nb, nl, a[0], a[1]);
                   linalg::YieldOp::create(
                       nb, nl, Value(arith::AddFOp::create(nb, nl, a[2], p)));
                 })
          .getResult(0);
    };

    // Keys and values of all N positions: [1, KVH, C + S, D], cache first.
    auto joined = [&](Value cache, Value fresh) -> Value {
      auto type = cast<RankedTensorType>(cache.getType());
      if (!type.getElementType().isF32())
        cache = mapElementwise(b, loc, cache, ValueRange{cache}, {f32},
                               [&](OpBuilder &nb, Location nl, ValueRange a) {
                                 return SmallVector<Value>{
                                     arith::ExtFOp::create(nb, nl, f32, a[0])};
                               })
                    .front();
      return tensor::ConcatOp::create(
          b, loc, RankedTensorType::get({1, KVH, N, D}, f32), 2,
          ValueRange{cache, fresh});
    };
    Value keys = joined(adaptor.getKCache(), adaptor.getK());
    Value values = joined(adaptor.getVCache(), adaptor.getV());

    // scores[0, h, i, u] = sum_d q[0, h, i, d] keys[0, h / rep, u, d]
    SmallVector<AffineExpr> e = dims(5); // (0, h, i, u, d)
    Value scores = contract(
        adaptor.getQ(), keys,
        AffineMap::get(5, 0, {e[0], e[1].floorDiv(rep), e[3], e[4]}, ctx),
        {1, H, S, N});

    // Scaled; -inf where masked: cache row u visible iff u < start, new
    // row u - C iff u - C <= i.
    Value start = tensor::ExtractOp::create(b, loc, adaptor.getStart(),
                                            ValueRange{});
    start = arith::IndexCastOp::create(b, loc, b.getIndexType(), start);
    float scale = op.getScale().convertToFloat();
    Value masked =
        mapElementwise(
            b, loc, scores, ValueRange{scores}, {f32},
            [&](OpBuilder &nb, Location nl, ValueRange a) {
              Value i = linalg::IndexOp::create(nb, nl, 2);
              Value u = linalg::IndexOp::create(nb, nl, 3);
              Value c = arith::ConstantIndexOp::create(nb, nl, C);
              Value cached = arith::CmpIOp::create(
                  nb, nl, arith::CmpIPredicate::ult, u, c);
              Value seen = arith::CmpIOp::create(
                  nb, nl, arith::CmpIPredicate::ult, u, start);
              Value causal = arith::CmpIOp::create(
                  nb, nl, arith::CmpIPredicate::ule,
                  arith::SubIOp::create(nb, nl, u, c), i);
              Value visible =
                  arith::SelectOp::create(nb, nl, cached, seen, causal);
              Value s = arith::MulFOp::create(
                  nb, nl, a[0],
                  arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(scale)));
              Value negInf = arith::ConstantOp::create(
                  nb, nl,
                  nb.getF32FloatAttr(-std::numeric_limits<float>::infinity()));
              return SmallVector<Value>{
                  arith::SelectOp::create(nb, nl, visible, s, negInf)};
            })
            .front();

    // Softmax over u: max, exp (0 for -inf), sum, division.
    SmallVector<AffineExpr> r = dims(4);
    AffineMap rowMap = AffineMap::get(4, 0, {r[0], r[1], r[2]}, ctx);
    AffineMap id4 = AffineMap::getMultiDimIdentityMap(4, ctx);
    SmallVector<utils::IteratorType> rowIts{par, par, par, red};
    auto rowReduce = [&](Value in, double init, auto combine) -> Value {
      return linalg::GenericOp::create(
                 b, loc, TypeRange{RankedTensorType::get({1, H, S}, f32)},
                 ValueRange{in}, ValueRange{filled({1, H, S}, init)},
                 SmallVector<AffineMap>{id4, rowMap}, rowIts,
                 [&](OpBuilder &nb, Location nl, ValueRange a) {
                   linalg::YieldOp::create(nb, nl, combine(nb, nl, a[0], a[1]));
                 })
          .getResult(0);
    };
    // fn(x, the row's value) for each element.
    auto byRow = [&](Value in, Value row, auto fn) -> Value {
      return mapWithPerToken(b, loc, ValueRange{in}, ValueRange{row}, f32,
                             [&](OpBuilder &nb, Location nl, ValueRange a) {
                               return SmallVector<Value>{fn(nb, nl, a[0], a[1])};
                             });
    };
    Value mx = rowReduce(masked, -std::numeric_limits<double>::infinity(),
                         [](OpBuilder &nb, Location nl, Value x, Value acc) {
                           return Value(arith::MaximumFOp::create(nb, nl, x, acc));
                         });
    Value ex = byRow(masked, mx, [](OpBuilder &nb, Location nl, Value x, Value m) {
      Value negInf = arith::ConstantOp::create(
          nb, nl, nb.getF32FloatAttr(-std::numeric_limits<float>::infinity()));
      Value isMasked =
          arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ, x, negInf);
      Value zero = arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(0.0f));
      Value ev =
          math::ExpOp::create(nb, nl, arith::SubFOp::create(nb, nl, x, m));
      return Value(arith::SelectOp::create(nb, nl, isMasked, zero, ev));
    });
    Value sum = rowReduce(ex, 0.0, [](OpBuilder &nb, Location nl, Value x, Value acc) {
      return Value(arith::AddFOp::create(nb, nl, acc, x));
    });
    Value probs = byRow(ex, sum, [](OpBuilder &nb, Location nl, Value x, Value s) {
      return Value(arith::DivFOp::create(nb, nl, x, s));
    });

    // out[0, h, i, d] = sum_u probs[0, h, i, u] values[0, h / rep, u, d]
    SmallVector<AffineExpr> o = dims(5); // (0, h, i, d, u)
    Value out = contract(
        probs, values,
        AffineMap::get(5, 0, {o[0], o[1].floorDiv(rep), o[4], o[3]}, ctx),
        {1, H, S, D});
    rewriter.replaceOp(op, out);
    return success();
  }
};

} // namespace

void mlir::bitnet::lowering::populateAttentionToLinalgPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<CachedAttentionLowering>(converter, patterns.getContext());
}
