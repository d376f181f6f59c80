//===- Model.cpp - The C API: load an artifact, prefill, decode -----------===//
//
// The compiled entries (see bitnet-compile's artifact mode) have one fixed
// signature, MLIR's C interface for
//   (ids: i64 [1, S], start: i64, kv: E [2L, 1, Hkv, C, R],
//    rows: i64 [2], weights: i8 [?])
//     -> (logits: f32 [1, n, V], nonzeros: i32 [Q, S], new_kv: E [2L, 1, Hkv, S, R])
// where rows = (first, n) picks the tokens whose logits the step computes
// (bitnet-select-logit-rows: a prefill chunk computes its last token's only
// unless all rows are asked for; n = 0 skips the LM head),
// with E and R the cache element and row the metadata's kv_storage names:
// f32 or f16 values (R = D); q4, i8 rows (R = D / 2 + 4) of D 4-bit KV
// codes, two per byte, then the row's f32 scale; q3, i8 rows (R = 3 D / 8
// + 4) of three bit planes and the scale, with C + 1 rows per (layer, head),
// the last holding the BOS row's fourth plane; its new rows carry all four
// planes (D / 2 + 4) (ImportOptions::KVStorage).
// with S = 1 (decode) or the prefill chunk. The runtime owns the cache,
// writes each step's new K/V into it and counts zero activation codes for
// the sparsity table. Results are allocated by the compiled code (on the
// CPU from the step buffer cache, HostStepMemory.h); the runtime frees them.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Runtime/bitnet_runtime.h"
#include "bitnet/Runtime/ArtifactFormat.h"
#include "bitnet/Runtime/CpuFeatures.h"
#include "bitnet/Runtime/RandomWeights.h"

#include "CpuProfile.h"
#include "CudaHost.h"
#include "HostStepMemory.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

using namespace bitnet_rt;

namespace {

template <typename T, int N> struct Desc {
  T *allocated, *aligned;
  int64_t offset, sizes[N], strides[N];
};
template <typename T> struct Desc0 {
  T *allocated, *aligned;
  int64_t offset;
};
struct StepResult {
  Desc<float, 3> logits;
  Desc<int32_t, 2> nonzeros;
  Desc<uint8_t, 5> kv; // elements of kvElementBytes each
};
using StepFn = void (*)(StepResult *, Desc<int64_t, 2> *, Desc0<int64_t> *,
                        Desc<uint8_t, 5> *, Desc<int64_t, 1> *,
                        Desc<int8_t, 1> *);

template <int N> void rowMajor(const int64_t (&sizes)[N], int64_t (&strides)[N]) {
  int64_t s = 1;
  for (int i = N - 1; i >= 0; --i) {
    strides[i] = s;
    s *= sizes[i];
  }
}

struct Site {
  std::string scheme, label;
  int64_t width = 0, params = 0;
  int64_t zeros = 0, total = 0;
  size_t group = 0; // its row of the sparsity table
};

/// A row of the sparsity table: quantizers feeding the same projections
/// with the same scheme (one per layer).
struct Group {
  std::string label, scheme;
};

} // namespace

