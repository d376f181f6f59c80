//===- BitNetTypes.cpp - bitnet types -------------------------------------===//

#include "bitnet/Dialect/BitNet/IR/BitNetDialect.h"
#include "bitnet/Support/TernaryPacking.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::bitnet;

#define GET_TYPEDEF_CLASSES
#include "bitnet/Dialect/BitNet/IR/BitNetOpsTypes.cpp.inc"

void BitNetDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "bitnet/Dialect/BitNet/IR/BitNetOpsTypes.cpp.inc"
      >();
}

int64_t PackedTernaryType::getPackedRowBytes() const {
  if (getLayout() == TernaryLayout::bits2_cols)
    return ternary::kColBlockBytes;
  return ternary::packedRowBytes(toPackedLayout(getLayout()),
                                  getReductionSize());
}

RankedTensorType PackedTernaryType::getStorageType() const {
  if (getLayout() == TernaryLayout::bits2_cols)
    return RankedTensorType::get({getShape()[1],
                                  ternary::colBlocks(getShape()[0]),
                                  ternary::kColBlockBytes},
                                 IntegerType::get(getContext(), 8));
  SmallVector<int64_t> shape(getShape());
  shape.back() = getPackedRowBytes();
  return RankedTensorType::get(shape,
                               IntegerType::get(getContext(), 8));
}

LogicalResult
PackedTernaryType::verify(function_ref<InFlightDiagnostic()> emitError,
                          ArrayRef<int64_t> shape, TernaryLayout layout) {
  if (shape.empty())
    return emitError() << "packed ternary weights need a rank of at least 1";
  for (int64_t dim : shape)
    if (dim <= 0)
      return emitError() << "packed ternary weights need a static, positive "
                            "shape; got dimension "
                         << (ShapedType::isDynamic(dim) ? std::string("?")
                                                        : std::to_string(dim));
  if (layout == TernaryLayout::bits2_cols && shape.size() != 2)
    return emitError() << "the bits2_cols layout is for [N, K] matrices; got "
                          "rank "
                       << shape.size();
  return success();
}

// !bitnet.packed_ternary<64x128, bits2>
Type PackedTernaryType::parse(AsmParser &parser) {
  SmallVector<int64_t> shape;
  std::string layoutName;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseLess() ||
      parser.parseDimensionList(shape, /*allowDynamic=*/true,
                                /*withTrailingX=*/false) ||
      parser.parseComma() || parser.parseKeywordOrString(&layoutName) ||
      parser.parseGreater())
    return {};
  std::optional<TernaryLayout> layout = symbolizeTernaryLayout(layoutName);
  if (!layout) {
    parser.emitError(loc) << "unknown ternary layout '" << layoutName
                          << "' (expected 'bits2', 'trits5' or 'bits2_cols')";
    return {};
  }
  return getChecked([&] { return parser.emitError(loc); },
                    parser.getContext(), shape, *layout);
}

void PackedTernaryType::print(AsmPrinter &printer) const {
  printer << "<";
  printer.printDimensionList(getShape());
  printer << ", " << stringifyTernaryLayout(getLayout()) << ">";
}
