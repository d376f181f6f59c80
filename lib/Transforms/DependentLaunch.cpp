//===- DependentLaunch.cpp - Kernels that wait for their predecessor -------===//
//
// Programmatic dependent launch: every kernel waits for the grid before it
// and then lets the next one launch, so launches overlap the previous
// kernel's tail; a kernel's declared weight bytes are asked of L2 before
// the wait. The pass description in Passes.td has the contract.
//
//===----------------------------------------------------------------------===//

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

#include "llvm/ADT/DenseSet.h"

#include "bitnet/Transforms/DependentLaunch.h"
#include "bitnet/Transforms/Passes.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETDEPENDENTLAUNCH
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;
using mlir::bitnet::kGPUBlockReadsAttrName;

namespace {

/// The bytes of a memref of static shape and identity layout, or -1.
int64_t staticBytes(Type type) {
  auto memref = dyn_cast<MemRefType>(type);
  if (!memref || !memref.hasStaticShape() || !memref.getLayout().isIdentity() ||
      !memref.getElementType().isIntOrFloat())
    return -1;
  return memref.getNumElements() * memref.getElementTypeBitWidth() / 8;
}

/// Checks `func`'s kGPUBlockReadsAttrName against its signature and grid;
/// the (argument, bytes) pairs, or failure with an error on `func`.
FailureOr<SmallVector<std::pair<unsigned, int64_t>>>
blockReads(gpu::GPUFuncOp func, DenseI64ArrayAttr attr) {
  SmallVector<std::pair<unsigned, int64_t>> reads;
  ArrayRef<int64_t> v = attr.asArrayRef();
  if (v.size() % 2 != 0)
    return func.emitError(kGPUBlockReadsAttrName)
           << " must hold (argument, bytes) pairs";
  // The generators' grid attribute (kGPUGridSizeAttrName of BitNetToGPU.h).
  auto grid = func->getAttrOfType<DenseI32ArrayAttr>("bitnet.grid_size");
  int64_t blocks = grid && grid.size() == 3 ? grid[0] : 0;
  for (size_t i = 0; i < v.size(); i += 2) {
    int64_t arg = v[i], bytes = v[i + 1];
    if (arg < 0 || arg >= int64_t(func.getNumArguments()))
      return func.emitError(kGPUBlockReadsAttrName)
             << " names argument " << arg << " of a kernel with "
             << func.getNumArguments();
    int64_t total = staticBytes(func.getArgument(arg).getType());
    if (total < 0)
      return func.emitError(kGPUBlockReadsAttrName)
             << " names argument " << arg
             << ", which is not a memref of static shape and identity layout";
    // cp.async.bulk.prefetch: a multiple of 16 bytes, an i32 size.
    if (bytes <= 0 || bytes % 16 != 0 || bytes > (int64_t(1) << 30))
      return func.emitError(kGPUBlockReadsAttrName)
             << ": " << bytes
             << " bytes a block is not a positive multiple of 16 "
                "(at most 2^30)";
    if (blocks <= 0 || blocks * bytes > total)
      return func.emitError(kGPUBlockReadsAttrName)
             << ": " << blocks << " blocks of " << bytes
             << " bytes do not fit argument " << arg << " (" << total
             << " bytes; the grid is bitnet.grid_size)";
    reads.push_back({unsigned(arg), bytes});
  }
  return reads;
}

/// Thread 0 of the block asks L2 for each of the block's reads
/// (cp.async.bulk.prefetch.L2, skipped where the address is not 16-byte
/// aligned: a hint, never a fault).
void buildPrefetches(OpBuilder &b, gpu::GPUFuncOp func,
                     ArrayRef<std::pair<unsigned, int64_t>> reads) {
  Location loc = func.getLoc();
  MLIRContext *ctx = b.getContext();
  Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value first =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid, zero);
  auto ifOp = scf::IfOp::create(b, loc, first, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  Value bid = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
  Type i64 = b.getI64Type();
  auto generic = LLVM::LLVMPointerType::get(ctx);
  auto global = LLVM::LLVMPointerType::get(ctx, 1);
  for (auto [arg, bytes] : reads) {
    Value base = memref::ExtractAlignedPointerAsIndexOp::create(
        b, loc, func.getArgument(arg));
    Value at = arith::AddIOp::create(
        b, loc, base,
        arith::MulIOp::create(b, loc, bid,
                              arith::ConstantIndexOp::create(b, loc, bytes)));
    Value misaligned = arith::AndIOp::create(
        b, loc, at, arith::ConstantIndexOp::create(b, loc, 15));
    Value aligned = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                          misaligned, zero);
    auto alignedIf = scf::IfOp::create(b, loc, aligned, false);
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(&alignedIf.getThenRegion().front());
    Value address = arith::IndexCastUIOp::create(b, loc, i64, at);
    Value pointer = LLVM::AddrSpaceCastOp::create(
        b, loc, global, LLVM::IntToPtrOp::create(b, loc, generic, address));
    NVVM::CpAsyncBulkPrefetchOp::create(
        b, loc, pointer,
        arith::ConstantIntOp::create(b, loc, b.getI32Type(), bytes),
        /*l2CacheHint=*/Value());
  }
}

