//===- LaunchQuantizerKernel.cpp - an absmax quantizer as one kernel ------===//
//
// The generic path runs an absmax quantizer as two launches (its statistic
// as a block reduction, then the codes over many blocks); where its input
// is a row no single-block kernel around it computes (the 2B4T down
// projection's 6,912 GLU outputs), the two stay separate launches of ~5 us
// each. This pass runs such a quantizer as one block per row: each thread
// holds its elements in registers, the block maximum of |x|, the
// quantizer's own multiplier and scale, then the codes. The pass
// description in Conversion/Passes.td has the contract.
//
//===----------------------------------------------------------------------===//

#include "BitLinearKernels.h"
#include "bitnet/Conversion/BitNetToGPU/BitNetToGPU.h"
#include "bitnet/Dialect/BitNet/IR/BitNetDialect.h"
#include "bitnet/Dialect/BitNet/IR/QuantArithmetic.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

#include "llvm/ADT/StringMap.h"

#include <tuple>

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETLAUNCHQUANTIZERKERNEL
#include "bitnet/Conversion/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;
using namespace mlir::bitnet;
using namespace mlir::bitnet::gpu_kernels;

namespace {

/// Most elements a thread holds (d <= 1024 * this); as a GEMV's prologue
/// (its 256 threads: d <= 8,192).
constexpr int64_t kMaxPerThread = 16, kMaxProloguePerThread = 32;

struct RowsShape {
  int64_t rows, d, threads, perThread;
};

/// Whether `v` is a kernel launch's result (a launch pass's to_tensor),
/// through reshapes and transposes: no generic kernel computes it, so no
/// single-block kernel would take the quantizer in.
bool fromLaunch(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (isa<bufferization::ToTensorOp>(def))
      return true;
    if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp, tensor::ReshapeOp,
            linalg::TransposeOp>(def)) {
      v = def->getOperand(0);
      continue;
    }
    return false;
  }
  return false;
}

/// Builds the kernel: (x [rows, d] f32, codes [rows, d] i8, scales [rows]
/// f32[, counts [rows] i32]); block b quantizes row b as
/// bitnet.absmax_quant defines it (and counts its non-zero codes).
gpu::GPUFuncOp buildQuantizerKernel(gpu::GPUModuleOp gpuModule, Location loc,
                                    StringRef name, const RowsShape &s,
                                    const QuantPrologue &q, bool counted) {
  MLIRContext *ctx = gpuModule.getContext();
  ImplicitLocOpBuilder b(loc, ctx);
  Type f32 = b.getF32Type();
  auto workgroup =
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  b.setInsertionPointToEnd(gpuModule.getBody());
  SmallVector<Type> params{MemRefType::get({s.rows, s.d}, f32),
                           MemRefType::get({s.rows, s.d}, b.getI8Type()),
                           MemRefType::get({s.rows}, f32)};
  if (counted)
    params.push_back(MemRefType::get({s.rows}, b.getI32Type()));
  auto kernel = gpu::GPUFuncOp::create(
      b, name, FunctionType::get(ctx, params, {}),
      TypeRange{MemRefType::get({kWarp}, f32, MemRefLayoutAttrInterface{},
                                workgroup)});
  kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
  // LLVM may merge the warps' maxima loads into 16-byte ones.
  kernel.setWorkgroupAttributionAttr(0, "llvm.align", b.getI64IntegerAttr(16));
  kernel.setKnownBlockSizeAttr(
      DenseI32ArrayAttr::get(ctx, {int32_t(s.threads), 1, 1}));
  b.setInsertionPointToStart(&kernel.getBody().front());
  Value x = kernel.getArgument(0), codes = kernel.getArgument(1),
        scales = kernel.getArgument(2);
  Value warpMax = kernel.getWorkgroupAttributions()[0];
  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value row = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  RowSlots slots = buildRowSlots(b, tid, s.threads, s.perThread, s.d);
  SmallVector<Value> values;
  for (Value safe : slots.safeCols)
    values.push_back(memref::LoadOp::create(b, x, ValueRange{row, safe}));
  buildBlockQuantize(b, values, slots.inBounds, slots.cols, row, warpMax,
                     s.threads / kWarp, s.d, codes, scales, q,
                     counted ? kernel.getArgument(3) : Value());
  gpu::ReturnOp::create(b);
  return kernel;
}

} // namespace

