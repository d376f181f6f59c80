//===- CorruptInputTest.cpp - Damaged ONNX files never crash the importer -===//
//
// Every prefix of a real export, and the export with bytes flipped at many
// places, is loaded, validated and (when it validates) imported: each must
// end in a clear error or a verified module, never a crash.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Conversion/ONNXToBitNet/ONNXImporter.h"
#include "bitnet/ExecutionEngine/ReferenceJit.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>

using namespace mlir;
namespace imp = mlir::bitnet::onnx_import;

namespace {

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

/// Loads and imports `bytes`; returns "ok" or the error message.
std::string tryImport(const std::string &bytes, MLIRContext &context) {
  std::string path = ::testing::TempDir() + "corrupt.onnx";
  std::ofstream(path, std::ios::binary) << bytes;
  auto model = imp::loadONNXModel(path);
  if (!model)
    return llvm::toString(model.takeError());
  imp::ImportOptions options;
  options.dims["seq"] = 8;
  auto module = imp::importONNXModel(*model, context, options);
  if (!module)
    return llvm::toString(module.takeError());
  return "ok";
}

TEST(CorruptInput, PrefixesAndFlippedBytesGiveErrors) {
  std::string good = readFile(BITNET_SOURCE_DIR "/models/onnx/a48.onnx");
  ASSERT_GT(good.size(), 1000u);
  std::unique_ptr<MLIRContext> context = bitnet::createReferenceContext();
  ASSERT_EQ(tryImport(good, *context), "ok");

  int errors = 0;
  // Prefixes: the graph comes first in the file and the weights last.
  for (size_t cut : {size_t(0), size_t(1), size_t(7), size_t(100),
                     good.size() / 10, good.size() / 2, good.size() - 1}) {
    std::string msg = tryImport(good.substr(0, cut), *context);
    EXPECT_NE(msg, "ok") << "prefix of " << cut << " bytes";
    EXPECT_NE(msg.find("corrupt.onnx"), std::string::npos) << msg;
    ++errors;
  }
  // Flipped bytes in the first 64 KiB (the graph and the small tensors).
  std::mt19937 rng(1);
  for (int trial = 0; trial < 40; ++trial) {
    std::string bad = good;
    for (int i = 0; i < 4; ++i)
      bad[rng() % std::min<size_t>(bad.size(), 65536)] ^= char(1 + rng() % 255);
    std::string msg = tryImport(bad, *context);
    if (msg != "ok") {
      EXPECT_NE(msg.find("corrupt.onnx"), std::string::npos) << msg;
      ++errors;
    }
  }
  EXPECT_GT(errors, 7);
}

} // namespace
