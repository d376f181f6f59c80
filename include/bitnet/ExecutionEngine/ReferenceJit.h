//===- ReferenceJit.h - JIT bitnet IR through the reference path -*- C++ -*-===//
//
// Parses bitnet IR, lowers it with the phase table (reference lowering, then
// LLVM) and JIT-compiles it for the host CPU with MLIR's ExecutionEngine. The
// numerics tests and `bitnet-run` on .mlir input both run through here.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_EXECUTIONENGINE_REFERENCEJIT_H
#define BITNET_EXECUTIONENGINE_REFERENCEJIT_H

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>
#include <vector>

namespace mlir::bitnet {

/// A context with every dialect, extension and translation the reference
/// path needs, and every pass registered (once per process).
std::unique_ptr<MLIRContext> createReferenceContext();

struct ReferenceJitOptions {
  /// LLVM optimization level of the JIT-compiled code.
  unsigned optLevel = 2;
  /// Shared libraries to load (e.g. libmlir_runner_utils.so for printing).
  std::vector<std::string> sharedLibPaths;
};

/// Parses `source`, lowers it to LLVM and JIT-compiles it. Diagnostics are
/// returned in the error. Functions meant to be called from C++ need the
/// `llvm.emit_c_interface` attribute; call them with `engine.invoke(name,
/// &memref...)`.
llvm::Expected<std::unique_ptr<ExecutionEngine>>
compileReferenceJit(MLIRContext &context, llvm::StringRef source,
                    const ReferenceJitOptions &options = {});

/// The same for a module already in memory (e.g. imported from ONNX); the
/// module is lowered in place.
llvm::Expected<std::unique_ptr<ExecutionEngine>>
compileReferenceJit(ModuleOp module, const ReferenceJitOptions &options = {});

} // namespace mlir::bitnet

#endif // BITNET_EXECUTIONENGINE_REFERENCEJIT_H
