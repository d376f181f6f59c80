//===- ONNXImporter.cpp - Build MLIR from a validated ONNX model ----------===//
//
// One pass over the nodes in graph order. Every value carries its static type
// and, when it is small and computable at import time, its contents: shape
// arithmetic is evaluated here (in double, rounded to the element type), so
// that every tensor in the emitted IR has a static shape. Everything else is
// emitted as linalg.generic / tensor / arith / math on tensors.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Conversion/ONNXToBitNet/ONNXImporter.h"
#include "QuantizerPatterns.h"

#include "bitnet/Dialect/BitNet/IR/BitNetDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
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
using llvm::StringRef;
using llvm::Twine;

namespace {

/// Values computed at import time are kept up to this many elements.
constexpr int64_t kMaxFoldedElements = 1 << 16;

using Shape = SmallVector<int64_t>;

int64_t numElements(ArrayRef<int64_t> shape) {
  return std::accumulate(shape.begin(), shape.end(), int64_t(1),
                         std::multiplies<int64_t>());
}

SmallVector<int64_t> rowMajorStrides(ArrayRef<int64_t> shape) {
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

  ArrayRef<int64_t> shape() const { return type.getShape(); }
  int64_t rank() const { return type.getRank(); }
  Type elementType() const { return type.getElementType(); }
  bool known() const { return data.has_value(); }
};

/// Rounds a double to what `type` can hold.
double roundTo(Type type, double v) {
  if (type.isF32())
    return double(float(v));
  if (type.isInteger(1))
    return v != 0.0 ? 1.0 : 0.0;
  if (isa<IntegerType>(type))
    return std::trunc(v);
  return v;
}

/// numpy broadcasting of two shapes; nullopt if incompatible.
std::optional<Shape> broadcastShapes(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
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
int64_t broadcastIndex(int64_t flat, ArrayRef<int64_t> out,
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
  bool hasInput(int i) const {
    return i < node->input_size() && !node->input(i).empty();
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
  GraphView graphView();
  bool tryQuantizer();
  bool tryBitLinear();
  std::optional<std::pair<Value, Value>> constantTernaryWeight(Tensor &wt);
  bool emitBitLinear(const Quantized &act, Value wCodes, Value wScale);
  bool tryTopK();

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
  const std::string &raw = t.raw_data();
  // Large float tensors (weights) go straight into an attribute; small ones
  // (shapes, scalars) are also kept as data for import-time evaluation.
  if (t.has_raw_data() && elem.isF32() && n > kMaxFoldedElements) {
    auto attr = DenseElementsAttr::getFromRawBuffer(
        out.type, ArrayRef<char>(raw.data(), raw.size()));
    out.value = arith::ConstantOp::create(b, loc, out.type, attr);
    return out;
  }
  if (n > kMaxFoldedElements)
    return error("tensor '" + t.name() +
                 "': large non-f32 or non-raw tensors are not supported yet");
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
  if (t.has_raw_data()) {
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

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

Value castScalar(OpBuilder &b, Location loc, Value v, Type to) {
  Type from = v.getType();
  if (from == to)
    return v;
  bool fromF = isa<FloatType>(from), toF = isa<FloatType>(to);
  if (fromF && toF)
    return from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth()
               ? Value(arith::ExtFOp::create(b, loc, to, v))
               : Value(arith::TruncFOp::create(b, loc, to, v));
  if (fromF && to.isInteger(1))
    return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, v,
                                 arith::ConstantOp::create(
                                     b, loc, b.getFloatAttr(from, 0.0)));
  if (fromF)
    return arith::FPToSIOp::create(b, loc, to, v);
  if (from.isInteger(1))
    return toF ? Value(arith::UIToFPOp::create(b, loc, to, v))
               : Value(arith::ExtUIOp::create(b, loc, to, v));
  if (toF)
    return arith::SIToFPOp::create(b, loc, to, v);
  if (to.isInteger(1))
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, v,
                                 arith::ConstantOp::create(
                                     b, loc, b.getIntegerAttr(from, 0)));
  return from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth()
             ? Value(arith::ExtSIOp::create(b, loc, to, v))
             : Value(arith::TruncIOp::create(b, loc, to, v));
}

using UnaryEmit = Value (*)(OpBuilder &, Location, Value);

template <typename MathOp>
Value emitMath(OpBuilder &b, Location loc, Value x) {
  return MathOp::create(b, loc, x);
}

Value emitReciprocal(OpBuilder &b, Location loc, Value x) {
  Value one = arith::ConstantOp::create(b, loc, b.getFloatAttr(x.getType(), 1.0));
  return arith::DivFOp::create(b, loc, one, x);
}

/// 1 / (1 + exp(-x)).
Value emitSigmoid(OpBuilder &b, Location loc, Value x) {
  Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, x));
  Value one = arith::ConstantOp::create(b, loc, b.getFloatAttr(x.getType(), 1.0));
  return arith::DivFOp::create(b, loc, one, arith::AddFOp::create(b, loc, one, e));
}

/// Float unary ops: how to emit them, and how to evaluate them at import.
struct UnaryMath {
  StringRef name;
  UnaryEmit emit;
  double (*fold)(double);
};
const UnaryMath kUnaryMath[] = {
    {"Sqrt", emitMath<math::SqrtOp>, [](double x) { return std::sqrt(x); }},
    {"Reciprocal", emitReciprocal, [](double x) { return 1.0 / x; }},
    {"Exp", emitMath<math::ExpOp>, [](double x) { return std::exp(x); }},
    {"Sin", emitMath<math::SinOp>, [](double x) { return std::sin(x); }},
    {"Cos", emitMath<math::CosOp>, [](double x) { return std::cos(x); }},
    {"Tanh", emitMath<math::TanhOp>, [](double x) { return std::tanh(x); }},
    {"Erf", emitMath<math::ErfOp>, [](double x) { return std::erf(x); }},
    {"Round", emitMath<math::RoundEvenOp>,
     [](double x) { return std::nearbyint(x); }},
    {"Sigmoid", emitSigmoid,
     [](double x) { return 1.0 / (1.0 + std::exp(-x)); }},
};

llvm::Error GraphImporter::importElementwise(StringRef op) {
  SmallVector<Tensor *> ins;
  for (int i = 0; i < node->input_size(); ++i) {
    auto t = input(i);
    if (!t)
      return t.takeError();
    ins.push_back(*t);
  }
  Type elem = ins.back()->elementType();
  if (op == "Where")
    elem = ins[1]->elementType();
  bool isFloat = isa<FloatType>(elem);
  Type i1 = b.getI1Type();
  auto zero = [&](OpBuilder &nb, Location nl, Type t) -> Value {
    return isa<FloatType>(t)
               ? Value(arith::ConstantOp::create(nb, nl, nb.getFloatAttr(t, 0.0)))
               : Value(arith::ConstantOp::create(nb, nl, nb.getIntegerAttr(t, 0)));
  };
  using Fold = std::function<double(ArrayRef<double>)>;
  BodyFn body;
  Fold fold;
  Type result = elem;
  auto cmp = [&](arith::CmpFPredicate fp, arith::CmpIPredicate ip,
                 std::function<bool(double, double)> f) {
    result = i1;
    Type operandElem = ins[0]->elementType();
    body = [=](OpBuilder &nb, Location nl, ValueRange a) -> Value {
      if (isa<FloatType>(operandElem))
        return arith::CmpFOp::create(nb, nl, fp, a[0], a[1]);
      return arith::CmpIOp::create(nb, nl, ip, a[0], a[1]);
    };
    fold = [=](ArrayRef<double> a) { return f(a[0], a[1]) ? 1.0 : 0.0; };
  };
  if (op == "Add") {
    body = [=](OpBuilder &nb, Location nl, ValueRange a) -> Value {
      return isFloat ? Value(arith::AddFOp::create(nb, nl, a[0], a[1]))
                     : Value(arith::AddIOp::create(nb, nl, a[0], a[1]));
    };
    fold = [](ArrayRef<double> a) { return a[0] + a[1]; };
  } else if (op == "Sub") {
    body = [=](OpBuilder &nb, Location nl, ValueRange a) -> Value {
      return isFloat ? Value(arith::SubFOp::create(nb, nl, a[0], a[1]))
                     : Value(arith::SubIOp::create(nb, nl, a[0], a[1]));
    };
    fold = [](ArrayRef<double> a) { return a[0] - a[1]; };
  } else if (op == "Mul") {
    body = [=](OpBuilder &nb, Location nl, ValueRange a) -> Value {
      return isFloat ? Value(arith::MulFOp::create(nb, nl, a[0], a[1]))
                     : Value(arith::MulIOp::create(nb, nl, a[0], a[1]));
    };
    fold = [](ArrayRef<double> a) { return a[0] * a[1]; };
  } else if (op == "Div") {
    body = [=](OpBuilder &nb, Location nl, ValueRange a) -> Value {
      return isFloat ? Value(arith::DivFOp::create(nb, nl, a[0], a[1]))
                     : Value(arith::DivSIOp::create(nb, nl, a[0], a[1]));
    };
    fold = [=](ArrayRef<double> a) {
      return isFloat ? a[0] / a[1] : std::trunc(a[0] / a[1]);
    };
  } else if (op == "Pow") {
    // x^2 is x*x, exactly what PyTorch computes for pow(x, 2).
    bool square = ins[1]->known() && ins[1]->data->size() == 1 &&
                  (*ins[1]->data)[0] == 2.0;
    if (!isFloat)
      return nodeError("integer Pow is not supported");
    Type expElem = ins[1]->elementType();
    body = [=](OpBuilder &nb, Location nl, ValueRange a) -> Value {
      if (square)
        return arith::MulFOp::create(nb, nl, a[0], a[0]);
      Value e = castScalar(nb, nl, a[1], a[0].getType());
      (void)expElem;
      return math::PowFOp::create(nb, nl, a[0], e);
    };
    fold = [](ArrayRef<double> a) { return std::pow(a[0], a[1]); };
  } else if (op == "Max" || op == "Min") {
    bool max = op == "Max";
    body = [=](OpBuilder &nb, Location nl, ValueRange a) -> Value {
      Value r = a[0];
      for (Value v : a.drop_front())
        r = isFloat ? (max ? Value(arith::MaximumFOp::create(nb, nl, r, v))
                           : Value(arith::MinimumFOp::create(nb, nl, r, v)))
                    : (max ? Value(arith::MaxSIOp::create(nb, nl, r, v))
                           : Value(arith::MinSIOp::create(nb, nl, r, v)));
      return r;
    };
    fold = [=](ArrayRef<double> a) {
      double r = a[0];
      for (double v : a.drop_front())
        r = max ? std::max(r, v) : std::min(r, v);
      return r;
    };
  } else if (op == "Equal") {
    cmp(arith::CmpFPredicate::OEQ, arith::CmpIPredicate::eq,
        [](double x, double y) { return x == y; });
  } else if (op == "Less") {
    cmp(arith::CmpFPredicate::OLT, arith::CmpIPredicate::slt,
        [](double x, double y) { return x < y; });
  } else if (op == "LessOrEqual") {
    cmp(arith::CmpFPredicate::OLE, arith::CmpIPredicate::sle,
        [](double x, double y) { return x <= y; });
  } else if (op == "Greater") {
    cmp(arith::CmpFPredicate::OGT, arith::CmpIPredicate::sgt,
        [](double x, double y) { return x > y; });
  } else if (op == "GreaterOrEqual") {
    cmp(arith::CmpFPredicate::OGE, arith::CmpIPredicate::sge,
        [](double x, double y) { return x >= y; });
  } else if (op == "Where") {
    body = [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
      return arith::SelectOp::create(nb, nl, a[0], a[1], a[2]);
    };
    fold = [](ArrayRef<double> a) { return a[0] != 0.0 ? a[1] : a[2]; };
  } else if (op == "Not") {
    body = [=](OpBuilder &nb, Location nl, ValueRange a) -> Value {
      Value t = arith::ConstantOp::create(nb, nl, nb.getBoolAttr(true));
      return arith::XOrIOp::create(nb, nl, a[0], t);
    };
    fold = [](ArrayRef<double> a) { return a[0] != 0.0 ? 0.0 : 1.0; };
  } else if (op == "Abs") {
    body = [=](OpBuilder &nb, Location nl, ValueRange a) -> Value {
      return isFloat ? Value(math::AbsFOp::create(nb, nl, a[0]))
                     : Value(math::AbsIOp::create(nb, nl, a[0]));
    };
    fold = [](ArrayRef<double> a) { return std::fabs(a[0]); };
  } else if (op == "Neg") {
    body = [=](OpBuilder &nb, Location nl, ValueRange a) -> Value {
      return isFloat ? Value(arith::NegFOp::create(nb, nl, a[0]))
                     : Value(arith::SubIOp::create(
                           nb, nl, zero(nb, nl, a[0].getType()), a[0]));
    };
    fold = [](ArrayRef<double> a) { return -a[0]; };
  } else if (op == "Relu") {
    body = [=](OpBuilder &nb, Location nl, ValueRange a) -> Value {
      return isFloat ? Value(arith::MaximumFOp::create(
                           nb, nl, a[0], zero(nb, nl, a[0].getType())))
                     : Value(arith::MaxSIOp::create(
                           nb, nl, a[0], zero(nb, nl, a[0].getType())));
    };
    fold = [](ArrayRef<double> a) { return std::max(a[0], 0.0); };
  } else if (op == "Identity") {
    setOutput(0, *ins[0]);
    return llvm::Error::success();
  } else {
    // Float-only unary math.
    if (!isFloat)
      return nodeError("expects a float input");
    const UnaryMath *entry = llvm::find_if(
        kUnaryMath, [&](const UnaryMath &u) { return u.name == op; });
    if (entry == std::end(kUnaryMath))
      return nodeError("is not supported by the importer yet");
    UnaryEmit f = entry->emit;
    double (*ref)(double) = entry->fold;
    body = [f](OpBuilder &nb, Location nl, ValueRange a) -> Value {
      return f(nb, nl, a[0]);
    };
    fold = [ref](ArrayRef<double> a) { return ref(a[0]); };
  }
  auto out = elementwise(ins, result, body, fold);
  if (!out)
    return out.takeError();
  setOutput(0, std::move(*out));
  return llvm::Error::success();
}

llvm::Error GraphImporter::importCast() {
  auto in = input(0);
  if (!in)
    return in.takeError();
  Type to = elementType(int32_t(attrInt("to", 0)));
  if (!to)
    return nodeError("unsupported target type");
  auto out = elementwise(
      {*in}, to,
      [to](OpBuilder &nb, Location nl, ValueRange a) {
        return castScalar(nb, nl, a[0], to);
      },
      [](ArrayRef<double> a) { return a[0]; });
  if (!out)
    return out.takeError();
  setOutput(0, std::move(*out));
  return llvm::Error::success();
}

llvm::Error GraphImporter::importClip() {
  auto in = input(0);
  if (!in)
    return in.takeError();
  SmallVector<Tensor *> ins{*in};
  bool hasMin = hasInput(1), hasMax = hasInput(2);
  for (int i = 1; i <= 2; ++i)
    if (hasInput(i)) {
      auto t = input(i);
      if (!t)
        return t.takeError();
      ins.push_back(*t);
    }
  bool isFloat = isa<FloatType>((*in)->elementType());
  auto out = elementwise(
      ins, (*in)->elementType(),
      [=](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value r = a[0];
        int k = 1;
        if (hasMin)
          r = isFloat ? Value(arith::MaximumFOp::create(nb, nl, r, a[k++]))
                      : Value(arith::MaxSIOp::create(nb, nl, r, a[k++]));
        if (hasMax)
          r = isFloat ? Value(arith::MinimumFOp::create(nb, nl, r, a[k]))
                      : Value(arith::MinSIOp::create(nb, nl, r, a[k]));
        return r;
      },
      [=](ArrayRef<double> a) {
        double r = a[0];
        int k = 1;
        if (hasMin)
          r = std::max(r, a[k++]);
        if (hasMax)
          r = std::min(r, a[k]);
        return r;
      });
  if (!out)
    return out.takeError();
  setOutput(0, std::move(*out));
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Reductions, contractions
//===----------------------------------------------------------------------===//

llvm::Error GraphImporter::importReduce(StringRef op) {
  auto in = input(0);
  if (!in)
    return in.takeError();
  Tensor &x = **in;
  std::vector<int64_t> axes;
  if (auto a = attrInts("axes")) {
    axes = *a;
  } else if (hasInput(1)) {
    auto known = knownInts(1, "the reduction axes");
    if (!known)
      return known.takeError();
    axes = *known;
  }
  if (axes.empty()) {
    if (attrInt("noop_with_empty_axes", 0)) {
      setOutput(0, x);
      return llvm::Error::success();
    }
    for (int64_t d = 0; d < x.rank(); ++d)
      axes.push_back(d);
  }
  for (int64_t &a : axes)
    a = normAxis(a, x.rank());
  bool keep = attrInt("keepdims", 1) != 0;
  Type elem = x.elementType();
  if (!isa<FloatType>(elem))
    return nodeError("integer reductions are not supported yet");
  Value result;
  if (op == "ReduceMax") {
    result = reduce(materialize(x), axes, keep, elem,
                    -std::numeric_limits<double>::infinity(),
                    [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                      return arith::MaximumFOp::create(nb, nl, a[0], a[1]);
                    });
  } else {
    // Sums accumulate in f64 and round once: PyTorch's vectorized f32 sums
    // are much closer to exact than a sequential f32 loop would be, and the
    // quantizers downstream turn small differences into flipped codes.
    Type f64 = b.getF64Type();
    Value wide = reduce(materialize(x), axes, keep, f64, 0.0,
                        [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                          Value v = castScalar(nb, nl, a[0], a[1].getType());
                          return arith::AddFOp::create(nb, nl, a[1], v);
                        });
    double count = 1;
    for (int64_t a : axes)
      count *= double(x.shape()[a]);
    bool mean = op == "ReduceMean";
    Tensor sum{cast<RankedTensorType>(wide.getType()), wide, std::nullopt};
    auto out = elementwise(
        {&sum}, elem,
        [=](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value v = a[0];
          if (mean)
            v = arith::DivFOp::create(
                nb, nl, v,
                arith::ConstantOp::create(nb, nl, nb.getF64FloatAttr(count)));
          return castScalar(nb, nl, v, elem);
        },
        nullptr);
    if (!out)
      return out.takeError();
    setOutput(0, std::move(*out));
    return llvm::Error::success();
  }
  setOutput(0, Tensor{cast<RankedTensorType>(result.getType()), result,
                      std::nullopt});
  return llvm::Error::success();
}

llvm::Error GraphImporter::importMatMul() {
  auto a = input(0), bb = input(1);
  if (!a)
    return a.takeError();
  if (!bb)
    return bb.takeError();
  Tensor &A = **a, &B = **bb;
  if (A.rank() < 2 || B.rank() < 2)
    return nodeError("MatMul of 1-D operands is not supported yet");
  if (!isa<FloatType>(A.elementType()))
    return nodeError("integer MatMul is not supported yet");
  int64_t m = A.shape()[A.rank() - 2], k = A.shape().back();
  int64_t k2 = B.shape()[B.rank() - 2], n = B.shape().back();
  if (k != k2)
    return nodeError("inner dimensions differ (" + Twine(k) + " vs " +
                     Twine(k2) + ")");
  auto batch = broadcastShapes(A.shape().drop_back(2), B.shape().drop_back(2));
  if (!batch)
    return nodeError("batch dimensions do not broadcast");
  int64_t nb = batch->size(), loops = nb + 3;
  auto operandMap = [&](Tensor &t, AffineExpr r, AffineExpr c) {
    SmallVector<AffineExpr> e;
    int64_t off = nb - (t.rank() - 2);
    for (int64_t d = 0; d < t.rank() - 2; ++d)
      e.push_back(t.shape()[d] == 1 && (*batch)[d + off] != 1
                      ? getAffineConstantExpr(0, ctx)
                      : getAffineDimExpr(d + off, ctx));
    e.push_back(r);
    e.push_back(c);
    return AffineMap::get(loops, 0, e, ctx);
  };
  AffineExpr dm = getAffineDimExpr(nb, ctx), dn = getAffineDimExpr(nb + 1, ctx),
             dk = getAffineDimExpr(nb + 2, ctx);
  SmallVector<AffineExpr> outE;
  for (int64_t d = 0; d < nb; ++d)
    outE.push_back(getAffineDimExpr(d, ctx));
  outE.push_back(dm);
  outE.push_back(dn);
  SmallVector<AffineMap> maps{operandMap(A, dm, dk), operandMap(B, dk, dn),
                              AffineMap::get(loops, 0, outE, ctx)};
  Shape outShape(*batch);
  outShape.push_back(m);
  outShape.push_back(n);
  Type elem = A.elementType();
  Value init = linalg::FillOp::create(b, loc, constantScalar(elem, 0.0),
                                      emptyTensor(outShape, elem))
                   .getResult(0);
  SmallVector<utils::IteratorType> its(nb + 2, utils::IteratorType::parallel);
  its.push_back(utils::IteratorType::reduction);
  auto generic = linalg::GenericOp::create(
      b, loc, init.getType(), ValueRange{materialize(A), materialize(B)}, init,
      maps, its, [](OpBuilder &nb2, Location nl, ValueRange args) {
        Value p = arith::MulFOp::create(nb2, nl, args[0], args[1]);
        linalg::YieldOp::create(nb2, nl,
                                Value(arith::AddFOp::create(nb2, nl, args[2], p)));
      });
  setOutput(0, Tensor{cast<RankedTensorType>(init.getType()),
                      generic.getResult(0), std::nullopt});
  return llvm::Error::success();
}

llvm::Error GraphImporter::importGemm() {
  auto a = input(0), bb = input(1);
  if (!a)
    return a.takeError();
  if (!bb)
    return bb.takeError();
  Tensor &A = **a, &B = **bb;
  if (A.rank() != 2 || B.rank() != 2)
    return nodeError("expects 2-D operands");
  bool ta = attrInt("transA", 0), tb = attrInt("transB", 0);
  float alpha = attrFloat("alpha", 1.f), beta = attrFloat("beta", 1.f);
  int64_t m = ta ? A.shape()[1] : A.shape()[0];
  int64_t n = tb ? B.shape()[0] : B.shape()[1];
  AffineExpr dm = getAffineDimExpr(0, ctx), dn = getAffineDimExpr(1, ctx),
             dk = getAffineDimExpr(2, ctx);
  SmallVector<AffineMap> maps{
      AffineMap::get(3, 0, ta ? ArrayRef<AffineExpr>{dk, dm}
                              : ArrayRef<AffineExpr>{dm, dk}, ctx),
      AffineMap::get(3, 0, tb ? ArrayRef<AffineExpr>{dn, dk}
                              : ArrayRef<AffineExpr>{dk, dn}, ctx),
      AffineMap::get(3, 0, {dm, dn}, ctx)};
  Type elem = A.elementType();
  Value init = linalg::FillOp::create(b, loc, constantScalar(elem, 0.0),
                                      emptyTensor({m, n}, elem))
                   .getResult(0);
  SmallVector<utils::IteratorType> its{utils::IteratorType::parallel,
                                       utils::IteratorType::parallel,
                                       utils::IteratorType::reduction};
  auto generic = linalg::GenericOp::create(
      b, loc, init.getType(), ValueRange{materialize(A), materialize(B)}, init,
      maps, its, [](OpBuilder &nb2, Location nl, ValueRange args) {
        Value p = arith::MulFOp::create(nb2, nl, args[0], args[1]);
        linalg::YieldOp::create(nb2, nl,
                                Value(arith::AddFOp::create(nb2, nl, args[2], p)));
      });
  Tensor prod{cast<RankedTensorType>(init.getType()), generic.getResult(0),
              std::nullopt};
  Tensor al{RankedTensorType::get({}, elem), Value(),
            std::vector<double>{alpha}};
  SmallVector<Tensor *> ins{&prod, &al};
  Tensor be{RankedTensorType::get({}, elem), Value(), std::vector<double>{beta}};
  if (hasInput(2)) {
    auto c = input(2);
    if (!c)
      return c.takeError();
    ins.push_back(*c);
    ins.push_back(&be);
  }
  bool withC = hasInput(2);
  auto out = elementwise(
      ins, elem,
      [withC](OpBuilder &nb2, Location nl, ValueRange a) -> Value {
        Value r = arith::MulFOp::create(nb2, nl, a[0], a[1]);
        if (withC)
          r = arith::AddFOp::create(nb2, nl, r,
                                    arith::MulFOp::create(nb2, nl, a[2], a[3]));
        return r;
      },
      nullptr);
  if (!out)
    return out.takeError();
  setOutput(0, std::move(*out));
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Indexing and data movement
//===----------------------------------------------------------------------===//

llvm::Error GraphImporter::importGather() {
  auto d = input(0), i = input(1);
  if (!d)
    return d.takeError();
  if (!i)
    return i.takeError();
  Tensor &data = **d, &idx = **i;
  int64_t axis = normAxis(attrInt("axis", 0), data.rank());
  Shape outShape(data.shape().take_front(axis));
  llvm::append_range(outShape, idx.shape());
  llvm::append_range(outShape, data.shape().drop_front(axis + 1));
  auto outType = RankedTensorType::get(outShape, data.elementType());
  int64_t axisSize = data.shape()[axis];
  if (data.known() && idx.known() && numElements(outShape) <= kMaxFoldedElements) {
    std::vector<double> out(numElements(outShape));
    int64_t inner = numElements(data.shape().drop_front(axis + 1));
    int64_t nIdx = numElements(idx.shape());
    for (size_t o = 0; o < out.size(); ++o) {
      int64_t innerPos = o % inner, rest = o / inner;
      int64_t ip = rest % nIdx, outer = rest / nIdx;
      int64_t k = int64_t((*idx.data)[ip]);
      if (k < 0)
        k += axisSize;
      out[o] = (*data.data)[(outer * axisSize + k) * inner + innerPos];
    }
    setOutput(0, Tensor{outType, Value(), std::move(out)});
    return llvm::Error::success();
  }
  int64_t rank = outShape.size(), ri = idx.rank();
  SmallVector<AffineExpr> idxExprs;
  for (int64_t k = 0; k < ri; ++k)
    idxExprs.push_back(getAffineDimExpr(axis + k, ctx));
  SmallVector<AffineMap> maps{AffineMap::get(rank, 0, idxExprs, ctx),
                              AffineMap::getMultiDimIdentityMap(rank, ctx)};
  Value dataV = materialize(data);
  SmallVector<utils::IteratorType> its(rank, utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, outType, ValueRange{materialize(idx)},
      emptyTensor(outShape, data.elementType()), maps, its,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value k = castScalar(nb, nl, args[0], nb.getI64Type());
        Value size = arith::ConstantOp::create(nb, nl, nb.getI64IntegerAttr(axisSize));
        Value neg = arith::CmpIOp::create(
            nb, nl, arith::CmpIPredicate::slt, k,
            arith::ConstantOp::create(nb, nl, nb.getI64IntegerAttr(0)));
        k = arith::SelectOp::create(nb, nl, neg,
                                    arith::AddIOp::create(nb, nl, k, size), k);
        SmallVector<Value> coords;
        for (int64_t q = 0; q < axis; ++q)
          coords.push_back(linalg::IndexOp::create(nb, nl, q));
        coords.push_back(arith::IndexCastOp::create(nb, nl, nb.getIndexType(), k));
        for (int64_t q = axis + ri; q < rank; ++q)
          coords.push_back(linalg::IndexOp::create(nb, nl, q));
        linalg::YieldOp::create(
            nb, nl, Value(tensor::ExtractOp::create(nb, nl, dataV, coords)));
      });
  setOutput(0, Tensor{outType, generic.getResult(0), std::nullopt});
  return llvm::Error::success();
}

llvm::Error GraphImporter::importTranspose() {
  auto in = input(0);
  if (!in)
    return in.takeError();
  Tensor &x = **in;
  std::vector<int64_t> perm;
  if (auto p = attrInts("perm"))
    perm = *p;
  else
    for (int64_t d = x.rank() - 1; d >= 0; --d)
      perm.push_back(d);
  Shape outShape;
  for (int64_t p : perm)
    outShape.push_back(x.shape()[p]);
  auto outType = RankedTensorType::get(outShape, x.elementType());
  if (x.known()) {
    std::vector<double> out(x.data->size());
    SmallVector<int64_t> inStrides = rowMajorStrides(x.shape());
    for (size_t o = 0; o < out.size(); ++o) {
      int64_t rem = o, src = 0;
      for (int64_t d = x.rank() - 1; d >= 0; --d) {
        src += (rem % outShape[d]) * inStrides[perm[d]];
        rem /= outShape[d];
      }
      out[o] = (*x.data)[src];
    }
    setOutput(0, Tensor{outType, Value(), std::move(out)});
    return llvm::Error::success();
  }
  auto t = linalg::TransposeOp::create(b, loc, materialize(x),
                                       emptyTensor(outShape, x.elementType()),
                                       perm);
  setOutput(0, Tensor{outType, t.getResult()[0], std::nullopt});
  return llvm::Error::success();
}

llvm::Error GraphImporter::importReshapeLike(StringRef op) {
  auto in = input(0);
  if (!in)
    return in.takeError();
  Tensor &x = **in;
  Shape shape;
  if (op == "Reshape") {
    auto target = knownInts(1, "the target shape");
    if (!target)
      return target.takeError();
    int64_t inferred = -1, known = 1;
    for (size_t d = 0; d < target->size(); ++d) {
      int64_t v = (*target)[d];
      if (v == 0 && !attrInt("allowzero", 0))
        v = x.shape()[d];
      if (v == -1)
        inferred = d;
      else
        known *= v;
      shape.push_back(v);
    }
    if (inferred >= 0)
      shape[inferred] = numElements(x.shape()) / std::max<int64_t>(known, 1);
  } else {
    std::vector<int64_t> axes;
    if (auto a = attrInts("axes"))
      axes = *a;
    else if (hasInput(1)) {
      auto k = knownInts(1, "the axes");
      if (!k)
        return k.takeError();
      axes = *k;
    }
    if (op == "Unsqueeze") {
      int64_t rank = x.rank() + axes.size();
      for (int64_t &a : axes)
        a = normAxis(a, rank);
      for (int64_t d = 0, src = 0; d < rank; ++d)
        shape.push_back(llvm::is_contained(axes, d) ? 1 : x.shape()[src++]);
    } else { // Squeeze
      for (int64_t &a : axes)
        a = normAxis(a, x.rank());
      for (int64_t d = 0; d < x.rank(); ++d)
        if (axes.empty() ? x.shape()[d] != 1 : !llvm::is_contained(axes, d))
          shape.push_back(x.shape()[d]);
    }
  }
  if (numElements(shape) != numElements(x.shape()))
    return nodeError("cannot reshape " + Twine(numElements(x.shape())) +
                     " elements into " + Twine(numElements(shape)));
  setOutput(0, reshape(x, shape));
  return llvm::Error::success();
}

llvm::Error GraphImporter::importExpand() {
  auto in = input(0);
  if (!in)
    return in.takeError();
  auto target = knownInts(1, "the target shape");
  if (!target)
    return target.takeError();
  // Expand is broadcasting the input to the target shape.
  auto outShape = broadcastShapes((*in)->shape(), *target);
  if (!outShape)
    return nodeError("shapes do not broadcast");
  int64_t n = numElements(*outShape);
  if ((*in)->known() && n <= kMaxFoldedElements) {
    std::vector<double> out(n);
    for (int64_t i = 0; i < n; ++i)
      out[i] = (*(*in)->data)[broadcastIndex(i, *outShape, (*in)->shape())];
    setOutput(0, Tensor{RankedTensorType::get(*outShape, (*in)->elementType()),
                        Value(), std::move(out)});
    return llvm::Error::success();
  }
  int64_t rank = outShape->size();
  SmallVector<AffineExpr> e;
  int64_t off = rank - (*in)->rank();
  for (int64_t d = 0; d < (*in)->rank(); ++d)
    e.push_back((*in)->shape()[d] == 1 && (*outShape)[d + off] != 1
                    ? getAffineConstantExpr(0, ctx)
                    : getAffineDimExpr(d + off, ctx));
  SmallVector<AffineMap> maps{AffineMap::get(rank, 0, e, ctx),
                              AffineMap::getMultiDimIdentityMap(rank, ctx)};
  auto outType = RankedTensorType::get(*outShape, (*in)->elementType());
  SmallVector<utils::IteratorType> its(rank, utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, outType, ValueRange{materialize(**in)},
      emptyTensor(*outShape, (*in)->elementType()), maps, its,
      [](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl, args[0]);
      });
  setOutput(0, Tensor{outType, generic.getResult(0), std::nullopt});
  return llvm::Error::success();
}

llvm::Error GraphImporter::importConcat() {
  SmallVector<Tensor *> ins;
  for (int i = 0; i < node->input_size(); ++i) {
    auto t = input(i);
    if (!t)
      return t.takeError();
    ins.push_back(*t);
  }
  int64_t axis = normAxis(attrInt("axis", 0), ins[0]->rank());
  Shape outShape(ins[0]->shape());
  outShape[axis] = 0;
  for (Tensor *t : ins)
    outShape[axis] += t->shape()[axis];
  Type elem = ins[0]->elementType();
  auto outType = RankedTensorType::get(outShape, elem);
  if (llvm::all_of(ins, [](Tensor *t) { return t->known(); })) {
    int64_t outer = numElements(ArrayRef<int64_t>(outShape).take_front(axis));
    std::vector<double> out;
    for (int64_t o = 0; o < outer; ++o)
      for (Tensor *t : ins) {
        int64_t chunk = numElements(t->shape().drop_front(axis));
        out.insert(out.end(), t->data->begin() + o * chunk,
                   t->data->begin() + (o + 1) * chunk);
      }
    setOutput(0, Tensor{outType, Value(), std::move(out)});
    return llvm::Error::success();
  }
  Value acc = emptyTensor(outShape, elem);
  int64_t offset = 0;
  for (Tensor *t : ins) {
    SmallVector<OpFoldResult> offs(outShape.size(), b.getIndexAttr(0)),
        sizes, strides(outShape.size(), b.getIndexAttr(1));
    offs[axis] = b.getIndexAttr(offset);
    for (int64_t s : t->shape())
      sizes.push_back(b.getIndexAttr(s));
    acc = tensor::InsertSliceOp::create(b, loc, materialize(*t), acc, offs,
                                        sizes, strides);
    offset += t->shape()[axis];
  }
  setOutput(0, Tensor{outType, acc, std::nullopt});
  return llvm::Error::success();
}

llvm::Error GraphImporter::importSlice() {
  auto in = input(0);
  if (!in)
    return in.takeError();
  Tensor &x = **in;
  auto starts = knownInts(1, "starts"), ends = knownInts(2, "ends");
  if (!starts)
    return starts.takeError();
  if (!ends)
    return ends.takeError();
  std::vector<int64_t> axes, steps(starts->size(), 1);
  if (hasInput(3)) {
    auto a = knownInts(3, "axes");
    if (!a)
      return a.takeError();
    axes = *a;
  } else {
    for (size_t i = 0; i < starts->size(); ++i)
      axes.push_back(i);
  }
  if (hasInput(4)) {
    auto s = knownInts(4, "steps");
    if (!s)
      return s.takeError();
    steps = *s;
  }
  SmallVector<int64_t> off(x.rank(), 0), size(x.shape()), stride(x.rank(), 1);
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = normAxis(axes[i], x.rank()), dim = x.shape()[a];
    if (steps[i] <= 0)
      return nodeError("non-positive slice steps are not supported");
    auto clampIdx = [&](int64_t v) {
      if (v < 0)
        v = v < -dim ? 0 : v + dim;
      return std::clamp<int64_t>(v, 0, dim);
    };
    int64_t s = clampIdx((*starts)[i]), e = clampIdx((*ends)[i]);
    off[a] = s;
    stride[a] = steps[i];
    size[a] = e > s ? (e - s + steps[i] - 1) / steps[i] : 0;
  }
  auto outType = RankedTensorType::get(size, x.elementType());
  if (x.known()) {
    std::vector<double> out(numElements(size));
    SmallVector<int64_t> inStrides = rowMajorStrides(x.shape());
    for (size_t o = 0; o < out.size(); ++o) {
      int64_t rem = o, src = 0;
      for (int64_t d = x.rank() - 1; d >= 0; --d) {
        src += (off[d] + (rem % size[d]) * stride[d]) * inStrides[d];
        rem /= size[d];
      }
      out[o] = (*x.data)[src];
    }
    setOutput(0, Tensor{outType, Value(), std::move(out)});
    return llvm::Error::success();
  }
  Value v = tensor::ExtractSliceOp::create(
      b, loc, outType, materialize(x), getAsIndexOpFoldResult(ctx, off),
      getAsIndexOpFoldResult(ctx, size), getAsIndexOpFoldResult(ctx, stride));
  setOutput(0, Tensor{outType, v, std::nullopt});
  return llvm::Error::success();
}

