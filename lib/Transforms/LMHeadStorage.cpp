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
// - bitnet-int4-lm-head: 4-bit codes with a scale per group of 32 weights
//     of a row, W[n, k] ~ q[n, k] * s[n, k / 32], summed per element.
// All change the logits (bitnet-run's tests report by how much). The LM
// head is the float linear layer (a generic tagged matmul_f32 /
// matmul_f32_nt by the importer) with a constant weight whose output width
// is the vocabulary of the `bitnet.decoder` record.
//
// Their Head reading and contraction rebuilding also serve one rewrite that
// is not opt-in and keeps every weight:
// - bitnet-row-major-float-weights: every float linear layer's constant
//     W [k, n] of MatMul(x, W) (the LM head's included) stored transposed,
//     [n, k], where its rows lie a page or more apart: a decode GEMV then
//     streams rows instead of reading a few lines from each of k pages.
//     Only the order of each sum's additions changes.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Support/HalfFloat.h"
#include "bitnet/Transforms/DecoderRecord.h"
#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"

#include <cmath>

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETINT8LMHEAD
#define GEN_PASS_DEF_BITNETINT4LMHEAD
#define GEN_PASS_DEF_BITNETHALFLMHEAD
#define GEN_PASS_DEF_BITNETROWMAJORFLOATWEIGHTS
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

namespace {

/// One LM head: the importer's float matmul and its constant weight, read
/// as W(n, k) whatever its layout.
struct Head {
  mutable linalg::GenericOp op; ///< A handle: rewriting through it is fine.
  DenseElementsAttr weights;
  bool transposed; ///< Stored [n, k] (matmul_f32_nt), else [k, n].
  int64_t n, k;
  /// The weight's floats: the attribute's own buffer (a 2B4T head is 1.3
  /// GB: not copied), or `splat` expanded.
  ArrayRef<float> values;
  SmallVector<float> splat;
  float at(int64_t r, int64_t c) const {
    return transposed ? values[r * k + c] : values[c * n + r];
  }
};

/// What a pass made of one head weight, for the other heads that share it
/// (the prefill, decode and wide prefill steps each have a head, on one
/// uniqued weight attribute): the stored weight and, if any, its scales.
using StoredHeads =
    llvm::DenseMap<std::pair<Attribute, unsigned>,
                   std::pair<DenseElementsAttr, DenseElementsAttr>>;

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

void readHead(linalg::GenericOp op, Head &h) {
  h.op = op;
  h.transposed = op->getAttrOfType<StringAttr>("bitnet.ukernel").getValue() ==
                 "matmul_f32_nt";
  (void)matchPattern(op.getDpsInputs()[1], m_Constant(&h.weights));
  ArrayRef<int64_t> ws = h.weights.getType().getShape();
  h.n = h.transposed ? ws[0] : ws[1];
  h.k = h.transposed ? ws[1] : ws[0];
  if (h.weights.isSplat()) {
    h.splat.assign(h.n * h.k, h.weights.getSplatValue<float>());
    h.values = h.splat;
  } else {
    ArrayRef<char> raw = h.weights.getRawData();
    h.values = ArrayRef<float>(reinterpret_cast<const float *>(raw.data()),
                               h.n * h.k);
  }
}

/// The loops of a head contraction over x [lead..., k]: (lead..., n, k),
/// the last one a reduction.
struct HeadLoops {
  int64_t lead, loops;
  SmallVector<AffineExpr> leadE;
  AffineExpr dn, dk;
  SmallVector<utils::IteratorType> iterators;

