//===- BitNetOps.cpp - bitnet op verifiers --------------------------------===//
//
// Every verifier names what it expected and what it got, in the shape
// notation of the IR, so that a malformed import is easy to read.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Dialect/BitNet/IR/BitNetDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/TypeUtilities.h"

#include <cmath>

using namespace mlir;
using namespace mlir::bitnet;

#define GET_OP_CLASSES
#include "bitnet/Dialect/BitNet/IR/BitNetOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Shared checks
//===----------------------------------------------------------------------===//

static std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s = "[";
  llvm::raw_string_ostream os(s);
  llvm::interleave(
      shape, os,
      [&](int64_t d) {
        if (ShapedType::isDynamic(d))
          os << "?";
        else
          os << d;
      },
      ", ");
  os << "]";
  return s;
}

static LogicalResult verifyBits(Operation *op, int64_t bits, StringRef name,
                                int64_t lo = 2, int64_t hi = 8) {
  if (bits < lo || bits > hi)
    return op->emitOpError() << "expects " << name << " in [" << lo << ", "
                             << hi << "], got " << bits;
  return success();
}

static LogicalResult verifyEps(Operation *op, APFloat eps) {
  if (!(eps.convertToDouble() > 0.0) || !std::isfinite(eps.convertToDouble()))
    return op->emitOpError() << "expects a finite eps > 0, got "
                             << eps.convertToDouble();
  return success();
}

static LogicalResult verifyRatio(Operation *op, StringRef name, double ratio) {
  if (!(ratio > 0.0 && ratio <= 1.0))
    return op->emitOpError() << "expects " << name << " in (0, 1], got "
                             << ratio;
  return success();
}

/// `actual` must have `expected`'s shape (dynamic dims match anything).
static LogicalResult verifyShape(Operation *op, StringRef what,
                                 ArrayRef<int64_t> expected, ShapedType actual,
                                 StringRef why) {
  if (succeeded(verifyCompatibleShape(expected, actual.getShape())))
    return success();
  return op->emitOpError() << "expects " << what << " of shape "
                           << shapeString(expected) << " (" << why
                           << "), got " << actual;
}

static LogicalResult verifyNonScalar(Operation *op, ShapedType input) {
  if (input.getRank() < 1)
    return op->emitOpError() << "expects an input of rank >= 1, got " << input;
  return success();
}

/// Codes have the input's shape; per-token scales drop the last dimension.
static LogicalResult verifyPerTokenQuant(Operation *op, ShapedType input,
                                         ShapedType codes, ShapedType scale) {
  if (failed(verifyNonScalar(op, input)) ||
      failed(verifyShape(op, "codes", input.getShape(), codes,
                         "the input shape")) ||
      failed(verifyShape(op, "scale", input.getShape().drop_back(), scale,
                         "the input shape without its last dimension")))
    return failure();
  return success();
}

/// The logical [N, K] shape of a BitLinear weight operand.
static ArrayRef<int64_t> weightShape(Type weight) {
  if (auto packed = dyn_cast<PackedTernaryType>(weight))
    return packed.getShape();
  return cast<ShapedType>(weight).getShape();
}

static LogicalResult verifyLinearShapes(Operation *op, ShapedType input,
                                        Type weight, ShapedType result) {
  if (failed(verifyNonScalar(op, input)))
    return failure();
  ArrayRef<int64_t> w = weightShape(weight);
  if (w.size() != 2)
    return op->emitOpError() << "expects a 2-D weight [N, K], got " << weight;
  int64_t k = input.getShape().back();
  if (!ShapedType::isDynamic(k) && !ShapedType::isDynamic(w[1]) && k != w[1])
    return op->emitOpError()
           << "expects the input's last dimension (" << k
           << ") to equal the weight's K (" << w[1] << ")";
  SmallVector<int64_t> expected(input.getShape().drop_back());
  expected.push_back(w[0]);
  return verifyShape(op, "result", expected, result,
                     "the input's leading dimensions and the weight's N");
}