llvm::Error GraphImporter::importSplit() {
  auto in = input(0);
  if (!in)
    return in.takeError();
  Tensor &x = **in;
  int64_t axis = normAxis(attrInt("axis", 0), x.rank());
  std::vector<int64_t> sizes;
  if (hasInput(1)) {
    auto s = knownInts(1, "split sizes");
    if (!s)
      return s.takeError();
    sizes = *s;
  } else if (auto s = attrInts("split")) {
    sizes = *s;
  } else {
    int64_t n = node->output_size();
    for (int64_t i = 0; i < n; ++i)
      sizes.push_back((x.shape()[axis] + n - 1) / n);
    sizes.back() = x.shape()[axis] - (n - 1) * sizes[0];
  }
  int64_t offset = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    SmallVector<int64_t> off(x.rank(), 0), size(x.shape()), stride(x.rank(), 1);
    off[axis] = offset;
    size[axis] = sizes[i];
    auto outType = RankedTensorType::get(size, x.elementType());
    Value v = tensor::ExtractSliceOp::create(
        b, loc, outType, materialize(x), getAsIndexOpFoldResult(ctx, off),
        getAsIndexOpFoldResult(ctx, size), getAsIndexOpFoldResult(ctx, stride));
    setOutput(i, Tensor{outType, v, std::nullopt});
    offset += sizes[i];
  }
  return llvm::Error::success();
}

