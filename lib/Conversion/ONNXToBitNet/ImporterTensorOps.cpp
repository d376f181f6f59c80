//===- ImporterTensorOps.cpp - Reductions, contractions, data movement ---===//
//
// ReduceMean/Max/Sum, MatMul, Gemm, Gather, Transpose, reshapes, Expand,
// Concat, Slice, Split, Softmax, TopK, scatters, Trilu and the shape ops.
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
    return setResult(elementwise(
        {&sum}, elem,
        [=](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value v = a[0];
          if (mean)
            v = arith::DivFOp::create(
                nb, nl, v,
                arith::ConstantOp::create(nb, nl, nb.getF64FloatAttr(count)));
          return castScalar(nb, nl, v, elem);
        },
        nullptr));
  }
  setOutput(0, Tensor{cast<RankedTensorType>(result.getType()), result,
                      std::nullopt});
  return llvm::Error::success();
}

llvm::Error GraphImporter::importMatMul() {
  SmallVector<Tensor *, 2> in;
  if (llvm::Error err = inputs({0, 1}, in))
    return err;
  Tensor &A = *in[0];
  Tensor *bp = in[1];
  // x W^T with W a 2-D tensor: read W's rows directly (no transposed copy;
  // the LM head of a tied embedding would copy the whole table per step).
  bool transposedB = false;
  if (auto it = producers.find(node->input(1));
      it != producers.end() && it->second->op_type() == "Transpose" &&
      bp->rank() == 2) {
    const onnx::NodeProto *t = it->second;
    std::vector<int64_t> perm;
    for (const onnx::AttributeProto &a : t->attribute())
      if (a.name() == "perm")
        perm.assign(a.ints().begin(), a.ints().end());
    auto src = env.find(t->input(0));
    if ((perm.empty() || perm == std::vector<int64_t>{1, 0}) &&
        src != env.end() && src->second.rank() == 2 && !bp->known()) {
      bp = &src->second;
      transposedB = true;
    }
  }
  Tensor &B = *bp;
  if (A.rank() < 2 || B.rank() < 2)
    return nodeError("MatMul of 1-D operands is not supported yet");
  if (!isa<FloatType>(A.elementType()))
    return nodeError("integer MatMul is not supported yet");
  int64_t m = A.shape()[A.rank() - 2], k = A.shape().back();
  int64_t k2 = B.shape()[B.rank() - 2], n = B.shape().back();
  if (transposedB)
    std::swap(k2, n);
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
  SmallVector<AffineMap> maps{operandMap(A, dm, dk),
                              transposedB ? operandMap(B, dn, dk)
                                          : operandMap(B, dk, dn),
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
  // A linear layer (2-D weight): the CPU pipeline may call a vectorized,
  // threaded kernel for it (bitnet-lower-ukernels).
  if (B.rank() == 2 && elem.isF32() && B.elementType().isF32())
    generic->setAttr("bitnet.ukernel", b.getStringAttr(transposedB ? "matmul_f32_nt"
                                                                   : "matmul_f32"));
  // Batched products without broadcasting (attention's per-head Q K^T and
  // P V over the step's own tokens): the runtime's batched kernel.
  bool sameBatch = A.rank() == B.rank() && A.rank() >= 3 && !transposedB &&
                   A.shape().drop_back(2) == B.shape().drop_back(2);
  if (sameBatch && elem.isF32() && B.elementType().isF32())
    generic->setAttr("bitnet.ukernel", b.getStringAttr("bmm_f32"));
  setOutput(0, Tensor{cast<RankedTensorType>(init.getType()),
                      generic.getResult(0), std::nullopt});
  return llvm::Error::success();
}

llvm::Error GraphImporter::importGemm() {
  SmallVector<Tensor *, 2> in;
  if (llvm::Error err = inputs({0, 1}, in))
    return err;
  Tensor &A = *in[0], &B = *in[1];
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
  return setResult(elementwise(
      ins, elem,
      [withC](OpBuilder &nb2, Location nl, ValueRange a) -> Value {
        Value r = arith::MulFOp::create(nb2, nl, a[0], a[1]);
        if (withC)
          r = arith::AddFOp::create(nb2, nl, r,
                                    arith::MulFOp::create(nb2, nl, a[2], a[3]));
        return r;
      },
      nullptr));
}

//===----------------------------------------------------------------------===//
// Indexing and data movement
//===----------------------------------------------------------------------===//

llvm::Error GraphImporter::importGather() {
  SmallVector<Tensor *, 2> in;
  if (llvm::Error err = inputs({0, 1}, in))
    return err;
  Tensor &data = *in[0], &idx = *in[1];
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
  setOutput(0, Tensor{outType, generic.getResult(0), std::nullopt,
                      (*in)->splatValue()});
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
  // exp(x - max) is 0 for x = -inf (what a mask writes): skip the exp there.
  // A KV-cached step's scores span the whole cache, most of it masked early
  // in a sequence (measured: the exps of masked columns were 18% of a48's
  // prefill). Exact: the same values, a branch instead of a call.
  auto e = elementwise(
      {&x, &maxT}, elem,
      [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value negInf = arith::ConstantOp::create(
            nb, nl, nb.getFloatAttr(elem, -std::numeric_limits<double>::infinity()));
        Value masked = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ,
                                             a[0], negInf);
        auto guarded = scf::IfOp::create(
            nb, nl, masked,
            [&](OpBuilder &tb, Location tl) {
              scf::YieldOp::create(
                  tb, tl,
                  Value(arith::ConstantOp::create(tb, tl, tb.getFloatAttr(elem, 0.0))));
            },
            [&](OpBuilder &eb, Location el) {
              scf::YieldOp::create(
                  eb, el,
                  Value(math::ExpOp::create(
                      eb, el, arith::SubFOp::create(eb, el, a[0], a[1]))));
            });
        return guarded.getResult(0);
      },
      nullptr);
  if (!e)
    return e.takeError();
  Value sum = reduce(e->value, {axis}, true, elem, 0.0,
                     [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                       return arith::AddFOp::create(nb, nl, a[1], a[0]);
                     });
  Tensor sumT{cast<RankedTensorType>(sum.getType()), sum, std::nullopt};
  return setResult(elementwise(
      {&*e, &sumT}, elem,
      [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        return arith::DivFOp::create(nb, nl, a[0], a[1]);
      },
      nullptr));
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
  int64_t k = (*kv)[0];
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
  SmallVector<Tensor *, 3> in;
  if (llvm::Error err = inputs({0, 1, 2}, in))
    return err;
  Tensor &data = *in[0], &idx = *in[1], &upd = *in[2];
  int64_t rank = data.rank();
  int64_t axis = normAxis(attrInt("axis", 0), rank);
  if (const onnx::AttributeProto *r = attr("reduction"))
    if (r->s() != "none")
      return nodeError("ScatterElements with reduction is not supported yet");
  if (idx.shape() != upd.shape() || idx.rank() != rank)
    return nodeError("indices and updates must have one shape, of data's rank");
  // Known at import (e.g. the dynamo exporter's select_scatter of a constant):
  // evaluate, on any axis.
  if (data.known() && idx.known() && upd.known()) {
    std::vector<double> out(*data.data);
    SmallVector<int64_t> dataStrides = rowMajorStrides(data.shape());
    for (int64_t e = 0, n = numElements(idx.shape()); e < n; ++e) {
      int64_t rem = e, target = 0;
      for (int64_t q = rank - 1; q >= 0; --q) {
        int64_t coord = rem % idx.shape()[q];
        rem /= idx.shape()[q];
        if (q == axis) {
          coord = int64_t((*idx.data)[e]);
          if (coord < 0)
            coord += data.shape()[q];
          if (coord < 0 || coord >= data.shape()[q])
            return nodeError("index out of range");
        }
        target += coord * dataStrides[q];
      }
      out[target] = (*upd.data)[e];
    }
    setOutput(0, Tensor{data.type, Value(), std::move(out)});
    return llvm::Error::success();
  }
  if (axis != rank - 1)
    return nodeError("ScatterElements over a dimension other than the last is "
                     "not supported yet (unless its inputs are constants)");
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
  SmallVector<Tensor *, 3> in;
  if (llvm::Error err = inputs({0, 1, 2}, in))
    return err;
  Tensor &data = *in[0], &idx = *in[1], &upd = *in[2];
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
  setOutput(0, Tensor{type, v, std::nullopt, value});
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

