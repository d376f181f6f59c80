//===- Pipelines.cpp - The staged compilation pipeline --------------------===//

#include "bitnet/Pipelines/Pipelines.h"

#include "bitnet/Conversion/Passes.h"
#include "bitnet/Dialect/BitNet/Transforms/Passes.h"
#include "bitnet/Transforms/Passes.h"

#include "mlir/Pass/PassRegistry.h"

#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"

using namespace mlir;
using namespace mlir::bitnet;

/// Bufferization, shared by the CPU and the CUDA paths.
#define BITNET_BUFFERIZE                                                       \
  "one-shot-bufferize{bufferize-function-boundaries "                          \
  "function-boundary-type-conversion=identity-layout-map},"                    \
  "buffer-deallocation-pipeline,convert-bufferization-to-memref,"

static const PhaseInfo kPhases[] = {
    {Phase::BitNet, "bitnet", "parsed and verified bitnet IR", ""},
    {Phase::Linalg, "linalg",
     "the reference lowering: linalg/tensor/arith/math",
     "bitnet-fold-weights,bitnet-convert-to-linalg,"
     "func.func(convert-elementwise-to-linalg),"
     "canonicalize,cse,bitnet-data-movement-to-generics,bitnet-fuse-elementwise,"
     "canonicalize,cse"},
    {Phase::LLVM, "llvm-dialect", "bufferized, lowered to the LLVM dialect",
     // Per-layer output chains as concats: bufferization's analysis is
     // cubic in a chain's length (2B4T: 20 s of a 21 s pass).
     "bitnet-insert-chains-to-concat,"
     BITNET_BUFFERIZE
     // Constants' globals in an order that does not vary between runs.
     "bitnet-sort-globals,"
     // Free each temporary after its last use. On the CPU only: CUDA steps
     // allocate from an arena whose frees do nothing, so the GPU pipeline
     // would gain nothing from it.
     "bitnet-dealloc-after-last-use,"
     "bitnet-memref-copy-to-linalg,convert-linalg-to-loops,lower-affine,convert-scf-to-cf,"
     "expand-strided-metadata,lower-affine,finalize-memref-to-llvm,"
     "convert-math-to-llvm,"
     "convert-math-to-libm,"
     "convert-arith-to-llvm,convert-index-to-llvm,convert-cf-to-llvm,"
     "convert-func-to-llvm,reconcile-unrealized-casts"},
};

ArrayRef<PhaseInfo> mlir::bitnet::getPhases() { return kPhases; }

LogicalResult mlir::bitnet::buildPipeline(OpPassManager &pm, Phase from,
                                          Phase to, raw_ostream &errorStream,
                                          bool ukernels) {
  for (const PhaseInfo &info : kPhases) {
    if (info.phase <= from || info.phase > to || info.pipeline.empty())
      continue;
    std::string pipeline = info.pipeline.str();
    // Artifacts' edits of the phase's pipeline: `text` in place of, before
    // or after the `anchor` pass, where the phase has it.
    enum class At { Replace, Before, After };
    auto edit = [&](StringRef anchor, StringRef text, At at) {
      size_t pos = pipeline.find(anchor.str());
      if (pos == std::string::npos)
        return;
      if (at == At::Replace)
        pipeline.replace(pos, anchor.size(), text.str());
      else
        pipeline.insert(at == At::Before ? pos : pos + anchor.size(),
                        text.str());
    };
    if (ukernels) {
      edit("convert-bufferization-to-memref,", "bitnet-lower-ukernels,",
           At::After);
      // Artifacts hold whole models: keep LLVM's functions small. Linalg's
      // parallel dimensions become tasks the runtime spreads over its
      // threads (bitnet-lower-parallel-tasks, once all is LLVM dialect).
      edit("convert-linalg-to-loops,",
           "convert-linalg-to-parallel-loops,"
           "bitnet-outline-loops{parallel-tasks=true},"
           "scf-parallel-for-to-nested-fors,",
           At::Replace);
      edit("convert-func-to-llvm,", "bitnet-lower-parallel-tasks,", At::After);
      // Softmax's and SiLU's exp as arithmetic LLVM vectorizes, not a libm
      // call per element (artifacts only: the reference keeps libm).
      edit("convert-math-to-llvm,", "bitnet-polynomial-exp,", At::Before);
      // The runtime recycles a step's buffers (HostStepMemory.h): they go
      // through its _mlir_memref_to_llvm_alloc / _free.
      edit("finalize-memref-to-llvm,",
           "finalize-memref-to-llvm{use-generic-functions},", At::Replace);
    }
    if (failed(parsePassPipeline(pipeline, pm, errorStream)))
      return failure();
  }
  return success();
}

