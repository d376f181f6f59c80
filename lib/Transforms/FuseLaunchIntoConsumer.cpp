//===- FuseLaunchIntoConsumer.cpp - A one-block launch as a prologue ------===//
//
// A decode step's RoPE (one block once bitnet-fuse-small-launches has run)
// is a kernel of its own in front of attention: a launch and its latency
// for a few thousand multiplies. This pass runs such a launch inside the
// kernel that follows it: every block of that kernel first does the
// producer's whole work, then waits at a barrier and runs its own body.
// The pass description in Passes.td has the contract.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Transforms/BufferRoots.h"
#include "bitnet/Transforms/KernelParameters.h"
#include "bitnet/Transforms/LaunchFusion.h"
#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"


#include <array>

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETFUSELAUNCHINTOCONSUMER
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

namespace {

using Dims = std::array<int64_t, 3>;

std::optional<Dims> constantDims(gpu::KernelDim3 d) {
  Dims out;
  Value values[3] = {d.x, d.y, d.z};
  for (unsigned i = 0; i < 3; ++i) {
    std::optional<int64_t> v = getConstantIntValue(values[i]);
    if (!v || *v < 1)
      return std::nullopt;
    out[i] = *v;
  }
  return out;
}

int64_t product(const Dims &d) { return d[0] * d[1] * d[2]; }

/// A launch with nothing but grid, block and operands: no stream, tokens,
/// clusters or dynamic shared memory.
bool plainLaunch(gpu::LaunchFuncOp launch) {
  return !launch.getAsyncToken() && launch.getAsyncDependencies().empty() &&
         !launch.getAsyncObject() && !launch.hasClusterSize() &&
         !launch.getDynamicSharedMemorySize();
}

gpu::GPUFuncOp kernelOf(gpu::LaunchFuncOp launch) {
  return SymbolTable::lookupNearestSymbolFrom<gpu::GPUFuncOp>(
      launch, launch.getKernel());
}

/// Whether the producer's body can run for another thread number inside a
/// bigger kernel: one block, no shared memory, and of the GPU operations
/// only thread and block ids and sizes (the pass maps them), nothing that
/// means something only in its own block (barriers, shuffles, lane ids).
/// (argumentEffects refuses memory other than its arguments: globals.)
bool relocatable(gpu::GPUFuncOp func) {
  if (!llvm::hasSingleElement(func.getBody()) ||
      func.getNumWorkgroupAttributions() || func.getNumPrivateAttributions())
    return false;
  Dialect *gpuDialect = func->getDialect();
  WalkResult walk = func.getBody().walk([&](Operation *op) {
    if (isa<gpu::ThreadIdOp, gpu::BlockIdOp, gpu::BlockDimOp, gpu::GridDimOp>(
            op))
      return WalkResult::advance();
    if (isa<gpu::ReturnOp>(op))
      return op->getBlock() == &func.getBody().front()
                 ? WalkResult::advance()
                 : WalkResult::interrupt();
    if (op->getDialect() == gpuDialect ||
        op->getName().getDialectNamespace() == "nvvm")
      return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return !walk.wasInterrupted();
}

/// The entry block argument of `func` that `v` views through view-like ops
/// (a parameter, or a workgroup or private buffer); null where it is none
/// (a global, anything else).
BlockArgument entryArgumentOf(Value v, gpu::GPUFuncOp func) {
  for (int depth = 0; depth < 16; ++depth) {
    if (auto arg = dyn_cast<BlockArgument>(v))
      return arg.getOwner() == &func.getBody().front() ? arg : BlockArgument();
    auto view = dyn_cast_or_null<ViewLikeOpInterface>(v.getDefiningOp());
    if (!view)
      return {};
    v = view.getViewSource();
  }
  return {};
}

/// The arguments a kernel may read and may write.
struct ArgumentEffects {
  llvm::SmallDenseSet<int64_t> read, written;
};

/// What `func` may do to its arguments; std::nullopt where some access is
/// not known (an op of unknown effects, an access to a global or to memory
/// it cannot trace to an argument or to its own workgroup or private
/// memory).
std::optional<ArgumentEffects> argumentEffects(gpu::GPUFuncOp func) {
  ArgumentEffects out;
  std::optional<SmallVector<bitnet::MemoryAccess>> accesses =
      bitnet::regionAccesses(
          func.getBody(),
          [](Operation *op) { return isa<gpu::BarrierOp, gpu::ReturnOp>(op); },
          /*allocationsKnown=*/true);
  if (!accesses)
    return std::nullopt;
  for (const bitnet::MemoryAccess &a : *accesses) {
    BlockArgument arg = entryArgumentOf(a.memref, func);
    if (!arg)
      return std::nullopt;
    if (arg.getArgNumber() < func.getNumArguments())
      (a.write ? out.written : out.read).insert(arg.getArgNumber());
  }
  return out;
}

struct FuseLaunchIntoConsumerPass
    : mlir::bitnet::impl::BitNetFuseLaunchIntoConsumerBase<
          FuseLaunchIntoConsumerPass> {
  using Base::Base;

  /// The producer's body for its thread number `linear`, at `b`: its
  /// arguments are `args`, its ids and sizes those of a thread of one block
  /// of `dims`.
  void emitProducer(OpBuilder &b, Location loc, gpu::GPUFuncOp producer,
                    const Dims &dims, ValueRange args, Value linear) {
    Value ids[3];
    Value rest = linear;
    int64_t remaining = product(dims);
    for (unsigned d = 0; d < 3; ++d) {
      if (dims[d] == 1) {
        ids[d] = arith::ConstantIndexOp::create(b, loc, 0);
      } else if (remaining == dims[d]) {
        ids[d] = rest;
      } else {
        Value c = arith::ConstantIndexOp::create(b, loc, dims[d]);
        ids[d] = arith::RemUIOp::create(b, loc, rest, c);
        rest = arith::DivUIOp::create(b, loc, rest, c);
      }
      remaining /= dims[d];
    }
    IRMapping map;
    map.map(producer.getArguments(), args);
    SmallVector<Operation *> cloned;
    for (Operation &op : producer.getBody().front().without_terminator())
      cloned.push_back(b.clone(op, map));
    // Ids and sizes of the producer's own launch, now values of the thread.
    SmallVector<Operation *> idOps;
    for (Operation *op : cloned)
      op->walk([&](Operation *inner) {
        if (isa<gpu::ThreadIdOp, gpu::BlockIdOp, gpu::BlockDimOp,
                gpu::GridDimOp>(inner))
          idOps.push_back(inner);
      });
    OpBuilder cb(b.getContext());
    for (Operation *op : idOps) {
      cb.setInsertionPoint(op);
      Value v;
      if (auto t = dyn_cast<gpu::ThreadIdOp>(op))
        v = ids[unsigned(t.getDimension())];
      else if (isa<gpu::BlockIdOp>(op))
        v = arith::ConstantIndexOp::create(cb, op->getLoc(), 0);
      else if (auto s = dyn_cast<gpu::BlockDimOp>(op))
        v = arith::ConstantIndexOp::create(cb, op->getLoc(),
                                           dims[unsigned(s.getDimension())]);
      else
        v = arith::ConstantIndexOp::create(cb, op->getLoc(), 1);
      op->getResult(0).replaceAllUsesWith(v);
      op->erase();
    }
  }

  /// Whether `producer` followed by `consumer` may run as one launch of
  /// the consumer's kernel with the producer's as a prologue; on success,
  /// the producer's block shape and the consumer's block width.
  bool fusible(gpu::LaunchFuncOp producer, gpu::LaunchFuncOp consumer,
               Dims &producerBlock, int64_t &consumerThreads) {
    if (!plainLaunch(producer) || !plainLaunch(consumer))
      return false;
    std::optional<Dims> pg = constantDims(producer.getGridSizeOperandValues());
    std::optional<Dims> pb =
        constantDims(producer.getBlockSizeOperandValues());
    std::optional<Dims> cg = constantDims(consumer.getGridSizeOperandValues());
    std::optional<Dims> cb =
        constantDims(consumer.getBlockSizeOperandValues());
    if (!pg || !pb || !cg || !cb || product(*pg) != 1 ||
        product(*pb) > maxProducerThreads || product(*cg) > maxConsumerBlocks ||
        (*cb)[1] != 1 || (*cb)[2] != 1)
      return false;
    gpu::GPUFuncOp p = kernelOf(producer), c = kernelOf(consumer);
    if (!p || !c || p == c || p.getBody().empty() || c.getBody().empty() ||
        !relocatable(p))
      return false;
    // Every block of the consumer writes the producer's results (the same
    // values to the same places): that holds only while nothing writes what
    // the producer reads, the producer itself included (x = x + 1 run twice
    // is not x + 1), and the consumer writes nothing the producer touches.
    std::optional<ArgumentEffects> pEffects = argumentEffects(p);
    std::optional<ArgumentEffects> cEffects = argumentEffects(c);
    if (!pEffects || !cEffects)
      return false;
    OperandRange pOperands = producer.getKernelOperands();
    OperandRange cOperands = consumer.getKernelOperands();
    auto overlap = [](Value a, Value b) {
      return isa<MemRefType>(a.getType()) && isa<MemRefType>(b.getType()) &&
             bitnet::viewsMayOverlap(a, b);
    };
    for (int64_t w : pEffects->written)
      for (int64_t r : pEffects->read)
        if (overlap(pOperands[w], pOperands[r]))
          return false;
    for (int64_t w : cEffects->written)
      for (Value v : pOperands)
        if (overlap(cOperands[w], v))
          return false;
    // Every operand is a parameter here, constants too (after outlining).
    int64_t bytes = 0;
    for (Value v : llvm::concat<const Value>(cOperands, pOperands))
      bytes += bitnet::kernelParameterBytes(v.getType());
    if (bytes > maxParamBytes)
      return false;
    producerBlock = *pb;
    consumerThreads = (*cb)[0];
    return true;
  }

  void fuse(gpu::LaunchFuncOp producer, gpu::LaunchFuncOp consumer,
            const Dims &producerBlock, int64_t consumerThreads,
            ArrayRef<Operation *> deallocs) {
    gpu::GPUFuncOp p = kernelOf(producer), c = kernelOf(consumer);
    auto gpuModule = c->getParentOfType<gpu::GPUModuleOp>();
    Location loc = FusedLoc::get(&getContext(), {p.getLoc(), c.getLoc()});
    // The consumer's kernel with the producer's parameters after its own.
    auto fused = cast<gpu::GPUFuncOp>(c->clone());
    SymbolTable::setSymbolName(fused, (c.getName() + "_after_producer").str());
    SymbolTable(gpuModule).insert(fused);
    unsigned first = fused.getNumArguments();
    SmallVector<unsigned> indices;
    SmallVector<Type> types;
    SmallVector<DictionaryAttr> attrs;
    SmallVector<Location> locs;
    for (BlockArgument arg : p.getArguments()) {
      indices.push_back(first);
      types.push_back(arg.getType());
      attrs.push_back(DictionaryAttr::get(&getContext()));
      locs.push_back(arg.getLoc());
    }
    if (failed(fused.insertArguments(indices, types, attrs, locs))) {
      fused.erase();
      return;
    }
    ValueRange args = fused.getArguments().drop_front(first);
    OpBuilder b(&getContext());
    b.setInsertionPointToStart(&fused.getBody().front());
    Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
    int64_t n = product(producerBlock);
    Value bound = arith::ConstantIndexOp::create(b, loc, n);
    {
      OpBuilder::InsertionGuard guard(b);
      if (n == consumerThreads) {
        emitProducer(b, loc, p, producerBlock, args, tid);
      } else if (n < consumerThreads) {
        Value active = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                             tid, bound);
        auto guardIf = scf::IfOp::create(b, loc, active, /*withElse=*/false);
        b.setInsertionPoint(guardIf.thenBlock()->getTerminator());
        emitProducer(b, loc, p, producerBlock, args, tid);
      } else {
        Value step = arith::ConstantIndexOp::create(b, loc, consumerThreads);
        auto loop = scf::ForOp::create(b, loc, tid, bound, step);
        b.setInsertionPoint(loop.getBody()->getTerminator());
        emitProducer(b, loc, p, producerBlock, args,
                     loop.getInductionVar());
      }
    }
    // The block's writes (global memory included) are visible to all of
    // its threads past the barrier.
    gpu::BarrierOp::create(b, loc);

    OpBuilder hb(consumer);
    SmallVector<Value> operands(consumer.getKernelOperands());
    llvm::append_range(operands, producer.getKernelOperands());
    auto launch = gpu::LaunchFuncOp::create(
        hb, FusedLoc::get(&getContext(), {producer.getLoc(), consumer.getLoc()}),
        fused, consumer.getGridSizeOperandValues(),
        consumer.getBlockSizeOperandValues(), Value(), operands);
    // Buffers freed between the launches live until the fused one is done.
    Operation *after = launch;
    for (Operation *dealloc : deallocs) {
      dealloc->moveAfter(after);
      after = dealloc;
    }
    producer.erase();
    consumer.erase();
    touched.insert(p);
    touched.insert(c);
    ++numFused;
  }

  void runOnBlock(Block &block) {
    SmallVector<gpu::LaunchFuncOp> launches;
    for (Operation &op : block)
      if (auto l = dyn_cast<gpu::LaunchFuncOp>(op))
        launches.push_back(l);
    for (size_t i = 0; i + 1 < launches.size(); ++i) {
      gpu::LaunchFuncOp producer = launches[i], consumer = launches[i + 1];
      // Between them only allocations, effect-free ops and deallocations.
      SmallVector<Operation *> deallocs;
      bool apart = false;
      for (Operation *op = producer->getNextNode(); op != consumer;
           op = op->getNextNode()) {
        if (isa<memref::DeallocOp>(op))
          deallocs.push_back(op);
        else if ((apart = !bitnet::movesAcrossLaunches(op)))
          break;
      }
      Dims producerBlock;
      int64_t consumerThreads;
      if (apart ||
          !fusible(producer, consumer, producerBlock, consumerThreads))
        continue;
      fuse(producer, consumer, producerBlock, consumerThreads, deallocs);
      ++i; // The consumer is gone: the next producer comes after it.
    }
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SetVector<Block *> blocks;
    module.walk([&](gpu::LaunchFuncOp launch) {
      blocks.insert(launch->getBlock());
    });
    for (Block *block : blocks)
      runOnBlock(*block);
    // Kernels no launch calls any more, and modules left empty.
    for (Operation *func : touched) {
      if (!SymbolTable::symbolKnownUseEmpty(func, module))
        continue;
      auto gpuModule = func->getParentOfType<gpu::GPUModuleOp>();
      func->erase();
      if (gpuModule && gpuModule.getBody()->without_terminator().empty())
        gpuModule.erase();
    }
    touched.clear();
  }

  llvm::SetVector<Operation *> touched;
};

} // namespace
