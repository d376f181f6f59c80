//===- PastKeyValuesTest.cpp - A decode step with explicit past K/V -------===//
//
// models/onnx/<name>_past.onnx takes input_ids and per-layer past K/V and
// returns logits and present K/V (models/export_past.py). Compiled with
// seq = 1 and past = 63, one decode step on the 64th prompt token must give
// PyTorch's logits for it (and the full-sequence export's last row), and
// present K/V equal to PyTorch's.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Conversion/ONNXToBitNet/ONNXImporter.h"
#include "bitnet/ExecutionEngine/ReferenceJit.h"
#include "bitnet/Support/Npy.h"

#include "mlir/ExecutionEngine/CRunnerUtils.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <map>

using namespace mlir;
namespace imp = mlir::bitnet::onnx_import;

namespace {

/// Max |a - b| and relative L2 of b against a.
std::pair<double, double> compare(const float *got, const float *want,
                                  int64_t n) {
  double d2 = 0, r2 = 0, maxAbs = 0;
  for (int64_t i = 0; i < n; ++i) {
    double d = double(got[i]) - double(want[i]);
    d2 += d * d;
    r2 += double(want[i]) * double(want[i]);
    maxAbs = std::max(maxAbs, std::fabs(d));
  }
  return {maxAbs, std::sqrt(d2 / r2)};
}

class PastKeyValuesTest : public ::testing::TestWithParam<const char *> {};

TEST_P(PastKeyValuesTest, DecodeStepMatchesPyTorch) {
  std::string name = GetParam();
  std::string root = BITNET_SOURCE_DIR "/models/";
  std::map<std::string, npy::Array> ref;
  std::string error;
  ASSERT_TRUE(npy::readNpz(root + "reference/" + name + "_past.npz", ref, error))
      << error;
  int64_t layers = 0;
  while (ref.count("past_k_" + std::to_string(layers)))
    ++layers;
  ASSERT_GT(layers, 0);
  const npy::Array &past0 = ref["past_k_0"];
  int64_t kvHeads = past0.shape[1], past = past0.shape[2],
          headDim = past0.shape[3], vocab = ref["logits"].shape[2];

  auto model = imp::loadONNXModel(root + "onnx/" + name + "_past.onnx");
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  std::unique_ptr<MLIRContext> context = bitnet::createReferenceContext();
  imp::ImportOptions options;
  options.dims["seq"] = 1;
  options.dims["past"] = past;
  auto module = imp::importONNXModel(*model, *context, options);
  ASSERT_TRUE(bool(module)) << llvm::toString(module.takeError());
  auto engine = bitnet::compileReferenceJit(**module);
  ASSERT_TRUE(bool(engine)) << llvm::toString(engine.takeError());

  // Arguments: input_ids [1, 1], then past_k_i, past_v_i [1, H, P, D].
  std::vector<int64_t> ids(ref["input_ids"].i64(), ref["input_ids"].i64() + 1);
  StridedMemRefType<int64_t, 2> idsRef{ids.data(), ids.data(), 0, {1, 1}, {1, 1}};
  std::vector<std::vector<float>> pastData;
  std::vector<StridedMemRefType<float, 4>> pastRefs;
  for (int64_t i = 0; i < layers; ++i)
    for (const char *kv : {"k", "v"}) {
      const npy::Array &a = ref["past_" + std::string(kv) + "_" + std::to_string(i)];
      pastData.emplace_back(a.f32(), a.f32() + a.size());
    }
  for (std::vector<float> &d : pastData)
    pastRefs.push_back({d.data(), d.data(), 0, {1, kvHeads, past, headDim},
                        {kvHeads * past * headDim, past * headDim, headDim, 1}});
  llvm::SmallVector<void *> args;
  // Results come first, as one struct: logits (rank 3), then 2 * layers
  // present tensors (rank 4), each a memref descriptor of 3 + 2 * rank words.
  std::vector<int64_t> results(9 + 2 * layers * 11);
  void *resultPtr = results.data();
  args.push_back(&resultPtr);
  StridedMemRefType<int64_t, 2> *idsPtr = &idsRef;
  args.push_back(&idsPtr);
  std::vector<StridedMemRefType<float, 4> *> pastPtrs;
  for (auto &r : pastRefs)
    pastPtrs.push_back(&r);
  for (auto &p : pastPtrs)
    args.push_back(&p);
  llvm::Error err = (*engine)->invokePacked("_mlir_ciface_main", args);
  ASSERT_FALSE(err) << llvm::toString(std::move(err));

  auto data = [&](size_t word) {
    return reinterpret_cast<const float *>(results[word + 1]) + results[word + 2];
  };
  auto [maxAbs, relL2] = compare(data(0), ref["logits"].f32(), vocab);
  auto [fullAbs, fullL2] = compare(data(0), ref["full_logits"].f32(), vocab);
  std::printf("%s decode step: vs PyTorch step rel L2 %.3g max|d| %.3g; vs "
              "full sequence rel L2 %.3g\n",
              name.c_str(), relL2, maxAbs, fullL2);
  EXPECT_LE(relL2, 1e-5);
  EXPECT_LE(fullL2, 1e-5);
  const float *got = data(0), *want = ref["logits"].f32();
  EXPECT_EQ(std::max_element(got, got + vocab) - got,
            std::max_element(want, want + vocab) - want);
  for (int64_t i = 0; i < 2 * layers; ++i) {
    size_t word = 9 + i * 11;
    ASSERT_EQ(results[word + 5], past + 1) << "present length";
    std::string key = std::string("present_") + (i % 2 ? "v_" : "k_") +
                      std::to_string(i / 2);
    auto [pAbs, pL2] = compare(data(word), ref[key].f32(), ref[key].size());
    EXPECT_LE(pL2, 1e-5) << key << " max|d| " << pAbs;
    std::free(reinterpret_cast<void *>(results[word]));
  }
  std::free(reinterpret_cast<void *>(results[0]));
}

INSTANTIATE_TEST_SUITE_P(Models, PastKeyValuesTest,
                         ::testing::Values("llama", "a48"));

} // namespace
