//===- LaunchLMHeadKernel.cpp - The LM head as a GEMV kernel launch --------===//
//
// The LM head is the widest layer of a decoder (2B4T: 128256 x 2560 f32,
// 1.3 GB) and the whole-model CUDA path lowered it to one thread per logit,
// serial over K: 8-13 ms per decode step, most of it. This pass gives it a
// bandwidth-shaped kernel: a warp per vocabulary row (or a few), lanes
// reading 16-byte pieces of the row side by side, a shuffle reduction. The
// pass description in Conversion/Passes.td has the contract.
//
//===----------------------------------------------------------------------===//

#include "BitLinearKernels.h"
#include "bitnet/Conversion/BitNetToGPU/BitNetToGPU.h"
#include "bitnet/Transforms/DecoderRecord.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/Matchers.h"

#include "llvm/ADT/StringSwitch.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETLAUNCHLMHEADKERNEL
#include "bitnet/Conversion/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;
using namespace mlir::bitnet;

namespace {

using gpu_kernels::kWarp;
/// Bytes a lane loads from a weight row at once.
constexpr int64_t kPieceBytes = 16;

/// How an LM head stores its weights: f32 as exported, int8 codes whose
/// per-row scale a later op applies (bitnet-int8-lm-head), f16 or bf16
/// (bitnet-half-lm-head).
enum class Storage { F32, I8, F16, BF16 };

/// One LM head: logits[.., N] = x[.., K] . W[N, K].
struct Head {
  linalg::GenericOp op;
  DenseElementsAttr weights; ///< As the op reads them.
  bool transposed;           ///< Weights stored [N, K] (else [K, N]).
  Storage storage;
  int64_t n, k;
  int64_t weightBytes() const {
    return storage == Storage::F32 ? 4 : storage == Storage::I8 ? 1 : 2;
  }
  Type weightType(MLIRContext *ctx) const {
    switch (storage) {
    case Storage::F32:
      return Float32Type::get(ctx);
    case Storage::I8:
      return IntegerType::get(ctx, 8);
    case Storage::F16:
      return Float16Type::get(ctx);
    case Storage::BF16:
      return BFloat16Type::get(ctx);
    }
    llvm_unreachable("storage");
  }
  StringRef name() const {
    static const char *names[] = {"f32", "i8", "f16", "bf16"};
    return names[int(storage)];
  }
};

/// The launch shape: `rows` vocabulary rows per warp, `warps` per block,
/// each lane's pieces of a row in `rounds` of 32, `unroll` rounds per loop
/// iteration (their loads in flight together).
struct Launch {
  int64_t rows, warps, pieces, rounds, unroll;
  int64_t blocks(int64_t n) const {
    int64_t perBlock = rows * warps;
    return (n + perBlock - 1) / perBlock;
  }
};

Launch chooseLaunch(const Head &h, int64_t rows, int64_t warps) {
  Launch l;
  // Narrower rows are fewer bytes: more rows share each x load.
  l.rows = rows > 0 ? rows : (h.storage == Storage::F32 ? 2 : 4);
  l.warps = warps > 0 ? warps : 8;
  l.pieces = h.k * h.weightBytes() / kPieceBytes;
  l.rounds = (l.pieces + kWarp - 1) / kWarp;
  // Small rows: all rounds at once; else groups of up to 4 that divide them.
  l.unroll = l.rounds;
  if (l.rounds > 8)
    for (int64_t u : {4, 2, 1})
      if (l.rounds % u == 0) {
        l.unroll = u;
        break;
      }
  return l;
}

/// Builds the kernel: (x memref<?xKxf32>, w memref<NxKxT>, out
/// memref<?xNxf32>). Warp w of the grid owns rows [w R, w R + R) (clamped:
/// rows past N read row N - 1 and store nothing); for each x row, lane l
/// accumulates pieces l, l + 32, ... of each row in f32 vector lanes, then
/// the lanes' sums are added over the warp and lane 0 stores.
gpu::GPUFuncOp buildKernel(gpu::GPUModuleOp gpuModule, Location loc,
                           StringRef name, const Head &h, const Launch &l) {
  MLIRContext *ctx = gpuModule.getContext();
  Type f32 = Float32Type::get(ctx);
  Type wElem = h.weightType(ctx);
  auto xType = MemRefType::get({ShapedType::kDynamic, h.k}, f32);
  auto wType = MemRefType::get({h.n, h.k}, wElem);
  auto outType = MemRefType::get({ShapedType::kDynamic, h.n}, f32);
  OpBuilder top(gpuModule.getBodyRegion());
  top.setInsertionPointToEnd(&gpuModule.getBodyRegion().front());
  auto func = gpu::GPUFuncOp::create(
      top, loc, name, FunctionType::get(ctx, {xType, wType, outType}, {}));
  func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), UnitAttr::get(ctx));
  func.setKnownBlockSizeAttr(
      DenseI32ArrayAttr::get(ctx, {int32_t(l.warps * kWarp), 1, 1}));
  func->setAttr(kGPUGridSizeAttrName,
                DenseI32ArrayAttr::get(ctx, {int32_t(l.blocks(h.n)), 1, 1}));

  ImplicitLocOpBuilder b(loc, ctx);
  b.setInsertionPointToStart(&func.getBody().front());
  Value x = func.getArgument(0), w = func.getArgument(1),
        out = func.getArgument(2);
  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, v);
  };
  // f32 elements of a piece of the weight row.
  const int64_t perPiece = kPieceBytes / h.weightBytes();
  VectorType accType = VectorType::get({perPiece}, f32);
  VectorType wVec = VectorType::get({perPiece}, wElem);
  VectorType x4 = VectorType::get({4}, f32);

  Value tid = gpu::ThreadIdOp::create(b, gpu::Dimension::x);
  Value bid = gpu::BlockIdOp::create(b, gpu::Dimension::x);
  Value lane = arith::RemUIOp::create(b, tid, idx(kWarp));
  Value warp = arith::AddIOp::create(
      b, arith::MulIOp::create(b, bid, idx(l.warps)),
      arith::DivUIOp::create(b, tid, idx(kWarp)));
  Value row0 = arith::MulIOp::create(b, warp, idx(l.rows));
  SmallVector<Value> rows, inRange;
  for (int64_t r = 0; r < l.rows; ++r) {
    Value row = arith::AddIOp::create(b, row0, idx(r));
    inRange.push_back(
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row, idx(h.n)));
    rows.push_back(arith::MinUIOp::create(b, row, idx(h.n - 1)));
  }
  Value zeroAcc = arith::ConstantOp::create(
      b, accType, DenseElementsAttr::get(accType, b.getF32FloatAttr(0)));
  Value zeroX = arith::ConstantOp::create(
      b, x4, DenseElementsAttr::get(x4, b.getF32FloatAttr(0)));

  Value m = memref::DimOp::create(b, x, 0);
  auto mLoop = scf::ForOp::create(b, idx(0), m, idx(1));
  b.setInsertionPointToStart(mLoop.getBody());
  Value mi = mLoop.getInductionVar();
  SmallVector<Value> init(l.rows, zeroAcc);
  auto kLoop = scf::ForOp::create(b, idx(0), idx(l.rounds), idx(l.unroll), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(kLoop.getBody());
    SmallVector<Value> acc(kLoop.getRegionIterArgs().begin(),
                           kLoop.getRegionIterArgs().end());
    // Every load of the group first (rows x unroll pieces in flight), then
    // the arithmetic.
    SmallVector<SmallVector<Value>> wPieces(l.unroll);
    SmallVector<SmallVector<Value>> xPieces(l.unroll);
    SmallVector<Value> valid(l.unroll);
    for (int64_t u = 0; u < l.unroll; ++u) {
      Value round = arith::AddIOp::create(b, kLoop.getInductionVar(), idx(u));
      Value piece = arith::AddIOp::create(
          b, arith::MulIOp::create(b, round, idx(kWarp)), lane);
      if (l.pieces % kWarp != 0) {
        // Past the row's end (the last round): read piece 0, add zeros.
        valid[u] = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, piece,
                                         idx(l.pieces));
        piece = arith::SelectOp::create(b, valid[u], piece, idx(0));
      }
      Value col = arith::MulIOp::create(b, piece, idx(perPiece));
      for (int64_t r = 0; r < l.rows; ++r)
        wPieces[u].push_back(vector::LoadOp::create(
            b, wVec, w, ValueRange{rows[r], col}, /*nontemporal=*/false,
            llvm::MaybeAlign(kPieceBytes)));
      for (int64_t j = 0; j < perPiece / 4; ++j) {
        Value c = arith::AddIOp::create(b, col, idx(4 * j));
        Value xv = vector::LoadOp::create(b, x4, x, ValueRange{mi, c},
                                          /*nontemporal=*/false,
                                          llvm::MaybeAlign(kPieceBytes));
        if (valid[u])
          xv = arith::SelectOp::create(b, valid[u], xv, zeroX);
        xPieces[u].push_back(xv);
      }
    }
    for (int64_t u = 0; u < l.unroll; ++u) {
      Value xv = xPieces[u][0];
      // The x vectors of 4 as one of the piece's width, pairwise.
      SmallVector<Value> parts(xPieces[u]);
      while (parts.size() > 1) {
        int64_t width = cast<VectorType>(parts[0].getType()).getNumElements();
        SmallVector<int64_t> mask;
        for (int64_t i = 0; i < 2 * width; ++i)
          mask.push_back(i);
        SmallVector<Value> joined;
        for (size_t i = 0; i < parts.size(); i += 2)
          joined.push_back(
              vector::ShuffleOp::create(b, parts[i], parts[i + 1], mask));
        parts = joined;
      }
      xv = parts[0];
      for (int64_t r = 0; r < l.rows; ++r) {
        Value wv = wPieces[u][r];
        if (h.storage == Storage::I8) {
          // v + 128 as the low byte of 2^23's mantissa, minus 2^23 + 128:
          // exactly float(v), in integer ops and one subtraction where
          // arith.sitofp is a conversion at a quarter of the FMA rate.
          auto i8 = VectorType::get({perPiece}, b.getI8Type());
          auto i32 = VectorType::get({perPiece}, b.getI32Type());
          auto splat = [&](Type t, Attribute a) -> Value {
            return arith::ConstantOp::create(
                b, t, DenseElementsAttr::get(cast<ShapedType>(t), a));
          };
          Value biased = arith::ExtUIOp::create(
              b, i32,
              arith::XOrIOp::create(b, wv,
                                    splat(i8, b.getI8IntegerAttr(-128))));
          Value bits = arith::OrIOp::create(
              b, biased, splat(i32, b.getI32IntegerAttr(0x4B000000)));
          wv = arith::SubFOp::create(
              b, arith::BitcastOp::create(b, accType, bits),
              splat(accType, b.getF32FloatAttr(8388736.0f)));
        } else if (h.storage == Storage::BF16) {
          // bf16 is f32's upper half: widen the bits and shift. Integer
          // ops instead of arith.extf's cvt.f32.bf16: the 2B4T head
          // kernel measured 195.7 -> 180.1 us on the H200 (f16: 177.9).
          auto i16 = VectorType::get({perPiece}, b.getI16Type());
          auto i32 = VectorType::get({perPiece}, b.getI32Type());
          Value bits = arith::ExtUIOp::create(
              b, i32, arith::BitcastOp::create(b, i16, wv));
          Value sixteen = arith::ConstantOp::create(
              b, i32, DenseElementsAttr::get(i32, b.getI32IntegerAttr(16)));
          wv = arith::BitcastOp::create(
              b, accType, arith::ShLIOp::create(b, bits, sixteen));
        } else if (h.storage == Storage::F16) {
          wv = arith::ExtFOp::create(b, accType, wv);
        }
        acc[r] = vector::FMAOp::create(b, xv, wv, acc[r]);
      }
    }
    scf::YieldOp::create(b, acc);
  }
  for (int64_t r = 0; r < l.rows; ++r) {
    Value v = kLoop.getResult(r);
    Value sum = vector::ExtractOp::create(b, v, 0);
    for (int64_t i = 1; i < perPiece; ++i)
      sum = arith::AddFOp::create(b, sum, vector::ExtractOp::create(b, v, i));
    for (int32_t offset = kWarp / 2; offset > 0; offset /= 2) {
      auto shuffle = gpu::ShuffleOp::create(b, sum, offset, int32_t(kWarp),
                                            gpu::ShuffleMode::XOR);
      sum = arith::AddFOp::create(b, sum, shuffle.getShuffleResult());
    }
    Value store = arith::AndIOp::create(
        b, inRange[r],
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, lane, idx(0)));
    auto ifOp = scf::IfOp::create(b, store, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    memref::StoreOp::create(b, sum, out, ValueRange{mi, rows[r]});
  }
  b.setInsertionPointAfter(mLoop);
  gpu::ReturnOp::create(b);
  return func;
}

