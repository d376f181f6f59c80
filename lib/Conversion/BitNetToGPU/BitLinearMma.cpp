//===- BitLinearMma.cpp - BitLinear layers of many rows on tensor cores ---===//
//
// A prefill chunk's BitLinear (M = 16, 32, ...) on the GEMV kernel loops
// over its activation rows with dp4a; here the rows are the M of
// mma.sync.m16n8k32, s8 codes times u8 weight codes {0, 1, 2} (the ternary
// weight plus one), minus each row's code sum: sum a (c - 1) = sum a c -
// sum a. A block owns 16 x WN weight rows and a tile of up to 64 of the M
// rows (the grid's y dimension walks the tiles, so a prompt's rows are one
// launch however many there are); its WN x WK warps split the weight rows
// (16 each) and K (chunk c of 128 to K-group c mod WK).
//
// The activation codes are staged through shared memory, a stage of WK
// chunks at a time (loaded into registers one stage ahead): every warp of
// the block reads them there, and every block reads them once from L2 (the
// kernel before this one read them from L2 once per warp of 16 rows).
//
// One 32-bit word of packed weights (16 codes, byte b holding k = 4 b + f
// in bits 2 f) unpacks into four B registers with a shift and a mask:
// register j holds k = j, 4 + j, 8 + j, 12 + j. The A registers must hold
// the same k, so the staging transposes each 16-byte piece of codes as a
// 4 x 4 byte matrix (prmt) on its way into shared memory. Per 128-wide
// chunk, thread t of a quad reads bytes [8 t, 8 t + 8) of each of its
// weight rows and codes [32 t, 32 t + 32) of each of its activation rows;
// word r = 4 p + j of those (p = which 16 codes) is mma step r / 2's
// register r % 2 (a0 / b0, then a2 / b1). A sum does not depend on the
// order of its terms: the outputs are the GEMV kernel's, bit for bit.
//
//===----------------------------------------------------------------------===//

#include "BitLinearKernels.h"
#include "bitnet/Transforms/DependentLaunch.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

using namespace mlir;
using namespace mlir::bitnet;
using namespace mlir::bitnet::gpu_kernels;

namespace {

/// Bytes of a staged activation row: 128 codes and 16 bytes of padding, so
/// that the 8 rows x 4 quads of a warp's 16-byte loads hit distinct banks.
constexpr int64_t kRowBytes = kMmaChunkK + 16;

} // namespace

MmaLaunch gpu_kernels::chooseMmaLaunch(const LayerShape &s,
                                       int64_t warpRows) {
  MmaLaunch l;
  // The largest tile of rows that divides M.
  for (int64_t t : {kMmaTileRows, int64_t(48), int64_t(32), int64_t(16)})
    if (s.m % t == 0) {
      l.tileM = t;
      break;
    }
  // The fixed shapes (measured on the H100/H200 through 2026-12-04): 4
  // warps over N where that leaves 96 blocks, else 2 (or 1), 16 rows a warp.
  if (warpRows == 0) {
    l.warpsN = s.n % 64 == 0 && s.n / 64 >= 96 ? 4 : s.n % 32 == 0 ? 2 : 1;
    l.warpsK = l.warpsN == 4 ? 2 : 4;
    l.tilesN = 2;
    return l;
  }
  // The block-shape search (not yet measured on a GPU): the more weight
  // rows a block owns, the fewer times
  // the codes are staged (transposed, summed) and read from L2 for the
  // same weights: the most rows (8 or 4 warps over N, `warpRows` rows a
  // warp, then 16) that still leave enough blocks over both grid
  // dimensions to fill the GPU (~100 SMs and more). 32 rows a warp only
  // with at most 2 K-groups: more K-groups' partial sums would not fit the
  // 48 KB of shared memory.
  const int64_t tiles = l.rowTiles(s.m);
  SmallVector<int64_t, 2> tilesN{2};
  if (warpRows == 32)
    tilesN.insert(tilesN.begin(), 4);
  for (int64_t tn : tilesN)
    for (int64_t wn : {int64_t(8), int64_t(4)}) {
      int64_t rows = 8 * tn * wn;
      // The 256 threads stage a stage's 16-byte pieces (8 a row of each
      // of the 8 / wn chunks) in equal shares: 8 warps over N need tiles
      // of 32 or 64 rows.
      bool evenPieces = (8 / wn) * l.tileM * 8 % 256 == 0;
      if (evenPieces && s.n % rows == 0 && s.n / rows * tiles >= 96) {
        l.tilesN = tn;
        l.warpsN = wn;
        l.warpsK = 8 / wn;
        return l;
      }
    }
  // Fewer blocks than that: 16 rows a warp, 2 warps over N where N allows,
  // 4 K-groups.
  l.tilesN = 2;
  l.warpsN = s.n % 32 == 0 ? 2 : 1;
  l.warpsK = 4;
  return l;
}

