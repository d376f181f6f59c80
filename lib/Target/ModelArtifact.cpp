//===- ModelArtifact.cpp - Compile an ONNX decoder into a model artifact --===//

#include "bitnet/Target/ModelArtifact.h"

#include "bitnet/Dialect/BitNet/Transforms/Passes.h"

#include "bitnet/Conversion/ONNXToBitNet/ONNXImporter.h"
#include "bitnet/Conversion/Passes.h"
#include "bitnet/Pipelines/Pipelines.h"
#include "bitnet/Runtime/ArtifactFormat.h"
#include "bitnet/Runtime/CpuFeatures.h"
#include "bitnet/Transforms/ExternalizeWeights.h"
#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <set>
#include <sstream>

using namespace mlir;
using namespace mlir::bitnet;
namespace imp = mlir::bitnet::onnx_import;

namespace {

/// Removes the file when it goes out of scope.
struct TempFile {
  llvm::SmallString<128> path;
  ~TempFile() {
    if (!path.empty())
      llvm::sys::fs::remove(path);
  }
};

/// A name for the projections one activation quantizer feeds, by their role
/// in a decoder layer (exporters do not always keep module names).
std::string projectionLabel(const std::vector<const imp::ImportStats::BitLinearSite *> &fed,
                            int64_t ffn) {
  if (fed.size() == 3)
    return "q,k,v";
  if (fed.size() == 2)
    return "gate,up";
  if (fed.size() == 1)
    return fed[0]->inFeatures == ffn ? "down" : "o";
  return "linear";
}

/// MLIR's pass manager flags (--mlir-print-ir-after=PASS, ...) where the
/// tool registered them; a no-op otherwise.
void applyDebugOptions(PassManager &pm) {
  (void)applyPassManagerCLOptions(pm);
}

using LMHead = ModelArtifactOptions::LMHead;
constexpr std::pair<LMHead, llvm::StringLiteral> kLMHeadNames[] = {
    {LMHead::F32, "f32"},
    {LMHead::Int8, "int8"},
    {LMHead::Int4, "int4"},
    {LMHead::F16, "f16"},
    {LMHead::BF16, "bf16"}};

} // namespace

llvm::StringRef mlir::bitnet::lmHeadName(LMHead head) {
  for (const auto &[h, name] : kLMHeadNames)
    if (h == head)
      return name;
  return "f32";
}

std::optional<LMHead> mlir::bitnet::parseLMHead(llvm::StringRef name) {
  for (const auto &[h, n] : kLMHeadNames)
    if (n == name)
      return h;
  return std::nullopt;
}

bool mlir::bitnet::gpuArchHasTensorCores(llvm::StringRef arch) {
  unsigned number = 0;
  return arch.consume_front("sm_") && !arch.consumeInteger(10, number) &&
         number >= 80;
}

int64_t mlir::bitnet::widePrefillFor(const ModelArtifactOptions &options,
                                     int64_t hidden) {
  constexpr int64_t kMinHidden = 512;
  int64_t wide = 4 * options.prefillChunk;
  if (wide > options.maxContext)
    return 0;
  if (!options.gpuArch.empty())
    return options.gpuTensorCores && gpuArchHasTensorCores(options.gpuArch)
               ? wide
               : 0;
  return hidden >= kMinHidden ? wide : 0;
}

/// Writes the PTX text gpu-module-to-binary{format=isa} left in `module`'s
/// gpu.binary to `path` (atomically; "-": stdout).
static bool writeDevicePTX(ModuleOp module, const std::string &path,
                           ModelArtifactSummary &summary, std::string &error) {
  std::string ptx;
  for (auto binary : module.getOps<gpu::BinaryOp>())
    for (Attribute attr : binary.getObjects())
      ptx += cast<gpu::ObjectAttr>(attr).getObject().getValue().str();
  if (ptx.empty()) {
    error = "the model has no device code to write as PTX";
    return false;
  }
  summary.codeBytes = int64_t(ptx.size());
  if (llvm::Error e = llvm::writeToOutput(path, [&](llvm::raw_ostream &os) {
        os << ptx;
        return llvm::Error::success();
      })) {
    error = "cannot write '" + path + "': " + llvm::toString(std::move(e));
    return false;
  }
  return true;
}