struct bitnet_model {
  ArtifactFile artifact;
  std::string error;
  std::string variant, tokenizer, cpu, cpuFeatures;
  int64_t vocab = 0, hidden = 0, layers = 0, heads = 0, kvHeads = 0,
          headDim = 0, ffn = 0, context = 0, chunk = 0, kvBits = 16,
          kvBosBits = 0, ternary = 0;
  void *library = nullptr;
  /// The memory file the code was loaded from, open while it is loaded:
  /// glibc reuses an already-loaded object of the same path, and a closed
  /// descriptor's number (so its /proc/self/fd path) is reused by the next
  /// model's file, which would then get this model's code.
  int codeFd = -1;
  StepFn prefill = nullptr, decode = nullptr;
  /// The optional wide prefill step (metadata prefill_wide_chunk: 0 if
  /// none): wideChunk tokens a step.
  StepFn prefillWide = nullptr;
  int64_t wideChunk = 0;
  /// Token slots of the step's inputs: the larger of the two chunks.
  int64_t ioTokens() const { return std::max(chunk, wideChunk); }
  const uint8_t *weights = nullptr;
  size_t weightBytes = 0;
  /// The KV cache, [2L, 1, Hkv, kvRows, kvRow] elements of kvElementBytes
  /// (1: q4/q3 bytes, 2: f16, 4: f32) as the code reads them; a step
  /// returns new rows of newRow elements.
  uint8_t *kv = nullptr;
  size_t kvBytes = 0;
  /// A CUDA artifact (target=cuda): the code launches kernels on `device`;
  /// the weights and the cache live in managed memory, the step's inputs in
  /// pinned host memory, its results in a step arena (CudaHost.h).
  bool gpu = false;
  std::string device = "cpu", gpuArch;
  bool gpuSession = false;
  void *gpuWeights = nullptr;
  /// The kernels wait for their predecessor (bitnet-dependent-launch):
  /// launches may overlap.
  bool dependentLaunch = false;
  /// An artifact compiled with --random-weights: the runtime filled its
  /// large weights (RandomWeights.h); on the CPU into hostWeights.
  bool randomWeights = false;
  std::unique_ptr<uint8_t, decltype(&std::free)> hostWeights{nullptr,
                                                             &std::free};
  /// A step's inputs: ids [ioTokens()] i64, start i64, rows [2] i64 (on the GPU
  /// pinned host memory, which the host code reads in place).
  int64_t *io = nullptr;
  /// On the GPU, the ids and start the kernels read: a device copy of io's
  /// first ioTokens() + 1 words, made at the head of each step (in the
  /// decode graph too). Kernels reading `io` itself would wait on a PCIe
  /// round trip each; the host code never reads these two (it reads only
  /// the logit rows, which stay in `io`). Null: the kernels read `io`
  /// (artifacts without gpu_device_inputs=1, or BITNET_CUDA_DEVICE_INPUTS=0).
  int64_t *ioDevice = nullptr;
  /// What ioDevice holds: the ids and the start.
  size_t ioDeviceBytes() const { return size_t(ioTokens() + 1) * 8; }
  /// What holds `kv` and `io` on the CPU.
  std::vector<int64_t> ioHost;
  std::vector<uint8_t> kvHost;
  /// Why load() failed: BITNET_ERROR_CPU, BITNET_ERROR_DEVICE or (damaged
  /// or unreadable artifact) BITNET_ERROR_IO.
  int loadError = BITNET_ERROR_IO;
  int64_t kvElementBytes = 4, kvRow = 0, kvRows = 0, newRow = 0;
  bool bitPlanes = false;
  int64_t position = 0;
  std::vector<Site> sites;
  bitnet_stats stats{};
  std::vector<Group> groups;

  ~bitnet_model() {
    // The code's destructors unload its GPU modules: before the session
    // goes.
    if (library)
      dlclose(library);
    if (codeFd >= 0)
      close(codeFd);
    if (gpuSession) {
      cuda_host::destroyGraph(decodeGraph);
      cuda_host::releaseArena(this);
      cuda_host::releaseArena(decodeArena());
      cuda_host::releaseArena(wideArena());
      cuda_host::deallocate(gpuWeights);
      cuda_host::deallocate(kv);
      cuda_host::deallocateHost(io);
      cuda_host::deallocate(ioDevice);
      cuda_host::release();
    }
  }
  /// Frees what a step returned (the code allocates it with malloc on the
  /// CPU; on the GPU it lives in the step arena until the next step).
  void freeResults(StepResult &r) {
    if (gpu)
      return;
    for (void *p : {(void *)r.logits.allocated, (void *)r.nonzeros.allocated,
                    (void *)r.kv.allocated})
      host_memory::release(p);
  }
  /// The decode step as a CUDA graph: its code's launches, recorded once
  /// (on the second decode step, when the decode arena has its size) and
  /// replayed, for the logit rows it was recorded with. The code's launches
  /// do not change from step to step (bitnet-scalars-into-kernels: kernels
  /// read the start position from memory; the decode arena allocates the
  /// same buffers each step), so the graph is that step.
  void *decodeGraph = nullptr;
  StepResult decodeGraphResult{};
  int64_t decodeGraphRows[2] = {-1, -1};
  int64_t decodeSteps = 0;
  bool graphsFailed = false;
  const void *decodeArena() const {
    return static_cast<const char *>(static_cast<const void *>(this)) + 1;
  }
  /// The wide prefill step's arena (its buffers are larger than the
  /// prefill step's).
  const void *wideArena() const {
    return static_cast<const char *>(static_cast<const void *>(this)) + 2;
  }
  /// Runs the decode step from its graph (recording it first when it is
  /// time); false: run the code instead.
  bool runDecodeGraph(StepResult &r, const int64_t *rows,
                      const std::function<void(StepResult *)> &runCode);
  /// The step's new K/V rows into the cache, on the GPU: enqueued strided
  /// copies (the host never touches the cache's pages).
  bool appendRowsOnDevice(const uint8_t *fresh, int64_t tokens, int64_t valid);
  /// The step's new K/V rows into the cache, on the CPU.
  void appendRowsOnHost(const uint8_t *fresh, int64_t tokens, int64_t valid);
  int fail(int code, const std::string &message) {
    error = message;
    return code;
  }
  bool load(const char *path, std::string &why);
  int step(StepFn fn, int64_t tokens, const int32_t *ids, int64_t valid,
           float *logits, int64_t logitRows);
};

