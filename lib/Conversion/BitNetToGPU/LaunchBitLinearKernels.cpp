//===- LaunchBitLinearKernels.cpp - A model's BitLinear ops as kernel launches =//
//
// The whole-model CUDA path lowers every op to a generic grid of threads;
// a decode BitLinear deserves the GEMV kernel bitnet-bitlinear-to-gpu
// builds. This pass swaps it in at tensor level; the pass description in
// Conversion/Passes.td has the contract.
//
//===----------------------------------------------------------------------===//

#include "BitLinearKernels.h"
#include "bitnet/Conversion/BitNetToGPU/BitNetToGPU.h"
#include "bitnet/Dialect/BitNet/IR/BitNetDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "mlir/IR/Matchers.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETLAUNCHBITLINEARKERNELS
#include "bitnet/Conversion/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;
using namespace mlir::bitnet;
using namespace mlir::bitnet::gpu_kernels;

namespace {

/// A static f32/i8 tensor of `elements` elements.
bool isStatic(Value v, Type element, int64_t elements) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && t.hasStaticShape() && t.getElementType() == element &&
         t.getNumElements() == elements;
}

struct LaunchBitLinearKernelsPass
    : mlir::bitnet::impl::BitNetLaunchBitLinearKernelsBase<
          LaunchBitLinearKernelsPass> {
  using Base::Base;

  /// The layer `op` computes, if it gets the kernel: few rows, static
  /// shapes, constant bits2 weights.
  std::optional<LayerShape> match(BitLinearOp op) {
    auto x = cast<RankedTensorType>(op.getInput().getType());
    auto packed = dyn_cast<PackedTernaryType>(op.getWeight().getType());
    auto result = dyn_cast<RankedTensorType>(op.getResult().getType());
    if (!x.hasStaticShape() || x.getRank() < 2 ||
        !x.getElementType().isInteger(8) || !packed ||
        packed.getLayout() != TernaryLayout::bits2 ||
        packed.getShape().size() != 2 || !result || !result.hasStaticShape())
      return std::nullopt;
    LayerShape s;
    s.k = x.getShape().back();
    s.m = x.getNumElements() / s.k;
    s.n = packed.getShape()[0];
    Type f32 = Float32Type::get(op.getContext());
    bool mma = tensorCores && takesMmaKernel(s);
    if ((s.m > maxRows && !mma) || s.k % kChunkWeights != 0 ||
        packed.getShape()[1] != s.k ||
        !op.getWeight().getDefiningOp<PackedConstantOp>() ||
        !isStatic(op.getInputScale(), f32, s.m) ||
        !isStatic(op.getWeightScale(), f32, 1) ||
        !isStatic(op.getResult(), f32, s.m * s.n))
      return std::nullopt;
    return s;
  }

  /// relu2_glu(bitlinear(x, Wg), bitlinear(x, Wu)) whose projections get
  /// the kernel and feed nothing else: the gate-first GLU kernel (one launch
  /// for both projections, up rows read only where the gate is open).
  /// Decode sizes only (M <= 2: the kernel's unrolled form).
  std::optional<LayerShape> matchGLU(ReLU2GLUOp glu, BitLinearOp &gate,
                                     BitLinearOp &up) {
    gate = glu.getGate().getDefiningOp<BitLinearOp>();
    up = glu.getUp().getDefiningOp<BitLinearOp>();
    if (!gate || !up || gate == up || !gate->hasOneUse() || !up->hasOneUse() ||
        gate.getInput() != up.getInput() ||
        gate.getInputScale() != up.getInputScale() ||
        gate.getType() != up.getType() || glu.getType() != gate.getType())
      return std::nullopt;
    std::optional<LayerShape> sg = match(gate), su = match(up);
    if (!sg || !su || sg->n != su->n || sg->m > kUnrollMaxRows)
      return std::nullopt;
    sg->glu = true;
    return sg;
  }

  /// The constant scalar weight scale of `op`, if it is one.
  static std::optional<float> constantScale(BitLinearOp op) {
    DenseElementsAttr attr;
    if (!matchPattern(op.getWeightScale(), m_Constant(&attr)) ||
        attr.getNumElements() != 1 || !attr.getElementType().isF32())
      return std::nullopt;
    return *attr.getValues<float>().begin();
  }

  /// The packed bytes of `op`'s constant weights as a dense i8 attribute
  /// (what stacking concatenates); null for any other attribute.
  static DenseIntElementsAttr weightBytes(BitLinearOp op) {
    auto packed = op.getWeight().getDefiningOp<PackedConstantOp>();
    auto dense = dyn_cast<DenseIntElementsAttr>(packed.getValue());
    return dense && dense.getElementType().isInteger(8) ? dense
                                                        : DenseIntElementsAttr();
  }

  /// Output rows (N) of a layer `match` accepted.
  static int64_t outputRows(BitLinearOp op) {
    return cast<PackedTernaryType>(op.getWeight().getType()).getShape()[0];
  }

  /// Whether `ops` (layers of the same codes with constant weight scales)
  /// run as one stacked kernel: two or more in one block, weights that are
  /// plain bytes, and no GLU among their users (in prefill, where a GLU
  /// gets no kernel: the decode GLU kernel reads their weights as they are,
  /// and a stacked copy would store them twice).
  static bool stackable(ArrayRef<BitLinearOp> ops) {
    return ops.size() > 1 && llvm::all_of(ops, [&](BitLinearOp op) {
             return op->getBlock() == ops.front()->getBlock() &&
                    weightBytes(op) &&
                    llvm::none_of(op->getUsers(), [](Operation *u) {
                      return isa<ReLU2GLUOp>(u);
                    });
           });
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    if (mmaStagesAhead < 1 || mmaStagesAhead > 3) {
      module.emitError("bitnet-launch-bitlinear-kernels: mma-stages-ahead "
                       "must be 1 to 3, not ")
          << int64_t(mmaStagesAhead);
      return signalPassFailure();
    }
    if (mmaWarpRows != 0 && mmaWarpRows != 16 && mmaWarpRows != 32) {
      module.emitError("bitnet-launch-bitlinear-kernels: mma-warp-rows must be 0, 16 or 32, not ")
          << int64_t(mmaWarpRows);
      return signalPassFailure();
    }
    struct Site {
      Operation *anchor; // the launch goes in front of it
      // What the launch computes: one bitlinear; relu2_glu of (gate, up);
      // or (stacked) several bitlinears of the same input, their weights
      // stacked row-wise, each result a column slice of the output.
      Operation *glu = nullptr;
      SmallVector<BitLinearOp, 3> layers;
      LayerShape shape;
    };
    SmallVector<Site> sites;
    llvm::DenseSet<Operation *> taken;
    module.walk([&](ReLU2GLUOp glu) {
      BitLinearOp gate, up;
      if (std::optional<LayerShape> s = matchGLU(glu, gate, up)) {
        sites.push_back({glu, glu, {gate, up}, *s});
        taken.insert(gate);
        taken.insert(up);
      }
    });
    // The rest, grouped by input: layers reading the same codes (q, k, v)
    // with constant weight scales run as one stacked kernel.
    llvm::MapVector<std::pair<Value, Value>, SmallVector<BitLinearOp, 3>>
        byInput;
    SmallVector<std::pair<BitLinearOp, LayerShape>> singles;
    module.walk([&](BitLinearOp op) {
      if (taken.contains(op))
        return;
      std::optional<LayerShape> s = match(op);
      if (!s)
        return;
      if (stackLayers && constantScale(op))
        byInput[{op.getInput(), op.getInputScale()}].push_back(op);
      else
        singles.push_back({op, *s});
    });
    for (auto &[key, ops] : byInput) {
      if (!stackable(ops)) {
        for (BitLinearOp op : ops)
          singles.push_back({op, *match(op)});
        continue;
      }
      LayerShape s = *match(ops.front());
      s.n = 0;
      for (BitLinearOp op : ops)
        s.n += outputRows(op);
      s.rowScales = true;
      // In front of the first of them (the walk visits a block's ops in
      // order; the shared input dominates all of them).
      sites.push_back(
          {ops.front(), nullptr, SmallVector<BitLinearOp, 3>(ops), s});
    }
    for (auto &[op, s] : singles)
      sites.push_back({op, nullptr, {op}, s});
    if (sites.empty())
      return;
    gpu::GPUModuleOp gpuModule = getOrCreateKernelModule(module);
    Type i8 = IntegerType::get(ctx, 8), f32 = Float32Type::get(ctx);
    llvm::StringMap<gpu::GPUFuncOp> kernels;
    for (Site &site : sites) {
      const LayerShape &s = site.shape;
      OpBuilder b(site.anchor);
      Location loc = site.anchor->getLoc();
      auto buffer = [&](Value tensor, ArrayRef<int64_t> shape,
                        Type element) -> Value {
        Value t = reshapeTo(b, loc, tensor, shape);
        return bufferization::ToBufferOp::create(
            b, loc, MemRefType::get(shape, element), t, /*read_only=*/true);
      };
      // Parameters: codes, scales, then each projection's weight bytes and
      // scale (stacked: all weights, a scale per row), then the output.
      BitLinearOp firstLayer = site.layers.front();
      SmallVector<Value> args = {buffer(firstLayer.getInput(), {s.m, s.k}, i8),
                                 buffer(firstLayer.getInputScale(), {s.m}, f32)};
      if (s.rowScales) {
        std::vector<int8_t> bytes;
        std::vector<float> scales;
        for (BitLinearOp layer : site.layers) {
          for (APInt v : weightBytes(layer).getValues<APInt>())
            bytes.push_back(int8_t(v.getSExtValue()));
          scales.insert(scales.end(), outputRows(layer), *constantScale(layer));
        }
        auto bytesType = RankedTensorType::get({s.n, s.k / 4}, i8);
        Value w = arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(bytesType, ArrayRef<int8_t>(bytes)));
        auto scalesType = RankedTensorType::get({s.n}, f32);
        Value ws = arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(scalesType, ArrayRef<float>(scales)));
        args.push_back(buffer(w, {s.n, s.k / 4}, i8));
        args.push_back(buffer(ws, {s.n}, f32));
      } else {
        for (BitLinearOp layer : site.layers) {
          auto packed = layer.getWeight().getDefiningOp<PackedConstantOp>();
          Value bytes = arith::ConstantOp::create(
              b, loc, cast<TypedAttr>(packed.getValue()));
          args.push_back(buffer(bytes, {s.n, s.k / 4}, i8));
          args.push_back(buffer(layer.getWeightScale(), {1}, f32));
        }
      }
      args.push_back(
          memref::AllocOp::create(b, loc, MemRefType::get({s.m, s.n}, f32)));

      // Many rows (prefill chunks) on tensor cores, else the GEMV kernel.
      bool mma = tensorCores && takesMmaKernel(s);
      LaunchShape launch = chooseLaunch(s, 0, 0);
      MmaLaunch mmaLaunch = chooseMmaLaunch(s, mmaWarpRows);
      int64_t blocks = mma ? mmaLaunch.blocks(s.n) : launch.blocks(s);
      int64_t threads = mma ? mmaLaunch.threads() : launch.threads();
      std::string name =
          ((s.glu ? "glu_m" : mma ? "bitlinear_mma_m" : "bitlinear_m") +
           Twine(s.m) + "_n" + Twine(s.n) + "_k" + Twine(s.k) +
           (s.rowScales ? "_stacked" : ""))
              .str();
      gpu::GPUFuncOp &kernel = kernels[name];
      if (!kernel)
        kernel = mma ? buildMmaLayerKernel(gpuModule, loc, name, s,
                                           mmaStagesAhead, mmaWarpRows)
                     : buildLayerKernel(gpuModule, loc, name, s, launch,
                                        /*byteWeights=*/true);
      auto dim = [&](int64_t v) -> Value {
        return arith::ConstantIndexOp::create(b, loc, v);
      };
      Value one = dim(1);
      // Tensor cores: the grid's y dimension walks the tiles of rows.
      Value rowTiles = mma ? dim(mmaLaunch.rowTiles(s.m)) : one;
      gpu::LaunchFuncOp::create(
          b, loc, kernel, gpu::KernelDim3{dim(blocks), rowTiles, one},
          gpu::KernelDim3{dim(threads), one, one},
          /*dynamicSharedMemorySize=*/Value(), ValueRange(args));
      Value out = bufferization::ToTensorOp::create(
          b, loc, RankedTensorType::get({s.m, s.n}, f32), args.back(),
          /*restrict=*/true, /*writable=*/true);

      llvm::SmallSetVector<Operation *, 3> packedOps;
      for (BitLinearOp layer : site.layers)
        packedOps.insert(layer.getWeight().getDefiningOp());
      if (site.glu) {
        site.glu->getResult(0).replaceAllUsesWith(expandTo(
            b, loc, out, cast<RankedTensorType>(site.glu->getResult(0).getType())));
        site.glu->erase();
      } else {
        // Each layer's columns of the output (all of it for one layer).
        int64_t offset = 0;
        for (BitLinearOp layer : site.layers) {
          int64_t n = outputRows(layer);
          Value part = out;
          if (site.layers.size() > 1)
            part = tensor::ExtractSliceOp::create(
                b, loc, RankedTensorType::get({s.m, n}, f32), out,
                ValueRange{}, ValueRange{}, ValueRange{},
                b.getDenseI64ArrayAttr({0, offset}),
                b.getDenseI64ArrayAttr({s.m, n}),
                b.getDenseI64ArrayAttr({1, 1}));
          offset += n;
          layer.getResult().replaceAllUsesWith(
              expandTo(b, loc, part, cast<RankedTensorType>(layer.getType())));
        }
      }
      for (BitLinearOp layer : site.layers)
        layer.erase();
      for (Operation *packed : packedOps)
        if (packed->use_empty())
          packed->erase();
    }
  }
};

} // namespace

