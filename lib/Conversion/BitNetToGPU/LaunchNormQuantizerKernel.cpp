//===- LaunchNormQuantizerKernel.cpp - norm + quantizer as one kernel -----===//
//
// In a whole model an activation quantizer's input is a row-local chain of
// generic ops: the residual add, then RMSNorm (squares, their mean, eps,
// sqrt, reciprocal, two products). The generic GPU path runs that chain
// as a single-block kernel stage after stage, each stage's values going
// through global memory and a barrier (8.5 us a norm at 2B4T decode, two a
// layer). This pass compiles the chain and the quantizer into one kernel,
// a block per row: each thread holds its elements in registers, every
// generic body is cloned per element (elementwise ops) or folded over a
// thread's elements and then the block (reductions over the row), values
// used after the chain (the residual stream) are written out. The pass
// description in Conversion/Passes.td has the contract.
//
//===----------------------------------------------------------------------===//

#include "BitLinearKernels.h"
#include "bitnet/Conversion/BitNetToGPU/BitNetToGPU.h"
#include "bitnet/Dialect/BitNet/IR/BitNetDialect.h"
#include "bitnet/Transforms/DecoderRecord.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <tuple>

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETLAUNCHNORMQUANTIZERKERNEL
#include "bitnet/Conversion/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;
using namespace mlir::bitnet;
using namespace mlir::bitnet::gpu_kernels;

