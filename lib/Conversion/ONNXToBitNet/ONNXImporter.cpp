//===- ONNXImporter.cpp - Build MLIR from a validated ONNX model ----------===//
//
// One pass over the nodes in graph order. Every value carries its static type
// and, when it is small and computable at import time, its contents: shape
// arithmetic is evaluated here (in double, rounded to the element type), so
// that every tensor in the emitted IR has a static shape. Everything else is
// emitted as linalg.generic / tensor / arith / math on tensors.
//
//===----------------------------------------------------------------------===//

#include "GraphImporter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Transforms/RegionUtils.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include "onnx/onnx_pb.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <set>
#include <numeric>
#include <optional>

using namespace mlir;
using namespace mlir::bitnet;
using namespace mlir::bitnet::onnx_import;
using namespace mlir::bitnet::onnx_import::detail;
using llvm::StringRef;
using llvm::Twine;

Type GraphImporter::elementType(int32_t onnxType) {
  using T = onnx::TensorProto;
  switch (onnxType) {
  case T::FLOAT:
    return b.getF32Type();
  case T::DOUBLE:
    return b.getF64Type();
  case T::FLOAT16:
    return b.getF16Type();
  case T::BFLOAT16:
    return b.getBF16Type();
  case T::INT64:
    return b.getI64Type();
  case T::INT32:
    return b.getI32Type();
  case T::INT8:
    return b.getI8Type();
  case T::UINT8:
    return b.getIntegerType(8);
  case T::BOOL:
    return b.getI1Type();
  default:
    return {};
  }
}

llvm::Expected<Tensor> GraphImporter::tensorFromProto(const onnx::TensorProto &t) {
  Type elem = elementType(t.data_type());
  if (!elem)
    return error("tensor '" + t.name() + "': unsupported element type");
  Shape shape(t.dims().begin(), t.dims().end());
  Tensor out{RankedTensorType::get(shape, elem), Value(), std::nullopt};
  int64_t n = numElements(shape);
  bool hasRaw = t.has_raw_data() ||
                t.data_location() == onnx::TensorProto::EXTERNAL;
  StringRef raw;
  if (hasRaw) {
    auto bytes = model.rawData(t);
    if (!bytes)
      return bytes.takeError();
    raw = *bytes;
  }
  // Large tensors (weights) go straight into an attribute; small ones
  // (shapes, scalars) are also kept as data for import-time evaluation.
  if (n > kMaxFoldedElements) {
    if (!hasRaw || elem.isInteger(1))
      return error("tensor '" + t.name() +
                   "': large tensors must be stored as raw data (and not bool)");
    DenseElementsAttr attr;
    if (options.largeConstants) {
      auto it = options.largeConstants->find(t.name());
      if (it != options.largeConstants->end() && it->second.getType() == out.type)
        attr = it->second;
    }
    if (!attr) {
      attr = DenseElementsAttr::getFromRawBuffer(
          out.type, ArrayRef<char>(raw.data(), raw.size()));
      if (options.largeConstants)
        (*options.largeConstants)[t.name()] = attr;
    }
    out.value = arith::ConstantOp::create(b, loc, out.type, attr);
    return out;
  }
  std::vector<double> data(n);
  using T = onnx::TensorProto;
  auto rawAs = [&](auto zero) {
    using E = decltype(zero);
    for (int64_t i = 0; i < n; ++i) {
      E v;
      std::memcpy(&v, raw.data() + i * sizeof(E), sizeof(E));
      data[i] = double(v);
    }
  };
  if (hasRaw) {
    switch (t.data_type()) {
    case T::FLOAT: rawAs(float()); break;
    case T::DOUBLE: rawAs(double()); break;
    case T::INT64: rawAs(int64_t()); break;
    case T::INT32: rawAs(int32_t()); break;
    case T::INT8: rawAs(int8_t()); break;
    case T::UINT8: rawAs(uint8_t()); break;
    case T::BOOL: rawAs(uint8_t()); break;
    default:
      return error("tensor '" + t.name() + "': unsupported raw data type");
    }
  } else {
    for (int64_t i = 0; i < n; ++i)
      data[i] = t.data_type() == T::FLOAT    ? double(t.float_data(i))
                : t.data_type() == T::INT64  ? double(t.int64_data(i))
                : t.data_type() == T::DOUBLE ? t.double_data(i)
                                             : double(t.int32_data(i));
  }
  out.data = std::move(data);
  return out;
}