Value gpu_kernels::reshapeTo(OpBuilder &b, Location loc, Value value,
                             ArrayRef<int64_t> shape) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getShape() == shape)
    return value;
  auto target = RankedTensorType::get(shape, type.getElementType());
  if (type.getRank() == 0)
    return tensor::ExpandShapeOp::create(b, loc, target, value,
                                         ArrayRef<ReassociationIndices>{});
  // [d0 .. dr-1] -> [prod(d0 .. dr-n), dr-n+1 .. dr-1].
  int64_t lead = type.getRank() - int64_t(shape.size());
  SmallVector<ReassociationIndices> groups;
  ReassociationIndices first;
  for (int64_t d = 0; d <= lead; ++d)
    first.push_back(d);
  groups.push_back(first);
  for (int64_t d = lead + 1; d < type.getRank(); ++d)
    groups.push_back({d});
  return tensor::CollapseShapeOp::create(b, loc, target, value, groups);
}

Value gpu_kernels::expandTo(OpBuilder &b, Location loc, Value value,
                            RankedTensorType type) {
  if (cast<RankedTensorType>(value.getType()) == type)
    return value;
  SmallVector<ReassociationIndices> groups;
  ReassociationIndices first;
  for (int64_t d = 0; d + 1 < type.getRank(); ++d)
    first.push_back(d);
  groups.push_back(first);
  groups.push_back({type.getRank() - 1});
  return tensor::ExpandShapeOp::create(b, loc, type, value, groups);
}

namespace {
/// A launch reads and writes the buffers it is given: what our kernels do
/// (they allocate and free nothing).
struct LaunchFuncEffects
    : MemoryEffectOpInterface::ExternalModel<LaunchFuncEffects,
                                             gpu::LaunchFuncOp> {
  void getEffects(Operation *op,
                  SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
                      &effects) const {
    for (OpOperand &operand : op->getOpOperands()) {
      if (!isa<BaseMemRefType>(operand.get().getType()))
        continue;
      effects.emplace_back(MemoryEffects::Read::get(), &operand,
                           SideEffects::DefaultResource::get());
      effects.emplace_back(MemoryEffects::Write::get(), &operand,
                           SideEffects::DefaultResource::get());
    }
  }
};
} // namespace

void mlir::bitnet::registerLaunchFuncMemoryEffects(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, gpu::GPUDialect *) {
    gpu::LaunchFuncOp::attachInterface<LaunchFuncEffects>(*ctx);
  });
}
