//===- BlockReductions.cpp - Long reductions as one block per output ------===//
//
// A decode step's norms, quantizer statistics and sparsity counts reduce a
// few thousand elements to one value. Split into partials they took two
// launches of latency-bound serial loops; as one block of threads with a
// tree reduction (gpu.all_reduce) they take one short kernel. Independent
// neighbours share a launch. The pass description in Passes.td has the
// contract.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Transforms/BlockReductions.h"
#include "bitnet/Transforms/BufferRoots.h"
#include "bitnet/Transforms/KernelParameters.h"
#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <vector>

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETBLOCKREDUCTIONS
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

std::optional<gpu::AllReduceOperation>
mlir::bitnet::getAllReduceOperation(Operation *combiner) {
  using K = gpu::AllReduceOperation;
  return llvm::TypeSwitch<Operation *, std::optional<K>>(combiner)
      .Case<arith::AddFOp, arith::AddIOp>([](auto) { return K::ADD; })
      .Case<arith::MulFOp, arith::MulIOp>([](auto) { return K::MUL; })
      .Case<arith::MaximumFOp>([](auto) { return K::MAXIMUMF; })
      .Case<arith::MaxNumFOp>([](auto) { return K::MAXNUMF; })
      .Case<arith::MinimumFOp>([](auto) { return K::MINIMUMF; })
      .Case<arith::MinNumFOp>([](auto) { return K::MINNUMF; })
      .Case<arith::MaxSIOp>([](auto) { return K::MAXSI; })
      .Case<arith::MinSIOp>([](auto) { return K::MINSI; })
      .Case<arith::MaxUIOp>([](auto) { return K::MAXUI; })
      .Case<arith::MinUIOp>([](auto) { return K::MINUI; })
      .Case<arith::AndIOp>([](auto) { return K::AND; })
      .Case<arith::OrIOp>([](auto) { return K::OR; })
      .Case<arith::XOrIOp>([](auto) { return K::XOR; })
      .Default([](Operation *) { return std::nullopt; });
}

Operation *mlir::bitnet::getYieldedCombiner(linalg::GenericOp op) {
  if (op.getNumDpsInits() != 1 || op.getNumResults() > 1)
    return nullptr;
  Block *body = op.getBlock();
  BlockArgument acc = op.getRegionOutputArgs()[0];
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  Operation *combiner = yield.getValues()[0].getDefiningOp();
  if (!combiner || combiner->getBlock() != body ||
      combiner->getNumOperands() != 2 || combiner->getNumResults() != 1 ||
      !acc.hasOneUse() || acc.getUses().begin()->getOwner() != combiner ||
      combiner->getOperand(0) == combiner->getOperand(1))
    return nullptr;
  return combiner;
}

/// The combiner of `op` if it is a reduction a block or a warp can run
/// (all but the sizes), with its reduction length and outputs.
static Operation *reductionCombiner(linalg::GenericOp op, int64_t &reduction,
                                    int64_t &outputs) {
  if (op.getNumReductionLoops() != 1 || op.getNumDpsInits() != 1)
    return nullptr;
  reduction = 0;
  outputs = 1;
  for (auto [range, type] :
       llvm::zip(op.getStaticLoopRanges(), op.getIteratorTypesArray())) {
    if (ShapedType::isDynamic(range))
      return nullptr;
    if (type == utils::IteratorType::reduction)
      reduction = range;
    else
      outputs *= range;
  }
  // Every output element is one parallel iteration and back: the block of
  // an output writes it (and nothing else does).
  AffineMap outMap = op.getIndexingMapsArray().back();
  if (!outMap.isProjectedPermutation(/*allowZeroInResults=*/true))
    return nullptr;
  auto outType = cast<ShapedType>(op.getDpsInitOperand(0)->get().getType());
  if (!outType.hasStaticShape() || outType.getNumElements() != outputs)
    return nullptr;
  for (AffineExpr e : outMap.getResults())
    if (auto d = dyn_cast<AffineDimExpr>(e))
      if (op.getIteratorTypesArray()[d.getPosition()] ==
          utils::IteratorType::reduction)
        return nullptr;

  Operation *combiner = bitnet::getYieldedCombiner(op);
  if (!combiner || !bitnet::getAllReduceOperation(combiner) ||
      !arith::getNeutralElement(combiner))
    return nullptr;
  for (Operation &inner : op.getBlock()->without_terminator())
    if (!isa<linalg::IndexOp>(inner) && !isMemoryEffectFree(&inner))
      return nullptr;
  return combiner;
}

Operation *mlir::bitnet::getBlockReductionCombiner(linalg::GenericOp op,
                                                   int64_t minSize,
                                                   int64_t maxOutputs) {
  int64_t reduction, outputs;
  Operation *combiner = reductionCombiner(op, reduction, outputs);
  if (!combiner || maxOutputs < 1 || reduction < minSize ||
      outputs > maxOutputs)
    return nullptr;
  return combiner;
}

