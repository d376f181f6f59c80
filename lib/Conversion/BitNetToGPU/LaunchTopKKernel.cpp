//===- LaunchTopKKernel.cpp - TopK sparsify as a radix-select kernel ------===//
//
// The reference lowering of bitnet.topk_sparsify counts, for every element,
// the elements that beat it: O(d^2) work that the generic CUDA path ran as
// thousands of threads of split partial counts (2B4T decode: 16 us a layer,
// the largest generic kernel). This pass gives each row one block that
// finds the k-th largest |x| by radix select and keeps the elements above
// it, and the first ties by index: the same elements the reference keeps.
// The pass description in Conversion/Passes.td has the contract.
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
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <functional>
#include <limits>

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETLAUNCHTOPKKERNEL
#include "bitnet/Conversion/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;
using namespace mlir::bitnet;
using namespace mlir::bitnet::gpu_kernels;

namespace {

/// Radix-select digits: 4 passes of 8 bits over the 31 bits of |x|.
constexpr int64_t kDigitBits = 8;
constexpr int64_t kBins = 1 << kDigitBits;
constexpr int64_t kBinsPerLane = kBins / kWarp;
/// Most elements a thread holds in registers (d <= 1024 * this).
constexpr int64_t kMaxPerThread = 16;

/// One row of d elements: `threads` threads, each holding `perThread`
/// consecutive elements (index order is thread order, for the tie scan).
struct TopKShape {
  int64_t rows, d, kept, threads, perThread;
};

/// A row after TopK, as one block holds it: each thread's values (0 where
/// dropped), whether each is inside the row, and its column.
struct TopKRow {
  SmallVector<Value> kept, inBounds, indices;
};

std::optional<TopKShape> shapeOf(TopKSparsifyOp op) {
  auto type = dyn_cast<RankedTensorType>(op.getInput().getType());
  if (!type || !type.hasStaticShape() || type.getRank() < 2 ||
      !type.getElementType().isF32() || type.getNumElements() == 0)
    return std::nullopt;
  TopKShape s;
  s.d = type.getShape().back();
  s.rows = type.getNumElements() / s.d;
  s.kept = TopKSparsifyOp::getKeptCount(op.getRatio().convertToDouble(), s.d);
  s.threads = std::min<int64_t>(1024, (s.d + kWarp - 1) / kWarp * kWarp);
  s.perThread = (s.d + s.threads - 1) / s.threads;
  if (s.perThread > kMaxPerThread)
    return std::nullopt;
  return s;
}

/// One block's TopK of row `row` of `x` ([rows, d] f32): the row's
/// `keptCount` largest |x| (ties by lower index) and NaNs keep their
/// values, the rest are 0, as the reference ranks them. Thread `tid` of `threads` holds
/// elements tid * perThread + j (index order is thread order, for the tie
/// scan). Shared memory: `hist` [256] i32, `sel` [3] i32, `totals` [32] i32.
/// With `earlyExit` the select stops once the kept set is known.
TopKRow buildBlockTopK(ImplicitLocOpBuilder &b, Value x, Value row, Value tid,
                       int64_t threads, int64_t perThread, int64_t d,
                       int64_t keptCount, Value hist, Value sel,
                       Value totals, bool earlyExit) {
  Type i32 = b.getI32Type();
  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, v);
  };
  auto c32 = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(b, i32, v);
  };
  auto cmp = [&](arith::CmpIPredicate p, Value l, Value r) -> Value {
    return arith::CmpIOp::create(b, p, l, r);
  };
  auto select = [&](Value c, Value t, Value f) -> Value {
    return arith::SelectOp::create(b, c, t, f);
  };
  auto add = [&](Value l, Value r) -> Value {
    return arith::AddIOp::create(b, l, r);
  };
  auto ifThen = [&](Value cond, llvm::function_ref<void()> body) {
    auto op = scf::IfOp::create(b, cond, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&op.getThenRegion().front());
    body();
  };
  Value lane = arith::RemUIOp::create(b, tid, idx(kWarp));
  Value warp = arith::DivUIOp::create(b, tid, idx(kWarp));
  Value laneI32 = arith::IndexCastOp::create(b, i32, lane);
  // Inclusive scan of i32 `v` over the warp (lane 0 first).
  auto warpScan = [&](Value v) {
    for (int32_t offset = 1; offset < kWarp; offset *= 2) {
      auto up = gpu::ShuffleOp::create(b, v, offset, int32_t(kWarp),
                                       gpu::ShuffleMode::UP);
      v = add(v, select(cmp(arith::CmpIPredicate::uge, lane, idx(offset)),
                        up.getShuffleResult(), c32(0)));
    }
    return v;
  };

  // 1. The thread's elements: |x| as the bits of a non-negative float
  // (ordered as unsigned integers). NaN never beats an element and is
  // never beaten in the reference's comparisons: it takes no rank and
  // stays; elements past d take no part.
  SmallVector<Value> values, keys, nans, ranked, inBounds, indices;
  Value absMask = c32(0x7fffffff);
  for (int64_t j = 0; j < perThread; ++j) {
    Value i = add(arith::MulIOp::create(b, tid, idx(perThread)), idx(j));
    Value in = cmp(arith::CmpIPredicate::ult, i, idx(d));
    Value safe = arith::MinUIOp::create(b, i, idx(d - 1));
    Value v = memref::LoadOp::create(b, x, ValueRange{row, safe});
    Value nan = arith::CmpFOp::create(b, arith::CmpFPredicate::UNO, v, v);
    values.push_back(v);
    nans.push_back(nan);
    indices.push_back(i);
    inBounds.push_back(in);
    keys.push_back(arith::AndIOp::create(
        b, arith::BitcastOp::create(b, i32, v), absMask));
    ranked.push_back(arith::AndIOp::create(
        b, in, arith::XOrIOp::create(b, nan, arith::ConstantIntOp::create(
                                                 b, b.getI1Type(), 1))));
  }

  // 2. Radix select, most significant digit first: the digit of the
  // kept-th largest key among those that share the digits found so far,
  // and its rank among the keys with that digit. `prefix` holds the digits
  // found (under `highMask`) and `need` how many of the keys that share
  // them are kept (the first by index). With `earlyExit`, once the chosen
  // bin holds exactly `need` keys all of them are kept and the remaining
  // digits cannot change the kept set: the select stops (for 2,560
  // Gaussian-like keys, usually after the third of four digits).
  Type i1 = b.getI1Type();
  // One pass: the state (prefix, highMask, need) after its digit, and
  // whether the chosen bin held exactly `need` keys.
  auto radixPass = [&](int64_t pass, Value prefix, Value highMask,
                       Value need) -> SmallVector<Value> {
    int64_t shift = 24 - pass * kDigitBits;
    for (int64_t first = 0; first < kBins; first += threads) {
      Value bin = add(tid, idx(first));
      ifThen(cmp(arith::CmpIPredicate::ult, bin, idx(kBins)), [&] {
        memref::StoreOp::create(b, c32(0), hist, ValueRange{bin});
      });
    }
    gpu::BarrierOp::create(b);
    // Plain shared atomic adds: warp-aggregating them (match.any, one add
    // a digit) took 1.7x as long on an H100, although most of a pass's
    // keys share a handful of digits (bench/gpu/topk_select_micro.cu).
    for (int64_t j = 0; j < perThread; ++j) {
      Value match = arith::AndIOp::create(
          b, ranked[j],
          cmp(arith::CmpIPredicate::eq,
              arith::AndIOp::create(b, keys[j], highMask), prefix));
      ifThen(match, [&] {
        Value digit = arith::AndIOp::create(
            b, arith::ShRUIOp::create(b, keys[j], c32(shift)),
            c32(kBins - 1));
        memref::AtomicRMWOp::create(
            b, arith::AtomicRMWKind::addi, c32(1), hist,
            ValueRange{arith::IndexCastOp::create(b, b.getIndexType(), digit)});
      });
    }
    gpu::BarrierOp::create(b);
    // Warp 0: lane l holds bins 255 - 8l .. 248 - 8l (largest first); a
    // scan over the lanes finds the lane whose bins hold rank `need`.
    // Fewer ranked keys than `need` (NaNs): the last bin, so every
    // ranked key is kept.
    ifThen(cmp(arith::CmpIPredicate::eq, warp, idx(0)), [&] {
      SmallVector<Value> counts, bins;
      Value laneSum = c32(0);
      for (int64_t q = 0; q < kBinsPerLane; ++q) {
        Value bin = arith::SubIOp::create(
            b, c32(kBins - 1 - q),
            arith::MulIOp::create(b, laneI32, c32(kBinsPerLane)));
        bins.push_back(bin);
        counts.push_back(memref::LoadOp::create(
            b, hist,
            ValueRange{arith::IndexCastOp::create(b, b.getIndexType(), bin)}));
        laneSum = add(laneSum, counts.back());
      }
      Value incl = warpScan(laneSum);
      Value excl = arith::SubIOp::create(b, incl, laneSum);
      Value lastLane = cmp(arith::CmpIPredicate::eq, lane, idx(kWarp - 1));
      Value acc = excl, found = arith::ConstantIntOp::create(b, i1, 0);
      Value digit = c32(0), rest = c32(0), count = c32(0);
      for (int64_t q = 0; q < kBinsPerLane; ++q) {
        Value reach = cmp(arith::CmpIPredicate::sge, add(acc, counts[q]), need);
        if (q == kBinsPerLane - 1)
          reach = arith::OrIOp::create(b, reach, lastLane);
        Value hit = arith::AndIOp::create(
            b, reach,
            arith::XOrIOp::create(b, found,
                                  arith::ConstantIntOp::create(b, i1, 1)));
        digit = select(hit, bins[q], digit);
        rest = select(hit, arith::SubIOp::create(b, need, acc), rest);
        count = select(hit, counts[q], count);
        found = arith::OrIOp::create(b, found, hit);
        acc = add(acc, counts[q]);
      }
      Value mine = arith::AndIOp::create(
          b, cmp(arith::CmpIPredicate::slt, excl, need),
          cmp(arith::CmpIPredicate::sge, incl, need));
      Value short_ = arith::AndIOp::create(
          b, lastLane, cmp(arith::CmpIPredicate::slt, incl, need));
      ifThen(arith::OrIOp::create(b, mine, short_), [&] {
        memref::StoreOp::create(b, digit, sel, ValueRange{idx(0)});
        memref::StoreOp::create(b, rest, sel, ValueRange{idx(1)});
        memref::StoreOp::create(b, count, sel, ValueRange{idx(2)});
      });
    });
    gpu::BarrierOp::create(b);
    Value digit = memref::LoadOp::create(b, sel, ValueRange{idx(0)});
    Value rest = memref::LoadOp::create(b, sel, ValueRange{idx(1)});
    Value count = memref::LoadOp::create(b, sel, ValueRange{idx(2)});
    return {arith::OrIOp::create(b, prefix,
                                 arith::ShLIOp::create(b, digit, c32(shift))),
            arith::OrIOp::create(b, highMask, c32((kBins - 1) << shift)), rest,
            cmp(arith::CmpIPredicate::eq, count, rest)};
  };
  constexpr int64_t kPasses = 32 / kDigitBits;
  // Passes p.. as nested ifs on the previous pass's exactness (uniform
  // over the block: every thread read it from `sel` after a barrier).
  std::function<SmallVector<Value>(int64_t, ValueRange)> passesFrom =
      [&](int64_t pass, ValueRange state) -> SmallVector<Value> {
    SmallVector<Value> next =
        radixPass(pass, state[0], state[1], state[2]);
    if (!earlyExit) {
      next[3] = arith::ConstantIntOp::create(b, i1, 0);
      return pass == kPasses - 1 ? next : passesFrom(pass + 1, next);
    }
    if (pass == kPasses - 1)
      return next;
    auto ifOp = scf::IfOp::create(b, TypeRange{i32, i32, i32, i1}, next[3],
                                  /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    scf::YieldOp::create(b, next);
    b.setInsertionPointToStart(&ifOp.getElseRegion().front());
    scf::YieldOp::create(b, passesFrom(pass + 1, next));
    return SmallVector<Value>(ifOp.getResults());
  };
  SmallVector<Value> state =
      passesFrom(0, ValueRange{c32(0), c32(0), c32(keptCount)});
  Value threshold = state[0], highMask = state[1], exact = state[3];

  // 3. Ties: the keys whose digits so far equal the threshold's. After an
  // exact pass all of them are kept; otherwise (every digit found) the
  // first `need` by index: how many come before the thread's own (a block
  // scan of the threads' counts, in index order).
  SmallVector<Value> equal;
  Value mineEqual = c32(0);
  for (int64_t j = 0; j < perThread; ++j) {
    equal.push_back(arith::AndIOp::create(
        b, ranked[j],
        cmp(arith::CmpIPredicate::eq,
            arith::AndIOp::create(b, keys[j], highMask), threshold)));
    mineEqual = add(mineEqual, arith::ExtUIOp::create(b, i32, equal.back()));
  }
  int64_t warps = threads / kWarp;
  auto tieIf = scf::IfOp::create(b, TypeRange{i32, i32}, exact,
                                 /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&tieIf.getThenRegion().front());
    scf::YieldOp::create(
        b, ValueRange{c32(0), c32(std::numeric_limits<int32_t>::max())});
    b.setInsertionPointToStart(&tieIf.getElseRegion().front());
    Value inclEqual = warpScan(mineEqual);
    ifThen(cmp(arith::CmpIPredicate::eq, lane, idx(kWarp - 1)), [&] {
      memref::StoreOp::create(b, inclEqual, totals, ValueRange{warp});
    });
    gpu::BarrierOp::create(b);
    ifThen(cmp(arith::CmpIPredicate::eq, warp, idx(0)), [&] {
      Value has = cmp(arith::CmpIPredicate::ult, lane, idx(warps));
      auto ifOp = scf::IfOp::create(b, TypeRange{i32}, has, /*else=*/true);
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(&ifOp.getThenRegion().front());
        scf::YieldOp::create(b, ValueRange{Value(memref::LoadOp::create(
                                    b, totals, ValueRange{lane}))});
        b.setInsertionPointToStart(&ifOp.getElseRegion().front());
        scf::YieldOp::create(b, ValueRange{c32(0)});
      }
      Value total = ifOp.getResult(0);
      Value before = arith::SubIOp::create(b, warpScan(total), total);
      ifThen(has, [&] {
        memref::StoreOp::create(b, before, totals, ValueRange{lane});
      });
    });
    gpu::BarrierOp::create(b);
    Value before = add(memref::LoadOp::create(b, totals, ValueRange{warp}),
                       arith::SubIOp::create(b, inclEqual, mineEqual));
    scf::YieldOp::create(b, ValueRange{before, state[2]});
  }
  Value running = tieIf.getResult(0), need = tieIf.getResult(1);

  // 4. Keep: NaN, a key above the threshold, or one of the first `need`
  // keys equal to it; everything else is 0 (the reference's select).
  Value zero = arith::ConstantOp::create(b, b.getF32FloatAttr(0.0f));
  SmallVector<Value> kept;
  for (int64_t j = 0; j < perThread; ++j) {
    Value above = arith::AndIOp::create(
        b, ranked[j],
        cmp(arith::CmpIPredicate::ugt,
            arith::AndIOp::create(b, keys[j], highMask), threshold));
    Value tie = arith::AndIOp::create(
        b, equal[j], cmp(arith::CmpIPredicate::slt, running, need));
    Value keep = arith::OrIOp::create(
        b, arith::OrIOp::create(b, above, tie), nans[j]);
    running = add(running, arith::ExtUIOp::create(b, i32, equal[j]));
    Value y = select(keep, values[j], zero);
    kept.push_back(y);
  }
  return {kept, inBounds, indices};
}

