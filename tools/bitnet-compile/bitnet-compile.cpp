//===- bitnet-compile.cpp - The compiler driver ---------------------------===//
//
// bitnet-compile INPUT [-o OUTPUT] [--target=x86_64] [--mcpu=CPU] [-O N]
//                [--emit=bitnet|linalg|llvm-dialect|llvm|obj] [--dim=NAME=N]
// bitnet-compile INPUT.mlir --target=cuda [--gpu-arch=sm_90a]
//                [--emit=gpu|ptx|cubin|artifact] -o OUTPUT
// bitnet-compile MODEL.onnx --target=cuda [--emit=artifact|ptx] -o OUTPUT
//
// INPUT is bitnet IR (.mlir) or an ONNX model (.onnx, symbolic dimensions
// bound with --dim). The cuda target compiles BitLinear layer functions to
// NVPTX kernels (bitnet/Target/GPUKernelLibrary.h), and whole models to
// artifacts for bitnet-run --device=cuda (or their kernels as PTX text).
//
// Runs the phase table of bitnet/Pipelines up to the stage named by --emit
// and writes that stage. The output file appears only when everything
// succeeded: a failed run leaves no partial output behind.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Conversion/ONNXToBitNet/ONNXImporter.h"
#include "bitnet/Conversion/Passes.h"
#include "bitnet/Dialect/BitNet/IR/BitNetDialect.h"
#include "bitnet/Dialect/BitNet/Transforms/Passes.h"
#include "bitnet/Pipelines/Pipelines.h"
#include "bitnet/Target/GPUKernelLibrary.h"
#include "bitnet/Target/HostObject.h"
#include "bitnet/Target/ModelArtifact.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;
using namespace llvm;