RowSlots gpu_kernels::buildRowSlots(ImplicitLocOpBuilder &b, Value tid,
                                    int64_t threads, int64_t perThread,
                                    int64_t d) {
  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, v);
  };
  RowSlots slots;
  for (int64_t j = 0; j < perThread; ++j) {
    Value i = arith::AddIOp::create(b, tid, idx(threads * j));
    slots.cols.push_back(i);
    slots.inBounds.push_back(
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, i, idx(d)));
    slots.safeCols.push_back(arith::MinUIOp::create(b, i, idx(d - 1)));
  }
  return slots;
}

Value gpu_kernels::shuffleXor(ImplicitLocOpBuilder &b, Value v,
                              int32_t offset) {
  unsigned width = v.getType().getIntOrFloatBitWidth();
  if (width == 32)
    return gpu::ShuffleOp::create(b, v, offset, int32_t(kWarp),
                                  gpu::ShuffleMode::XOR)
        .getShuffleResult();
  // 64 bits: the two halves shuffled as i32 (NVVM's shuffle is 32-bit).
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  Value bits = v.getType() == i64 ? v : arith::BitcastOp::create(b, i64, v);
  Value lo = arith::TruncIOp::create(b, i32, bits);
  Value hi = arith::TruncIOp::create(
      b, i32,
      arith::ShRUIOp::create(
          b, bits, arith::ConstantOp::create(b, b.getI64IntegerAttr(32))));
  auto shuffle = [&](Value half) {
    return arith::ExtUIOp::create(
        b, i64,
        gpu::ShuffleOp::create(b, half, offset, int32_t(kWarp),
                               gpu::ShuffleMode::XOR)
            .getShuffleResult());
  };
  Value joined = arith::OrIOp::create(
      b, shuffle(lo),
      arith::ShLIOp::create(
          b, shuffle(hi),
          arith::ConstantOp::create(b, b.getI64IntegerAttr(32))));
  return v.getType() == i64 ? joined
                            : Value(arith::BitcastOp::create(b, v.getType(),
                                                             joined));
}

Value gpu_kernels::blockCombine(
    ImplicitLocOpBuilder &b, Value partial, Value shared, int64_t warps,
    llvm::function_ref<Value(Value, Value)> combine) {
  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, v);
  };
  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value lane = arith::RemUIOp::create(b, tid, idx(kWarp));
  Value warp = arith::DivUIOp::create(b, tid, idx(kWarp));
  for (int32_t offset = kWarp / 2; offset > 0; offset /= 2)
    partial = combine(partial, shuffleXor(b, partial, offset));
  auto leader = scf::IfOp::create(
      b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, idx(0)),
      /*withElseRegion=*/false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&leader.getThenRegion().front());
    memref::StoreOp::create(b, partial, shared, ValueRange{warp});
  }
  gpu::BarrierOp::create(b);
  // Every thread adds the warps' partials in the same order: one value.
  Value total = memref::LoadOp::create(b, shared, ValueRange{idx(0)});
  for (int64_t w = 1; w < warps; ++w)
    total = combine(total, memref::LoadOp::create(b, shared, ValueRange{idx(w)}));
  return total;
}