Value GraphImporter::materialize(Tensor &t) {
  if (t.value)
    return t.value;
  assert(t.data && "a value without IR must have known contents");
  Type elem = t.elementType();
  Attribute attr;
  if (isa<FloatType>(elem)) {
    SmallVector<APFloat> vals;
    for (double v : *t.data) {
      APFloat f(v);
      bool lost;
      f.convert(cast<FloatType>(elem).getFloatSemantics(),
                APFloat::rmNearestTiesToEven, &lost);
      vals.push_back(f);
    }
    attr = DenseElementsAttr::get(t.type, vals);
  } else {
    unsigned width = elem.getIntOrFloatBitWidth();
    SmallVector<APInt> vals;
    for (double v : *t.data)
      vals.push_back(APInt(width, uint64_t(int64_t(v)), /*isSigned=*/true,
                           /*implicitTrunc=*/true));
    attr = DenseElementsAttr::get(t.type, vals);
  }
  t.value = arith::ConstantOp::create(b, loc, t.type, cast<TypedAttr>(attr));
  return t.value;
}

llvm::Expected<Tensor *> GraphImporter::input(int i) {
  if (!hasInput(i))
    return nodeError("missing input #" + Twine(i));
  auto it = env.find(node->input(i));
  if (it == env.end())
    return nodeError("input '" + node->input(i) + "' is not defined before use");
  return &it->second;
}

llvm::Error GraphImporter::inputs(ArrayRef<int> indices,
                                  SmallVectorImpl<Tensor *> &out) {
  for (int i : indices) {
    auto t = input(i);
    if (!t)
      return t.takeError();
    out.push_back(*t);
  }
  return llvm::Error::success();
}

llvm::Expected<std::vector<int64_t>> GraphImporter::knownInts(int i,
                                                              StringRef what) {
  auto t = input(i);
  if (!t)
    return t.takeError();
  if (!(*t)->known())
    return nodeError(what + " must be known when importing (it depends on "
                            "values that are only known at run time)");
  // Saturate: exporters write INT64_MAX for "to the end", which a double
  // holds only approximately.
  std::vector<int64_t> out;
  for (double v : *(*t)->data)
    out.push_back(v >= 9.2e18    ? std::numeric_limits<int64_t>::max()
                  : v <= -9.2e18 ? std::numeric_limits<int64_t>::min()
                                 : int64_t(v));
  return out;
}

Value GraphImporter::constantScalar(Type type, double v) {
  if (isa<FloatType>(type))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, v));
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(type, int64_t(v)));
}

/// Elementwise op with numpy broadcasting. Folds when every input is known
/// and the result is small; otherwise emits one linalg.generic.
llvm::Expected<Tensor>
GraphImporter::elementwise(ArrayRef<Tensor *> ins, Type resultElem, BodyFn body,
                           std::function<double(ArrayRef<double>)> fold) {
  Shape outShape;
  for (Tensor *t : ins) {
    auto s = broadcastShapes(outShape, t->shape());
    if (!s)
      return nodeError("shapes do not broadcast");
    outShape = *s;
  }
  auto outType = RankedTensorType::get(outShape, resultElem);
  int64_t n = numElements(outShape);
  if (fold && n <= kMaxFoldedElements &&
      llvm::all_of(ins, [](Tensor *t) { return t->known(); })) {
    std::vector<double> data(n);
    SmallVector<double> args(ins.size());
    for (int64_t i = 0; i < n; ++i) {
      for (size_t k = 0; k < ins.size(); ++k)
        args[k] = (*ins[k]->data)[broadcastIndex(i, outShape, ins[k]->shape())];
      data[i] = roundTo(resultElem, fold(args));
    }
    return Tensor{outType, Value(), std::move(data)};
  }
  int64_t rank = outShape.size();
  SmallVector<AffineMap> maps;
  SmallVector<Value> operands;
  for (Tensor *t : ins) {
    SmallVector<AffineExpr> exprs;
    int64_t offset = rank - t->rank();
    for (int64_t d = 0; d < t->rank(); ++d)
      exprs.push_back(t->shape()[d] == 1 && outShape[d + offset] != 1
                          ? getAffineConstantExpr(0, ctx)
                          : getAffineDimExpr(d + offset, ctx));
    maps.push_back(AffineMap::get(rank, 0, exprs, ctx));
    operands.push_back(materialize(*t));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  SmallVector<utils::IteratorType> its(rank, utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, outType, operands, emptyTensor(outShape, resultElem), maps, its,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl, body(nb, nl, args.drop_back()));
      });
  return Tensor{outType, generic.getResult(0), std::nullopt};
}

