//===- LaunchAttentionKernel.cpp - cached attention as one kernel ---------===//
//
// A decode step's attention, lowered generically, is ~10 launches a layer
// (scores over the cache and the new rows, scale, mask, join, softmax, two
// products, their sum), each a few microseconds of launch and latency for
// little work. This pass runs each bitnet.cached_attention as one kernel:
// a block per (query head, token) computes the scores into shared memory,
// the softmax there, and the probabilities times the value rows. In a
// prefill chunk a block computes several query heads of one KV head (a
// group): each key and value row it loads serves all of them, where a
// block per head read the KV head's cache once per query head. The pass
// description in Conversion/Passes.td has the contract.
//
//===----------------------------------------------------------------------===//

#include "BitLinearKernels.h"
#include "bitnet/Conversion/BitNetToGPU/BitNetToGPU.h"
#include "bitnet/Dialect/BitNet/IR/BitNetDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include "llvm/ADT/StringMap.h"

#include <limits>

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETLAUNCHATTENTIONKERNEL
#include "bitnet/Conversion/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;
using namespace mlir::bitnet;
using namespace mlir::bitnet::gpu_kernels;

namespace {

/// Threads of a block; rows of a group in flight together.
constexpr int64_t kThreads = 512;
constexpr int64_t kUnroll = 4;
/// Static shared memory of a block (what sm_90 gives without opting in).
constexpr int64_t kSharedBytes = 48 * 1024;

/// One op's sizes and the kernel's thread layout.
struct AttentionShape {
  int64_t heads, kvHeads, tokens, cacheRows, headDim;
  /// The cache operand's source: [caches, 1, kvHeads, sourceRows, headDim].
  int64_t caches, sourceRows;
  bool f16;
  /// Scores: `lanes` lanes per key row, each holding `pieces` 16-byte
  /// pieces of q (piece r + lanes * p of the row).
  int64_t lanes, pieces;
  /// P V: `chunks` 4-element chunks per row, `slices` groups of rows,
  /// `valueRows` rows of a slice in flight in a thread.
  int64_t chunks, slices, valueRows = kUnroll;
  /// Query heads of one KV head a block computes (prefill: each cache row
  /// it loads serves them all; decode keeps one, for more blocks).
  int64_t group = 1;

