//===- BitLinearToGPU.cpp - BitLinear layers as NVPTX GEMV kernels --------===//
//
// A BitLinear layer function becomes a gpu.func: warps own output rows,
// lanes stream 16-byte chunks of 2-bit packed weights, unpack them in
// registers and accumulate with dp4a. The pass's description in
// Conversion/Passes.td has the contract; docs/GPU.md the design and figures.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Conversion/BitNetToGPU/BitNetToGPU.h"
#include "BitLinearKernels.h"
#include "bitnet/Dialect/BitNet/IR/BitNetDialect.h"
#include "bitnet/Dialect/BitNet/IR/QuantArithmetic.h"
#include "bitnet/Transforms/DependentLaunch.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETBITLINEARTOGPU
#include "bitnet/Conversion/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;
using namespace mlir::bitnet;
using namespace mlir::bitnet::gpu_kernels;

namespace {

/// The column kernel: blocks of 8 warps, each block one 8-byte piece (32
/// output rows) of a 256-row column block.
constexpr int64_t kColumnThreads = 256;
constexpr int64_t kColumnWarps = kColumnThreads / kWarp;
constexpr int64_t kColumnPieceWords = 2;                       // 8 bytes
constexpr int64_t kColumnPieces = 16 / kColumnPieceWords;      // per block
constexpr int64_t kColumnRows = 16 * kColumnPieceWords;        // per piece
/// Entries a thread takes per round (their loads in flight together).
constexpr int64_t kColumnUnroll = 8;
/// Inputs each warp compacts: whole rounds of 32 lanes x 16 bytes.
constexpr int64_t columnSegment(int64_t k) {
  return ((k + kColumnWarps - 1) / kColumnWarps + 16 * kWarp - 1) /
         (16 * kWarp) * (16 * kWarp);
}
/// Shared memory of the column kernel: the list [K], the warps' counts, and
/// the warps' row sums.
constexpr int64_t columnSharedBytes(int64_t k) {
  return 4 * (k + kColumnWarps + kColumnWarps * kColumnRows);
}

/// The warp's thread coordinates and its first output row.
struct WarpRows {
  Value lane, row0;
};
WarpRows warpRows(ImplicitLocOpBuilder &b, const LaunchShape &launch) {
  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, v);
  };
  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value bid = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  Value lane = arith::RemUIOp::create(b, tid, idx(kWarp));
  Value warp = arith::DivUIOp::create(b, tid, idx(kWarp));
  Value warpGlobal = arith::AddIOp::create(
      b, arith::MulIOp::create(b, bid, idx(launch.warpsPerBlock)), warp);
  return {lane, arith::MulIOp::create(b, warpGlobal, idx(launch.rowsPerWarp))};
}

/// The dot products of the warp's R weight rows (from `at.row0`) with the M
/// activation rows: x memref<MxKxi8> (global, or the prologue's shared
/// codes), weight memref<Nx(K/16)xi32> (the bits2 bytes as words). Returns
/// the exact integer sums, [m * R + r], in every lane. With `rowNeeded`
/// (one i1 per row), a row's weights are read only where it is set (a
/// warp-uniform branch: a skipped row costs no memory traffic). `prologue`
/// (every thread of the block runs it) builds what x holds, after the
/// weight loads are issued.
SmallVector<Value> buildRowDots(ImplicitLocOpBuilder &b, Value x, Value w,
                                const WarpRows &at, ArrayRef<Value> rowNeeded,
                                const LayerShape &s, const LaunchShape &launch,
                                llvm::function_ref<void()> prologue = nullptr) {
  const int64_t rows = launch.rowsPerWarp;
  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, v);
  };
  auto i32c = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(b, b.getI32Type(), v);
  };
  Type i32 = b.getI32Type();
  VectorType bytes4 = VectorType::get({4}, b.getI8Type());
  VectorType bytes16 = VectorType::get({16}, b.getI8Type());
  VectorType words4 = VectorType::get({4}, i32);
  VectorType word1 = VectorType::get({1}, i32);
  Value lane = at.lane, row0 = at.row0;

  // Loop-carried: M * R row accumulators of dp4a(w + 1, x), then M sums of x.
  Value zero = i32c(0);
  SmallVector<Value> init(s.m * rows + s.m, zero);
  Value mask = i32c(0x03030303);
  Value ones = arith::ConstantOp::create(
      b, bytes4, DenseElementsAttr::get(bytes4, b.getI8IntegerAttr(1)));
  auto dp4a = [&](Value a, NVVM::DotAccumulateType aType, Value bv,
                  Value acc) -> Value {
    return NVVM::DotAccumulate4WayOp::create(
        b, i32, a, aType, bv, NVVM::DotAccumulateType::SIGNED, acc);
  };

  // One chunk: the 16-byte weight words of each of the warp's rows and the
  // 64 activation codes of each activation row. A chunk that is not `valid`
  // (past K in an unrolled tail) reads chunk 0 and zero activations, so it
  // adds nothing and reads nothing out of bounds.
  struct Chunk {
    SmallVector<Value> weights, inputs;
  };
  const int64_t chunks = s.k / kChunkWeights;
  auto loadWeights = [&](Chunk &c, Value chunk, Value valid) {
    if (valid)
      chunk = arith::SelectOp::create(b, valid, chunk, idx(0));
    // All rows' weights first: R independent 16-byte loads in flight.
    Value wordCol = arith::MulIOp::create(b, chunk, idx(4));
    for (int64_t r = 0; r < rows; ++r) {
      Value row = arith::AddIOp::create(b, row0, idx(r));
      auto load = [&](OpBuilder &nb, Location nl) -> Value {
        return vector::LoadOp::create(nb, nl, words4, w,
                                      ValueRange{row, wordCol},
                                      /*nontemporal=*/false,
                                      llvm::MaybeAlign(16));
      };
      if (rowNeeded.empty()) {
        c.weights.push_back(load(b, b.getLoc()));
        continue;
      }
      // A closed row reads nothing: its codes are 0x55 (w = 0) so the
      // dot products add nothing either.
      auto ifOp = scf::IfOp::create(
          b, rowNeeded[r],
          [&](OpBuilder &nb, Location nl) {
            scf::YieldOp::create(nb, nl, load(nb, nl));
          },
          [&](OpBuilder &nb, Location nl) {
            Value neutral = arith::ConstantOp::create(
                nb, nl, words4,
                DenseElementsAttr::get(words4, nb.getI32IntegerAttr(0x55555555)));
            scf::YieldOp::create(nb, nl, neutral);
          });
      c.weights.push_back(ifOp.getResult(0));
    }
  };
  auto loadInputs = [&](Chunk &c, Value chunk, Value valid) {
    if (valid)
      chunk = arith::SelectOp::create(b, valid, chunk, idx(0));
    Value xCol = arith::MulIOp::create(b, chunk, idx(kChunkWeights));
    Value zeros;
    if (valid)
      zeros = arith::ConstantOp::create(
          b, bytes16, DenseElementsAttr::get(bytes16, b.getI8IntegerAttr(0)));
    for (int64_t m = 0; m < s.m; ++m) {
      for (int64_t word = 0; word < 4; ++word) {
        Value col = arith::AddIOp::create(b, xCol, idx(16 * word));
        Value xv = vector::LoadOp::create(b, bytes16, x,
                                          ValueRange{idx(m), col},
                                          /*nontemporal=*/false,
                                          llvm::MaybeAlign(16));
        if (valid)
          xv = arith::SelectOp::create(b, valid, xv, zeros);
        c.inputs.push_back(xv);
      }
    }
  };
  auto loadChunk = [&](Value chunk, Value valid) {
    Chunk c;
    loadWeights(c, chunk, valid);
    loadInputs(c, chunk, valid);
    return c;
  };
  auto accumulateChunk = [&](const Chunk &c, SmallVectorImpl<Value> &acc) {
    for (int64_t m = 0; m < s.m; ++m) {
      for (int64_t word = 0; word < 4; ++word) {
        Value xv = c.inputs[m * 4 + word];
        for (int64_t j = 0; j < 4; ++j) {
          // Code j of each of the word's 4 bytes: inputs j, j+4, j+8, j+12.
          Value xj = vector::ShuffleOp::create(
              b, xv, xv, ArrayRef<int64_t>{j, j + 4, j + 8, j + 12});
          Value &sum = acc[s.m * rows + m];
          sum = dp4a(ones, NVVM::DotAccumulateType::UNSIGNED, xj, sum);
          for (int64_t r = 0; r < rows; ++r) {
            Value packed = vector::ExtractOp::create(b, c.weights[r], word);
            Value codes = arith::AndIOp::create(
                b, arith::ShRUIOp::create(b, packed, i32c(2 * j)), mask);
            Value codeBytes = vector::BitCastOp::create(
                b, bytes4, vector::BroadcastOp::create(b, word1, codes));
            Value &a = acc[m * rows + r];
            a = dp4a(codeBytes, NVVM::DotAccumulateType::UNSIGNED, xj, a);
          }
        }
      }
    }
  };

  SmallVector<Value> results;
  if (s.m <= kUnrollMaxRows) {
    // Decode: every chunk of the lane unrolled and all loads issued before
    // the first dp4a, so a lane has its whole share of bytes in flight
    // (a loop would wait for each chunk's loads in turn).
    // With a quantizer prologue, the weights (which do not depend on x)
    // are requested first and arrive while the block quantizes.
    const int64_t rounds = (chunks + kWarp - 1) / kWarp;
    SmallVector<Chunk> loaded(rounds);
    SmallVector<std::pair<Value, Value>> at;
    for (int64_t t = 0; t < rounds; ++t) {
      Value chunk = arith::AddIOp::create(b, lane, idx(t * kWarp));
      Value valid;
      if ((t + 1) * kWarp > chunks)
        valid = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, chunk,
                                      idx(chunks));
      at.push_back({chunk, valid});
      loadWeights(loaded[t], chunk, valid);
    }
    if (prologue)
      prologue();
    for (int64_t t = 0; t < rounds; ++t)
      loadInputs(loaded[t], at[t].first, at[t].second);
    results = init;
    for (const Chunk &c : loaded)
      accumulateChunk(c, results);
  } else {
    if (prologue)
      prologue();
    auto loop = scf::ForOp::create(b, lane, idx(chunks), idx(kWarp), init);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    SmallVector<Value> acc(loop.getRegionIterArgs().begin(),
                           loop.getRegionIterArgs().end());
    accumulateChunk(loadChunk(loop.getInductionVar(), Value()), acc);
    scf::YieldOp::create(b, acc);
    b.setInsertionPointAfter(loop);
    results.assign(loop.getResults().begin(), loop.getResults().end());
  }

  // sum((w + 1) x) - sum(x), summed over the warp.
  SmallVector<Value> totals;
  for (int64_t m = 0; m < s.m; ++m) {
    for (int64_t r = 0; r < rows; ++r) {
      Value v = arith::SubIOp::create(b, results[m * rows + r],
                                      results[s.m * rows + m]);
      for (int32_t offset = kWarp / 2; offset > 0; offset /= 2) {
        auto shuffle = gpu::ShuffleOp::create(b, v, offset, int32_t(kWarp),
                                              gpu::ShuffleMode::XOR);
        v = arith::AddIOp::create(b, v, shuffle.getShuffleResult());
      }
      totals.push_back(v);
    }
  }
  return totals;
}