namespace {

// Stages past the phase table: LLVM IR text and an object file.
enum class Emit { Phase, LLVMIR, Object };

cl::OptionCategory category("bitnet-compile options");

cl::opt<std::string> inputFile(cl::Positional, cl::desc("<input .mlir or .onnx>"),
                               cl::Required, cl::cat(category));
cl::opt<std::string> outputFile("o", cl::desc("Output file ('-' for stdout)"),
                                cl::value_desc("file"), cl::init("-"),
                                cl::cat(category));
cl::opt<std::string>
    emit("emit",
         cl::desc("Stage to stop at and write: bitnet, linalg, llvm-dialect "
                  "(MLIR text), llvm (LLVM IR text), obj (ELF object) or "
                  "artifact (a model for bitnet-run; the default for .onnx "
                  "input with -o NAME.bnx)"),
         cl::init(""), cl::cat(category));
cl::opt<std::string> targetName(
    "target",
    cl::desc("Target: x86_64, or cuda (an ONNX model: a whole-model "
             "artifact for bitnet-run --device=cuda, or with --emit=ptx its "
             "kernels as PTX text; bitnet IR: BitLinear layer functions as "
             "NVPTX kernels, --emit=gpu|ptx|cubin|artifact)"),
    cl::init("x86_64"), cl::cat(category));
cl::opt<std::string> gpuArch("gpu-arch",
                             cl::desc("cuda: the NVIDIA chip (sm_90a, sm_90, "
                                      "sm_80, ...)"),
                             cl::init("sm_90a"), cl::cat(category));
cl::opt<int64_t> gpuRowsPerWarp(
    "gpu-rows-per-warp",
    cl::desc("cuda: output rows per warp of BitLinear kernels (0: by shape)"),
    cl::init(0), cl::cat(category));
cl::opt<int64_t> gpuWarpsPerBlock(
    "gpu-warps-per-block",
    cl::desc("cuda: warps per block of BitLinear kernels (0: by shape)"),
    cl::init(0), cl::cat(category));
cl::opt<std::string> mcpu("mcpu",
                          cl::desc("CPU to compile for ('native' = this host)"),
                          cl::init("native"), cl::cat(category));
cl::list<std::string>
    dimBindings("dim",
                cl::desc("Value of a symbolic ONNX dimension, NAME=N "
                         "(e.g. --dim=seq=64); repeatable"),
                cl::value_desc("NAME=N"), cl::cat(category));
cl::opt<int64_t> kvCacheStep(
    "kv-cache-step",
    cl::desc("ONNX only: derive a KV-cached step over a cache of N positions "
             "instead of the full-sequence forward (the prefill/decode entry "
             "an artifact holds; --dim=seq=1 gives the decode step)"),
    cl::value_desc("N"), cl::init(0), cl::cat(category));
cl::opt<int64_t> maxContext(
    "max-context",
    cl::desc("Artifacts: KV-cache positions (longest prompt + generation)"),
    cl::init(256), cl::cat(category));
cl::opt<int64_t> prefillChunk(
    "prefill-chunk",
    cl::desc("Artifacts: tokens per prefill step (default: 16; 64, at most "
             "--max-context, on cuda with --gpu-tensor-cores, where the "
             "BitLinear layers of a chunk run on tensor cores)"),
    cl::init(16), cl::cat(category));
cl::opt<int64_t> prefillWideChunk(
    "prefill-wide-chunk",
    cl::desc("Artifacts: a second prefill step of N tokens (N > "
             "--prefill-chunk, at most --max-context; 0: none) that the "
             "runtime takes while a prompt has at least 3/4 N tokens left "
             "(default: 4 x the chunk where the context holds it, on x86 "
             "for models of hidden size 512 or more, on cuda with "
             "--gpu-tensor-cores; else 0)"),
    cl::value_desc("N"), cl::init(0), cl::cat(category));
cl::opt<std::string> lmHead(
    "lm-head",
    cl::desc("Artifacts: LM head weights, f32 (as exported), f16 or bf16 "
             "(half the bytes), int8 (per-row scales; a quarter of the "
             "bytes) or, on x86, int4 (a scale per 32 weights; 0.625 bytes a "
             "weight); all but f32 change the logits (int4 the most)"),
    cl::init("f32"), cl::cat(category));
cl::opt<bool> sparseKernels(
    "sparse-kernels",
    cl::desc("Artifacts: skip the work ReLU2-GLU and TopK zeros make useless "
             "(gate-first up projection, down and TopK output projections "
             "over non-zero inputs; bitnet-gate-first-sparsity). Results are "
             "identical either way"),
    cl::init(true), cl::cat(category));
cl::opt<bool> fuseAttention(
    "fuse-attention",
    cl::desc("Artifacts: each attention layer of the KV-cached steps as one "
             "op (bitnet.cached_attention) where its scores reach the softmax "
             "through scale factors and a causal mask only: one kernel on "
             "cuda, the reference lowering on x86 (default: on for "
             "--target=cuda, off for x86)"),
    cl::init(false), cl::cat(category));
cl::opt<int64_t> gpuSplitReductions(
    "gpu-split-reductions",
    cl::desc("cuda models: reductions of at least N elements with few outputs "
             "run as parallel partial reductions (0: one thread per output; "
             "float sums then add in another order than on the CPU)"),
    cl::value_desc("N"), cl::init(256), cl::cat(category));
cl::opt<int64_t> gpuBlockReductions(
    "gpu-block-reductions",
    cl::desc("cuda models: reductions of at least 256 elements and at most N "
             "outputs run as one block of threads per output, with a tree "
             "reduction (bitnet-block-reductions; 0: off, split instead)"),
    cl::value_desc("N"), cl::init(256), cl::cat(category));
cl::opt<int64_t> gpuWarpReductions(
    "gpu-warp-reductions",
    cl::desc("cuda models: reductions of at least N elements that no block "
             "takes (many outputs) run as one warp per output "
             "(bitnet-block-reductions; 0: off)"),
    cl::value_desc("N"), cl::init(32), cl::cat(category));
cl::opt<int64_t> gpuFuseLaunches(
    "gpu-fuse-launches",
    cl::desc("cuda models: consecutive kernels of at most N threads each run "
             "as one single-block kernel, stage after stage "
             "(bitnet-fuse-small-launches; 0: off)"),
    cl::value_desc("N"), cl::init(4096), cl::cat(category));
cl::opt<int64_t> gpuFuseWork(
    "gpu-fuse-work",
    cl::desc("cuda models: a kernel whose threads loop joins such a run only "
             "while a thread of the merged kernel runs at most N loop "
             "iterations for it"),
    cl::value_desc("N"), cl::init(64), cl::cat(category));
cl::opt<bool> gpuFuseBarriersElided(
    "gpu-fuse-elide-barriers",
    cl::desc("cuda models: in a merged kernel, a barrier between two stages "
             "only where they share memory (off: between every two)"),
    cl::init(true), cl::cat(category));
cl::opt<bool> gpuFuseIntoConsumer(
    "gpu-fuse-into-consumer",
    cl::desc("cuda models: a one-block kernel (a decode step's RoPE) runs "
             "inside the kernel after it, each of whose blocks repeats its "
             "work first (bitnet-fuse-launch-into-consumer); same outputs"),
    cl::init(true), cl::cat(category));
cl::opt<int64_t> gpuLMHeadRows(
    "gpu-lm-head-rows",
    cl::desc("cuda models: vocabulary rows each warp of the LM head kernel "
             "reads (0: 2 for an f32 head, 4 for int8, f16 and bf16)"),
    cl::value_desc("N"), cl::init(0), cl::cat(category));
cl::opt<bool> gpuPrefetchWeights(
    "gpu-prefetch-weights",
    cl::desc("cuda models, sm_90 and newer: each BitLinear kernel asks L2 "
             "for its weights before it waits for the kernel in front of it "
             "(they stream in while that one runs); same outputs"),
    cl::init(true), cl::cat(category));
cl::opt<bool> gpuEarlyWeightLoads(
    "gpu-early-weight-loads",
    cl::desc("cuda models, sm_90 and newer: decode GEMV kernels issue the "
             "weight loads they start with before they wait for the kernel "
             "in front of them (the weights are constants); same outputs"),
    cl::init(true), cl::cat(category));
cl::opt<bool> gpuTensorCores(
    "gpu-tensor-cores",
    cl::desc("cuda: BitLinear layers of 16 or more rows (a multiple of 16: "
             "prefill chunks; kernel-library layers) on tensor cores "
             "(mma.sync s8; sm_80 and newer) instead of the dp4a GEMV "
             "kernel; same outputs"),
    cl::init(true), cl::cat(category));
cl::opt<int64_t> gpuMmaStagesAhead(
    "gpu-mma-stages-ahead",
    cl::desc("cuda models: stages of K whose loads the tensor-core prefill "
             "kernel has in flight ahead of the stage it computes (1 to 3; "
             "more: more registers)"),
    cl::init(3), cl::cat(category));
cl::opt<int64_t> gpuMmaWarpRows(
    "gpu-mma-warp-rows",
    cl::desc("cuda: the tensor-core kernel's block shapes: 16 (default) or "
             "32 the block-shape search at that many weight rows a warp "
             "(more rows a block, the codes staged fewer times); 0 the fixed "
             "shapes used before 2026-12-05 (H100: 1.3-2.3x slower at M = "
             "2048)"),
    cl::init(16), cl::cat(category));
cl::opt<bool> gpuNormKernels(
    "gpu-norm-kernels",
    cl::desc("cuda models: the row-local ops in front of each activation "
             "quantizer (residual add, RMSNorm) and the quantizer as one "
             "kernel, a block per row, values in registers "
             "(bitnet-launch-norm-quantizer-kernel)"),
    cl::init(true), cl::cat(category));
cl::opt<bool> gpuNormIntoGemv(
    "gpu-norm-into-gemv",
    cl::desc("cuda models: a decode step's norm kernel (with "
             "--gpu-norm-kernels) or absmax kernel whose codes only one "
             "BitLinear GEMV reads runs as that kernel's prologue (every "
             "block computes the row; one launch fewer)"),
    cl::init(true), cl::cat(category));
cl::opt<bool> gpuTopKIntoGemv(
    "gpu-topk-into-gemv",
    cl::desc("cuda models: a decode step's TopK and quantizer of the output "
             "projection's input (a4.8) run as that GEMV's prologue (every "
             "block selects the row; one launch fewer a layer)"),
    cl::init(true), cl::cat(category));
cl::opt<bool> gpuTopKEarlyExit(
    "gpu-topk-early-exit",
    cl::desc("cuda models: the TopK kernels' radix select stops after the "
             "digit whose bin holds exactly the keys still kept"),
    cl::init(true), cl::cat(category));
cl::opt<int64_t> gpuPrologueRowsPerWarp(
    "gpu-prologue-rows-per-warp",
    cl::desc("cuda models: output rows a warp computes in the GEMVs that "
             "run a quantizer as their prologue (--gpu-norm-into-gemv; "
             "blocks of 8 warps; fewer rows: more blocks, each recomputing "
             "the row)"),
    cl::init(4), cl::cat(category));
cl::opt<int64_t> gpuAttentionValueRows(
    "gpu-attention-value-rows",
    cl::desc("cuda models: value-cache rows each thread of the attention "
             "kernel's P V has in flight (1 to 32; more: fewer dependent "
             "rounds over the cache, more registers)"),
    cl::init(4), cl::cat(category));
cl::opt<bool> randomWeights(
    "random-weights",
    cl::desc("Artifacts: leave the large weights out; the runtime fills them "
             "with seeded random values and labels the model as such (for "
             "timing models too large to ship; outputs mean nothing)"),
    cl::init(false), cl::cat(category));
cl::opt<std::string> kvCache(
    "kv-cache",
    cl::desc("What the KV cache of artifacts and --kv-cache-step holds: "
             "auto (the default: q3 or q4 for a model that quantizes K/V to "
             "3 or 4 bits, else f32), f32, f16 (half the memory and "
             "attention reads; logits move slightly), q4 (the KV "
             "quantizer's codes in nibbles and a scale per row: 4.5 bits "
             "per value at head size 64) or q3 (3-bit codes in bit planes: "
             "3.5 bits per value); logits of q4/q3 equal f32's"),
    cl::init("auto"), cl::cat(category));
cl::opt<std::string> linker("linker",
                            cl::desc("Artifacts: the ld.lld to link with"),
                            cl::init(BITNET_DEFAULT_LINKER), cl::cat(category));
cl::opt<unsigned> optLevel("O", cl::desc("Optimization level (0-3)"),
                           cl::init(2), cl::Prefix, cl::cat(category));
cl::opt<unsigned> codegenPartitions(
    "codegen-partitions",
    cl::desc("x86 artifacts: emit the model code as this many objects, "
             "code-generated in parallel (1-64; 1: one object; default 4, "
             "whatever the core count, so the artifact does not depend on "
             "the machine)"),
    cl::init(4), cl::cat(category));
cl::opt<bool> slpVectorize(
    "slp-vectorize",
    cl::desc("x86: run LLVM's SLP vectorizer on the model code (off by "
             "default: slow on large models' step functions, no measured "
             "speed; the kernels are the runtime's)"),
    cl::init(false), cl::cat(category));

int fail(const Twine &message) {
  errs() << "bitnet-compile: error: " << message << "\n";
  return 1;
}

/// Whether an integer flag lies in [lo, hi]; if not, says so as fail does.
bool inRange(const cl::opt<int64_t> &flag, int64_t lo, int64_t hi) {
  if (flag >= lo && flag <= hi)
    return true;
  fail("--" + flag.ArgStr + " must be in [" + Twine(lo) + ", " + Twine(hi) +
       "]");
  return false;
}

/// Writes outputFile atomically through `write`, which returns false with
/// `error` set on failure: then nothing is left behind.
int writeOutput(
    llvm::function_ref<bool(raw_pwrite_stream &, std::string &error)> write) {
  std::string error;
  std::unique_ptr<ToolOutputFile> output = openOutputFile(outputFile, &error);
  if (!output)
    return fail(error);
  if (!write(output->os(), error))
    return fail(error);
  output->os().flush();
  if (output->os().has_error())
    return fail("cannot write '" + outputFile + "'");
  output->keep();
  return 0;
}

/// Every dialect either target compiles, the bitnet dialect, and the LLVM IR
/// translations (gpu-module-to-binary translates the device module).
void loadDialects(MLIRContext &context) {
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  registry.insert<bitnet::BitNetDialect>();
  bitnet::registerLaunchFuncMemoryEffects(registry);
  context.appendDialectRegistry(registry);
  context.loadAllAvailableDialects();
}

/// Parses and verifies inputFile (bitnet IR); null after printing an error.
/// Diagnostics point into `sourceMgr`.
OwningOpRef<ModuleOp> parseMLIRInput(MLIRContext &context,
                                     SourceMgr &sourceMgr) {
  std::string errorMessage;
  std::unique_ptr<MemoryBuffer> input = openInputFile(inputFile, &errorMessage);
  if (!input) {
    fail(errorMessage);
    return nullptr;
  }
  sourceMgr.AddNewSourceBuffer(std::move(input), SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module) {
    fail("cannot parse '" + inputFile + "'");
    return nullptr;
  }
  if (failed(verify(*module))) {
    fail("'" + inputFile + "' does not verify");
    return nullptr;
  }
  return module;
}

/// --target=cuda: BitLinear layer functions to a kernel library.
int compileForCuda(MLIRContext &context) {
  bitnet::GPUTargetOptions options;
  options.arch = gpuArch;
  options.optLevel = optLevel;
  options.rowsPerWarp = gpuRowsPerWarp;
  options.warpsPerBlock = gpuWarpsPerBlock;
  options.tensorCores = gpuTensorCores;
  options.mmaWarpRows = gpuMmaWarpRows;
  if (gpuMmaWarpRows != 0 && gpuMmaWarpRows != 16 && gpuMmaWarpRows != 32)
    return fail("--gpu-mma-warp-rows must be 0, 16 or 32");
  if (gpuRowsPerWarp < 0 || gpuRowsPerWarp > 16 || gpuWarpsPerBlock < 0 ||
      gpuWarpsPerBlock > 32)
    return fail("--gpu-rows-per-warp must be 0-16 and --gpu-warps-per-block "
                "0-32");
  if (emit.empty())
    emit = sys::path::extension(outputFile) == ".bnx" ? "artifact" : "cubin";
  if (emit != "gpu" && emit != "ptx" && emit != "cubin" && emit != "artifact")
    return fail("unknown --emit '" + emit +
                "' for --target=cuda (expected gpu, ptx, cubin or artifact)");
  if ((emit == "cubin" || emit == "artifact") && outputFile == "-")
    return fail("--emit=" + emit + " needs -o FILE");

  SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = parseMLIRInput(context, sourceMgr);
  if (!module)
    return 1;

  std::vector<bitnet::GPUKernelInfo> kernels;
  if (failed(bitnet::generateGPUKernels(*module, options, kernels)))
    return fail("compilation of '" + inputFile + "' for cuda failed");
  if (emit == "gpu")
    return writeOutput([&](raw_pwrite_stream &os, std::string &) {
      module->print(os);
      return true;
    });
  bool ptx = emit == "ptx";
  std::string binary, error;
  if (failed(bitnet::serializeGPUModule(*module, options, ptx, binary, error)))
    return fail(error);
  if (emit == "artifact") {
    if (!bitnet::writeGPUKernelArtifact(outputFile, options, binary, kernels,
                                        error))
      return fail(error);
    outs() << "bitnet-compile: wrote " << outputFile << " (cuda " << gpuArch
           << "; " << kernels.size() << " kernels, cubin " << binary.size()
           << " bytes)\n";
    return 0;
  }
  return writeOutput([&](raw_pwrite_stream &os, std::string &) {
    os << binary;
    return true;
  });
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  // MLIR's printing flags (e.g. --mlir-elide-elementsattrs-if-larger=N,
  // useful to look at models with large weights) work but stay out of --help.
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerAllPasses();
  bitnet::registerAllBitNetPasses();
  // --mlir-print-ir-after=PASS, ...: to look inside the
  // artifact pipelines (after the passes are registered: the flags list them).
  registerPassManagerCLOptions();
  // --mlir-timing: where an artifact's compile time goes (phases and passes).
  registerDefaultTimingManagerCLOptions();
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "bitnet-compile: compile bitnet IR for a CPU\n\n"
      "Stages (--emit): bitnet -> linalg -> llvm-dialect -> llvm -> obj\n"
      "--target=cuda: bitnet -> gpu -> ptx / cubin / artifact\n");

