//===- OutlineLoops.cpp - One function per top-level loop nest ------------===//
//
// A whole decoder lowered to loops is one function with thousands of loop
// nests in sequence; LLVM's loop analyses (ScalarEvolution's guard walks up
// the dominator tree) are quadratic in that, and a 30-layer model takes
// many minutes in the optimizer. Moving each top-level scf.for nest into its
// own private function (arguments: the values it uses from outside;
// constants are cloned) keeps every function small; `noinline` keeps LLVM
// from gluing them back. The calls cost nanoseconds next to the loops.
//
// Layers repeat: the loop nests of layer 2 are those of layer 1 over other
// buffers. A nest whose function would be identical (same text, argument
// types included) to one already outlined calls that one instead, so LLVM
// compiles each distinct nest once (2B4T: 4,876 nests, see the pass doc).
//
// With `parallel-tasks`, a top-level scf.parallel (linalg's parallel
// dimensions) becomes a task: its function takes (lo, hi, work, captured...)
// and runs the nest with one of its dimensions restricted to [lo, hi); the
// call passes that dimension's bounds and an estimate of the operations one
// of its iterations does. bitnet-lower-parallel-tasks later turns such calls
// into the runtime's parallel-for over the kernel threads.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETOUTLINELOOPS
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

namespace {

/// Trip counts the estimate assumes for loops whose bounds are not constant.
constexpr int64_t kUnknownTrips = 64;

/// The trip count of [lb, ub) by step if all three are constant.
std::optional<int64_t> constantTrips(Value lb, Value ub, Value step) {
  std::optional<int64_t> l = getConstantIntValue(lb), u = getConstantIntValue(ub),
                         s = getConstantIntValue(step);
  if (!l || !u || !s || *s <= 0)
    return std::nullopt;
  return std::max<int64_t>(0, (*u - *l + *s - 1) / *s);
}

/// The constant trip count of [lb, ub) by step, or kUnknownTrips.
int64_t tripEstimate(Value lb, Value ub, Value step) {
  return constantTrips(lb, ub, step).value_or(kUnknownTrips);
}

/// Operations a region runs: its ops, inner loops counted per iteration.
int64_t workEstimate(Region &region) {
  int64_t total = 0;
  for (Operation &op : region.getOps()) {
    int64_t trips = 1;
    if (auto loop = dyn_cast<scf::ForOp>(op))
      trips = tripEstimate(loop.getLowerBound(), loop.getUpperBound(),
                           loop.getStep());
    else if (auto par = dyn_cast<scf::ParallelOp>(op))
      for (auto [l, u, s] : llvm::zip(par.getLowerBound(), par.getUpperBound(),
                                      par.getStep()))
        trips *= tripEstimate(l, u, s);
    int64_t inner = 0;
    for (Region &r : op.getRegions())
      inner += workEstimate(r);
    total += trips * std::max<int64_t>(1, inner);
  }
  return total;
}

/// Operations below which the runtime never splits a range (twice its
/// grain: runtime/lib/KernelSupport.h, grainFor).
constexpr int64_t kMinSplitWork = int64_t(2) << 16;

/// The dimension a task splits (unit step only), or -1 for none. A
/// dimension with non-constant bounds (a prompt's length) is free to split:
/// its loop has a runtime trip count anyway, so the outermost one is taken.
/// Splitting a constant dimension costs LLVM its trip count (remainder
/// loops, twice the code and compile time), so a nest whose bounds are all
/// constant is split only if its work could ever be split at run time, at
/// the outermost dimension with at least 16 iterations (else the largest).
/// `bodyWork` is workEstimate of the nest's body.
int64_t taskDimension(scf::ParallelOp par, int64_t bodyWork) {
  int64_t n = par.getNumLoops();
  SmallVector<std::optional<int64_t>> trips;
  for (auto [l, u, s] :
       llvm::zip(par.getLowerBound(), par.getUpperBound(), par.getStep()))
    trips.push_back(constantTrips(l, u, s));
  auto unitStep = [&](int64_t d) {
    return getConstantIntValue(par.getStep()[d]) == 1;
  };
  for (int64_t d = 0; d < n; ++d)
    if (!trips[d] && unitStep(d))
      return d;
  int64_t total = bodyWork;
  for (const std::optional<int64_t> &t : trips)
    if (t)
      total = std::min<int64_t>(total * *t, kMinSplitWork);
  if (total < kMinSplitWork)
    return -1;
  int64_t largest = -1;
  for (int64_t d = 0; d < n; ++d) {
    if (!unitStep(d) || !trips[d])
      continue;
    if (*trips[d] >= 16)
      return d;
    if (largest < 0 || *trips[d] > *trips[largest])
      largest = d;
  }
  return largest;
}

struct OutlineLoopsPass
    : public mlir::bitnet::impl::BitNetOutlineLoopsBase<OutlineLoopsPass> {
  using Base::Base;
  /// Outlined functions by their text (see the file comment).
  llvm::StringMap<func::FuncOp> outlined;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    outlined.clear();
    SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
    int64_t counter = 0;
    for (func::FuncOp func : funcs) {
      if (func.isExternal() || !func.getBody().hasOneBlock())
        continue;
      SmallVector<Operation *> loops;
      for (Operation &op : func.getBody().front()) {
        if (op.getNumResults() != 0)
          continue;
        if (isa<scf::ForOp>(op) || (parallelTasks && isa<scf::ParallelOp>(op)))
          loops.push_back(&op);
      }
      if (int64_t(loops.size()) < minLoops)
        continue;
      for (Operation *loop : loops)
        outline(module, func, loop, counter++);
    }
  }