namespace {

/// Most elements a thread holds (rows of up to 16,384 elements).
constexpr int64_t kMaxPerThread = 16;
/// Most generic ops in one kernel, ops scanned back from the quantizer,
/// values written out, and inputs read from memory.
constexpr int64_t kMaxOps = 24, kMaxScan = 64, kMaxOutputs = 2,
                  kMaxInputs = 6;

/// How a value varies over the row space [rows, d]: per element, one per
/// row, per column (a [d] vector: norm weights), or not at all.
enum class Extent { Element, Row, Column, Scalar };

/// One operand of a program op as the kernel reads it.
struct Operand {
  Value value;
  Extent extent;
};

/// One op of the program: a linalg.generic, or bitnet.relu2_glu (the
/// prefill GLU in front of the down projection's quantizer).
struct ProgramOp {
  Operation *op;
  bool glu = false;
  SmallVector<Operand> inputs;
  Extent result;         // Element or Row
  bool reduction = false; // over the row's last dimension
  Operation *combiner = nullptr; // reduction: the body's accumulating op
  TypedAttr init;                // reduction: its initial value
  bool output = false;           // used after the chain: written out
};

/// The chain in front of one quantizer, or of the LM head (the final
/// RMSNorm: no quantizer, the chain's value written for the head to read).
struct Program {
  Operation *sink = nullptr;      // the quantizer or the LM head
  std::optional<QuantPrologue> q; // none for the LM head
  Operation *counter = nullptr;   // the importer's count of the codes
  SmallVector<int64_t> lead; // the quantizer input's leading dimensions
  int64_t rows = 0, d = 0;
  int64_t threads = 0, perThread = 0; // rowBlockShape(d)
  SmallVector<ProgramOp> ops; // in block order
  // Inputs read from memory, in first-use order.
  SmallVector<Value> elementInputs, columnInputs, scalarInputs;
  Operation *insertBefore = nullptr;
};

/// The element type of a tensor or memref value.
Type elementType(Value v) {
  return cast<ShapedType>(v.getType()).getElementType();
}

/// The splat value of a constant tensor (arith.constant splat, or a
/// linalg.fill of a constant), else null.
TypedAttr splatValue(Value v) {
  if (auto cst = v.getDefiningOp<arith::ConstantOp>()) {
    if (auto dense = dyn_cast<DenseElementsAttr>(cst.getValue()))
      if (dense.isSplat())
        return dense.getSplatValue<TypedAttr>();
    return nullptr;
  }
  if (auto fill = v.getDefiningOp<linalg::FillOp>()) {
    Attribute a;
    if (matchPattern(fill.getInputs()[0], m_Constant(&a)))
      return dyn_cast<TypedAttr>(a);
  }
  return nullptr;
}

/// Whether `map` picks the row dimensions d0 .. d{lead-1} in order,
/// followed by nothing, a constant 0, or (when `unitLast`) the unit
/// dimension d{lead}.
bool isRowMap(AffineMap map, int64_t lead, bool unitLast) {
  ArrayRef<AffineExpr> results = map.getResults();
  if (int64_t(results.size()) != lead && int64_t(results.size()) != lead + 1)
    return false;
  for (int64_t i = 0; i < lead; ++i) {
    auto dim = dyn_cast<AffineDimExpr>(results[i]);
    if (!dim || dim.getPosition() != unsigned(i))
      return false;
  }
  if (int64_t(results.size()) == lead)
    return true;
  if (auto c = dyn_cast<AffineConstantExpr>(results[lead]))
    return c.getValue() == 0;
  auto dim = dyn_cast<AffineDimExpr>(results[lead]);
  return unitLast && dim && dim.getPosition() == unsigned(lead);
}

/// Whether `type` is a row value's: [lead] or [lead, 1].
bool isRowType(RankedTensorType type, ArrayRef<int64_t> lead) {
  ArrayRef<int64_t> shape = type.getShape();
  if (shape == lead)
    return true;
  return shape.size() == lead.size() + 1 && shape.drop_back() == lead &&
         shape.back() == 1;
}

/// The body's op combining the accumulator with the element (`acc op t`,
/// either order), if it is one whose partial results combine the same way
/// (sums, minima, maxima); null otherwise.
Operation *reductionCombiner(linalg::GenericOp g, TypedAttr init) {
  Block &body = g.getRegion().front();
  Value acc = body.getArguments().back();
  if (!acc.hasOneUse())
    return nullptr;
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  Operation *c = yield.getOperand(0).getDefiningOp();
  if (!c || c->getNumOperands() != 2 || *acc.getUsers().begin() != c ||
      c->getBlock() != &body)
    return nullptr;
  bool additive = isa<arith::AddFOp, arith::AddIOp>(c);
  bool idempotent =
      isa<arith::MaximumFOp, arith::MaxNumFOp, arith::MinimumFOp,
          arith::MinNumFOp, arith::MaxSIOp, arith::MinSIOp, arith::MaxUIOp,
          arith::MinUIOp>(c);
  if (!additive && !idempotent)
    return nullptr;
  // Each thread starts from the initial value: only a sum's zero (or any
  // value of an idempotent op) may be counted once per thread.
  if (additive) {
    if (auto f = dyn_cast<FloatAttr>(init); f && !f.getValue().isZero())
      return nullptr;
    if (auto i = dyn_cast<IntegerAttr>(init); i && !i.getValue().isZero())
      return nullptr;
  }
  return c;
}

/// Whether the body can be cloned into a kernel: one block of side-effect
/// free ops without regions or index reads, reading only its arguments,
/// its own values and constants.
bool clonableBody(linalg::GenericOp g) {
  if (g.hasIndexSemantics() || !llvm::hasSingleElement(g.getRegion()))
    return false;
  for (Operation &op : g.getRegion().front().without_terminator()) {
    if (op.getNumRegions() != 0 || !isMemoryEffectFree(&op))
      return false;
    for (Value v : op.getOperands()) {
      if (g.getRegion().isAncestor(v.getParentRegion()))
        continue;
      if (!v.getDefiningOp<arith::ConstantOp>())
        return false;
    }
  }
  return true;
}

/// Classifies `g` as a program op over the row space of `p`, or fails.
/// `computed` (null while scanning, when it is not known yet) holds the
/// values the program computes: row inputs must be among them.
FailureOr<ProgramOp> classify(linalg::GenericOp g, const Program &p,
                              const DenseMap<Value, Extent> *computed) {
  if (g->getNumResults() != 1 || g.getNumDpsInits() != 1 || !clonableBody(g))
    return failure();
  SmallVector<int64_t> ranges = g.getStaticLoopRanges();
  SmallVector<utils::IteratorType> iters = g.getIteratorTypesArray();
  const int64_t lead = p.lead.size(), n = ranges.size();
  ArrayRef<int64_t> rangesRef(ranges);
  ProgramOp po;
  po.op = g.getOperation();
  bool elementDomain = n == lead + 1 &&
                       rangesRef.drop_back() == ArrayRef(p.lead) &&
                       ranges.back() == p.d;
  bool rowDomain = (n == lead && rangesRef == ArrayRef(p.lead)) ||
                   (n == lead + 1 && rangesRef.drop_back() == ArrayRef(p.lead) &&
                    ranges.back() == 1);
  if (!elementDomain && !rowDomain)
    return failure();
  for (int64_t i = 0; i + 1 < n; ++i)
    if (iters[i] != utils::IteratorType::parallel)
      return failure();
  if (n > 0 && iters.back() == utils::IteratorType::reduction) {
    if (!elementDomain)
      return failure();
    po.reduction = true;
  }
  SmallVector<AffineMap> maps = g.getIndexingMapsArray();
  // The result.
  auto resultType = cast<RankedTensorType>(g->getResult(0).getType());
  AffineMap resultMap = maps.back();
  if (po.reduction || rowDomain) {
    if (!isRowType(resultType, p.lead) ||
        !isRowMap(resultMap, lead, /*unitLast=*/rowDomain))
      return failure();
    po.result = Extent::Row;
  } else {
    if (resultType.getShape().drop_back() != ArrayRef(p.lead) ||
        resultType.getShape().back() != p.d || !resultMap.isIdentity())
      return failure();
    po.result = Extent::Element;
  }
  Block &body = g.getRegion().front();
  if (po.reduction) {
    po.init = splatValue(g.getDpsInits()[0]);
    if (!po.init || !(po.combiner = reductionCombiner(g, po.init)))
      return failure();
  } else if (!body.getArguments().back().use_empty()) {
    return failure();
  }
  // The inputs.
  for (OpOperand *in : g.getDpsInputOperands()) {
    Value v = in->get();
    AffineMap map = maps[in->getOperandNumber()];
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || !type.hasStaticShape())
      return failure();
    if (splatValue(v) ||
        (type.getRank() == 0 && map.getNumResults() == 0)) {
      po.inputs.push_back({v, Extent::Scalar});
      continue;
    }
    std::optional<Extent> known;
    if (computed)
      if (auto it = computed->find(v); it != computed->end())
        known = it->second;
    if (elementDomain && type.getShape().drop_back() == ArrayRef(p.lead) &&
        type.getShape().back() == p.d && map.isIdentity()) {
      if (known && *known != Extent::Element)
        return failure();
      po.inputs.push_back({v, Extent::Element});
    } else if (isRowType(type, p.lead) &&
               isRowMap(map, lead, /*unitLast=*/rowDomain)) {
      // Row values come from the program only (none is read from memory).
      if (computed && (!known || *known != Extent::Row))
        return failure();
      po.inputs.push_back({v, Extent::Row});
    } else if (elementDomain && type.getRank() == 1 &&
               type.getShape()[0] == p.d && map.getNumResults() == 1 &&
               map.getResult(0) == getAffineDimExpr(lead, g.getContext())) {
      if (known)
        return failure();
      po.inputs.push_back({v, Extent::Column});
    } else {
      return failure();
    }
  }
  return po;
}

