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

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETLAUNCHBITLINEARKERNELS
#include "bitnet/Conversion/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;
using namespace mlir::bitnet;
using namespace mlir::bitnet::gpu_kernels;

namespace {

/// `value` (static shape, `shape.size()` <= its rank, or rank 0 to [1]) as
/// a tensor of `shape`: the leading dimensions collapsed into the first.
Value reshapeTo(OpBuilder &b, Location loc, Value value,
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

/// The kernel's result [M, N] in the op's result shape [.., N].
Value expandTo(OpBuilder &b, Location loc, Value value, RankedTensorType type) {
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
    if (s.m > maxRows || s.k % kChunkWeights != 0 || packed.getShape()[1] != s.k ||
        !op.getWeight().getDefiningOp<PackedConstantOp>() ||
        !isStatic(op.getInputScale(), f32, s.m) ||
        !isStatic(op.getWeightScale(), f32, 1) ||
        !isStatic(op.getResult(), f32, s.m * s.n))
      return std::nullopt;
    return s;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<std::pair<BitLinearOp, LayerShape>> sites;
    module.walk([&](BitLinearOp op) {
      if (std::optional<LayerShape> s = match(op))
        sites.push_back({op, *s});
    });
    if (sites.empty())
      return;
    gpu::GPUModuleOp gpuModule = getOrCreateKernelModule(module);
    Type i8 = IntegerType::get(ctx, 8), f32 = Float32Type::get(ctx);
    llvm::StringMap<gpu::GPUFuncOp> kernels;
    for (auto [op, s] : sites) {
      LaunchShape launch = chooseLaunch(s, 0, 0);
      std::string name = ("bitlinear_m" + Twine(s.m) + "_n" + Twine(s.n) +
                          "_k" + Twine(s.k))
                             .str();
      gpu::GPUFuncOp &kernel = kernels[name];
      if (!kernel)
        kernel = buildLayerKernel(gpuModule, op.getLoc(), name, s, launch,
                                  /*byteWeights=*/true);

      OpBuilder b(op);
      Location loc = op.getLoc();
      auto packed = op.getWeight().getDefiningOp<PackedConstantOp>();
      Value bytes = arith::ConstantOp::create(
          b, loc, cast<TypedAttr>(packed.getValue()));
      auto buffer = [&](Value tensor, ArrayRef<int64_t> shape,
                        Type element) -> Value {
        Value t = reshapeTo(b, loc, tensor, shape);
        return bufferization::ToBufferOp::create(
            b, loc, MemRefType::get(shape, element), t, /*read_only=*/true);
      };
      Value args[] = {buffer(op.getInput(), {s.m, s.k}, i8),
                      buffer(op.getInputScale(), {s.m}, f32),
                      buffer(bytes, {s.n, s.k / 4}, i8),
                      buffer(op.getWeightScale(), {1}, f32),
                      memref::AllocOp::create(
                          b, loc, MemRefType::get({s.m, s.n}, f32))};
      auto dim = [&](int64_t v) -> Value {
        return arith::ConstantIndexOp::create(b, loc, v);
      };
      Value one = dim(1);
      gpu::LaunchFuncOp::create(
          b, loc, kernel, gpu::KernelDim3{dim(launch.blocks(s)), one, one},
          gpu::KernelDim3{dim(launch.threads()), one, one},
          /*dynamicSharedMemorySize=*/Value(), ValueRange(args));
      Value out = bufferization::ToTensorOp::create(
          b, loc, RankedTensorType::get({s.m, s.n}, f32), args[4],
          /*restrict=*/true, /*writable=*/true);
      op.replaceAllUsesWith(
          expandTo(b, loc, out, cast<RankedTensorType>(op.getType())));
      op.erase();
      if (packed->use_empty())
        packed.erase();
    }
  }
};

} // namespace

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
