//===- ONNXModel.cpp - Load and validate ONNX models ----------------------===//

#include "bitnet/Conversion/ONNXToBitNet/ONNXModel.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include "onnx/onnx_pb.h"

#include <algorithm>
#include <cstdlib>

using namespace mlir::bitnet::onnx_import;
using llvm::StringRef;

// Everything the TorchScript and dynamo exporters emit for the model family
// of DESIGN.md section 1.
static const StringRef kSupportedOps[] = {
    "Abs",        "Add",         "Cast",          "Clip",
    "Concat",     "Constant",    "ConstantOfShape", "Cos",
    "Div",        "Equal",       "Erf",           "Exp",
    "Expand",     "Gather",      "GatherElements", "Gemm",
    "Greater",    "GreaterOrEqual", "Identity",   "Less",
    "LessOrEqual", "MatMul",     "Max",           "Min",
    "Mul",        "Neg",         "Not",           "Pow",
    "Range",      "Reciprocal",  "ReduceMax",     "ReduceMean",
    "ReduceSum",  "Relu",        "Reshape",       "Round",
    "ScatterElements", "ScatterND", "Shape",      "Sigmoid",
    "Sin",        "Slice",       "Softmax",       "Split",
    "Sqrt",       "Squeeze",     "Sub",           "Tanh",
    "TopK",       "Transpose",   "Trilu",         "Unsqueeze",
    "Where",
};

// The exact op set of docs/ONNXCustomOps.md.
static const StringRef kBitNetOps[] = {
    "AbsmaxQuant", "AbsmeanQuant", "BitLinear", "Dequantize",
    "KVQuant",     "ReLU2GLU",     "TernaryQuant", "TopKSparsify",
};

llvm::ArrayRef<StringRef> mlir::bitnet::onnx_import::bitnetDomainOps() {
  return kBitNetOps;
}

llvm::ArrayRef<StringRef> mlir::bitnet::onnx_import::supportedOps() {
  return kSupportedOps;
}

ONNXModel::ONNXModel() = default;


ONNXModel::~ONNXModel() = default;
ONNXModel::ONNXModel(ONNXModel &&) = default;

namespace {

llvm::Error fail(StringRef path, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "'" + path + "': " + message);
}

/// Bytes per element of an ONNX tensor data type, or 0 if unsupported.
int64_t elementBytes(int32_t type) {
  using T = onnx::TensorProto;
  switch (type) {
  case T::FLOAT:
  case T::INT32:
    return 4;
  case T::INT64:
  case T::DOUBLE:
    return 8;
  case T::FLOAT16:
  case T::BFLOAT16:
    return 2;
  case T::INT8:
  case T::UINT8:
  case T::BOOL:
    return 1;
  default:
    return 0;
  }
}

/// Elements stored in the typed (non-raw) field that `type` uses.
int64_t typedFieldCount(const onnx::TensorProto &t) {
  using T = onnx::TensorProto;
  switch (t.data_type()) {
  case T::FLOAT:
    return t.float_data_size();
  case T::INT64:
    return t.int64_data_size();
  case T::DOUBLE:
    return t.double_data_size();
  default: // int32, int8, uint8, bool, float16, bfloat16 live in int32_data
    return t.int32_data_size();
  }
}

std::string shapeString(const onnx::TensorProto &t) {
  std::string s = "[";
  for (int i = 0; i < t.dims_size(); ++i)
    s += (i ? ", " : "") + std::to_string(t.dims(i));
  return s + "]";
}

/// Where an external tensor's bytes are: file (beside the model), offset and
/// length (-1: to be computed from the shape).
struct ExternalRef {
  std::string file;
  int64_t offset = 0, length = -1;
};

ExternalRef externalRef(StringRef modelPath, const onnx::TensorProto &t) {
  ExternalRef ref;
  for (const onnx::StringStringEntryProto &kv : t.external_data()) {
    if (kv.key() == "location") {
      llvm::SmallString<256> file(llvm::sys::path::parent_path(modelPath));
      llvm::sys::path::append(file, kv.value());
      ref.file = std::string(file);
    } else if (kv.key() == "offset") {
      ref.offset = std::atoll(kv.value().c_str());
    } else if (kv.key() == "length") {
      ref.length = std::atoll(kv.value().c_str());
    }
  }
  return ref;
}