/// bitnet.relu2_glu of two [lead.., d] f32 values: an elementwise op of the
/// program (as its reference lowering computes it: up * max(gate, 0)^2).
FailureOr<ProgramOp> classifyGLU(ReLU2GLUOp glu, const Program &p,
                                 const DenseMap<Value, Extent> *computed) {
  ProgramOp po;
  po.op = glu.getOperation();
  po.glu = true;
  po.result = Extent::Element;
  for (Value v : glu->getOperands()) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || !type.hasStaticShape() || !type.getElementType().isF32() ||
        type.getShape().drop_back() != ArrayRef(p.lead) ||
        type.getShape().back() != p.d)
      return failure();
    if (computed)
      if (auto it = computed->find(v);
          it != computed->end() && it->second != Extent::Element)
        return failure();
    po.inputs.push_back({v, Extent::Element});
  }
  return po;
}

/// `op` as a program op (a generic or relu2_glu), or failure.
FailureOr<ProgramOp> classifyOp(Operation *op, const Program &p,
                                const DenseMap<Value, Extent> *computed) {
  if (auto g = dyn_cast<linalg::GenericOp>(op))
    return classify(g, p, computed);
  if (auto glu = dyn_cast<ReLU2GLUOp>(op))
    return classifyGLU(glu, p, computed);
  return failure();
}

