//===- BitLinearKernels.h - BitLinear GEMV kernel generator -----*- C++ -*-===//
//
// What the two users of the kernel generator share: bitnet-bitlinear-to-gpu
// (layer functions as a kernel library) and bitnet-launch-bitlinear-kernels
// (BitLinear ops of a whole model as launches). docs/GPU.md has the design.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_LIB_CONVERSION_BITNETTOGPU_BITLINEARKERNELS_H
#define BITNET_LIB_CONVERSION_BITNETTOGPU_BITLINEARKERNELS_H

#include "bitnet/Conversion/BitNetToGPU/BitNetToGPU.h"
#include "bitnet/Dialect/BitNet/IR/BitNetDialect.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include "llvm/ADT/StringSet.h"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

namespace mlir {
class DominanceInfo;
} // namespace mlir

namespace mlir::bitnet::gpu_kernels {

/// The activation quantizer a kernel runs as its prologue: absmax (INT8)
/// or absmean (INT4) codes of f32 activations, as the bitnet op defines them.
struct QuantPrologue {
  bool mean = false;
  int64_t bits = 8;
  double eps = 1e-5;
  EpsMode mode = EpsMode::add;
  MultForm form = MultForm::div;
};

/// One BitLinear layer: y[M, N] = x[M, K] * W[N, K]^T, from codes or, with
/// a prologue, from f32 activations quantized in the kernel.
struct LayerShape {
  int64_t m, n, k;
  std::optional<QuantPrologue> prologue;
  /// bitnet.gated_bitlinear: output n of row m is computed only where
  /// gate[m, n] > 0 (0 elsewhere), and a weight row only read if some
  /// activation row's gate opens it.
  bool gated = false;
  /// relu2_glu(gate, gated up) of two layers sharing x (kGPUGLUAttrName).
  bool glu = false;
  /// Weights in the bits2_cols layout: the column kernel, which reads only
  /// the columns of non-zero inputs (kGPUColumnsAttrName).
  bool columns = false;
  /// One weight scale per output row ([N] f32, not [1]): layers that share
  /// their input run as one kernel over their weights stacked row-wise
  /// (plain kernels only: no prologue, gate or GLU).
  bool rowScales = false;
};

/// The module's `gpu.module @bitnet_kernels`, created first in the module
/// (bitnet-merge-gpu-modules gathers outlined kernels into the first
/// gpu.module) or, with `atEnd`, last; the module becomes a GPU container.
inline gpu::GPUModuleOp getOrCreateKernelModule(ModuleOp module,
                                                bool atEnd = false) {
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  UnitAttr::get(module.getContext()));
  if (auto existing =
          module.lookupSymbol<gpu::GPUModuleOp>(kGPUKernelModuleName))
    return existing;
  OpBuilder top(module.getBodyRegion());
  if (atEnd)
    top.setInsertionPointToEnd(module.getBody());
  return gpu::GPUModuleOp::create(top, module.getLoc(), kGPUKernelModuleName);
}

/// Alignment of the buffers launch passes allocate (bufferization's
/// default): kernels after them may read 16-byte pieces.
inline constexpr int64_t kBufferAlignment = 64;
/// Threads in a warp.
inline constexpr int64_t kWarp = 32;
/// Weights in one 16-byte chunk a lane loads per row: K must be a multiple.
inline constexpr int64_t kChunkWeights = 64;
/// Up to this many activation rows, a lane's chunks are unrolled (decode).
inline constexpr int64_t kUnrollMaxRows = 2;
/// The most activation bytes a fused kernel keeps in shared memory.
inline constexpr int64_t kMaxFusedCodeBytes = 32 * 1024;

/// The launch shape of one kernel.
struct LaunchShape {
  int64_t rowsPerWarp, warpsPerBlock;
  int64_t threads() const { return warpsPerBlock * kWarp; }
  int64_t blocks(const LayerShape &s) const {
    return s.n / (rowsPerWarp * warpsPerBlock);
  }
};

/// The launch shape of a kernel with a quantizer prologue, which every
/// block pays once: 8 warps of 4 rows (best or within 10% of it for every
/// layer of the H200 sweep).
inline constexpr int64_t kPrologueRowsPerWarp = 4, kPrologueWarps = 8;

/// Rows per warp and warps per block; `rows` / `warps` > 0 override the
/// choice made from the shape.
LaunchShape chooseLaunch(const LayerShape &s, int64_t rows, int64_t warps);

/// The quantizer `op` is (absmax_quant or absmean_quant) as a kernel
/// prologue; std::nullopt for any other op.
std::optional<QuantPrologue> prologueOf(Operation *op);

