//===- GemvPrologue.cpp - a launch's work as a GEMV kernel's prologue -----===//
//
// At decode a quantizer's codes feed one GEMV launch; the launch passes that
// build the quantizer's kernel (the norm chain, the absmax of a kernel's
// output) can instead hand its work to that GEMV as an ExternalPrologue:
// one launch fewer, the codes never leave the multiprocessor. What they
// share: finding such a GEMV launch, and replacing it.
//
//===----------------------------------------------------------------------===//

#include "BitLinearKernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;
using namespace mlir::bitnet;
using namespace mlir::bitnet::gpu_kernels;

namespace {

/// The launch that reads `v` as its operand `index`, through tensor and
/// memref reshapes and one to_buffer, each the only use of the one before;
/// `chain` gets the ops in between.
gpu::LaunchFuncOp soleLaunchRead(Value v, unsigned index,
                                 SmallVectorImpl<Operation *> &chain) {
  for (int depth = 0; depth < 6; ++depth) {
    if (!v.hasOneUse())
      return {};
    Operation *u = *v.getUsers().begin();
    if (auto l = dyn_cast<gpu::LaunchFuncOp>(u)) {
      OperandRange operands = l.getKernelOperands();
      if (operands.size() > index && operands[index] == v)
        return l;
      return {};
    }
    if (!isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp,
             bufferization::ToBufferOp, memref::CollapseShapeOp,
             memref::ExpandShapeOp>(u))
      return {};
    chain.push_back(u);
    v = u->getResult(0);
  }
  return {};
}

/// Moves the definition of `v` (and of what it reads) in front of
/// `before` where it does not dominate it: constants, views, to_buffer and
/// allocations of `before`'s block. With `apply` false, only whether it can.
bool hoistDefinition(Value v, Operation *before, DominanceInfo &dom,
                     bool apply, int depth = 0) {
  if (dom.properlyDominates(v, before))
    return true;
  Operation *def = v.getDefiningOp();
  if (!def || def->getBlock() != before->getBlock() || depth > 4 ||
      !isa<arith::ConstantOp, bufferization::ToBufferOp, memref::AllocOp,
           tensor::CollapseShapeOp, tensor::ExpandShapeOp,
           memref::CollapseShapeOp, memref::ExpandShapeOp>(def))
    return false;
  for (Value operand : def->getOperands())
    if (!hoistDefinition(operand, before, dom, apply, depth + 1))
      return false;
  if (apply)
    def->moveBefore(before);
  return true;
}

} // namespace

std::optional<GemvUse> gpu_kernels::findGemvUse(Operation *quant,
                                                Operation *counter,
                                                int64_t d) {
  GemvUse use;
  Value codes = quant->getResult(0), scales = quant->getResult(1);
  SmallVector<Operation *> codeUsers;
  for (Operation *u : codes.getUsers())
    if (u != counter)
      codeUsers.push_back(u);
  if (codeUsers.size() != 1 ||
      !isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp,
           bufferization::ToBufferOp>(codeUsers.front()))
    return std::nullopt;
  use.codesChain.push_back(codeUsers.front());
  use.launch = soleLaunchRead(codeUsers.front()->getResult(0), 0,
                              use.codesChain);
  if (!use.launch ||
      soleLaunchRead(scales, 1, use.scalesChain) != use.launch)
    return std::nullopt;
  auto kernel = SymbolTable::lookupNearestSymbolFrom<gpu::GPUFuncOp>(
      use.launch, use.launch.getKernel());
  auto layer = kernel ? kernel->getAttrOfType<DenseI64ArrayAttr>(
                            kGPULayerAttrName)
                      : nullptr;
  if (!layer || layer.size() != 3 || kernel->hasAttr(kGPUPrologueAttrName) ||
      kernel->hasAttr(kGPUGatedAttrName) ||
      kernel->hasAttr(kGPUColumnsAttrName) || kernel.getNumArguments() < 5)
    return std::nullopt;
  LayerShape &s = use.shape;
  s.m = layer[0];
  s.n = layer[1];
  s.k = layer[2];
  s.glu = kernel->hasAttr(kGPUGLUAttrName);
  auto weightScale = dyn_cast<MemRefType>(kernel.getArgumentTypes()[3]);
  s.rowScales = weightScale && weightScale.getNumElements() == s.n && s.n > 1;
  // The dp4a GEMV's unrolled (decode) form on the byte weights the launch
  // pass gives it.
  auto weight = dyn_cast<MemRefType>(kernel.getArgumentTypes()[2]);
  if (s.m != 1 || s.k != d || !weight ||
      !weight.getElementType().isInteger(8) || s.k > kMaxFusedCodeBytes)
    return std::nullopt;
  use.name = kernel.getName().str();
  return use;
}

