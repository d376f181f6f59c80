//===- LoweringUtils.cpp - Shared helpers of the reference lowering -------===//

#include "LoweringUtils.h"

#include "bitnet/Support/TernaryPacking.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::bitnet::lowering;

Value mlir::bitnet::lowering::emptyTensor(OpBuilder &b, Location loc,
                          ArrayRef<OpFoldResult> sizes, Type elementType) {
  return tensor::EmptyOp::create(b, loc, sizes, elementType);
}

SmallVector<OpFoldResult> mlir::bitnet::lowering::leadingSizes(OpBuilder &b, Location loc,
                                               Value tensor) {
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, tensor);
  sizes.pop_back();
  return sizes;
}

Value mlir::bitnet::lowering::f32Const(OpBuilder &b, Location loc, double v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

Value mlir::bitnet::lowering::i32Const(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v));
}

Value mlir::bitnet::lowering::lastDimAsF64(OpBuilder &b, Location loc, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  int64_t last = type.getRank() - 1;
  Value dim = tensor::DimOp::create(b, loc, tensor, last);
  Value i64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), dim);
  return arith::SIToFPOp::create(b, loc, b.getF64Type(), i64);
}

static SmallVector<utils::IteratorType> iterators(int64_t parallel,
                                                  int64_t reduction) {
  SmallVector<utils::IteratorType> its(parallel, utils::IteratorType::parallel);
  its.append(reduction, utils::IteratorType::reduction);
  return its;
}

Value mlir::bitnet::lowering::reduceAbsLastDim(OpBuilder &b, Location loc, Value input,
                               AbsReduction kind) {
  auto type = cast<RankedTensorType>(input.getType());
  int64_t rank = type.getRank();
  Type accType = kind == AbsReduction::Max ? b.getF32Type() : b.getF64Type();
  Value init = emptyTensor(b, loc, leadingSizes(b, loc, input), accType);
  Value zero = arith::ConstantOp::create(b, loc, b.getFloatAttr(accType, 0.0));
  init = linalg::FillOp::create(b, loc, zero, init).getResult(0);
  MLIRContext *ctx = b.getContext();
  AffineMap in = AffineMap::getMultiDimIdentityMap(rank, ctx);
  AffineMap out = in.dropResult(rank - 1);
  auto generic = linalg::GenericOp::create(
      b, loc, init.getType(), input, init, ArrayRef<AffineMap>{in, out},
      iterators(rank - 1, 1), [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value a = math::AbsFOp::create(nb, nl, args[0]);
        Value r;
        if (kind == AbsReduction::Max) {
          r = arith::MaximumFOp::create(nb, nl, args[1], a);
        } else {
          Value wide = arith::ExtFOp::create(nb, nl, nb.getF64Type(), a);
          r = arith::AddFOp::create(nb, nl, args[1], wide);
        }
        linalg::YieldOp::create(nb, nl, r);
      });
  return generic.getResult(0);
}

Value mlir::bitnet::lowering::sumAbsAllF64(OpBuilder &b, Location loc, Value input) {
  auto type = cast<RankedTensorType>(input.getType());
  int64_t rank = type.getRank();
  Value init = emptyTensor(b, loc, {}, b.getF64Type());
  Value zero = arith::ConstantOp::create(b, loc, b.getF64FloatAttr(0.0));
  init = linalg::FillOp::create(b, loc, zero, init).getResult(0);
  MLIRContext *ctx = b.getContext();
  AffineMap in = AffineMap::getMultiDimIdentityMap(rank, ctx);
  AffineMap out = AffineMap::get(rank, 0, {}, ctx);
  auto generic = linalg::GenericOp::create(
      b, loc, init.getType(), input, init, ArrayRef<AffineMap>{in, out},
      iterators(0, rank), [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value a = math::AbsFOp::create(nb, nl, args[0]);
        Value wide = arith::ExtFOp::create(nb, nl, nb.getF64Type(), a);
        linalg::YieldOp::create(nb, nl,
                                Value(arith::AddFOp::create(nb, nl, args[1], wide)));
      });
  return generic.getResult(0);
}