  int64_t rep() const { return heads / kvHeads; }
  /// Blocks along the heads: one per group.
  int64_t headBlocks() const { return heads / group; }
  int64_t sharedBytes() const {
    return group * 4 * (cacheRows + tokens) + 4 * slices * headDim +
           2 * 4 * (kThreads / kWarp);
  }
  int64_t groups() const { return kThreads / lanes; }
};

std::optional<AttentionShape> shapeOf(CachedAttentionOp op,
                                      RankedTensorType source) {
  ArrayRef<int64_t> q = op.getQ().getType().getShape(),
                    k = op.getK().getType().getShape(),
                    kc = op.getKCache().getType().getShape();
  AttentionShape s;
  s.heads = q[1];
  s.tokens = q[2];
  s.headDim = q[3];
  s.kvHeads = k[1];
  s.cacheRows = kc[2];
  s.caches = source.getShape()[0];
  s.sourceRows = source.getShape()[3];
  s.f16 = op.getKCache().getType().getElementType().isF16();
  if (s.headDim % 4 != 0 || s.headDim / 4 > kThreads)
    return std::nullopt;
  s.chunks = s.headDim / 4;
  s.slices = kThreads / s.chunks;
  // About four pieces per lane: lanes = chunks / 4, a power of two that
  // divides the chunks, at most a warp.
  s.lanes = 1;
  while (s.lanes * 2 <= std::min<int64_t>(kWarp, std::max<int64_t>(1, s.chunks / 4)) &&
         s.chunks % (s.lanes * 2) == 0)
    s.lanes *= 2;
  s.pieces = s.chunks / s.lanes;
  if (s.pieces > 16)
    return std::nullopt;
  if (s.sharedBytes() > kSharedBytes)
    return std::nullopt;
  // Prefill: the most heads of a KV head that fit the shared memory.
  if (s.tokens > 1)
    for (int64_t g = s.rep(); g > 1; --g) {
      AttentionShape t = s;
      t.group = g;
      if (s.rep() % g == 0 && t.sharedBytes() <= kSharedBytes) {
        s.group = g;
        break;
      }
    }
  return s;
}

/// Builds the kernel. Parameters: q [1, H, S, D], k and v [1, KVH, S, D],
/// the key cache [N, 1, KVH, R, D] and its index, the value cache and its
/// index, start (i64), scale (f32), out [1, H, S, D].
gpu::GPUFuncOp buildAttentionKernel(gpu::GPUModuleOp gpuModule, Location loc,
                                    StringRef name, const AttentionShape &s) {
  MLIRContext *ctx = gpuModule.getContext();
  ImplicitLocOpBuilder b(loc, ctx);
  Type f32 = b.getF32Type(), i64 = b.getI64Type(), index = b.getIndexType();
  Type cacheElem = s.f16 ? Type(b.getF16Type()) : f32;
  auto qType = MemRefType::get({1, s.heads, s.tokens, s.headDim}, f32);
  auto kvType = MemRefType::get({1, s.kvHeads, s.tokens, s.headDim}, f32);
  auto cacheType = MemRefType::get(
      {s.caches, 1, s.kvHeads, s.sourceRows, s.headDim}, cacheElem);
  auto startType = MemRefType::get({}, i64);
  auto workgroup =
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  auto shared = [&](ArrayRef<int64_t> shape) {
    return MemRefType::get(shape, f32, MemRefLayoutAttrInterface{}, workgroup);
  };
  const int64_t warps = kThreads / kWarp;
  b.setInsertionPointToEnd(gpuModule.getBody());
  auto kernel = gpu::GPUFuncOp::create(
      b, name,
      FunctionType::get(ctx,
                        {qType, kvType, kvType, cacheType, index, cacheType,
                         index, startType, f32, qType},
                        {}),
      TypeRange{shared({s.group, s.cacheRows + s.tokens}),
                shared({s.slices, s.headDim}), shared({warps}),
                shared({warps})});
  kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
  // 16-byte vector accesses to shared memory: each array starts on 16 bytes
  // (by default an array is aligned as its element, and the P V partials
  // would follow 257 scores at byte 1028).
  for (unsigned i = 0; i < kernel.getNumWorkgroupAttributions(); ++i)
    kernel.setWorkgroupAttributionAttr(i, "llvm.align", b.getI64IntegerAttr(16));
  kernel.setKnownBlockSizeAttr(
      DenseI32ArrayAttr::get(ctx, {int32_t(kThreads), 1, 1}));
  kernel->setAttr(kGPUGridSizeAttrName,
                  DenseI32ArrayAttr::get(
                      ctx, {int32_t(s.headBlocks()), int32_t(s.tokens), 1}));
  b.setInsertionPointToStart(&kernel.getBody().front());
  Value q = kernel.getArgument(0), kNew = kernel.getArgument(1),
        vNew = kernel.getArgument(2), kCache = kernel.getArgument(3),
        kIndex = kernel.getArgument(4), vCache = kernel.getArgument(5),
        vIndex = kernel.getArgument(6), startMem = kernel.getArgument(7),
        scale = kernel.getArgument(8), out = kernel.getArgument(9);
  ArrayRef<BlockArgument> wg = kernel.getWorkgroupAttributions();
  Value scores = wg[0], partial = wg[1], redMax = wg[2], redSum = wg[3];

  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, v);
  };
  auto fconst = [&](float v) -> Value {
    return arith::ConstantOp::create(b, b.getF32FloatAttr(v));
  };
  auto add = [&](Value l, Value r) -> Value {
    return arith::AddIOp::create(b, l, r);
  };
  auto mul = [&](Value l, Value r) -> Value {
    return arith::MulIOp::create(b, l, r);
  };
  auto ult = [&](Value l, Value r) -> Value {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::ult, l, r);
  };
  auto ceilDiv = [&](Value v, int64_t d) -> Value {
    return arith::DivUIOp::create(b, add(v, idx(d - 1)), idx(d));
  };
  auto ifThen = [&](Value cond, llvm::function_ref<void()> body) {
    auto op = scf::IfOp::create(b, cond, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&op.getThenRegion().front());
    body();
  };
  // scf.for with carried values (one f32x4 accumulator a head in P V).
  auto forLoopN = [&](Value lb, Value ub, Value step, ValueRange init,
                      llvm::function_ref<SmallVector<Value>(Value, ValueRange)>
                          body) -> SmallVector<Value> {
    auto loop = scf::ForOp::create(b, lb, ub, step, init);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    scf::YieldOp::create(
        b, body(loop.getInductionVar(), loop.getRegionIterArgs()));
    return SmallVector<Value>(loop.getResults());
  };
  // The same with one f32 or vector carried value.
  auto forLoop = [&](Value lb, Value ub, Value step, Value init,
                     llvm::function_ref<Value(Value, Value)> body) -> Value {
    return forLoopN(lb, ub, step, init, [&](Value iv, ValueRange acc) {
      return SmallVector<Value>{body(iv, acc[0])};
    })[0];
  };
  VectorType f32x4 = VectorType::get({4}, f32);
  VectorType cachex4 = VectorType::get({4}, cacheElem);
  auto load4 = [&](Value mem, ValueRange at, bool fromCache) -> Value {
    Value v = vector::LoadOp::create(
        b, fromCache ? cachex4 : f32x4, mem, at, /*nontemporal=*/false,
        llvm::MaybeAlign(fromCache && s.f16 ? 8 : 16));
    if (fromCache && s.f16)
      v = arith::ExtFOp::create(b, f32x4, v);
    return v;
  };
  auto hsum = [&](Value v) -> Value {
    Value sum = vector::ExtractOp::create(b, v, 0);
    for (int64_t e = 1; e < 4; ++e)
      sum = arith::AddFOp::create(b, sum, vector::ExtractOp::create(b, v, e));
    return sum;
  };
  // Butterfly over `width` lanes (xor keeps groups of `width` apart).
  auto xorReduce = [&](Value v, int64_t width, bool isMax) -> Value {
    for (int32_t offset = int32_t(width) / 2; offset > 0; offset /= 2) {
      auto shuffle = gpu::ShuffleOp::create(b, v, offset, int32_t(kWarp),
                                            gpu::ShuffleMode::XOR);
      Value other = shuffle.getShuffleResult();
      v = isMax ? Value(arith::MaximumFOp::create(b, v, other))
                : Value(arith::AddFOp::create(b, v, other));
    }
    return v;
  };

  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  // Heads head0 .. head0 + group - 1, all of KV head kvHead.
  Value head0 = mul(gpu::BlockIdOp::create(b, gpu::Dimension::x), idx(s.group));
  Value token = gpu::BlockIdOp::create(b, gpu::Dimension::y);
  Value kvHead = arith::DivUIOp::create(b, head0, idx(s.rep()));
  const int64_t G = s.group;
  SmallVector<Value> heads;
  for (int64_t g = 0; g < G; ++g)
    heads.push_back(add(head0, idx(g)));
  Value lane = arith::RemUIOp::create(b, tid, idx(kWarp));
  Value warp = arith::DivUIOp::create(b, tid, idx(kWarp));
  // Filled cache rows (clamped to the cache, as the runtime guarantees).
  Value start = arith::IndexCastOp::create(
      b, index, memref::LoadOp::create(b, startMem, ValueRange{}));
  start = arith::MinUIOp::create(b, start, idx(s.cacheRows));
  Value fresh = add(token, idx(1));     // new rows this query sees
  Value keys = add(start, fresh);       // scores in shared memory
  Value zero = idx(0), c0 = fconst(0.0f);
  Value zero4 = arith::ConstantOp::create(
      b, f32x4, DenseElementsAttr::get(f32x4, b.getF32FloatAttr(0.0f)));

  // 1. Scores.
  Value group = arith::DivUIOp::create(b, tid, idx(s.lanes));
  Value part = arith::RemUIOp::create(b, tid, idx(s.lanes));
  SmallVector<Value> cols;
  SmallVector<SmallVector<Value>> qPieces(G);
  for (int64_t p = 0; p < s.pieces; ++p)
    cols.push_back(mul(add(part, idx(s.lanes * p)), idx(4)));
  for (int64_t g = 0; g < G; ++g)
    for (int64_t p = 0; p < s.pieces; ++p)
      qPieces[g].push_back(
          load4(q, ValueRange{zero, heads[g], token, cols[p]}, false));
  auto dot = [&](int64_t g, ArrayRef<Value> row) -> Value {
    Value acc = zero4;
    for (int64_t p = 0; p < s.pieces; ++p)
      acc = vector::FMAOp::create(b, qPieces[g][p], row[p], acc);
    return xorReduce(hsum(acc), s.lanes, /*isMax=*/false);
  };
  auto storeScore = [&](Value valid, Value at, ArrayRef<Value> sums) {
    ifThen(arith::AndIOp::create(b, valid,
                                 arith::CmpIOp::create(b, arith::CmpIPredicate::eq,
                                                       part, zero)),
           [&] {
             for (int64_t g = 0; g < G; ++g)
               memref::StoreOp::create(
                   b, arith::MulFOp::create(b, sums[g], scale), scores,
                   ValueRange{idx(g), at});
           });
  };
  // A row's scores for every head of the block.
  auto dots = [&](ArrayRef<Value> row) {
    SmallVector<Value> sums;
    for (int64_t g = 0; g < G; ++g)
      sums.push_back(dot(g, row));
    return sums;
  };
  const int64_t groups = s.groups();
  {
    // Cached rows: rounds of groups x kUnroll rows, the same count for the
    // whole block (the shuffles need every lane); rows past `start` read
    // row 0 and are not stored.
    Value rounds = ceilDiv(start, groups * kUnroll);
    auto loop = scf::ForOp::create(b, zero, rounds, idx(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value base = mul(loop.getInductionVar(), idx(groups * kUnroll));
    SmallVector<Value> rowIds, valid;
    SmallVector<SmallVector<Value>> rows(kUnroll);
    for (int64_t u = 0; u < kUnroll; ++u) {
      Value row = add(base, add(group, idx(groups * u)));
      valid.push_back(ult(row, start));
      rowIds.push_back(row);
      Value safe = arith::SelectOp::create(b, valid[u], row, zero);
      for (int64_t p = 0; p < s.pieces; ++p)
        rows[u].push_back(load4(
            kCache, ValueRange{kIndex, zero, kvHead, safe, cols[p]}, true));
    }
    for (int64_t u = 0; u < kUnroll; ++u)
      storeScore(valid[u], rowIds[u], dots(rows[u]));
  }
  {
    // New rows t <= token, after the cached ones.
    Value rounds = ceilDiv(fresh, groups);
    auto loop = scf::ForOp::create(b, zero, rounds, idx(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value t = add(mul(loop.getInductionVar(), idx(groups)), group);
    Value valid = ult(t, fresh);
    Value safe = arith::SelectOp::create(b, valid, t, zero);
    SmallVector<Value> row;
    for (int64_t p = 0; p < s.pieces; ++p)
      row.push_back(
          load4(kNew, ValueRange{zero, kvHead, safe, cols[p]}, false));
    storeScore(valid, add(start, t), dots(row));
  }
  gpu::BarrierOp::create(b);

  // 2. Softmax over the `keys` scores.
  auto blockReduce = [&](Value v, Value red, bool isMax) -> Value {
    v = xorReduce(v, kWarp, isMax);
    ifThen(arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, zero),
           [&] { memref::StoreOp::create(b, v, red, ValueRange{warp}); });
    gpu::BarrierOp::create(b);
    Value all = memref::LoadOp::create(b, red, ValueRange{zero});
    for (int64_t w = 1; w < warps; ++w) {
      Value x = memref::LoadOp::create(b, red, ValueRange{idx(w)});
      all = isMax ? Value(arith::MaximumFOp::create(b, all, x))
                  : Value(arith::AddFOp::create(b, all, x));
    }
    return all;
  };
  Value step = idx(kThreads);
  // Head by head (the barrier that ends one orders its reads of the
  // reduction slots before the next head's writes).
  for (int64_t g = 0; g < G; ++g) {
    Value row = idx(g);
    Value localMax = forLoop(
        tid, keys, step, fconst(-std::numeric_limits<float>::infinity()),
        [&](Value u, Value acc) -> Value {
          return arith::MaximumFOp::create(
              b, acc, memref::LoadOp::create(b, scores, ValueRange{row, u}));
        });
    Value maxScore = blockReduce(localMax, redMax, /*isMax=*/true);
    Value localSum =
        forLoop(tid, keys, step, c0, [&](Value u, Value acc) -> Value {
          Value e = math::ExpOp::create(
              b, arith::SubFOp::create(
                     b, memref::LoadOp::create(b, scores, ValueRange{row, u}),
                     maxScore));
          memref::StoreOp::create(b, e, scores, ValueRange{row, u});
          return arith::AddFOp::create(b, acc, e);
        });
    Value sum = blockReduce(localSum, redSum, /*isMax=*/false);
    {
      auto loop = scf::ForOp::create(b, tid, keys, step);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value u = loop.getInductionVar();
      memref::StoreOp::create(
          b,
          arith::DivFOp::create(
              b, memref::LoadOp::create(b, scores, ValueRange{row, u}), sum),
          scores, ValueRange{row, u});
    }
    gpu::BarrierOp::create(b);
  }

  // 3. P V: thread (slice, chunk) sums chunk `chunk` of rows slice,
  // slice + slices, ...; then the slices' sums.
  Value chunk = arith::RemUIOp::create(b, tid, idx(s.chunks));
  Value slice = arith::DivUIOp::create(b, tid, idx(s.chunks));
  Value col = mul(chunk, idx(4));
  Value inSlices = ult(slice, idx(s.slices));
  auto pv = scf::IfOp::create(b, SmallVector<Type>(G, f32x4), inSlices,
                              /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&pv.getElseRegion().front());
    scf::YieldOp::create(b, SmallVector<Value>(G, zero4));
    b.setInsertionPointToStart(&pv.getThenRegion().front());
    const int64_t unroll = s.valueRows;
    Value rounds = ceilDiv(start, s.slices * unroll);
    SmallVector<Value> init(G, zero4);
    SmallVector<Value> acc = forLoopN(
        zero, rounds, idx(1), init, [&](Value r, ValueRange accIn) {
          Value base = mul(r, idx(s.slices * unroll));
          SmallVector<SmallVector<Value>> ps(G);
          SmallVector<Value> vs;
          for (int64_t u = 0; u < unroll; ++u) {
            Value row = add(base, add(slice, idx(s.slices * u)));
            Value valid = ult(row, start);
            Value safe = arith::SelectOp::create(b, valid, row, zero);
            for (int64_t g = 0; g < G; ++g)
              ps[g].push_back(arith::SelectOp::create(
                  b, valid,
                  memref::LoadOp::create(b, scores, ValueRange{idx(g), safe}),
                  c0));
            vs.push_back(load4(
                vCache, ValueRange{vIndex, zero, kvHead, safe, col}, true));
          }
          SmallVector<Value> next(accIn);
          for (int64_t u = 0; u < unroll; ++u)
            for (int64_t g = 0; g < G; ++g)
              next[g] = vector::FMAOp::create(
                  b, vector::BroadcastOp::create(b, f32x4, ps[g][u]), vs[u],
                  next[g]);
          return next;
        });
    acc = forLoopN(slice, fresh, idx(s.slices), acc,
                   [&](Value t, ValueRange accIn) {
                     Value v = load4(vNew, ValueRange{zero, kvHead, t, col},
                                     false);
                     SmallVector<Value> next;
                     for (int64_t g = 0; g < G; ++g) {
                       Value p = memref::LoadOp::create(
                           b, scores, ValueRange{idx(g), add(start, t)});
                       next.push_back(vector::FMAOp::create(
                           b, vector::BroadcastOp::create(b, f32x4, p), v,
                           accIn[g]));
                     }
                     return next;
                   });
    scf::YieldOp::create(b, acc);
  }
  // Head by head through one partials array: the slices' sums, then a
  // barrier before the next head's partials overwrite them.
  for (int64_t g = 0; g < G; ++g) {
    ifThen(inSlices, [&] {
      vector::StoreOp::create(b, pv.getResult(g), partial,
                              ValueRange{slice, col},
                              /*nontemporal=*/false, llvm::MaybeAlign(16));
    });
    gpu::BarrierOp::create(b);
    {
      auto loop = scf::ForOp::create(b, tid, idx(s.headDim), step);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value d = loop.getInductionVar();
      Value total = memref::LoadOp::create(b, partial, ValueRange{zero, d});
      for (int64_t sl = 1; sl < s.slices; ++sl)
        total = arith::AddFOp::create(
            b, total, memref::LoadOp::create(b, partial, ValueRange{idx(sl), d}));
      memref::StoreOp::create(b, total, out,
                              ValueRange{zero, heads[g], token, d});
    }
    if (g + 1 < G)
      gpu::BarrierOp::create(b);
  }
  gpu::ReturnOp::create(b);
  return kernel;
}

/// The cache operand as the kernel reads it: a slice [i, 0, 0:KVH, 0:C,
/// 0:D] of a [N, 1, KVH, R, D] tensor (the importer's form) is its source
/// and i; anything else is itself as [1, 1, KVH, C, D] and 0.
struct CacheSource {
  Value tensor;
  int64_t index = 0;
  RankedTensorType type; ///< [N, 1, KVH, R, D]
  bool isSlice = false;

  /// The tensor in `type` (expanded where it is not a slice's source).
  Value materialize(OpBuilder &b, Location loc) const {
    if (isSlice)
      return tensor;
    return tensor::ExpandShapeOp::create(
        b, loc, type, tensor,
        SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}, {4}});
  }
};

