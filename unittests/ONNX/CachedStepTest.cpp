//===- CachedStepTest.cpp - Prefill and decode derived from one export ----===//
//
// The importer derives a KV-cached step from the plain full-sequence export
// (ImportOptions::kvCacheLength, ImporterKVCache.cpp). Here the 64-byte
// reference prompt runs as the runtime would run it: two prefill chunks of
// 16 (the second padded: 24 prompt tokens), then 40 single-token decode
// steps, each step's new K/V stored into the cache at its positions. Every
// position's logits must match PyTorch's full-sequence logits as closely as
// the full-sequence import does, with the same top-1 token. Each model runs
// twice: attention imported as its ops, and as one bitnet.cached_attention
// per layer (ImportOptions::fuseCachedAttention, its reference lowering),
// which every bundled export's attention must be recognized as.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Conversion/ONNXToBitNet/ONNXImporter.h"
#include "bitnet/ExecutionEngine/ReferenceJit.h"
#include "bitnet/Support/Npy.h"

#include "mlir/ExecutionEngine/CRunnerUtils.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <map>

using namespace mlir;
namespace imp = mlir::bitnet::onnx_import;

namespace {

constexpr int64_t kCache = 64, kChunk = 16, kPrompt = 24;

/// One compiled step function (seq new tokens) and the caches it reads.
struct Step {
  std::unique_ptr<ExecutionEngine> engine;
  int64_t seq = 0;
};

struct Cache {
  int64_t layers = 0, kvHeads = 0, headDim = 0;
  std::vector<float> kv; // [2 * layers, 1, kv_heads, kCache, head_dim]
};

llvm::Expected<Step> compileStep(const imp::ONNXModel &model, MLIRContext &ctx,
                                 int64_t seq, imp::ImportStats &stats,
                                 std::pair<int64_t, int64_t> kvBits,
                                 bool fuseAttention) {
  imp::ImportOptions options;
  options.fuseCachedAttention = fuseAttention;
  options.dims["seq"] = seq;
  options.kvCacheLength = kCache;
  options.kvBitsHint = kvBits;
  auto module = imp::importONNXModel(model, ctx, options, &stats);
  if (!module)
    return module.takeError();
  auto engine = bitnet::compileReferenceJit(**module);
  if (!engine)
    return engine.takeError();
  return Step{std::move(*engine), seq};
}

/// Runs `step` on ids at `start`; writes logits [seq, vocab] and stores the
/// first `valid` new positions' K/V into the cache.
void runStep(Step &step, const int64_t *ids, int64_t valid, int64_t start,
             Cache &cache, int64_t vocab, std::vector<float> &logits) {
  std::vector<int64_t> idBuf(step.seq, 0);
  std::copy(ids, ids + valid, idBuf.begin());
  StridedMemRefType<int64_t, 2> idsRef{idBuf.data(), idBuf.data(), 0,
                                       {1, step.seq}, {step.seq, 1}};
  int64_t startValue = start;
  StridedMemRefType<int64_t, 0> startRef{&startValue, &startValue, 0};
  int64_t H = cache.kvHeads, D = cache.headDim, L2 = 2 * cache.layers;
  StridedMemRefType<float, 5> cacheRef{
      cache.kv.data(), cache.kv.data(), 0, {L2, 1, H, kCache, D},
      {H * kCache * D, H * kCache * D, kCache * D, D, 1}};
  // Results: logits (rank 3: 9 words), then the new K/V (rank 5: 13 words).
  std::vector<int64_t> results(9 + 13);
  void *resultPtr = results.data();
  llvm::SmallVector<void *> args{&resultPtr};
  auto *idsPtr = &idsRef;
  auto *startPtr = &startRef;
  auto *cachePtr = &cacheRef;
  args.push_back(&idsPtr);
  args.push_back(&startPtr);
  args.push_back(&cachePtr);
  llvm::Error err = step.engine->invokePacked("_mlir_ciface_main", args);
  ASSERT_FALSE(err) << llvm::toString(std::move(err));
  auto data = [&](size_t word) {
    return reinterpret_cast<const float *>(results[word + 1]) + results[word + 2];
  };
  logits.assign(data(0), data(0) + step.seq * vocab);
  std::free(reinterpret_cast<void *>(results[0]));
  const float *fresh = data(9);
  for (int64_t i = 0; i < L2; ++i)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < valid; ++t) {
        const float *src = fresh + ((i * H + h) * step.seq + t) * D;
        std::copy(src, src + D,
                  cache.kv.data() + ((i * H + h) * kCache + start + t) * D);
      }
  std::free(reinterpret_cast<void *>(results[9]));
}

class CachedStepTest
    : public ::testing::TestWithParam<std::tuple<const char *, bool>> {};