bool mlir::bitnet::compileModelArtifact(const imp::ONNXModel &model,
                                        MLIRContext &context,
                                        const ModelArtifactOptions &options,
                                        const std::string &outputPath,
                                        ModelArtifactSummary &summary,
                                        std::string &error) {
  std::vector<std::string> symbolic = imp::symbolicDims(model);
  std::string seqName;
  for (const std::string &d : symbolic)
    if (!options.dims.count(d) && seqName.empty())
      seqName = d;
  if (seqName.empty()) {
    error = "'" + model.path + "': no symbolic sequence dimension among the "
            "inputs: export with a dynamic sequence axis (dynamic_axes / "
            "dynamic_shapes)";
    return false;
  }
  if (options.prefillChunk < 2 || options.maxContext < options.prefillChunk) {
    error = "the prefill chunk must be at least 2 and at most the context";
    return false;
  }
  if (options.prefillWideChunk != 0 &&
      options.prefillWideChunk != ModelArtifactOptions::kAutoWidePrefill &&
      (options.prefillWideChunk <= options.prefillChunk ||
       options.prefillWideChunk > options.maxContext)) {
    error = "the wide prefill chunk must be larger than the prefill chunk "
            "and at most the context";
    return false;
  }

  TimingScope untimed;
  TimingScope &timing = options.timing ? *options.timing : untimed;
  // Two KV-cached steps from the one graph.
  TimingScope importTiming = timing.nest("import the steps");
  imp::LargeConstantCache largeConstants; // the steps share the weights
  imp::ImportOptions prefillOptions;
  prefillOptions.largeConstants = &largeConstants;
  prefillOptions.dims = options.dims;
  prefillOptions.dims[seqName] = options.prefillChunk;
  prefillOptions.funcName = "prefill";
  prefillOptions.kvCacheLength = options.maxContext;
  prefillOptions.countActivationNonzeros = true;
  prefillOptions.kvStorage = options.kvStorage;
  prefillOptions.fuseCachedAttention = options.fuseAttention;
  imp::ImportStats stats, decodeStats;
  auto module = imp::importONNXModel(model, context, prefillOptions, &stats);
  if (!module) {
    error = llvm::toString(module.takeError());
    return false;
  }
  imp::ImportOptions decodeOptions = prefillOptions;
  decodeOptions.dims[seqName] = 1;
  decodeOptions.funcName = "decode";
  decodeOptions.kvBitsHint = {stats.kvBits, stats.kvBosBits};
  // The decode step reads the cache prefill fills.
  decodeOptions.kvStorage = stats.kvStorage;
  auto decode = imp::importONNXModel(model, context, decodeOptions, &decodeStats);
  if (!decode) {
    error = llvm::toString(decode.takeError());
    return false;
  }
  auto record = (**module)->getAttrOfType<DictionaryAttr>("bitnet.decoder");
  if (!record) {
    error = "'" + model.path + "': not recognized as a decoder (no embedding "
            "or attention found)";
    return false;
  }
  for (auto f : llvm::make_early_inc_range((**decode).getOps<func::FuncOp>())) {
    f->remove();
    (**module).push_back(f);
  }
  // The wide prefill step: the same step at more tokens.
  int64_t wideChunk = options.prefillWideChunk;
  if (wideChunk == ModelArtifactOptions::kAutoWidePrefill) {
    auto hidden = dyn_cast_or_null<IntegerAttr>(record.get("hidden"));
    wideChunk = widePrefillFor(options, hidden ? hidden.getInt() : 0);
  }
  summary.prefillWideChunk = wideChunk;
  if (wideChunk) {
    imp::ImportOptions wideOptions = prefillOptions;
    wideOptions.dims[seqName] = wideChunk;
    wideOptions.funcName = "prefill_wide";
    auto wide = imp::importONNXModel(model, context, wideOptions);
    if (!wide) {
      error = llvm::toString(wide.takeError());
      return false;
    }
    for (auto f : llvm::make_early_inc_range((**wide).getOps<func::FuncOp>())) {
      f->remove();
      (**module).push_back(f);
    }
  }
  summary.importSummary = stats.summary();
  importTiming.stop();

  const bool cuda = !options.gpuArch.empty();
  const bool ukernels = options.ukernels && !cuda;
  PassManager toLinalg(&context);
  applyDebugOptions(toLinalg);
  std::string pipelineErrors;
  llvm::raw_string_ostream pipelineStream(pipelineErrors);
  if (options.sparseKernels && ukernels) {
    // The column layout (zero inputs skipped) for decode only: over a
    // prefill chunk's rows the union of non-zero inputs is dense and the
    // row kernels are faster (2B4T down projection, 16 rows: AMX 1.5-1.9x,
    // VNNI 0.92-0.95x; bench/results/cpu-2026-12-06-row-prefill.md). The
    // weight is then stored in both layouts.
    BitNetGateFirstSparsityOptions sparsity;
    sparsity.columnMaxRows = 1;
    toLinalg.addPass(createBitNetGateFirstSparsity(sparsity));
  }
  if (cuda) {
    // Decode BitLinear ops become launches of the GEMV kernel; it reads the
    // folded (packed) weights.
    toLinalg.addPass(createBitNetFoldWeights());
    // Decode (M = 1) and prefill chunks of up to 16 tokens (the kernel's
    // loop form for M > 2; more rows would spill its accumulators).
    BitNetLaunchBitLinearKernelsOptions launch;
    launch.maxRows = 16;
    launch.tensorCores =
        options.gpuTensorCores && gpuArchHasTensorCores(options.gpuArch);
    launch.mmaStagesAhead = options.gpuMmaStagesAhead;
    launch.mmaWarpRows = options.gpuMmaWarpRows;
    toLinalg.addPass(createBitNetLaunchBitLinearKernels(launch));
    // TopK as one radix-select block per row (not O(d^2) rank counts).
    BitNetLaunchTopKKernelOptions topk;
    topk.gemvPrologue = options.gpuTopKIntoGemv;
    topk.earlyExit = options.gpuTopKEarlyExit;
    topk.gemvRowsPerWarp = options.gpuPrologueRowsPerWarp;
    toLinalg.addPass(createBitNetLaunchTopKKernel(topk));
    // Each fused attention layer (ImportOptions::fuseCachedAttention) as
    // one kernel.
    BitNetLaunchAttentionKernelOptions attention;
    attention.valueRows = options.gpuAttentionValueRows;
    toLinalg.addPass(createBitNetLaunchAttentionKernel(attention));
    // Absmax quantizers of those kernels' outputs as one block per row.
    // (Any chunk's rows: a block per row.)
    BitNetLaunchQuantizerKernelOptions quantizer;
    quantizer.maxRows = options.maxContext;
    quantizer.gemvPrologue = options.gpuNormIntoGemv;
    quantizer.gemvRowsPerWarp = options.gpuPrologueRowsPerWarp;
    toLinalg.addPass(createBitNetLaunchQuantizerKernel(quantizer));
    // The residual add, RMSNorm and quantizer in front of a BitLinear layer
    // as one block per row.
    if (options.gpuNormKernels) {
      BitNetLaunchNormQuantizerKernelOptions norm;
      norm.maxRows = options.maxContext;
      norm.gemvPrologue = options.gpuNormIntoGemv;
      norm.gemvRowsPerWarp = options.gpuPrologueRowsPerWarp;
      toLinalg.addPass(createBitNetLaunchNormQuantizerKernel(norm));
    }
    // The kernels' non-zero counts written into the step's result in place.
    toLinalg.addPass(createBitNetGatherRowCounts());
  }
  LogicalResult lowered =
      buildPipeline(toLinalg, Phase::BitNet, Phase::Linalg, pipelineStream);
  if (succeeded(lowered)) {
    TimingScope linalgTiming = timing.nest("bitnet to linalg");
    toLinalg.enableTiming(linalgTiming);
    lowered = toLinalg.run(**module);
  }
  if (failed(lowered)) {
    error = "lowering '" + model.path + "' to linalg failed " + pipelineErrors;
    return false;
  }
  {
    PassManager lmHead(&context);
    applyDebugOptions(lmHead);
    if (options.lmHead == ModelArtifactOptions::LMHead::Int8) {
      lmHead.addPass(createBitNetInt8LMHead());
    } else if (options.lmHead == ModelArtifactOptions::LMHead::Int4) {
      lmHead.addPass(createBitNetInt4LMHead());
    } else if (options.lmHead != ModelArtifactOptions::LMHead::F32) {
      BitNetHalfLMHeadOptions half;
      half.elementType = lmHeadName(options.lmHead).str(); // f16 or bf16
      lmHead.addPass(createBitNetHalfLMHead(half));
    }
    // After the head's own storage, the float layers it left. They keep
    // the exported layout on cuda: the GPU's kernels take either, and the
    // rewrite was measured on x86 only.
    if (!cuda)
      lmHead.addPass(createBitNetRowMajorFloatWeights());
    if (lmHead.size() != 0) {
      TimingScope lmHeadTiming =
          timing.nest("LM head and float weight storage");
      lmHead.enableTiming(lmHeadTiming);
      if (failed(lmHead.run(**module))) {
        error = "storing the LM head of '" + model.path + "' as " +
                lmHeadName(options.lmHead).str() + " failed";
        return false;
      }
    }
  }
  {
    // Entries return only the logit rows the runtime asks for.
    PassManager rows(&context);
    applyDebugOptions(rows);
    rows.addPass(createBitNetSelectLogitRows());
    // The LM head (on the selected rows) as a bandwidth-shaped kernel.
    if (cuda) {
      BitNetLaunchLMHeadKernelOptions head;
      head.rowsPerWarp = options.gpuLMHeadRowsPerWarp;
      rows.addPass(createBitNetLaunchLMHeadKernel(head));
    }
    TimingScope rowsTiming = timing.nest("logit rows");
    rows.enableTiming(rowsTiming);
    if (failed(rows.run(**module))) {
      error = "selecting the logit rows (or launching the LM head kernel) of '" +
              model.path + "' failed";
      return false;
    }
  }
  WeightBlob blob;
  ExternalizeWeightsOptions blobOptions;
  blobOptions.alwaysAddArgument = true;
  // Kernels cannot read the host code's globals: on the GPU every constant
  // tensor lives with the weights (in memory the device reaches).
  if (cuda) {
    blobOptions.minBytes = 1;
    blobOptions.includeSplats = true;
  }
  TimingScope weightsTiming = timing.nest("move the weights out");
  LogicalResult externalized = externalizeWeights(**module, blobOptions, blob);
  weightsTiming.stop();
  if (failed(externalized)) {
    error = "moving the weights out of '" + model.path + "' failed";
    return false;
  }
  PassManager toLLVM(&context);
  applyDebugOptions(toLLVM);
  CudaModelPipelineOptions gpu;
  gpu.splitMinSize = options.gpuSplitMinSize;
  gpu.fuseMaxThreads = options.gpuFuseMaxThreads;
  gpu.fuseMaxWork = options.gpuFuseMaxWork;
  gpu.fuseElideBarriers = options.gpuFuseElideBarriers;
  gpu.fuseIntoConsumer = options.gpuFuseIntoConsumer;
  gpu.blockMaxOutputs = options.gpuBlockMaxOutputs;
  gpu.warpMinSize = options.gpuWarpMinSize;
  gpu.prefetchWeights = options.gpuPrefetchWeights;
  gpu.earlyWeightLoads = options.gpuEarlyWeightLoads;
  gpu.ptx = cuda && options.emitPTX;
  LogicalResult built =
      cuda ? buildCudaModelPipeline(toLLVM, options.gpuArch,
                                    options.cpu.optLevel, pipelineStream, gpu)
           : buildPipeline(toLLVM, Phase::Linalg, Phase::LLVM, pipelineStream,
                           ukernels);
  TimingScope llvmDialectTiming = timing.nest("linalg to the LLVM dialect");
  toLLVM.enableTiming(llvmDialectTiming);
  if (failed(built) || failed(toLLVM.run(**module))) {
    error = "lowering '" + model.path + "' to LLVM failed " + pipelineErrors;
    return false;
  }
  llvmDialectTiming.stop();
  if (gpu.ptx) {
    auto variant = dyn_cast_or_null<StringAttr>(record.get("variant"));
    summary.variant = variant ? variant.str() : "unknown";
    return writeDevicePTX(**module, outputPath, summary, error);
  }
  llvm::LLVMContext llvmContext;
  TimingScope translateTiming = timing.nest("LLVM IR: translate");
  std::unique_ptr<llvm::Module> llvmModule =
      translateToLLVMIR(**module, llvmContext, options.cpu, error);
  translateTiming.stop();
  if (!llvmModule)
    return false;

  // Objects, then a shared object the runtime can dlopen. A CUDA model's
  // host code stays one object: it is small, and its constructor (which
  // loads the kernels) has only been run in that form.
  const unsigned partitions =
      cuda ? 1u : std::max(1u, options.cpu.codegenPartitions);
  std::vector<TempFile> objects(partitions);
  std::vector<std::unique_ptr<llvm::raw_fd_ostream>> objectStreams;
  TempFile shared;
  for (TempFile &object : objects) {
    int fd;
    if (llvm::sys::fs::createTemporaryFile("bitnet-model", "o", fd,
                                           object.path)) {
      error = "cannot create temporary files";
      return false;
    }
    objectStreams.push_back(
        std::make_unique<llvm::raw_fd_ostream>(fd, /*shouldClose=*/true));
  }
  if (llvm::sys::fs::createTemporaryFile("bitnet-model", "so", shared.path)) {
    error = "cannot create temporary files";
    return false;
  }
  {
    TimingScope objectTiming = timing.nest("LLVM: optimize, emit the objects");
    std::vector<llvm::raw_pwrite_stream *> outs;
    for (auto &os : objectStreams)
      outs.push_back(os.get());
    if (failed(emitOptimizedObjects(*llvmModule, options.cpu, outs, error)))
      return false;
    for (auto &os : objectStreams) {
      os->close();
      if (os->has_error()) {
        error = "cannot write the model's object files: " +
                os->error().message();
        os->clear_error();
        return false;
      }
    }
  }
  TimingScope linkTiming = timing.nest("link the shared object");
  std::string linkError;
  // -Bsymbolic: the code's calls between its own functions bind inside it,
  // whatever else the process has loaded (several models at once).
  std::vector<llvm::StringRef> args = {options.linker, "-shared", "-Bsymbolic",
                                       "--no-undefined-version", "-o",
                                       shared.path};
  for (const TempFile &object : objects)
    args.push_back(object.path);
  int rc = llvm::sys::ExecuteAndWait(options.linker, args, std::nullopt, {}, 0,
                                     0, &linkError);
  if (rc != 0) {
    error = "linking the model code with '" + options.linker + "' failed" +
            (linkError.empty() ? "" : ": " + linkError);
    return false;
  }
  linkTiming.stop();
  auto code = llvm::MemoryBuffer::getFile(shared.path);
  if (!code) {
    error = "cannot read the linked model code";
    return false;
  }

  // Metadata.
  std::vector<std::string> features;
  if (!enabledCPUFeatures(options.cpu, bitnet_rt::checkableCpuFeatures(),
                          features, error))
    return false;
  auto field = [&](const char *key) {
    auto a = dyn_cast_or_null<IntegerAttr>(record.get(key));
    return a ? a.getInt() : int64_t(0);
  };
  int64_t ffn = field("ffn");
  std::ostringstream meta;
  meta << "format=bitnet-artifact\n";
  meta << "target=" << (cuda ? "cuda" : "x86_64") << "\n";
  if (cuda) {
    meta << "gpu_arch=" << options.gpuArch << "\n";
    // Its kernels wait for their predecessor (bitnet-dependent-launch):
    // the runtime may overlap their launches.
    if (gpuArchSupportsDependentLaunch(options.gpuArch))
      meta << "gpu_dependent_launch=1\n";
    // Its host code reads only the logit rows (bitnet-check-host-memory-
    // for-gpu): the runtime may hand the kernels the ids and the start
    // position in device memory.
    meta << "gpu_device_inputs=1\n";
  }
  auto variant = dyn_cast_or_null<StringAttr>(record.get("variant"));
  summary.variant = variant ? variant.str() : "unknown";
  meta << "variant=" << summary.variant << "\n";
  for (const char *key : {"vocab", "hidden", "layers", "heads", "kv_heads",
                          "head_dim", "ffn", "kv_bits", "kv_bos_bits"})
    meta << key << "=" << field(key) << "\n";
  meta << "max_context=" << options.maxContext << "\n";
  meta << "prefill_chunk=" << options.prefillChunk << "\n";
  if (wideChunk)
    meta << "prefill_wide_chunk=" << wideChunk << "\n";
  meta << "tokenizer=" << (field("vocab") == 256 ? "bytes" : "none") << "\n";
  meta << "kv_cache_dtype=f32\n";
  meta << "lm_head=" << lmHeadName(options.lmHead).str() << "\n";
  meta << "kv_storage=" << imp::kvStorageName(stats.kvStorage).str() << "\n";
  meta << "cpu=" << resolvedCPUName(options.cpu) << "\n";
  meta << "cpu_features=";
  for (size_t i = 0; i < features.size(); ++i)
    meta << (i ? "," : "") << features[i];
  meta << "\n";
  meta << "source=" << llvm::sys::path::filename(model.path).str() << "\n";
  int64_t ternary = 0;
  for (const auto &site : stats.bitLinearSites)
    ternary += site.outFeatures * site.inFeatures;
  summary.ternaryWeights = ternary;
  meta << "ternary_weights=" << ternary << "\n";
  meta << "bitlinears=" << stats.bitLinearSites.size() << "\n";
  meta << "quantizers=" << stats.activationQuantizerNodes.size() << "\n";
  for (size_t q = 0; q < stats.activationQuantizerNodes.size(); ++q) {
    std::vector<const imp::ImportStats::BitLinearSite *> fed;
    for (const auto &site : stats.bitLinearSites)
      if (site.quantizer == int64_t(q))
        fed.push_back(&site);
    int64_t width = 0, params = 0;
    for (const auto *s : fed) {
      width = s->inFeatures;
      params += s->outFeatures * s->inFeatures;
    }
    std::string p = "quantizer." + std::to_string(q) + ".";
    meta << p << "scheme=" << stats.activationQuantizerSchemes[q] << "\n";
    meta << p << "label=" << projectionLabel(fed, ffn) << "\n";
    meta << p << "width=" << width << "\n";
    meta << p << "params=" << params << "\n";
  }
  // Random weights: the large tensors' bytes are left out and listed for
  // the runtime to fill (RandomWeights.h); the section holds the rest.
  std::vector<char> kept;
  const std::vector<char> *weightSection = &blob.bytes;
  if (options.randomWeights) {
    int64_t table = field("vocab") * field("hidden") * 4;
    std::vector<std::pair<const WeightBlob::Entry *, const char *>> holes;
    for (const WeightBlob::Entry &e : blob.entries) {
      if (e.elementType.isInteger(8) && e.size >= 4096)
        holes.push_back({&e, "ternary2"});
      else if (e.elementType.isF32() && table > 0 && e.size >= table)
        holes.push_back({&e, "f32"});
      // An LM head stored in 16 bits (--lm-head=f16 / bf16).
      else if ((e.elementType.isF16() || e.elementType.isBF16()) &&
               table > 0 && e.size >= table / 2)
        holes.push_back({&e, e.elementType.isF16() ? "f16" : "bf16"});
    }
    meta << "weights=random\n";
    meta << "weight_bytes=" << blob.bytes.size() << "\n";
    meta << "random_fill=" << holes.size() << "\n";
    int64_t at = 0;
    for (size_t i = 0; i < holes.size(); ++i) {
      const WeightBlob::Entry &e = *holes[i].first;
      meta << "random_fill." << i << "=" << e.offset << "," << e.size << ","
           << holes[i].second << "\n";
      kept.insert(kept.end(), blob.bytes.begin() + at,
                  blob.bytes.begin() + e.offset);
      at = e.offset + e.size;
      summary.randomBytes += e.size;
    }
    kept.insert(kept.end(), blob.bytes.begin() + at, blob.bytes.end());
    weightSection = &kept;
  }
  std::string metaText = meta.str();

  summary.weightBytes = int64_t(blob.bytes.size());
  summary.weightTensors = blob.tensors;
  summary.codeBytes = int64_t(code.get()->getBufferSize());
  std::vector<bitnet_rt::SectionData> sections{
      {"meta", metaText.data(), metaText.size(), 16},
      {"code", code.get()->getBufferStart(), code.get()->getBufferSize(), 4096},
      {"weights", weightSection->data(), weightSection->size(),
       bitnet_rt::kWeightAlignment}};
  TimingScope writeTiming = timing.nest("write the artifact");
  return bitnet_rt::writeArtifact(outputPath, sections, error);
}
