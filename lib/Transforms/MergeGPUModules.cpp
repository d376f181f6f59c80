//===- MergeGPUModules.cpp - One gpu.module, each distinct kernel once ----===//
//
// See the pass description in Passes.td: fewer ptxas runs and a smaller
// binary for models whose layers repeat their kernels.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

#include "llvm/ADT/StringMap.h"

#include <cctype>

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETMERGEGPUMODULES
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

namespace {

/// The kernel's text with its name left out.
std::string textWithoutName(gpu::GPUFuncOp func) {
  StringAttr name = SymbolTable::getSymbolName(func);
  SymbolTable::setSymbolName(func, "kernel");
  std::string text;
  llvm::raw_string_ostream os(text);
  func->print(os, OpPrintingFlags().useLocalScope().elideLargeElementsAttrs(
                      std::numeric_limits<int64_t>::max()));
  SymbolTable::setSymbolName(func, name);
  return text;
}

/// The op a kernel came from, as a symbol-safe suffix: the first name in
/// its location (the ONNX node, e.g. "/blocks.0/attn/MatMul" gives
/// "blocks_0_attn_MatMul"), at most 48 characters; "" without one.
std::string sourceSuffix(Location loc) {
  std::string name;
  LocationAttr(loc).walk([&](Location l) {
    if (auto named = dyn_cast<NameLoc>(l)) {
      name = named.getName().str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  std::string out;
  for (char c : name) {
    bool word = std::isalnum(static_cast<unsigned char>(c));
    if (word)
      out.push_back(c);
    else if (!out.empty() && out.back() != '_')
      out.push_back('_');
  }
  while (!out.empty() && out.back() == '_')
    out.pop_back();
  if (out.size() > 48)
    out.resize(48);
  return out;
}

struct BitNetMergeGPUModulesPass
    : mlir::bitnet::impl::BitNetMergeGPUModulesBase<BitNetMergeGPUModulesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto modules = llvm::to_vector(module.getOps<gpu::GPUModuleOp>());
    if (modules.empty())
      return;
    gpu::GPUModuleOp target = modules.front();
    MLIRContext *context = module.getContext();
    // (module, kernel) -> the kernel in `target` that launches now call.
    llvm::StringMap<StringAttr> moved;
    llvm::StringMap<StringAttr> byText;
    // Copies of a kernel that the first module itself holds (passes that
    // build kernels there may build one a layer).
    SmallVector<gpu::GPUFuncOp> duplicates;
    auto key = [](StringRef mod, StringRef kernel) {
      return (mod + "::" + kernel).str();
    };
    for (gpu::GPUModuleOp gpuModule : modules) {
      bool outlined = llvm::hasSingleElement(gpuModule.getOps<gpu::GPUFuncOp>());
      for (auto func :
           llvm::make_early_inc_range(gpuModule.getOps<gpu::GPUFuncOp>())) {
        std::string from = key(gpuModule.getName(), func.getName());
        auto [it, inserted] =
            byText.try_emplace(textWithoutName(func), StringAttr());
        if (!inserted) {
          moved[from] = it->second; // the same kernel, already in target
          if (gpuModule == target)
            duplicates.push_back(func);
          continue;
        }
        StringAttr name = SymbolTable::getSymbolName(func);
        if (gpuModule != target) {
          // An outlined kernel (alone in its module, all named alike) takes
          // its module's name, unique among the module's symbols; a module
          // of several kernels keeps their names.
          if (outlined) {
            std::string suffix = sourceSuffix(func.getLoc());
            name = StringAttr::get(context, gpuModule.getName() +
                                                (suffix.empty() ? "" : "__") +
                                                suffix);
          }
          if (target.lookupSymbol(name)) {
            gpuModule.emitError("cannot merge: '")
                << name.getValue() << "' is taken in the first gpu.module";
            return signalPassFailure();
          }
          func->moveBefore(target.getBody(), target.getBody()->end());
          SymbolTable::setSymbolName(func, name);
        }
        it->second = name;
        moved[from] = name;
      }
    }
    WalkResult walk = module.walk([&](gpu::LaunchFuncOp launch) {
      auto found = moved.find(
          key(launch.getKernelModuleName(), launch.getKernelName()));
      if (found == moved.end()) {
        launch.emitError("launches a kernel no gpu.module defines");
        return WalkResult::interrupt();
      }
      launch.setKernelAttr(SymbolRefAttr::get(
          target.getNameAttr(), {FlatSymbolRefAttr::get(found->second)}));
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();
    for (gpu::GPUModuleOp gpuModule : llvm::drop_begin(modules))
      gpuModule.erase();
    for (gpu::GPUFuncOp func : duplicates)
      func.erase();
  }
};

} // namespace