  // Validate every option before touching any file.
  if (targetName != "x86_64" && targetName != "cuda")
    return fail("unsupported --target '" + targetName +
                "' (supported: x86_64, cuda)");
  if (codegenPartitions < 1 || codegenPartitions > 64)
    return fail("--codegen-partitions must be 1-64, got " +
                Twine(unsigned(codegenPartitions)));
  if (optLevel > 3)
    return fail("-O must be 0-3, got " + Twine(unsigned(optLevel)));
  if (targetName == "cuda" && !bitnet::isValidGPUArch(gpuArch))
    return fail("--gpu-arch must name an NVIDIA chip such as sm_90a, got '" +
                gpuArch + "'");
  bool isONNX = sys::path::extension(inputFile) == ".onnx";
  bool toArtifact =
      isONNX && (emit == "artifact" ||
                 (emit.empty() && (targetName == "cuda" ||
                                   sys::path::extension(outputFile) == ".bnx")));
  if (randomWeights && !toArtifact)
    return fail("--random-weights applies to model artifacts (an ONNX model "
                "compiled with -o NAME.bnx or --emit=artifact)");
  if (targetName == "cuda" && !isONNX) {
    MLIRContext context;
    loadDialects(context);
    return compileForCuda(context);
  }
  // A whole model for CUDA: an artifact, or its device code as PTX text.
  bool modelPTX = false;
  if (targetName == "cuda") {
    if (!emit.empty() && emit != "artifact" && emit != "ptx")
      return fail("--target=cuda compiles an ONNX model to an artifact "
                  "(--emit=artifact, -o NAME.bnx) or its device code as PTX "
                  "(--emit=ptx)");
    modelPTX = emit == "ptx";
    emit = "artifact";
  }
  Emit kind = Emit::Phase;
  bitnet::Phase stop = bitnet::Phase::LLVM;
  if (emit.empty())
    emit = isONNX && sys::path::extension(outputFile) == ".bnx" ? "artifact"
                                                                 : "obj";
  std::optional<bitnet::onnx_import::ImportOptions::KVStorage> kvStorage =
      bitnet::onnx_import::parseKVStorage(kvCache);
  if (!kvStorage)
    return fail("--kv-cache must be auto, f32, f16, q4 or q3, got '" +
                kvCache + "'");
  if (emit == "artifact") {
    if (!isONNX)
      return fail("--emit=artifact needs an ONNX model as input");
    if (outputFile == "-" && !modelPTX)
      return fail("--emit=artifact needs -o FILE");
    if (!inRange(maxContext, 2, 1 << 20))
      return 1;
    // CUDA with tensor cores (sm_80+) takes chunks of 64 rows; the GEMV
    // kernel's loop form at most 16.
    bool tensorCores = targetName == "cuda" && gpuTensorCores &&
                       bitnet::gpuArchHasTensorCores(gpuArch);
    if (tensorCores && prefillChunk.getNumOccurrences() == 0)
      prefillChunk = std::min<int64_t>(64, maxContext);
    if (prefillChunk < 2 || prefillChunk > maxContext)
      return fail("--prefill-chunk must be in [2, --max-context]");
    if (prefillWideChunk != 0 &&
        (prefillWideChunk <= prefillChunk || prefillWideChunk > maxContext))
      return fail("--prefill-wide-chunk must be 0 or in (--prefill-chunk, "
                  "--max-context]");
    if (!bitnet::parseLMHead(lmHead))
      return fail("--lm-head must be f32, f16, bf16, int8 or int4, got '" +
                  lmHead + "'");
    if (lmHead == "int4" && targetName == "cuda")
      return fail("--lm-head=int4 is for x86 artifacts only (the GPU's LM "
                  "head kernel takes f32, f16, bf16 or int8)");
  } else if (emit == "llvm") {
    kind = Emit::LLVMIR;
  } else if (emit == "obj") {
    kind = Emit::Object;
  } else {
    const bitnet::PhaseInfo *found = nullptr;
    for (const bitnet::PhaseInfo &info : bitnet::getPhases())
      if (info.name == emit)
        found = &info;
    if (!found)
      return fail("unknown --emit '" + emit + "' (expected bitnet, linalg, "
                  "llvm-dialect, llvm, obj or artifact)");
    stop = found->phase;
  }
  std::map<std::string, int64_t> dims;
  for (const std::string &binding : dimBindings) {
    std::string error;
    if (!bitnet::onnx_import::parseDimBinding(binding, dims, error))
      return fail(error);
  }