llvm::Error checkTensor(StringRef path, const onnx::TensorProto &t,
                        const std::string &what) {
  int64_t bytes = elementBytes(t.data_type());
  if (bytes == 0)
    return fail(path, what + " '" + t.name() + "': unsupported data type " +
                          onnx::TensorProto::DataType_Name(
                              onnx::TensorProto::DataType(t.data_type())));
  int64_t count = 1;
  for (int64_t d : t.dims()) {
    if (d < 0)
      return fail(path, what + " '" + t.name() + "': negative dimension in " +
                            shapeString(t));
    count *= d;
  }
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    ExternalRef ref = externalRef(path, t);
    if (ref.file.empty())
      return fail(path, what + " '" + t.name() +
                            "': external data without a location");
    uint64_t fileSize = 0;
    if (llvm::sys::fs::file_size(ref.file, fileSize))
      return fail(path, what + " '" + t.name() + "': cannot read its external "
                            "data file '" + ref.file + "'");
    int64_t need = count * bytes;
    if ((ref.length >= 0 && ref.length != need) || ref.offset < 0 ||
        uint64_t(ref.offset + need) > fileSize)
      return fail(path, what + " '" + t.name() + "': shape " + shapeString(t) +
                            " needs " + std::to_string(need) + " bytes at offset " +
                            std::to_string(ref.offset) + " of '" + ref.file +
                            "' (" + std::to_string(fileSize) + " bytes)");
    return llvm::Error::success();
  }
  if (t.has_raw_data()) {
    int64_t have = int64_t(t.raw_data().size());
    if (have != count * bytes)
      return fail(path, what + " '" + t.name() + "': shape " + shapeString(t) +
                            " needs " + std::to_string(count * bytes) +
                            " bytes of data, found " + std::to_string(have));
  } else if (typedFieldCount(t) != count) {
    return fail(path, what + " '" + t.name() + "': shape " + shapeString(t) +
                          " needs " + std::to_string(count) +
                          " values, found " + std::to_string(typedFieldCount(t)));
  }
  return llvm::Error::success();
}

} // namespace

llvm::Expected<ONNXModel>
mlir::bitnet::onnx_import::loadONNXModel(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
  if (!buffer)
    return fail(path, "cannot read: " + buffer.getError().message());
  ONNXModel model;
  model.path = path.str();
  model.proto = std::make_unique<onnx::ModelProto>();
  StringRef bytes = (*buffer)->getBuffer();
  if (bytes.empty())
    return fail(path, "empty file, not an ONNX model");
  if (!model.proto->ParseFromArray(bytes.data(), int(bytes.size())))
    return fail(path, "not an ONNX model, or the file is truncated or corrupt "
                      "(protobuf parsing failed)");
  const onnx::ModelProto &m = *model.proto;
  if (m.ir_version() <= 0 || !m.has_graph() || m.graph().output_size() == 0)
    return fail(path, "not an ONNX model (no IR version or no graph outputs)");

  for (const onnx::OperatorSetIdProto &set : m.opset_import())
    if (set.domain().empty() || set.domain() == "ai.onnx")
      model.opset = set.version();
  if (model.opset < kMinOpset || model.opset > kMaxOpset)
    return fail(path, "unsupported opset " + std::to_string(model.opset) +
                          " of the default ONNX domain (supported: " +
                          std::to_string(kMinOpset) + " to " +
                          std::to_string(kMaxOpset) + ")");

  const onnx::GraphProto &g = m.graph();
  for (const onnx::TensorProto &t : g.initializer())
    if (llvm::Error err = checkTensor(path, t, "initializer"))
      return std::move(err);
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto &n = g.node(i);
    std::string node = "node '" + (n.name().empty() ? "#" + std::to_string(i)
                                                    : n.name()) +
                       "' (" + n.op_type() + ")";
    if (n.domain() == kBitNetDomain) {
      if (!llvm::is_contained(kBitNetOps, StringRef(n.op_type())))
        return fail(path, node + ": unknown op '" + n.op_type() +
                              "' of domain '" + n.domain() +
                              "' (docs/ONNXCustomOps.md lists them)");
      ++model.opCounts[n.domain() + "." + n.op_type()];
      continue;
    }
    if (!n.domain().empty() && n.domain() != "ai.onnx")
      return fail(path, node + ": op of unsupported domain '" + n.domain() + "'");
    if (!llvm::is_contained(kSupportedOps, StringRef(n.op_type())))
      return fail(path, node + ": unsupported op '" + n.op_type() + "'");
    for (const onnx::AttributeProto &a : n.attribute())
      if (a.has_t())
        if (llvm::Error err = checkTensor(path, a.t(), node + " attribute"))
          return std::move(err);
    ++model.opCounts[n.op_type()];
  }
  return std::move(model);
}

llvm::Expected<StringRef>
ONNXModel::rawData(const onnx::TensorProto &t) const {
  if (t.data_location() != onnx::TensorProto::EXTERNAL)
    return StringRef(t.raw_data());
  ExternalRef ref = externalRef(path, t);
  std::unique_ptr<llvm::MemoryBuffer> &file = externalFiles[ref.file];
  if (!file) {
    auto buffer = llvm::MemoryBuffer::getFile(ref.file, /*IsText=*/false,
                                              /*RequiresNullTerminator=*/false);
    if (!buffer)
      return fail(path, "tensor '" + t.name() + "': cannot map '" + ref.file +
                            "': " + buffer.getError().message());
    file = std::move(*buffer);
  }
  int64_t count = 1;
  for (int64_t d : t.dims())
    count *= d;
  return file->getBuffer().substr(ref.offset, count * elementBytes(t.data_type()));
}

std::vector<std::string>
mlir::bitnet::onnx_import::symbolicDims(const ONNXModel &model) {
  std::vector<std::string> names;
  for (const onnx::ValueInfoProto &in : model.proto->graph().input())
    for (const auto &dim : in.type().tensor_type().shape().dim())
      if (!dim.dim_param().empty() &&
          std::find(names.begin(), names.end(), dim.dim_param()) == names.end())
        names.push_back(dim.dim_param());
  return names;
}