llvm::Error GraphImporter::importSoftmax() {
  auto in = input(0);
  if (!in)
    return in.takeError();
  Tensor &x = **in;
  int64_t axis = normAxis(attrInt("axis", -1), x.rank());
  if (axis != x.rank() - 1)
    return nodeError("softmax over a dimension other than the last is not "
                     "supported yet");
  Type elem = x.elementType();
  Value xv = materialize(x);
  Value mx = reduce(xv, {axis}, true, elem,
                    -std::numeric_limits<double>::infinity(),
                    [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                      return arith::MaximumFOp::create(nb, nl, a[0], a[1]);
                    });
  Tensor maxT{cast<RankedTensorType>(mx.getType()), mx, std::nullopt};
  auto e = elementwise({&x, &maxT}, elem,
                       [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                         return math::ExpOp::create(
                             nb, nl, arith::SubFOp::create(nb, nl, a[0], a[1]));
                       },
                       nullptr);
  if (!e)
    return e.takeError();
  Value sum = reduce(e->value, {axis}, true, elem, 0.0,
                     [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                       return arith::AddFOp::create(nb, nl, a[1], a[0]);
                     });
  Tensor sumT{cast<RankedTensorType>(sum.getType()), sum, std::nullopt};
  auto out = elementwise({&*e, &sumT}, elem,
                         [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                           return arith::DivFOp::create(nb, nl, a[0], a[1]);
                         },
                         nullptr);
  if (!out)
    return out.takeError();
  setOutput(0, std::move(*out));
  return llvm::Error::success();
}

