//===- ImporterElementwise.cpp - Elementwise ONNX ops ---===//
//
// Arithmetic, comparisons, unary math, Cast and Clip, with numpy
// broadcasting, evaluated at import time when their inputs are known.
//
//===----------------------------------------------------------------------===//

#include "GraphImporter.h"

using namespace mlir;
using namespace mlir::bitnet;
using namespace mlir::bitnet::onnx_import;
using namespace mlir::bitnet::onnx_import::detail;
using llvm::StringRef;
using llvm::Twine;

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

Value mlir::bitnet::onnx_import::detail::castScalar(OpBuilder &b, Location loc,
                                                    Value v, Type to) {
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

namespace {

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

} // namespace

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
    body = [=](OpBuilder &nb, Location nl, ValueRange a) -> Value {
      if (square)
        return arith::MulFOp::create(nb, nl, a[0], a[0]);
      Value e = castScalar(nb, nl, a[1], a[0].getType());
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
  return setResult(elementwise(ins, result, body, fold));
}

llvm::Error GraphImporter::importCast() {
  auto in = input(0);
  if (!in)
    return in.takeError();
  Type to = elementType(int32_t(attrInt("to", 0)));
  if (!to)
    return nodeError("unsupported target type");
  return setResult(elementwise(
      {*in}, to,
      [to](OpBuilder &nb, Location nl, ValueRange a) {
        return castScalar(nb, nl, a[0], to);
      },
      [](ArrayRef<double> a) { return a[0]; }));
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
  return setResult(elementwise(
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
      }));
}