void gpu_kernels::buildBlockQuantize(ImplicitLocOpBuilder &b,
                                     ArrayRef<Value> values,
                                     ArrayRef<Value> inBounds,
                                     ArrayRef<Value> cols, Value row,
                                     Value warpStat, int64_t warps, int64_t d,
                                     Value codes, Value scales,
                                     const QuantPrologue &q, Value counts,
                                     Value countsGuard) {
  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, v);
  };
  auto ifThen = [&](Value cond, llvm::function_ref<void()> body) {
    auto op = scf::IfOp::create(b, cond, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&op.getThenRegion().front());
    body();
  };
  Type f32 = b.getF32Type(), f64 = b.getF64Type();
  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  // absmax: max |x| in f32; absmean: sum |x| in f64 (the reference's
  // accumulator), each thread's elements in order, then the block.
  Value zero = arith::ConstantOp::create(
      b, q.mean ? b.getF64FloatAttr(0.0) : b.getF32FloatAttr(0.0f));
  auto combine = [&](Value a, Value c) -> Value {
    if (q.mean)
      return arith::AddFOp::create(b, a, c);
    return arith::MaximumFOp::create(b, a, c);
  };
  Value isFirst = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid, idx(0));
  auto guarded = [&](Value cond) -> Value {
    return countsGuard ? Value(arith::AndIOp::create(b, cond, countsGuard))
                       : cond;
  };
  Type i32 = b.getI32Type();
  if (counts)
    ifThen(guarded(isFirst), [&] {
      memref::StoreOp::create(b, arith::ConstantIntOp::create(b, i32, 0),
                              counts, ValueRange{row});
    });
  Value local = zero;
  for (auto [v, in] : llvm::zip(values, inBounds)) {
    Value a = absBySignBit(b, v);
    if (q.mean)
      local = arith::SelectOp::create(
          b, in, combine(local, arith::ExtFOp::create(b, f64, a)), local);
    else
      local = combine(local, arith::SelectOp::create(b, in, a, zero));
  }
  Value stat = blockCombine(b, local, warpStat, warps, combine);
  if (q.mean)
    stat = arith::TruncFOp::create(
        b, f32,
        arith::DivFOp::create(
            b, stat, arith::ConstantOp::create(b, b.getF64FloatAttr(double(d)))));
  double numer = q.mean ? absmeanNumerator(q.bits) : absmaxNumerator(q.bits);
  std::pair<Value, Value> multScale = buildQuantMultiplierAndScale(
      b, b.getLoc(), stat, numer, q.eps, q.mode, q.form);
  Value mult = multScale.first, scale = multScale.second;
  ifThen(isFirst,
         [&] { memref::StoreOp::create(b, scale, scales, ValueRange{row}); });
  // codes = clip(roundeven(x * mult), -Q - 1, Q).
  double hi = double(maxSignedCode(q.bits)), lo = -hi - 1;
  Value loV = arith::ConstantOp::create(b, b.getF32FloatAttr(float(lo)));
  Value hiV = arith::ConstantOp::create(b, b.getF32FloatAttr(float(hi)));
  Value nonzero = arith::ConstantIntOp::create(b, i32, 0);
  Value zeroCode = arith::ConstantIntOp::create(b, b.getI8Type(), 0);
  for (size_t j = 0; j < values.size(); ++j) {
    Value code = roundClampCode(b, arith::MulFOp::create(b, values[j], mult),
                                loV, hiV);
    ifThen(inBounds[j], [&] {
      memref::StoreOp::create(b, code, codes, ValueRange{row, cols[j]});
    });
    if (counts) {
      Value counted = arith::AndIOp::create(
          b, inBounds[j],
          arith::CmpIOp::create(b, arith::CmpIPredicate::ne, code, zeroCode));
      nonzero = arith::AddIOp::create(
          b, nonzero, arith::ExtUIOp::create(b, i32, counted));
    }
  }
  if (!counts)
    return;
  // The warp's sum, then one atomic add a warp (counts[row] was zeroed
  // before the statistic's barrier).
  for (int32_t offset = kWarp / 2; offset > 0; offset /= 2)
    nonzero = arith::AddIOp::create(b, nonzero, shuffleXor(b, nonzero, offset));
  Value lane = arith::RemUIOp::create(b, tid, idx(kWarp));
  ifThen(guarded(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane,
                                       idx(0))),
         [&] {
    memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::addi, nonzero, counts,
                                ValueRange{row});
  });
}