  HeadLoops(OpBuilder &b, RankedTensorType xType)
      : lead(xType.getRank() - 1), loops(xType.getRank() + 1) {
    for (int64_t d = 0; d < lead; ++d)
      leadE.push_back(b.getAffineDimExpr(d));
    dn = b.getAffineDimExpr(lead);
    dk = b.getAffineDimExpr(lead + 1);
    iterators.assign(lead + 1, utils::IteratorType::parallel);
    iterators.push_back(utils::IteratorType::reduction);
  }
  AffineMap xMap() const {
    SmallVector<AffineExpr> e(leadE);
    e.push_back(dk);
    return AffineMap::get(loops, 0, e, dk.getContext());
  }
  AffineMap outMap() const {
    SmallVector<AffineExpr> e(leadE);
    e.push_back(dn);
    return AffineMap::get(loops, 0, e, dk.getContext());
  }
  AffineMap map(ArrayRef<AffineExpr> e) const {
    return AffineMap::get(loops, 0, e, dk.getContext());
  }
};

/// Builds the replacement contraction: given x and a zero-filled init of
/// the head's output type, returns the tagged generic's result.
using BuildContraction = function_ref<Value(OpBuilder &, Location, Value x,
                                            Value init, const HeadLoops &)>;

/// Replaces the head `op` with `contract` over a zero init; `scale` (per
/// row n), when given, multiplies the sums. The original init is added back
/// unless it was the importer's zero fill.
void replaceHeadWith(linalg::GenericOp op, Value scale,
                     BuildContraction contract) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  MLIRContext *ctx = b.getContext();
  Value x = op.getDpsInputs()[0];
  auto outType = cast<RankedTensorType>(op.getResult(0).getType());
  HeadLoops loops(b, cast<RankedTensorType>(x.getType()));
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
  auto empty = [&] {
    return tensor::EmptyOp::create(b, loc, outType.getShape(), b.getF32Type())
        .getResult();
  };
  Value init = linalg::FillOp::create(b, loc, zero, empty()).getResult(0);
  Value result = contract(b, loc, x, init, loops);
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

/// replaceHeadWith for out[.., n] = sum_k x[.., k] * widen(w[n, k]) (w:
/// `weights`, [n, k]), tagged `tag`.
void replaceHead(linalg::GenericOp op, Value weights, StringRef tag,
                 Value scale,
                 function_ref<Value(OpBuilder &, Location, Value)> widen) {
  replaceHeadWith(op, scale, [&](OpBuilder &b, Location loc, Value x,
                                 Value init, const HeadLoops &l) -> Value {
    auto acc = linalg::GenericOp::create(
        b, loc, init.getType(), ValueRange{x, weights}, init,
        ArrayRef<AffineMap>{l.xMap(), l.map({l.dn, l.dk}), l.outMap()},
        l.iterators, [&](OpBuilder &nb, Location nl, ValueRange a) {
          Value p = arith::MulFOp::create(nb, nl, a[0], widen(nb, nl, a[1]));
          linalg::YieldOp::create(
              nb, nl, Value(arith::AddFOp::create(nb, nl, a[2], p)));
        });
    acc->setAttr("bitnet.ukernel", b.getStringAttr(tag));
    return acc.getResult(0);
  });
}

/// Calls `rewrite` on every LM head of `module` (failure without a decoder
/// record or when a rewrite fails).
LogicalResult forEachHead(ModuleOp module, StringRef passName,
                          function_ref<LogicalResult(const Head &)> rewrite) {
  std::optional<SmallVector<linalg::GenericOp>> heads =
      collectHeads(module, passName);
  if (!heads)
    return failure();
  for (linalg::GenericOp op : *heads) {
    Head h;
    readHead(op, h);
    if (failed(rewrite(h)))
      return failure();
  }
  return success();
}

struct Int8LMHeadPass
    : public mlir::bitnet::impl::BitNetInt8LMHeadBase<Int8LMHeadPass> {
  void runOnOperation() override {
    if (failed(forEachHead(getOperation(), getArgument(),
                           [&](const Head &h) { return rewrite(h); })))
      signalPassFailure();
  }

  StoredHeads stored;

  LogicalResult rewrite(const Head &h) {
    OpBuilder b(h.op);
    Location loc = h.op.getLoc();
    auto qType = RankedTensorType::get({h.n, h.k}, b.getI8Type());
    auto sType = RankedTensorType::get({h.n}, b.getF32Type());
    auto &[qAttr, sAttr] = stored[{h.weights, unsigned(h.transposed)}];
    if (!qAttr) {
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
      qAttr = DenseElementsAttr::get(qType, ArrayRef<int8_t>(q));
      sAttr = DenseElementsAttr::get(sType, ArrayRef<float>(scales));
    }
    Value qv = arith::ConstantOp::create(b, loc, qType, qAttr);
    Value sv = arith::ConstantOp::create(b, loc, sType, sAttr);
    replaceHead(h.op, qv, "matmul_f32_i8w_nt", sv,
                [](OpBuilder &nb, Location nl, Value w) -> Value {
                  return arith::SIToFPOp::create(nb, nl, nb.getF32Type(), w);
                });
    return success();
  }
};

/// Weights a group of the int4 head shares a scale with; its 32 codes fill
/// 16 bytes (the runtime's kernel, Ukernels.h kI4Group, reads this layout).
constexpr int64_t kI4Group = 32;

struct Int4LMHeadPass
    : public mlir::bitnet::impl::BitNetInt4LMHeadBase<Int4LMHeadPass> {
  void runOnOperation() override {
    if (failed(forEachHead(getOperation(), getArgument(),
                           [&](const Head &h) { return rewrite(h); })))
      signalPassFailure();
  }

  StoredHeads stored;

  LogicalResult rewrite(const Head &h) {
    if (h.k % kI4Group != 0)
      return h.op.emitError("--")
             << getArgument() << ": the LM head's hidden size " << h.k
             << " is not a multiple of " << kI4Group
             << "; use --lm-head=int8 or a 16-bit head";
    const int64_t groups = h.k / kI4Group, rowBytes = h.k / 2;
    OpBuilder b(h.op);
    Location loc = h.op.getLoc();
    auto wType = RankedTensorType::get({h.n, rowBytes}, b.getI8Type());
    auto sType = RankedTensorType::get({h.n, groups}, b.getF32Type());
    auto &[wAttr, sAttr] = stored[{h.weights, unsigned(h.transposed)}];
    if (!wAttr)
      std::tie(wAttr, sAttr) = quantize(h, wType, sType);
    Value wv = arith::ConstantOp::create(b, loc, wType, wAttr);
    Value sv = arith::ConstantOp::create(b, loc, sType, sAttr);
    replaceWithInt4(h, wv, sv);
    return success();
  }

  /// The head's codes (two a byte, a group's 32 in 16 bytes) and a scale
  /// a group.
  std::pair<DenseElementsAttr, DenseElementsAttr>
  quantize(const Head &h, RankedTensorType wType, RankedTensorType sType) {
    const int64_t groups = h.k / kI4Group, rowBytes = h.k / 2;
    SmallVector<int8_t> packed(h.n * rowBytes, 0);
    SmallVector<float> scales(h.n * groups);
    float group[kI4Group];
    // Round half away from zero, as lround, without a libm call: the
    // search below runs it 2B4T's 330 M weights times 9.
    auto code = [](float w, float s) {
      float v = std::clamp(w / s, -8.0f, 7.0f);
      return int(v + (v >= 0 ? 0.5f : -0.5f));
    };
    for (int64_t r = 0; r < h.n; ++r)
      for (int64_t g = 0; g < groups; ++g) {
        float mx = 0;
        for (int64_t j = 0; j < kI4Group; ++j) {
          group[j] = h.at(r, g * kI4Group + j);
          mx = std::max(mx, std::fabs(group[j]));
        }
        // The scale with the least squared error among max / 7 (every
        // weight representable) to max / 9 (finer steps, the largest
        // clipped to 7 or -8): 16 levels spend better than 15.
        float s = 1.0f;
        if (mx > 0) {
          double best = INFINITY;
          for (int t = 0; t <= 8; ++t) {
            float c = mx / (7.0f + 0.25f * float(t));
            double err = 0;
            for (float w : group) {
              double d = double(w) - double(code(w, c)) * double(c);
              err += d * d;
            }
            if (err < best) {
              best = err;
              s = c;
            }
          }
        }
        scales[r * groups + g] = s;
        for (int64_t j = 0; j < kI4Group; ++j) {
          int stored = code(group[j], s) + 8;
          uint8_t &byte = reinterpret_cast<uint8_t &>(
              packed[r * rowBytes + g * 16 + j % 16]);
          byte |= uint8_t(j < 16 ? stored : stored << 4);
        }
      }
    return {DenseElementsAttr::get(wType, ArrayRef<int8_t>(packed)),
            DenseElementsAttr::get(sType, ArrayRef<float>(scales))};
  }

  /// Replaces `h` with the int4 contraction over codes `wv` and scales `sv`.
  void replaceWithInt4(const Head &h, Value wv, Value sv) {
    replaceHeadWith(h.op, Value(), [&](OpBuilder &b, Location loc, Value x,
                                        Value init,
                                        const HeadLoops &l) -> Value {
      auto xType = cast<RankedTensorType>(x.getType());
      MLIRContext *ctx = b.getContext();
      Type f32 = b.getF32Type(), i8 = b.getI8Type();
      auto f32c = [&](OpBuilder &nb, Location nl, float v) -> Value {
        return arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(v));
      };
      // x's rows as int8 codes with one absmax scale a row (m / 127), so
      // the runtime sums integer products of codes (VNNI) instead of
      // widening every weight to f32.
      int64_t xRank = xType.getRank();
      SmallVector<AffineExpr> rowE;
      for (int64_t d = 0; d + 1 < xRank; ++d)
        rowE.push_back(b.getAffineDimExpr(d));
      AffineMap xId = AffineMap::getMultiDimIdentityMap(xRank, ctx);
      AffineMap xRow = AffineMap::get(xRank, 0, rowE, ctx);
      SmallVector<OpFoldResult> xSizes = tensor::getMixedSizes(b, loc, x);
      Value maxInit =
          linalg::FillOp::create(
              b, loc, f32c(b, loc, 0.0f),
              tensor::EmptyOp::create(b, loc,
                                      ArrayRef<OpFoldResult>(xSizes).drop_back(),
                                      f32)
                  .getResult())
              .getResult(0);
      SmallVector<utils::IteratorType> reduceIts(xRank - 1,
                                                 utils::IteratorType::parallel);
      reduceIts.push_back(utils::IteratorType::reduction);
      Value mx = linalg::GenericOp::create(
                     b, loc, maxInit.getType(), ValueRange{x}, maxInit,
                     ArrayRef<AffineMap>{xId, xRow}, reduceIts,
                     [&](OpBuilder &nb, Location nl, ValueRange a) {
                       Value v = math::AbsFOp::create(nb, nl, a[0]);
                       linalg::YieldOp::create(
                           nb, nl,
                           Value(arith::MaximumFOp::create(nb, nl, a[1], v)));
                     })
                     .getResult(0);
      Value codesInit = tensor::EmptyOp::create(b, loc, xSizes, i8);
      Value codes =
          linalg::GenericOp::create(
              b, loc, codesInit.getType(), ValueRange{x, mx}, codesInit,
              ArrayRef<AffineMap>{xId, xRow, xId},
              SmallVector<utils::IteratorType>(xRank,
                                               utils::IteratorType::parallel),
              [&](OpBuilder &nb, Location nl, ValueRange a) {
                // round(x * (127 / m)) in [-127, 127]; a zero row: codes 0.
                Value pos = arith::CmpFOp::create(
                    nb, nl, arith::CmpFPredicate::OGT, a[1], f32c(nb, nl, 0));
                Value inv = arith::SelectOp::create(
                    nb, nl, pos,
                    arith::DivFOp::create(nb, nl, f32c(nb, nl, 127), a[1]),
                    f32c(nb, nl, 0));
                Value v = math::RoundOp::create(
                    nb, nl, arith::MulFOp::create(nb, nl, a[0], inv));
                v = arith::MinimumFOp::create(
                    nb, nl,
                    arith::MaximumFOp::create(nb, nl, v, f32c(nb, nl, -127)),
                    f32c(nb, nl, 127));
                linalg::YieldOp::create(
                    nb, nl, Value(arith::FPToSIOp::create(nb, nl, i8, v)));
              })
              .getResult(0);
      // Element k of row n: byte 16 (k / 32) + k mod 16, the high nibble
      // when k mod 32 >= 16; its group's scale s[n, k / 32].
      AffineExpr byte = l.dk.floorDiv(kI4Group) * 16 + l.dk % 16;
      SmallVector<AffineMap> maps{l.xMap(), l.map({l.dn, byte}),
                                  l.map({l.dn, l.dk.floorDiv(kI4Group)}),
                                  l.outMap()};
      auto acc = linalg::GenericOp::create(
          b, loc, init.getType(), ValueRange{codes, wv, sv}, init, maps,
          l.iterators, [&](OpBuilder &nb, Location nl, ValueRange a) {
            Value k = linalg::IndexOp::create(nb, nl, l.lead + 1);
            auto idx = [&](int64_t v) -> Value {
              return arith::ConstantIndexOp::create(nb, nl, v);
            };
            // shift = 4 * ((k mod 32) / 16)
            Value half = arith::DivUIOp::create(
                nb, nl, arith::RemUIOp::create(nb, nl, k, idx(kI4Group)),
                idx(16));
            Value shift = arith::IndexCastOp::create(
                nb, nl, i8, arith::MulIOp::create(nb, nl, half, idx(4)));
            Value nib = arith::AndIOp::create(
                nb, nl, arith::ShRUIOp::create(nb, nl, a[1], shift),
                arith::ConstantOp::create(nb, nl, nb.getI8IntegerAttr(15)));
            Value q = arith::SubIOp::create(
                nb, nl, nib,
                arith::ConstantOp::create(nb, nl, nb.getI8IntegerAttr(8)));
            Value w = arith::MulFOp::create(
                nb, nl, arith::SIToFPOp::create(nb, nl, f32, q), a[2]);
            Value p = arith::MulFOp::create(
                nb, nl, arith::SIToFPOp::create(nb, nl, f32, a[0]), w);
            linalg::YieldOp::create(
                nb, nl, Value(arith::AddFOp::create(nb, nl, a[3], p)));
          });
      acc->setAttr("bitnet.ukernel", b.getStringAttr("matmul_i8_i4w_nt"));
      // Times the row's scale m / 127.
      auto outType = cast<RankedTensorType>(init.getType());
      int64_t rank = outType.getRank();
      SmallVector<AffineExpr> outRow;
      for (int64_t d = 0; d + 1 < rank; ++d)
        outRow.push_back(b.getAffineDimExpr(d));
      AffineMap oId = AffineMap::getMultiDimIdentityMap(rank, ctx);
      Value scaledInit = tensor::EmptyOp::create(
          b, loc, tensor::getMixedSizes(b, loc, init), f32);
      return linalg::GenericOp::create(
                 b, loc, outType, ValueRange{acc.getResult(0), mx}, scaledInit,
                 ArrayRef<AffineMap>{oId, AffineMap::get(rank, 0, outRow, ctx),
                                     oId},
                 SmallVector<utils::IteratorType>(
                     rank, utils::IteratorType::parallel),
                 [&](OpBuilder &nb, Location nl, ValueRange a) {
                   Value sx =
                       arith::DivFOp::create(nb, nl, a[1], f32c(nb, nl, 127));
                   linalg::YieldOp::create(
                       nb, nl, Value(arith::MulFOp::create(nb, nl, a[0], sx)));
                 })
          .getResult(0);
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
    if (failed(forEachHead(module, getArgument(),
                           [&](const Head &h) { return rewrite(h); })))
      signalPassFailure();
  }

  StoredHeads stored;

  LogicalResult rewrite(const Head &h) {
    bool f16 = elementType == "f16";
    OpBuilder b(h.op);
    Type elem = f16 ? Type(b.getF16Type()) : Type(b.getBF16Type());
    auto type = RankedTensorType::get({h.n, h.k}, elem);
    DenseElementsAttr &attr = stored[{h.weights, unsigned(h.transposed)}].first;
    if (!attr) {
      // Round each weight to nearest even, stored [n, k] as raw 16-bit words.
      SmallVector<uint16_t> bits(h.n * h.k);
      for (int64_t r = 0; r < h.n; ++r)
        for (int64_t c = 0; c < h.k; ++c) {
          float w = h.at(r, c);
          uint16_t v =
              f16 ? halffloat::floatToHalf(w) : halffloat::floatToBF16(w);
          // A finite weight past the type's range (f16: 65504) would become
          // infinite: refuse rather than ship infinite logits.
          float back =
              f16 ? halffloat::halfToFloat(v) : halffloat::bf16ToFloat(v);
          if (std::isinf(back) && std::isfinite(w))
            return h.op.emitError("LM head weight ")
                   << w << " (vocabulary row " << r
                   << ") is out of the range of " << elementType
                   << "; keep the LM head in f32 or use int8";
          bits[r * h.k + c] = v;
        }
      attr = DenseElementsAttr::getFromRawBuffer(
          type, ArrayRef<char>(reinterpret_cast<const char *>(bits.data()),
                               bits.size() * sizeof(uint16_t)));
    }
    Value w = arith::ConstantOp::create(b, h.op.getLoc(), type, attr);
    replaceHead(h.op, w, f16 ? "matmul_f32_f16w_nt" : "matmul_f32_bf16w_nt",
                Value(), [](OpBuilder &nb, Location nl, Value v) -> Value {
                  return arith::ExtFOp::create(nb, nl, nb.getF32Type(), v);
                });
    return success();
  }
};

struct RowMajorFloatWeightsPass
    : public mlir::bitnet::impl::BitNetRowMajorFloatWeightsBase<
          RowMajorFloatWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    // Every float linear layer x W with a constant f32 [k, n] weight.
    SmallVector<linalg::GenericOp> linears;
    getOperation().walk([&](linalg::GenericOp op) {
      auto tag = op->getAttrOfType<StringAttr>("bitnet.ukernel");
      DenseElementsAttr w;
      if (tag && tag.getValue() == "matmul_f32" &&
          op.hasPureTensorSemantics() && op.getNumDpsInputs() == 2 &&
          op->getNumResults() == 1 &&
          matchPattern(op.getDpsInputs()[1], m_Constant(&w)) &&
          w.getElementType().isF32() && w.getType().getRank() == 2 &&
          w.getType().getShape()[1] * 4 >= minRowBytes)
        linears.push_back(op);
    });
    for (linalg::GenericOp op : linears) {
      Head h;
      readHead(op, h);
      rewrite(h);
    }
  }