/// A prologue the kernel's user builds (the residual add, RMSNorm and the
/// quantizer of a whole model: LaunchNormQuantizerKernel.cpp) in place of
/// the codes and scales parameters: the kernel takes `params` first and
/// keeps the codes [M, K] i8 and scales [M] f32 in its workgroup memory
/// 0 and 1, followed by `shared`. `build` (every thread of the block runs
/// it, after the weight loads are issued) writes them; a barrier follows.
struct ExternalPrologue {
  SmallVector<Type> params, shared;
  std::function<void(ImplicitLocOpBuilder &b, gpu::GPUFuncOp kernel,
                     Value codes, Value scales)>
      build;
};

/// The GEMV launch that can take a one-row quantizer's work as its
/// prologue (GemvPrologue.cpp): the dense kernel (plain, stacked or GLU) of
/// one activation row over K = d on byte weights, launched by
/// bitnet-launch-bitlinear-kernels, the only reader of `quant`'s codes
/// (besides `counter`, the importer's count, if any) and of its scales.
struct GemvUse {
  gpu::LaunchFuncOp launch;
  LayerShape shape;
  std::string name; // the GEMV kernel's
  // The views and to_buffer ops from the codes and from the scales to it.
  SmallVector<Operation *> codesChain, scalesChain;
};
std::optional<GemvUse> findGemvUse(Operation *quant, Operation *counter,
                                   int64_t d);

/// Whether the GEMV's operands after the codes and scales (its weights,
/// their scales, its output allocation) can be defined in front of
/// `before` (they are moved there by launchIntoGemv).
bool canHoistGemvOperands(GemvUse &use, Operation *before, DominanceInfo &dom);

/// Launches `kernel` (the GEMV with the prologue, launch shape `shape`) at
/// `b` on `prologueArgs` and the GEMV's other operands (moved in front of
/// `before`), and erases the GEMV launch and the views of the codes and
/// scales that fed it; the quantizer and its count are the caller's.
void launchIntoGemv(OpBuilder &b, Location loc, GemvUse &use,
                    gpu::GPUFuncOp kernel, const LaunchShape &shape,
                    ArrayRef<Value> prologueArgs, Operation *before,
                    DominanceInfo &dom);

/// Where a one-row prologue of `d` elements over `quant`'s codes can run:
/// the GEMV launch that reads them (findGemvUse), the launch shape the
/// fused kernel takes (blocks of kPrologueWarps warps of `rowsPerWarp`
/// rows) and the elements each of its threads holds; none if that is more
/// than `maxPerThread` or the GEMV's operands cannot move in front of
/// `before` (canHoistGemvOperands).
struct RowPrologueSite {
  GemvUse use;
  LaunchShape shape;
  int64_t perThread;
};
std::optional<RowPrologueSite>
findRowPrologueSite(Operation *quant, Operation *counter, int64_t d,
                    int64_t rowsPerWarp, int64_t maxPerThread,
                    Operation *before, DominanceInfo &dom);

/// launchIntoGemv for a prologue that reads one f32 row of `d` elements:
/// its arguments are `row` (as [1, d]) and, with `counter`, a fresh count
/// buffer that then takes the counter's place.
void launchRowIntoGemv(OpBuilder &b, Location loc, GemvUse &use,
                       gpu::GPUFuncOp kernel, const LaunchShape &shape,
                       Value row, int64_t d, Operation *counter,
                       Operation *before, DominanceInfo &dom);

/// Erases the kernels of `gpuModule` named in `names` that nothing in
/// `module` launches any more.
void eraseUnusedKernels(ModuleOp module, gpu::GPUModuleOp gpuModule,
                        const llvm::StringSet<> &names);

/// Builds the dense kernel for `s` (plain, gated or GLU; not the column
/// kernel) as a gpu.func named `name` at the end of `gpuModule`, with the
/// launch shape and layer recorded as attributes. Parameters: codes [M, K]
/// i8 and scales [M] f32 (or, with a prologue, the f32 activations [M, K]);
/// the weights and their scale [1] f32 (twice for GLU); the gate [M, N]
/// (gated); the output [M, N] f32. With `rowScales` the weight scale is
/// [N] f32, one per output row. The weights are [N, K/16] i32 words, or
/// with `byteWeights` the packed bytes [N, K/4] i8 as the model's tensors
/// hold them.
/// With `external` (no `s.prologue`), its parameters replace the codes
/// and scales.
gpu::GPUFuncOp buildLayerKernel(gpu::GPUModuleOp gpuModule, Location loc,
                                StringRef name, const LayerShape &s,
                                const LaunchShape &launch,
                                bool byteWeights = false,
                                const ExternalPrologue *external = nullptr);

