//===- HostObject.h - LLVM-dialect modules to LLVM IR and objects -*- C++ -*-===//
//
// The last two stages of the CPU path: translate an LLVM-dialect module to
// LLVM IR, optimize it for a CPU, and emit an object file.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_TARGET_HOSTOBJECT_H
#define BITNET_TARGET_HOSTOBJECT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <string>
#include <vector>

namespace mlir::bitnet {

struct CPUTargetOptions {
  /// LLVM CPU name, or "native" for the host CPU and its features.
  std::string cpu = "native";
  /// LLVM optimization level, 0-3.
  unsigned optLevel = 2;
  /// LLVM's SLP vectorizer. Off by default: the hot loops are the runtime's
  /// kernels, and on a 2B4T model's long straight-line step functions it
  /// took 14 of 69 s of compile CPU time (its block scheduling is quadratic
  /// in a block's length) for no measured speed.
  bool slpVectorize = false;
  /// Model code is emitted as this many objects (llvm::SplitModule
  /// partitions), code-generated on parallel threads; 1: one object. A fixed
  /// count, not the core count, so the artifact does not depend on the
  /// machine that compiled it.
  unsigned codegenPartitions = 4;
};

/// Translates `module` (LLVM dialect only) to LLVM IR for the x86-64 CPU in
/// `options` (its data layout and triple), unoptimized. Returns null and
/// sets `error` on failure.
std::unique_ptr<llvm::Module>
translateToLLVMIR(ModuleOp module, llvm::LLVMContext &llvmContext,
                  const CPUTargetOptions &options, std::string &error);

/// Translates `module` (LLVM dialect only) to optimized LLVM IR for the
/// x86-64 CPU in `options`. Returns null and sets `error` on failure.
std::unique_ptr<llvm::Module>
translateToOptimizedLLVMIR(ModuleOp module, llvm::LLVMContext &llvmContext,
                           const CPUTargetOptions &options, std::string &error);

/// Emits an ELF object for `llvmModule` (from translateToOptimizedLLVMIR).
LogicalResult emitObject(llvm::Module &llvmModule,
                         const CPUTargetOptions &options,
                         llvm::raw_pwrite_stream &os, std::string &error);

/// Optimizes `llvmModule` (from translateToLLVMIR) as
/// translateToOptimizedLLVMIR does and emits it as `outs.size()` ELF objects
/// to link together: the module's llvm::SplitModule partitions (local
/// symbols externalized as hidden), each optimized and code-generated in its
/// own LLVMContext on a thread of its own, up to the machine's core count at
/// a time. Consumes the module's contents. The partitions are optimized
/// apart: a function is inlined only into callers of its own partition (a
/// model's loop bodies are noinline and its step functions too large to
/// inline, so its code does not change).
LogicalResult emitOptimizedObjects(llvm::Module &llvmModule,
                                   const CPUTargetOptions &options,
                                   llvm::ArrayRef<llvm::raw_pwrite_stream *> outs,
                                   std::string &error);

/// The LLVM CPU name `options` resolves to ("native": the host's).
std::string resolvedCPUName(const CPUTargetOptions &options);

/// Which of `candidates` (LLVM feature names, e.g. "avx512vnni") code
/// compiled with `options` may use. False with `error` for an unknown CPU.
bool enabledCPUFeatures(const CPUTargetOptions &options,
                        const std::vector<std::string> &candidates,
                        std::vector<std::string> &enabled, std::string &error);

} // namespace mlir::bitnet

#endif // BITNET_TARGET_HOSTOBJECT_H
