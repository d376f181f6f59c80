//===- ONNXModel.h - Load and validate ONNX models --------------*- C++ -*-===//
//
// The first step of ONNX import: read a .onnx file and check everything the
// importer relies on before any IR is built (protobuf integrity, opset,
// supported ops, initializer sizes). Every failure is one message naming the
// file, and where it applies the node, its op and the reason.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_CONVERSION_ONNXTOBITNET_ONNXMODEL_H
#define BITNET_CONVERSION_ONNXTOBITNET_ONNXMODEL_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace onnx {
class ModelProto;
class TensorProto;
} // namespace onnx

namespace llvm {
class MemoryBuffer;
} // namespace llvm

namespace mlir::bitnet::onnx_import {

/// Opsets of the default ONNX domain the importer accepts.
constexpr int64_t kMinOpset = 13;
constexpr int64_t kMaxOpset = 21;

/// The ops of the default domain the importer knows (sorted).
llvm::ArrayRef<llvm::StringRef> supportedOps();

/// The custom domain of exact BitNet ops (docs/ONNXCustomOps.md), and its ops.
constexpr const char *kBitNetDomain = "ai.bitnet";
llvm::ArrayRef<llvm::StringRef> bitnetDomainOps();

struct ONNXModel {
  std::string path;
  std::unique_ptr<onnx::ModelProto> proto;
  /// The raw bytes of tensor `t`: its raw_data, or the slice of its external
  /// data file (memory-mapped once per file, beside the model). Validation
  /// has checked every slice's bounds.
  llvm::Expected<llvm::StringRef> rawData(const onnx::TensorProto &t) const;
  int64_t opset = 0;
  /// Op type -> number of nodes, over the main graph.
  std::map<std::string, int64_t> opCounts;

  ONNXModel();
  ~ONNXModel();
  ONNXModel(ONNXModel &&);

private:
  mutable std::map<std::string, std::unique_ptr<llvm::MemoryBuffer>>
      externalFiles;
};

/// The names of the symbolic dimensions of the graph's inputs (dim_param),
/// in order of first appearance.
std::vector<std::string> symbolicDims(const ONNXModel &model);

/// Reads and validates `path`. The error names the file and, for a node, its
/// name, op type and the reason.
llvm::Expected<ONNXModel> loadONNXModel(llvm::StringRef path);

} // namespace mlir::bitnet::onnx_import

#endif // BITNET_CONVERSION_ONNXTOBITNET_ONNXMODEL_H