Operation *mlir::bitnet::getWarpReductionCombiner(linalg::GenericOp op,
                                                  int64_t blockMinSize,
                                                  int64_t blockMaxOutputs,
                                                  int64_t warpMinSize) {
  int64_t reduction, outputs;
  Operation *combiner = reductionCombiner(op, reduction, outputs);
  if (!combiner || warpMinSize < 1 || reduction < warpMinSize ||
      getBlockReductionCombiner(op, blockMinSize, blockMaxOutputs))
    return nullptr;
  // Shuffles move 32 or 64 bits.
  Type type = combiner->getResult(0).getType();
  if (!type.isIntOrFloat() ||
      (type.getIntOrFloatBitWidth() != 32 && type.getIntOrFloatBitWidth() != 64))
    return nullptr;
  return combiner;
}

namespace {

/// One reduction to run as blocks of a launch.
struct Member {
  /// kReduce: a block reduction. In a row chain also kMap (elementwise over
  /// the row's elements) and kScalar (elementwise over one value a row).
  enum Kind { kReduce, kMap, kScalar } kind = kReduce;
  /// A reduction run as one warp per output (bitnet-block-reductions'
  /// warp-min-size) rather than a block.
  bool warp = false;
  linalg::GenericOp op;
  Operation *combiner = nullptr;
  /// The output's content before the op when a fill set it (directly or
  /// copied from a filled buffer): the block combines its result with this
  /// value instead of reading the output.
  Value initValue;
  /// The fill or copy that wrote the output before the op, and the ops that
  /// read it in between (a copy of a filled buffer: none).
  Operation *initWriter = nullptr;
  SmallVector<Operation *> readersBetween;
  int64_t outputs = 1;
  int64_t length = 1;
  SmallVector<Value> reads, writes; // buffer roots
};

/// Whether `x` and `y` may depend on each other: one writes a buffer the
/// other reads or writes.
bool conflicts(const Member &x, const Member &y) {
  for (Value w : x.writes) {
    for (Value r : y.reads)
      if (bitnet::buffersMayAlias(w, r))
        return true;
    for (Value w2 : y.writes)
      if (bitnet::buffersMayAlias(w, w2))
        return true;
  }
  for (Value w : y.writes)
    for (Value r : x.reads)
      if (bitnet::buffersMayAlias(w, r))
        return true;
  return false;
}

/// Ops that may sit between two members of one launch: no memory effects,
/// or allocations only.
bool mayInterleave(Operation *op) {
  if (isMemoryEffectFree(op))
    return true;
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effects || op->getNumRegions() != 0)
    return false;
  SmallVector<MemoryEffects::EffectInstance> list;
  effects.getEffects(list);
  return llvm::all_of(list, [](const MemoryEffects::EffectInstance &e) {
    return isa<MemoryEffects::Allocate>(e.getEffect());
  });
}

/// Whether `op`, a linalg op on buffers, touches memory other than its
/// operands (a gather's body loads from a table).
bool bodyTouchesMemory(linalg::LinalgOp op) {
  bool touches = false;
  op.getBlock()->walk([&](Operation *inner) {
    if (!isa<linalg::IndexOp, linalg::YieldOp>(inner) && !isPure(inner))
      touches = true;
  });
  return touches;
}

enum Touch : unsigned { kNone = 0, kRead = 1, kWrite = 2, kUnknown = 4 };

/// How `op` may access buffer `root`.
unsigned touches(Operation *op, Value root) {
  if (mayInterleave(op))
    return kNone;
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  if (!linalgOp || !linalgOp.hasPureBufferSemantics() ||
      bodyTouchesMemory(linalgOp))
    return kUnknown;
  unsigned t = kNone;
  for (Value in : linalgOp.getDpsInputs())
    if (isa<MemRefType>(in.getType()) &&
        bitnet::buffersMayAlias(in, root))
      t |= kRead;
  bool overwrites = isa<linalg::FillOp, linalg::CopyOp>(op);
  for (Value init : linalgOp.getDpsInits())
    if (bitnet::buffersMayAlias(init, root))
      t |= overwrites ? kWrite : (kRead | kWrite);
  return t;
}

/// The op before `from` in its block that last wrote buffer `root` (the
/// ops that read it in between into `readers`); null if an op of unknown
/// effects comes first, or none.
Operation *lastWriter(Operation *from, Value root,
                      SmallVectorImpl<Operation *> &readers) {
  for (Operation *prev = from->getPrevNode(); prev; prev = prev->getPrevNode()) {
    if (prev == root.getDefiningOp())
      return nullptr;
    unsigned t = touches(prev, root);
    if (t & kUnknown)
      return nullptr;
    if (t & kWrite)
      return prev;
    if (t & kRead)
      readers.push_back(prev);
  }
  return nullptr;
}

/// Whether `view` is all of buffer `root` (a fill or copy of it sets every
/// element).
bool coversAll(Value view, Value root) {
  auto a = dyn_cast<MemRefType>(view.getType());
  auto b = dyn_cast<MemRefType>(root.getType());
  return a && b && a.hasStaticShape() && b.hasStaticShape() &&
         a.getNumElements() == b.getNumElements();
}

