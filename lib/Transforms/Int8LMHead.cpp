//===- Int8LMHead.cpp - An int8 LM head (opt-in) ---------------------------===//
//
// With ternary layers packed at 2 bits, a float32 LM head is most of what a
// decode step reads (2B4T: 1.3 GB of 1.8 GB). This opt-in rewrite stores the
// LM head as int8 with one absmax scale per vocabulary row:
//   W[n, k] ~ q[n, k] * s[n],  s[n] = max_k |W[n, k]| / 127,
//   logits[.., n] = (sum_k x[.., k] * q[n, k]) * s[n]
// (x stays float32). It changes the logits (bitnet-run's tests report by how
// much); off by default. The LM head is the float linear layer (a generic
// tagged matmul_f32 / matmul_f32_nt by the importer) with a constant weight
// whose output width is the vocabulary of the `bitnet.decoder` record.
//
//===----------------------------------------------------------------------===//

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
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

namespace {

struct Int8LMHeadPass
    : public mlir::bitnet::impl::BitNetInt8LMHeadBase<Int8LMHeadPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<int64_t> vocabField =
        mlir::bitnet::requireDecoderVocab(module, getArgument());
    if (!vocabField)
      return signalPassFailure();
    int64_t vocab = *vocabField;
    SmallVector<linalg::GenericOp> heads;
    module.walk([&](linalg::GenericOp op) {
      auto tag = op->getAttrOfType<StringAttr>("bitnet.ukernel");
      if (!tag || (tag.getValue() != "matmul_f32" &&
                   tag.getValue() != "matmul_f32_nt") ||
          !op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2)
        return;
      auto out = cast<RankedTensorType>(op.getResult(0).getType());
      if (out.getShape().back() != vocab)
        return;
      DenseElementsAttr w;
      if (!matchPattern(op.getDpsInputs()[1], m_Constant(&w)) ||
          !w.getElementType().isF32() || w.getType().getRank() != 2)
        return;
      heads.push_back(op);
    });
    for (linalg::GenericOp op : heads)
      rewrite(op);
  }

  void rewrite(linalg::GenericOp op) {
    bool transposed = op->getAttrOfType<StringAttr>("bitnet.ukernel")
                          .getValue() == "matmul_f32_nt";
    DenseElementsAttr w;
    (void)matchPattern(op.getDpsInputs()[1], m_Constant(&w));
    ArrayRef<int64_t> ws = w.getType().getShape();
    int64_t n = transposed ? ws[0] : ws[1], k = transposed ? ws[1] : ws[0];
    // Quantize per vocabulary row, stored [n, k].
    SmallVector<float> values(w.getValues<float>());
    SmallVector<int8_t> q(n * k);
    SmallVector<float> scales(n);
    for (int64_t r = 0; r < n; ++r) {
      auto at = [&](int64_t c) {
        return transposed ? values[r * k + c] : values[c * n + r];
      };
      float mx = 0;
      for (int64_t c = 0; c < k; ++c)
        mx = std::max(mx, std::fabs(at(c)));
      float s = mx > 0 ? mx / 127.0f : 1.0f;
      scales[r] = s;
      for (int64_t c = 0; c < k; ++c)
        q[r * k + c] = int8_t(std::lround(std::clamp(at(c) / s, -127.0f, 127.0f)));
    }
    OpBuilder b(op);
    Location loc = op.getLoc();
    MLIRContext *ctx = b.getContext();
    auto qType = RankedTensorType::get({n, k}, b.getI8Type());
    auto sType = RankedTensorType::get({n}, b.getF32Type());
    Value qv = arith::ConstantOp::create(
        b, loc, qType,
        DenseElementsAttr::get(qType, ArrayRef<int8_t>(q)));
    Value sv = arith::ConstantOp::create(
        b, loc, sType, DenseElementsAttr::get(sType, ArrayRef<float>(scales)));

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
    Value init = linalg::FillOp::create(
                     b, loc, zero,
                     tensor::EmptyOp::create(b, loc, outType.getShape(),
                                             b.getF32Type()).getResult())
                     .getResult(0);
    auto acc = linalg::GenericOp::create(
        b, loc, outType, ValueRange{x, qv}, init, maps, its,
        [](OpBuilder &nb, Location nl, ValueRange a) {
          Value wf = arith::SIToFPOp::create(nb, nl, nb.getF32Type(), a[1]);
          Value p = arith::MulFOp::create(nb, nl, a[0], wf);
          linalg::YieldOp::create(nb, nl,
                                  Value(arith::AddFOp::create(nb, nl, a[2], p)));
        });
    acc->setAttr("bitnet.ukernel", b.getStringAttr("matmul_f32_i8w_nt"));
    // logits = acc * s[n]
    int64_t rank = outType.getRank();
    SmallVector<AffineMap> smaps{
        AffineMap::getMultiDimIdentityMap(rank, ctx),
        AffineMap::get(rank, 0, {b.getAffineDimExpr(rank - 1)}, ctx),
        AffineMap::getMultiDimIdentityMap(rank, ctx)};
    auto scaled = linalg::GenericOp::create(
        b, loc, outType, ValueRange{acc.getResult(0), sv},
        tensor::EmptyOp::create(b, loc, outType.getShape(), b.getF32Type())
            .getResult(),
        smaps, SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
        [](OpBuilder &nb, Location nl, ValueRange a) {
          linalg::YieldOp::create(nb, nl,
                                  Value(arith::MulFOp::create(nb, nl, a[0], a[1])));
        });
    // The original accumulated into its init (a zero fill for the importer's
    // MatMul); keep any other init by adding it.
    Value origInit = op.getDpsInits()[0];
    Value result = scaled.getResult(0);
    if (!origInit.getDefiningOp<linalg::FillOp>()) {
      auto added = linalg::GenericOp::create(
          b, loc, outType, ValueRange{result, origInit},
          tensor::EmptyOp::create(b, loc, outType.getShape(), b.getF32Type())
              .getResult(),
          SmallVector<AffineMap>(3, AffineMap::getMultiDimIdentityMap(rank, ctx)),
          SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
          [](OpBuilder &nb, Location nl, ValueRange a) {
            linalg::YieldOp::create(nb, nl,
                                    Value(arith::AddFOp::create(nb, nl, a[0], a[1])));
          });
      result = added.getResult(0);
    }
    op.getResult(0).replaceAllUsesWith(result);
    op.erase();
  }
};

} // namespace
