//===- GPUKernelLibrary.h - Kernels for NVIDIA GPUs -------------*- C++ -*-===//
//
// The CUDA path as far as it goes today: BitLinear layer functions become
// NVPTX kernels (bitnet-bitlinear-to-gpu), every gpu.module is lowered
// through the gpu and nvvm dialects and serialized by gpu-module-to-binary
// to a cubin (or PTX), and the result is written as a kernel-library
// artifact (runtime/include/bitnet/Runtime/ArtifactFormat.h; `format=
// bitnet-gpu-kernels`) that the runtime's CUDA loader opens.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_TARGET_GPUKERNELLIBRARY_H
#define BITNET_TARGET_GPUKERNELLIBRARY_H

#include "mlir/IR/BuiltinOps.h"

#include <array>
#include <string>
#include <vector>

namespace mlir::bitnet {

struct GPUTargetOptions {
  /// NVVM chip, e.g. sm_90a, sm_90, sm_80.
  std::string arch = "sm_90a";
  /// PTX ISA features for the NVVM target.
  std::string features = "+ptx80";
  /// LLVM optimization level for the device code, 0-3.
  unsigned optLevel = 3;
  /// Generated kernels' launch shape (0: chosen by shape).
  int64_t rowsPerWarp = 0, warpsPerBlock = 0;
  /// Layers of 16 or more rows on tensor cores (where the arch has them).
  bool tensorCores = false;
  /// Those tensor-core kernels' block shapes (mma-warp-rows: 0 the fixed
  /// ones, 16 or 32 the block-shape search).
  int64_t mmaWarpRows = 16;
};

/// One kernel of a library: its name, launch shape and parameters.
struct GPUKernelInfo {
  std::string name;
  std::array<int32_t, 3> grid{1, 1, 1}, block{1, 1, 1};
  /// "M,N,K" for generated BitLinear kernels, empty otherwise.
  std::string layer;
  /// Comma-separated parameter names (bare pointers, in order).
  std::string params;
  /// The quantizer prologue ("absmean_int4", ...), empty if none.
  std::string prologue;
};

/// Whether `arch` names an NVVM chip we compile for (sm_XY or sm_XYa).
bool isValidGPUArch(const std::string &arch);

/// Runs bitnet-bitlinear-to-gpu on `module` (bitnet IR; hand-written
/// gpu.modules pass through) and records every kernel. Fails with the
/// pass's diagnostics.
LogicalResult generateGPUKernels(ModuleOp module,
                                 const GPUTargetOptions &options,
                                 std::vector<GPUKernelInfo> &kernels);

/// Lowers every gpu.module of `module` (after generateGPUKernels) to NVVM
/// and serializes it: PTX text with `ptx`, else a cubin (needs ptxas from
/// the CUDA toolkit). Exactly one gpu.module must exist; its bytes go to
/// `binary`.
LogicalResult serializeGPUModule(ModuleOp module,
                                 const GPUTargetOptions &options, bool ptx,
                                 std::string &binary, std::string &error);

/// Writes a kernel-library artifact (atomically): meta + code (the cubin,
/// what the runtime loads). False with `error` set on failure.
bool writeGPUKernelArtifact(const std::string &path,
                            const GPUTargetOptions &options,
                            const std::string &binary,
                            const std::vector<GPUKernelInfo> &kernels,
                            std::string &error);

} // namespace mlir::bitnet

#endif // BITNET_TARGET_GPUKERNELLIBRARY_H
