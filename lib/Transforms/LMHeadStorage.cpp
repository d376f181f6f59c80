//===- LMHeadStorage.cpp - The LM head stored narrower than f32 (opt-in) ---===//
//
// With ternary layers packed at 2 bits, a float32 LM head is most of what a
// decode step reads (2B4T: 1.3 GB of 1.8 GB). Two opt-in rewrites store it
// in fewer bytes (x stays float32, sums stay float32):
// - bitnet-int8-lm-head: int8 codes with one absmax scale per vocabulary row,
//     W[n, k] ~ q[n, k] * s[n],  s[n] = max_k |W[n, k]| / 127,
//     logits[.., n] = (sum_k x[.., k] * q[n, k]) * s[n];
// - bitnet-half-lm-head: W[n, k] rounded to f16 or bf16 (nearest even),
//     logits[.., n] = sum_k x[.., k] * float(W16[n, k]).
// Both change the logits (bitnet-run's tests report by how much). The LM
// head is the float linear layer (a generic tagged matmul_f32 /
// matmul_f32_nt by the importer) with a constant weight whose output width
// is the vocabulary of the `bitnet.decoder` record.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Support/HalfFloat.h"
#include "bitnet/Transforms/DecoderRecord.h"
#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"

#include <cmath>

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETINT8LMHEAD
#define GEN_PASS_DEF_BITNETHALFLMHEAD
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

namespace {

/// One LM head: the importer's float matmul and its constant weight, read
/// as W(n, k) whatever its layout.
struct Head {
  linalg::GenericOp op;
  DenseElementsAttr weights;
  bool transposed; ///< Stored [n, k] (matmul_f32_nt), else [k, n].
  int64_t n, k;
  SmallVector<float> values;
  float at(int64_t r, int64_t c) const {
    return transposed ? values[r * k + c] : values[c * n + r];
  }
};

/// The LM heads of `module` (none without a decoder record: an error, and
/// std::nullopt).
std::optional<SmallVector<linalg::GenericOp>>
collectHeads(ModuleOp module, StringRef passName) {
  std::optional<int64_t> vocab =
      mlir::bitnet::requireDecoderVocab(module, passName);
  if (!vocab)
    return std::nullopt;
  SmallVector<linalg::GenericOp> heads;
  module.walk([&](linalg::GenericOp op) {
    if (!mlir::bitnet::isFloatLMHead(op, *vocab) ||
        !op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2)
      return;
    DenseElementsAttr w;
    if (!matchPattern(op.getDpsInputs()[1], m_Constant(&w)) ||
        !w.getElementType().isF32() || w.getType().getRank() != 2)
      return;
    heads.push_back(op);
  });
  return heads;
}

Head readHead(linalg::GenericOp op) {
  Head h;
  h.op = op;
  h.transposed = op->getAttrOfType<StringAttr>("bitnet.ukernel").getValue() ==
                 "matmul_f32_nt";
  (void)matchPattern(op.getDpsInputs()[1], m_Constant(&h.weights));
  ArrayRef<int64_t> ws = h.weights.getType().getShape();
  h.n = h.transposed ? ws[0] : ws[1];
  h.k = h.transposed ? ws[1] : ws[0];
  h.values.assign(h.weights.value_begin<float>(), h.weights.value_end<float>());
  return h;
}

/// Replaces the head `op` with out[.., n] = sum_k x[.., k] * widen(w[n, k])
/// over a zero init (w: `weights`, [n, k]), tagged `tag`; `scale` (per row
/// n), when given, multiplies the sums. The original init is added back
/// unless it was the importer's zero fill.
void replaceHead(linalg::GenericOp op, Value weights, StringRef tag,
                 Value scale,
                 function_ref<Value(OpBuilder &, Location, Value)> widen) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  MLIRContext *ctx = b.getContext();
  Value x = op.getDpsInputs()[0];
  auto xType = cast<RankedTensorType>(x.getType());
  auto outType = cast<RankedTensorType>(op.getResult(0).getType());
  int64_t lead = xType.getRank() - 1, loops = lead + 2;
  SmallVector<AffineExpr> leadE;
  for (int64_t d = 0; d < lead; ++d)
    leadE.push_back(b.getAffineDimExpr(d));
  AffineExpr dn = b.getAffineDimExpr(lead), dk = b.getAffineDimExpr(lead + 1);
  SmallVector<AffineExpr> xE(leadE), oE(leadE);
  xE.push_back(dk);
  oE.push_back(dn);
  SmallVector<AffineMap> maps{AffineMap::get(loops, 0, xE, ctx),
                              AffineMap::get(loops, 0, {dn, dk}, ctx),
                              AffineMap::get(loops, 0, oE, ctx)};
  SmallVector<utils::IteratorType> its(lead + 1, utils::IteratorType::parallel);
  its.push_back(utils::IteratorType::reduction);
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
  auto empty = [&] {
    return tensor::EmptyOp::create(b, loc, outType.getShape(), b.getF32Type())
        .getResult();
  };
  Value init = linalg::FillOp::create(b, loc, zero, empty()).getResult(0);
  auto acc = linalg::GenericOp::create(
      b, loc, outType, ValueRange{x, weights}, init, maps, its,
      [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value p = arith::MulFOp::create(nb, nl, a[0], widen(nb, nl, a[1]));
        linalg::YieldOp::create(nb, nl,
                                Value(arith::AddFOp::create(nb, nl, a[2], p)));
      });
  acc->setAttr("bitnet.ukernel", b.getStringAttr(tag));
  Value result = acc.getResult(0);
  int64_t rank = outType.getRank();
  auto elementwise = [&](Value lhs, Value rhs, AffineMap rhsMap, bool add) {
    SmallVector<AffineMap> m{AffineMap::getMultiDimIdentityMap(rank, ctx),
                             rhsMap,
                             AffineMap::getMultiDimIdentityMap(rank, ctx)};
    return linalg::GenericOp::create(
               b, loc, outType, ValueRange{lhs, rhs}, empty(), m,
               SmallVector<utils::IteratorType>(rank,
                                                utils::IteratorType::parallel),
               [add](OpBuilder &nb, Location nl, ValueRange a) {
                 Value v = add ? Value(arith::AddFOp::create(nb, nl, a[0], a[1]))
                               : Value(arith::MulFOp::create(nb, nl, a[0], a[1]));
                 linalg::YieldOp::create(nb, nl, v);
               })
        .getResult(0);
  };
  if (scale)
    result = elementwise(
        result, scale,
        AffineMap::get(rank, 0, {b.getAffineDimExpr(rank - 1)}, ctx),
        /*add=*/false);
  Value origInit = op.getDpsInits()[0];
  if (!origInit.getDefiningOp<linalg::FillOp>())
    result = elementwise(result, origInit,
                         AffineMap::getMultiDimIdentityMap(rank, ctx),
                         /*add=*/true);
  op.getResult(0).replaceAllUsesWith(result);
  op.erase();
}