  void outline(ModuleOp module, func::FuncOp parent, Operation *loop,
               int64_t index) {
    auto par = dyn_cast<scf::ParallelOp>(loop);
    const int64_t bodyWork =
        par ? std::max<int64_t>(1, workEstimate(par.getRegion())) : 0;
    int64_t dim = par ? taskDimension(par, bodyWork) : -1;
    // Values from outside: the bounds and whatever the body uses.
    llvm::SetVector<Value> captured;
    for (Value v : loop->getOperands())
      captured.insert(v);
    getUsedValuesDefinedAbove(loop->getRegions(), captured);
    SmallVector<Value> args;
    SmallVector<Operation *> cloned;
    for (Value v : captured) {
      Operation *def = v.getDefiningOp();
      if (def && matchPattern(v, m_Constant()) && def->getNumResults() == 1)
        cloned.push_back(def);
      else
        args.push_back(v);
    }
    OpBuilder mb(module.getBodyRegion());
    mb.setInsertionPointAfter(parent);
    Location loc = loop->getLoc();
    // A task's leading (lo, hi, work): see the file comment.
    unsigned lead = dim >= 0 ? 3 : 0;
    SmallVector<Type> types(lead, mb.getIndexType());
    for (Value v : args)
      types.push_back(v.getType());
    std::string name = (parent.getSymName() + "_loop" + Twine(index)).str();
    auto fn = func::FuncOp::create(mb, loc, name, mb.getFunctionType(types, {}));
    fn.setPrivate();
    fn->setAttr("no_inline", mb.getUnitAttr());
    fn->setAttr("passthrough", mb.getArrayAttr({mb.getStringAttr("noinline")}));
    if (dim >= 0)
      fn->setAttr("bitnet.parallel_task", mb.getUnitAttr());
    Block *body = fn.addEntryBlock();
    OpBuilder b = OpBuilder::atBlockBegin(body);
    IRMapping map;
    for (auto [v, arg] : llvm::zip(args, body->getArguments().drop_front(lead)))
      map.map(v, arg);
    for (Operation *c : cloned)
      map.map(c->getResult(0), b.clone(*c)->getResult(0));
    Operation *copy = b.clone(*loop, map);
    if (dim >= 0) {
      auto task = cast<scf::ParallelOp>(copy);
      task.getLowerBoundMutable()[dim].set(body->getArgument(0));
      task.getUpperBoundMutable()[dim].set(body->getArgument(1));
      // Values only the split dimension's bounds used are not passed.
      llvm::BitVector unused(fn.getNumArguments());
      SmallVector<Value> kept;
      for (auto [i, v] : llvm::enumerate(args)) {
        if (body->getArgument(lead + i).use_empty())
          unused.set(lead + i);
        else
          kept.push_back(v);
      }
      if (unused.any()) {
        (void)fn.eraseArguments(unused);
        args = std::move(kept);
      }
    }
    func::ReturnOp::create(b, loc);
    // The function's text under a fixed name is its identity.
    std::string key;
    {
      fn.setSymName("__outlined");
      llvm::raw_string_ostream os(key);
      fn->print(os, OpPrintingFlags().useLocalScope());
      fn.setSymName(name);
    }
    auto [it, inserted] = outlined.try_emplace(key, fn);
    if (!inserted) {
      fn.erase();
      fn = it->second;
    }
    OpBuilder cb(loop);
    SmallVector<Value> operands;
    if (dim >= 0) {
      // Work of one iteration of `dim`: the body's estimate times the
      // other dimensions' trip counts (known when the call runs).
      Value work = arith::ConstantIndexOp::create(cb, loc, bodyWork);
      for (int64_t d = 0, e = par.getNumLoops(); d < e; ++d) {
        if (d == dim)
          continue;
        Value trips = arith::SubIOp::create(cb, loc, par.getUpperBound()[d],
                                            par.getLowerBound()[d]);
        trips = arith::CeilDivUIOp::create(cb, loc, trips, par.getStep()[d]);
        work = arith::MulIOp::create(cb, loc, work, trips);
      }
      operands = {par.getLowerBound()[dim], par.getUpperBound()[dim], work};
    }
    llvm::append_range(operands, args);
    func::CallOp::create(cb, loc, fn, operands);
    loop->erase();
  }
};

} // namespace