/// The GEMV kernel body: x, x_scale memref<Mxf32>, weight, weight_scale
/// memref<1xf32>, [gate memref<MxNxf32>,] out memref<MxNxf32> (see
/// buildRowDots). Lane 0 writes f32(sum) * (x_scale * weight_scale), the
/// reference lowering's expression; with a gate, 0 where it is not > 0.
void buildGemv(ImplicitLocOpBuilder &b, Value x, Value xScale, Value w,
               Value wScale, Value gate, Value out, const LayerShape &s,
               const LaunchShape &launch,
               llvm::function_ref<void()> prologue = nullptr) {
  const int64_t rows = launch.rowsPerWarp;
  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, v);
  };
  WarpRows at = warpRows(b, launch);
  Value lane = at.lane, row0 = at.row0;

  // Gated: open[m][r] = gate[m, row] > 0, and a row's weights are loaded
  // only if some activation row opens it. The condition is the same for
  // every lane of the warp (a warp owns its rows), so skipped rows cost no
  // divergence and no memory traffic.
  SmallVector<SmallVector<Value>> open(s.m);
  SmallVector<Value> rowNeeded(rows);
  if (gate) {
    Value zeroF = arith::ConstantOp::create(b, b.getF32FloatAttr(0.0f));
    for (int64_t r = 0; r < rows; ++r) {
      Value row = arith::AddIOp::create(b, row0, idx(r));
      for (int64_t m = 0; m < s.m; ++m) {
        Value g = memref::LoadOp::create(b, gate, ValueRange{idx(m), row});
        open[m].push_back(
            arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, g, zeroF));
        rowNeeded[r] = m == 0 ? open[m][r]
                              : Value(arith::OrIOp::create(b, rowNeeded[r],
                                                           open[m][r]));
      }
    }
  }

  SmallVector<Value> totals =
      buildRowDots(b, x, w, at, gate ? ArrayRef<Value>(rowNeeded)
                                     : ArrayRef<Value>(),
                   s, launch, prologue);
  Value isLane0 =
      arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, idx(0));
  auto ifOp = scf::IfOp::create(b, isLane0, /*withElseRegion=*/false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    // One scale for the layer, or (stacked layers) one per row.
    SmallVector<Value> ws;
    for (int64_t r = 0; r < (s.rowScales ? rows : 1); ++r)
      ws.push_back(memref::LoadOp::create(
          b, wScale,
          ValueRange{s.rowScales ? Value(arith::AddIOp::create(b, row0, idx(r)))
                                 : idx(0)}));
    for (int64_t m = 0; m < s.m; ++m) {
      Value mIdx = idx(m);
      Value xs = memref::LoadOp::create(b, xScale, ValueRange{mIdx});
      for (int64_t r = 0; r < rows; ++r) {
        // The reference's order: f32(acc) * (x_scale * weight_scale).
        Value scale = arith::MulFOp::create(b, xs, ws[s.rowScales ? r : 0]);
        Value y = arith::MulFOp::create(
            b, arith::SIToFPOp::create(b, b.getF32Type(), totals[m * rows + r]),
            scale);
        Value row = arith::AddIOp::create(b, row0, idx(r));
        if (gate)
          y = arith::SelectOp::create(
              b, open[m][r], y,
              arith::ConstantOp::create(b, b.getF32FloatAttr(0.0f)));
        memref::StoreOp::create(b, y, out, ValueRange{mIdx, row});
      }
    }
  }
}