struct Int8LMHeadPass
    : public mlir::bitnet::impl::BitNetInt8LMHeadBase<Int8LMHeadPass> {
  void runOnOperation() override {
    std::optional<SmallVector<linalg::GenericOp>> heads =
        collectHeads(getOperation(), getArgument());
    if (!heads)
      return signalPassFailure();
    for (linalg::GenericOp op : *heads)
      rewrite(readHead(op));
  }

  void rewrite(Head h) {
    // Quantize per vocabulary row, stored [n, k].
    SmallVector<int8_t> q(h.n * h.k);
    SmallVector<float> scales(h.n);
    for (int64_t r = 0; r < h.n; ++r) {
      float mx = 0;
      for (int64_t c = 0; c < h.k; ++c)
        mx = std::max(mx, std::fabs(h.at(r, c)));
      float s = mx > 0 ? mx / 127.0f : 1.0f;
      scales[r] = s;
      for (int64_t c = 0; c < h.k; ++c)
        q[r * h.k + c] =
            int8_t(std::lround(std::clamp(h.at(r, c) / s, -127.0f, 127.0f)));
    }
    OpBuilder b(h.op);
    Location loc = h.op.getLoc();
    auto qType = RankedTensorType::get({h.n, h.k}, b.getI8Type());
    auto sType = RankedTensorType::get({h.n}, b.getF32Type());
    Value qv = arith::ConstantOp::create(
        b, loc, qType, DenseElementsAttr::get(qType, ArrayRef<int8_t>(q)));
    Value sv = arith::ConstantOp::create(
        b, loc, sType, DenseElementsAttr::get(sType, ArrayRef<float>(scales)));
    replaceHead(h.op, qv, "matmul_f32_i8w_nt", sv,
                [](OpBuilder &nb, Location nl, Value w) -> Value {
                  return arith::SIToFPOp::create(nb, nl, nb.getF32Type(), w);
                });
  }
};

struct HalfLMHeadPass
    : public mlir::bitnet::impl::BitNetHalfLMHeadBase<HalfLMHeadPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (elementType != "f16" && elementType != "bf16") {
      module.emitError("--") << getArgument()
                             << ": element-type must be f16 or bf16, got '"
                             << elementType << "'";
      return signalPassFailure();
    }
    std::optional<SmallVector<linalg::GenericOp>> heads =
        collectHeads(module, getArgument());
    if (!heads)
      return signalPassFailure();
    for (linalg::GenericOp op : *heads)
      if (failed(rewrite(readHead(op))))
        return signalPassFailure();
  }

  LogicalResult rewrite(Head h) {
    bool f16 = elementType == "f16";
    // Round each weight to nearest even, stored [n, k] as raw 16-bit words.
    SmallVector<uint16_t> bits(h.n * h.k);
    for (int64_t r = 0; r < h.n; ++r)
      for (int64_t c = 0; c < h.k; ++c) {
        float w = h.at(r, c);
        uint16_t v = f16 ? halffloat::floatToHalf(w) : halffloat::floatToBF16(w);
        // A finite weight past the type's range (f16: 65504) would become
        // infinite: refuse rather than ship infinite logits.
        float back = f16 ? halffloat::halfToFloat(v) : halffloat::bf16ToFloat(v);
        if (std::isinf(back) && std::isfinite(w))
          return h.op.emitError("LM head weight ")
                 << w << " (vocabulary row " << r << ") is out of the range of "
                 << elementType << "; keep the LM head in f32 or use int8";
        bits[r * h.k + c] = v;
      }
    OpBuilder b(h.op);
    Type elem = f16 ? Type(b.getF16Type()) : Type(b.getBF16Type());
    auto type = RankedTensorType::get({h.n, h.k}, elem);
    auto attr = DenseElementsAttr::getFromRawBuffer(
        type, ArrayRef<char>(reinterpret_cast<const char *>(bits.data()),
                             bits.size() * sizeof(uint16_t)));
    Value w = arith::ConstantOp::create(b, h.op.getLoc(), type, attr);
    replaceHead(h.op, w, f16 ? "matmul_f32_f16w_nt" : "matmul_f32_bf16w_nt",
                Value(), [](OpBuilder &nb, Location nl, Value v) -> Value {
                  return arith::ExtFOp::create(nb, nl, nb.getF32Type(), v);
                });
    return success();
  }
};

} // namespace
