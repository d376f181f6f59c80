//===- GatherRowCounts.cpp - Kernels' row counts into one result buffer ---===//
//
// The quantizer kernels count their rows' non-zero codes into buffers of
// their own ([rows] i32, findNonzeroCounter), and the step returns them all
// as one [quantizers, rows] tensor built by tensor.insert_slice. Bufferized,
// each insert is a copy of a few bytes, and the copies of a 30-layer decode
// step ran as one thread's 120 dependent load-store pairs (45 us a step,
// more than a norm kernel a layer). This pass makes the kernels write
// their rows of the result in place: one byte buffer holds the result, and
// each kernel's count buffer becomes a `memref.view` of its row. The pass
// description in Conversion/Passes.td has the contract.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Conversion/BitNetToGPU/BitNetToGPU.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETGATHERROWCOUNTS
#include "bitnet/Conversion/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

namespace {

/// One insert of the chain: a kernel's count buffer into row `row`.
struct RowInsert {
  tensor::InsertSliceOp insert;
  memref::AllocOp buffer;
  bufferization::ToTensorOp read;
};

/// The kernel count buffer `source` reads, through reshapes: an identity
/// [n] i32 alloc whose only uses are launches and this read.
std::optional<std::pair<memref::AllocOp, bufferization::ToTensorOp>>
countBufferOf(Value source, int64_t n) {
  while (Operation *def = source.getDefiningOp()) {
    if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(def) &&
        def->hasOneUse()) {
      source = def->getOperand(0);
      continue;
    }
    break;
  }
  auto read = source.getDefiningOp<bufferization::ToTensorOp>();
  if (!read || !read->hasOneUse())
    return std::nullopt;
  auto alloc = read.getBuffer().getDefiningOp<memref::AllocOp>();
  if (!alloc || !alloc.getDynamicSizes().empty() ||
      alloc.getType() != MemRefType::get({n}, IntegerType::get(
                                                  alloc.getContext(), 32)))
    return std::nullopt;
  for (Operation *user : alloc->getUsers())
    if (user != read && !isa<gpu::LaunchFuncOp>(user))
      return std::nullopt;
  return std::make_pair(alloc, read);
}

/// The chain of inserts that fills `empty` ([Q, R] i32) row by row from
/// kernel count buffers, if every row comes from one; else empty.
SmallVector<RowInsert> matchChain(tensor::EmptyOp empty) {
  auto type = cast<RankedTensorType>(empty.getType());
  if (type.getRank() != 2 || !type.hasStaticShape() ||
      !type.getElementType().isInteger(32))
    return {};
  int64_t q = type.getDimSize(0), r = type.getDimSize(1);
  SmallVector<RowInsert> chain;
  llvm::SmallBitVector seen(q);
  Value dest = empty;
  // Each insert's result has one use, the next insert; the last one's is
  // the chain's result.
  while (dest.hasOneUse()) {
    auto insert = dyn_cast<tensor::InsertSliceOp>(*dest.getUsers().begin());
    if (!insert || insert.getDest() != dest)
      break;
    std::optional<SmallVector<int64_t>> offsets =
        getConstantIntValues(insert.getMixedOffsets());
    std::optional<SmallVector<int64_t>> sizes =
        getConstantIntValues(insert.getMixedSizes());
    if (!offsets || !sizes || !insert.hasUnitStride() ||
        (*sizes)[0] != 1 || (*sizes)[1] != r || (*offsets)[1] != 0 ||
        (*offsets)[0] < 0 || (*offsets)[0] >= q || seen.test((*offsets)[0]))
      return {};
    auto buffer = countBufferOf(insert.getSource(), r);
    if (!buffer)
      return {};
    seen.set((*offsets)[0]);
    chain.push_back({insert, buffer->first, buffer->second});
    dest = insert.getResult();
  }
  if (!seen.all())
    return {};
  return chain;
}

struct GatherRowCountsPass
    : mlir::bitnet::impl::BitNetGatherRowCountsBase<GatherRowCountsPass> {
  void runOnOperation() override {
    SmallVector<tensor::EmptyOp> empties;
    getOperation().walk([&](tensor::EmptyOp e) { empties.push_back(e); });
    for (tensor::EmptyOp empty : empties) {
      SmallVector<RowInsert> chain = matchChain(empty);
      if (chain.empty())
        continue;
      rewrite(empty, chain);
    }
  }

  void rewrite(tensor::EmptyOp empty, MutableArrayRef<RowInsert> chain) {
    auto type = cast<RankedTensorType>(empty.getType());
    int64_t q = type.getDimSize(0), r = type.getDimSize(1);
    // The result's bytes, allocated where the first count buffer was (the
    // buffers are allocated in program order, before their launches).
    Operation *first = chain.front().buffer;
    for (RowInsert &ri : chain)
      if (ri.buffer->isBeforeInBlock(first))
        first = ri.buffer;
    OpBuilder b(first);
    Location loc = empty.getLoc();
    auto bytesType = MemRefType::get({q * r * 4}, b.getI8Type());
    Value all = memref::AllocOp::create(b, loc, bytesType,
                                        first->getAttrOfType<IntegerAttr>(
                                            "alignment"));
    for (RowInsert &ri : chain) {
      int64_t row = getConstantIntValues(ri.insert.getMixedOffsets()).value()[0];
      OpBuilder at(ri.buffer);
      Value offset =
          arith::ConstantIndexOp::create(at, ri.buffer.getLoc(), row * r * 4);
      Value view = memref::ViewOp::create(at, ri.buffer.getLoc(),
                                          ri.buffer.getType(), all, offset,
                                          ValueRange{});
      ri.buffer.getResult().replaceAllUsesWith(view);
    }
    // The whole result, read after the last insert (after every launch).
    tensor::InsertSliceOp last = chain.back().insert;
    OpBuilder after(last);
    Value zero = arith::ConstantIndexOp::create(after, loc, 0);
    Value whole = memref::ViewOp::create(
        after, loc, MemRefType::get({q, r}, after.getI32Type()), all, zero,
        ValueRange{});
    Value result = bufferization::ToTensorOp::create(
        after, loc, type, whole, /*restrict=*/true, /*writable=*/true);
    last.getResult().replaceAllUsesWith(result);
    // The chain, last insert first, with the reads and reshapes feeding it.
    for (RowInsert &ri : llvm::reverse(chain)) {
      Value source = ri.insert.getSource();
      ri.insert->erase();
      while (Operation *def = source.getDefiningOp()) {
        if (!def->use_empty())
          break;
        source = def->getNumOperands() ? def->getOperand(0) : Value();
        def->erase();
        if (!source || isa<BlockArgument>(source) ||
            isa<MemRefType>(source.getType()))
          break;
      }
      ri.buffer->erase();
    }
    empty->erase();
  }
};

} // namespace
