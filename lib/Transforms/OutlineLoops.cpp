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
//===----------------------------------------------------------------------===//

#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
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
      SmallVector<scf::ForOp> loops;
      for (Operation &op : func.getBody().front())
        if (auto loop = dyn_cast<scf::ForOp>(op); loop && loop.getNumResults() == 0)
          loops.push_back(loop);
      if (int64_t(loops.size()) < minLoops)
        continue;
      for (scf::ForOp loop : loops)
        outline(module, func, loop, counter++);
    }
  }

  void outline(ModuleOp module, func::FuncOp parent, scf::ForOp loop,
               int64_t index) {
    // Values from outside: the bounds and whatever the body uses.
    llvm::SetVector<Value> captured;
    for (Value v : loop->getOperands())
      captured.insert(v);
    getUsedValuesDefinedAbove(loop.getRegion(), captured);
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
    SmallVector<Type> types;
    for (Value v : args)
      types.push_back(v.getType());
    std::string name = (parent.getSymName() + "_loop" + Twine(index)).str();
    auto fn = func::FuncOp::create(mb, loop.getLoc(), name,
                                   mb.getFunctionType(types, {}));
    fn.setPrivate();
    fn->setAttr("no_inline", mb.getUnitAttr());
    fn->setAttr("passthrough", mb.getArrayAttr({mb.getStringAttr("noinline")}));
    Block *body = fn.addEntryBlock();
    OpBuilder b = OpBuilder::atBlockBegin(body);
    IRMapping map;
    for (auto [v, arg] : llvm::zip(args, body->getArguments()))
      map.map(v, arg);
    for (Operation *c : cloned)
      map.map(c->getResult(0), b.clone(*c)->getResult(0));
    b.clone(*loop, map);
    func::ReturnOp::create(b, loop.getLoc());
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
    func::CallOp::create(cb, loop.getLoc(), fn, args);
    loop.erase();
  }
};

} // namespace