CacheSource cacheSource(Value cache) {
  auto type = cast<RankedTensorType>(cache.getType());
  if (auto slice = cache.getDefiningOp<tensor::ExtractSliceOp>()) {
    auto src = cast<RankedTensorType>(slice.getSource().getType());
    ArrayRef<int64_t> offs = slice.getStaticOffsets(),
                      sizes = slice.getStaticSizes(),
                      strides = slice.getStaticStrides();
    if (src.getRank() == 5 && src.hasStaticShape() &&
        llvm::none_of(offs, ShapedType::isDynamic) &&
        llvm::all_of(strides, [](int64_t v) { return v == 1; }) &&
        offs[1] == 0 && offs[2] == 0 && offs[3] == 0 && offs[4] == 0 &&
        sizes[0] == 1 && sizes[1] == 1 && sizes[2] == src.getShape()[2] &&
        sizes[4] == src.getShape()[4] && type.getShape()[1] == sizes[2] &&
        type.getShape()[2] == sizes[3])
      return {slice.getSource(), offs[0], src, /*isSlice=*/true};
  }
  SmallVector<int64_t> shape{1};
  llvm::append_range(shape, type.getShape());
  return {cache, 0, RankedTensorType::get(shape, type.getElementType()),
          /*isSlice=*/false};
}