/// The gate-first ReLU2-GLU: out = relu2_glu(g, u) with g = x Wg^T and u =
/// x Wu^T computed only where g > 0 (0 elsewhere), as relu2_glu(gate,
/// gated_bitlinear(.., gate)) is. One kernel: the warp computes its rows'
/// gates (every lane has the sums), then reads an up row only if a gate
/// opens it, so the up projection's bytes for closed rows are never read
/// and the gate's round trip is the gate projection's own.
void buildGLU(ImplicitLocOpBuilder &b, Value x, Value xScale, Value wg,
              Value wgScale, Value wu, Value wuScale, Value out,
              const LayerShape &s, const LaunchShape &launch,
              llvm::function_ref<void()> prologue = nullptr) {
  const int64_t rows = launch.rowsPerWarp;
  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, v);
  };
  Type f32 = b.getF32Type();
  WarpRows at = warpRows(b, launch);
  SmallVector<Value> tg = buildRowDots(b, x, wg, at, {}, s, launch, prologue);
  Value zeroF = arith::ConstantOp::create(b, b.getF32FloatAttr(0.0f));
  Value wsG = memref::LoadOp::create(b, wgScale, ValueRange{idx(0)});
  Value wsU = memref::LoadOp::create(b, wuScale, ValueRange{idx(0)});
  SmallVector<Value> scaleU, gates, open;
  SmallVector<Value> rowNeeded(rows);
  for (int64_t m = 0; m < s.m; ++m) {
    Value xs = memref::LoadOp::create(b, xScale, ValueRange{idx(m)});
    // The reference's order: f32(acc) * (x_scale * weight_scale).
    Value scaleG = arith::MulFOp::create(b, xs, wsG);
    scaleU.push_back(arith::MulFOp::create(b, xs, wsU));
    for (int64_t r = 0; r < rows; ++r) {
      Value g = arith::MulFOp::create(
          b, arith::SIToFPOp::create(b, f32, tg[m * rows + r]), scaleG);
      Value o = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, g, zeroF);
      gates.push_back(g);
      open.push_back(o);
      rowNeeded[r] = m == 0 ? o : Value(arith::OrIOp::create(b, rowNeeded[r], o));
    }
  }
  SmallVector<Value> tu = buildRowDots(b, x, wu, at, rowNeeded, s, launch);
  Value isLane0 =
      arith::CmpIOp::create(b, arith::CmpIPredicate::eq, at.lane, idx(0));
  auto ifOp = scf::IfOp::create(b, isLane0, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&ifOp.getThenRegion().front());
  for (int64_t m = 0; m < s.m; ++m)
    for (int64_t r = 0; r < rows; ++r) {
      int64_t i = m * rows + r;
      Value u = arith::MulFOp::create(
          b, arith::SIToFPOp::create(b, f32, tu[i]), scaleU[m]);
      u = arith::SelectOp::create(b, open[i], u, zeroF);
      // relu2_glu: up * max(gate, 0)^2.
      Value relu = arith::MaximumFOp::create(b, gates[i], zeroF);
      Value h = arith::MulFOp::create(b, u, arith::MulFOp::create(b, relu, relu));
      Value row = arith::AddIOp::create(b, at.row0, idx(r));
      memref::StoreOp::create(b, h, out, ValueRange{idx(m), row});
    }
}