Operation *gpu_kernels::findNonzeroCounter(Operation *quant) {
  Value codes = quant->getResult(0);
  auto type = cast<RankedTensorType>(codes.getType());
  int64_t rank = type.getRank();
  // Per-row counts of a single row ([d] codes, a rank-0 count) stay.
  if (rank < 2)
    return nullptr;
  for (Operation *user : codes.getUsers()) {
    auto g = dyn_cast<linalg::GenericOp>(user);
    if (!g || g.getNumDpsInputs() != 1 || g.getNumDpsInits() != 1 ||
        g.getDpsInputs()[0] != codes || !g.hasPureTensorSemantics())
      continue;
    auto outType = cast<RankedTensorType>(g->getResult(0).getType());
    if (!outType.getElementType().isInteger(32) ||
        outType.getShape() != type.getShape().drop_back())
      continue;
    // Maps: identity in, the leading dimensions out; the last one reduced.
    MLIRContext *ctx = g.getContext();
    SmallVector<AffineExpr> lead;
    for (int64_t i = 0; i + 1 < rank; ++i)
      lead.push_back(getAffineDimExpr(i, ctx));
    SmallVector<utils::IteratorType> its(rank - 1, utils::IteratorType::parallel);
    its.push_back(utils::IteratorType::reduction);
    if (g.getIndexingMapsArray() !=
            SmallVector<AffineMap>{AffineMap::getMultiDimIdentityMap(rank, ctx),
                                   AffineMap::get(rank, 0, lead, ctx)} ||
        g.getIteratorTypesArray() != its)
      continue;
    // A zero fill to start from.
    auto fill = g.getDpsInits()[0].getDefiningOp<linalg::FillOp>();
    IntegerAttr init;
    if (!fill || !matchPattern(fill.getInputs()[0], m_Constant(&init)) ||
        !init.getValue().isZero())
      continue;
    // Body: acc + extui(code != 0).
    Block &body = g.getRegion().front();
    auto yield = cast<linalg::YieldOp>(body.getTerminator());
    auto add = yield.getOperand(0).getDefiningOp<arith::AddIOp>();
    if (!add || body.getOperations().size() != 4)
      continue;
    Value acc = body.getArgument(1), other = add.getLhs() == acc ? add.getRhs()
                                          : add.getRhs() == acc ? add.getLhs()
                                                                : Value();
    auto ext = other ? other.getDefiningOp<arith::ExtUIOp>() : nullptr;
    auto cmp = ext ? ext.getIn().getDefiningOp<arith::CmpIOp>() : nullptr;
    IntegerAttr zero;
    if (!cmp || cmp.getPredicate() != arith::CmpIPredicate::ne ||
        cmp.getLhs() != body.getArgument(0) ||
        !matchPattern(cmp.getRhs(), m_Constant(&zero)) ||
        !zero.getValue().isZero())
      continue;
    return g;
  }
  return nullptr;
}

Value gpu_kernels::allocCountBuffer(OpBuilder &b, Location loc, int64_t rows) {
  return memref::AllocOp::create(b, loc,
                                 MemRefType::get({rows}, b.getI32Type()),
                                 b.getI64IntegerAttr(kBufferAlignment));
}

void gpu_kernels::replaceNonzeroCounter(Location loc, Operation *counter,
                                        Value counts, int64_t rows) {
  auto g = cast<linalg::GenericOp>(counter);
  OpBuilder b(counter);
  Value t = bufferization::ToTensorOp::create(
      b, loc, RankedTensorType::get({rows}, b.getI32Type()), counts,
      /*restrict=*/true, /*writable=*/true);
  auto type = cast<RankedTensorType>(g->getResult(0).getType());
  if (type.getRank() != 1) {
    ReassociationIndices all;
    for (int64_t i = 0; i < type.getRank(); ++i)
      all.push_back(i);
    t = tensor::ExpandShapeOp::create(b, loc, type, t,
                                      SmallVector<ReassociationIndices>{all});
  }
  g->getResult(0).replaceAllUsesWith(t);
  Operation *fill = g.getDpsInits()[0].getDefiningOp();
  g->erase();
  if (fill && fill->use_empty()) {
    Operation *empty = fill->getOperand(1).getDefiningOp();
    fill->erase();
    if (empty && empty->use_empty())
      empty->erase();
  }
}

std::string QuantizerVariants::suffix(const QuantPrologue &q) {
  auto key = std::make_tuple(q.mean, q.bits, q.eps, int(q.mode), int(q.form));
  int id = ids.try_emplace(key, int(ids.size())).first->second;
  return id ? "_" + std::to_string(id) : "";
}