  StoredHeads stored;

  void rewrite(const Head &h) {
    OpBuilder b(h.op);
    auto type = RankedTensorType::get({h.n, h.k}, b.getF32Type());
    DenseElementsAttr &attr = stored[{h.weights, 0u}].first;
    if (!attr) {
      // Transposed in 64 x 64 tiles, so that both sides move whole lines
      // (2B4T's head is 1.3 GB).
      std::vector<float> t(size_t(h.n * h.k));
      constexpr int64_t kTile = 64;
      for (int64_t c0 = 0; c0 < h.k; c0 += kTile)
        for (int64_t r0 = 0; r0 < h.n; r0 += kTile)
          for (int64_t c = c0; c < std::min(h.k, c0 + kTile); ++c)
            for (int64_t r = r0; r < std::min(h.n, r0 + kTile); ++r)
              t[size_t(r * h.k + c)] = h.at(r, c);
      attr = DenseElementsAttr::getFromRawBuffer(
          type, ArrayRef<char>(reinterpret_cast<const char *>(t.data()),
                               t.size() * sizeof(float)));
    }
    Value w = arith::ConstantOp::create(b, h.op.getLoc(), type, attr);
    replaceHead(h.op, w, "matmul_f32_nt", Value(),
                [](OpBuilder &, Location, Value v) { return v; });
  }
};

} // namespace
