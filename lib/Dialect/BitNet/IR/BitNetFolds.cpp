//===- BitNetFolds.cpp - bitnet folders -----------------------------------===//
//
// Only folds that are right by construction: constant packing, unpacking what
// was just packed from ternary codes, and TopK that keeps everything.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Dialect/BitNet/IR/BitNetDialect.h"
#include "bitnet/Support/TernaryPacking.h"

#include "mlir/IR/BuiltinAttributes.h"

#include <algorithm>
#include <vector>

using namespace mlir;
using namespace mlir::bitnet;

/// The i8 values of a constant, without an APInt per element (weights can
/// have billions of them).
static std::vector<int8_t> bytesOf(DenseIntElementsAttr attr) {
  std::vector<int8_t> out(attr.getNumElements());
  if (attr.isSplat()) {
    std::fill(out.begin(), out.end(),
              int8_t(attr.getSplatValue<APInt>().getSExtValue()));
    return out;
  }
  ArrayRef<char> raw = attr.getRawData();
  std::copy(raw.begin(), raw.end(), reinterpret_cast<char *>(out.data()));
  return out;
}

static DenseElementsAttr fromBytes(RankedTensorType type,
                                   const std::vector<int8_t> &bytes) {
  return DenseElementsAttr::getFromRawBuffer(
      type, ArrayRef<char>(reinterpret_cast<const char *>(bytes.data()),
                           bytes.size()));
}

/// pack_ternary(constant) -> packed_constant.
OpFoldResult PackTernaryOp::fold(FoldAdaptor adaptor) {
  auto codes = dyn_cast_if_present<DenseIntElementsAttr>(adaptor.getInput());
  if (!codes || !codes.getElementType().isInteger(8))
    return {};
  PackedTernaryType type = getResult().getType();
  // The codes in place (a copy only of a splat's one value).
  std::vector<int8_t> splat;
  const int8_t *weights =
      reinterpret_cast<const int8_t *>(codes.getRawData().data());
  if (codes.isSplat()) {
    splat = bytesOf(codes);
    weights = splat.data();
  }
  int64_t k = type.getReductionSize();
  int64_t rows = codes.getNumElements() / k;
  if (type.getLayout() == TernaryLayout::bits2_cols) {
    std::vector<int8_t> bytes(type.getStorageType().getNumElements());
    ternary::packTernaryCols(weights, rows, k,
                             reinterpret_cast<uint8_t *>(bytes.data()));
    return fromBytes(type.getStorageType(), bytes);
  }
  std::vector<int8_t> bytes(rows * type.getPackedRowBytes());
  ternary::packTernaryRows(toPackedLayout(type.getLayout()), weights, rows, k,
                           reinterpret_cast<uint8_t *>(bytes.data()));
  return fromBytes(type.getStorageType(), bytes);
}

/// unpack_ternary(pack_ternary(ternary_quant codes)) -> codes: the codes are
/// already in {-1, 0, 1}, so the clamp in packing changes nothing.
/// unpack_ternary(constant) -> constant i8 codes.
OpFoldResult UnpackTernaryOp::fold(FoldAdaptor adaptor) {
  if (auto pack = getInput().getDefiningOp<PackTernaryOp>())
    if (pack.getInput().getDefiningOp<TernaryQuantOp>())
      return pack.getInput();
  auto bytesAttr = dyn_cast_if_present<DenseIntElementsAttr>(adaptor.getInput());
  if (!bytesAttr || !bytesAttr.getElementType().isInteger(8))
    return {};
  PackedTernaryType type = getInput().getType();
  std::vector<int8_t> bytes = bytesOf(bytesAttr);
  int64_t k = type.getReductionSize();
  if (type.getLayout() == TernaryLayout::bits2_cols) {
    std::vector<int8_t> weights(type.getShape()[0] * k);
    ternary::unpackTernaryCols(reinterpret_cast<const uint8_t *>(bytes.data()),
                               type.getShape()[0], k, weights.data());
    return fromBytes(getResult().getType(), weights);
  }
  int64_t rows = int64_t(bytes.size()) / type.getPackedRowBytes();
  std::vector<int8_t> weights(rows * k);
  ternary::unpackTernaryRows(toPackedLayout(type.getLayout()),
                             reinterpret_cast<const uint8_t *>(bytes.data()),
                             rows, k, weights.data());
  return fromBytes(getResult().getType(), weights);
}

OpFoldResult PackedConstantOp::fold(FoldAdaptor) { return getValue(); }

/// topk_sparsify keeping every entry is the identity.
OpFoldResult TopKSparsifyOp::fold(FoldAdaptor) {
  int64_t d = getInput().getType().getShape().back();
  double ratio = getRatio().convertToDouble();
  if (ratio == 1.0 ||
      (!ShapedType::isDynamic(d) && getKeptCount(ratio, d) == d))
    return getInput();
  return {};
}
