//===- GraphImporter.h - The ONNX graph importer, shared by its parts -*- C++ -*-===//
//
// Private to lib/Conversion/ONNXToBitNet: the importer's value model and the
// GraphImporter class, whose op handlers live in one file per family
// (ImporterElementwise.cpp, ImporterTensorOps.cpp, ImporterRecognition.cpp)
// and whose driver is ONNXImporter.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_LIB_CONVERSION_ONNXTOBITNET_GRAPHIMPORTER_H
#define BITNET_LIB_CONVERSION_ONNXTOBITNET_GRAPHIMPORTER_H

#include "bitnet/Conversion/ONNXToBitNet/ONNXImporter.h"
#include "QuantizerPatterns.h"

#include "bitnet/Dialect/BitNet/IR/BitNetDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

#include "llvm/ADT/STLExtras.h"

#include "onnx/onnx_pb.h"

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <set>

namespace mlir::bitnet::onnx_import::detail {


/// Values computed at import time are kept up to this many elements.
constexpr int64_t kMaxFoldedElements = 1 << 16;

using Shape = SmallVector<int64_t>;

inline int64_t numElements(ArrayRef<int64_t> shape) {
  return std::accumulate(shape.begin(), shape.end(), int64_t(1),
                         std::multiplies<int64_t>());
}

inline SmallVector<int64_t> rowMajorStrides(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t i = int64_t(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

/// A graph value: its type, its IR value once emitted, and its contents when
/// known at import time.
struct Tensor {
  RankedTensorType type;
  Value value;
  std::optional<std::vector<double>> data;
  /// Every element's value, where the tensor is too large for `data` but
  /// known to be a splat (ConstantOfShape, Expand of a scalar): patterns
  /// such as TopK's scatter of ones into zeros test it at any size.
  std::optional<double> splat = std::nullopt;

  ArrayRef<int64_t> shape() const { return type.getShape(); }
  int64_t rank() const { return type.getRank(); }
  Type elementType() const { return type.getElementType(); }
  bool known() const { return data.has_value(); }
  /// The value of every element when they are known to be all the same.
  std::optional<double> splatValue() const {
    if (splat || !data || data->empty())
      return splat;
    for (double x : *data)
      if (x != (*data)[0])
        return std::nullopt;
    return (*data)[0];
  }
};

/// Rounds a double to what `type` can hold.
inline double roundTo(Type type, double v) {
  if (type.isF32())
    return double(float(v));
  if (type.isInteger(1))
    return v != 0.0 ? 1.0 : 0.0;
  if (isa<IntegerType>(type))
    return std::trunc(v);
  return v;
}

/// numpy broadcasting of two shapes; nullopt if incompatible.
inline std::optional<Shape> broadcastShapes(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      return std::nullopt;
    out[i] = da == 1 ? db : da;
  }
  return out;
}

/// Index of element `flat` of `out` in a tensor of `in` shape broadcast to it.
inline int64_t broadcastIndex(int64_t flat, ArrayRef<int64_t> out,
                       ArrayRef<int64_t> in) {
  int64_t idx = 0, stride = 1;
  for (int64_t d = int64_t(out.size()) - 1, e = int64_t(in.size()) - 1; d >= 0;
       --d, --e) {
    int64_t coord = flat % out[d];
    flat /= out[d];
    if (e >= 0) {
      if (in[e] != 1)
        idx += coord * stride;
      stride *= in[e];
    }
  }
  return idx;
}

class GraphImporter {
public:
  GraphImporter(const ONNXModel &model, MLIRContext &context,
                const ImportOptions &options)
      : model(model), options(options), ctx(&context), b(&context),
        loc(FileLineColLoc::get(&context, model.path, 0, 0)), fileLoc(loc) {}

  llvm::Expected<OwningOpRef<ModuleOp>> run();

private:
  // Errors -------------------------------------------------------------------
  llvm::Error error(const Twine &message) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "'" + model.path + "': " + message);
  }
  llvm::Error nodeError(const Twine &message) {
    return error("node '" + nodeName + "' (" + node->op_type() + "): " +
                 message);
  }

