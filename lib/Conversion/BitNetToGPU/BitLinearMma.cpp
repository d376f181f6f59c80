//===- BitLinearMma.cpp - BitLinear layers of many rows on tensor cores ---===//
//
// A prefill chunk's BitLinear (M = 16, 32, ...) on the GEMV kernel loops
// over its activation rows with dp4a; here the rows are the M of
// mma.sync.m16n8k32 with s8 operands. The 2-bit codes are unpacked in
// registers: one packed byte holds the four consecutive k of one weight row
// that a B fragment register needs, so a thread reads 8 contiguous bytes of
// a row per 128 k and the A fragments read 32 contiguous code bytes of a row.
// That takes a permutation of k inside each 128-wide chunk, the same for A
// and B (a sum does not depend on the order of its terms):
//   mma step s (0..3), thread t of its quad, fragment column 4t + i
//     -> k = 32t + 8s + i (a0/a1, b0), 32t + 8s + 4 + i (a2/a3, b1).
// The warps of a block split K (chunk c goes to warp c mod kMmaWarps) and
// add their accumulators through shared memory; warp 0 scales and stores.
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

/// n8 tiles of a warp.
constexpr int64_t kTilesN = kMmaTileN / 8;

/// What a warp loads for one 128-wide chunk of k: for each m16 tile, the 32
/// code bytes of rows g and g + 8 (two 16-byte vectors each), and 8 packed
/// bytes of each of its weight rows.
struct ChunkLoads {
  SmallVector<Value> a; // [tile][row g / g + 8][half] vector<4xi32>
  SmallVector<Value> b; // [n8 tile] vector<2xi32>
};

/// The four s8 weights w - 1 of a packed byte (in the low 8 bits of `byte`):
/// field j to byte j, then each byte's code minus 1 without borrows between
/// bytes (set bit 7, subtract 1, flip bit 7 back).
Value unpackByte(ImplicitLocOpBuilder &b, Value byte) {
  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(b, b.getI32Type(), v);
  };
  auto field = [&](int64_t shift, int64_t mask) -> Value {
    Value v = shift ? Value(arith::ShLIOp::create(b, byte, c(shift))) : byte;
    return arith::AndIOp::create(b, v, c(mask));
  };
  Value spread = arith::OrIOp::create(
      b, arith::OrIOp::create(b, field(0, 0x3), field(6, 0x300)),
      arith::OrIOp::create(b, field(12, 0x30000), field(18, 0x3000000)));
  Value high = arith::OrIOp::create(b, spread, c(int64_t(0x80808080)));
  return arith::XOrIOp::create(
      b, arith::SubIOp::create(b, high, c(0x01010101)), c(int64_t(0x80808080)));
}

} // namespace

bool gpu_kernels::takesMmaKernel(const LayerShape &s) {
  return !s.prologue && !s.gated && !s.glu && !s.columns && s.m >= 16 &&
         s.m % 16 == 0 && s.m <= kMmaMaxRows && s.k % kMmaChunkK == 0 &&
         s.n % kMmaTileN == 0;
}