/// The column GEMV (M = 1, weights in the bits2_cols layout): reads only the
/// weight columns of non-zero inputs, which ReLU2 (down projection) and
/// TopK (output projection) make most of. Block (column block b, piece q)
/// computes the 32 output rows b * 256 + 64 p + 8 q + j (p < 4, j < 8),
/// whose codes are bytes [8 q, 8 q + 8) of each column's 64-byte block.
///  1. The block compacts the non-zero inputs into shared memory (grouped
///     by warp and lane) as (column << 8 | code byte): each lane loads 16 input bytes per
///     round (all its rounds at once), counts its non-zero bytes (a SWAR
///     byte test and a popcount), a warp scan (shuffles) and the warps'
///     counts give each lane its slots.
///  2. Each thread takes entries t, t + 256, ... in rounds of 8 whose 8-byte
///     weight loads are issued before any arithmetic. A word holds 4 rows x
///     4 planes of 2-bit codes c = w + 1; (word >> 2p) & 0x00030003 minus
///     0x00010001 is two rows' w as 16-bit lanes, and one multiply by the
///     input adds both (SWAR: |sum| < 2^15 per lane, as K <= 65536 bounds
///     the entries per thread).
///  3. The 32 row sums are added over the warp (shuffles) and the warps
///     (shared memory); thread r < 32 writes f32(sum) * (x_scale *
///     weight_scale), the reference's expression: bit-identical.
void buildColumnGemv(ImplicitLocOpBuilder &b, Value x, Value xScale, Value w,
                     Value wScale, Value out, Value list, Value counts,
                     Value red, const LayerShape &s) {
  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, v);
  };
  Type i32 = b.getI32Type(), index = b.getIndexType();
  auto i32c = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(b, i32, v);
  };
  auto toI32 = [&](Value v) -> Value {
    return arith::IndexCastOp::create(b, i32, v);
  };
  auto toIndex = [&](Value v) -> Value {
    return arith::IndexCastOp::create(b, index, v);
  };
  const int64_t seg = columnSegment(s.k), rounds1 = seg / (16 * kWarp);
  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value bid = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  Value lane = arith::RemUIOp::create(b, tid, idx(kWarp));
  Value warp = arith::DivUIOp::create(b, tid, idx(kWarp));
  Value colBlock = arith::DivUIOp::create(b, bid, idx(kColumnPieces));
  Value piece = arith::RemUIOp::create(b, bid, idx(kColumnPieces));
  VectorType bytes16 = VectorType::get({16}, b.getI8Type());
  VectorType words4 = VectorType::get({4}, i32);

  // 1. Compaction. Lane l's bytes: [segBase + (r * 32 + l) * 16, + 16).
  Value segBase = arith::MulIOp::create(b, warp, idx(seg));
  SmallVector<Value> chunkAt, chunkIn, chunkWords;
  Value zeros16 = arith::ConstantOp::create(
      b, bytes16, DenseElementsAttr::get(bytes16, b.getI8IntegerAttr(0)));
  for (int64_t r = 0; r < rounds1; ++r) {
    Value at = arith::AddIOp::create(
        b, segBase,
        arith::MulIOp::create(b, arith::AddIOp::create(b, lane, idx(r * kWarp)),
                              idx(16)));
    Value in = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, at, idx(s.k));
    Value safe = arith::SelectOp::create(b, in, at, idx(0));
    Value v = vector::LoadOp::create(b, bytes16, x, ValueRange{idx(0), safe},
                                     /*nontemporal=*/false, llvm::MaybeAlign(16));
    v = arith::SelectOp::create(b, in, v, zeros16);
    chunkAt.push_back(at);
    chunkIn.push_back(in);
    chunkWords.push_back(vector::BitCastOp::create(b, words4, v));
  }
  // Non-zero bytes of a word: bit 7 of ((W & 0x7f..) + 0x7f..) | W.
  Value low7 = i32c(0x7f7f7f7f), high = i32c(int32_t(0x80808080u));
  Value mine = i32c(0);
  for (Value words : chunkWords)
    for (int64_t q = 0; q < 4; ++q) {
      Value wv = vector::ExtractOp::create(b, words, q);
      Value nz = arith::AndIOp::create(
          b,
          arith::OrIOp::create(
              b, arith::AddIOp::create(b, arith::AndIOp::create(b, wv, low7), low7),
              wv),
          high);
      mine = arith::AddIOp::create(b, mine, LLVM::CtPopOp::create(b, i32, nz));
    }
  // Inclusive scan over the warp.
  Value incl = mine;
  for (int32_t offset = 1; offset < kWarp; offset *= 2) {
    auto up = gpu::ShuffleOp::create(b, incl, offset, int32_t(kWarp),
                                     gpu::ShuffleMode::UP);
    Value take = arith::CmpIOp::create(b, arith::CmpIPredicate::uge, lane,
                                       idx(offset));
    incl = arith::AddIOp::create(
        b, incl, arith::SelectOp::create(b, take, up.getShuffleResult(), i32c(0)));
  }
  Value isLast = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane,
                                       idx(kWarp - 1));
  {
    auto ifOp = scf::IfOp::create(b, isLast, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    memref::StoreOp::create(b, incl, counts, ValueRange{warp});
  }
  gpu::BarrierOp::create(b);
  Value total = i32c(0), before = i32c(0);
  Value warp32 = toI32(warp);
  for (int64_t g = 0; g < kColumnWarps; ++g) {
    Value c = memref::LoadOp::create(b, counts, ValueRange{idx(g)});
    Value earlier = arith::CmpIOp::create(b, arith::CmpIPredicate::slt,
                                          i32c(g), warp32);
    before = arith::AddIOp::create(
        b, before, arith::SelectOp::create(b, earlier, c, i32c(0)));
    total = arith::AddIOp::create(b, total, c);
  }
  // This lane's first slot; its entries in input order.
  Value slot = arith::AddIOp::create(
      b, before, arith::SubIOp::create(b, incl, mine));
  for (int64_t r = 0; r < rounds1; ++r) {
    Value bytes = vector::BitCastOp::create(b, bytes16, chunkWords[r]);
    Value col0 = toI32(chunkAt[r]);
    for (int64_t j = 0; j < 16; ++j) {
      Value v32 = arith::ExtSIOp::create(b, i32,
                                         vector::ExtractOp::create(b, bytes, j));
      Value nz = arith::CmpIOp::create(b, arith::CmpIPredicate::ne, v32, i32c(0));
      auto ifNz = scf::IfOp::create(b, nz, /*withElseRegion=*/false);
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(&ifNz.getThenRegion().front());
        Value entry = arith::OrIOp::create(
            b,
            arith::ShLIOp::create(b, arith::AddIOp::create(b, col0, i32c(j)),
                                  i32c(8)),
            arith::AndIOp::create(b, v32, i32c(255)));
        memref::StoreOp::create(b, entry, list, ValueRange{toIndex(slot)});
      }
      slot = arith::AddIOp::create(b, slot, arith::ExtUIOp::create(b, i32, nz));
    }
  }
  gpu::BarrierOp::create(b);

  // 2. The non-zero columns' pieces, in rounds of kColumnUnroll entries.
  Value perRound = i32c(kColumnThreads * kColumnUnroll);
  Value rounds = toIndex(arith::DivSIOp::create(
      b, arith::AddIOp::create(b, total, arith::SubIOp::create(b, perRound, i32c(1))),
      perRound));
  // Packed accumulators [p][word][half]: half 0 holds bytes 0 and 2 of the
  // word (rows 4 word + 0 and + 2), half 1 bytes 1 and 3.
  constexpr int64_t kPacked = 4 * kColumnPieceWords * 2;
  SmallVector<Value> init(kPacked, i32c(0));
  VectorType pieceType = VectorType::get({kColumnPieceWords}, i32);
  Value wordCol = arith::MulIOp::create(b, piece, idx(kColumnPieceWords));
  auto loop = scf::ForOp::create(b, idx(0), rounds, idx(1), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    SmallVector<Value> acc(loop.getRegionIterArgs().begin(),
                           loop.getRegionIterArgs().end());
    Value first = arith::AddIOp::create(
        b, tid, arith::MulIOp::create(b, loop.getInductionVar(),
                                      idx(kColumnThreads * kColumnUnroll)));
    SmallVector<Value> loads, inputs;
    for (int64_t u = 0; u < kColumnUnroll; ++u) {
      Value e = arith::AddIOp::create(b, first, idx(u * kColumnThreads));
      Value valid = arith::CmpIOp::create(b, arith::CmpIPredicate::slt, toI32(e),
                                          total);
      Value entry = arith::SelectOp::create(
          b, valid,
          memref::LoadOp::create(b, list,
                                 ValueRange{arith::SelectOp::create(b, valid, e,
                                                                    idx(0))}),
          i32c(0));
      Value col = toIndex(arith::ShRUIOp::create(b, entry, i32c(8)));
      // The code byte, sign-extended; an invalid entry is column 0, x = 0.
      inputs.push_back(arith::ShRSIOp::create(
          b, arith::ShLIOp::create(b, entry, i32c(24)), i32c(24)));
      loads.push_back(vector::LoadOp::create(
          b, pieceType, w, ValueRange{col, colBlock, wordCol},
          /*nontemporal=*/false, llvm::MaybeAlign(4 * kColumnPieceWords)));
    }
    Value mask = i32c(0x00030003), one = i32c(0x00010001);
    for (int64_t u = 0; u < kColumnUnroll; ++u)
      for (int64_t word = 0; word < kColumnPieceWords; ++word) {
        Value packed = vector::ExtractOp::create(b, loads[u], word);
        for (int64_t p = 0; p < 4; ++p)
          for (int64_t half = 0; half < 2; ++half) {
            Value lanes = arith::SubIOp::create(
                b,
                arith::AndIOp::create(
                    b, arith::ShRUIOp::create(b, packed, i32c(2 * p + 8 * half)),
                    mask),
                one);
            Value &a = acc[(p * kColumnPieceWords + word) * 2 + half];
            a = arith::AddIOp::create(
                b, a, arith::MulIOp::create(b, lanes, inputs[u]));
          }
      }
    scf::YieldOp::create(b, acc);
  }

  // 3. Unpack the 16-bit lanes, add over the warp and over the warps.
  auto sext16 = [&](Value v) -> Value {
    return arith::ShRSIOp::create(b, arith::ShLIOp::create(b, v, i32c(16)),
                                  i32c(16));
  };
  constexpr int64_t rowsPerPlane = 4 * kColumnPieceWords;
  SmallVector<Value> sums(kColumnRows);
  for (int64_t p = 0; p < 4; ++p)
    for (int64_t word = 0; word < kColumnPieceWords; ++word)
      for (int64_t half = 0; half < 2; ++half) {
        Value a = loop.getResult((p * kColumnPieceWords + word) * 2 + half);
        Value low = sext16(a);
        Value hi = sext16(arith::ShRSIOp::create(
            b, arith::SubIOp::create(b, a, low), i32c(16)));
        // Byte e of the word is row 4 word + e of the plane's rows.
        sums[p * rowsPerPlane + 4 * word + half] = low;
        sums[p * rowsPerPlane + 4 * word + half + 2] = hi;
      }
  for (Value &v : sums)
    for (int32_t offset = kWarp / 2; offset > 0; offset /= 2) {
      auto shuffle = gpu::ShuffleOp::create(b, v, offset, int32_t(kWarp),
                                            gpu::ShuffleMode::XOR);
      v = arith::AddIOp::create(b, v, shuffle.getShuffleResult());
    }
  Value isLane0 =
      arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, idx(0));
  {
    auto ifOp = scf::IfOp::create(b, isLane0, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    for (int64_t r = 0; r < kColumnRows; ++r)
      memref::StoreOp::create(b, sums[r], red, ValueRange{warp, idx(r)});
  }
  gpu::BarrierOp::create(b);
  Value isWriter = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, tid,
                                         idx(kColumnRows));
  auto writer = scf::IfOp::create(b, isWriter, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&writer.getThenRegion().front());
  Value rowSum = i32c(0);
  for (int64_t g = 0; g < kColumnWarps; ++g)
    rowSum = arith::AddIOp::create(
        b, rowSum, memref::LoadOp::create(b, red, ValueRange{idx(g), tid}));
  // Row b * 256 + 64 p + 8 q + j for thread 8 p + j (8 = rowsPerPlane).
  Value row = arith::AddIOp::create(
      b,
      arith::AddIOp::create(
          b, arith::MulIOp::create(b, colBlock, idx(256)),
          arith::MulIOp::create(
              b, arith::DivUIOp::create(b, tid, idx(rowsPerPlane)), idx(64))),
      arith::AddIOp::create(
          b, arith::MulIOp::create(b, piece, idx(rowsPerPlane)),
          arith::RemUIOp::create(b, tid, idx(rowsPerPlane))));
  Value inside =
      arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row, idx(s.n));
  auto store = scf::IfOp::create(b, inside, /*withElseRegion=*/false);
  b.setInsertionPointToStart(&store.getThenRegion().front());
  Value scale = arith::MulFOp::create(
      b, memref::LoadOp::create(b, xScale, ValueRange{idx(0)}),
      memref::LoadOp::create(b, wScale, ValueRange{idx(0)}));
  Value y = arith::MulFOp::create(
      b, arith::SIToFPOp::create(b, b.getF32Type(), rowSum), scale);
  memref::StoreOp::create(b, y, out, ValueRange{idx(0), row});
}

