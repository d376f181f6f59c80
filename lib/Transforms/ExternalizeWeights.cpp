//===- ExternalizeWeights.cpp - Move large constants into a weight blob ---===//

#include "bitnet/Transforms/ExternalizeWeights.h"
#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETEXTERNALIZEWEIGHTS
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;
using namespace mlir::bitnet;

/// How many bytes a tensor of `type` takes in the blob.
static int64_t storedBytes(RankedTensorType type) {
  return type.getNumElements() * (type.getElementTypeBitWidth() / 8);
}

/// The constant's bytes as stored in the blob: row-major, little-endian,
/// one element per bitwidth / 8 bytes. Null for what stays a constant.
static DenseElementsAttr externalizable(arith::ConstantOp op,
                                        const ExternalizeWeightsOptions &opts) {
  auto type = dyn_cast<RankedTensorType>(op.getType());
  auto dense = dyn_cast<DenseElementsAttr>(op.getValue());
  if (!type || !dense || !type.hasStaticShape() ||
      (dense.isSplat() && !opts.includeSplats))
    return {};
  Type elem = type.getElementType();
  if (!elem.isIntOrFloat() || elem.getIntOrFloatBitWidth() % 8 != 0)
    return {};
  int64_t bytes = storedBytes(type);
  if (bytes < opts.minBytes ||
      (!dense.isSplat() && int64_t(dense.getRawData().size()) != bytes))
    return {};
  return dense;
}

LogicalResult mlir::bitnet::externalizeWeights(
    ModuleOp module, const ExternalizeWeightsOptions &options, WeightBlob &blob) {
  if (options.alignment <= 0 ||
      (options.alignment & (options.alignment - 1)) != 0)
    return module.emitError("weight alignment must be a power of two");
  auto aligned = [&](int64_t n) {
    return (n + options.alignment - 1) & ~(options.alignment - 1);
  };
  // Every public function's weights, and from them the blob's final size,
  // so that it is allocated once: grown by doubling, a 2B4T model's 2 GB
  // were copied again and again (and the new pages cleared each time).
  using Weights = SmallVector<std::pair<arith::ConstantOp, DenseElementsAttr>>;
  SmallVector<std::pair<func::FuncOp, Weights>> funcs;
  {
    llvm::DenseSet<Attribute> counted;
    // A weight nothing reads any more (an LM head a rewrite replaced) is
    // dropped, not shipped.
    SmallVector<arith::ConstantOp> dead;
    int64_t total = int64_t(blob.bytes.size());
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal() || !func.isPublic())
        continue;
      Weights &weights = funcs.emplace_back(func, Weights()).second;
      func.walk([&](arith::ConstantOp op) {
        DenseElementsAttr dense = externalizable(op, options);
        if (!dense)
          return;
        if (op->use_empty()) {
          dead.push_back(op);
          return;
        }
        weights.push_back({op, dense});
        if (counted.insert(dense).second)
          total = aligned(total) +
                  storedBytes(cast<RankedTensorType>(op.getType()));
      });
    }
    for (arith::ConstantOp op : dead)
      op.erase();
    blob.bytes.reserve(size_t(total));
  }
  llvm::DenseMap<Attribute, int64_t> offsets;
  MLIRContext *ctx = module.getContext();
  auto blobType = MemRefType::get({ShapedType::kDynamic}, IntegerType::get(ctx, 8));
  for (auto &[func, weights] : funcs) {
    if (weights.empty() && !options.alwaysAddArgument)
      continue;
    unsigned index = func.getNumArguments();
    if (failed(func.insertArgument(index, blobType, {}, func.getLoc())))
      return failure();
    Value arg = func.getArgument(index);
    OpBuilder b(ctx);
    for (auto [op, dense] : weights) {
      b.setInsertionPoint(op);
      auto [it, inserted] = offsets.try_emplace(dense, 0);
      if (inserted) {
        int64_t off = aligned(int64_t(blob.bytes.size()));
        ArrayRef<char> raw = dense.getRawData();
        blob.bytes.resize(off);
        if (dense.isSplat()) {
          // One element's bytes, repeated.
          auto type = cast<RankedTensorType>(op.getType());
          int64_t width = type.getElementTypeBitWidth() / 8;
          for (int64_t i = 0; i < type.getNumElements(); ++i)
            blob.bytes.insert(blob.bytes.end(), raw.begin(),
                              raw.begin() + width);
        } else {
          blob.bytes.insert(blob.bytes.end(), raw.begin(), raw.end());
        }
        it->second = off;
        ++blob.tensors;
        auto stored = cast<RankedTensorType>(op.getType());
        blob.entries.push_back({off, int64_t(blob.bytes.size()) - off,
                                stored.getElementType()});
      }
      auto type = cast<RankedTensorType>(op.getType());
      Location loc = op.getLoc();
      Value offset = arith::ConstantIndexOp::create(b, loc, it->second);
      auto memrefType = MemRefType::get(type.getShape(), type.getElementType());
      Value view = memref::ViewOp::create(b, loc, memrefType, arg, offset,
                                          ValueRange{});
      Value tensor = bufferization::ToTensorOp::create(
          b, loc, type, view, /*restrict=*/true, /*writable=*/false);
      op.replaceAllUsesWith(tensor);
      op.erase();
    }
  }
  return success();
}

namespace {
struct ExternalizeWeightsPass
    : public mlir::bitnet::impl::BitNetExternalizeWeightsBase<
          ExternalizeWeightsPass> {
  using Base::Base;
  void runOnOperation() override {
    ExternalizeWeightsOptions options;
    options.minBytes = minBytes;
    options.alignment = alignment;
    options.includeSplats = includeSplats;
    WeightBlob blob;
    if (failed(externalizeWeights(getOperation(), options, blob)))
      return signalPassFailure();
  }
};
} // namespace
