//===- bitnet-opt.cpp - The pass-testing tool -----------------------------===//
//
// mlir-opt with the bitnet dialect, passes and pipelines registered beside
// every upstream dialect and pass.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Conversion/Passes.h"
#include "bitnet/Dialect/BitNet/IR/BitNetDialect.h"
#include "bitnet/Dialect/BitNet/Transforms/Passes.h"
#include "bitnet/Pipelines/Pipelines.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::bitnet::registerAllBitNetPasses();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<mlir::bitnet::BitNetDialect>();
  mlir::bitnet::registerLaunchFuncMemoryEffects(registry);
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "bitnet-opt: the bitnet-mlir pass-testing tool\n", registry));
}