/// The quantizer prologue of a fused kernel: the block computes each
/// activation row's statistic (max |x| in f32, or sum |x| in f64 as the
/// reference does: per-thread partial sums, added in order per warp and
/// then over the warps), its multiplier and scale (buildQuantMultiplierAndScale, the
/// reference's own arithmetic), and the codes into shared memory, which the
/// GEMV then reads instead of global activations. Workgroup memory:
/// codes [M, K] i8, partials [M, threads], scales and multipliers [M] f32.
void buildQuantPrologue(ImplicitLocOpBuilder &b, Value x, Value codes,
                        Value partials, Value mults, Value scales,
                        const LayerShape &s, const LaunchShape &launch) {
  const QuantPrologue &q = *s.prologue;
  const int64_t threads = launch.threads();
  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, v);
  };
  Type f32 = b.getF32Type(), f64 = b.getF64Type();
  Type statType = q.mean ? f64 : f32;
  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value zeroStat = arith::ConstantOp::create(b, b.getFloatAttr(statType, 0.0));
  for (int64_t m = 0; m < s.m; ++m) {
    auto loop = scf::ForOp::create(b, tid, idx(s.k), idx(threads),
                                   ValueRange{zeroStat});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value v = memref::LoadOp::create(b, x,
                                       ValueRange{idx(m), loop.getInductionVar()});
      Value a = absBySignBit(b, v);
      Value acc = loop.getRegionIterArgs()[0];
      Value next = q.mean ? Value(arith::AddFOp::create(
                                b, acc, arith::ExtFOp::create(b, f64, a)))
                          : Value(arith::MaximumFOp::create(b, acc, a));
      scf::YieldOp::create(b, next);
    }
    memref::StoreOp::create(b, loop.getResult(0), partials,
                            ValueRange{idx(m), tid});
  }
  gpu::BarrierOp::create(b);
  // Partials [t0, t0 + count) of row m in order, from shared memory.
  auto combine = [&](int64_t m, Value t0, int64_t count, int64_t stride) {
    auto loop = scf::ForOp::create(b, idx(0), idx(count), idx(1),
                                   ValueRange{zeroStat});
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(loop.getBody());
    Value t = arith::AddIOp::create(
        b, t0, arith::MulIOp::create(b, loop.getInductionVar(), idx(stride)));
    Value p = memref::LoadOp::create(b, partials, ValueRange{idx(m), t});
    Value acc = loop.getRegionIterArgs()[0];
    scf::YieldOp::create(b, q.mean ? Value(arith::AddFOp::create(b, acc, p))
                                   : Value(arith::MaximumFOp::create(b, acc, p)));
    return loop.getResult(0);
  };
  // Lane 0 of each warp adds its warp's 32 partials (into the first's
  // slot), then thread 0 the warps': short serial chains.
  Value lane = arith::RemUIOp::create(b, tid, idx(kWarp));
  Value isLeader =
      arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, idx(0));
  auto leaders = scf::IfOp::create(b, isLeader, /*withElseRegion=*/false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&leaders.getThenRegion().front());
    for (int64_t m = 0; m < s.m; ++m)
      memref::StoreOp::create(b, combine(m, tid, kWarp, 1), partials,
                              ValueRange{idx(m), tid});
  }
  gpu::BarrierOp::create(b);
  Value isThread0 =
      arith::CmpIOp::create(b, arith::CmpIPredicate::eq, tid, idx(0));
  auto only0 = scf::IfOp::create(b, isThread0, /*withElseRegion=*/false);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&only0.getThenRegion().front());
    double numer = q.mean ? absmeanNumerator(q.bits) : absmaxNumerator(q.bits);
    for (int64_t m = 0; m < s.m; ++m) {
      Value stat = combine(m, idx(0), launch.warpsPerBlock, kWarp);
      if (q.mean)
        stat = arith::TruncFOp::create(
            b, f32,
            arith::DivFOp::create(
                b, stat,
                arith::ConstantOp::create(b, b.getF64FloatAttr(double(s.k)))));
      auto [mult, scale] = buildQuantMultiplierAndScale(b, b.getLoc(), stat,
                                                        numer, q.eps, q.mode,
                                                        q.form);
      memref::StoreOp::create(b, mult, mults, ValueRange{idx(m)});
      memref::StoreOp::create(b, scale, scales, ValueRange{idx(m)});
    }
  }
  gpu::BarrierOp::create(b);
  // codes = clip(roundeven(x * mult), -Q - 1, Q): the reference's
  // roundClampToI8.
  double hi = double(maxSignedCode(q.bits)), lo = -hi - 1;
  Value loV = arith::ConstantOp::create(b, b.getF32FloatAttr(float(lo)));
  Value hiV = arith::ConstantOp::create(b, b.getF32FloatAttr(float(hi)));
  for (int64_t m = 0; m < s.m; ++m) {
    Value mult = memref::LoadOp::create(b, mults, ValueRange{idx(m)});
    auto loop = scf::ForOp::create(b, tid, idx(s.k), idx(threads));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value k = loop.getInductionVar();
    Value v = arith::MulFOp::create(
        b, memref::LoadOp::create(b, x, ValueRange{idx(m), k}), mult);
    memref::StoreOp::create(b, roundClampCode(b, v, loV, hiV), codes,
                            ValueRange{idx(m), k});
  }
  gpu::BarrierOp::create(b);
}