/// The seed of random weights: BITNET_RANDOM_WEIGHTS_SEED, else 1.
static uint64_t randomSeed() {
  const char *v = std::getenv("BITNET_RANDOM_WEIGHTS_SEED");
  return v && *v ? std::strtoull(v, nullptr, 0) : 1;
}

bool bitnet_model::load(const char *path, std::string &why) {
  if (!artifact.open(path, why))
    return false;
  auto fail = [&](const std::string &m) {
    why = "'" + std::string(path) + "': " + m;
    return false;
  };
  if (artifact.get("format") != "bitnet-artifact")
    return fail("is a GPU kernel library (bitnet-compile --target=cuda), not "
                "a model");
  struct Field {
    const char *key;
    int64_t *value;
  } fields[] = {{"vocab", &vocab},        {"hidden", &hidden},
                {"layers", &layers},      {"heads", &heads},
                {"kv_heads", &kvHeads},   {"head_dim", &headDim},
                {"ffn", &ffn},            {"max_context", &context},
                {"prefill_chunk", &chunk}, {"kv_bits", &kvBits},
                {"kv_bos_bits", &kvBosBits}, {"ternary_weights", &ternary}};
  for (Field f : fields)
    if (!artifact.getInt(f.key, *f.value) || *f.value < 0)
      return fail(std::string("metadata '") + f.key + "' is missing or invalid");
  if (vocab <= 0 || layers <= 0 || kvHeads <= 0 || headDim <= 0 ||
      context <= 0 || chunk <= 0 || context > (int64_t(1) << 24) ||
      vocab > (int64_t(1) << 24))
    return fail("metadata has an impossible model size");
  if (!artifact.get("prefill_wide_chunk").empty() &&
      (!artifact.getInt("prefill_wide_chunk", wideChunk) ||
       wideChunk <= chunk || wideChunk > context))
    return fail("metadata 'prefill_wide_chunk' is invalid (it must be larger "
                "than prefill_chunk and at most max_context)");
  variant = artifact.get("variant", "unknown");
  tokenizer = artifact.get("tokenizer", "none");
  cpu = artifact.get("cpu");
  cpuFeatures = artifact.get("cpu_features");
  std::string target = artifact.get("target");
  if (target != "x86_64" && target != "cuda")
    return fail("compiled for target '" + target +
                "', this runtime runs x86_64 and cuda");
  gpu = target == "cuda";
  std::string missing = missingCpuFeatures(cpuFeatures, hostCpuFeatures());
  if (!missing.empty()) {
    loadError = BITNET_ERROR_CPU;
    why = "'" + std::string(path) + "' was compiled for " + cpu + " (" +
          cpuFeatures + "): " + missing +
          "; recompile with --mcpu=native on this machine";
    return false;
  }
  weights = artifact.section("weights", &weightBytes);
  std::vector<RandomFill> fills;
  uint64_t blobBytes = 0;
  std::string fillError;
  if (!readRandomFills(artifact, weightBytes, fills, blobBytes, fillError))
    return fail(fillError);
  randomWeights = !fills.empty();
  if (randomWeights && !gpu) {
    // The whole blob, rebuilt in memory of our own.
    hostWeights.reset(static_cast<uint8_t *>(
        std::aligned_alloc(kWeightAlignment,
                           (blobBytes + kWeightAlignment - 1) /
                               kWeightAlignment * kWeightAlignment)));
    if (!hostWeights)
      return fail("cannot allocate " + std::to_string(blobBytes) +
                  " bytes for the random weights");
    expandRandomWeights(weights, weightBytes, fills, randomSeed(),
                        hostWeights.get(), blobBytes);
    weights = hostWeights.get();
    weightBytes = blobBytes;
  }
  if (gpu) {
    gpuArch = artifact.get("gpu_arch");
    dependentLaunch = artifact.get("gpu_dependent_launch") == "1";
    std::string why;
    if (!cuda_host::acquire(gpuArch, device, why)) {
      loadError = BITNET_ERROR_DEVICE;
      return fail("is a CUDA model (" + gpuArch + "): " + why);
    }
    gpuSession = true;
    // Kernels read the weights on every step: one copy in device memory
    // (the host code only passes pointers into it).
    gpuWeights = cuda_host::allocateDevice(blobBytes);
    if (!gpuWeights)
      return fail("cannot hold the weights on the GPU: " +
                  cuda_host::takeError());
    const uint8_t *source = weights;
    std::unique_ptr<uint8_t, void (*)(void *)> staged(nullptr, std::free);
    if (randomWeights) {
      staged.reset(static_cast<uint8_t *>(std::malloc(blobBytes ? blobBytes : 1)));
      if (!staged)
        return fail("cannot allocate " + std::to_string(blobBytes) +
                    " bytes for the random weights");
      expandRandomWeights(weights, weightBytes, fills, randomSeed(),
                          staged.get(), blobBytes);
      source = staged.get();
    }
    if (!cuda_host::copyToDevice(gpuWeights, source,
                                 randomWeights ? blobBytes : weightBytes))
      return fail("cannot copy the weights to the GPU: " +
                  cuda_host::takeError());
    weights = static_cast<const uint8_t *>(gpuWeights);
    weightBytes = blobBytes;
  }
  size_t codeSize = 0;
  const uint8_t *code = artifact.section("code", &codeSize);
  if (!code || codeSize < 64 || std::memcmp(code, "\x7f" "ELF", 4) != 0)
    return fail("no valid 'code' section");

  // dlopen needs a file: an anonymous memory file holds the code.
  int fd = memfd_create("bitnet-code", MFD_CLOEXEC);
  if (fd < 0)
    return fail("cannot create a memory file for the code");
  size_t done = 0;
  while (done < codeSize) {
    ssize_t n = write(fd, code + done, codeSize - done);
    if (n <= 0) {
      close(fd);
      return fail("cannot stage the code");
    }
    done += size_t(n);
  }
  std::string fdPath = "/proc/self/fd/" + std::to_string(fd);
  library = dlopen(fdPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  codeFd = fd;
  if (!library)
    return fail(std::string("cannot load the code: ") + dlerror());
  if (gpu) {
    // Its constructors loaded the kernels.
    std::string why = cuda_host::takeError();
    if (!why.empty())
      return fail("cannot load the GPU code: " + why);
  }
  prefill = reinterpret_cast<StepFn>(dlsym(library, "_mlir_ciface_prefill"));
  decode = reinterpret_cast<StepFn>(dlsym(library, "_mlir_ciface_decode"));
  if (!prefill || !decode)
    return fail("the code lacks the prefill/decode entries");
  if (wideChunk) {
    prefillWide = reinterpret_cast<StepFn>(
        dlsym(library, "_mlir_ciface_prefill_wide"));
    if (!prefillWide)
      return fail("the metadata names a wide prefill step the code lacks");
  }

  int64_t quantizers = 0;
  if (!artifact.getInt("quantizers", quantizers) || quantizers < 0 ||
      quantizers > 100000)
    return fail("metadata 'quantizers' is missing or invalid");
  sites.resize(quantizers);
  for (int64_t i = 0; i < quantizers; ++i) {
    std::string p = "quantizer." + std::to_string(i) + ".";
    sites[i].scheme = artifact.get(p + "scheme", "?");
    sites[i].label = artifact.get(p + "label", "?");
    if (!artifact.getInt(p + "width", sites[i].width) ||
        !artifact.getInt(p + "params", sites[i].params))
      return fail("metadata for quantizer " + std::to_string(i) + " is invalid");
    Site &site = sites[i];
    auto same = [&](const Group &g) {
      return g.label == site.label && g.scheme == site.scheme;
    };
    site.group = size_t(std::find_if(groups.begin(), groups.end(), same) -
                        groups.begin());
    if (site.group == groups.size())
      groups.push_back({site.label, site.scheme});
  }
  std::string storage = artifact.get("kv_storage", "f32");
  if (storage == "f32" || storage == "f16") {
    kvElementBytes = storage == "f16" ? 2 : 4;
    kvRow = headDim;
  } else if (storage == "q4" || storage == "q3") {
    bitPlanes = storage == "q3";
    if (headDim % (bitPlanes ? 8 : 2) || kvBits < 2 ||
        kvBits > (bitPlanes ? 3 : 4) || kvBosBits > 4)
      return fail("metadata 'kv_storage' is " + storage + " but the head size (" +
                  std::to_string(headDim) + ") or the KV bits (" +
                  std::to_string(kvBits) + ", BOS " +
                  std::to_string(kvBosBits) + ") do not fit it");
    kvElementBytes = 1;
    kvRow = bitPlanes ? 3 * headDim / 8 + 4 : headDim / 2 + 4;
    newRow = headDim / 2 + 4;
  } else {
    return fail("metadata 'kv_storage' is '" + storage +
                "' (this runtime reads f32, f16, q4 and q3 caches)");
  }
  if (!newRow)
    newRow = kvRow;
  kvRows = context + (bitPlanes ? 1 : 0);
  size_t cacheSize = size_t(2 * layers * kvHeads * kvRows * kvRow);
  kvBytes = cacheSize * size_t(kvElementBytes);
  size_t ioWords = size_t(ioTokens()) + 3;
  if (gpu) {
    kv = static_cast<uint8_t *>(cuda_host::allocate(kvBytes));
    io = static_cast<int64_t *>(cuda_host::allocateHost(ioWords * 8));
    if (!kv || !io || !cuda_host::clear(kv, kvBytes))
      return fail("cannot hold the KV cache on the GPU: " +
                  cuda_host::takeError());
    // Older artifacts' host code may read the start position: those get it
    // in pinned host memory, as they were built for.
    const char *deviceInputs = std::getenv("BITNET_CUDA_DEVICE_INPUTS");
    if (artifact.get("gpu_device_inputs") == "1" &&
        !(deviceInputs && std::string(deviceInputs) == "0")) {
      ioDevice =
          static_cast<int64_t *>(cuda_host::allocateDevice(ioDeviceBytes()));
      if (!ioDevice)
        return fail("cannot hold a step's inputs on the GPU: " +
                    cuda_host::takeError());
    }
  } else {
    kvHost.assign(kvBytes, 0);
    kv = kvHost.data();
    ioHost.assign(ioWords, 0);
    io = ioHost.data();
  }
  return true;
}

int bitnet_model::step(StepFn fn, int64_t tokens, const int32_t *ids,
                       int64_t valid, float *logits, int64_t logitRows) {
  int64_t *idBuf = io, &start = io[ioTokens()], *rows = io + ioTokens() + 1;
  for (int64_t i = 0; i < tokens; ++i)
    idBuf[i] = i < valid ? ids[i] : 0;
  start = position;
  // The kernels' view of ids and start (see ioDevice).
  int64_t *idsFor = ioDevice ? ioDevice : idBuf;
  int64_t *startFor = ioDevice ? ioDevice + ioTokens() : &start;
  Desc<int64_t, 2> idDesc{idsFor, idsFor, 0, {1, tokens}, {tokens, 1}};
  Desc0<int64_t> startDesc{startFor, startFor, 0};
  Desc<uint8_t, 5> kvDesc{kv, kv, 0,
                          {2 * layers, 1, kvHeads, kvRows, kvRow}, {}};
  rowMajor(kvDesc.sizes, kvDesc.strides);
  int8_t *w = const_cast<int8_t *>(reinterpret_cast<const int8_t *>(weights));
  Desc<int8_t, 1> wDesc{w, w, 0, {int64_t(weightBytes)}, {1}};
  // Logits of tokens [valid - logitRows, valid) only, none without a buffer.
  rows[0] = valid - logitRows;
  rows[1] = logits ? logitRows : 0;
  Desc<int64_t, 1> rowsDesc{rows, rows, 0, {2}, {1}};
  StepResult r;
  std::memset(&r, 0, sizeof(r));
  std::optional<cuda_host::Step> gpuStep;
  bool decoding = fn == decode;
  if (gpu) {
    gpuStep.emplace(decoding ? decodeArena()
                    : fn == prefillWide ? wideArena()
                                        : static_cast<const void *>(this),
                    dependentLaunch);
    if (cuda_host::tracing())
      std::fprintf(stderr, "bitnet cuda: step ids %p start %p kv %p rows %p "
                           "weights %p\n", (void *)idBuf, (void *)&start,
                   (void *)kv, (void *)rows, (void *)w);
  }
  auto runCode = [&](StepResult *out) {
    // In front of the kernels on the stream (and in a graph's recording).
    if (ioDevice)
      cuda_host::copyToDeviceAsync(ioDevice, io, ioDeviceBytes());
    fn(out, &idDesc, &startDesc, &kvDesc, &rowsDesc, &wDesc);
  };
  if (gpu && decoding && runDecodeGraph(r, rows, runCode)) {
    // The graph ran the step's kernels (r: the results it writes).
  } else if (gpu) {
    runCode(&r);
    if (decoding)
      ++decodeSteps;
  } else {
    host_memory::Step cpuStep; // the code's buffers from the cache
    const double t0 = cpu_profile::enabled() ? cpu_profile::now() : 0;
    runCode(&r);
    if (cpu_profile::enabled())
      cpu_profile::process().addStep(
          decoding ? "decode"
                   : "prefill" + std::to_string(tokens),
          cpu_profile::now() - t0);
  }
  bool shapesMatch =
      r.kv.sizes[0] == 2 * layers && r.kv.sizes[2] == kvHeads &&
      r.kv.sizes[3] == tokens && r.kv.sizes[4] == newRow &&
      r.logits.sizes[1] == rows[1] && r.logits.sizes[2] == vocab;
  const uint8_t *fresh = r.kv.aligned + r.kv.offset * kvElementBytes;
  const float *lg = r.logits.aligned + r.logits.offset;
  const int32_t *nz = r.nonzeros.aligned + r.nonzeros.offset;
  int64_t nzSites = r.nonzeros.sizes[0];
  std::vector<float> lgHost;
  std::vector<int32_t> nzHost;
  if (gpu) {
    // The kernels run asynchronously: append the K/V rows behind them, then
    // wait once and copy the logits and counts out.
    if (shapesMatch)
      appendRowsOnDevice(fresh, tokens, valid);
    std::string why = cuda_host::takeError();
    if (!cuda_host::synchronize() && why.empty())
      why = cuda_host::takeError();
    if (why.empty() && shapesMatch) {
      lgHost.resize(size_t(rows[1] > 0 ? (rows[1] - 1) * r.logits.strides[1] +
                                             vocab
                                       : 0));
      size_t nzCount =
          nzSites > 0 ? size_t((nzSites - 1) * r.nonzeros.strides[0] + valid) : 0;
      nzHost.resize(nzCount);
      if (!cuda_host::copyToHost(lgHost.data(), lg, lgHost.size() * 4) ||
          !cuda_host::copyToHost(nzHost.data(), nz, nzHost.size() * 4))
        why = cuda_host::takeError();
      lg = lgHost.data();
      nz = nzHost.data();
    }
    if (!why.empty())
      return fail(BITNET_ERROR_IO, "the GPU step failed: " + why);
  }
  if (!shapesMatch) {
    freeResults(r);
    return fail(BITNET_ERROR_IO, "the compiled code returned logits or K/V "
                                 "rows that do not match the metadata");
  }

  if (logits)
    for (int64_t t = 0; t < logitRows; ++t)
      std::memcpy(logits + t * vocab, lg + t * r.logits.strides[1],
                  sizeof(float) * size_t(vocab));
  for (int64_t s = 0; s < nzSites && s < int64_t(sites.size()); ++s)
    for (int64_t t = 0; t < valid; ++t) {
      sites[s].zeros += sites[s].width - nz[s * r.nonzeros.strides[0] + t];
      sites[s].total += sites[s].width;
    }
  if (!gpu)
    appendRowsOnHost(fresh, tokens, valid);
  freeResults(r);
  position += valid;
  return BITNET_OK;
}

bool bitnet_model::runDecodeGraph(
    StepResult &r, const int64_t *rows,
    const std::function<void(StepResult *)> &runCode) {
  if (graphsFailed || !cuda_host::graphsAllowed() || decodeSteps < 1)
    return false;
  if (decodeGraph && (decodeGraphRows[0] != rows[0] ||
                      decodeGraphRows[1] != rows[1])) {
    cuda_host::destroyGraph(decodeGraph);
    decodeGraph = nullptr;
  }
  if (!decodeGraph) {
    // Record: the code runs, its launches go into the graph.
    StepResult rec;
    std::memset(&rec, 0, sizeof(rec));
    // A failed recording falls back to running the code (which the failed
    // capture did not), and says so once: the steps are slower.
    auto giveUp = [&] {
      graphsFailed = true;
      std::fprintf(stderr,
                   "bitnet cuda: recording the decode step as a CUDA graph "
                   "failed (%s); decode steps run without a graph\n",
                   cuda_host::takeError().c_str());
      return false;
    };
    if (!cuda_host::beginCapture())
      return giveUp();
    runCode(&rec);
    decodeGraph = cuda_host::endCapture();
    if (!decodeGraph)
      return giveUp();
    decodeGraphResult = rec;
    decodeGraphRows[0] = rows[0];
    decodeGraphRows[1] = rows[1];
  }
  r = decodeGraphResult;
  return cuda_host::launchGraph(decodeGraph);
}

void bitnet_model::appendRowsOnHost(const uint8_t *fresh, int64_t tokens,
                                    int64_t valid) {
  const int64_t rowBytes = kvRow * kvElementBytes,
                newBytes = newRow * kvElementBytes, plane = headDim / 8;
  for (int64_t i = 0; i < 2 * layers; ++i)
    for (int64_t h = 0; h < kvHeads; ++h) {
      uint8_t *cache = kv + size_t((i * kvHeads + h) * kvRows * rowBytes);
      for (int64_t t = 0; t < valid; ++t) {
        const uint8_t *src = fresh + ((i * kvHeads + h) * tokens + t) * newBytes;
        uint8_t *dst = cache + (position + t) * rowBytes;
        if (!bitPlanes) {
          std::memcpy(dst, src, size_t(rowBytes));
          continue;
        }
        // Three planes and the scale; the BOS row's fourth plane goes to
        // the extra row after the positions.
        std::memcpy(dst, src, size_t(3 * plane));
        std::memcpy(dst + 3 * plane, src + 4 * plane, 4);
        if (position + t == 0)
          std::memcpy(cache + context * rowBytes, src + 3 * plane, size_t(plane));
      }
    }
}

bool bitnet_model::appendRowsOnDevice(const uint8_t *fresh, int64_t tokens,
                                      int64_t valid) {
  // The same copies as appendRowsOnHost, as strided copies over every
  // (layer, K/V, head) slice at once: rows [0, valid) of the new rows
  // (pitch newBytes, `tokens` per slice) to rows [position, position +
  // valid) of the cache (pitch rowBytes, kvRows per slice).
  const size_t rowBytes = size_t(kvRow * kvElementBytes),
               newBytes = size_t(newRow * kvElementBytes),
               plane = size_t(headDim / 8), slices = size_t(2 * layers * kvHeads);
  auto from = [&](size_t x) {
    return cuda_host::StridedSide{fresh, x, 0, newBytes, size_t(tokens)};
  };
  auto to = [&](size_t x, size_t y) {
    return cuda_host::StridedSide{kv, x, y, rowBytes, size_t(kvRows)};
  };
  if (!bitPlanes)
    return cuda_host::copyStrided(from(0), to(0, size_t(position)), rowBytes,
                                  size_t(valid), slices);
  bool ok = cuda_host::copyStrided(from(0), to(0, size_t(position)), 3 * plane,
                                   size_t(valid), slices) &&
            cuda_host::copyStrided(from(4 * plane), to(3 * plane, size_t(position)),
                                   4, size_t(valid), slices);
  if (ok && position == 0 && valid > 0)
    ok = cuda_host::copyStrided(from(3 * plane), to(0, size_t(context)), plane,
                                1, slices);
  return ok;
}

/// Models created and not yet freed.
static std::atomic<int64_t> liveModels{0};

extern "C" {

int bitnet_create(const char *path, bitnet_model **out, char *error,
                  size_t errorSize) {
  auto report = [&](const std::string &m) {
    if (error && errorSize) {
      std::snprintf(error, errorSize, "%s", m.c_str());
    }
  };
  if (!out || !path) {
    report("bitnet_create: null argument");
    return BITNET_ERROR_ARGUMENT;
  }
  *out = nullptr;
  auto model = std::make_unique<bitnet_model>();
  std::string why;
  if (!model->load(path, why)) {
    report(why);
    return model->loadError;
  }
  *out = model.release();
  ++liveModels;
  return BITNET_OK;
}

void bitnet_free(bitnet_model *model) {
  if (!model)
    return;
  delete model;
  // The step buffer cache goes with the last model.
  if (--liveModels == 0)
    host_memory::trim();
}

const char *bitnet_last_error(const bitnet_model *model) {
  return model ? model->error.c_str() : "null model";
}

int bitnet_info(const bitnet_model *m, bitnet_model_info *info) {
  if (!m || !info)
    return BITNET_ERROR_ARGUMENT;
  info->variant = m->variant.c_str();
  info->tokenizer = m->tokenizer.c_str();
  info->vocab = m->vocab;
  info->hidden = m->hidden;
  info->layers = m->layers;
  info->heads = m->heads;
  info->kv_heads = m->kvHeads;
  info->head_dim = m->headDim;
  info->ffn = m->ffn;
  info->max_context = m->context;
  info->prefill_chunk = m->chunk;
  info->prefill_wide_chunk = m->wideChunk;
  info->kv_bits = m->kvBits;
  info->kv_bos_bits = m->kvBosBits;
  info->kv_cache_bytes = int64_t(m->kvBytes);
  info->weight_bytes = int64_t(m->weightBytes);
  info->ternary_weights = m->ternary;
  info->cpu = m->cpu.c_str();
  info->cpu_features = m->cpuFeatures.c_str();
  info->device = m->device.c_str();
  info->gpu_arch = m->gpuArch.c_str();
  info->random_weights = m->randomWeights ? 1 : 0;
  return BITNET_OK;
}

static int checkTokens(bitnet_model *m, const int32_t *ids, int64_t n) {
  if (!ids || n <= 0)
    return m->fail(BITNET_ERROR_ARGUMENT, "no tokens given");
  for (int64_t i = 0; i < n; ++i)
    if (ids[i] < 0 || ids[i] >= m->vocab)
      return m->fail(BITNET_ERROR_ARGUMENT,
                     "token id " + std::to_string(ids[i]) + " at position " +
                         std::to_string(i) + " is outside the vocabulary [0, " +
                         std::to_string(m->vocab) + ")");
  if (m->position + n > m->context)
    return m->fail(BITNET_ERROR_CONTEXT,
                   std::to_string(m->position + n) +
                       " tokens do not fit the context of " +
                       std::to_string(m->context) + " (compile with a larger "
                       "--max-context)");
  return BITNET_OK;
}

int bitnet_prefill(bitnet_model *m, const int32_t *ids, int64_t n,
                   float *logits, int allRows) {
  if (!m)
    return BITNET_ERROR_ARGUMENT;
  if (int rc = checkTokens(m, ids, n))
    return rc;
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t done = 0; done < n;) {
    // The wide step while at least 3/4 of it is real tokens: on an H200 a
    // wide step of 4 chunks costs about 3 steps of one (2B4T shapes), so
    // padding beyond a quarter of it would be slower than chunks.
    bool wide = m->wideChunk && 4 * (n - done) >= 3 * m->wideChunk;
    int64_t stepTokens = wide ? m->wideChunk : m->chunk;
    int64_t valid = std::min(stepTokens, n - done);
    bool last = done + valid == n;
    float *out = logits ? (allRows ? logits + done * m->vocab
                                   : (last ? logits : nullptr))
                        : nullptr;
    int64_t rows = allRows ? valid : 1;
    int rc = valid == 1
                 ? m->step(m->decode, 1, ids + done, 1, out, 1)
                 : m->step(wide ? m->prefillWide : m->prefill, stepTokens,
                           ids + done, valid, out, rows);
    if (rc != BITNET_OK)
      return rc;
    ++(wide ? m->stats.prefill_wide_steps : m->stats.prefill_steps);
    done += valid;
  }
  m->stats.prefill_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  m->stats.prefill_tokens += n;
  return BITNET_OK;
}

int bitnet_decode(bitnet_model *m, int32_t id, float *logits) {
  if (!m)
    return BITNET_ERROR_ARGUMENT;
  if (int rc = checkTokens(m, &id, 1))
    return rc;
  auto t0 = std::chrono::steady_clock::now();
  if (int rc = m->step(m->decode, 1, &id, 1, logits, 1))
    return rc;
  m->stats.decode_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  m->stats.decode_tokens += 1;
  return BITNET_OK;
}

void bitnet_reset(bitnet_model *m) {
  if (!m)
    return;
  if (m->gpu)
    cuda_host::clear(m->kv, m->kvBytes);
  else
    std::memset(m->kv, 0, m->kvBytes);
  m->position = 0;
}

int bitnet_stats_get(const bitnet_model *m, bitnet_stats *stats) {
  if (!m || !stats)
    return BITNET_ERROR_ARGUMENT;
  *stats = m->stats;
  stats->position = m->position;
  return BITNET_OK;
}

int64_t bitnet_sparsity(const bitnet_model *m, bitnet_sparsity_row *rows,
                        int64_t maxRows) {
  if (!m)
    return 0;
  int64_t count = int64_t(m->groups.size());
  if (!rows)
    return count;
  std::vector<bitnet_sparsity_row> table(m->groups.size());
  std::vector<std::pair<int64_t, int64_t>> codes(m->groups.size()); // zeros, total
  for (size_t g = 0; g < m->groups.size(); ++g) {
    table[g] = bitnet_sparsity_row{m->groups[g].label.c_str(),
                                   m->groups[g].scheme.c_str(), 0, 0, 0, 0};
  }
  for (const Site &s : m->sites) {
    bitnet_sparsity_row &r = table[s.group];
    r.sites += 1;
    r.weight_params += s.params;
    double sparsity = s.total ? double(s.zeros) / double(s.total) : 0.0;
    r.active_params += double(s.params) * (1.0 - sparsity);
    codes[s.group].first += s.zeros;
    codes[s.group].second += s.total;
  }
  int64_t n = std::max<int64_t>(0, std::min(count, maxRows));
  for (int64_t g = 0; g < n; ++g) {
    auto [zeros, total] = codes[size_t(g)];
    table[size_t(g)].input_sparsity = total ? double(zeros) / double(total) : 0.0;
    rows[g] = table[size_t(g)];
  }
  return n;
}

} // extern "C"