gpu::GPUFuncOp gpu_kernels::buildMmaLayerKernel(gpu::GPUModuleOp gpuModule,
                                                Location loc, StringRef name,
                                                const LayerShape &s) {
  MLIRContext *ctx = gpuModule.getContext();
  Type i8 = IntegerType::get(ctx, 8), i32 = IntegerType::get(ctx, 32),
       f32 = Float32Type::get(ctx);
  const int64_t mTiles = s.m / 16, chunks = s.k / kMmaChunkK;
  // Accumulators per thread: 4 per (m16 tile, n8 tile).
  const int64_t accs = mTiles * kTilesN * 4;
  SmallVector<Type> params{MemRefType::get({s.m, s.k}, i8),
                           MemRefType::get({s.m}, f32),
                           MemRefType::get({s.n, s.k / 4}, i8),
                           MemRefType::get({s.rowScales ? s.n : 1}, f32),
                           MemRefType::get({s.m, s.n}, f32)};
  auto workgroup = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  SmallVector<Type> shared{MemRefType::get({kMmaWarps, accs, kWarp}, i32,
                                           MemRefLayoutAttrInterface{},
                                           workgroup)};
  ImplicitLocOpBuilder b(loc, ctx);
  auto kernel = createKernel(b, name, gpuModule, params, shared,
                             kMmaWarps * kWarp, s.n / kMmaTileN, s);
  kernel.setWorkgroupAttributionAttr(0, "llvm.align", b.getI64IntegerAttr(16));
  kernel->setAttr("bitnet.gpu_mma", UnitAttr::get(ctx));
  // Block b reads weight rows [16 b, 16 b + 16): bitnet-dependent-launch
  // prefetches them.
  kernel->setAttr(kGPUBlockReadsAttrName,
                  DenseI64ArrayAttr::get(ctx, {2, kMmaTileN * (s.k / 4)}));
  Value x = kernel.getArgument(0), xScale = kernel.getArgument(1),
        w = kernel.getArgument(2), wScale = kernel.getArgument(3),
        out = kernel.getArgument(4);
  Value partials = kernel.getWorkgroupAttributions()[0];

  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, v);
  };
  auto i32c = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(b, i32, v);
  };
  VectorType bytes16 = VectorType::get({16}, i8), bytes8 = VectorType::get({8}, i8);
  VectorType words4 = VectorType::get({4}, i32), words2 = VectorType::get({2}, i32);

  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value bid = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  Value lane = arith::RemUIOp::create(b, tid, idx(kWarp));
  Value warp = arith::DivUIOp::create(b, tid, idx(kWarp));
  Value g = arith::DivUIOp::create(b, lane, idx(4));
  Value t = arith::RemUIOp::create(b, lane, idx(4));
  Value nBase = arith::MulIOp::create(b, bid, idx(kMmaTileN));
  Value xOff = arith::MulIOp::create(b, t, idx(32)); // code bytes in a chunk
  Value wOff = arith::MulIOp::create(b, t, idx(8));  // packed bytes

  auto load = [&](Value chunk) {
    ChunkLoads l;
    Value xCol = arith::AddIOp::create(
        b, arith::MulIOp::create(b, chunk, idx(kMmaChunkK)), xOff);
    for (int64_t mt = 0; mt < mTiles; ++mt)
      for (int64_t half = 0; half < 2; ++half) {
        Value row = arith::AddIOp::create(b, g, idx(16 * mt + 8 * half));
        for (int64_t piece = 0; piece < 2; ++piece) {
          Value col = arith::AddIOp::create(b, xCol, idx(16 * piece));
          Value v = vector::LoadOp::create(b, bytes16, x, ValueRange{row, col},
                                           /*nontemporal=*/false,
                                           llvm::MaybeAlign(16));
          l.a.push_back(vector::BitCastOp::create(b, words4, v));
        }
      }
    Value wCol = arith::AddIOp::create(
        b, arith::MulIOp::create(b, chunk, idx(kMmaChunkK / 4)), wOff);
    for (int64_t j = 0; j < kTilesN; ++j) {
      Value row = arith::AddIOp::create(
          b, nBase, arith::AddIOp::create(b, g, idx(8 * j)));
      Value v = vector::LoadOp::create(b, bytes8, w, ValueRange{row, wCol},
                                       /*nontemporal=*/false,
                                       llvm::MaybeAlign(8));
      l.b.push_back(vector::BitCastOp::create(b, words2, v));
    }
    return l;
  };

  // The loop carries the accumulators and the next chunk's loads (issued
  // before the current chunk's mma: one chunk of loads in flight).
  // (A warp past the last chunk loads it and runs no iteration.)
  ChunkLoads first = load(arith::MinUIOp::create(b, warp, idx(chunks - 1)));
  SmallVector<Value> init(accs, i32c(0));
  init.append(first.a.begin(), first.a.end());
  init.append(first.b.begin(), first.b.end());
  const int64_t aCount = int64_t(first.a.size());
  auto loop = scf::ForOp::create(b, warp, idx(chunks), idx(kMmaWarps), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    ValueRange args = loop.getRegionIterArgs();
    SmallVector<Value> acc(args.begin(), args.begin() + accs);
    ChunkLoads cur;
    cur.a.assign(args.begin() + accs, args.begin() + accs + aCount);
    cur.b.assign(args.begin() + accs + aCount, args.end());
    Value c = loop.getInductionVar();
    Value next = arith::AddIOp::create(b, c, idx(kMmaWarps));
    Value inRange =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, next, idx(chunks));
    ChunkLoads ahead = load(arith::SelectOp::create(b, inRange, next, c));

    auto resultType = LLVM::LLVMStructType::getLiteral(ctx, {i32, i32, i32, i32});
    for (int64_t step = 0; step < 4; ++step) {
      // B: packed bytes 2 step and 2 step + 1 of each weight row's 8.
      SmallVector<std::pair<Value, Value>> bFrag;
      for (int64_t j = 0; j < kTilesN; ++j) {
        Value word = vector::ExtractOp::create(b, cur.b[j], step / 2);
        Value shifted = arith::ShRUIOp::create(b, word, i32c(16 * (step % 2)));
        Value lo = arith::AndIOp::create(b, shifted, i32c(0xff));
        Value hi = arith::AndIOp::create(
            b, arith::ShRUIOp::create(b, shifted, i32c(8)), i32c(0xff));
        bFrag.push_back({unpackByte(b, lo), unpackByte(b, hi)});
      }
      for (int64_t mt = 0; mt < mTiles; ++mt) {
        // A: words 2 step and 2 step + 1 of rows g and g + 8.
        auto word = [&](int64_t half, int64_t which) -> Value {
          Value v = cur.a[(mt * 2 + half) * 2 + step / 2];
          return vector::ExtractOp::create(b, v, 2 * (step % 2) + which);
        };
        SmallVector<Value> aFrag{word(0, 0), word(1, 0), word(0, 1), word(1, 1)};
        for (int64_t j = 0; j < kTilesN; ++j) {
          int64_t base = (mt * kTilesN + j) * 4;
          SmallVector<Value> cFrag(acc.begin() + base, acc.begin() + base + 4);
          Value d = NVVM::MmaOp::create(
              b, resultType, aFrag, ValueRange{bFrag[j].first, bFrag[j].second},
              cFrag, ArrayRef<int64_t>{16, 8, 32}, std::nullopt,
              NVVM::MMAIntOverflow::wrapped,
              std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::s8,
                                            NVVM::MMATypes::s8},
              std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                             NVVM::MMALayout::col});
          for (int64_t i = 0; i < 4; ++i)
            acc[base + i] = LLVM::ExtractValueOp::create(b, d, i);
        }
      }
    }
    SmallVector<Value> yield(acc);
    yield.append(ahead.a.begin(), ahead.a.end());
    yield.append(ahead.b.begin(), ahead.b.end());
    scf::YieldOp::create(b, yield);
  }

  // Every warp's partial sums to shared memory; warp 0 adds them up.
  for (int64_t v = 0; v < accs; ++v)
    memref::StoreOp::create(b, loop.getResult(v), partials,
                            ValueRange{warp, idx(v), lane});
  gpu::BarrierOp::create(b);
  Value isWarp0 = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, warp, idx(0));
  auto ifOp = scf::IfOp::create(b, isWarp0, /*withElseRegion=*/false);
  b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  Value ws0 = s.rowScales ? Value() : memref::LoadOp::create(b, wScale, ValueRange{idx(0)});
  for (int64_t mt = 0; mt < mTiles; ++mt)
    for (int64_t half = 0; half < 2; ++half) {
      Value m = arith::AddIOp::create(b, g, idx(16 * mt + 8 * half));
      Value xs = memref::LoadOp::create(b, xScale, ValueRange{m});
      for (int64_t j = 0; j < kTilesN; ++j)
        for (int64_t col = 0; col < 2; ++col) {
          // C fragment: c0 (g, 2t), c1 (g, 2t + 1), c2 / c3 the same at g + 8.
          int64_t v = (mt * kTilesN + j) * 4 + half * 2 + col;
          Value sum = memref::LoadOp::create(b, partials,
                                             ValueRange{idx(0), idx(v), lane});
          for (int64_t other = 1; other < kMmaWarps; ++other)
            sum = arith::AddIOp::create(
                b, sum,
                memref::LoadOp::create(b, partials,
                                       ValueRange{idx(other), idx(v), lane}));
          Value n = arith::AddIOp::create(
              b, nBase,
              arith::AddIOp::create(b, arith::MulIOp::create(b, t, idx(2)),
                                    idx(8 * j + col)));
          Value ws = s.rowScales
                         ? Value(memref::LoadOp::create(b, wScale, ValueRange{n}))
                         : ws0;
          // The reference's order: f32(acc) * (x_scale * weight_scale).
          Value y = arith::MulFOp::create(
              b, arith::SIToFPOp::create(b, f32, sum),
              arith::MulFOp::create(b, xs, ws));
          memref::StoreOp::create(b, y, out, ValueRange{m, n});
        }
    }
  b.setInsertionPointAfter(ifOp);
  gpu::ReturnOp::create(b);
  return kernel;
}