std::pair<Value, Value> gpu_kernels::allocQuantizerBuffers(OpBuilder &b,
                                                          Location loc,
                                                          int64_t rows,
                                                          int64_t d) {
  // 64-byte aligned, as bufferization's buffers: the GEMV after them reads
  // the codes in 16-byte pieces.
  IntegerAttr align = b.getI64IntegerAttr(kBufferAlignment);
  Value codes = memref::AllocOp::create(
      b, loc, MemRefType::get({rows, d}, b.getI8Type()), align);
  Value scales = memref::AllocOp::create(
      b, loc, MemRefType::get({rows}, b.getF32Type()), align);
  return {codes, scales};
}

void gpu_kernels::replaceQuantizerResults(OpBuilder &b, Location loc,
                                          Operation *op, Value codes,
                                          Value scales, int64_t rows,
                                          int64_t d) {
  Value codesT = bufferization::ToTensorOp::create(
      b, loc, RankedTensorType::get({rows, d}, b.getI8Type()), codes,
      /*restrict=*/true, /*writable=*/true);
  Value scalesT = bufferization::ToTensorOp::create(
      b, loc, RankedTensorType::get({rows}, b.getF32Type()), scales,
      /*restrict=*/true, /*writable=*/true);
  Value opCodes = op->getResult(0), opScale = op->getResult(1);
  auto scaleType = cast<RankedTensorType>(opScale.getType());
  if (scaleType.getRank() != 1) {
    ReassociationIndices all;
    for (int64_t i = 0; i < scaleType.getRank(); ++i)
      all.push_back(i);
    scalesT = tensor::ExpandShapeOp::create(
        b, loc, scaleType, scalesT, SmallVector<ReassociationIndices>{all});
  }
  opCodes.replaceAllUsesWith(
      expandTo(b, loc, codesT, cast<RankedTensorType>(opCodes.getType())));
  opScale.replaceAllUsesWith(scalesT);
  op->erase();
}