/// The program in front of `sink` (its operand 0), scanned back through
/// its block: a generic op joins when its result feeds the program; one
/// whose result is also used elsewhere joins as an output (written out) and
/// its own operands are read from memory (the residual stream's earlier
/// adds stay where they are). Without a quantizer (the LM head) the value
/// the sink reads is an output too.
FailureOr<Program> matchProgram(Operation *sink, std::optional<QuantPrologue> q,
                                int64_t maxRows, DominanceInfo &dom) {
  Program p;
  p.sink = sink;
  p.q = q;
  Value input = sink->getOperand(0);
  auto type = dyn_cast<RankedTensorType>(input.getType());
  if (!type || !type.hasStaticShape() || type.getRank() < 2 ||
      !type.getElementType().isF32())
    return failure();
  p.lead = llvm::to_vector(type.getShape().drop_back());
  p.d = type.getShape().back();
  p.rows = 1;
  for (int64_t l : p.lead)
    p.rows *= l;
  std::tie(p.threads, p.perThread) = rowBlockShape(p.d);
  if (p.d == 0 || p.rows == 0 || p.rows > maxRows ||
      p.perThread > kMaxPerThread)
    return failure();

  llvm::SetVector<Operation *> members;
  DenseMap<Value, Extent> computed;
  llvm::SetVector<Value> needed;
  needed.insert(input);
  SmallVector<ProgramOp> reversed;
  int64_t scanned = 0, outputs = 0;
  for (Operation *op = sink->getPrevNode(); op && !needed.empty();
       op = op->getPrevNode()) {
    if (++scanned > kMaxScan)
      break;
    if (!isa<linalg::GenericOp, ReLU2GLUOp>(op) || op->getNumResults() != 1 ||
        !needed.contains(op->getResult(0)))
      continue;
    Value r = op->getResult(0);
    // Users come after their definition: all of them have been seen.
    bool external = llvm::any_of(r.getUsers(), [&](Operation *u) {
      return u != sink && !members.contains(u);
    });
    bool written = external || (!q && r == input);
    FailureOr<ProgramOp> po = classifyOp(op, p, /*computed=*/nullptr);
    if (failed(po) || (written && (po->result != Extent::Element ||
                                   outputs >= kMaxOutputs)))
      continue; // read from memory (checked below)
    po->output = written;
    outputs += written;
    members.insert(op);
    needed.remove(r);
    computed[r] = po->result;
    if (!external)
      for (Operand in : po->inputs)
        if (in.extent == Extent::Element || in.extent == Extent::Row)
          needed.insert(in.value);
    reversed.push_back(*po);
    if (int64_t(reversed.size()) > kMaxOps)
      return failure();
  }
  if (reversed.empty())
    return failure();
  // Re-classify in block order, now that the program's values are known
  // (row inputs must be computed; element inputs that are not are read).
  DenseSet<Value> seen;
  for (ProgramOp &old : llvm::reverse(reversed)) {
    FailureOr<ProgramOp> po = classifyOp(old.op, p, &computed);
    if (failed(po))
      return failure();
    po->output = old.output;
    for (Operand in : po->inputs) {
      if (computed.count(in.value) || !seen.insert(in.value).second)
        continue;
      if (in.extent == Extent::Element)
        p.elementInputs.push_back(in.value);
      else if (in.extent == Extent::Column)
        p.columnInputs.push_back(in.value);
      else if (in.extent == Extent::Scalar && !splatValue(in.value))
        p.scalarInputs.push_back(in.value);
    }
    p.ops.push_back(*po);
  }
  auto quantIn = computed.find(input);
  if (quantIn == computed.end() || quantIn->second != Extent::Element)
    return failure();
  if (int64_t(p.elementInputs.size() + p.columnInputs.size() +
              p.scalarInputs.size()) > kMaxInputs)
    return failure();
  // The launch goes before the first use of anything it computes.
  Block *block = sink->getBlock();
  p.insertBefore = sink;
  for (const ProgramOp &po : p.ops) {
    if (!po.output)
      continue;
    for (Operation *u : po.op->getResult(0).getUsers()) {
      if (members.contains(u))
        continue;
      Operation *at = block->findAncestorOpInBlock(*u);
      if (!at)
        return failure();
      if (at->isBeforeInBlock(p.insertBefore))
        p.insertBefore = at;
    }
  }
  for (ArrayRef<Value> inputs :
       {ArrayRef(p.elementInputs), ArrayRef(p.columnInputs),
        ArrayRef(p.scalarInputs)})
    for (Value v : inputs)
      if (!dom.properlyDominates(v, p.insertBefore))
        return failure();
  return p;
}

/// The parameters of `p`'s values: the element inputs [rows, d], the
/// column inputs [d], the scalar inputs (rank 0), then the outputs [rows, d].
SmallVector<Type> programParams(const Program &p) {
  SmallVector<Type> params;
  for (Value v : p.elementInputs)
    params.push_back(MemRefType::get({p.rows, p.d}, elementType(v)));
  for (Value v : p.columnInputs)
    params.push_back(MemRefType::get({p.d}, elementType(v)));
  for (Value v : p.scalarInputs)
    params.push_back(MemRefType::get({}, elementType(v)));
  for (const ProgramOp &po : p.ops)
    if (po.output)
      params.push_back(
          MemRefType::get({p.rows, p.d}, elementType(po.op->getResult(0))));
  return params;
}

/// `p`'s workgroup memory: a warp's partial per reduction, then the
/// quantizer's.
SmallVector<Type> programShared(MLIRContext *ctx, const Program &p) {
  auto workgroup =
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  SmallVector<Type> shared;
  for (const ProgramOp &po : p.ops)
    if (po.reduction)
      shared.push_back(MemRefType::get({kWarp}, elementType(po.op->getResult(0)),
                                       MemRefLayoutAttrInterface{}, workgroup));
  if (p.q)
    shared.push_back(MemRefType::get(
        {kWarp},
        p.q->mean ? Type(Float64Type::get(ctx)) : Type(Float32Type::get(ctx)),
        MemRefLayoutAttrInterface{}, workgroup));
  return shared;
}