Value mlir::bitnet::lowering::mapWithPerToken(OpBuilder &b, Location loc,
                                              ValueRange fullInputs,
                                              ValueRange perToken,
                                              Type resultElementType,
                                              BodyFn body) {
  Value full = fullInputs.front();
  auto type = cast<RankedTensorType>(full.getType());
  int64_t rank = type.getRank();
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
  SmallVector<AffineMap> maps(fullInputs.size(), id);
  SmallVector<Value> inputs(fullInputs);
  for (Value v : perToken) {
    int64_t r = cast<RankedTensorType>(v.getType()).getRank();
    maps.push_back(r == 0 ? AffineMap::get(rank, 0, {}, ctx)
                          : id.dropResult(rank - 1));
    inputs.push_back(v);
  }
  maps.push_back(id);
  Value init = emptyTensor(b, loc, tensor::getMixedSizes(b, loc, full),
                           resultElementType);
  auto generic = linalg::GenericOp::create(
      b, loc, init.getType(), inputs, init, maps, iterators(rank, 0),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl, body(nb, nl, args));
      });
  return generic.getResult(0);
}

SmallVector<Value> mlir::bitnet::lowering::mapElementwise(OpBuilder &b, Location loc,
                                          Value like, ValueRange inputs,
                                          ArrayRef<Type> resultElementTypes,
                                          BodyFn body) {
  auto type = cast<RankedTensorType>(like.getType());
  int64_t rank = type.getRank();
  AffineMap id = AffineMap::getMultiDimIdentityMap(rank, b.getContext());
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, like);
  SmallVector<Value> inits;
  SmallVector<Type> types;
  for (Type t : resultElementTypes) {
    inits.push_back(emptyTensor(b, loc, sizes, t));
    types.push_back(inits.back().getType());
  }
  SmallVector<AffineMap> maps(inputs.size() + inits.size(), id);
  auto generic = linalg::GenericOp::create(
      b, loc, types, inputs, inits, maps, iterators(rank, 0),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl, body(nb, nl, args));
      });
  return SmallVector<Value>(generic.getResults());
}

Value mlir::bitnet::lowering::roundClampToI8(OpBuilder &b, Location loc, Value v, Value lo,
                             Value hi) {
  Value r = math::RoundEvenOp::create(b, loc, v);
  r = arith::MaximumFOp::create(b, loc, r, lo);
  r = arith::MinimumFOp::create(b, loc, r, hi);
  return arith::FPToSIOp::create(b, loc, b.getI8Type(), r);
}

Value mlir::bitnet::lowering::bits2ColsWeight(OpBuilder &b, Location loc,
                                              Value row, Value byte) {
  Type i32 = b.getI32Type();
  Value r = arith::IndexCastOp::create(b, loc, i32, row);
  Value field = arith::DivUIOp::create(
      b, loc,
      arith::RemUIOp::create(b, loc, r, i32Const(b, loc, ternary::kColBlockRows)),
      i32Const(b, loc, ternary::kColBlockBytes));
  Value shift = arith::MulIOp::create(b, loc, field, i32Const(b, loc, 2));
  Value wide = arith::ExtUIOp::create(b, loc, i32, byte);
  Value code = arith::AndIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, wide, shift), i32Const(b, loc, 3));
  return arith::SubIOp::create(b, loc, code, i32Const(b, loc, 1));
}

Value mlir::bitnet::lowering::zeroI32Tensor(OpBuilder &b, Location loc,
                                            ArrayRef<int64_t> shape) {
  Value init = tensor::EmptyOp::create(b, loc, shape, b.getI32Type());
  return linalg::FillOp::create(b, loc, i32Const(b, loc, 0), init).getResult(0);
}