Tensor GraphImporter::reshape(Tensor &t, ArrayRef<int64_t> shape) {
  auto type = RankedTensorType::get(shape, t.elementType());
  if (t.known())
    return Tensor{type, Value(), t.data};
  auto srcType = cast<RankedTensorType>(t.type);
  if (srcType == type)
    return Tensor{type, materialize(t), std::nullopt};
  // Splitting or merging adjacent dimensions is a view (expand/collapse):
  // consumers then read the producer's buffer in place (a strided slice of
  // the fused QKV output needs no copy) and elementwise fusion sees through
  // it. Only a reshape that reorders the grouping stays tensor.reshape.
  if (srcType.hasStaticShape() && type.hasStaticShape() &&
      srcType.getRank() != type.getRank()) {
    if (std::optional<SmallVector<ReassociationIndices>> groups =
            getReassociationIndicesForReshape(srcType, type)) {
      Value v =
          srcType.getRank() < type.getRank()
              ? Value(tensor::ExpandShapeOp::create(b, loc, type,
                                                    materialize(t), *groups))
              : Value(tensor::CollapseShapeOp::create(b, loc, type,
                                                      materialize(t), *groups));
      return Tensor{type, v, std::nullopt};
    }
  }
  auto shapeType = RankedTensorType::get({int64_t(shape.size())}, b.getI64Type());
  Value shapeValue = arith::ConstantOp::create(
      b, loc, DenseIntElementsAttr::get(shapeType, shape));
  Value v = tensor::ReshapeOp::create(b, loc, type, materialize(t), shapeValue);
  return Tensor{type, v, std::nullopt};
}

Value GraphImporter::reduce(Value in, ArrayRef<int64_t> axes, bool keepDims,
                            Type accElem, double init, BodyFn combine) {
  auto type = cast<RankedTensorType>(in.getType());
  int64_t rank = type.getRank();
  Shape outShape;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> its;
  for (int64_t d = 0; d < rank; ++d) {
    bool reduced = llvm::is_contained(axes, d);
    its.push_back(reduced ? utils::IteratorType::reduction
                          : utils::IteratorType::parallel);
    if (!reduced) {
      outShape.push_back(type.getDimSize(d));
      outExprs.push_back(getAffineDimExpr(d, ctx));
    } else if (keepDims) {
      outShape.push_back(1);
      outExprs.push_back(getAffineConstantExpr(0, ctx));
    }
  }
  Value initTensor = linalg::FillOp::create(b, loc, constantScalar(accElem, init),
                                            emptyTensor(outShape, accElem))
                         .getResult(0);
  SmallVector<AffineMap> maps{AffineMap::getMultiDimIdentityMap(rank, ctx),
                              AffineMap::get(rank, 0, outExprs, ctx)};
  auto generic = linalg::GenericOp::create(
      b, loc, initTensor.getType(), in, initTensor, maps, its,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl, combine(nb, nl, args));
      });
  return generic.getResult(0);
}


llvm::Error GraphImporter::importNode() {
  StringRef op = node->op_type();
  if (node->domain() == kBitNetDomain)
    return importBitNetOp();
  if (cache.length > 0) {
    auto handled = tryCachedAttentionNode();
    if (!handled)
      return handled.takeError();
    if (*handled)
      return llvm::Error::success();
  }
  if ((op == "Add" && tryQuantizer()) || (op == "MatMul" && tryBitLinear()) ||
      (op == "Mul" && tryTopK()))
    return llvm::Error::success();
  if (llvm::is_contained({"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min",
                          "Equal", "Less", "LessOrEqual", "Greater",
                          "GreaterOrEqual", "Where", "Not", "Abs", "Neg",
                          "Relu", "Identity", "Sqrt", "Reciprocal", "Exp",
                          "Sin", "Cos", "Tanh", "Erf", "Round", "Sigmoid"},
                         op))
    return importElementwise(op);
  if (op == "Cast")
    return importCast();
  if (op == "Clip")
    return importClip();
  if (op == "ReduceMean" || op == "ReduceMax" || op == "ReduceSum")
    return importReduce(op);
  if (op == "MatMul")
    return importMatMul();
  if (op == "Gemm")
    return importGemm();
  if (op == "Gather")
    return importGather();
  if (op == "Transpose")
    return importTranspose();
  if (op == "Reshape" || op == "Unsqueeze" || op == "Squeeze")
    return importReshapeLike(op);
  if (op == "Expand")
    return importExpand();
  if (op == "Concat")
    return importConcat();
  if (op == "Slice")
    return importSlice();
  if (op == "Split")
    return importSplit();
  if (op == "Softmax")
    return importSoftmax();
  if (op == "TopK")
    return importTopK();
  if (op == "ScatterElements")
    return importScatterElements();
  if (op == "ScatterND")
    return importScatterND();
  if (op == "Trilu")
    return importTrilu();
  if (op == "ConstantOfShape")
    return importConstantOfShape();
  if (op == "Range")
    return importRange();
  if (op == "Constant")
    return importConstant();
  if (op == "Shape")
    return importShape();
  return nodeError("is not supported by the importer yet");
}