/// TopK over the last axis by ranking: element i's rank is the number of
/// elements that come before it in the order (larger value first, then lower
/// index); output position r takes the element of rank r.
llvm::Error GraphImporter::importTopK() {
  auto in = input(0);
  if (!in)
    return in.takeError();
  auto kv = knownInts(1, "K");
  if (!kv)
    return kv.takeError();
  Tensor &x = **in;
  int64_t rank = x.rank();
  if (normAxis(attrInt("axis", -1), rank) != rank - 1)
    return nodeError("TopK over a dimension other than the last is not "
                     "supported yet");
  if (!attrInt("sorted", 1))
    return nodeError("unsorted TopK is not supported yet");
  bool largest = attrInt("largest", 1);
  int64_t k = (*kv)[0], d = x.shape().back();
  Value xv = materialize(x);
  Type elem = x.elementType(), i64 = b.getI64Type();
  // ranks[..., i] = #{j : x_j before x_i}
  SmallVector<AffineExpr> lead;
  for (int64_t q = 0; q < rank - 1; ++q)
    lead.push_back(getAffineDimExpr(q, ctx));
  auto withLast = [&](int64_t dim, int64_t loops) {
    SmallVector<AffineExpr> e(lead);
    e.push_back(getAffineDimExpr(dim, ctx));
    return AffineMap::get(loops, 0, e, ctx);
  };
  Value zero = linalg::FillOp::create(b, loc, constantScalar(i64, 0),
                                      emptyTensor(x.shape(), i64))
                   .getResult(0);
  SmallVector<utils::IteratorType> its(rank, utils::IteratorType::parallel);
  its.push_back(utils::IteratorType::reduction);
  auto ranks = linalg::GenericOp::create(
      b, loc, zero.getType(), ValueRange{xv, xv}, zero,
      ArrayRef<AffineMap>{withLast(rank - 1, rank + 1), withLast(rank, rank + 1),
                          withLast(rank - 1, rank + 1)},
      its, [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value i = linalg::IndexOp::create(nb, nl, rank - 1);
        Value j = linalg::IndexOp::create(nb, nl, rank);
        Value better = arith::CmpFOp::create(
            nb, nl, largest ? arith::CmpFPredicate::OGT : arith::CmpFPredicate::OLT,
            a[1], a[0]);
        Value equal = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ,
                                            a[1], a[0]);
        Value before = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult, j, i);
        Value beats = arith::OrIOp::create(
            nb, nl, better, arith::AndIOp::create(nb, nl, equal, before));
        Value inc = arith::ExtUIOp::create(nb, nl, nb.getI64Type(), beats);
        linalg::YieldOp::create(nb, nl,
                                Value(arith::AddIOp::create(nb, nl, a[2], inc)));
      });
  // Loops (lead..., r, i): out[r] = x_i where rank_i == r.
  Shape outShape(x.shape().drop_back());
  outShape.push_back(k);
  Value vInit = linalg::FillOp::create(b, loc, constantScalar(elem, 0.0),
                                       emptyTensor(outShape, elem))
                    .getResult(0);
  Value iInit = linalg::FillOp::create(b, loc, constantScalar(i64, 0),
                                       emptyTensor(outShape, i64))
                    .getResult(0);
  (void)d;
  auto pick = linalg::GenericOp::create(
      b, loc, TypeRange{vInit.getType(), iInit.getType()},
      ValueRange{xv, ranks.getResult(0)}, ValueRange{vInit, iInit},
      ArrayRef<AffineMap>{withLast(rank, rank + 1), withLast(rank, rank + 1),
                          withLast(rank - 1, rank + 1),
                          withLast(rank - 1, rank + 1)},
      its, [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value r = arith::IndexCastOp::create(
            nb, nl, nb.getI64Type(), linalg::IndexOp::create(nb, nl, rank - 1));
        Value i = arith::IndexCastOp::create(
            nb, nl, nb.getI64Type(), linalg::IndexOp::create(nb, nl, rank));
        Value hit = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq, a[1], r);
        linalg::YieldOp::create(
            nb, nl,
            ValueRange{arith::SelectOp::create(nb, nl, hit, a[0], a[2]),
                       arith::SelectOp::create(nb, nl, hit, i, a[3])});
      });
  setOutput(0, Tensor{cast<RankedTensorType>(vInit.getType()),
                      pick.getResult(0), std::nullopt});
  setOutput(1, Tensor{cast<RankedTensorType>(iInit.getType()),
                      pick.getResult(1), std::nullopt});
  return llvm::Error::success();
}