/// The op as an LM head: a matmul tagged by the importer (f32 weights, [K,
/// N] or [N, K]), by bitnet-int8-lm-head (int8 codes [N, K]) or by
/// bitnet-half-lm-head (f16 / bf16 [N, K]) with a constant weight, output
/// width `vocab`, accumulating into a zero fill, the indexing maps of
/// x[.., k] . w -> out[.., n].
std::optional<Head> matchHead(linalg::GenericOp op, int64_t vocab) {
  auto tag = op->getAttrOfType<StringAttr>("bitnet.ukernel");
  if (!tag || !op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1)
    return std::nullopt;
  Head h;
  h.op = op;
  std::optional<Storage> storage =
      llvm::StringSwitch<std::optional<Storage>>(tag.getValue())
          .Cases({"matmul_f32", "matmul_f32_nt"}, Storage::F32)
          .Case("matmul_f32_i8w_nt", Storage::I8)
          .Case("matmul_f32_f16w_nt", Storage::F16)
          .Case("matmul_f32_bf16w_nt", Storage::BF16)
          .Default(std::nullopt);
  if (!storage)
    return std::nullopt;
  h.storage = *storage;
  h.transposed = tag.getValue() != "matmul_f32";
  Value x = op.getDpsInputs()[0];
  auto xType = cast<RankedTensorType>(x.getType());
  auto outType = cast<RankedTensorType>(op.getResult(0).getType());
  if (!xType.getElementType().isF32() || xType.getRank() < 2 ||
      ShapedType::isDynamic(xType.getShape().back()) ||
      outType.getShape().back() != vocab)
    return std::nullopt;
  if (!matchPattern(op.getDpsInputs()[1], m_Constant(&h.weights)) ||
      h.weights.getType().getRank() != 2 ||
      h.weights.getElementType() != h.weightType(op.getContext()))
    return std::nullopt;
  ArrayRef<int64_t> ws = h.weights.getType().getShape();
  h.n = h.transposed ? ws[0] : ws[1];
  h.k = h.transposed ? ws[1] : ws[0];
  if (h.n != vocab || h.k != xType.getShape().back() ||
      h.k % (kPieceBytes / h.weightBytes()) != 0)
    return std::nullopt;
  // Accumulates into zeros.
  auto fill = op.getDpsInits()[0].getDefiningOp<linalg::FillOp>();
  FloatAttr zero;
  if (!fill || !matchPattern(fill.getInputs()[0], m_Constant(&zero)) ||
      !zero.getValue().isZero())
    return std::nullopt;
  // The maps: lead dims, then n, then k.
  MLIRContext *ctx = op.getContext();
  int64_t lead = xType.getRank() - 1, loops = lead + 2;
  if (op.getNumLoops() != unsigned(loops))
    return std::nullopt;
  SmallVector<AffineExpr> xE, oE;
  for (int64_t d = 0; d < lead; ++d) {
    xE.push_back(getAffineDimExpr(d, ctx));
    oE.push_back(getAffineDimExpr(d, ctx));
  }
  AffineExpr dn = getAffineDimExpr(lead, ctx), dk = getAffineDimExpr(lead + 1, ctx);
  xE.push_back(dk);
  oE.push_back(dn);
  SmallVector<AffineMap> expected{
      AffineMap::get(loops, 0, xE, ctx),
      AffineMap::get(loops, 0,
                     h.transposed ? ArrayRef<AffineExpr>{dn, dk}
                                  : ArrayRef<AffineExpr>{dk, dn},
                     ctx),
      AffineMap::get(loops, 0, oE, ctx)};
  if (op.getIndexingMapsArray() != ArrayRef<AffineMap>(expected))
    return std::nullopt;
  return h;
}