  // Types and values ----------------------------------------------------------
  Type elementType(int32_t onnxType);
  llvm::Expected<Tensor> tensorFromProto(const onnx::TensorProto &t);
  Value materialize(Tensor &t);
  llvm::Expected<Tensor *> input(int i);
  /// The inputs at `indices`, in order; an error if any is missing.
  llvm::Error inputs(ArrayRef<int> indices, SmallVectorImpl<Tensor *> &out);
  bool hasInput(int i) const {
    return i < node->input_size() && !node->input(i).empty();
  }
  /// Sets output 0 from `t`, or passes its error on.
  llvm::Error setResult(llvm::Expected<Tensor> t) {
    if (!t)
      return t.takeError();
    setOutput(0, std::move(*t));
    return llvm::Error::success();
  }
  void setOutput(int i, Tensor t) {
    if (i < node->output_size() && !node->output(i).empty())
      env[node->output(i)] = std::move(t);
  }
  llvm::Expected<std::vector<int64_t>> knownInts(int i, StringRef what);

  // Attributes ----------------------------------------------------------------
  const onnx::AttributeProto *attr(StringRef name) const {
    for (const onnx::AttributeProto &a : node->attribute())
      if (a.name() == name)
        return &a;
    return nullptr;
  }
  int64_t attrInt(StringRef name, int64_t dflt) const {
    const onnx::AttributeProto *a = attr(name);
    return a ? a->i() : dflt;
  }
  float attrFloat(StringRef name, float dflt) const {
    const onnx::AttributeProto *a = attr(name);
    return a ? a->f() : dflt;
  }
  std::optional<std::vector<int64_t>> attrInts(StringRef name) const {
    const onnx::AttributeProto *a = attr(name);
    if (!a)
      return std::nullopt;
    return std::vector<int64_t>(a->ints().begin(), a->ints().end());
  }

  // Emission helpers ------------------------------------------------------------
  Value constantScalar(Type type, double v);
  Value emptyTensor(ArrayRef<int64_t> shape, Type elem) {
    return tensor::EmptyOp::create(b, loc, shape, elem);
  }
  using BodyFn =
      std::function<Value(OpBuilder &, Location, ValueRange)>;
  llvm::Expected<Tensor> elementwise(ArrayRef<Tensor *> ins, Type resultElem,
                                     BodyFn body,
                                     std::function<double(ArrayRef<double>)> fold);
  Tensor reshape(Tensor &t, ArrayRef<int64_t> shape);
  Value reduce(Value in, ArrayRef<int64_t> axes, bool keepDims, Type accElem,
               double init, BodyFn combine);
  int64_t normAxis(int64_t axis, int64_t rank) const {
    return axis < 0 ? axis + rank : axis;
  }

  // Recognition -------------------------------------------------------------
  /// Quantizers recognized so far, by the name of their STE output.
  struct Quantized {
    Value codes, scale;
    QuantKind kind;
  };
  std::map<std::string, Quantized> quantized;
  std::map<std::string, const onnx::NodeProto *> producers;
  SmallVector<Value> activationCodes;
  /// The quantizer op's codes for each activationCodes entry (FP4's exposed
  /// codes are a conversion of them).
  SmallVector<Value> activationCodeSources;
  GraphView graphView();
  bool tryQuantizer();
  bool tryBitLinear();
  std::optional<std::pair<Value, Value>> constantTernaryWeight(Tensor &wt);
  bool emitBitLinear(const Quantized &act, Value wCodes, Value wScale);
  bool tryTopK();
  bool tryKVQuant();
  Tensor *f32Value(const std::string &name);
  /// The decoder configuration, when the graph is a LLaMA-style decoder.
  DictionaryAttr recordDecoder();
  llvm::Error importBitNetOp();