llvm::Expected<OwningOpRef<ModuleOp>> GraphImporter::run() {
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  const onnx::GraphProto &g = model.proto->graph();

  // Initializers first: they are values of the function body.
  std::set<std::string> initNames;
  for (const onnx::TensorProto &t : g.initializer())
    initNames.insert(t.name());

  // Arguments: graph inputs that are not initializers, with bound dims.
  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  for (const onnx::ValueInfoProto &vi : g.input()) {
    if (initNames.count(vi.name()))
      continue;
    if (!vi.type().has_tensor_type())
      return error("input '" + vi.name() + "' is not a tensor");
    const auto &tt = vi.type().tensor_type();
    Type elem = elementType(tt.elem_type());
    if (!elem)
      return error("input '" + vi.name() + "': unsupported element type");
    Shape shape;
    for (const auto &dim : tt.shape().dim()) {
      if (dim.has_dim_value()) {
        shape.push_back(dim.dim_value());
        continue;
      }
      auto it = options.dims.find(dim.dim_param());
      if (dim.dim_param().empty() || it == options.dims.end())
        return error("input '" + vi.name() + "': symbolic dimension '" +
                     dim.dim_param() + "' needs a value: pass --dim=" +
                     (dim.dim_param().empty() ? "NAME" : dim.dim_param()) +
                     "=N");
      if (it->second <= 0)
        return error("dimension '" + it->first + "' must be positive");
      shape.push_back(it->second);
    }
    argTypes.push_back(RankedTensorType::get(shape, elem));
    argNames.push_back(vi.name());
  }

  b.setInsertionPointToEnd(module->getBody());
  auto func = func::FuncOp::create(b, loc, options.funcName,
                                   b.getFunctionType(argTypes, {}));
  if (options.emitCInterface)
    func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(), b.getUnitAttr());
  Block *entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);
  for (auto [i, name] : llvm::enumerate(argNames))
    env[name] = Tensor{cast<RankedTensorType>(argTypes[i]), entry->getArgument(i),
                       std::nullopt};
  cache.length = options.kvCacheLength;
  cache.storage = options.kvStorage;
  if (cache.length > 0) {
    cache.entry = entry;
    for (Type t : argTypes)
      if (auto rt = dyn_cast<RankedTensorType>(t);
          rt && isa<IntegerType>(rt.getElementType()) && rt.getRank() >= 1 &&
          !cache.tokens)
        cache.tokens = rt.getShape().back();
    auto startType = RankedTensorType::get({}, b.getI64Type());
    cache.startArg = entry->addArgument(startType, fileLoc);
    cache.argTypes.push_back(startType);
  }
  for (const onnx::TensorProto &t : g.initializer()) {
    auto tensor = tensorFromProto(t);
    if (!tensor)
      return tensor.takeError();
    env[t.name()] = std::move(*tensor);
  }

  for (const onnx::NodeProto &n : g.node())
    for (const std::string &out : n.output())
      producers[out] = &n;
  if (cache.length > 0)
    analyzeAttention();
  for (int i = 0; i < g.node_size(); ++i) {
    node = &g.node(i);
    nodeName = node->name().empty() ? "#" + std::to_string(i) : node->name();
    loc = NameLoc::get(b.getStringAttr(nodeName), fileLoc);
    b.setInsertionPointToEnd(entry);
    if (llvm::Error err = importNode())
      return std::move(err);
  }

  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  b.setInsertionPointToEnd(entry);
  loc = fileLoc;
  for (const onnx::ValueInfoProto &vi : g.output()) {
    auto it = env.find(vi.name());
    if (it == env.end())
      return error("graph output '" + vi.name() + "' is never produced");
    results.push_back(materialize(it->second));
    resultTypes.push_back(results.back().getType());
  }
  if (options.exposeActivationCodes)
    for (Value codes : activationCodes) {
      results.push_back(codes);
      resultTypes.push_back(codes.getType());
    }
  if (options.countActivationNonzeros) {
    results.push_back(countNonzeros());
    resultTypes.push_back(results.back().getType());
  }
  if (cache.length > 0) {
    if (!stats.cachedPositionRanges || cache.newKV.empty() ||
        stats.cachedAttentionLayers * 2 != int64_t(cache.newKV.size()))
      return error("cannot derive a KV-cached step: " +
                   Twine(!stats.cachedPositionRanges
                             ? "no position vector (a Range over the sequence "
                               "length) feeds the model"
                             : "no attention block (MatMul, causal mask, "
                               "Softmax, MatMul) was found"));
    results.push_back(packNewKV());
    resultTypes.push_back(results.back().getType());
    argTypes.append(cache.argTypes);
    stats.kvStorage = cache.storage == ImportOptions::KVStorage::Auto
                          ? ImportOptions::KVStorage::F32
                          : cache.storage;
  }
  func::ReturnOp::create(b, loc, results);
  func.setFunctionType(b.getFunctionType(argTypes, resultTypes));
  if (DictionaryAttr decoder = recordDecoder())
    (*module)->setAttr("bitnet.decoder", decoder);
  // The float nodes of recognized subgraphs were emitted before the match;
  // nothing uses them now.
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(*entry)))
    if (isOpTriviallyDead(&op))
      op.erase();
  if (failed(verify(*module)))
    return error("the imported IR does not verify (an importer bug)");
  return std::move(module);
}