bool gpu_kernels::canHoistGemvOperands(GemvUse &use, Operation *before,
                                       DominanceInfo &dom) {
  for (Value v : use.launch.getKernelOperands().drop_front(2))
    if (!hoistDefinition(v, before, dom, /*apply=*/false))
      return false;
  return true;
}

void gpu_kernels::launchIntoGemv(OpBuilder &b, Location loc, GemvUse &use,
                                 gpu::GPUFuncOp kernel,
                                 const LaunchShape &shape,
                                 ArrayRef<Value> prologueArgs,
                                 Operation *before, DominanceInfo &dom) {
  SmallVector<Value> args(prologueArgs);
  for (Value v : use.launch.getKernelOperands().drop_front(2)) {
    hoistDefinition(v, before, dom, /*apply=*/true);
    args.push_back(v);
  }
  auto dim = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  Value c1 = dim(1);
  gpu::LaunchFuncOp::create(
      b, loc, kernel, gpu::KernelDim3{dim(shape.blocks(use.shape)), c1, c1},
      gpu::KernelDim3{dim(shape.threads()), c1, c1},
      /*dynamicSharedMemorySize=*/Value(), args);
  use.launch->erase();
  for (ArrayRef<Operation *> chain :
       {ArrayRef(use.codesChain), ArrayRef(use.scalesChain)})
    for (Operation *op : llvm::reverse(chain))
      op->erase();
}

std::optional<RowPrologueSite> gpu_kernels::findRowPrologueSite(
    Operation *quant, Operation *counter, int64_t d, int64_t rowsPerWarp,
    int64_t maxPerThread, Operation *before, DominanceInfo &dom) {
  std::optional<GemvUse> use = findGemvUse(quant, counter, d);
  if (!use)
    return std::nullopt;
  LaunchShape shape = chooseLaunch(use->shape, rowsPerWarp, kPrologueWarps);
  int64_t perThread = (d + shape.threads() - 1) / shape.threads();
  if (perThread > maxPerThread || !canHoistGemvOperands(*use, before, dom))
    return std::nullopt;
  return RowPrologueSite{std::move(*use), shape, perThread};
}

void gpu_kernels::launchRowIntoGemv(OpBuilder &b, Location loc, GemvUse &use,
                                    gpu::GPUFuncOp kernel,
                                    const LaunchShape &shape, Value row,
                                    int64_t d, Operation *counter,
                                    Operation *before, DominanceInfo &dom) {
  SmallVector<Value> args{bufferization::ToBufferOp::create(
      b, loc, MemRefType::get({1, d}, b.getF32Type()),
      reshapeTo(b, loc, row, {1, d}), /*read_only=*/true)};
  Value counts = counter ? allocCountBuffer(b, loc, 1) : Value();
  if (counts)
    args.push_back(counts);
  launchIntoGemv(b, loc, use, kernel, shape, args, before, dom);
  if (counter)
    replaceNonzeroCounter(loc, counter, counts, 1);
}

void gpu_kernels::eraseUnusedKernels(ModuleOp module,
                                     gpu::GPUModuleOp gpuModule,
                                     const llvm::StringSet<> &names) {
  for (StringRef name : names.keys())
    if (auto kernel = gpuModule.lookupSymbol<gpu::GPUFuncOp>(name))
      if (SymbolTable::symbolKnownUseEmpty(kernel, module))
        kernel.erase();
}