/// ScatterElements on the last axis: out[..., j] = updates[..., k] for the
/// last k with indices[..., k] == j, else data[..., j].
llvm::Error GraphImporter::importScatterElements() {
  auto d = input(0), i = input(1), u = input(2);
  if (!d)
    return d.takeError();
  if (!i)
    return i.takeError();
  if (!u)
    return u.takeError();
  Tensor &data = **d, &idx = **i, &upd = **u;
  int64_t rank = data.rank();
  if (normAxis(attrInt("axis", 0), rank) != rank - 1)
    return nodeError("ScatterElements over a dimension other than the last is "
                     "not supported yet");
  if (const onnx::AttributeProto *r = attr("reduction"))
    if (r->s() != "none")
      return nodeError("ScatterElements with reduction is not supported yet");
  if (idx.shape().drop_back() != data.shape().drop_back())
    return nodeError("indices must match data on every dimension but the last");
  SmallVector<AffineExpr> lead;
  for (int64_t q = 0; q < rank - 1; ++q)
    lead.push_back(getAffineDimExpr(q, ctx));
  auto withLast = [&](int64_t dim) {
    SmallVector<AffineExpr> e(lead);
    e.push_back(getAffineDimExpr(dim, ctx));
    return AffineMap::get(rank + 1, 0, e, ctx);
  };
  int64_t size = data.shape().back();
  SmallVector<utils::IteratorType> its(rank, utils::IteratorType::parallel);
  its.push_back(utils::IteratorType::reduction);
  auto generic = linalg::GenericOp::create(
      b, loc, data.type, ValueRange{materialize(idx), materialize(upd)},
      ValueRange{materialize(data)},
      ArrayRef<AffineMap>{withLast(rank), withLast(rank), withLast(rank - 1)},
      its, [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value j = arith::IndexCastOp::create(
            nb, nl, nb.getI64Type(), linalg::IndexOp::create(nb, nl, rank - 1));
        Value k = castScalar(nb, nl, a[0], nb.getI64Type());
        Value neg = arith::CmpIOp::create(
            nb, nl, arith::CmpIPredicate::slt, k,
            arith::ConstantOp::create(nb, nl, nb.getI64IntegerAttr(0)));
        k = arith::SelectOp::create(
            nb, nl, neg,
            arith::AddIOp::create(
                nb, nl, k,
                arith::ConstantOp::create(nb, nl, nb.getI64IntegerAttr(size))),
            k);
        Value hit = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq, k, j);
        linalg::YieldOp::create(
            nb, nl, Value(arith::SelectOp::create(nb, nl, hit, a[1], a[2])));
      });
  setOutput(0, Tensor{data.type, generic.getResult(0), std::nullopt});
  return llvm::Error::success();
}