/// The workgroup arrays of a TopK block, in order: buildBlockTopK's
/// `hist` [256] i32, `sel` [3] i32 and `totals` [32] i32, then with
/// `quantized` buildBlockQuantize's warp maxima [32] f32.
SmallVector<Type> topKSharedTypes(MLIRContext *ctx, bool quantized) {
  Type i32 = IntegerType::get(ctx, 32), f32 = Float32Type::get(ctx);
  auto workgroup =
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  auto shared = [&](int64_t n, Type t) -> Type {
    return MemRefType::get({n}, t, MemRefLayoutAttrInterface{}, workgroup);
  };
  SmallVector<Type> types{shared(kBins, i32), shared(3, i32),
                          shared(kWarp, i32)};
  if (quantized)
    types.push_back(shared(kWarp, f32));
  return types;
}

/// Builds `topk_d<D>_k<K>`: block b keeps row b's `kept` largest |x| (ties
/// by lower index) and zeroes the rest, as the reference ranks them. With
/// `quant` (an absmax quantizer that is the TopK's only user) the block
/// quantizes the kept row instead of storing it: parameters (x, codes
/// [rows, d] i8, scales [rows] f32) instead of (x, out), and with `counted`
/// counts [rows] i32, the row's non-zero codes.
gpu::GPUFuncOp buildTopKKernel(gpu::GPUModuleOp gpuModule, Location loc,
                               StringRef name, const TopKShape &s,
                               std::optional<QuantPrologue> quant,
                               bool counted, bool earlyExit) {
  MLIRContext *ctx = gpuModule.getContext();
  ImplicitLocOpBuilder b(loc, ctx);
  Type i32 = b.getI32Type(), f32 = b.getF32Type();
  auto rowsType = MemRefType::get({s.rows, s.d}, f32);
  SmallVector<Type> params{rowsType};
  if (quant) {
    params.push_back(MemRefType::get({s.rows, s.d}, b.getI8Type()));
    params.push_back(MemRefType::get({s.rows}, f32));
    if (counted)
      params.push_back(MemRefType::get({s.rows}, i32));
  } else {
    params.push_back(rowsType);
  }
  SmallVector<Type> sharedTypes = topKSharedTypes(ctx, quant.has_value());
  b.setInsertionPointToEnd(gpuModule.getBody());
  auto kernel = gpu::GPUFuncOp::create(
      b, name, FunctionType::get(ctx, params, {}), sharedTypes);
  kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
  // LLVM merges neighbouring shared loads (the warps' maxima, a lane's
  // histogram bins) into 16-byte ones: each array starts on 16 bytes (by
  // default an array is aligned as its element; the maxima followed 1,160
  // bytes of other arrays and the merged load faulted).
  for (unsigned i = 0; i < kernel.getNumWorkgroupAttributions(); ++i)
    kernel.setWorkgroupAttributionAttr(i, "llvm.align", b.getI64IntegerAttr(16));
  kernel.setKnownBlockSizeAttr(
      DenseI32ArrayAttr::get(ctx, {int32_t(s.threads), 1, 1}));
  b.setInsertionPointToStart(&kernel.getBody().front());
  Value x = kernel.getArgument(0), out = kernel.getArgument(1);
  ArrayRef<BlockArgument> wg = kernel.getWorkgroupAttributions();
  Value hist = wg[0], sel = wg[1], totals = wg[2];

  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value row = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  TopKRow r = buildBlockTopK(b, x, row, tid, s.threads, s.perThread, s.d,
                             s.kept, hist, sel, totals, earlyExit);
  if (!quant) {
    for (auto [y, in, i] : llvm::zip(r.kept, r.inBounds, r.indices)) {
      auto op = scf::IfOp::create(b, in, /*withElseRegion=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&op.getThenRegion().front());
      memref::StoreOp::create(b, y, out, ValueRange{row, i});
    }
  } else {
    // 5. The absmax quantizer of the kept row, as its reference.
    buildBlockQuantize(b, r.kept, r.inBounds, r.indices, row, wg[3],
                       s.threads / kWarp, s.d, out, kernel.getArgument(2),
                       *quant, counted ? kernel.getArgument(3) : Value());
  }
  gpu::ReturnOp::create(b);
  return kernel;
}

struct LaunchTopKKernelPass
    : mlir::bitnet::impl::BitNetLaunchTopKKernelBase<LaunchTopKKernelPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::pair<TopKSparsifyOp, TopKShape>> sites;
    module.walk([&](TopKSparsifyOp op) {
      if (std::optional<TopKShape> s = shapeOf(op))
        sites.push_back({op, *s});
    });
    if (sites.empty())
      return;
    gpu::GPUModuleOp gpuModule = getOrCreateKernelModule(module);
    Type f32 = Float32Type::get(&getContext());
    llvm::StringMap<gpu::GPUFuncOp> kernels;
    QuantizerVariants variants;
    for (auto &site : sites) {
      TopKSparsifyOp op = site.first;
      const TopKShape &s = site.second;
      // An absmax quantizer as the only user (a4.8's output projection
      // input): the kernel quantizes the kept row itself.
      AbsmaxQuantOp quantOp;
      std::optional<QuantPrologue> quant;
      if (op->hasOneUse()) {
        if (auto user = dyn_cast<AbsmaxQuantOp>(*op->user_begin())) {
          quant = prologueOf(user);
          if (quant && !quant->mean)
            quantOp = user;
          else
            quant.reset();
        }
      }
      std::string name = ("topk_m" + Twine(s.rows) + "_d" + Twine(s.d) +
                          "_k" + Twine(s.kept))
                             .str();
      // The importer's count of the codes, if any, comes from the kernel.
      Operation *counter = quantOp ? findNonzeroCounter(quantOp) : nullptr;
      if (quant)
        name += "_absmax" + std::to_string(quant->bits) + variants.suffix(*quant);
      if (counter)
        name += "_nz";
      // Before the TopK's own kernel is built: a fused site launches none,
      // and an unlaunched kernel would still be compiled.
      if (quant && gemvPrologue && s.rows == 1 &&
          intoGemv(gpuModule, op, quantOp, s, *quant, counter, variants))
        continue;
      gpu::GPUFuncOp &kernel = kernels[name];
      if (!kernel)
        kernel = buildTopKKernel(gpuModule, op.getLoc(), name, s, quant,
                                 counter != nullptr, earlyExit);
      OpBuilder b(quantOp ? quantOp.getOperation() : op.getOperation());
      Location loc = op.getLoc();
      auto rowsType = MemRefType::get({s.rows, s.d}, f32);
      Value in = bufferization::ToBufferOp::create(
          b, loc, rowsType, reshapeTo(b, loc, op.getInput(), {s.rows, s.d}),
          /*read_only=*/true);
      auto dim = [&](int64_t v) -> Value {
        return arith::ConstantIndexOp::create(b, loc, v);
      };
      Value c1 = dim(1);
      auto launch = [&](ValueRange args) {
        gpu::LaunchFuncOp::create(
            b, loc, kernel, gpu::KernelDim3{dim(s.rows), c1, c1},
            gpu::KernelDim3{dim(s.threads), c1, c1},
            /*dynamicSharedMemorySize=*/Value(), args);
      };
      if (quant) {
        auto [codes, scales] = allocQuantizerBuffers(b, loc, s.rows, s.d);
        SmallVector<Value> args{in, codes, scales};
        Value counts = counter ? allocCountBuffer(b, loc, s.rows) : Value();
        if (counts)
          args.push_back(counts);
        launch(args);
        replaceQuantizerResults(b, loc, quantOp, codes, scales, s.rows, s.d);
        if (counter)
          replaceNonzeroCounter(loc, counter, counts, s.rows);
        op.erase();
        continue;
      }
      Value out = memref::AllocOp::create(
          b, loc, rowsType, b.getI64IntegerAttr(kBufferAlignment));
      launch(ValueRange{in, out});
      Value result = bufferization::ToTensorOp::create(
          b, loc, RankedTensorType::get({s.rows, s.d}, f32), out,
          /*restrict=*/true, /*writable=*/true);
      auto type = cast<RankedTensorType>(op.getType());
      op.getResult().replaceAllUsesWith(expandTo(b, loc, result, type));
      op.erase();
    }
    eraseUnusedKernels(module, gpuModule, replacedGemvs);
  }

  /// GEMV kernels that fused launches replaced somewhere.
  llvm::StringSet<> replacedGemvs;
  /// Kernels with the TopK and quantizer as their prologue, by name.
  llvm::StringMap<gpu::GPUFuncOp> fused;

  /// Runs the TopK of one row and its quantizer as the prologue of the
  /// GEMV that reads the codes, if one can take it: every block of the
  /// GEMV (8 warps of 4 rows) selects and quantizes the row into workgroup
  /// memory; block 0 counts.
  bool intoGemv(gpu::GPUModuleOp gpuModule, TopKSparsifyOp op,
                AbsmaxQuantOp quantOp, const TopKShape &s,
                const QuantPrologue &q, Operation *counter,
                QuantizerVariants &variants) {
    DominanceInfo dom(op->getParentOfType<FunctionOpInterface>());
    std::optional<RowPrologueSite> site =
        findRowPrologueSite(quantOp, counter, s.d, gemvRowsPerWarp,
                            kMaxPerThread, quantOp, dom);
    if (!site)
      return false;
    GemvUse &use = site->use;
    const LaunchShape shape = site->shape;
    const int64_t threads = shape.threads(), perThread = site->perThread;
    MLIRContext *ctx = &getContext();
    Type f32 = Float32Type::get(ctx), i32 = IntegerType::get(ctx, 32);
    std::string name =
        ("topk_k" + Twine(s.kept) + "_absmax" + Twine(q.bits) +
         variants.suffix(q) + (counter ? "_nz_" : "_") + use.name)
            .str();
    gpu::GPUFuncOp &kernel = fused[name];
    if (!kernel) {
      ExternalPrologue ext;
      ext.params.push_back(MemRefType::get({1, s.d}, f32));
      if (counter)
        ext.params.push_back(MemRefType::get({1}, i32));
      ext.shared = topKSharedTypes(ctx, /*quantized=*/true);
      ext.build = [&](ImplicitLocOpBuilder &b, gpu::GPUFuncOp k, Value codes,
                      Value scales) {
        ArrayRef<BlockArgument> wg = k.getWorkgroupAttributions();
        Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
        Value block = gpu::BlockIdOp::create(b, gpu::Dimension::x);
        Value row = arith::ConstantIndexOp::create(b, 0);
        Value first =
            arith::CmpIOp::create(b, arith::CmpIPredicate::eq, block, row);
        // wg[0] and wg[1] are the GEMV's codes and scale.
        TopKRow r = buildBlockTopK(b, k.getArgument(0), row, tid, threads,
                                   perThread, s.d, s.kept, wg[2], wg[3],
                                   wg[4], earlyExit);
        buildBlockQuantize(b, r.kept, r.inBounds, r.indices, row, wg[5],
                           threads / kWarp, s.d, codes, scales, q,
                           counter ? Value(k.getArgument(1)) : Value(),
                           first);
      };
      kernel = buildLayerKernel(gpuModule, op.getLoc(), name, use.shape,
                                shape, /*byteWeights=*/true, &ext);
    }
    OpBuilder b(quantOp);
    Location loc = op.getLoc();
    launchRowIntoGemv(b, loc, use, kernel, shape, op.getInput(), s.d, counter,
                      quantOp, dom);
    replacedGemvs.insert(use.name);
    quantOp->erase();
    op->erase();
    return true;
  }
};

} // namespace