struct LaunchAttentionKernelPass
    : mlir::bitnet::impl::BitNetLaunchAttentionKernelBase<
          LaunchAttentionKernelPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (valueRows < 1 || valueRows > 32) {
      module.emitError("bitnet-launch-attention-kernel: value-rows must be "
                       "1 to 32, not ")
          << int64_t(valueRows);
      return signalPassFailure();
    }
    SmallVector<CachedAttentionOp> ops;
    module.walk([&](CachedAttentionOp op) { ops.push_back(op); });
    if (ops.empty())
      return;
    llvm::StringMap<gpu::GPUFuncOp> kernels;
    gpu::GPUModuleOp gpuModule;
    for (CachedAttentionOp op : ops) {
      OpBuilder b(op);
      Location loc = op.getLoc();
      CacheSource kSrc = cacheSource(op.getKCache());
      CacheSource vSrc = cacheSource(op.getVCache());
      if (kSrc.type != vSrc.type)
        continue;
      std::optional<AttentionShape> s = shapeOf(op, kSrc.type);
      if (!s)
        continue;
      s->valueRows = valueRows;
      std::string name =
          ("attention_h" + Twine(s->heads) + "_kv" + Twine(s->kvHeads) + "_s" +
           Twine(s->tokens) + "_c" + Twine(s->cacheRows) + "_d" +
           Twine(s->headDim) + (s->f16 ? "_f16" : "") + "_n" +
           Twine(s->caches) + "x" + Twine(s->sourceRows) +
           (s->group > 1 ? "_g" + Twine(s->group) : Twine()))
              .str();
      if (!gpuModule)
        gpuModule = getOrCreateKernelModule(module);
      gpu::GPUFuncOp &kernel = kernels[name];
      if (!kernel)
        kernel = buildAttentionKernel(gpuModule, op.getLoc(), name, *s);
      auto buffer = [&](Value t) -> Value {
        auto type = cast<RankedTensorType>(t.getType());
        return bufferization::ToBufferOp::create(
            b, loc, MemRefType::get(type.getShape(), type.getElementType()), t,
            /*read_only=*/true);
      };
      auto dim = [&](int64_t v) -> Value {
        return arith::ConstantIndexOp::create(b, loc, v);
      };
      auto qType = op.getQ().getType();
      Value out = memref::AllocOp::create(
          b, loc, MemRefType::get(qType.getShape(), qType.getElementType()),
          b.getI64IntegerAttr(kBufferAlignment));
      Value scale = arith::ConstantOp::create(b, loc, op.getScaleAttr());
      Value c1 = dim(1);
      gpu::LaunchFuncOp::create(
          b, loc, kernel,
          gpu::KernelDim3{dim(s->headBlocks()), dim(s->tokens), c1},
          gpu::KernelDim3{dim(kThreads), c1, c1},
          /*dynamicSharedMemorySize=*/Value(),
          ValueRange{buffer(op.getQ()), buffer(op.getK()), buffer(op.getV()),
                     buffer(kSrc.materialize(b, loc)), dim(kSrc.index),
                     buffer(vSrc.materialize(b, loc)), dim(vSrc.index),
                     buffer(op.getStart()), scale, out});
      Value result = bufferization::ToTensorOp::create(
          b, loc, qType, out, /*restrict=*/true, /*writable=*/true);
      op.getResult().replaceAllUsesWith(result);
      op.erase();
    }
  }
};

} // namespace