llvm::Error GraphImporter::importScatterND() {
  auto d = input(0), i = input(1), u = input(2);
  if (!d)
    return d.takeError();
  if (!i)
    return i.takeError();
  if (!u)
    return u.takeError();
  Tensor &data = **d, &idx = **i, &upd = **u;
  if (!data.known() || !idx.known() || !upd.known())
    return nodeError("ScatterND on values known only at run time is not "
                     "supported yet");
  std::vector<double> out(*data.data);
  int64_t q = idx.shape().back();
  SmallVector<int64_t> strides = rowMajorStrides(data.shape());
  int64_t slice = numElements(data.shape().drop_front(q));
  int64_t n = numElements(idx.shape().drop_back());
  for (int64_t e = 0; e < n; ++e) {
    int64_t base = 0;
    for (int64_t c = 0; c < q; ++c) {
      int64_t v = int64_t((*idx.data)[e * q + c]);
      if (v < 0)
        v += data.shape()[c];
      base += v * strides[c];
    }
    for (int64_t s = 0; s < slice; ++s)
      out[base + s] = (*upd.data)[e * slice + s];
  }
  setOutput(0, Tensor{data.type, Value(), std::move(out)});
  return llvm::Error::success();
}

llvm::Error GraphImporter::importTrilu() {
  auto in = input(0);
  if (!in)
    return in.takeError();
  Tensor &x = **in;
  int64_t k = 0;
  if (hasInput(1)) {
    auto kv = knownInts(1, "k");
    if (!kv)
      return kv.takeError();
    k = (*kv)[0];
  }
  bool upper = attrInt("upper", 1);
  if (!x.known())
    return nodeError("Trilu of values known only at run time is not supported "
                     "yet");
  int64_t rows = x.shape()[x.rank() - 2], cols = x.shape().back();
  std::vector<double> out(*x.data);
  for (size_t e = 0; e < out.size(); ++e) {
    int64_t c = e % cols, r = (e / cols) % rows;
    bool keep = upper ? c - r >= k : c - r <= k;
    if (!keep)
      out[e] = 0.0;
  }
  setOutput(0, Tensor{x.type, Value(), std::move(out)});
  return llvm::Error::success();
}