namespace {

struct LaunchQuantizerKernelPass
    : mlir::bitnet::impl::BitNetLaunchQuantizerKernelBase<
          LaunchQuantizerKernelPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::tuple<AbsmaxQuantOp, RowsShape, QuantPrologue>> sites;
    module.walk([&](AbsmaxQuantOp op) {
      auto type = dyn_cast<RankedTensorType>(op.getInput().getType());
      std::optional<QuantPrologue> q = prologueOf(op);
      if (!type || !type.hasStaticShape() || type.getRank() < 2 ||
          type.getNumElements() == 0 || !q || q->mean ||
          !fromLaunch(op.getInput()))
        return;
      RowsShape s;
      s.d = type.getShape().back();
      s.rows = type.getNumElements() / s.d;
      // The small models of the tests take the same multi-element path.
      std::tie(s.threads, s.perThread) = rowBlockShape(s.d);
      if (s.perThread > kMaxPerThread || s.rows > maxRows)
        return;
      sites.push_back({op, s, *q});
    });
    if (sites.empty())
      return;
    gpu::GPUModuleOp gpuModule = getOrCreateKernelModule(module);
    Type f32 = Float32Type::get(&getContext());
    llvm::StringMap<gpu::GPUFuncOp> kernels;
    fused.clear();
    replacedGemvs.clear();
    QuantizerVariants variants;
    for (auto [op, s, q] : sites) {
      // The importer's count of the codes, if any, comes from the kernel.
      Operation *counter = findNonzeroCounter(op);
      // Before the quantizer's own kernel is built: a fused site launches
      // none, and an unlaunched kernel would still be compiled.
      if (gemvPrologue && s.rows == 1 &&
          intoGemv(module, gpuModule, op, s, q, counter, variants))
        continue;
      std::string name = ("absmax" + Twine(q.bits) + "_m" + Twine(s.rows) +
                          "_d" + Twine(s.d) + variants.suffix(q) +
                          (counter ? "_nz" : ""))
                             .str();
      gpu::GPUFuncOp &kernel = kernels[name];
      if (!kernel)
        kernel = buildQuantizerKernel(gpuModule, op.getLoc(), name, s, q,
                                      counter != nullptr);
      OpBuilder b(op);
      Location loc = op.getLoc();
      Value in = bufferization::ToBufferOp::create(
          b, loc, MemRefType::get({s.rows, s.d}, f32),
          reshapeTo(b, loc, op.getInput(), {s.rows, s.d}), /*read_only=*/true);
      auto [codes, scales] = allocQuantizerBuffers(b, loc, s.rows, s.d);
      auto dim = [&](int64_t v) -> Value {
        return arith::ConstantIndexOp::create(b, loc, v);
      };
      Value c1 = dim(1);
      SmallVector<Value> args{in, codes, scales};
      Value counts = counter ? allocCountBuffer(b, loc, s.rows) : Value();
      if (counts)
        args.push_back(counts);
      gpu::LaunchFuncOp::create(b, loc, kernel,
                                gpu::KernelDim3{dim(s.rows), c1, c1},
                                gpu::KernelDim3{dim(s.threads), c1, c1},
                                /*dynamicSharedMemorySize=*/Value(), args);
      replaceQuantizerResults(b, loc, op, codes, scales, s.rows, s.d);
      if (counter)
        replaceNonzeroCounter(loc, counter, counts, s.rows);
    }
    eraseUnusedKernels(module, gpuModule, replacedGemvs);
  }

  /// GEMV kernels that fused launches replaced somewhere.
  llvm::StringSet<> replacedGemvs;
  /// Kernels with the quantizer as their prologue, by name.
  llvm::StringMap<gpu::GPUFuncOp> fused;

  /// Runs the quantizer (one row) as the prologue of the GEMV that reads
  /// its codes, if one can take it: every block of the GEMV (8 warps of 4
  /// rows) quantizes the row into workgroup memory; block 0 counts.
  bool intoGemv(ModuleOp module, gpu::GPUModuleOp gpuModule, AbsmaxQuantOp op,
                const RowsShape &s, const QuantPrologue &q, Operation *counter,
                QuantizerVariants &variants) {
    DominanceInfo dom(op->getParentOfType<FunctionOpInterface>());
    std::optional<RowPrologueSite> site =
        findRowPrologueSite(op, counter, s.d, gemvRowsPerWarp,
                            kMaxProloguePerThread, op, dom);
    if (!site)
      return false;
    GemvUse &use = site->use;
    const LaunchShape shape = site->shape;
    const int64_t threads = shape.threads(), perThread = site->perThread;
    MLIRContext *ctx = &getContext();
    Type f32 = Float32Type::get(ctx);
    std::string name = ("absmax" + Twine(q.bits) + variants.suffix(q) +
                        (counter ? "_nz_" : "_") + use.name)
                           .str();
    gpu::GPUFuncOp &kernel = fused[name];
    if (!kernel) {
      ExternalPrologue ext;
      ext.params.push_back(MemRefType::get({1, s.d}, f32));
      if (counter)
        ext.params.push_back(MemRefType::get({1}, IntegerType::get(ctx, 32)));
      ext.shared.push_back(MemRefType::get(
          {kWarp}, f32, MemRefLayoutAttrInterface{},
          gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup)));
      ext.build = [&](ImplicitLocOpBuilder &b, gpu::GPUFuncOp k, Value codes,
                      Value scales) {
        Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
        Value block = gpu::BlockIdOp::create(b, gpu::Dimension::x);
        Value row = arith::ConstantIndexOp::create(b, 0);
        Value first =
            arith::CmpIOp::create(b, arith::CmpIPredicate::eq, block, row);
        RowSlots slots = buildRowSlots(b, tid, threads, perThread, s.d);
        SmallVector<Value> values;
        for (Value safe : slots.safeCols)
          values.push_back(
              memref::LoadOp::create(b, k.getArgument(0), ValueRange{row, safe}));
        buildBlockQuantize(b, values, slots.inBounds, slots.cols, row,
                           k.getWorkgroupAttributions()[2], threads / kWarp,
                           s.d, codes, scales, q,
                           counter ? Value(k.getArgument(1)) : Value(), first);
      };
      kernel = buildLayerKernel(gpuModule, op.getLoc(), name, use.shape,
                                shape, /*byteWeights=*/true, &ext);
    }
    OpBuilder b(op);
    Location loc = op.getLoc();
    launchRowIntoGemv(b, loc, use, kernel, shape, op.getInput(), s.d, counter,
                      op, dom);
    replacedGemvs.insert(use.name);
    op->erase();
    return true;
  }
};

} // namespace