llvm::Expected<OwningOpRef<ModuleOp>>
mlir::bitnet::onnx_import::importONNXModel(const ONNXModel &model,
                                           MLIRContext &context,
                                           const ImportOptions &options,
                                           ImportStats *stats) {
  context.loadDialect<arith::ArithDialect, func::FuncDialect,
                      linalg::LinalgDialect, math::MathDialect,
                      scf::SCFDialect, tensor::TensorDialect,
                      LLVM::LLVMDialect,
                      bitnet::BitNetDialect>();
  GraphImporter importer(model, context, options);
  auto module = importer.run();
  if (module && stats)
    *stats = importer.stats;
  return module;
}

std::string mlir::bitnet::onnx_import::ImportStats::summary() const {
  std::string s = "recognized " + std::to_string(bitLinears) + " BitLinear, " +
                  std::to_string(weightQuantizers) + " ternary weight " +
                  "quantizers (" + std::to_string(constantTernaryWeights) +
                  " more already folded), " + std::to_string(topKs) +
                  " TopK, " + std::to_string(kvQuantizers) +
                  " KV quantizers, activation quantizers:";
  if (activationQuantizers.empty())
    s += " none";
  for (const auto &[scheme, count] : activationQuantizers)
    s += " " + std::to_string(count) + " " + scheme;
  return s;
}

namespace {
using KVStorage = mlir::bitnet::onnx_import::ImportOptions::KVStorage;
constexpr std::pair<KVStorage, llvm::StringLiteral> kKVStorageNames[] = {
    {KVStorage::F32, "f32"}, {KVStorage::F16, "f16"}, {KVStorage::Q4, "q4"},
    {KVStorage::Q3, "q3"},   {KVStorage::Auto, "auto"}};
} // namespace

llvm::StringRef mlir::bitnet::onnx_import::kvStorageName(KVStorage storage) {
  for (const auto &[s, name] : kKVStorageNames)
    if (s == storage)
      return name;
  return "f32";
}

std::optional<KVStorage>
mlir::bitnet::onnx_import::parseKVStorage(llvm::StringRef name) {
  for (const auto &[s, n] : kKVStorageNames)
    if (n == name)
      return s;
  return std::nullopt;
}

bool mlir::bitnet::onnx_import::parseDimBinding(
    StringRef text, std::map<std::string, int64_t> &dims, std::string &error) {
  auto [name, value] = text.split('=');
  int64_t v;
  if (name.empty() || value.empty() || value.getAsInteger(10, v) || v <= 0) {
    error = "--dim expects NAME=N with N > 0, got '" + text.str() + "'";
    return false;
  }
  dims[name.str()] = v;
  return true;
}