/// The weights [N, K] as the kernel reads them.
DenseElementsAttr rowMajor(Head h) {
  if (h.transposed)
    return h.weights;
  // [K, N] -> [N, K]. The raw data of a non-splat f32 attribute is the
  // row-major values.
  auto type = RankedTensorType::get({h.n, h.k}, h.weights.getElementType());
  if (h.weights.isSplat())
    return h.weights.reshape(type);
  ArrayRef<char> raw = h.weights.getRawData();
  const float *src = reinterpret_cast<const float *>(raw.data());
  std::vector<float> dst(size_t(h.n) * h.k);
  for (int64_t kk = 0; kk < h.k; ++kk)
    for (int64_t nn = 0; nn < h.n; ++nn)
      dst[size_t(nn) * h.k + kk] = src[size_t(kk) * h.n + nn];
  return DenseElementsAttr::get(type, ArrayRef<float>(dst));
}

struct LaunchLMHeadKernelPass
    : mlir::bitnet::impl::BitNetLaunchLMHeadKernelBase<LaunchLMHeadKernelPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    std::optional<int64_t> vocab =
        mlir::bitnet::requireDecoderVocab(module, getArgument());
    if (!vocab)
      return signalPassFailure();
    SmallVector<Head> heads;
    module.walk([&](linalg::GenericOp op) {
      if (std::optional<Head> h = matchHead(op, *vocab))
        heads.push_back(*h);
    });
    if (heads.empty())
      return;
    gpu::GPUModuleOp gpuModule = gpu_kernels::getOrCreateKernelModule(module);
    llvm::StringMap<gpu::GPUFuncOp> kernels;
    // One [N, K] copy per distinct weight attribute (prefill and decode
    // entries share the LM head).
    llvm::DenseMap<Attribute, Attribute> rowMajorOf;
    Type f32 = Float32Type::get(ctx);
    for (Head &h : heads) {
      Launch launch = chooseLaunch(h, rowsPerWarp, warpsPerBlock);
      std::string name = ("lm_head_" + h.name() + "_n" +
                          Twine(h.n) + "_k" + Twine(h.k))
                             .str();
      gpu::GPUFuncOp &kernel = kernels[name];
      if (!kernel)
        kernel = buildKernel(gpuModule, h.op.getLoc(), name, h, launch);

      linalg::GenericOp op = h.op;
      OpBuilder b(op);
      Location loc = op.getLoc();
      Attribute &w = rowMajorOf[h.weights];
      if (!w)
        w = rowMajor(h);
      Value weights = arith::ConstantOp::create(b, loc, cast<TypedAttr>(w));
      // x [.., K] -> [M, K]; out [M, N] -> [.., N].
      Value x = op.getDpsInputs()[0];
      auto xType = cast<RankedTensorType>(x.getType());
      int64_t rank = xType.getRank();
      SmallVector<ReassociationIndices> groups(2);
      for (int64_t d = 0; d + 1 < rank; ++d)
        groups[0].push_back(d);
      groups[1].push_back(rank - 1);
      SmallVector<OpFoldResult> outShape =
          tensor::getMixedSizes(b, loc, x);
      outShape.back() = b.getIndexAttr(h.n);
      Value x2 = rank == 2 ? x
                           : Value(tensor::CollapseShapeOp::create(b, loc, x,
                                                                   groups));
      auto x2Type = cast<RankedTensorType>(x2.getType());
      Value xBuf = bufferization::ToBufferOp::create(
          b, loc, MemRefType::get(x2Type.getShape(), f32), x2,
          /*read_only=*/true);
      // The kernel's x is [?, K] whatever M is at compile time.
      auto dynX = MemRefType::get({ShapedType::kDynamic, h.k}, f32);
      if (xBuf.getType() != dynX)
        xBuf = memref::CastOp::create(b, loc, dynX, xBuf);
      auto wType = cast<RankedTensorType>(weights.getType());
      Value wBuf = bufferization::ToBufferOp::create(
          b, loc, MemRefType::get(wType.getShape(), wType.getElementType()),
          weights, /*read_only=*/true);
      // The result buffer [M, N], M static where x's lead dims are.
      int64_t mStatic = x2Type.getShape()[0];
      auto outBufType = MemRefType::get({mStatic, h.n}, f32);
      SmallVector<Value> dynSizes;
      if (ShapedType::isDynamic(mStatic))
        dynSizes.push_back(memref::DimOp::create(b, loc, xBuf, 0));
      Value outBuf = memref::AllocOp::create(b, loc, outBufType, dynSizes);
      auto dynOut = MemRefType::get({ShapedType::kDynamic, h.n}, f32);
      Value outArg = outBufType == dynOut
                         ? outBuf
                         : Value(memref::CastOp::create(b, loc, dynOut, outBuf));
      auto dim = [&](int64_t v) -> Value {
        return arith::ConstantIndexOp::create(b, loc, v);
      };
      Value one = dim(1);
      gpu::LaunchFuncOp::create(
          b, loc, kernel, gpu::KernelDim3{dim(launch.blocks(h.n)), one, one},
          gpu::KernelDim3{dim(launch.warps * kWarp), one, one},
          /*dynamicSharedMemorySize=*/Value(), ValueRange{xBuf, wBuf, outArg});
      Value out = bufferization::ToTensorOp::create(
          b, loc, RankedTensorType::get({mStatic, h.n}, f32), outBuf,
          /*restrict=*/true, /*writable=*/true);
      auto resultType = cast<RankedTensorType>(op.getResult(0).getType());
      Value result =
          rank == 2 ? out
                    : Value(tensor::ExpandShapeOp::create(b, loc, resultType,
                                                          out, groups, outShape));
      Operation *fill = op.getDpsInits()[0].getDefiningOp();
      Operation *oldWeights = op.getDpsInputs()[1].getDefiningOp();
      op.getResult(0).replaceAllUsesWith(result);
      op.erase();
      for (Operation *dead : {fill, oldWeights})
        if (dead != weights.getDefiningOp() && dead->use_empty())
          dead->erase();
    }
  }
};

} // namespace