/// The CUDA toolkit whose ptxas and libdevice (the math functions kernels
/// call) serialize the device code: $CUDA_HOME, $CUDA_PATH or $CUDA_ROOT,
/// else the toolkit of the ptxas on PATH, else /usr/local/cuda.
static std::string cudaToolkitPath() {
  for (const char *var : {"CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"})
    if (std::optional<std::string> v = llvm::sys::Process::GetEnv(var))
      if (!v->empty())
        return *v;
  if (llvm::ErrorOr<std::string> ptxas = llvm::sys::findProgramByName("ptxas"))
    return llvm::sys::path::parent_path(llvm::sys::path::parent_path(*ptxas))
        .str();
  return "/usr/local/cuda";
}

bool mlir::bitnet::gpuArchSupportsDependentLaunch(StringRef arch) {
  unsigned major = 0;
  // "sm_90", "sm_90a", "sm_100": the digits before the last one.
  StringRef digits = arch;
  if (!digits.consume_front("sm_"))
    return false;
  digits = digits.take_while([](char c) { return c >= '0' && c <= '9'; });
  return digits.size() >= 2 && !digits.drop_back().getAsInteger(10, major) &&
         major >= 9;
}

LogicalResult
mlir::bitnet::buildCudaModelPipeline(OpPassManager &pm, StringRef arch,
                                     unsigned optLevel,
                                     raw_ostream &errorStream,
                                     const CudaModelPipelineOptions &options) {
  const int64_t splitMinSize = options.splitMinSize;
  const int64_t fuseMaxThreads = options.fuseMaxThreads;
  const int64_t blockMaxOutputs = options.blockMaxOutputs;
  int64_t warpMinSize = options.warpMinSize;
  // Long reductions of few outputs: one block of threads per output with a
  // tree reduction (one short kernel) where they qualify, else split into
  // partials (two kernels of serial loops).
  const int64_t blockMinSize = 256;
  // A reduction no block takes (many outputs: attention's products over
  // the cache) runs as a warp per output, lanes over the reduction.
  if (blockMaxOutputs <= 0)
    warpMinSize = 0;
  std::string blockSizes = "min-size=" + std::to_string(blockMinSize) +
                           " max-outputs=" + std::to_string(blockMaxOutputs) +
                           " warp-min-size=" + std::to_string(warpMinSize);
  std::string split =
      splitMinSize > 0
          ? "func.func(bitnet-split-reductions{min-size=" +
                std::to_string(splitMinSize) +
                " block-min-size=" + std::to_string(blockMinSize) +
                " block-max-outputs=" + std::to_string(blockMaxOutputs) +
                " warp-min-size=" + std::to_string(warpMinSize) + "}),"
          : "";
  std::string block = blockMaxOutputs > 0
                          ? "bitnet-block-reductions{" + blockSizes + "},"
                          : "";
  // Launches whose work is far below a launch's cost run back to back in
  // one block (sizes folded to constants first).
  std::string fuse =
      fuseMaxThreads > 0
          ? "canonicalize,bitnet-fuse-small-launches{max-threads=" +
                std::to_string(fuseMaxThreads) +
                " max-work=" + std::to_string(options.fuseMaxWork) +
                " elide-barriers=" +
                (options.fuseElideBarriers ? "true" : "false") + "},"
          : "";
  // sm_90 and later: launches overlap the previous kernel's tail
  // (programmatic dependent launch; the runtime sets the launch attribute
  // for artifacts whose kernels wait for their predecessor); GEMV kernels
  // ask L2 for their weights before they wait.
  std::string dependentLaunch =
      gpuArchSupportsDependentLaunch(arch)
          ? std::string("bitnet-dependent-launch{prefetch=") +
                (options.prefetchWeights ? "true" : "false") +
                " early-loads=" + (options.earlyWeightLoads ? "true" : "false") +
                "},"
          : "";
  // Kernels read the step's scalars (start position) from memory: the
  // launches do not change from one step to the next.
  // A decode step's head transposes ([1, 1, H, D] <-> [1, H, 1, D]) are
  // reshapes, not copy kernels.
  std::string pipeline =
      "func.func(bitnet-fold-unit-transposes,bitnet-scalars-into-kernels)," +
      split + BITNET_BUFFERIZE
      "bitnet-memref-copy-to-linalg,"
      "func.func(bitnet-copy-globals-for-gpu," + block +
      "bitnet-wrap-serial-linalg-for-gpu,"
      // Adjacent loops over the same space (a fill and the reduction
      // into it, elementwise chains bufferization split) become one kernel.
      "convert-linalg-to-parallel-loops,scf-parallel-loop-fusion,"
      // Reduction loops carry their accumulator in a register, not in
      // global memory (kernel pointers may alias: LLVM cannot).
      "bitnet-promote-loop-accumulators,"
      "bitnet-map-loops-to-gpu,"
      "convert-parallel-loops-to-gpu," + fuse +
      // Copies' loads in flight together (the host code knows the buffers;
      // the kernels' pointers look aliased).
      "bitnet-hoist-kernel-loads,bitnet-check-host-memory-for-gpu),"
      // Constants (loop bounds, sizes) go into the kernels rather than
      // their parameters: ptxas then knows trip counts and unrolls, so a
      // thread's loads are in flight together (2B4T decode 99 -> 192
      // tokens/s).
      "gpu-launch-sink-index-computations,gpu-kernel-outlining,lower-affine,"
      "canonicalize,cse," +
      // A one-block kernel (RoPE) as the prologue of the one after it
      // (attention), then one copy of the layers' identical kernels.
      std::string(options.fuseIntoConsumer
                      ? "bitnet-fuse-launch-into-consumer,canonicalize,"
                      : "") +
      "bitnet-merge-gpu-modules," + dependentLaunch + "convert-scf-to-cf,"
      // PTX 8.5: kernels may take up to 32 KB of parameters (fused loops
      // over many buffers pass many memref descriptors).
      "nvvm-attach-target{chip=" + arch.str() + " features=+ptx85 O=" +
      std::to_string(optLevel) + "},"
      "gpu.module(convert-gpu-to-nvvm,canonicalize,cse,"
      "reconcile-unrealized-casts),"
      "expand-strided-metadata,lower-affine,"
      // Host allocations go through the runtime (device-accessible memory).
      "finalize-memref-to-llvm{use-generic-functions},gpu-to-llvm,"
      "convert-math-to-llvm,convert-math-to-libm,convert-arith-to-llvm,"
      "convert-index-to-llvm,convert-cf-to-llvm,convert-func-to-llvm,"
      "reconcile-unrealized-casts,gpu-module-to-binary{format=" +
      (options.ptx ? "isa" : "bin") + " toolkit=" + cudaToolkitPath() + "}";
  return parsePassPipeline(pipeline, pm, errorStream);
}

void mlir::bitnet::registerBitNetPipelines() {
  PassPipelineRegistration<>(
      "bitnet-reference-to-llvm",
      "Reference lowering of bitnet IR down to the LLVM dialect (the CPU "
      "test path)",
      [](OpPassManager &pm) {
        (void)buildPipeline(pm, Phase::BitNet, Phase::LLVM, llvm::errs());
      });
}

void mlir::bitnet::registerAllBitNetPasses() {
  static bool done = [] {
    registerBitNetTransformsPasses();
    registerBitNetConversionPasses();
    registerBitNetPipelineTransformsPasses();
    registerBitNetPipelines();
    return true;
  }();
  (void)done;
}
