//===- DecoderRecord.h - The bitnet.decoder module attribute ----*- C++ -*-===//
//
// The ONNX importer records a recognized decoder's shape (vocab, hidden,
// layers, heads, ...) on the module as a dictionary; passes that find the
// LM head or the logits by their width read it here.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_TRANSFORMS_DECODERRECORD_H
#define BITNET_TRANSFORMS_DECODERRECORD_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"

#include <optional>

namespace mlir::bitnet {

inline constexpr llvm::StringLiteral kDecoderRecordAttrName = "bitnet.decoder";

/// An integer field of the module's decoder record; std::nullopt without the
/// record or the field.
inline std::optional<int64_t> decoderRecordField(ModuleOp module,
                                                 llvm::StringRef key) {
  auto record = module->getAttrOfType<DictionaryAttr>(kDecoderRecordAttrName);
  auto field = record ? dyn_cast_or_null<IntegerAttr>(record.get(key))
                      : IntegerAttr();
  if (!field)
    return std::nullopt;
  return field.getInt();
}

/// The `vocab` of the module's decoder record; std::nullopt after an error
/// saying that `passName` needs the record.
inline std::optional<int64_t> requireDecoderVocab(ModuleOp module,
                                                  llvm::StringRef passName) {
  std::optional<int64_t> vocab = decoderRecordField(module, "vocab");
  if (!vocab)
    module.emitError("--") << passName
                           << " needs the bitnet.decoder record (an imported "
                              "decoder)";
  return vocab;
}

/// Whether `op` is the LM head as the importer leaves it: the float linear
/// layer (a linalg.generic tagged `bitnet.ukernel = "matmul_f32"` or
/// `"matmul_f32_nt"`, inputs x and W, one output) whose output is `vocab`
/// wide.
inline bool isFloatLMHead(Operation *op, int64_t vocab) {
  auto tag = op->getAttrOfType<StringAttr>("bitnet.ukernel");
  if (!tag ||
      (tag.getValue() != "matmul_f32" && tag.getValue() != "matmul_f32_nt") ||
      op->getNumOperands() != 3 || op->getNumResults() != 1)
    return false;
  auto out = dyn_cast<ShapedType>(op->getResult(0).getType());
  return out && out.hasRank() && out.getRank() > 0 &&
         out.getShape().back() == vocab;
}

} // namespace mlir::bitnet

#endif // BITNET_TRANSFORMS_DECODERRECORD_H
