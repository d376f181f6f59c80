//===- LowerParallelTasks.cpp - Outlined tasks onto the runtime's threads -===//
//
// bitnet-outline-loops{parallel-tasks} leaves calls @f(lo, hi, work, args...)
// of functions that run a loop nest over [lo, hi) of one parallel dimension.
// Once everything is in the LLVM dialect the arguments are plain scalars
// (memref descriptors are expanded), so they fit a frame the runtime can
// hand to its threads: each call stores them into a stack slot and calls
//   bitnet_parallel_for(@f_task, frame, lo, hi, work)
// and @f_task(frame, lo, hi) loads them back and calls @f. The runtime
// decides from `work` whether splitting pays; the split never changes what
// any iteration computes (the dimensions are parallel), so results are
// bit-identical to one thread.
//
// One frame per caller, sized for its largest call, is reused by all of its
// calls: a call returns only when every part of its range has run.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETLOWERPARALLELTASKS
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

namespace {

constexpr StringLiteral kTaskAttr = "bitnet.parallel_task";
constexpr StringLiteral kParallelFor = "bitnet_parallel_for";

/// Scalars a frame slot of 8 bytes holds.
bool fitsSlot(Type type) {
  if (isa<LLVM::LLVMPointerType>(type))
    return true;
  if (auto i = dyn_cast<IntegerType>(type))
    return i.getWidth() <= 64;
  if (auto f = dyn_cast<FloatType>(type))
    return f.getWidth() <= 64;
  return false;
}

struct LowerParallelTasksPass
    : public mlir::bitnet::impl::BitNetLowerParallelTasksBase<
          LowerParallelTasksPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = module.getContext();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto i64 = IntegerType::get(ctx, 64);
    auto voidTy = LLVM::LLVMVoidType::get(ctx);

    // Tasks whose leading parameters are (i64 lo, i64 hi, i64 work) and
    // whose others fit a slot.
    llvm::DenseMap<StringAttr, LLVM::LLVMFuncOp> tasks;
    for (auto fn : module.getOps<LLVM::LLVMFuncOp>()) {
      if (!fn->hasAttr(kTaskAttr))
        continue;
      ArrayRef<Type> params = fn.getFunctionType().getParams();
      if (params.size() < 3 || !llvm::all_of(params.take_front(3), [&](Type t) {
            return t == i64;
          }))
        continue;
      if (llvm::all_of(params.drop_front(3), fitsSlot))
        tasks[fn.getSymNameAttr()] = fn;
    }
    if (tasks.empty())
      return;

    OpBuilder mb = OpBuilder::atBlockEnd(module.getBody());
    auto parallelFor = module.lookupSymbol<LLVM::LLVMFuncOp>(kParallelFor);
    if (!parallelFor)
      parallelFor = LLVM::LLVMFuncOp::create(
          mb, module.getLoc(), kParallelFor,
          LLVM::LLVMFunctionType::get(voidTy, {ptr, ptr, i64, i64, i64}));

    // The frame a task's arguments after (lo, hi, work) travel in.
    auto frameType = [&](LLVM::LLVMFuncOp task) {
      return LLVM::LLVMStructType::getLiteral(
          ctx, SmallVector<Type>(task.getFunctionType().getParams().drop_front(3)));
    };

    llvm::DenseMap<StringAttr, LLVM::LLVMFuncOp> trampolines;
    auto trampoline = [&](LLVM::LLVMFuncOp task) {
      LLVM::LLVMFuncOp &t = trampolines[task.getSymNameAttr()];
      if (t)
        return t;
      Location loc = task.getLoc();
      OpBuilder b(module.getBodyRegion());
      b.setInsertionPointAfter(task);
      t = LLVM::LLVMFuncOp::create(
          b, loc, (task.getSymName() + "_task").str(),
          LLVM::LLVMFunctionType::get(voidTy, {ptr, i64, i64}),
          LLVM::Linkage::Internal);
      Block *entry = t.addEntryBlock(b);
      b.setInsertionPointToStart(entry);
      auto frameTy = frameType(task);
      SmallVector<Value> args = {entry->getArgument(1), entry->getArgument(2),
                                 LLVM::ConstantOp::create(b, loc, i64, 0)};
      for (auto [i, type] : llvm::enumerate(frameTy.getBody())) {
        Value slot = LLVM::GEPOp::create(
            b, loc, ptr, frameTy, entry->getArgument(0),
            ArrayRef<LLVM::GEPArg>{0, int32_t(i)});
        args.push_back(LLVM::LoadOp::create(b, loc, type, slot));
      }
      LLVM::CallOp::create(b, loc, task, args);
      LLVM::ReturnOp::create(b, loc, ValueRange());
      return t;
    };

    // Calls (and their tasks) by caller, so that each caller gets one frame.
    using Site = std::pair<LLVM::CallOp, LLVM::LLVMFuncOp>;
    llvm::MapVector<LLVM::LLVMFuncOp, SmallVector<Site>> calls;
    module.walk([&](LLVM::CallOp call) {
      std::optional<StringRef> callee = call.getCallee();
      if (!callee)
        return;
      auto it = tasks.find(StringAttr::get(ctx, *callee));
      if (it == tasks.end())
        return;
      calls[call->getParentOfType<LLVM::LLVMFuncOp>()].push_back(
          {call, it->second});
    });
    for (auto &[caller, sites] : calls) {
      size_t slots = 0;
      for (auto [call, task] : sites)
        slots = std::max<size_t>(slots, call.getArgOperands().size() - 3);
      OpBuilder fb = OpBuilder::atBlockBegin(&caller.getBody().front());
      Location loc = caller.getLoc();
      Value one = LLVM::ConstantOp::create(fb, loc, i64, 1);
      // Every slot holds at most 8 bytes at an alignment of at most 8, so
      // a struct of the slots' types fits in as many i64.
      Value frame = LLVM::AllocaOp::create(
          fb, loc, ptr, LLVM::LLVMArrayType::get(i64, std::max<size_t>(1, slots)),
          one, /*alignment=*/8);
      for (auto [call, task] : sites) {
        OpBuilder b(call);
        Location cloc = call.getLoc();
        ValueRange operands = call.getArgOperands();
        auto frameTy = frameType(task);
        for (auto [i, v] : llvm::enumerate(operands.drop_front(3))) {
          Value slot = LLVM::GEPOp::create(b, cloc, ptr, frameTy, frame,
                                           ArrayRef<LLVM::GEPArg>{0, int32_t(i)});
          LLVM::StoreOp::create(b, cloc, v, slot);
        }
        Value fnPtr = LLVM::AddressOfOp::create(b, cloc, trampoline(task));
        LLVM::CallOp::create(b, cloc, parallelFor,
                             ValueRange{fnPtr, frame, operands[0], operands[1],
                                        operands[2]});
        call.erase();
      }
    }
  }
};

} // namespace