/// Whether `v` is a view (through view-like ops) of one of `args`.
bool viewOf(Value v, const llvm::SmallDenseSet<Value, 4> &args) {
  for (int depth = 0; depth < 16; ++depth) {
    if (args.contains(v))
      return true;
    Operation *def = v.getDefiningOp();
    auto view = dyn_cast_or_null<ViewLikeOpInterface>(def);
    if (!view)
      return false;
    v = view.getViewSource();
  }
  return false;
}

/// The first op of `entry` that may touch memory other than by reading
/// `weights` (nested ops included; unknown effects count): the wait goes in
/// front of it, and the weight loads before it overlap the previous kernel.
Operation *firstDependentOp(Block &entry,
                            const llvm::SmallDenseSet<Value, 4> &weights) {
  for (Operation &op : entry) {
    std::optional<SmallVector<MemoryEffects::EffectInstance>> effects =
        getEffectsRecursively(&op);
    if (!effects)
      return &op;
    for (const MemoryEffects::EffectInstance &e : *effects)
      if (!isa<MemoryEffects::Read>(e.getEffect()) || !e.getValue() ||
          !viewOf(e.getValue(), weights))
        return &op;
  }
  return entry.getTerminator();
}

struct DependentLaunchPass
    : mlir::bitnet::impl::BitNetDependentLaunchBase<DependentLaunchPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    WalkResult walked = module.walk([&](gpu::GPUFuncOp func) {
      if (!func.isKernel() || func.getBody().empty())
        return WalkResult::advance();
      OpBuilder b(ctx);
      Block &entry = func.getBody().front();
      b.setInsertionPointToStart(&entry);
      // Weights no kernel writes may be read before the wait: they stream
      // into L2 while the previous kernel runs, and (earlyLoads) the loads
      // the kernel issues before anything else are issued before it.
      Operation *waitAt = nullptr;
      if (auto attr =
              func->getAttrOfType<DenseI64ArrayAttr>(kGPUBlockReadsAttrName)) {
        FailureOr<SmallVector<std::pair<unsigned, int64_t>>> reads =
            blockReads(func, attr);
        if (failed(reads))
          return WalkResult::interrupt();
        if (earlyLoads) {
          llvm::SmallDenseSet<Value, 4> weights;
          for (auto [arg, bytes] : *reads)
            weights.insert(func.getArgument(arg));
          waitAt = firstDependentOp(entry, weights);
        }
        if (prefetch)
          buildPrefetches(b, func, *reads);
      }
      if (waitAt)
        b.setInsertionPoint(waitAt);
      // Wait before anything reads what the previous kernel wrote; only
      // then release the next kernel (its blocks would otherwise sit on
      // the SMs waiting for this one's).
      for (NVVM::GridDepActionKind kind :
           {NVVM::GridDepActionKind::wait,
            NVVM::GridDepActionKind::launch_dependents})
        NVVM::GriddepcontrolOp::create(
            b, func.getLoc(), NVVM::GridDepActionKindAttr::get(ctx, kind));
      return WalkResult::advance();
    });
    if (walked.wasInterrupted())
      return signalPassFailure();
    module->setAttr("bitnet.dependent_launch", UnitAttr::get(ctx));
  }
};

} // namespace