  // KV-cached step (ImporterKVCache.cpp) ------------------------------------
  struct CachedStep {
    int64_t length = 0; // cache positions; 0: a plain full-sequence import
    /// What the cache holds; Auto until the first attention layer decides.
    ImportOptions::KVStorage storage = ImportOptions::KVStorage::F32;
    int64_t tokens = 0; // new tokens per step (the ids input's last dim)
    std::set<const onnx::NodeProto *> positionRanges, positionSlices, pathNodes,
        softmaxes;
    std::map<const onnx::NodeProto *, int> scores, pv;
    /// Score-path values: their cached columns [1, heads, seq, C].
    std::map<std::string, Tensor> cachedColumns;
    /// Score-path values the causal mask has been applied to.
    std::set<std::string> masked;
    Block *entry = nullptr;
    Value startArg, start, kvArg;
    SmallVector<Type> argTypes;
    SmallVector<Value> newKV;
    std::pair<int64_t, int64_t> kvShape{0, 0};
    /// ImportOptions::fuseCachedAttention: what a layer's cached_attention
    /// needs, gathered from its scores to its P V; `fusable` turns false
    /// at the first op on the score path the op cannot express.
    struct FusedLayer {
      Value q, k, kCache;
      double scale = 1.0;
      bool fusable = true, masked = false;
    };
    std::map<int, FusedLayer> fused;
    /// Score-path values (scores, their scaled and masked forms, the
    /// probabilities): the layer they belong to.
    std::map<std::string, int> pathLayer;
  } cache;
  /// Whether the mask op being imported (`pathInput`: the scores' operand)
  /// keeps new column t of query row i exactly when t <= i.
  bool isCausalMaskNode(int pathInput);
  void analyzeAttention();
  Tensor *kvSource(const std::string &v, int64_t heads, int64_t seq,
                   int64_t headDim);
  Value startScalar();
  llvm::Error resolveCacheStorage(Value fresh);
  bool packedCache() const {
    return cache.storage == ImportOptions::KVStorage::Q4 ||
           cache.storage == ImportOptions::KVStorage::Q3;
  }
  int64_t cacheRowSize(int64_t headDim) const;
  int64_t cacheRowCount() const;
  Value packNibbles(KVDequantOp deq);
  Value packBitPlanes(KVDequantOp deq);
  Value packScaleBytes(KVDequantOp deq);
  Value cacheSlice(int layer, bool isValue, int64_t kvHeads, int64_t headDim);
  Value cacheRows(Value fresh);
  Value packCodeRows(KVDequantOp deq);
  Value packNewKV();
  Type cacheElementType();
  Value bosPlaneSlice(int layer, bool isValue);
  Value cacheRowsOf(int layer, bool isValue, int64_t first, int64_t count);
  Value cachedContraction(Value lhs, Value kv, Value bosRow,
                          KVDequantOp quantizer,
                          AffineMap lhsMap, AffineMap kvMap, AffineMap outMap,
                          ArrayRef<int64_t> outShape, StringRef kernel);
  Value countNonzeros();
  static bool isUniformKnown(const Tensor &t);
  llvm::Expected<bool> tryCachedAttentionNode();
  llvm::Expected<bool> importCachedRange();
  llvm::Expected<bool> importCachedTableSlice();
  llvm::Expected<bool> importCachedScores(int layer);
  llvm::Expected<bool> importCachedScorePath();
  llvm::Expected<bool> importCachedSoftmax();
  llvm::Expected<bool> importCachedPV(int layer);

  // Ops -----------------------------------------------------------------------
  llvm::Error importNode();
  llvm::Error importElementwise(StringRef op);
  llvm::Error importCast();
  llvm::Error importClip();
  llvm::Error importReduce(StringRef op);
  llvm::Error importMatMul();
  llvm::Error importGemm();
  llvm::Error importGather();
  llvm::Error importTranspose();
  llvm::Error importReshapeLike(StringRef op);
  llvm::Error importExpand();
  llvm::Error importConcat();
  llvm::Error importSlice();
  llvm::Error importSplit();
  llvm::Error importSoftmax();
  llvm::Error importTopK();
  llvm::Error importScatterElements();
  llvm::Error importScatterND();
  llvm::Error importTrilu();
  llvm::Error importConstantOfShape();
  llvm::Error importRange();
  llvm::Error importConstant();
  llvm::Error importShape();

  const ONNXModel &model;
  const ImportOptions &options;
  MLIRContext *ctx;
  OpBuilder b;
  Location loc;
  std::map<std::string, Tensor> env;
  const onnx::NodeProto *node = nullptr;
  std::string nodeName;
  Location fileLoc;

public:
  ImportStats stats;
};


/// Converts a scalar between the element types the importer uses.
Value castScalar(OpBuilder &b, Location loc, Value v, Type to);

} // namespace mlir::bitnet::onnx_import::detail

#endif // BITNET_LIB_CONVERSION_ONNXTOBITNET_GRAPHIMPORTER_H