  MLIRContext context;
  loadDialects(context);

  if (emit == "artifact") {
    DefaultTimingManager timing;
    applyDefaultTimingManagerCLOptions(timing);
    TimingScope timingRoot = timing.getRootScope();
    TimingScope loadTiming = timingRoot.nest("load the ONNX model");
    Expected<bitnet::onnx_import::ONNXModel> model =
        bitnet::onnx_import::loadONNXModel(inputFile);
    loadTiming.stop();
    if (!model)
      return fail(toString(model.takeError()));
    bitnet::ModelArtifactOptions options;
    options.timing = &timingRoot;
    options.cpu.cpu = mcpu;
    options.cpu.optLevel = optLevel;
    options.cpu.slpVectorize = slpVectorize;
    options.cpu.codegenPartitions = codegenPartitions;
    options.maxContext = maxContext;
    options.prefillChunk = prefillChunk;
    // Without the flag: by the target and the model's size, once it is
    // imported (widePrefillFor).
    options.prefillWideChunk =
        prefillWideChunk.getNumOccurrences() == 0
            ? bitnet::ModelArtifactOptions::kAutoWidePrefill
            : int64_t(prefillWideChunk);
    options.dims = dims;
    options.linker = linker;
    options.lmHead = *bitnet::parseLMHead(lmHead); // checked above
    options.sparseKernels = sparseKernels;
    options.kvStorage = *kvStorage;
    options.randomWeights = randomWeights;
    options.emitPTX = modelPTX;
    options.fuseAttention = fuseAttention.getNumOccurrences()
                                ? bool(fuseAttention)
                                : targetName == "cuda";
    if (targetName == "cuda") {
      options.gpuArch = gpuArch;
      if (gpuSplitReductions < 0)
        return fail("--gpu-split-reductions must be >= 0");
      options.gpuSplitMinSize = gpuSplitReductions;
      if (gpuBlockReductions < 0)
        return fail("--gpu-block-reductions must be >= 0");
      options.gpuBlockMaxOutputs = gpuBlockReductions;
      if (gpuWarpReductions < 0)
        return fail("--gpu-warp-reductions must be >= 0");
      options.gpuWarpMinSize = gpuWarpReductions;
      if (gpuFuseLaunches < 0)
        return fail("--gpu-fuse-launches must be >= 0");
      options.gpuFuseMaxThreads = gpuFuseLaunches;
      if (gpuFuseWork < 1)
        return fail("--gpu-fuse-work must be >= 1");
      options.gpuFuseMaxWork = gpuFuseWork;
      options.gpuFuseElideBarriers = gpuFuseBarriersElided;
      options.gpuFuseIntoConsumer = gpuFuseIntoConsumer;
      if (!inRange(gpuLMHeadRows, 0, 16))
        return 1;
      options.gpuLMHeadRowsPerWarp = gpuLMHeadRows;
      options.gpuTensorCores = gpuTensorCores;
      if (!inRange(gpuMmaStagesAhead, 1, 3))
        return 1;
      options.gpuMmaStagesAhead = gpuMmaStagesAhead;
      if (gpuMmaWarpRows != 0 && gpuMmaWarpRows != 16 && gpuMmaWarpRows != 32)
        return fail("--gpu-mma-warp-rows must be 0, 16 or 32");
      options.gpuMmaWarpRows = gpuMmaWarpRows;
      options.gpuPrefetchWeights = gpuPrefetchWeights;
      options.gpuEarlyWeightLoads = gpuEarlyWeightLoads;
      options.gpuNormKernels = gpuNormKernels;
      options.gpuNormIntoGemv = gpuNormIntoGemv;
      options.gpuTopKIntoGemv = gpuTopKIntoGemv;
      options.gpuTopKEarlyExit = gpuTopKEarlyExit;
      if (!inRange(gpuPrologueRowsPerWarp, 1, 8))
        return 1;
      options.gpuPrologueRowsPerWarp = gpuPrologueRowsPerWarp;
      if (!inRange(gpuAttentionValueRows, 1, 32))
        return 1;
      options.gpuAttentionValueRows = gpuAttentionValueRows;
      // The host code only launches kernels: any x86-64 runs it unless a
      // CPU is asked for.
      if (mcpu.getNumOccurrences() == 0)
        options.cpu.cpu = "x86-64";
    }
    bitnet::ModelArtifactSummary summary;
    std::string error;
    if (!bitnet::compileModelArtifact(*model, context, options, outputFile,
                                      summary, error))
      return fail(error);
    // PTX on stdout: the text alone.
    raw_ostream &report = outputFile == "-" ? errs() : outs();
    if (modelPTX) {
      report << "bitnet-compile: " << summary.importSummary << "\n";
      report << "bitnet-compile: wrote " << outputFile << " ("
             << summary.variant << "; cuda " << gpuArch << "; PTX "
             << summary.codeBytes << " bytes)\n";
      return 0;
    }
    outs() << "bitnet-compile: " << summary.importSummary << "\n";
    outs() << "bitnet-compile: wrote " << outputFile << " (" << summary.variant
           << (targetName == "cuda" ? "; cuda " + gpuArch : std::string())
           << "; code " << summary.codeBytes << " bytes; weights "
           << summary.weightBytes << " bytes in " << summary.weightTensors
           << " tensors";
    if (summary.ternaryWeights)
      outs() << ", " << summary.ternaryWeights << " ternary";
    if (randomWeights)
      outs() << "; " << summary.randomBytes
             << " bytes left out, to be filled with random values";
    outs() << ")\n";
    if (summary.prefillWideChunk)
      outs() << "bitnet-compile: prefill in steps of " << prefillChunk
             << " tokens, and of " << summary.prefillWideChunk
             << " while a prompt has " << summary.prefillWideChunk * 3 / 4
             << " or more left\n";
    return 0;
  }