/// A kernel gpu.func named `name` at the end of `gpuModule` with workgroup
/// attributions `shared`, its block size, grid and layer recorded as
/// attributes; `b` is left at the start of its body.
gpu::GPUFuncOp createKernel(ImplicitLocOpBuilder &b, StringRef name,
                            gpu::GPUModuleOp gpuModule, ArrayRef<Type> params,
                            ArrayRef<Type> shared, int64_t threads,
                            int64_t blocks, const LayerShape &s);

/// The tensor-core kernel (BitLinearMma.cpp): mma.sync m16n8k32 on s8
/// codes and u8 weight codes, K in chunks of kMmaChunkK.
inline constexpr int64_t kMmaChunkK = 128;
/// The most activation rows (a multiple of 16) a block computes.
inline constexpr int64_t kMmaTileRows = 64;

/// Its block: warpsN x warpsK warps, 16 weight rows a warp, the K-groups
/// taking every warpsK-th chunk of K; tileM of the M rows (the grid's y
/// dimension takes M / tileM tiles of rows).
struct MmaLaunch {
  /// Warps over the weight rows and over K; activation rows a block; n8
  /// tiles of weight rows a warp (2: 16 rows, 4: 32).
  int64_t warpsN = 2, warpsK = 4, tileM = 16, tilesN = 2;
  int64_t threads() const { return warpsN * warpsK * kWarp; }
  int64_t blockRows() const { return 8 * tilesN * warpsN; }
  int64_t blocks(int64_t n) const { return n / blockRows(); }
  int64_t rowTiles(int64_t m) const { return m / tileM; }
};
/// `warpRows`: 0, the fixed shapes (16 rows a warp, 2 or 4 warps over N);
/// 16 or 32, the block-shape search at that many rows a warp (8 or 4 warps
/// over N, the most rows a block that still fill the GPU).
MmaLaunch chooseMmaLaunch(const LayerShape &s, int64_t warpRows = 0);

/// Whether the tensor-core kernel computes `s`: a plain or stacked layer
/// (no prologue, gate or GLU), M a multiple of 16, K a multiple of
/// kMmaChunkK, N a multiple of 16.
bool takesMmaKernel(const LayerShape &s);

/// Builds it for `s` as `name`: the parameters of buildLayerKernel with
/// byte weights (codes [M, K] i8, scales [M] f32, packed bytes [N, K/4] i8,
/// weight scale [1] or per row [N] f32, out [M, N] f32); the grid and block
/// of chooseMmaLaunch(s). The same outputs as the GEMV kernel, bit for bit
/// (exact integer sums, the same scaling). `stagesAhead` stages of loads
/// (weights and codes, in registers) are in flight ahead of the stage
/// being computed.
gpu::GPUFuncOp buildMmaLayerKernel(gpu::GPUModuleOp gpuModule, Location loc,
                                   StringRef name, const LayerShape &s,
                                   int64_t stagesAhead, int64_t warpRows = 0);

/// |v| of an f32 by clearing the sign bit (math.absf would become a
/// libdevice call, which ptxas cannot resolve without libdevice linked).
Value absBySignBit(ImplicitLocOpBuilder &b, Value v);

/// An activation code: clip(roundeven(v), lo, hi) as i8, the reference's
/// roundClampToI8 (llvm.rint in the default rounding mode is one cvt.rni;
/// math.roundeven would become a libdevice call).
Value roundClampCode(ImplicitLocOpBuilder &b, Value v, Value lo, Value hi);

/// Threads and elements a thread for a kernel that holds a row of `d`
/// elements in one block: at least 4 elements a thread (fewer threads to
/// reduce over), a whole number of warps, at most 1024 threads.
inline std::pair<int64_t, int64_t> rowBlockShape(int64_t d) {
  int64_t quarter = (d + 3) / 4;
  int64_t threads = std::min<int64_t>(
      std::max<int64_t>((quarter + kWarp - 1) / kWarp * kWarp, kWarp), 1024);
  return {threads, (d + threads - 1) / threads};
}

/// The elements of a row of `d` that thread `tid` of a `threads`-thread
/// block holds: column `tid + threads * j` for j < perThread (a warp's
/// loads are coalesced), whether it is inside the row, and the column
/// clamped to d - 1 (safe to load where it is not).
struct RowSlots {
  SmallVector<Value> cols, inBounds, safeCols;
};
RowSlots buildRowSlots(ImplicitLocOpBuilder &b, Value tid, int64_t threads,
                       int64_t perThread, int64_t d);