/// The activation quantizer `op` is (absmax_quant or absmean_quant) as a
/// kernel prologue, with its codes and scale results; std::nullopt for any
/// other op.
struct QuantizerOp {
  QuantPrologue prologue;
  Value codes, scale;
};
std::optional<QuantizerOp> quantizerOf(Operation *op) {
  QuantizerOp q;
  auto fill = [&](auto quant) {
    q.prologue.bits = quant.getBits();
    q.prologue.eps = quant.getEps().convertToDouble();
    q.prologue.mode = quant.getEpsMode();
    q.prologue.form = quant.getMultForm();
    q.codes = quant->getResult(0);
    q.scale = quant->getResult(1);
  };
  if (auto absmax = dyn_cast<AbsmaxQuantOp>(op))
    fill(absmax);
  else if (auto absmean = dyn_cast<AbsmeanQuantOp>(op)) {
    q.prologue.mean = true;
    fill(absmean);
  } else
    return std::nullopt;
  return q;
}

/// A gate-first ReLU2-GLU function: bitlinear (gate) and gated_bitlinear
/// (up, gated by it) of the same codes, relu2_glu of the two, returned.
/// std::nullopt if the body is not that shape (the caller then tries a
/// single layer); failure with an error if it is but cannot be compiled.
std::optional<FailureOr<LayerShape>> matchGLUFunction(func::FuncOp func) {
  Block &body = func.getBody().front();
  size_t ops = body.getOperations().size();
  if (!llvm::hasSingleElement(func.getBody()) || (ops != 4 && ops != 5))
    return std::nullopt;
  auto it = body.begin();
  // An optional quantizer in front: the kernel's prologue.
  std::optional<QuantizerOp> quant;
  if (ops == 5) {
    quant = quantizerOf(&*it++);
    if (!quant)
      return std::nullopt;
  }
  auto gateOp = dyn_cast<BitLinearOp>(*it++);
  auto upOp = dyn_cast<GatedBitLinearOp>(*it++);
  auto glu = dyn_cast<ReLU2GLUOp>(*it++);
  auto ret = dyn_cast<func::ReturnOp>(*it);
  if (!gateOp || !upOp || !glu || !ret)
    return std::nullopt;
  auto fail = [&](const Twine &why) -> FailureOr<LayerShape> {
    func.emitError("a gate-first ReLU2-GLU kernel needs ") << why;
    return failure();
  };
  if (upOp.getGate() != gateOp.getResult() || glu.getGate() != gateOp.getResult() ||
      glu.getUp() != upOp.getResult() || ret.getNumOperands() != 1 ||
      ret.getOperand(0) != glu.getResult())
    return fail("relu2_glu(gate, gated_bitlinear(.., gate)) of the gate "
                "bitlinear, returned");
  if (upOp.getInput() != gateOp.getInput() ||
      upOp.getInputScale() != gateOp.getInputScale())
    return fail("the gate and up projections to share their input codes and "
                "scales");
  if (quant && (gateOp.getInput() != quant->codes ||
                gateOp.getInputScale() != quant->scale))
    return fail("the quantizer's codes and scale as the projections' input");
  auto x = cast<RankedTensorType>(gateOp.getInput().getType());
  auto pg = dyn_cast<PackedTernaryType>(gateOp.getWeight().getType());
  auto pu = dyn_cast<PackedTernaryType>(upOp.getWeight().getType());
  if (!x.hasStaticShape() || !x.getElementType().isInteger(8))
    return fail("i8 input codes with a static shape");
  if (!pg || !pu || pg != pu || pg.getLayout() != TernaryLayout::bits2 ||
      pg.getShape().size() != 2)
    return fail("both weights as the same !bitnet.packed_ternary<NxK, bits2>");
  LayerShape s;
  s.k = x.getShape().back();
  s.m = x.getNumElements() / s.k;
  s.n = pg.getShape()[0];
  s.glu = true;
  if (quant)
    s.prologue = quant->prologue;
  if (s.k % kChunkWeights != 0)
    return fail("K a multiple of 64, got " + Twine(s.k));
  if (quant && (s.m > kUnrollMaxRows || s.m * s.k > kMaxFusedCodeBytes))
    return fail("M <= " + Twine(kUnrollMaxRows) + " and M * K <= " +
                Twine(kMaxFusedCodeBytes) + " for a quantizer prologue");
  return s;
}

/// The layer a function computes, or failure with an error on the function.
FailureOr<LayerShape> matchLayerFunction(func::FuncOp func) {
  Block &body = func.getBody().front();
  auto fail = [&](const Twine &why) {
    func.emitError("--target=cuda compiles functions that are one BitLinear "
                   "layer (whole models do not run on the GPU yet): ")
        << why;
    return failure();
  };
  if (!llvm::hasSingleElement(func.getBody()) ||
      (body.getOperations().size() != 2 && body.getOperations().size() != 3))
    return fail("the body must be one bitnet.bitlinear (after one absmax_quant "
                "or absmean_quant of its input) and a return");
  // bitlinear, or gated_bitlinear (its gate one more argument).
  Operation *last = &*std::prev(body.end(), 2);
  auto plain = dyn_cast<BitLinearOp>(last);
  auto gated = dyn_cast<GatedBitLinearOp>(last);
  auto ret = dyn_cast<func::ReturnOp>(body.back());
  if ((!plain && !gated) || !ret || ret.getNumOperands() != 1 ||
      ret.getOperand(0) != last->getResult(0))
    return fail("the body must end in one bitnet.bitlinear (or "
                "bitnet.gated_bitlinear) and a return of it");
  struct {
    Value input, inputScale, weight;
  } op{plain ? plain.getInput() : gated.getInput(),
       plain ? plain.getInputScale() : gated.getInputScale(),
       plain ? plain.getWeight() : gated.getWeight()};
  std::optional<QuantPrologue> prologue;
  if (body.getOperations().size() == 3) {
    std::optional<QuantizerOp> quant = quantizerOf(&body.front());
    if (!quant)
      return fail("the op before the bitlinear must be bitnet.absmax_quant or "
                  "bitnet.absmean_quant (the kernel's quantizer prologue)");
    if (quant->codes != op.input || quant->scale != op.inputScale)
      return fail("the quantizer's codes and scale must be the bitlinear's "
                  "input and input scale");
    prologue = quant->prologue;
  }
  // (With only these ops, every other operand is an argument.)
  auto x = cast<RankedTensorType>(op.input.getType());
  auto packed = dyn_cast<PackedTernaryType>(op.weight.getType());
  if (!x.hasStaticShape() || !x.getElementType().isInteger(8))
    return fail("the input codes must be i8 with a static shape");
  if (!packed || packed.getShape().size() != 2 ||
      (packed.getLayout() != TernaryLayout::bits2 &&
       packed.getLayout() != TernaryLayout::bits2_cols))
    return fail("the weights must be !bitnet.packed_ternary<NxK, bits2> (or "
                "bits2_cols for the column kernel)");
  LayerShape s;
  s.k = x.getShape().back();
  s.m = x.getNumElements() / s.k;
  s.n = packed.getShape()[0];
  if (s.k % kChunkWeights != 0)
    return fail("K = " + Twine(s.k) + " must be a multiple of 64");
  s.prologue = prologue;
  s.gated = bool(gated);
  s.columns = packed.getLayout() == TernaryLayout::bits2_cols;
  if (s.columns) {
    int64_t sharedBytes = columnSharedBytes(s.k);
    if (s.m != 1 || prologue || gated)
      return fail("the column kernel (bits2_cols weights) takes codes of one "
                  "activation row (M = 1, no quantizer prologue, not gated); "
                  "got M = " + Twine(s.m) +
                  " (compile bits2 weights for the dense kernel)");
    if (s.k > 65536 || sharedBytes > 48 * 1024)
      return fail("the column kernel keeps the non-zero inputs in shared "
                  "memory: K = " + Twine(s.k) + " needs " + Twine(sharedBytes) +
                  " bytes, more than 48 KiB");
    return s;
  }
  if (prologue && (s.m > kUnrollMaxRows || s.m * s.k > kMaxFusedCodeBytes))
    return fail("a quantizer prologue needs M <= " + Twine(kUnrollMaxRows) +
                " and M * K <= " + Twine(kMaxFusedCodeBytes) +
                " (the codes stay in shared memory); got M = " + Twine(s.m) +
                ", K = " + Twine(s.k));
  return s;
}

} // namespace