bool gpu_kernels::takesMmaKernel(const LayerShape &s) {
  return !s.prologue && !s.gated && !s.glu && !s.columns && s.m >= 16 &&
         s.m % 16 == 0 && s.k % kMmaChunkK == 0 &&
         s.n % 16 == 0;
}

gpu::GPUFuncOp gpu_kernels::buildMmaLayerKernel(gpu::GPUModuleOp gpuModule,
                                                Location loc, StringRef name,
                                                const LayerShape &s,
                                                int64_t stagesAhead,
                                                int64_t warpRows) {
  MLIRContext *ctx = gpuModule.getContext();
  Type i8 = IntegerType::get(ctx, 8), i32 = IntegerType::get(ctx, 32),
       f32 = Float32Type::get(ctx);
  const MmaLaunch l = chooseMmaLaunch(s, warpRows);
  // Stages whose loads are in flight (in registers) ahead of the one
  // being computed.
  const int64_t ahead = std::max<int64_t>(1, stagesAhead);
  const int64_t warpsN = l.warpsN, warpsK = l.warpsK, tileM = l.tileM,
                tilesN = l.tilesN;
  const int64_t threads = l.threads(), blockRows = l.blockRows();
  const int64_t mTiles = tileM / 16, chunks = s.k / kMmaChunkK;
  const int64_t stages = (chunks + warpsK - 1) / warpsK;
  // Accumulators per thread: 4 per (m16 tile, n8 tile).
  const int64_t accs = mTiles * tilesN * 4;
  // 16-byte pieces of codes a thread stages: WK chunks x tileM rows x 8.
  const int64_t pieces = warpsK * tileM * 8 / threads;
  assert(warpsK * tileM * 8 % threads == 0 && "pieces split unevenly");
  // Shared memory: the stage, reused after the loop for the partial sums
  // of K-groups 1.. (K-group 0 adds them to its own); the row sums' parts.
  const int64_t stageBytes = warpsK * tileM * kRowBytes;
  const int64_t partialBytes = (warpsK - 1) * warpsN * accs * kWarp * 4;
  const int64_t bufferBytes = std::max(stageBytes, partialBytes);

  SmallVector<Type> params{MemRefType::get({s.m, s.k}, i8),
                           MemRefType::get({s.m}, f32),
                           MemRefType::get({s.n, s.k / 4}, i8),
                           MemRefType::get({s.rowScales ? s.n : 1}, f32),
                           MemRefType::get({s.m, s.n}, f32)};
  auto workgroup = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  auto shared = [&](ArrayRef<int64_t> shape, Type elem) {
    return MemRefType::get(shape, elem, MemRefLayoutAttrInterface{}, workgroup);
  };
  ImplicitLocOpBuilder b(loc, ctx);
  auto kernel = createKernel(
      b, name, gpuModule, params,
      {shared({bufferBytes}, i8), shared({warpsK, tileM}, i32)}, threads,
      s.n / blockRows, s);
  kernel->setAttr(kGPUGridSizeAttrName,
                  DenseI32ArrayAttr::get(ctx, {int32_t(l.blocks(s.n)),
                                               int32_t(l.rowTiles(s.m)), 1}));
  for (unsigned i = 0; i < 2; ++i)
    kernel.setWorkgroupAttributionAttr(i, "llvm.align", b.getI64IntegerAttr(16));
  kernel->setAttr("bitnet.gpu_mma", UnitAttr::get(ctx));
  // Block b reads weight rows [R b, R b + R): bitnet-dependent-launch
  // prefetches them.
  kernel->setAttr(kGPUBlockReadsAttrName,
                  DenseI64ArrayAttr::get(ctx, {2, blockRows * (s.k / 4)}));
  Value x = kernel.getArgument(0), xScale = kernel.getArgument(1),
        w = kernel.getArgument(2), wScale = kernel.getArgument(3),
        out = kernel.getArgument(4);
  Value buffer = kernel.getWorkgroupAttributions()[0],
        rowParts = kernel.getWorkgroupAttributions()[1];

  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, v);
  };
  auto i32c = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(b, i32, v);
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
  VectorType bytes16 = VectorType::get({16}, i8), bytes8 = VectorType::get({8}, i8),
             bytes4 = VectorType::get({4}, i8);
  VectorType words4 = VectorType::get({4}, i32), words2 = VectorType::get({2}, i32);
  Value stage = memref::ViewOp::create(
      b, shared({warpsK, tileM, kRowBytes}, i8), buffer, idx(0), ValueRange{});
  Value partials =
      warpsK > 1
          ? Value(memref::ViewOp::create(
                b, shared({warpsK - 1, warpsN, accs, kWarp}, i32), buffer,
                idx(0), ValueRange{}))
          : Value();

  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value bid = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  Value lane = arith::RemUIOp::create(b, tid, idx(kWarp));
  Value warp = arith::DivUIOp::create(b, tid, idx(kWarp));
  Value wn = arith::RemUIOp::create(b, warp, idx(warpsN));
  Value wk = arith::DivUIOp::create(b, warp, idx(warpsN));
  Value g = arith::DivUIOp::create(b, lane, idx(4));
  Value t = arith::RemUIOp::create(b, lane, idx(4));
  Value nBase = add(mul(bid, idx(blockRows)), mul(wn, idx(8 * tilesN)));
  // The block's first activation row (0 where one tile is all of M).
  Value mBase = l.rowTiles(s.m) == 1
                    ? idx(0)
                    : mul(gpu::BlockIdOp::create(b, gpu::Dimension::y),
                          idx(tileM));
  // The chunk K-group wk computes in stage `st` (clamped to the last).
  auto chunkOf = [&](Value st) -> Value {
    return add(mul(st, idx(warpsK)), wk);
  };
  auto clampChunk = [&](Value c) -> Value {
    return arith::MinUIOp::create(b, c, idx(chunks - 1));
  };

  // Weights: 8 packed bytes of rows g and g + 8 of the warp's 16.
  auto loadB = [&](Value st) {
    Value col = add(mul(clampChunk(chunkOf(st)), idx(kMmaChunkK / 4)),
                    mul(t, idx(8)));
    SmallVector<Value> words;
    for (int64_t j = 0; j < tilesN; ++j) {
      Value row = add(nBase, add(g, idx(8 * j)));
      Value v = vector::LoadOp::create(b, bytes8, w, ValueRange{row, col},
                                       /*nontemporal=*/false,
                                       llvm::MaybeAlign(8));
      words.push_back(vector::BitCastOp::create(b, words2, v));
    }
    return words;
  };
  // Staged codes: piece i of a thread is q = tid + threads i: chunk q /
  // (8 tileM) of the stage, row q / 8 mod tileM of the block's tile, bytes
  // 16 (q mod 8) of the chunk.
  SmallVector<Value> pieceChunk, pieceRow, pieceCol;
  for (int64_t i = 0; i < pieces; ++i) {
    Value q = add(tid, idx(threads * i));
    pieceChunk.push_back(arith::DivUIOp::create(b, q, idx(8 * tileM)));
    pieceRow.push_back(arith::RemUIOp::create(
        b, arith::DivUIOp::create(b, q, idx(8)), idx(tileM)));
    pieceCol.push_back(mul(arith::RemUIOp::create(b, q, idx(8)), idx(16)));
  }
  // The chunk of K piece i stages in stage `st` (past K in a last, partial
  // stage: loaded clamped, summed as nothing).
  auto pieceChunkOf = [&](Value st, int64_t i) -> Value {
    return add(mul(st, idx(warpsK)), pieceChunk[i]);
  };
  auto pieceValid = [&](Value st, int64_t i) -> Value {
    return ult(pieceChunkOf(st, i), idx(chunks));
  };
  auto loadA = [&](Value st) {
    SmallVector<Value> v;
    for (int64_t i = 0; i < pieces; ++i) {
      Value c = clampChunk(pieceChunkOf(st, i));
      Value col = add(mul(c, idx(kMmaChunkK)), pieceCol[i]);
      v.push_back(vector::LoadOp::create(b, bytes16, x,
                                         ValueRange{add(mBase, pieceRow[i]), col},
                                         /*nontemporal=*/false,
                                         llvm::MaybeAlign(16)));
    }
    return v;
  };
  auto prmt = [&](Value lo, Value hi, int64_t selector) -> Value {
    return NVVM::PermuteOp::create(b, i32, lo, hi, i32c(selector),
                                   NVVM::PermuteMode::DEFAULT);
  };
  Value ones = arith::ConstantOp::create(
      b, bytes4, DenseElementsAttr::get(bytes4, b.getI8IntegerAttr(1)));

  // Weights first (the early-loads wait goes after them), then the codes:
  // stages 0 .. ahead - 1 (clamped to the last).
  auto clampStage = [&](int64_t st) -> Value {
    return idx(std::min(st, stages - 1));
  };
  SmallVector<Value> init(accs, i32c(0));
  for (int64_t d = 0; d < ahead; ++d)
    llvm::append_range(init, loadB(clampStage(d)));
  for (int64_t d = 0; d < ahead; ++d)
    llvm::append_range(init, loadA(clampStage(d)));
  init.append(pieces, i32c(0));
  const int64_t bAt = accs, aAt = accs + ahead * tilesN,
                sumsAt = aAt + ahead * pieces;
  auto loop = scf::ForOp::create(b, idx(0), idx(stages), idx(1), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value st = loop.getInductionVar();
    ValueRange args = loop.getRegionIterArgs();
    SmallVector<Value> acc(args.begin(), args.begin() + accs);
    // Stage st's loads first, then st + 1, ...
    SmallVector<Value> curB(args.begin() + bAt, args.begin() + bAt + tilesN);
    SmallVector<Value> curA(args.begin() + aAt, args.begin() + aAt + pieces);
    SmallVector<Value> sums(args.begin() + sumsAt, args.end());

    // 1. This stage's codes into shared memory, each piece transposed as
    // 4 x 4 bytes; their sums.
    for (int64_t i = 0; i < pieces; ++i) {
      Value dot = sums[i];
      for (int64_t e = 0; e < 4; ++e) {
        Value part = vector::ShuffleOp::create(
            b, curA[i], curA[i],
            ArrayRef<int64_t>{4 * e, 4 * e + 1, 4 * e + 2, 4 * e + 3});
        dot = NVVM::DotAccumulate4WayOp::create(
            b, i32, part, NVVM::DotAccumulateType::SIGNED, ones,
            NVVM::DotAccumulateType::SIGNED, dot);
      }
      sums[i] = arith::SelectOp::create(b, pieceValid(st, i), dot, sums[i]);
      Value words = vector::BitCastOp::create(b, words4, curA[i]);
      SmallVector<Value> in;
      for (int64_t e = 0; e < 4; ++e)
        in.push_back(vector::ExtractOp::create(b, words, e));
      // Word j of the result: byte j of each input word.
      Value t0 = prmt(in[0], in[1], 0x5140), t1 = prmt(in[0], in[1], 0x7362),
            t2 = prmt(in[2], in[3], 0x5140), t3 = prmt(in[2], in[3], 0x7362);
      Value outWords = vector::FromElementsOp::create(
          b, words4,
          ValueRange{prmt(t0, t2, 0x5410), prmt(t0, t2, 0x7632),
                     prmt(t1, t3, 0x5410), prmt(t1, t3, 0x7632)});
      vector::StoreOp::create(
          b, vector::BitCastOp::create(b, bytes16, outWords), stage,
          ValueRange{pieceChunk[i], pieceRow[i], pieceCol[i]},
          /*nontemporal=*/false, llvm::MaybeAlign(16));
    }
    gpu::BarrierOp::create(b);

    // 2. Stage st + ahead's loads, in flight during this stage's mma.
    Value next =
        arith::MinUIOp::create(b, add(st, idx(ahead)), idx(stages - 1));
    SmallVector<Value> nextB = loadB(next);
    SmallVector<Value> nextA = loadA(next);

    // 3. The warp's chunk of the stage, if K has it.
    auto ifOp = scf::IfOp::create(b, TypeRange(ValueRange(acc)),
                                  ult(chunkOf(st), idx(chunks)),
                                  /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(&ifOp.getThenRegion().front());
      // A words: [m16 tile][row g / g + 8][r], r = 4 p + j.
      SmallVector<SmallVector<SmallVector<Value>>> a(
          mTiles, SmallVector<SmallVector<Value>>(2));
      for (int64_t mt = 0; mt < mTiles; ++mt)
        for (int64_t half = 0; half < 2; ++half) {
          Value row = add(g, idx(16 * mt + 8 * half));
          for (int64_t p = 0; p < 2; ++p) {
            Value col = add(mul(t, idx(32)), idx(16 * p));
            Value v = vector::LoadOp::create(b, bytes16, stage,
                                             ValueRange{wk, row, col},
                                             /*nontemporal=*/false,
                                             llvm::MaybeAlign(16));
            Value words = vector::BitCastOp::create(b, words4, v);
            for (int64_t j = 0; j < 4; ++j)
              a[mt][half].push_back(vector::ExtractOp::create(b, words, j));
          }
        }
      Value mask = i32c(0x03030303);
      auto unpack = [&](Value packed, int64_t r) -> Value {
        Value word = vector::ExtractOp::create(b, packed, r / 4);
        if (r % 4)
          word = arith::ShRUIOp::create(b, word, i32c(2 * (r % 4)));
        return arith::AndIOp::create(b, word, mask);
      };
      auto resultType =
          LLVM::LLVMStructType::getLiteral(ctx, {i32, i32, i32, i32});
      SmallVector<Value> next(acc);
      for (int64_t step = 0; step < 4; ++step) {
        SmallVector<std::pair<Value, Value>> bFrag;
        for (int64_t j = 0; j < tilesN; ++j)
          bFrag.push_back({unpack(curB[j], 2 * step),
                           unpack(curB[j], 2 * step + 1)});
        for (int64_t mt = 0; mt < mTiles; ++mt) {
          SmallVector<Value> aFrag{a[mt][0][2 * step], a[mt][1][2 * step],
                                   a[mt][0][2 * step + 1],
                                   a[mt][1][2 * step + 1]};
          for (int64_t j = 0; j < tilesN; ++j) {
            int64_t base = (mt * tilesN + j) * 4;
            SmallVector<Value> cFrag(next.begin() + base,
                                     next.begin() + base + 4);
            Value d = NVVM::MmaOp::create(
                b, resultType, aFrag,
                ValueRange{bFrag[j].first, bFrag[j].second}, cFrag,
                ArrayRef<int64_t>{16, 8, 32}, std::nullopt,
                NVVM::MMAIntOverflow::wrapped,
                std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::s8,
                                              NVVM::MMATypes::u8},
                std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                               NVVM::MMALayout::col});
            for (int64_t i = 0; i < 4; ++i)
              next[base + i] = LLVM::ExtractValueOp::create(b, d, i);
          }
        }
      }
      scf::YieldOp::create(b, next);
      b.setInsertionPointToStart(&ifOp.getElseRegion().front());
      scf::YieldOp::create(b, acc);
    }
    // Every warp is done with the stage before the next one overwrites it.
    gpu::BarrierOp::create(b);
    SmallVector<Value> yield(ifOp.getResults());
    yield.append(args.begin() + bAt + tilesN, args.begin() + aAt);
    llvm::append_range(yield, nextB);
    yield.append(args.begin() + aAt + pieces, args.begin() + sumsAt);
    llvm::append_range(yield, nextA);
    llvm::append_range(yield, sums);
    scf::YieldOp::create(b, yield);
  }

  // The row sums' parts: the 8 pieces of a (chunk, row) are 8 neighbouring
  // lanes; the first of them stores their sum.
  Value firstOfEight = arith::CmpIOp::create(
      b, arith::CmpIPredicate::eq, arith::RemUIOp::create(b, tid, idx(8)),
      idx(0));
  for (int64_t i = 0; i < pieces; ++i) {
    Value v = loop.getResult(sumsAt + i);
    for (int32_t offset = 1; offset < 8; offset *= 2)
      v = add(v, shuffleXor(b, v, offset));
    auto ifOp = scf::IfOp::create(b, firstOfEight, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    memref::StoreOp::create(b, v, rowParts,
                            ValueRange{pieceChunk[i], pieceRow[i]});
  }
  // K-groups 1.. hand their sums to K-group 0 (the stage is free: the
  // loop ended on a barrier).
  if (warpsK > 1) {
    auto ifOp = scf::IfOp::create(
        b, arith::CmpIOp::create(b, arith::CmpIPredicate::ne, wk, idx(0)),
        /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    Value slot = arith::SubIOp::create(b, wk, idx(1));
    for (int64_t v = 0; v < accs; ++v)
      memref::StoreOp::create(b, loop.getResult(v), partials,
                              ValueRange{slot, wn, idx(v), lane});
  }
  gpu::BarrierOp::create(b);
  auto ifOp = scf::IfOp::create(
      b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, wk, idx(0)),
      /*withElseRegion=*/false);
  b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  Value ws0 = s.rowScales ? Value()
                          : memref::LoadOp::create(b, wScale, ValueRange{idx(0)});
  for (int64_t mt = 0; mt < mTiles; ++mt)
    for (int64_t half = 0; half < 2; ++half) {
      Value m = add(g, idx(16 * mt + 8 * half));
      Value row = add(mBase, m);
      Value xs = memref::LoadOp::create(b, xScale, ValueRange{row});
      Value rowSum = memref::LoadOp::create(b, rowParts, ValueRange{idx(0), m});
      for (int64_t c = 1; c < warpsK; ++c)
        rowSum = add(rowSum,
                     memref::LoadOp::create(b, rowParts, ValueRange{idx(c), m}));
      for (int64_t j = 0; j < tilesN; ++j)
        for (int64_t col = 0; col < 2; ++col) {
          // C fragment: c0 (g, 2t), c1 (g, 2t + 1), c2 / c3 the same at g + 8.
          int64_t v = (mt * tilesN + j) * 4 + half * 2 + col;
          Value sum = loop.getResult(v);
          for (int64_t other = 1; other < warpsK; ++other)
            sum = add(sum, memref::LoadOp::create(
                               b, partials,
                               ValueRange{idx(other - 1), wn, idx(v), lane}));
          // sum a (c - 1) = sum a c - sum a.
          sum = arith::SubIOp::create(b, sum, rowSum);
          Value n = add(nBase, add(mul(t, idx(2)), idx(8 * j + col)));
          Value ws = s.rowScales
                         ? Value(memref::LoadOp::create(b, wScale, ValueRange{n}))
                         : ws0;
          // The reference's order: f32(acc) * (x_scale * weight_scale).
          Value y = arith::MulFOp::create(
              b, arith::SIToFPOp::create(b, f32, sum),
              arith::MulFOp::create(b, xs, ws));
          memref::StoreOp::create(b, y, out, ValueRange{row, n});
        }
    }
  b.setInsertionPointAfter(ifOp);
  gpu::ReturnOp::create(b);
  return kernel;
}