/// `p` for row `row` by a block of `p.threads` threads (`p.perThread`
/// elements each): `args` in programParams' order, `shared` in
/// programShared's; the quantizer's codes [rows, d] i8, scales [rows] f32
/// (and counts [rows] i32) into `codes`, `scales` (and `counts`). With
/// `sideGuard` (i1), the outputs and counts are written only where it
/// holds (blocks of a GEMV that all compute the row: one writes them).
void emitProgram(ImplicitLocOpBuilder &b, const Program &p,
                 ArrayRef<Value> args, ArrayRef<Value> shared, Value row,
                 Value sideGuard, Value codes, Value scales, Value counts) {
  const int64_t threads = p.threads, perThread = p.perThread;
  const int64_t warps = threads / kWarp;
  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  RowSlots slots = buildRowSlots(b, tid, threads, perThread, p.d);
  ArrayRef<Value> cols = slots.cols, safeCols = slots.safeCols,
                  inBounds = slots.inBounds;
  // A value's per-thread form: perThread values (Element, Column) or one.
  DenseMap<Value, SmallVector<Value>> held;
  unsigned arg = 0;
  for (Value v : p.elementInputs) {
    Value m = args[arg++];
    for (int64_t j = 0; j < perThread; ++j)
      held[v].push_back(memref::LoadOp::create(b, m, ValueRange{row, safeCols[j]}));
  }
  for (Value v : p.columnInputs) {
    Value m = args[arg++];
    for (int64_t j = 0; j < perThread; ++j)
      held[v].push_back(memref::LoadOp::create(b, m, ValueRange{safeCols[j]}));
  }
  for (Value v : p.scalarInputs)
    held[v].push_back(memref::LoadOp::create(b, args[arg++], ValueRange{}));
  auto operandAt = [&](const Operand &in, int64_t j) -> Value {
    if (TypedAttr splat = splatValue(in.value)) {
      SmallVector<Value> &vals = held[in.value];
      if (vals.empty())
        vals.push_back(arith::ConstantOp::create(b, splat));
      return vals[0];
    }
    SmallVector<Value> &vals = held[in.value];
    bool perElement = in.extent == Extent::Element || in.extent == Extent::Column;
    return vals[perElement ? j : 0];
  };
  // One body instance: block arguments mapped, constants from outside the
  // body cloned, the yielded value returned.
  auto cloneBody = [&](linalg::GenericOp g, ArrayRef<Value> values) -> Value {
    Block &body = g.getRegion().front();
    IRMapping map;
    for (auto [a, v] : llvm::zip(body.getArguments(), values))
      if (v)
        map.map(a, v);
    for (Operation &op : body.without_terminator()) {
      for (Value v : op.getOperands())
        if (Operation *def = v.getDefiningOp();
            def && !g->isAncestor(def) && !map.contains(v))
          map.map(v, b.clone(*def)->getResult(0));
      b.clone(op, map);
    }
    return map.lookupOrDefault(body.getTerminator()->getOperand(0));
  };
  unsigned sharedIndex = 0;
  for (const ProgramOp &po : p.ops) {
    Value r = po.op->getResult(0);
    if (po.glu) {
      // relu2_glu's reference lowering: up * (max(gate, 0) * max(gate, 0)).
      Value zero = arith::ConstantOp::create(b, b.getF32FloatAttr(0.0f));
      for (int64_t j = 0; j < perThread; ++j) {
        Value relu =
            arith::MaximumFOp::create(b, operandAt(po.inputs[0], j), zero);
        held[r].push_back(arith::MulFOp::create(
            b, operandAt(po.inputs[1], j), arith::MulFOp::create(b, relu, relu)));
      }
      continue;
    }
    auto generic = cast<linalg::GenericOp>(po.op);
    if (!po.reduction) {
      int64_t count = po.result == Extent::Element ? perThread : 1;
      for (int64_t j = 0; j < count; ++j) {
        SmallVector<Value> values;
        for (const Operand &in : po.inputs)
          values.push_back(operandAt(in, j));
        values.push_back(Value()); // the unused output argument
        held[r].push_back(cloneBody(generic, values));
      }
      continue;
    }
    // Reduction: each thread folds its elements in order, then the block.
    Value acc = arith::ConstantOp::create(b, po.init);
    for (int64_t j = 0; j < perThread; ++j) {
      SmallVector<Value> values;
      for (const Operand &in : po.inputs)
        values.push_back(operandAt(in, j));
      values.push_back(acc);
      acc = arith::SelectOp::create(b, inBounds[j], cloneBody(generic, values),
                                    acc);
    }
    Operation *combiner = po.combiner;
    Value accArg = generic.getRegion().front().getArguments().back();
    auto combine = [&](Value x, Value y) -> Value {
      IRMapping map;
      for (Value v : combiner->getOperands())
        map.map(v, v == accArg ? x : y);
      return b.clone(*combiner, map)->getResult(0);
    };
    held[r].push_back(
        blockCombine(b, acc, shared[sharedIndex++], warps, combine));
  }
  // Values used after the chain.
  for (const ProgramOp &po : p.ops) {
    if (!po.output)
      continue;
    Value m = args[arg++];
    SmallVector<Value> &vals = held[po.op->getResult(0)];
    for (int64_t j = 0; j < perThread; ++j) {
      Value cond = inBounds[j];
      if (sideGuard)
        cond = arith::AndIOp::create(b, cond, sideGuard);
      auto guard = scf::IfOp::create(b, cond, /*withElseRegion=*/false);
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(&guard.getThenRegion().front());
      memref::StoreOp::create(b, vals[j], m, ValueRange{row, cols[j]});
    }
  }
  if (p.q)
    buildBlockQuantize(b, held[p.sink->getOperand(0)], inBounds, cols, row,
                       shared[sharedIndex], warps, p.d, codes, scales, *p.q,
                       counts, sideGuard);
}

