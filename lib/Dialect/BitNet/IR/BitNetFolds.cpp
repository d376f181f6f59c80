//===- BitNetFolds.cpp - bitnet folders -----------------------------------===//
//
// Only folds that are right by construction: constant packing, unpacking what
// was just packed from ternary codes, and TopK that keeps everything.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Dialect/BitNet/IR/BitNetDialect.h"
#include "bitnet/Support/TernaryPacking.h"

#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;
using namespace mlir::bitnet;

/// pack_ternary(constant) -> packed_constant.
OpFoldResult PackTernaryOp::fold(FoldAdaptor adaptor) {
  auto codes = dyn_cast_if_present<DenseIntElementsAttr>(adaptor.getInput());
  if (!codes)
    return {};
  PackedTernaryType type = getResult().getType();
  SmallVector<int8_t> weights;
  weights.reserve(codes.getNumElements());
  for (const APInt &v : codes.getValues<APInt>())
    weights.push_back(int8_t(v.getSExtValue()));
  int64_t k = type.getReductionSize();
  int64_t rows = codes.getNumElements() / k;
  SmallVector<uint8_t> bytes(rows * type.getPackedRowBytes());
  ternary::packTernaryRows(toPackedLayout(type.getLayout()), weights.data(),
                            rows, k, bytes.data());
  SmallVector<APInt> values;
  for (uint8_t b : bytes)
    values.push_back(APInt(8, b));
  return DenseIntElementsAttr::get(type.getStorageType(), values);
}

/// unpack_ternary(pack_ternary(ternary_quant codes)) -> codes: the codes are
/// already in {-1, 0, 1}, so the clamp in packing changes nothing.
/// unpack_ternary(constant) -> constant i8 codes.
OpFoldResult UnpackTernaryOp::fold(FoldAdaptor adaptor) {
  if (auto pack = getInput().getDefiningOp<PackTernaryOp>())
    if (pack.getInput().getDefiningOp<TernaryQuantOp>())
      return pack.getInput();
  auto bytesAttr = dyn_cast_if_present<DenseIntElementsAttr>(adaptor.getInput());
  if (!bytesAttr)
    return {};
  PackedTernaryType type = getInput().getType();
  SmallVector<uint8_t> bytes;
  for (const APInt &v : bytesAttr.getValues<APInt>())
    bytes.push_back(uint8_t(v.getZExtValue()));
  int64_t k = type.getReductionSize();
  int64_t rows = int64_t(bytes.size()) / type.getPackedRowBytes();
  SmallVector<int8_t> weights(rows * k);
  ternary::unpackTernaryRows(toPackedLayout(type.getLayout()), bytes.data(),
                              rows, k, weights.data());
  SmallVector<APInt> values;
  for (int8_t w : weights)
    values.push_back(APInt(8, uint64_t(int64_t(w)), /*isSigned=*/true));
  return DenseIntElementsAttr::get(getResult().getType(), values);
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