  OwningOpRef<ModuleOp> module;
  bitnet::onnx_import::ImportStats importStats;
  bool fromONNX = false;
  SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &context);
  if (sys::path::extension(inputFile) == ".onnx") {
    Expected<bitnet::onnx_import::ONNXModel> model =
        bitnet::onnx_import::loadONNXModel(inputFile);
    if (!model)
      return fail(toString(model.takeError()));
    bitnet::onnx_import::ImportOptions options;
    options.dims = dims;
    options.kvCacheLength = kvCacheStep;
    options.kvStorage = *kvStorage;
    options.fuseCachedAttention = fuseAttention;
    auto imported = bitnet::onnx_import::importONNXModel(*model, context,
                                                         options, &importStats);
    fromONNX = true;
    if (!imported)
      return fail(toString(imported.takeError()));
    module = std::move(*imported);
  } else {
    module = parseMLIRInput(context, sourceMgr);
    if (!module)
      return 1;
  }

  PassManager pm(&context);
  (void)applyPassManagerCLOptions(pm);
  if (failed(bitnet::buildPipeline(pm, bitnet::Phase::BitNet, stop, errs())) ||
      failed(pm.run(*module)))
    return fail("compilation of '" + inputFile + "' failed");

  return writeOutput([&](raw_pwrite_stream &os, std::string &error) {
    if (kind == Emit::Phase) {
      // What import recognized, as comments that keep the output parseable.
      if (fromONNX) {
        os << "// " << importStats.summary() << "\n";
        for (const std::string &layer : importStats.bitLinearNodes)
          os << "//   bitlinear: " << layer << "\n";
      }
      module->print(os);
      return true;
    }
    bitnet::CPUTargetOptions options;
    options.cpu = mcpu;
    options.optLevel = optLevel;
    options.slpVectorize = slpVectorize;
    LLVMContext llvmContext;
    std::unique_ptr<Module> llvmModule = bitnet::translateToOptimizedLLVMIR(
        *module, llvmContext, options, error);
    if (!llvmModule)
      return false;
    if (kind == Emit::LLVMIR) {
      llvmModule->print(os, nullptr);
      return true;
    }
    return succeeded(bitnet::emitObject(*llvmModule, options, os, error));
  });
}
