//===- Pipelines.h - The staged compilation pipeline ------------*- C++ -*-===//
//
// One table of phases, in order; bitnet-compile's --emit= and bitnet-opt's
// named pipelines both come from it (as iree-compile's --compile-to does).
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_PIPELINES_PIPELINES_H
#define BITNET_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringRef.h"

namespace mlir::bitnet {

/// The phases of the CPU reference path, in order. Each phase's passes take
/// the module from the end of the previous phase to the end of this one.
enum class Phase {
  /// Parsed and verified input: bitnet ops on tensors.
  BitNet,
  /// Every bitnet op lowered to linalg/tensor/arith/math (the reference).
  Linalg,
  /// Bufferized and lowered to the LLVM dialect.
  LLVM,
};

struct PhaseInfo {
  Phase phase;
  llvm::StringRef name;        // as in --emit=<name>
  llvm::StringRef description; // one line for --help
  llvm::StringRef pipeline;    // textual pass pipeline on builtin.module
};

/// The phase table, in order.
llvm::ArrayRef<PhaseInfo> getPhases();

/// Adds the passes that take a module from the end of phase `from` to the end
/// of phase `to` (from < to). Fails (with a message on `errorStream`) if a
/// pipeline does not parse.
/// With `ukernels` (for code the runtime loads, not for JIT or standalone
/// objects), tagged contractions become calls of the runtime's kernels
/// after bufferization (bitnet-lower-ukernels) and each top-level loop nest
/// its own function (bitnet-outline-loops).
LogicalResult buildPipeline(OpPassManager &pm, Phase from, Phase to,
                            llvm::raw_ostream &errorStream,
                            bool ukernels = false);

/// The whole-model CUDA path from the end of the linalg phase: bufferized,
/// every linalg op a grid of threads over its parallel dimensions
/// (bitnet-map-loops-to-gpu), outlined into kernels compiled for `arch`
/// (sm_90a, ...) to cubins embedded in the host code, which is lowered to
/// the LLVM dialect. The host code calls MLIR's `mgpu*` runtime entry
/// points and allocates through `_mlir_memref_to_llvm_alloc`; the bitnet
/// runtime provides both (device-accessible memory).
/// For sm_90 and later every kernel waits for its predecessor itself
/// (bitnet-dependent-launch).
struct CudaModelPipelineOptions {
  /// Reductions of at least this many elements (and few outputs) are split
  /// into parallel partials (bitnet-split-reductions); 0 leaves every
  /// reduction on one thread per output.
  int64_t splitMinSize = 256;
  /// Runs of consecutive launches of at most this many threads each become
  /// one single-block kernel (bitnet-fuse-small-launches; 0: every launch
  /// stays its own kernel), those whose threads loop only while a merged
  /// thread runs at most `fuseMaxWork` iterations for them.
  int64_t fuseMaxThreads = 4096;
  int64_t fuseMaxWork = 64;
  /// A merged kernel's stages are separated by a barrier only where they
  /// share memory (bitnet-fuse-small-launches' elide-barriers).
  bool fuseElideBarriers = true;
  /// A one-block launch runs inside the kernel launched after it, each of
  /// whose blocks repeats its work (bitnet-fuse-launch-into-consumer).
  bool fuseIntoConsumer = true;
  /// Reductions of at least 256 elements and at most this many outputs run
  /// as one block of threads per output, neighbours in one launch
  /// (bitnet-block-reductions; 0: off), ahead of the split.
  int64_t blockMaxOutputs = 256;
  /// Those a block does not take, at least this long, run as one warp per
  /// output (0: off).
  int64_t warpMinSize = 32;
  /// sm_90+: kernels ask L2 for the weights they declare before they wait
  /// (bitnet-dependent-launch's prefetch).
  bool prefetchWeights = true;
  /// sm_90+: a GEMV's weight loads ahead of its other memory accesses go
  /// before the wait (bitnet-dependent-launch's early-loads).
  bool earlyWeightLoads = true;
  /// The device code as PTX text (gpu-module-to-binary's isa format)
  /// instead of cubins.
  bool ptx = false;
};
LogicalResult buildCudaModelPipeline(OpPassManager &pm, llvm::StringRef arch,
                                     unsigned optLevel,
                                     llvm::raw_ostream &errorStream,
                                     const CudaModelPipelineOptions &options =
                                         CudaModelPipelineOptions());

/// Whether kernels for `arch` ("sm_90a", ...) can use programmatic
/// dependent launch (griddepcontrol: sm_90 and later).
bool gpuArchSupportsDependentLaunch(llvm::StringRef arch);

/// Registers `bitnet-reference-to-llvm` (bitnet ops to the LLVM dialect).
void registerBitNetPipelines();

/// Registers every pass and pipeline of the project (bitnet transforms,
/// conversions, pipeline passes, named pipelines). Idempotent.
void registerAllBitNetPasses();

} // namespace mlir::bitnet

#endif // BITNET_PIPELINES_PIPELINES_H