/// Builds the kernel for `p` as `name`, a block per row. Parameters:
/// programParams, then with a quantizer codes [rows, d] i8, scales [rows]
/// f32 (and counts [rows] i32 with a counter).
gpu::GPUFuncOp buildKernel(gpu::GPUModuleOp gpuModule, Location loc,
                           StringRef name, const Program &p) {
  MLIRContext *ctx = gpuModule.getContext();
  ImplicitLocOpBuilder b(loc, ctx);
  SmallVector<Type> params = programParams(p);
  const unsigned valueParams = params.size();
  if (p.q) {
    params.push_back(MemRefType::get({p.rows, p.d}, b.getI8Type()));
    params.push_back(MemRefType::get({p.rows}, b.getF32Type()));
    if (p.counter)
      params.push_back(MemRefType::get({p.rows}, b.getI32Type()));
  }
  SmallVector<Type> shared = programShared(ctx, p);
  b.setInsertionPointToEnd(gpuModule.getBody());
  auto kernel = gpu::GPUFuncOp::create(b, name, FunctionType::get(ctx, params, {}),
                                       shared);
  kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
  // LLVM may merge the warps' partial loads into 16-byte ones.
  for (unsigned i = 0; i < shared.size(); ++i)
    kernel.setWorkgroupAttributionAttr(i, "llvm.align", b.getI64IntegerAttr(16));
  kernel.setKnownBlockSizeAttr(
      DenseI32ArrayAttr::get(ctx, {int32_t(p.threads), 1, 1}));
  b.setInsertionPointToStart(&kernel.getBody().front());
  Value row = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  SmallVector<Value> args(kernel.getArguments().begin(),
                          kernel.getArguments().end());
  SmallVector<Value> wg(kernel.getWorkgroupAttributions().begin(),
                        kernel.getWorkgroupAttributions().end());
  Value codes, scales, counts;
  if (p.q) {
    codes = args[valueParams];
    scales = args[valueParams + 1];
    if (p.counter)
      counts = args[valueParams + 2];
  }
  emitProgram(b, p, ArrayRef(args).take_front(valueParams), wg, row,
              /*sideGuard=*/Value(), codes, scales, counts);
  gpu::ReturnOp::create(b);
  return kernel;
}

/// The kernel's text without its name: programs of the same structure
/// (every layer's norm) share one kernel.
std::string kernelKey(gpu::GPUFuncOp kernel) {
  std::string text;
  llvm::raw_string_ostream os(text);
  StringAttr name = kernel.getNameAttr();
  kernel.setName("key");
  kernel->print(os, OpPrintingFlags().useLocalScope());
  kernel.setName(name);
  return text;
}

/// The buffer of `tensor` as `type`, read by a launch here. Each such read
/// is tagged with its own number: to_buffer is Pure, and CSE would merge
/// two launches' reads of one tensor into the first, so bufferization would
/// no longer see the later read and could overwrite the buffer in between
/// (it did: a norm's input, the embedding, shared its tensor.empty with a
/// later op that then wrote in place before the second norm read it).
Value readBuffer(OpBuilder &b, Location loc, MemRefType type, Value tensor,
                 int64_t &reads) {
  auto op = bufferization::ToBufferOp::create(b, loc, type, tensor,
                                              /*read_only=*/true);
  op->setAttr("bitnet.launch_read", b.getI64IntegerAttr(reads++));
  return op;
}

/// The launch arguments of `p`'s values at `b` (programParams' order): the
/// inputs' buffers and fresh buffers for the outputs, listed in `outputs`
/// as (result, buffer).
SmallVector<Value>
programArgs(OpBuilder &b, Location loc, const Program &p, int64_t &reads,
            SmallVectorImpl<std::pair<Value, Value>> &outputs) {
  SmallVector<Value> args;
  for (Value v : p.elementInputs)
    args.push_back(readBuffer(b, loc,
                              MemRefType::get({p.rows, p.d}, elementType(v)),
                              reshapeTo(b, loc, v, {p.rows, p.d}), reads));
  for (Value v : p.columnInputs)
    args.push_back(
        readBuffer(b, loc, MemRefType::get({p.d}, elementType(v)), v, reads));
  for (Value v : p.scalarInputs)
    args.push_back(
        readBuffer(b, loc, MemRefType::get({}, elementType(v)), v, reads));
  IntegerAttr align = b.getI64IntegerAttr(kBufferAlignment);
  for (const ProgramOp &po : p.ops) {
    if (!po.output)
      continue;
    Value r = po.op->getResult(0);
    Value buf = memref::AllocOp::create(
        b, loc, MemRefType::get({p.rows, p.d}, elementType(r)), align);
    outputs.push_back({r, buf});
    args.push_back(buf);
  }
  return args;
}