gpu::GPUFuncOp gpu_kernels::createKernel(ImplicitLocOpBuilder &b,
                                         StringRef name,
                                         gpu::GPUModuleOp gpuModule,
                                         ArrayRef<Type> params,
                                         ArrayRef<Type> shared,
                                         int64_t threads, int64_t blocks,
                                         const LayerShape &s) {
  MLIRContext *ctx = b.getContext();
  b.setInsertionPointToEnd(gpuModule.getBody());
  auto kernel = gpu::GPUFuncOp::create(
      b, name, FunctionType::get(ctx, params, {}), shared);
  kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
  kernel.setKnownBlockSizeAttr(
      DenseI32ArrayAttr::get(ctx, {int32_t(threads), 1, 1}));
  kernel->setAttr(kGPUGridSizeAttrName,
                  DenseI32ArrayAttr::get(ctx, {int32_t(blocks), 1, 1}));
  kernel->setAttr(kGPULayerAttrName,
                  DenseI64ArrayAttr::get(ctx, {s.m, s.n, s.k}));
  b.setInsertionPointToStart(&kernel.getBody().front());
  return kernel;
}

namespace {

struct BitLinearToGPUPass
    : mlir::bitnet::impl::BitNetBitLinearToGPUBase<BitLinearToGPUPass> {
  using Base::Base;

  /// The column kernel of a bits2_cols layer (buildColumnGemv); its
  /// launch shape is fixed by the layout, not by the pass options.
  void buildColumnKernel(func::FuncOp func, gpu::GPUModuleOp gpuModule,
                         const LayerShape &s) {
    MLIRContext *ctx = &getContext();
    Type i8 = IntegerType::get(ctx, 8), i32 = IntegerType::get(ctx, 32),
         f32 = Float32Type::get(ctx);
    int64_t blocks = (s.n + 255) / 256;
    SmallVector<Type> params{MemRefType::get({1, s.k}, i8),
                             MemRefType::get({1}, f32),
                             MemRefType::get({s.k, blocks, 16}, i32),
                             MemRefType::get({1}, f32),
                             MemRefType::get({1, s.n}, f32)};
    auto workgroup = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
    auto sharedOf = [&](ArrayRef<int64_t> shape) {
      return MemRefType::get(shape, i32, MemRefLayoutAttrInterface{}, workgroup);
    };
    SmallVector<Type> shared{sharedOf({s.k}), sharedOf({kColumnWarps}),
                             sharedOf({kColumnWarps, kColumnRows})};
    ImplicitLocOpBuilder b(func.getLoc(), ctx);
    auto kernel = createKernel(b, func.getSymName(), gpuModule, params, shared,
                               kColumnThreads, blocks * kColumnPieces, s);
    kernel->setAttr(kGPUColumnsAttrName, UnitAttr::get(ctx));
    ArrayRef<BlockArgument> wg = kernel.getWorkgroupAttributions();
    buildColumnGemv(b, kernel.getArgument(0), kernel.getArgument(1),
                    kernel.getArgument(2), kernel.getArgument(3),
                    kernel.getArgument(4), wg[0], wg[1], wg[2], s);
    gpu::ReturnOp::create(b);
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    if (mmaStagesAhead < 1 || mmaStagesAhead > 3) {
      module.emitError("bitnet-bitlinear-to-gpu: mma-stages-ahead must be 1 "
                       "to 3, not ")
          << int64_t(mmaStagesAhead);
      return signalPassFailure();
    }
    if (mmaWarpRows != 0 && mmaWarpRows != 16 && mmaWarpRows != 32) {
      module.emitError("bitnet-bitlinear-to-gpu: mma-warp-rows must be 0, 16 or 32, not ")
          << int64_t(mmaWarpRows);
      return signalPassFailure();
    }
    SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
    if (funcs.empty())
      return;
    gpu::GPUModuleOp gpuModule =
        getOrCreateKernelModule(module, /*atEnd=*/true);
    for (func::FuncOp func : funcs) {
      if (func.isPrivate() || func.isDeclaration())
        continue;
      std::optional<FailureOr<LayerShape>> gluShape = matchGLUFunction(func);
      FailureOr<LayerShape> shape =
          gluShape ? *gluShape : matchLayerFunction(func);
      if (failed(shape))
        return signalPassFailure();
      const LayerShape &s = *shape;
      LaunchShape launch = chooseLaunch(s, rowsPerWarp, warpsPerBlock);
      if (s.columns) {
        buildColumnKernel(func, gpuModule, s);
        func.erase();
        continue;
      }
      if (tensorCores && takesMmaKernel(s)) {
        buildMmaLayerKernel(gpuModule, func.getLoc(), func.getSymName(), s,
                            mmaStagesAhead, mmaWarpRows);
        func.erase();
        continue;
      }
      buildLayerKernel(gpuModule, func.getLoc(), func.getSymName(), s, launch);
      func.erase();
    }
  }
};

} // namespace

std::optional<QuantPrologue> gpu_kernels::prologueOf(Operation *op) {
  std::optional<QuantizerOp> q = quantizerOf(op);
  if (!q)
    return std::nullopt;
  return q->prologue;
}

