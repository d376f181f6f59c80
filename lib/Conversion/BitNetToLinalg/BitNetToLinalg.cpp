//===- BitNetToLinalg.cpp - Reference lowering: types and patterns --------===//

#include "bitnet/Conversion/BitNetToLinalg/BitNetToLinalg.h"
#include "Patterns.h"

#include "mlir/IR/BuiltinOps.h"

using namespace mlir;
using namespace mlir::bitnet;

BitNetToLinalgTypeConverter::BitNetToLinalgTypeConverter() {
  addConversion([](Type type) { return type; });
  addConversion([](PackedTernaryType type) -> Type {
    return type.getStorageType();
  });
  auto cast = [](OpBuilder &b, Type type, ValueRange inputs,
                 Location loc) -> Value {
    return UnrealizedConversionCastOp::create(b, loc, type, inputs).getResult(0);
  };
  addSourceMaterialization(cast);
  addTargetMaterialization(cast);
}

void mlir::bitnet::populateBitNetToLinalgPatterns(const TypeConverter &converter,
                                                  RewritePatternSet &patterns) {
  lowering::populateQuantOpsToLinalgPatterns(converter, patterns);
  lowering::populateTopKToLinalgPatterns(converter, patterns);
  lowering::populateAttentionToLinalgPatterns(converter, patterns);
  lowering::populatePackingToLinalgPatterns(converter, patterns);
  lowering::populateBitLinearToLinalgPatterns(converter, patterns);
  lowering::populateKVCacheToLinalgPatterns(converter, patterns);
}