/// After the launch at `b`: the outputs' uses read their buffers.
void replaceOutputs(OpBuilder &b, Location loc, const Program &p,
                    ArrayRef<std::pair<Value, Value>> outputs) {
  // Not writable: later launches' reads of these buffers may be folded to
  // the buffer itself (to_buffer(to_tensor(m)) is m), out of
  // bufferization's sight, so nothing may write into them in place.
  for (auto [r, buf] : outputs) {
    Value t = bufferization::ToTensorOp::create(
        b, loc, RankedTensorType::get({p.rows, p.d}, elementType(r)), buf,
        /*restrict=*/true, /*writable=*/false);
    r.replaceAllUsesWith(
        expandTo(b, loc, t, cast<RankedTensorType>(r.getType())));
  }
}

/// Erases the program (last op first: each op's users go before it) with
/// the init tensors nothing else uses.
void eraseProgram(const Program &p) {
  for (const ProgramOp &po : llvm::reverse(p.ops)) {
    if (po.glu) {
      po.op->erase();
      continue;
    }
    auto g = cast<linalg::GenericOp>(po.op);
    Value init = g.getDpsInits()[0];
    g->erase();
    while (Operation *def = init.getDefiningOp()) {
      if (!def->use_empty() || !isa<tensor::EmptyOp, linalg::FillOp>(def))
        break;
      Value next = isa<linalg::FillOp>(def)
                       ? cast<linalg::FillOp>(def).getDpsInits()[0]
                       : Value();
      def->erase();
      if (!next)
        break;
      init = next;
    }
  }
}

/// Launches the kernel on `p`'s values, replaces its outputs and the
/// quantizer's results, and erases the program.
void launch(const Program &p, gpu::GPUFuncOp kernel, int64_t &reads) {
  OpBuilder b(p.insertBefore);
  Location loc = p.sink->getLoc();
  SmallVector<std::pair<Value, Value>> outputs;
  SmallVector<Value> args = programArgs(b, loc, p, reads, outputs);
  Value codes, scales, counts;
  if (p.q) {
    std::tie(codes, scales) = allocQuantizerBuffers(b, loc, p.rows, p.d);
    args.push_back(codes);
    args.push_back(scales);
    if (p.counter) {
      counts = allocCountBuffer(b, loc, p.rows);
      args.push_back(counts);
    }
  }
  auto dim = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  Value c1 = dim(1);
  gpu::LaunchFuncOp::create(b, loc, kernel, gpu::KernelDim3{dim(p.rows), c1, c1},
                            gpu::KernelDim3{dim(p.threads), c1, c1},
                            /*dynamicSharedMemorySize=*/Value(), args);
  replaceOutputs(b, loc, p, outputs);
  if (p.q)
    replaceQuantizerResults(b, loc, p.sink, codes, scales, p.rows, p.d);
  if (p.counter)
    replaceNonzeroCounter(loc, p.counter, counts, p.rows);
  eraseProgram(p);
}

/// Launches `p` as the prologue of `use`'s GEMV (kernel `kernel`) where
/// the program's launch would go; the GEMV launch, the codes and scales
/// and the quantizer are erased.
void launchFused(const Program &p, GemvUse &use, gpu::GPUFuncOp kernel,
                 const LaunchShape &shape, DominanceInfo &dom, int64_t &reads) {
  OpBuilder b(p.insertBefore);
  Location loc = use.launch.getLoc();
  SmallVector<std::pair<Value, Value>> outputs;
  SmallVector<Value> args = programArgs(b, loc, p, reads, outputs);
  Value counts;
  if (p.counter) {
    counts = allocCountBuffer(b, loc, p.rows);
    args.push_back(counts);
  }
  launchIntoGemv(b, loc, use, kernel, shape, args, p.insertBefore, dom);
  replaceOutputs(b, loc, p, outputs);
  if (p.counter)
    replaceNonzeroCounter(loc, p.counter, counts, p.rows);
  p.sink->erase();
  eraseProgram(p);
}

