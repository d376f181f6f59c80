//===- BitNetToGPU.h - BitLinear layers as NVPTX kernels --------*- C++ -*-===//

#ifndef BITNET_CONVERSION_BITNETTOGPU_BITNETTOGPU_H
#define BITNET_CONVERSION_BITNETTOGPU_BITNETTOGPU_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace mlir::bitnet {

#define GEN_PASS_DECL_BITNETBITLINEARTOGPU
#define GEN_PASS_DECL_BITNETLAUNCHBITLINEARKERNELS
#define GEN_PASS_DECL_BITNETLAUNCHLMHEADKERNEL
#define GEN_PASS_DECL_BITNETLAUNCHTOPKKERNEL
#define GEN_PASS_DECL_BITNETLAUNCHATTENTIONKERNEL
#define GEN_PASS_DECL_BITNETLAUNCHQUANTIZERKERNEL
#define GEN_PASS_DECL_BITNETLAUNCHNORMQUANTIZERKERNEL
#define GEN_PASS_DECL_BITNETGATHERROWCOUNTS
#include "bitnet/Conversion/Passes.h.inc"

/// The module that holds the generated kernels.
inline constexpr llvm::StringLiteral kGPUKernelModuleName = "bitnet_kernels";
/// The grid a generated kernel is launched with (DenseI32ArrayAttr, x/y/z).
inline constexpr llvm::StringLiteral kGPUGridSizeAttrName = "bitnet.grid_size";
/// M, N, K of the BitLinear layer a generated kernel computes
/// (DenseI64ArrayAttr).
inline constexpr llvm::StringLiteral kGPULayerAttrName = "bitnet.layer";
/// The activation quantizer a generated kernel runs as its prologue, as
/// "absmax_intB" or "absmean_intB" (StringAttr); absent: the kernel takes
/// codes and their scales.
inline constexpr llvm::StringLiteral kGPUPrologueAttrName = "bitnet.prologue";
/// Present (UnitAttr) on a gated kernel (bitnet.gated_bitlinear): it takes
/// the gate [M, N] f32 before its output and reads only the weight rows
/// some activation row's gate opens (gate-first sparsity).
inline constexpr llvm::StringLiteral kGPUGatedAttrName = "bitnet.gated";
/// Present (UnitAttr) on a gate-first ReLU2-GLU kernel: it computes
/// relu2_glu(gate, gated up) of two BitLinear layers sharing their input
/// (parameters x, x_scale, weight, weight_scale, weight_up,
/// weight_scale_up, out) and reads an up row only where its gate is open.
inline constexpr llvm::StringLiteral kGPUGLUAttrName = "bitnet.glu";
/// Present (UnitAttr) on a column kernel: its weights are in the bits2_cols
/// layout ([K, ceil(N / 256), 64] bytes) and it reads only the columns of
/// non-zero inputs (parameters x, x_scale, weight, weight_scale, out; M = 1).
inline constexpr llvm::StringLiteral kGPUColumnsAttrName = "bitnet.columns";

/// Declares that gpu.launch_func reads and writes its memref operands (and
/// nothing else). bitnet-launch-bitlinear-kernels creates launches before
/// bufferization and buffer deallocation, which refuse ops with unknown
/// effects. Every tool that runs that pass registers it.
void registerLaunchFuncMemoryEffects(DialectRegistry &registry);

} // namespace mlir::bitnet

#endif // BITNET_CONVERSION_BITNETTOGPU_BITNETTOGPU_H