struct BlockReductionsPass
    : mlir::bitnet::impl::BitNetBlockReductionsBase<BlockReductionsPass> {
  using Base::Base;

  std::optional<Member> memberFor(linalg::GenericOp op) {
    if (!op.hasPureBufferSemantics())
      return std::nullopt;
    Operation *combiner =
        bitnet::getBlockReductionCombiner(op, minSize, maxOutputs);
    bool warp = false;
    if (!combiner) {
      combiner = bitnet::getWarpReductionCombiner(op, minSize, maxOutputs,
                                                  warpMinSize);
      warp = true;
    }
    if (!combiner)
      return std::nullopt;
    Member m;
    m.op = op;
    m.combiner = combiner;
    m.warp = warp;
    for (auto [range, type] :
         llvm::zip(op.getStaticLoopRanges(), op.getIteratorTypesArray())) {
      if (type == utils::IteratorType::reduction)
        m.length = range;
      else
        m.outputs *= range;
    }
    Value out = op.getDpsInitOperand(0)->get();
    m.writes.push_back(bitnet::getBufferRoot(out));
    for (Value in : op.getDpsInputs())
      if (isa<MemRefType>(in.getType()))
        m.reads.push_back(bitnet::getBufferRoot(in));
    // The op reads its output only as the accumulator.
    for (Value r : m.reads)
      if (bitnet::buffersMayAlias(r, m.writes.front()))
        return std::nullopt;
    // The output's content before the op: a fill's value, directly or
    // through a copy of a filled buffer (bufferization shares one fill
    // among the reductions CSE found identical inits for).
    Value root = m.writes.front();
    if (!root.getDefiningOp<memref::AllocOp>())
      return m;
    SmallVector<Operation *> readers;
    Operation *writer = lastWriter(op, root, readers);
    if (auto fill = dyn_cast_or_null<linalg::FillOp>(writer)) {
      if (coversAll(fill.getDpsInits()[0], root)) {
        m.initValue = fill.getInputs()[0];
        m.initWriter = fill;
        m.readersBetween = std::move(readers);
      }
    } else if (auto copy = dyn_cast_or_null<linalg::CopyOp>(writer)) {
      Value source = bitnet::getBufferRoot(copy.getInputs()[0]);
      SmallVector<Operation *> ignored;
      auto fill =
          dyn_cast_or_null<linalg::FillOp>(lastWriter(copy, source, ignored));
      if (readers.empty() && coversAll(copy.getDpsInits()[0], root) && fill &&
          coversAll(fill.getDpsInits()[0], source)) {
        m.initValue = fill.getInputs()[0];
        m.initWriter = copy;
      }
    }
    return m;
  }

  /// Threads a block needs for a row of `length`: about 8 elements a
  /// thread, whole warps, at most `block-size`.
  int64_t blockSizeFor(int64_t length) {
    int64_t want = int64_t(llvm::PowerOf2Ceil(uint64_t((length + 7) / 8)));
    return std::clamp<int64_t>(want, 32, blockSize);
  }

  /// A launch of `blocks` x `threads` (x only) at `b`, which then points
  /// into its body.
  static gpu::LaunchOp createLaunch(OpBuilder &b, Location loc, int64_t blocks,
                                    int64_t threads) {
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value grid = arith::ConstantIndexOp::create(b, loc, blocks);
    Value width = arith::ConstantIndexOp::create(b, loc, threads);
    auto launch =
        gpu::LaunchOp::create(b, loc, grid, one, one, width, one, one);
    b.setInsertionPointToStart(&launch.getBody().front());
    return launch;
  }

  /// `map`'s results at the loop indices `ivs`.
  static SmallVector<Value> indicesAt(OpBuilder &b, Location loc, AffineMap map,
                                      ArrayRef<Value> ivs) {
    SmallVector<Value> out;
    for (AffineExpr e : map.getResults()) {
      if (auto d = dyn_cast<AffineDimExpr>(e))
        out.push_back(ivs[d.getPosition()]);
      else if (auto c = dyn_cast<AffineConstantExpr>(e))
        out.push_back(arith::ConstantIndexOp::create(b, loc, c.getValue()));
      else
        out.push_back(affine::AffineApplyOp::create(
            b, loc, AffineMap::get(map.getNumDims(), 0, e), ivs));
    }
    return out;
  }

  /// The combiner applied to (accumulator, value) in its original order.
  static Value combine(OpBuilder &b, Operation *combiner, Value acc,
                       Value value, Value originalAcc) {
    IRMapping map;
    bool accFirst = combiner->getOperand(0) == originalAcc;
    map.map(combiner->getOperand(accFirst ? 0 : 1), acc);
    map.map(combiner->getOperand(accFirst ? 1 : 0), value);
    return b.clone(*combiner, map)->getResult(0);
  }

  /// How a stage gets the value of an input operand at loop indices `at`:
  /// a load through its indexing map, or (in a row chain) a register.
  using Reader = llvm::function_ref<Value(OpBuilder &, Location, OpOperand *,
                                          ArrayRef<Value>)>;

  static Value loadOperand(OpBuilder &b, Location loc, OpOperand *in,
                           ArrayRef<Value> at) {
    auto op = cast<linalg::GenericOp>(in->getOwner());
    Value v = in->get();
    if (!isa<MemRefType>(v.getType()))
      return v;
    SmallVector<Value> idx = indicesAt(b, loc, op.getMatchingIndexingMap(in), at);
    return memref::LoadOp::create(b, loc, v, idx);
  }

  /// The loop indices of `op` for its row `local` (the parallel loops other
  /// than `inner`, delinearized, the last fastest); `inner`'s index is 0.
  static SmallVector<Value> rowIndices(OpBuilder &b, Location loc,
                                       linalg::GenericOp op, unsigned inner,
                                       Value local) {
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    SmallVector<Value> ivs(ranges.size(), zero);
    Value rest = local;
    for (int64_t d = int64_t(ranges.size()) - 1; d >= 0; --d) {
      if (unsigned(d) == inner || ranges[d] == 1)
        continue;
      Value size = arith::ConstantIndexOp::create(b, loc, ranges[d]);
      ivs[d] = arith::RemUIOp::create(b, loc, rest, size);
      rest = arith::DivUIOp::create(b, loc, rest, size);
    }
    return ivs;
  }

  /// `op`'s body at loop indices `at` up to (not including) `stop` (its
  /// terminator if null), inputs from `read`; returns the mapping.
  static IRMapping cloneBody(OpBuilder &b, Location loc, linalg::GenericOp op,
                             ArrayRef<Value> at, Operation *stop,
                             Reader read) {
    IRMapping map;
    for (OpOperand *in : op.getDpsInputOperands())
      map.map(op.getMatchingBlockArgument(in), read(b, loc, in, at));
    for (Operation &inner : op.getBlock()->without_terminator()) {
      if (&inner == stop)
        break;
      if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
        map.map(index.getResult(), at[index.getDim()]);
        continue;
      }
      b.clone(inner, map);
    }
    return map;
  }

  /// One thread's (or lane's) share of member `m`'s reduction at `ivs`:
  /// elements `first`, `first + stride`, ... of the reduction loop `rd`,
  /// combined from the combiner's neutral element.
  static Value stridedPartial(OpBuilder &b, const Member &m,
                              ArrayRef<Value> ivs, unsigned rd, Value first,
                              int64_t stride, Reader read) {
    linalg::GenericOp op = m.op;
    Location loc = op.getLoc();
    BlockArgument acc = op.getRegionOutputArgs()[0];
    Operation *combiner = m.combiner;
    Value neutral = arith::ConstantOp::create(
        b, loc, *arith::getNeutralElement(combiner));
    Value length = arith::ConstantIndexOp::create(b, loc, m.length);
    Value step = arith::ConstantIndexOp::create(b, loc, stride);
    auto loop = scf::ForOp::create(
        b, loc, first, length, step, ValueRange{neutral},
        [&](OpBuilder &lb, Location ll, Value r, ValueRange iter) {
          SmallVector<Value> at(ivs);
          at[rd] = r;
          IRMapping map = cloneBody(lb, ll, op, at, combiner, read);
          Value x = combiner->getOperand(0) == acc ? combiner->getOperand(1)
                                                   : combiner->getOperand(0);
          scf::YieldOp::create(lb, ll,
                               combine(lb, combiner, iter[0],
                                       map.lookupOrDefault(x), acc));
        });
    return loop.getResult(0);
  }

  /// The reduction of member `m` over the block's row at `ivs` (the
  /// reduction loop `rd`), threads `tid` of `threads`: every thread gets
  /// the output's new value (its content or folded init combined with the
  /// block's all_reduce); thread 0 stores it.
  Value emitReduction(OpBuilder &b, const Member &m, ArrayRef<Value> ivs,
                      unsigned rd, Value tid, int64_t threads, Reader read) {
    linalg::GenericOp op = m.op;
    Location loc = op.getLoc();
    BlockArgument acc = op.getRegionOutputArgs()[0];
    Operation *combiner = m.combiner;
    Value partial = stridedPartial(b, m, ivs, rd, tid, threads, read);
    Value reduced = gpu::AllReduceOp::create(
        b, loc, partial,
        gpu::AllReduceOperationAttr::get(
            b.getContext(), *bitnet::getAllReduceOperation(combiner)),
        /*uniform=*/true);
    OpOperand *init = op.getDpsInitOperand(0);
    SmallVector<Value> idx =
        indicesAt(b, loc, op.getMatchingIndexingMap(init), ivs);
    Value old = m.initValue
                    ? m.initValue
                    : Value(memref::LoadOp::create(b, loc, init->get(), idx));
    Value result = combine(b, combiner, old, reduced, acc);
    storeFromFirstThread(b, loc, tid, result, init->get(), idx);
    return result;
  }

  static void storeFromFirstThread(OpBuilder &b, Location loc, Value tid,
                                   Value value, Value memref,
                                   ValueRange idx) {
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value first =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid, zero);
    auto store = scf::IfOp::create(b, loc, first, /*withElseRegion=*/false);
    OpBuilder sb = store.getThenBodyBuilder();
    memref::StoreOp::create(sb, loc, value, memref, idx);
  }

  /// Member `m`'s reduction for output `local` (the block's index among
  /// the member's blocks), threads `tid` of `threads`.
  void emitMember(OpBuilder &b, const Member &m, Value local, Value tid,
                  int64_t threads) {
    linalg::GenericOp op = m.op;
    unsigned rd = reductionLoop(op);
    SmallVector<Value> ivs = rowIndices(b, op.getLoc(), op, rd, local);
    emitReduction(b, m, ivs, rd, tid, threads, loadOperand);
  }

  static unsigned reductionLoop(linalg::GenericOp op) {
    for (auto [d, type] : llvm::enumerate(op.getIteratorTypesArray()))
      if (type == utils::IteratorType::reduction)
        return unsigned(d);
    return 0;
  }

  /// An elementwise op a row chain may take: static, all loops parallel,
  /// a pure body that does not read its output, written whole through an
  /// identity map into a fresh allocation.
  std::optional<Member> mapMemberFor(linalg::GenericOp op) {
    if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
        op.getNumLoops() == 0 || op.getNumReductionLoops() != 0 ||
        !op.getRegionOutputArgs()[0].use_empty() ||
        !op.getIndexingMapsArray().back().isIdentity())
      return std::nullopt;
    for (Operation &inner : op.getBlock()->without_terminator())
      if (!isa<linalg::IndexOp>(inner) && !isMemoryEffectFree(&inner))
        return std::nullopt;
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    if (llvm::any_of(ranges, ShapedType::isDynamic))
      return std::nullopt;
    Value out = op.getDpsInitOperand(0)->get();
    Value root = bitnet::getBufferRoot(out);
    if (!root.getDefiningOp<memref::AllocOp>())
      return std::nullopt;
    Member m;
    m.op = op;
    m.length = ranges.back();
    m.kind = m.length == 1 ? Member::kScalar : Member::kMap;
    for (int64_t r : ArrayRef<int64_t>(ranges).drop_back())
      m.outputs *= r;
    m.writes.push_back(root);
    for (Value in : op.getDpsInputs())
      if (isa<MemRefType>(in.getType()))
        m.reads.push_back(bitnet::getBufferRoot(in));
    return m;
  }

  /// Consecutive ops over the same rows (their loops but the last, which
  /// is a reduction's or runs along the row) that each block can run for
  /// its row alone: what a stage reads of an earlier stage's output is the
  /// same elements (the same map and view) that stage wrote, so the same
  /// thread wrote them, or one value a row (a register).
  struct Chain {
    SmallVector<int64_t> rows;
    int64_t inner = 1;
    std::vector<Member> stages;
    struct Access {
      AffineMap map;
      Type type;
      Member::Kind writer;
    };
    /// Buffers the chain writes (roots: fresh allocations), and how.
    llvm::DenseMap<Value, Access> written;
    /// Buffers it only reads.
    llvm::DenseSet<Value> read;
    /// Whether a stage reads what an earlier one wrote (independent
    /// reductions run side by side as blocks of one launch instead).
    bool dependent = false;

    bool hasReduction() const {
      return llvm::any_of(stages,
                          [](const Member &m) { return m.kind == Member::kReduce; });
    }
  };

  static SmallVector<int64_t> rowsOf(const Member &m) {
    linalg::GenericOp op = m.op;
    return SmallVector<int64_t>(ArrayRef<int64_t>(op.getStaticLoopRanges()).drop_back());
  }

  /// `map` of `op` with the loops of one iteration fixed at 0: the same
  /// elements whatever those loops are called (a keepdim reduction's
  /// `(d0, 0)` and a per-row op's `(d0, d1)` over [rows, 1]).
  static AffineMap normalized(linalg::GenericOp op, AffineMap map) {
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    MLIRContext *ctx = op.getContext();
    SmallVector<AffineExpr> dims;
    for (auto [d, range] : llvm::enumerate(ranges))
      dims.push_back(range == 1 ? getAffineConstantExpr(0, ctx)
                                : getAffineDimExpr(d, ctx));
    return simplifyAffineMap(map.replaceDimsAndSymbols(dims, {},
                                                       map.getNumDims(), 0));
  }

  static constexpr size_t kMaxChainStages = 24;

  /// Whether `m` may join `chain` (which it then does).
  static bool join(Chain &chain, const Member &m) {
    linalg::GenericOp op = m.op;
    if (m.kind == Member::kReduce &&
        reductionLoop(op) != op.getNumLoops() - 1)
      return false;
    SmallVector<int64_t> rows = rowsOf(m);
    // Kernel parameters stay well inside PTX's limit (a stage takes a few
    // memref descriptors).
    if (chain.stages.size() >= kMaxChainStages)
      return false;
    if (!chain.stages.empty()) {
      if (rows != chain.rows)
        return false;
      if (m.kind != Member::kScalar && chain.inner != 1 &&
          m.length != chain.inner)
        return false;
    }
    OpOperand *init = op.getDpsInitOperand(0);
    Value outRoot = bitnet::getBufferRoot(init->get());
    if (!outRoot.getDefiningOp<memref::AllocOp>())
      return false;
    AffineMap outMap = normalized(op, op.getMatchingIndexingMap(init));
    for (OpOperand *in : op.getDpsInputOperands()) {
      if (!isa<MemRefType>(in->get().getType()))
        continue;
      Value root = bitnet::getBufferRoot(in->get());
      auto it = chain.written.find(root);
      bool self = root == outRoot;
      if (it == chain.written.end() && !self)
        continue;
      // Row elements another thread may have written, or an in-place read
      // of other elements than the op writes: not row-local.
      AffineMap map = normalized(op, op.getMatchingIndexingMap(in));
      if (self && (m.kind != Member::kMap || map != outMap ||
                   in->get().getType() != init->get().getType()))
        return false;
      if (it != chain.written.end() &&
          (map != it->second.map || in->get().getType() != it->second.type ||
           (it->second.writer == Member::kMap && m.kind == Member::kScalar)))
        return false;
    }
    // Writing what an earlier stage read elsewhere in the row: a race.
    if (chain.read.contains(outRoot))
      return false;
    auto w = chain.written.find(outRoot);
    if (w != chain.written.end() &&
        (w->second.map != outMap || w->second.type != init->get().getType()))
      return false;

    for (OpOperand *in : op.getDpsInputOperands())
      if (isa<MemRefType>(in->get().getType()) &&
          chain.written.count(bitnet::getBufferRoot(in->get())))
        chain.dependent = true;
    if (chain.stages.empty())
      chain.rows = rows;
    if (m.kind != Member::kScalar)
      chain.inner = m.length;
    for (OpOperand *in : op.getDpsInputOperands())
      if (isa<MemRefType>(in->get().getType())) {
        Value root = bitnet::getBufferRoot(in->get());
        if (!chain.written.count(root) && root != outRoot)
          chain.read.insert(root);
      }
    chain.written[outRoot] = {outMap, init->get().getType(), m.kind};
    chain.stages.push_back(m);
    return true;
  }

  /// The chain as one launch of a block per row.
  void emitChain(const Chain &chain) {
    linalg::GenericOp last = chain.stages.back().op;
    OpBuilder b(last);
    Location loc = last.getLoc();
    int64_t blocks = 1;
    for (int64_t r : chain.rows)
      blocks *= r;
    int64_t threads = blocks == 1 ? blockSize : blockSizeFor(chain.inner);
    auto launch = createLaunch(b, loc, blocks, threads);
    auto constant = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    Value bid = launch.getBlockIds().x;
    Value tid = launch.getThreadIds().x;
    // One value a row: the reductions' and scalar stages' results.
    llvm::DenseMap<Value, Value> registers;
    auto read = [&](OpBuilder &rb, Location rl, OpOperand *in,
                    ArrayRef<Value> at) -> Value {
      if (isa<MemRefType>(in->get().getType()))
        if (Value reg = registers.lookup(bitnet::getBufferRoot(in->get())))
          return reg;
      return loadOperand(rb, rl, in, at);
    };
    for (const Member &m : chain.stages) {
      linalg::GenericOp op = m.op;
      unsigned innerLoop = op.getNumLoops() - 1;
      SmallVector<Value> ivs = rowIndices(b, op.getLoc(), op, innerLoop, bid);
      OpOperand *init = op.getDpsInitOperand(0);
      Value root = bitnet::getBufferRoot(init->get());
      if (m.kind == Member::kReduce) {
        registers[root] =
            emitReduction(b, m, ivs, innerLoop, tid, threads, read);
        continue;
      }
      auto yield = cast<linalg::YieldOp>(op.getBlock()->getTerminator());
      if (m.kind == Member::kScalar) {
        // Every thread computes the row's value; thread 0 stores it.
        IRMapping map = cloneBody(b, op.getLoc(), op, ivs, nullptr, read);
        Value v = map.lookupOrDefault(yield.getValues()[0]);
        SmallVector<Value> idx = indicesAt(
            b, op.getLoc(), op.getMatchingIndexingMap(init), ivs);
        storeFromFirstThread(b, op.getLoc(), tid, v, init->get(), idx);
        registers[root] = v;
        continue;
      }
      scf::ForOp::create(
          b, op.getLoc(), tid, constant(m.length), constant(threads),
          ValueRange{},
          [&](OpBuilder &lb, Location ll, Value r, ValueRange) {
            SmallVector<Value> at(ivs);
            at[innerLoop] = r;
            IRMapping map = cloneBody(lb, ll, op, at, nullptr, read);
            SmallVector<Value> idx =
                indicesAt(lb, ll, op.getMatchingIndexingMap(init), at);
            memref::StoreOp::create(lb, ll,
                                    map.lookupOrDefault(yield.getValues()[0]),
                                    init->get(), idx);
            scf::YieldOp::create(lb, ll);
          });
    }
    gpu::TerminatorOp::create(b, loc);
    for (const Member &m : chain.stages)
      m.op->erase();
    ++numChains;
  }

  /// Reduction `m` as one warp per output: lanes stride over the
  /// reduction, a butterfly of shuffles combines them, lane 0 stores.
  void emitWarp(const Member &m) {
    linalg::GenericOp op = m.op;
    OpBuilder b(op);
    Location loc = op.getLoc();
    const int64_t warpsPerBlock = 8, lanes = 32;
    auto launch = createLaunch(b, loc, llvm::divideCeil(m.outputs, warpsPerBlock),
                               warpsPerBlock * lanes);
    auto constant = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    Value tid = launch.getThreadIds().x;
    Value lane = arith::RemUIOp::create(b, loc, tid, constant(lanes));
    Value output = arith::AddIOp::create(
        b, loc,
        arith::MulIOp::create(b, loc, launch.getBlockIds().x,
                              constant(warpsPerBlock)),
        arith::DivUIOp::create(b, loc, tid, constant(lanes)));
    // The whole warp takes the branch or not: its shuffles see all lanes.
    Value inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                         output, constant(m.outputs));
    auto branch = scf::IfOp::create(b, loc, inside, /*withElseRegion=*/false);
    OpBuilder ib = branch.getThenBodyBuilder();
    unsigned rd = reductionLoop(op);
    SmallVector<Value> ivs = rowIndices(ib, loc, op, rd, output);
    BlockArgument acc = op.getRegionOutputArgs()[0];
    Operation *combiner = m.combiner;
    Value value = stridedPartial(ib, m, ivs, rd, lane, lanes, loadOperand);
    Value width = arith::ConstantOp::create(ib, loc, ib.getI32IntegerAttr(32));
    for (int32_t offset = 16; offset >= 1; offset /= 2) {
      Value o = arith::ConstantOp::create(ib, loc, ib.getI32IntegerAttr(offset));
      Value other = gpu::ShuffleOp::create(ib, loc, value, o, width,
                                           gpu::ShuffleMode::XOR)
                        .getShuffleResult();
      value = combine(ib, combiner, value, other, acc);
    }
    OpOperand *init = op.getDpsInitOperand(0);
    SmallVector<Value> idx =
        indicesAt(ib, loc, op.getMatchingIndexingMap(init), ivs);
    Value old = m.initValue
                    ? m.initValue
                    : Value(memref::LoadOp::create(ib, loc, init->get(), idx));
    Value result = combine(ib, combiner, old, value, acc);
    storeFromFirstThread(ib, loc, lane, result, init->get(), idx);
    gpu::TerminatorOp::create(b, loc);
    op->erase();
    ++numWarps;
  }

  void emitGroup(ArrayRef<Member> group) {
    linalg::GenericOp last = group.back().op;
    OpBuilder b(last);
    Location loc = last.getLoc();
    int64_t blocks = 0, threads = 32;
    for (const Member &m : group) {
      blocks += m.outputs;
      threads = std::max(threads, blockSizeFor(m.length));
    }
    // One block: as wide as bitnet-fuse-small-launches' merged block, so it
    // can join the small kernels around it (a norm's reduction, its scale
    // and the quantizer after it: one kernel).
    if (blocks == 1)
      threads = blockSize;
    auto launch = createLaunch(b, loc, blocks, threads);
    auto constant = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    Value bid = launch.getBlockIds().x;
    Value tid = launch.getThreadIds().x;
    int64_t start = 0;
    for (const Member &m : group) {
      if (group.size() == 1) {
        emitMember(b, m, bid, tid, threads);
        break;
      }
      // Every thread of a block takes the same branch: the all_reduce in it
      // stays uniform.
      Value lo = constant(start), hi = constant(start + m.outputs);
      Value inside = arith::AndIOp::create(
          b, loc,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, bid, lo),
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, bid, hi));
      auto branch = scf::IfOp::create(b, loc, inside, /*withElseRegion=*/false);
      OpBuilder inner = branch.getThenBodyBuilder();
      Value local = arith::SubIOp::create(inner, loc, bid, lo);
      emitMember(inner, m, local, tid, threads);
      start += m.outputs;
    }
    gpu::TerminatorOp::create(b, loc);
    for (const Member &m : group)
      m.op->erase();
  }

  /// Fills of allocations nothing reads any more (their copies went).
  void eraseDeadFills() {
    SmallVector<linalg::FillOp> dead;
    getOperation().walk([&](linalg::FillOp fill) {
      if (!fill.hasPureBufferSemantics())
        return;
      Value root = bitnet::getBufferRoot(fill.getDpsInits()[0]);
      if (!root.getDefiningOp<memref::AllocOp>())
        return;
      SmallVector<Value> work{root};
      while (!work.empty()) {
        Value v = work.pop_back_val();
        for (Operation *user : v.getUsers()) {
          if (user == fill.getOperation() || isa<memref::DeallocOp>(user))
            continue;
          if (isa<ViewLikeOpInterface>(user)) {
            llvm::append_range(work, user->getResults());
            continue;
          }
          return;
        }
      }
      dead.push_back(fill);
    });
    for (linalg::FillOp fill : dead)
      fill->erase();
  }

  void runOnOperation() override {
    if (blockSize < 32 || blockSize > 1024 || blockSize % 32 != 0) {
      getOperation().emitError("block-size must be a multiple of 32 in "
                               "[32, 1024]");
      return signalPassFailure();
    }
    // Runs of members, each run one launch; the fills and copies that only
    // set members' outputs, erased.
    std::vector<std::vector<Member>> groups;
    std::vector<Chain> chains;
    std::vector<Member> warps;
    llvm::SetVector<Operation *> erased;
    SmallVector<Block *> blocks;
    getOperation().walk([&](Block *block) { blocks.push_back(block); });
    for (Block *block : blocks) {
      llvm::DenseMap<Operation *, Member> members;
      for (Operation &op : *block)
        if (auto generic = dyn_cast<linalg::GenericOp>(op))
          if (std::optional<Member> m = memberFor(generic))
            members[&op] = std::move(*m);
      if (members.empty())
        continue;
      // A copy that set a member's output from a filled buffer goes; a fill
      // of the output itself goes when every op that read the output after
      // it went too.
      for (auto &[op, m] : members)
        if (isa_and_nonnull<linalg::CopyOp>(m.initWriter))
          erased.insert(m.initWriter);
      for (auto &[op, m] : members)
        if (isa_and_nonnull<linalg::FillOp>(m.initWriter) &&
            llvm::all_of(m.readersBetween,
                         [&](Operation *r) { return erased.contains(r); }))
          erased.insert(m.initWriter);
      // Warp reductions run alone, each its own launch.
      for (auto it = members.begin(); it != members.end();) {
        auto cur = it++;
        if (cur->second.warp) {
          warps.push_back(std::move(cur->second));
          members.erase(cur);
        }
      }

      // Row chains first: their reductions leave the horizontal runs.
      Chain chain;
      auto flushChain = [&] {
        if (chain.stages.size() >= 2 && chain.dependent &&
            chain.hasReduction()) {
          for (const Member &m : chain.stages)
            members.erase(m.op);
          chains.push_back(std::move(chain));
        }
        chain = Chain();
      };
      for (Operation &op : *block) {
        std::optional<Member> stage;
        auto it = members.find(&op);
        if (it != members.end())
          stage = it->second;
        else if (auto generic = dyn_cast<linalg::GenericOp>(op))
          stage = mapMemberFor(generic);
        if (!stage) {
          if (!erased.contains(&op) && !mayInterleave(&op))
            flushChain();
          continue;
        }
        if (!join(chain, *stage)) {
          flushChain();
          join(chain, *stage);
        }
      }
      flushChain();

      std::vector<Member> run;
      llvm::SetVector<Value> params;
      int64_t bytes = 0;
      auto flush = [&] {
        if (!run.empty())
          groups.push_back(std::move(run));
        run.clear();
        params.clear();
        bytes = 0;
      };
      for (Operation &op : *block) {
        auto it = members.find(&op);
        if (it == members.end()) {
          if (!erased.contains(&op) && !mayInterleave(&op))
            flush();
          continue;
        }
        Member &m = it->second;
        // What the merged kernel would take as parameters.
        SmallVector<Value> used(m.op->getOperands());
        if (m.initValue)
          used.push_back(m.initValue);
        m.op.getBlock()->walk([&](Operation *inner) {
          for (Value v : inner->getOperands())
            if (!m.op->isAncestor(v.getParentBlock()->getParentOp()))
              used.push_back(v);
        });
        auto newBytes = [&] {
          int64_t extra = 0;
          llvm::SmallPtrSet<Value, 8> seen;
          for (Value v : used)
            if (!params.contains(v) && seen.insert(v).second)
              extra += bitnet::outlinedParameterBytes(v);
          return extra;
        };
        int64_t extra = newBytes();
        bool joins = !run.empty() && bytes + extra <= maxParamBytes &&
                     llvm::none_of(run, [&](const Member &other) {
                       return conflicts(other, m);
                     });
        if (!joins) {
          flush();
          extra = newBytes();
        }
        run.push_back(m);
        params.insert(used.begin(), used.end());
        bytes += extra;
      }
      flush();
    }
    for (const Chain &c : chains)
      emitChain(c);
    for (const Member &m : warps)
      emitWarp(m);
    for (auto &group : groups)
      emitGroup(group);
    for (Operation *op : erased)
      op->erase();
    eraseDeadFills();
  }
};

} // namespace
