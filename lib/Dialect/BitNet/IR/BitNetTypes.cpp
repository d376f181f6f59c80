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
  return ternary::packedRowBytes(toPackedLayout(getLayout()),
                                  getReductionSize());
}

RankedTensorType PackedTernaryType::getStorageType() const {
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
                          << "' (expected 'bits2' or 'trits5')";
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