struct LaunchNormQuantizerKernelPass
    : mlir::bitnet::impl::BitNetLaunchNormQuantizerKernelBase<
          LaunchNormQuantizerKernelPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // The LM head: the float matmul the importer tags, as wide as the
    // decoder record's vocabulary (none without the record).
    std::optional<int64_t> vocab = decoderRecordField(module, "vocab");
    auto isHead = [&](Operation *op) {
      return vocab && isa<linalg::GenericOp>(op) && isFloatLMHead(op, *vocab);
    };
    SmallVector<Operation *> sinks;
    module.walk([&](Operation *op) {
      if (isa<AbsmaxQuantOp, AbsmeanQuantOp>(op) || isHead(op))
        sinks.push_back(op);
    });
    if (sinks.empty())
      return;
    gpu::GPUModuleOp gpuModule;
    std::map<std::string, gpu::GPUFuncOp> byKey;
    int64_t reads = 0;
    variants.clear();
    replacedGemvs.clear();
    // In program order: an earlier program's outputs are the later ones'
    // inputs (read from memory), never recomputed.
    for (Operation *sink : sinks) {
      std::optional<QuantPrologue> q;
      if (!isHead(sink)) {
        q = prologueOf(sink);
        if (!q)
          continue;
      }
      DominanceInfo dom(sink->getParentOfType<FunctionOpInterface>());
      FailureOr<Program> p = matchProgram(sink, q, maxRows, dom);
      if (failed(p))
        continue;
      // The importer's count of the codes, if any, comes from the kernel.
      if (q)
        p->counter = findNonzeroCounter(sink);
      if (!gpuModule)
        gpuModule = getOrCreateKernelModule(module);
      if (gemvPrologue && fuseIntoGemv(*p, gpuModule, dom, byKey, reads))
        continue;
      std::string kind =
          q ? (Twine(q->mean ? "absmean" : "absmax") + Twine(q->bits)).str()
            : std::string("f32");
      std::string base = ("norm_" + Twine(kind) + "_m" + Twine(p->rows) +
                          "_d" + Twine(p->d) + (p->counter ? "_nz" : ""))
                             .str();
      gpu::GPUFuncOp kernel = share(
          buildKernel(gpuModule, sink->getLoc(), base + "_candidate", *p),
          base, byKey);
      launch(*p, kernel, reads);
    }
    // GEMV kernels whose every launch took a program in.
    if (gpuModule)
      eraseUnusedKernels(module, gpuModule, replacedGemvs);
  }

  /// GEMV kernels that fused launches replaced somewhere.
  llvm::StringSet<> replacedGemvs;

  /// Runs `p` as the prologue of the GEMV that reads its codes, if one
  /// can take it: one launch fewer, the codes never leave the
  /// multiprocessor. The GEMV takes the prologue's launch shape (8 warps
  /// of 4 rows) and every block computes the row; block 0 writes the
  /// program's outputs and counts.
  bool fuseIntoGemv(const Program &p, gpu::GPUModuleOp gpuModule,
                    DominanceInfo &dom,
                    std::map<std::string, gpu::GPUFuncOp> &byKey,
                    int64_t &reads) {
    if (!p.q || p.rows != 1)
      return false;
    std::optional<RowPrologueSite> site =
        findRowPrologueSite(p.sink, p.counter, p.d, gemvRowsPerWarp,
                            kMaxPerThread, p.insertBefore, dom);
    if (!site)
      return false;
    GemvUse &use = site->use;
    const LaunchShape shape = site->shape;
    Program fp = p;
    fp.threads = shape.threads();
    fp.perThread = site->perThread;
    MLIRContext *ctx = gpuModule.getContext();
    ExternalPrologue ext;
    ext.params = programParams(fp);
    const size_t values = ext.params.size();
    if (p.counter)
      ext.params.push_back(MemRefType::get({1}, IntegerType::get(ctx, 32)));
    ext.shared = programShared(ctx, fp);
    ext.build = [&](ImplicitLocOpBuilder &b, gpu::GPUFuncOp kernel,
                    Value codes, Value scales) {
      SmallVector<Value> args(kernel.getArguments().begin(),
                              kernel.getArguments().end());
      SmallVector<Value> wg(kernel.getWorkgroupAttributions().drop_front(2));
      Value block = gpu::BlockIdOp::create(b, gpu::Dimension::x);
      Value first = arith::CmpIOp::create(
          b, arith::CmpIPredicate::eq, block,
          arith::ConstantIndexOp::create(b, 0));
      emitProgram(b, fp, ArrayRef(args).take_front(values), wg,
                  arith::ConstantIndexOp::create(b, 0), first, codes, scales,
                  p.counter ? args[values] : Value());
    };
    std::string base =
        ("norm_" + Twine(p.q->mean ? "absmean" : "absmax") + Twine(p.q->bits) +
         (p.counter ? "_nz_" : "_") + use.name)
            .str();
    gpu::GPUFuncOp kernel = share(
        buildLayerKernel(gpuModule, p.sink->getLoc(), base + "_candidate",
                         use.shape, shape, /*byteWeights=*/true, &ext),
        base, byKey);
    replacedGemvs.insert(use.name);
    launchFused(fp, use, kernel, shape, dom, reads);
    return true;
  }

  /// `candidate`, or the kernel of the same text built before (then
  /// `candidate` is erased); a new text gets `base`, or `base_<n>` for the
  /// n-th other text of that base.
  gpu::GPUFuncOp share(gpu::GPUFuncOp candidate, const std::string &base,
                       std::map<std::string, gpu::GPUFuncOp> &byKey) {
    auto [it, fresh] = byKey.try_emplace(kernelKey(candidate), candidate);
    if (!fresh) {
      candidate.erase();
      return it->second;
    }
    int n = variants[base]++;
    candidate.setName(n ? base + "_" + std::to_string(n) : base);
    return candidate;
  }

  llvm::StringMap<int> variants;
};

} // namespace