TEST_P(CachedStepTest, PrefillChunksAndDecodeMatchFullSequence) {
  std::string param = std::get<0>(GetParam());
  bool fused = std::get<1>(GetParam());
  bool dynamo = llvm::StringRef(param).ends_with(".dynamo");
  std::string name = dynamo ? param.substr(0, param.size() - 7) : param;
  std::string root = BITNET_SOURCE_DIR "/models/";
  std::map<std::string, npy::Array> ref;
  std::string error;
  ASSERT_TRUE(npy::readNpz(root + "reference/" + name + ".npz", ref, error))
      << error;
  const npy::Array &want = ref["logits"];
  int64_t seq = want.shape[1], vocab = want.shape[2];
  ASSERT_EQ(seq, kCache);
  const int64_t *ids = ref["input_ids"].i64();

  auto model = imp::loadONNXModel(
      root + (dynamo ? "onnx-dynamo/" + name + ".dynamo.onnx"
                     : "onnx/" + name + ".onnx"));
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  std::unique_ptr<MLIRContext> context = bitnet::createReferenceContext();
  imp::ImportStats prefillStats, decodeStats;
  auto prefill =
      compileStep(*model, *context, kChunk, prefillStats, {0, 0}, fused);
  ASSERT_TRUE(bool(prefill)) << llvm::toString(prefill.takeError());
  auto decode = compileStep(*model, *context, 1, decodeStats,
                            {prefillStats.kvBits, prefillStats.kvBosBits},
                            fused);
  ASSERT_TRUE(bool(decode)) << llvm::toString(decode.takeError());
  ASSERT_GT(decodeStats.cachedAttentionLayers, 0);
  EXPECT_EQ(prefillStats.cachedAttentionLayers,
            decodeStats.cachedAttentionLayers);
  EXPECT_EQ(prefillStats.fusedAttentionLayers,
            fused ? prefillStats.cachedAttentionLayers : 0);
  EXPECT_EQ(decodeStats.fusedAttentionLayers,
            fused ? decodeStats.cachedAttentionLayers : 0);

  // The cache's shape, from the record the full-sequence import writes.
  imp::ImportOptions fullOptions;
  fullOptions.dims["seq"] = kChunk;
  auto full = imp::importONNXModel(*model, *context, fullOptions);
  ASSERT_TRUE(bool(full)) << llvm::toString(full.takeError());
  auto record = (**full)->getAttrOfType<DictionaryAttr>("bitnet.decoder");
  ASSERT_TRUE(record);
  auto field = [&](const char *key) {
    return cast<IntegerAttr>(record.get(key)).getInt();
  };
  Cache cache{field("layers"), field("kv_heads"), field("head_dim"), {}};
  ASSERT_EQ(cache.layers, decodeStats.cachedAttentionLayers);
  cache.kv.assign(2 * cache.layers * cache.kvHeads * kCache * cache.headDim, 0);

  std::vector<float> got(seq * vocab), logits;
  for (int64_t start = 0; start < kPrompt; start += kChunk) {
    int64_t valid = std::min(kChunk, kPrompt - start);
    runStep(*prefill, ids + start, valid, start, cache, vocab, logits);
    std::copy(logits.begin(), logits.begin() + valid * vocab,
              got.begin() + start * vocab);
  }
  for (int64_t pos = kPrompt; pos < seq; ++pos) {
    runStep(*decode, ids + pos, 1, pos, cache, vocab, logits);
    std::copy(logits.begin(), logits.end(), got.begin() + pos * vocab);
  }

  double d2 = 0, r2 = 0, maxAbs = 0;
  int64_t top1 = 0;
  for (int64_t t = 0; t < seq; ++t) {
    const float *g = got.data() + t * vocab, *w = want.f32() + t * vocab;
    for (int64_t v = 0; v < vocab; ++v) {
      double d = double(g[v]) - double(w[v]);
      d2 += d * d;
      r2 += double(w[v]) * double(w[v]);
      maxAbs = std::max(maxAbs, std::fabs(d));
    }
    top1 += std::max_element(g, g + vocab) - g ==
            std::max_element(w, w + vocab) - w;
  }
  double relL2 = std::sqrt(d2 / r2);
  std::printf("%s%s: prefill %lldx2 + decode %lld vs PyTorch full sequence: rel "
              "L2 %.3g, max|d| %.3g, top-1 %lld/%lld\n",
              param.c_str(), fused ? " (fused attention)" : "",
              (long long)kChunk, (long long)(seq - kPrompt),
              relL2, maxAbs, (long long)top1, (long long)seq);
  // The full-sequence import's own bounds (docs/ONNXImport.md): float
  // rounding, or a rounding tie in a quantizer; KV-quantized models reach
  // ~1e-2 and lose some top-1 agreement at near-ties.
  bool kvQuant = name.find("_kv") != std::string::npos;
  EXPECT_LE(relL2, kvQuant ? 2e-2 : 2e-3);
  EXPECT_GE(top1, kvQuant ? seq - 4 : seq);
}

INSTANTIATE_TEST_SUITE_P(
    Models, CachedStepTest,
    ::testing::Combine(::testing::Values("llama", "b158", "a48", "a48fp4",
                                         "a48_threshold", "a48_kv4", "a48_kv3",
                                         "b158_addeps", "llama.dynamo",
                                         "a48.dynamo", "a48_kv3.dynamo"),
                       ::testing::Bool()),
                         [](const auto &info) {
                           std::string s = std::get<0>(info.param);
                           if (std::get<1>(info.param))
                             s += ".fused";
                           for (char &c : s)
                             if (c == '.')
                               c = '_';
                           return s;
                         });

} // namespace