llvm::Error GraphImporter::importConstantOfShape() {
  auto shape = knownInts(0, "the shape");
  if (!shape)
    return shape.takeError();
  Type elem = b.getF32Type();
  double value = 0.0;
  if (const onnx::AttributeProto *a = attr("value")) {
    auto t = tensorFromProto(a->t());
    if (!t)
      return t.takeError();
    elem = t->elementType();
    value = (*t->data)[0];
  }
  auto type = RankedTensorType::get(*shape, elem);
  int64_t n = numElements(*shape);
  if (n <= kMaxFoldedElements) {
    setOutput(0, Tensor{type, Value(), std::vector<double>(n, value)});
    return llvm::Error::success();
  }
  Value v = linalg::FillOp::create(b, loc, constantScalar(elem, value),
                                   emptyTensor(*shape, elem))
                .getResult(0);
  setOutput(0, Tensor{type, v, std::nullopt});
  return llvm::Error::success();
}

llvm::Error GraphImporter::importRange() {
  SmallVector<double> args;
  Type elem;
  for (int i = 0; i < 3; ++i) {
    auto t = input(i);
    if (!t)
      return t.takeError();
    if (!(*t)->known())
      return nodeError("Range bounds must be known when importing");
    args.push_back((*(*t)->data)[0]);
    elem = (*t)->elementType();
  }
  if (args[2] == 0)
    return nodeError("Range with a zero step");
  int64_t n = std::max<int64_t>(
      0, int64_t(std::ceil((args[1] - args[0]) / args[2])));
  std::vector<double> out(n);
  for (int64_t i = 0; i < n; ++i)
    out[i] = roundTo(elem, args[0] + double(i) * args[2]);
  setOutput(0, Tensor{RankedTensorType::get({n}, elem), Value(), std::move(out)});
  return llvm::Error::success();
}

llvm::Error GraphImporter::importConstant() {
  if (const onnx::AttributeProto *a = attr("value")) {
    auto t = tensorFromProto(a->t());
    if (!t)
      return t.takeError();
    setOutput(0, std::move(*t));
    return llvm::Error::success();
  }
  if (const onnx::AttributeProto *a = attr("value_float")) {
    setOutput(0, Tensor{RankedTensorType::get({}, b.getF32Type()), Value(),
                        std::vector<double>{a->f()}});
    return llvm::Error::success();
  }
  if (const onnx::AttributeProto *a = attr("value_int")) {
    setOutput(0, Tensor{RankedTensorType::get({}, b.getI64Type()), Value(),
                        std::vector<double>{double(a->i())}});
    return llvm::Error::success();
  }
  if (const onnx::AttributeProto *a = attr("value_ints")) {
    std::vector<double> v(a->ints().begin(), a->ints().end());
    setOutput(0, Tensor{RankedTensorType::get({int64_t(v.size())}, b.getI64Type()),
                        Value(), std::move(v)});
    return llvm::Error::success();
  }
  return nodeError("Constant without a supported value attribute");
}

llvm::Error GraphImporter::importShape() {
  auto in = input(0);
  if (!in)
    return in.takeError();
  int64_t rank = (*in)->rank();
  int64_t start = normAxis(attrInt("start", 0), rank);
  int64_t end = attr("end") ? normAxis(attrInt("end", rank), rank) : rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, start, rank);
  std::vector<double> dims;
  for (int64_t d = start; d < end; ++d)
    dims.push_back(double((*in)->shape()[d]));
  setOutput(0, Tensor{RankedTensorType::get({int64_t(dims.size())},
                                            b.getI64Type()),
                      Value(), std::move(dims)});
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Recognition of BitNet subgraphs
//===----------------------------------------------------------------------===//

GraphView GraphImporter::graphView() {
  GraphView g;
  g.producer = [this](const std::string &v) -> const onnx::NodeProto * {
    auto it = producers.find(v);
    return it == producers.end() ? nullptr : it->second;
  };
  g.scalar = [this](const std::string &v) -> std::optional<double> {
    auto it = env.find(v);
    if (it == env.end() || !it->second.known() || it->second.data->empty())
      return std::nullopt;
    const std::vector<double> &d = *it->second.data;
    if (llvm::any_of(d, [&](double x) { return x != d[0]; }))
      return std::nullopt;
    return d[0];
  };
  g.ints = [this](const std::string &v) -> std::optional<std::vector<int64_t>> {
    auto it = env.find(v);
    if (it == env.end() || !it->second.known() ||
        !isa<IntegerType>(it->second.elementType()))
      return std::nullopt;
    std::vector<int64_t> out;
    for (double x : *it->second.data)
      out.push_back(int64_t(x));
    return out;
  };
  g.lastDim = [this](const std::string &v) -> int64_t {
    auto it = env.find(v);
    return it == env.end() || it->second.rank() == 0 ? -1
                                                     : it->second.shape().back();
  };
  g.rank = [this](const std::string &v) -> int64_t {
    auto it = env.find(v);
    return it == env.end() ? -1 : it->second.rank();
  };
  return g;
}

/// An STE quantizer ending at this Add becomes a bitnet quantizer and a
/// dequantize; the float nodes before it are left dead and erased later.
bool GraphImporter::tryQuantizer() {
  std::optional<QuantizerMatch> m = matchQuantizerSTE(*node, graphView());
  if (!m)
    return false;
  auto it = env.find(m->input);
  if (it == env.end() || !it->second.elementType().isF32() ||
      it->second.rank() < 1)
    return false;
  Tensor &x = it->second;
  Value xv = materialize(x);
  auto codesType = RankedTensorType::get(x.shape(), b.getI8Type());
  auto eps = b.getF32FloatAttr(m->eps);
  auto mode = EpsModeAttr::get(ctx, m->clampEps ? EpsMode::clamp : EpsMode::add);
  auto form = MultFormAttr::get(ctx, m->recipMul ? MultForm::recip_mul
                                                 : MultForm::div);
  auto tokenScale = RankedTensorType::get(x.shape().drop_back(), b.getF32Type());
  Value codes, scale;
  if (m->kind == QuantKind::Ternary) {
    auto q = TernaryQuantOp::create(b, loc, codesType,
                                    RankedTensorType::get({}, b.getF32Type()),
                                    xv, eps, mode, form);
    codes = q.getCodes();
    scale = q.getScale();
    ++stats.weightQuantizers;
  } else if (m->kind == QuantKind::Absmax) {
    auto q = AbsmaxQuantOp::create(b, loc, codesType, tokenScale, xv,
                                   b.getI32IntegerAttr(m->bits), eps, mode, form);
    codes = q.getCodes();
    scale = q.getScale();
    ++stats.activationQuantizers["int" + std::to_string(m->bits) + "_absmax"];
  } else if (m->kind == QuantKind::FP4) {
    auto fp4Type = RankedTensorType::get(x.shape(), b.getType<Float4E2M1FNType>());
    auto q = FP4QuantOp::create(b, loc, fp4Type, tokenScale, xv, eps, mode, form);
    codes = q.getCodes();
    scale = q.getScale();
    ++stats.activationQuantizers["fp4_minmax"];
  } else {
    auto q = AbsmeanQuantOp::create(b, loc, codesType, tokenScale, xv,
                                    b.getI32IntegerAttr(m->bits), eps, mode, form);
    codes = q.getCodes();
    scale = q.getScale();
    ++stats.activationQuantizers["int" + std::to_string(m->bits) + "_absmean"];
  }
  if (m->kind == QuantKind::FP4 && options.exposeActivationCodes) {
    // Exposed as 2 * value in i8 (every E2M1 value doubled is an integer),
    // as bitnet_ref.py records FP4 codes.
    Tensor ones{cast<RankedTensorType>(scale.getType()), Value(),
                std::vector<double>(numElements(tokenScale.getShape()), 1.0)};
    Value values = DequantizeOp::create(b, loc, x.type, codes, materialize(ones));
    Tensor v{x.type, values, std::nullopt};
    auto twice = elementwise(
        {&v}, b.getI8Type(),
        [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value two = arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(2.0));
          return arith::FPToSIOp::create(
              nb, nl, nb.getI8Type(), arith::MulFOp::create(nb, nl, a[0], two));
        },
        nullptr);
    if (twice) {
      stats.activationQuantizerNodes.push_back(nodeName);
      stats.activationQuantizerSchemes.push_back("fp4_minmax");
      activationCodes.push_back(twice->value);
    } else {
      llvm::consumeError(twice.takeError());
    }
  } else if (m->kind != QuantKind::Ternary) {
    stats.activationQuantizerNodes.push_back(nodeName);
    stats.activationQuantizerSchemes.push_back(
        "int" + std::to_string(m->bits) +
        (m->kind == QuantKind::Absmax ? "_absmax" : "_absmean"));
    activationCodes.push_back(codes);
  }
  Value deq = DequantizeOp::create(b, loc, x.type, codes, scale);
  setOutput(0, Tensor{x.type, deq, std::nullopt});
  quantized[node->output(0)] = Quantized{codes, scale, m->kind};
  return true;
}