/// `v` (32 or 64 bits) from lane `lane ^ offset` of the warp.
Value shuffleXor(ImplicitLocOpBuilder &b, Value v, int32_t offset);

/// Every thread's `partial` combined over the block by `combine`
/// (associative, commutative): a warp shuffle tree, then each warp's value
/// in `shared` ([>= warps], the partial's type) and, after a barrier, every
/// thread combining the `warps` values in the same order: the same result
/// in every thread.
Value blockCombine(ImplicitLocOpBuilder &b, Value partial, Value shared,
                   int64_t warps,
                   llvm::function_ref<Value(Value, Value)> combine);

/// The activation quantizer of one row of `d` elements that a block holds
/// in registers, as bitnet.absmax_quant (or, with `q.mean`,
/// bitnet.absmean_quant) defines it: `values[j]` (taking part where
/// `inBounds[j]`) belongs at column `cols[j]` of `row`. The block's
/// statistic (max |x| in f32, or sum |x| in f64 then / d rounded to f32;
/// `warpStat` is shared memory of that type [>= warps]), the multiplier
/// and scale of buildQuantMultiplierAndScale, then codes =
/// clip(roundeven(x * mult), -Q - 1, Q) into `codes` [rows, d] i8 and the
/// scale into `scales` [rows].
/// With `counts` ([rows] i32), the row's non-zero codes are counted into
/// counts[row] as well: thread 0 zeroes it before the statistic's barrier,
/// each warp adds its lanes' counts with one atomic add; with
/// `countsGuard` (i1), only where it holds (one block of several that
/// quantize the same row).
void buildBlockQuantize(ImplicitLocOpBuilder &b, ArrayRef<Value> values,
                        ArrayRef<Value> inBounds, ArrayRef<Value> cols,
                        Value row, Value warpStat, int64_t warps, int64_t d,
                        Value codes, Value scales, const QuantPrologue &q,
                        Value counts = Value(), Value countsGuard = Value());

/// The importer's count of a quantizer's non-zero codes per row (for the
/// sparsity table: ImportOptions::countActivationNonzeros), when one reads
/// `quant`'s codes: a linalg.generic summing `code != 0` as i32 over the
/// last dimension into a zero fill, of codes of rank >= 2. Null otherwise.
Operation *findNonzeroCounter(Operation *quant);

/// A [rows] i32 buffer for a kernel's per-row counts, allocated at `b`.
Value allocCountBuffer(OpBuilder &b, Location loc, int64_t rows);

/// Replaces `counter`'s result with `counts` ([rows] i32, written by the
/// kernel) in its shape, at the counter, and erases it (and its fill, if
/// unused).
void replaceNonzeroCounter(Location loc, Operation *counter, Value counts,
                           int64_t rows);

/// Numbers the distinct quantizer parameters (bits, eps and its forms) a
/// pass meets, in order: kernels of one shape but other parameters get
/// another name.
class QuantizerVariants {
public:
  /// "" for the first parameters met, "_<n>" for the n-th other ones.
  std::string suffix(const QuantPrologue &q);

private:
  std::map<std::tuple<bool, int64_t, double, int, int>, int> ids;
};

/// For a kernel that quantizes a quantizer op's rows itself: 64-byte aligned buffers
/// for its codes [rows, d] i8 and scales [rows] f32, allocated at `b`.
std::pair<Value, Value> allocQuantizerBuffers(OpBuilder &b, Location loc,
                                              int64_t rows, int64_t d);

/// Replaces `op`'s results with those buffers (as tensors in the op's
/// shapes) once the kernel has written them, and erases `op`.
void replaceQuantizerResults(OpBuilder &b, Location loc, Operation *op,
                             Value codes, Value scales, int64_t rows,
                             int64_t d);

/// `value` (static shape, `shape.size()` <= its rank, or rank 0 to [1]) as
/// a tensor of `shape`: the leading dimensions collapsed into the first.
Value reshapeTo(OpBuilder &b, Location loc, Value value,
                ArrayRef<int64_t> shape);

/// A kernel's result [M, N] in an op's result shape [.., N] (the leading
/// dimensions expanded from the first).
Value expandTo(OpBuilder &b, Location loc, Value value, RankedTensorType type);

} // namespace mlir::bitnet::gpu_kernels

#endif // BITNET_LIB_CONVERSION_BITNETTOGPU_BITLINEARKERNELS_H