/// Rows per warp and warps per block when the pass options leave them open,
/// from the H200 sweep of bench/gpu (docs/GPU.md): for decode (M <= 2),
/// blocks of 2 warps, 2 rows per warp (4 from N >= 6144: the regrouped
/// activations serve more rows and the grid still covers the SMs); for
/// more activation rows, 4 x 4 (M * R accumulators live in registers).
LaunchShape gpu_kernels::chooseLaunch(const LayerShape &s, int64_t rows,
                                      int64_t warps) {
  bool decode = s.m <= kUnrollMaxRows;
  int64_t r = rows > 0 ? rows : (decode ? (s.n >= 6144 ? 4 : 2) : 4);
  int64_t w = warps > 0 ? warps : (decode ? 2 : 4);
  // A quantizer prologue is paid once per block.
  if (s.prologue) {
    r = rows > 0 ? rows : kPrologueRowsPerWarp;
    w = warps > 0 ? warps : kPrologueWarps;
  }
  // Shrink until the rows divide N (the kernel has no row guard).
  while (r > 1 && s.n % r != 0)
    r /= 2;
  while (w > 1 && s.n % (r * w) != 0)
    w /= 2;
  return {r, w};
}

gpu::GPUFuncOp gpu_kernels::buildLayerKernel(gpu::GPUModuleOp gpuModule,
                                             Location loc, StringRef name,
                                             const LayerShape &s,
                                             const LaunchShape &launch,
                                             bool byteWeights,
                                             const ExternalPrologue *external) {
  assert(!(external && s.prologue) && "one prologue at most");
  MLIRContext *ctx = gpuModule.getContext();
  Type i8 = IntegerType::get(ctx, 8), i32 = IntegerType::get(ctx, 32),
       f32 = Float32Type::get(ctx);
  MemRefType wordType = MemRefType::get({s.n, s.k / 16}, i32);
  MemRefType weightType =
      byteWeights ? MemRefType::get({s.n, s.k / 4}, i8) : wordType;
  // Parameters: codes and their scales, or with a prologue the f32
  // activations; then the weights, their scale and the output.
  SmallVector<Type> params;
  if (external)
    params.append(external->params);
  else if (s.prologue)
    params.push_back(MemRefType::get({s.m, s.k}, f32));
  else
    params.append({MemRefType::get({s.m, s.k}, i8),
                   MemRefType::get({s.m}, f32)});
  params.append({weightType,
                 MemRefType::get({s.rowScales ? s.n : 1}, f32)});
  if (s.glu) // the up projection's weight and scale
    params.append({weightType,
                   MemRefType::get({1}, f32)});
  if (s.gated)
    params.push_back(MemRefType::get({s.m, s.n}, f32));
  params.push_back(MemRefType::get({s.m, s.n}, f32));
  SmallVector<Type> shared;
  auto workgroup = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  auto sharedOf = [&](ArrayRef<int64_t> shape, Type t) {
    return MemRefType::get(shape, t, MemRefLayoutAttrInterface{}, workgroup);
  };
  if (external) {
    shared = {sharedOf({s.m, s.k}, i8), sharedOf({s.m}, f32)};
    shared.append(external->shared);
  } else if (s.prologue) {
    int64_t threads = launch.threads();
    shared = {sharedOf({s.m, s.k}, i8),
              sharedOf({s.m, threads},
                       s.prologue->mean ? Type(Float64Type::get(ctx)) : f32),
              sharedOf({s.m}, f32), sharedOf({s.m}, f32)};
  }
  ImplicitLocOpBuilder b(loc, ctx);
  auto kernel = createKernel(b, name, gpuModule, params, shared,
                             launch.threads(), launch.blocks(s), s);
  // The GEMV reads the codes 16 bytes at a time; the prologue's arrays
  // after them may hold f64 (a norm's sums), and the codes' length only
  // keeps a multiple of 4 bytes: every array 16-byte aligned.
  if (external)
    for (unsigned i = 0; i < shared.size(); ++i)
      kernel.setWorkgroupAttributionAttr(i, "llvm.align",
                                         b.getI64IntegerAttr(16));
  if (s.prologue)
    kernel->setAttr(kGPUPrologueAttrName,
                    StringAttr::get(ctx, (s.prologue->mean ? "absmean_int"
                                                           : "absmax_int") +
                                             Twine(s.prologue->bits)));
  if (s.gated)
    kernel->setAttr(kGPUGatedAttrName, UnitAttr::get(ctx));
  if (s.glu)
    kernel->setAttr(kGPUGLUAttrName, UnitAttr::get(ctx));
  // After the activations: weight, weight_scale, then the up
  // projection's weight and scale (GLU) or the gate (gated), and out.
  unsigned first = external ? external->params.size() : s.prologue ? 1 : 2;
  // A block's weights are its rows' bytes: declared for
  // bitnet-dependent-launch, which prefetches them before the kernel waits
  // (the up rows too: most are read, and their loads start after the gate's).
  int64_t blockBytes =
      launch.rowsPerWarp * launch.warpsPerBlock * (s.k / 4);
  SmallVector<int64_t> reads{first, blockBytes};
  if (s.glu)
    reads.append({first + 2, blockBytes});
  kernel->setAttr(kGPUBlockReadsAttrName,
                  DenseI64ArrayAttr::get(ctx, reads));
  // The packed bytes as the words the loads read (a view: no copy).
  auto words = [&](Value weight) -> Value {
    if (!byteWeights)
      return weight;
    Value flat = memref::CollapseShapeOp::create(
        b, weight, ArrayRef<ReassociationIndices>{{0, 1}});
    return memref::ViewOp::create(b, wordType, flat,
                                  arith::ConstantIndexOp::create(b, 0),
                                  ValueRange{});
  };
  // The codes and their scales: arguments, or the prologue's shared
  // memory (it quantizes the f32 argument 0 into them).
  ArrayRef<BlockArgument> wg = kernel.getWorkgroupAttributions();
  Value x = s.prologue || external ? wg[0] : kernel.getArgument(0),
        xScale = external     ? wg[1]
                 : s.prologue ? wg[3]
                              : kernel.getArgument(1);
  auto quantize = [&] {
    if (external) {
      external->build(b, kernel, wg[0], wg[1]);
      gpu::BarrierOp::create(b);
      return;
    }
    buildQuantPrologue(b, kernel.getArgument(0), wg[0], wg[1], wg[2],
                       wg[3], s, launch);
  };
  llvm::function_ref<void()> prologue = nullptr;
  if (s.prologue || external)
    prologue = quantize;
  Value weight = words(kernel.getArgument(first)),
        weightScale = kernel.getArgument(first + 1),
        out = kernel.getArgument(kernel.getNumArguments() - 1);
  if (s.glu)
    buildGLU(b, x, xScale, weight, weightScale,
             words(kernel.getArgument(first + 2)), kernel.getArgument(first + 3),
             out, s, launch, prologue);
  else
    buildGemv(b, x, xScale, weight, weightScale,
              s.gated ? Value(kernel.getArgument(first + 2)) : Value(),
              out, s, launch, prologue);
  gpu::ReturnOp::create(b);
  return kernel;
}

Value gpu_kernels::absBySignBit(ImplicitLocOpBuilder &b, Value v) {
  Type i32 = b.getI32Type();
  return arith::BitcastOp::create(
      b, b.getF32Type(),
      arith::AndIOp::create(b, arith::BitcastOp::create(b, i32, v),
                            arith::ConstantIntOp::create(b, i32, 0x7fffffff)));
}

Value gpu_kernels::roundClampCode(ImplicitLocOpBuilder &b, Value v, Value lo,
                                  Value hi) {
  Value r = LLVM::RintOp::create(b, v);
  r = arith::MinimumFOp::create(b, arith::MaximumFOp::create(b, r, lo), hi);
  return arith::FPToSIOp::create(b, b.getI8Type(), r);
}