/// Mul(x, scatter of TopK(|x|) indices into zeros) -> bitnet.topk_sparsify.
bool GraphImporter::tryTopK() {
  std::optional<TopKMatch> m = matchTopKScatter(*node, graphView());
  if (!m)
    return false;
  auto it = env.find(m->input);
  if (it == env.end() || !it->second.elementType().isF32())
    return false;
  Tensor &x = it->second;
  int64_t d = x.shape().back();
  double ratio = double(m->k) / double(d);
  if (TopKSparsifyOp::getKeptCount(ratio, d) != m->k)
    return false;
  Value y = TopKSparsifyOp::create(b, loc, materialize(x),
                                   b.getF64FloatAttr(ratio));
  setOutput(0, Tensor{x.type, y, std::nullopt});
  ++stats.topKs;
  return true;
}

/// MatMul(quantized x, Transpose(quantized ternary W)) -> bitnet.bitlinear.
bool GraphImporter::tryBitLinear() {
  if (node->op_type() != "MatMul" || node->input_size() != 2)
    return false;
  auto act = quantized.find(node->input(0));
  if (act == quantized.end() || act->second.kind == QuantKind::Ternary)
    return false;
  auto tr = producers.find(node->input(1));
  if (tr == producers.end()) {
    // No producer: an initializer, possibly a weight quantized and folded
    // by the exporter.
    auto wt = env.find(node->input(1));
    if (wt == env.end())
      return false;
    std::optional<std::pair<Value, Value>> w = constantTernaryWeight(wt->second);
    if (!w)
      return false;
    ++stats.constantTernaryWeights;
    return emitBitLinear(act->second, w->first, w->second);
  }
  if (tr->second->op_type() != "Transpose")
    return false;
  const onnx::NodeProto &t = *tr->second;
  bool swaps = false;
  for (const onnx::AttributeProto &a : t.attribute())
    if (a.name() == "perm")
      swaps = a.ints_size() == 2 && a.ints(0) == 1 && a.ints(1) == 0;
  auto w = quantized.find(t.input(0));
  if (!swaps || w == quantized.end() || w->second.kind != QuantKind::Ternary)
    return false;
  return emitBitLinear(act->second, w->second.codes, w->second.scale);
}

/// A constant [K, N] weight whose values are 0 and +-a (up to float noise
/// from the STE, `w + (a*t - w)`), as exporters leave a quantized weight
/// they folded: its ternary codes (transposed to [N, K]) and a.
std::optional<std::pair<Value, Value>>
GraphImporter::constantTernaryWeight(Tensor &wt) {
  if (wt.rank() != 2 || !wt.elementType().isF32())
    return std::nullopt;
  std::vector<float> vals;
  if (wt.known()) {
    vals.assign(wt.data->begin(), wt.data->end());
  } else if (auto cst = wt.value ? wt.value.getDefiningOp<arith::ConstantOp>()
                                 : arith::ConstantOp()) {
    auto dense = dyn_cast<DenseElementsAttr>(cst.getValue());
    if (!dense)
      return std::nullopt;
    vals.assign(dense.getValues<float>().begin(), dense.getValues<float>().end());
  } else {
    return std::nullopt;
  }
  // The most frequent nonzero magnitude is the scale; every other nonzero
  // magnitude must be within a few ulps of it.
  std::map<float, int64_t> counts;
  for (float v : vals)
    if (v != 0.f)
      ++counts[std::fabs(v)];
  if (counts.empty())
    return std::nullopt;
  float a = llvm::max_element(counts, [](auto &l, auto &r) {
              return l.second < r.second;
            })->first;
  for (auto &[mag, n] : counts)
    if (std::fabs(mag - a) > a * 1e-5f)
      return std::nullopt;
  int64_t k = wt.shape()[0], n = wt.shape()[1];
  SmallVector<int8_t> codes(n * k);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j) {
      float v = vals[i * n + j];
      codes[j * k + i] = int8_t(v > 0.f ? 1 : v < 0.f ? -1 : 0);
    }
  auto codesType = RankedTensorType::get({n, k}, b.getI8Type());
  Value c = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(codesType, ArrayRef<int8_t>(codes)));
  auto scaleType = RankedTensorType::get({}, b.getF32Type());
  Value sc = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(scaleType, ArrayRef<float>(a)));
  return std::make_pair(c, sc);
}

bool GraphImporter::emitBitLinear(const Quantized &act, Value wCodes,
                                  Value wScale) {
  auto xType = cast<RankedTensorType>(act.codes.getType());
  auto wType = cast<RankedTensorType>(wCodes.getType());
  if (wType.getRank() != 2 || xType.getShape().back() != wType.getDimSize(1))
    return false;
  SmallVector<int64_t> shape(xType.getShape().drop_back());
  shape.push_back(wType.getDimSize(0));
  auto resultType = RankedTensorType::get(shape, b.getF32Type());
  Value y = BitLinearOp::create(b, loc, resultType, act.codes, act.scale,
                                wCodes, wScale);
  setOutput(0, Tensor{resultType, y, std::nullopt});
  ++stats.bitLinears;
  Operation *quant = act.codes.getDefiningOp();
  std::string scheme = "absmax";
  if (auto q = dyn_cast<AbsmaxQuantOp>(quant))
    scheme = "int" + std::to_string(q.getBits()) + "_absmax";
  else if (auto q = dyn_cast<AbsmeanQuantOp>(quant))
    scheme = "int" + std::to_string(q.getBits()) + "_absmean";
  else if (isa<FP4QuantOp>(quant))
    scheme = "fp4_minmax";
  stats.bitLinearNodes.push_back(nodeName + " (" + scheme + ")");
  return true;
}

llvm::Error GraphImporter::importNode() {
  StringRef op = node->op_type();
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
  for (const onnx::TensorProto &t : g.initializer()) {
    auto tensor = tensorFromProto(t);
    if (!tensor)
      return tensor.takeError();
    env[t.name()] = std::move(*tensor);
  }

  for (const onnx::NodeProto &n : g.node())
    for (const std::string &out : n.output())
      producers[out] = &n;
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
  func::ReturnOp::create(b, loc, results);
  func.setFunctionType(b.getFunctionType(argTypes, resultTypes));
  // The float nodes of recognized subgraphs were emitted before the match;
  // nothing uses them now.
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(*entry)))
    if (isOpTriviallyDead(&op))
      op.erase();
  if (failed(verify(*module)))
    return error("the imported IR does not verify (an importer bug)");
  return std::move(module);
}

} // namespace

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::bitnet::onnx_import::importONNXModel(const ONNXModel &model,
                                           MLIRContext &context,
                                           const ImportOptions &options,
                                           ImportStats *stats) {
  context.loadDialect<arith::ArithDialect, func::FuncDialect,
                      linalg::LinalgDialect, math::MathDialect,
                      tensor::TensorDialect, LLVM::LLVMDialect,
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
                  " TopK, activation quantizers:";
  if (activationQuantizers.empty())
    s += " none";
  for (const auto &[scheme, count] : activationQuantizers)
    s += " " + std::to_string(count) + " " + scheme;
  return s;
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