//===----------------------------------------------------------------------===//
// Weights
//===----------------------------------------------------------------------===//

LogicalResult TernaryQuantOp::verify() {
  if (failed(verifyEps(*this, getEps())))
    return failure();
  return verifyShape(*this, "codes", getInput().getType().getShape(),
                     getCodes().getType(), "the input shape");
}

/// Packing maps [..., K] i8 codes to a packed type of the same logical shape.
static LogicalResult verifyPacking(Operation *op, ShapedType codes,
                                   PackedTernaryType packed) {
  return verifyShape(op, "codes", packed.getShape(), codes,
                     "the packed type's logical shape");
}

LogicalResult PackTernaryOp::verify() {
  return verifyPacking(*this, getInput().getType(), getResult().getType());
}

LogicalResult UnpackTernaryOp::verify() {
  return verifyPacking(*this, getResult().getType(), getInput().getType());
}

LogicalResult PackedConstantOp::verify() {
  RankedTensorType storage = getResult().getType().getStorageType();
  if (getValue().getType() != storage)
    return emitOpError() << "expects the packed bytes as " << storage
                         << " for " << getResult().getType() << ", got "
                         << getValue().getType();
  return success();
}

//===----------------------------------------------------------------------===//
// Activation quantizers
//===----------------------------------------------------------------------===//

LogicalResult AbsmaxQuantOp::verify() {
  if (failed(verifyBits(*this, getBits(), "bits")) ||
      failed(verifyEps(*this, getEps())))
    return failure();
  return verifyPerTokenQuant(*this, getInput().getType(), getCodes().getType(),
                             getScale().getType());
}

LogicalResult AbsmeanQuantOp::verify() {
  if (failed(verifyBits(*this, getBits(), "bits")) ||
      failed(verifyEps(*this, getEps())))
    return failure();
  return verifyPerTokenQuant(*this, getInput().getType(), getCodes().getType(),
                             getScale().getType());
}

LogicalResult FP4QuantOp::verify() {
  if (failed(verifyEps(*this, getEps())))
    return failure();
  return verifyPerTokenQuant(*this, getInput().getType(), getCodes().getType(),
                             getScale().getType());
}

LogicalResult DequantizeOp::verify() {
  ShapedType codes = getCodes().getType(), scale = getScale().getType();
  if (failed(verifyShape(*this, "result", codes.getShape(),
                         getResult().getType(), "the codes' shape")))
    return failure();
  if (scale.getRank() == 0)
    return success();
  if (failed(verifyNonScalar(*this, codes)))
    return failure();
  return verifyShape(*this, "scale", codes.getShape().drop_back(), scale,
                     "per token: the codes' shape without its last dimension; "
                     "or tensor<f32> per tensor");
}

//===----------------------------------------------------------------------===//
// Sparsification
//===----------------------------------------------------------------------===//

int64_t TopKSparsifyOp::getKeptCount(double ratio, int64_t size) {
  // The tiny slack keeps ratio * d exact where the decimal ratio is not
  // (0.3 * 10 = 2.9999999999999996 must keep 3).
  int64_t k = int64_t(std::floor(ratio * double(size) + 1e-9));
  return std::clamp<int64_t>(k, 1, size);
}

LogicalResult TopKSparsifyOp::verify() {
  if (failed(verifyRatio(*this, "ratio", getRatio().convertToDouble())))
    return failure();
  return verifyNonScalar(*this, getInput().getType());
}

//===----------------------------------------------------------------------===//
// BitLinear
//===----------------------------------------------------------------------===//

LogicalResult BitLinearOp::verify() {
  ShapedType input = getInput().getType();
  if (failed(verifyLinearShapes(*this, input, getWeight().getType(),
                                getResult().getType())))
    return failure();
  return verifyShape(*this, "input_scale", input.getShape().drop_back(),
                     getInputScale().getType(),
                     "per token: the input shape without its last dimension");
}

