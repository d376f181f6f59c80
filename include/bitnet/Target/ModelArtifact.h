//===- ModelArtifact.h - Compile an ONNX decoder into a model artifact -*- C++ -*-===//
//
// The main job: a full-sequence ONNX export becomes one .bnx file
// (runtime/include/bitnet/Runtime/ArtifactFormat.h) that the runtime runs
// with a KV cache. Two KV-cached steps are derived from the one graph
// (ImporterKVCache.cpp): `prefill` (a chunk of tokens) and `decode` (one
// token); their weights are quantized and packed at compile time, moved to
// the weight section (bitnet/Transforms/ExternalizeWeights.h) and shared;
// the code is linked into a shared object with ld.lld.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_TARGET_MODELARTIFACT_H
#define BITNET_TARGET_MODELARTIFACT_H

#include "bitnet/Conversion/ONNXToBitNet/ONNXImporter.h"
#include "bitnet/Conversion/ONNXToBitNet/ONNXModel.h"
#include "bitnet/Target/HostObject.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Support/Timing.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <optional>
#include <string>

namespace mlir::bitnet {

/// Whether an NVIDIA arch ("sm_90a", "sm_80", ...) has the s8 mma.sync
/// m16n8k32 the tensor-core BitLinear kernel uses (sm_80 and newer).
bool gpuArchHasTensorCores(llvm::StringRef arch);

struct ModelArtifactOptions {
  CPUTargetOptions cpu;
  /// KV-cache positions: the longest prompt + generation the artifact runs.
  int64_t maxContext = 256;
  /// Tokens per prefill step (prompts run in chunks of this many).
  int64_t prefillChunk = 16;
  /// 0, or a second prefill entry (`prefill_wide`) of this many tokens per
  /// step (more than prefillChunk, at most maxContext) that the runtime
  /// takes while a prompt has at least 3/4 of it left: long prompts in
  /// fewer, larger steps, short ones without padding to it; or
  /// kAutoWidePrefill (widePrefillFor).
  int64_t prefillWideChunk = 0;
  static constexpr int64_t kAutoWidePrefill = -1;
  /// Values of symbolic dimensions other than the sequence length.
  std::map<std::string, int64_t> dims;
  /// The linker (ld.lld) to make the shared object with.
  std::string linker;
  /// Call the runtime's kernels for the packed BitLinear contractions
  /// (bitnet-lower-ukernels); off: plain loops (the reference lowering).
  bool ukernels = true;
  /// How the LM head's weights are stored: f32 as exported; int8 with
  /// per-row scales (bitnet-int8-lm-head: a quarter of the bytes, logits
  /// change by ~1e-3 relative); f16 or bf16 (bitnet-half-lm-head: half the
  /// bytes).
  enum class LMHead { F32, Int8, Int4, F16, BF16 };
  LMHead lmHead = LMHead::F32;
  /// bitnet-gate-first-sparsity: the up projection only where relu(gate)
  /// is open, down and TopK output projections over non-zero inputs only.
  bool sparseKernels = true;
  /// What the KV cache holds (ImportOptions::KVStorage). Auto: the 4-bit
  /// codes (q4) of a model that quantizes K/V, else f32. F16 halves a
  /// float cache but moves the logits of activation-quantized models by up
  /// to ~1.5e-2 relative (quantized codes flip), see KVHalfTest.
  onnx_import::ImportOptions::KVStorage kvStorage =
      onnx_import::ImportOptions::KVStorage::Auto;
  /// Attention layers of the KV-cached steps as one bitnet.cached_attention
  /// each (ImportOptions::fuseCachedAttention): one kernel on the GPU
  /// (bitnet-launch-attention-kernel); on x86 its reference lowering.
  bool fuseAttention = false;
  /// Non-empty: the whole model runs on an NVIDIA GPU of this arch (sm_90a,
  /// ...): buildCudaModelPipeline's kernels, launched by host code for
  /// `cpu`; `ukernels` and `sparseKernels` do not apply.
  std::string gpuArch;
  /// CUDA: reductions of at least this many elements and few outputs run
  /// as parallel partials (bitnet-split-reductions); 0: one thread each.
  int64_t gpuSplitMinSize = 256;
  /// CUDA: reductions of at least 256 elements and at most this many
  /// outputs run as one block of threads per output instead
  /// (bitnet-block-reductions); 0: off.
  int64_t gpuBlockMaxOutputs = 256;
  /// CUDA: reductions of at least this many elements that no block takes
  /// run as one warp per output (bitnet-block-reductions); 0: off.
  int64_t gpuWarpMinSize = 32;
  /// CUDA: runs of consecutive kernels of at most this many threads each
  /// become one single-block kernel (bitnet-fuse-small-launches); 0: off.
  int64_t gpuFuseMaxThreads = 4096;
  /// CUDA: loop iterations a merged kernel's thread may run for one of the
  /// launches it took in (bitnet-fuse-small-launches' max-work).
  int64_t gpuFuseMaxWork = 64;
  /// CUDA: a merged kernel's stages separated by a barrier only where they
  /// share memory (bitnet-fuse-small-launches' elide-barriers).
  bool gpuFuseElideBarriers = true;
  /// CUDA: a one-block kernel runs inside the kernel launched after it
  /// (bitnet-fuse-launch-into-consumer).
  bool gpuFuseIntoConsumer = true;
  /// Vocabulary rows a warp of the LM head kernel reads
  /// (bitnet-launch-lm-head-kernel's rows-per-warp; 0: its default).
  int64_t gpuLMHeadRowsPerWarp = 0;
  /// CUDA: BitLinear ops of 16 to 64 rows (prefill chunks) on tensor cores
  /// (bitnet-launch-bitlinear-kernels' tensor-cores; arches sm_80+ only).
  bool gpuTensorCores = true;
  /// CUDA: stages of loads the tensor-core kernel has in flight
  /// (bitnet-launch-bitlinear-kernels' mma-stages-ahead).
  int64_t gpuMmaStagesAhead = 3;
  /// CUDA: the tensor-core kernel's block shapes (0: the fixed ones; 16 or
  /// 32: the block-shape search; bitnet-launch-bitlinear-kernels'
  /// mma-warp-rows).
  int64_t gpuMmaWarpRows = 16;
  /// CUDA: the residual add, RMSNorm and activation quantizer in front of
  /// a BitLinear layer as one kernel, a block per row
  /// (bitnet-launch-norm-quantizer-kernel).
  bool gpuNormKernels = true;
  /// CUDA: a decode norm (with gpuNormKernels) or a quantizer of a
  /// kernel's output whose codes only one GEMV reads runs as that kernel's
  /// prologue (the launch passes' gemv-prologue).
  bool gpuNormIntoGemv = true;
  /// CUDA: a decode TopK (a4.8's output projection input) and its
  /// quantizer run as the prologue of the GEMV that reads the codes
  /// (bitnet-launch-topk-kernel's gemv-prologue).
  bool gpuTopKIntoGemv = true;
  /// CUDA: the TopK kernels' radix select stops once the kept set is known
  /// (bitnet-launch-topk-kernel's early-exit).
  bool gpuTopKEarlyExit = true;
  /// CUDA: output rows a warp of those GEMVs computes (blocks of 8 warps).
  int64_t gpuPrologueRowsPerWarp = 4;
  /// CUDA: value rows a thread of the attention kernel's P V has in flight.
  int64_t gpuAttentionValueRows = 4;
  /// CUDA, sm_90+: BitLinear kernels ask L2 for their weights before they
  /// wait for the kernel in front of them (bitnet-dependent-launch's
  /// prefetch).
  bool gpuPrefetchWeights = true;
  /// CUDA, sm_90+: GEMV kernels issue their weight loads before they wait
  /// for the kernel in front of them (bitnet-dependent-launch's early-loads).
  bool gpuEarlyWeightLoads = true;
  /// Leave the large weights out (packed ternary and other i8 tensors of at
  /// least 4 KiB, f32 tensors the size of the embedding or larger): the
  /// runtime fills them with seeded random values and says so. For timing
  /// models too large to ship (e.g. the 2B4T shape on the GPU machine);
  /// their outputs mean nothing.
  bool randomWeights = false;
  /// CUDA: write the model's device code as PTX text (one module, every
  /// kernel) instead of an artifact.
  bool emitPTX = false;
  /// Where the compile's phases (imports, each pass pipeline, LLVM,
  /// linking, writing) report their times (`--mlir-timing`); null: not
  /// timed.
  TimingScope *timing = nullptr;
};

/// What was compiled, for the driver to print.
/// The wide prefill step kAutoWidePrefill picks for a model of hidden size
/// `hidden`: 4 chunks where the context holds them, on cuda where the
/// prefill runs on tensor cores (the BitLinear kernel's blocks take 64-row
/// tiles of them), on x86 for models of hidden size 512 or more, whose
/// steps are mostly BitLinear GEMMs that run faster on more rows (AMX
/// tiles); none for smaller ones, whose steps are mostly attention over
/// the cache window, which a wider step widens (64-token prompt, 16-token
/// chunks: hidden 128 0.85x, 512 1.22-1.31x, 1024 1.42-1.46x, 2560
/// 1.43-1.47x).
int64_t widePrefillFor(const ModelArtifactOptions &options, int64_t hidden);

struct ModelArtifactSummary {
  std::string importSummary, variant;
  int64_t weightBytes = 0, weightTensors = 0, codeBytes = 0,
          ternaryWeights = 0;
  /// With randomWeights: the bytes left for the runtime to fill.
  int64_t randomBytes = 0;
  /// The wide prefill step's tokens (0: none).
  int64_t prefillWideChunk = 0;
};

/// The name of an LM head storage ("f32", "int8", "f16", "bf16"): the
/// artifact metadata's `lm_head` and bitnet-compile's --lm-head.
llvm::StringRef lmHeadName(ModelArtifactOptions::LMHead head);
/// The storage a name names, or none.
std::optional<ModelArtifactOptions::LMHead> parseLMHead(llvm::StringRef name);

/// Compiles `model` and writes `outputPath` (atomically). False with
/// `error` set on failure; nothing is written then.
bool compileModelArtifact(const onnx_import::ONNXModel &model,
                          MLIRContext &context,
                          const ModelArtifactOptions &options,
                          const std::string &outputPath,
                          ModelArtifactSummary &summary, std::string &error);

} // namespace mlir::bitnet

#endif // BITNET_TARGET_MODELARTIFACT_H