LogicalResult GatedBitLinearOp::verify() {
  ShapedType input = getInput().getType();
  if (failed(verifyLinearShapes(*this, input, getWeight().getType(),
                                getResult().getType())) ||
      failed(verifyShape(*this, "input_scale", input.getShape().drop_back(),
                         getInputScale().getType(),
                         "per token: the input shape without its last "
                         "dimension")))
    return failure();
  return verifyShape(*this, "gate", getResult().getType().getShape(),
                     getGate().getType(), "the result shape");
}

LogicalResult FusedBitLinearOp::verify() {
  if (failed(verifyEps(*this, getEps())))
    return failure();
  if (FloatAttr ratio = getTopkRatioAttr())
    if (failed(verifyRatio(*this, "topk_ratio", ratio.getValueAsDouble())))
      return failure();
  return verifyLinearShapes(*this, getInput().getType(), getWeight().getType(),
                            getResult().getType());
}

//===----------------------------------------------------------------------===//
// KV cache
//===----------------------------------------------------------------------===//

static LogicalResult verifyKV(Operation *op, ShapedType values,
                              ShapedType codes, ShapedType scale, int64_t bits,
                              std::optional<uint32_t> bosBits) {
  if (values.getRank() < 3)
    return op->emitOpError()
           << "expects K/V laid out [..., tokens, heads, head_dim] (rank >= 3), "
              "got "
           << values;
  if (failed(verifyBits(op, bits, "bits")))
    return failure();
  if (bosBits && failed(verifyBits(op, *bosBits, "bos_bits", bits, 8)))
    return failure();
  if (failed(verifyShape(op, "codes", values.getShape(), codes,
                         "the K/V shape")) ||
      failed(verifyShape(op, "scale", values.getShape().drop_back(), scale,
                         "one per token and head")))
    return failure();
  return success();
}

LogicalResult KVQuantOp::verify() {
  if (failed(verifyEps(*this, getEps())))
    return failure();
  return verifyKV(*this, getInput().getType(), getCodes().getType(),
                  getScale().getType(), getBits(), getBosBits());
}

LogicalResult KVDequantOp::verify() {
  return verifyKV(*this, getResult().getType(), getCodes().getType(),
                  getScale().getType(), getBits(), getBosBits());
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

LogicalResult CachedAttentionOp::verify() {
  ArrayRef<int64_t> q = getQ().getType().getShape(),
                    k = getK().getType().getShape(),
                    kc = getKCache().getType().getShape();
  auto static4 = [](ArrayRef<int64_t> s) {
    return s.size() == 4 && s[0] == 1 &&
           llvm::none_of(s, [](int64_t d) { return ShapedType::isDynamic(d); });
  };
  if (!static4(q) || !static4(k) || !static4(kc))
    return emitOpError() << "expects static [1, heads, tokens, head_dim] "
                            "operands, got q "
                         << shapeString(q) << ", k " << shapeString(k)
                         << ", k_cache " << shapeString(kc);
  if (k[1] == 0 || q[1] % k[1] != 0)
    return emitOpError() << "expects the query heads (" << q[1]
                         << ") to be a multiple of the KV heads (" << k[1]
                         << ")";
  if (k[2] != q[2] || k[3] != q[3])
    return emitOpError() << "expects k " << shapeString(k)
                         << " to have q's tokens and head size "
                         << shapeString(q);
  if (kc[1] != k[1] || kc[3] != k[3])
    return emitOpError() << "expects k_cache " << shapeString(kc)
                         << " to have k's heads and head size "
                         << shapeString(k);
  float scale = getScale().convertToFloat();
  if (!(scale > 0.0f) || !std::isfinite(scale))
    return emitOpError() << "expects a finite scale > 0, got " << scale;
  return success();
}
