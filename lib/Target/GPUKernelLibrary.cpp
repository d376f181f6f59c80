//===- GPUKernelLibrary.cpp - Kernels for NVIDIA GPUs ---------------------===//

#include "bitnet/Target/GPUKernelLibrary.h"

#include "bitnet/Conversion/BitNetToGPU/BitNetToGPU.h"
#include "bitnet/Runtime/ArtifactFormat.h"
#include "bitnet/Target/ModelArtifact.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <sstream>

using namespace mlir;
using namespace mlir::bitnet;

bool mlir::bitnet::isValidGPUArch(const std::string &arch) {
  StringRef s(arch);
  if (!s.consume_front("sm_"))
    return false;
  s.consume_back("a");
  unsigned version;
  return !s.empty() && llvm::all_of(s, llvm::isDigit) &&
         !s.getAsInteger(10, version) && version >= 50 && version < 1000;
}

/// Runs `pipeline` (passes on the module, no `builtin.module(...)` anchor).
static LogicalResult runPipeline(ModuleOp module, const std::string &pipeline,
                                 std::string &error) {
  PassManager pm(module.getContext());
  llvm::raw_string_ostream errors(error);
  if (failed(parsePassPipeline(pipeline, pm, errors)))
    return failure();
  return pm.run(module);
}

LogicalResult mlir::bitnet::generateGPUKernels(
    ModuleOp module, const GPUTargetOptions &options,
    std::vector<GPUKernelInfo> &kernels) {
  std::string pipeline = "bitnet-bitlinear-to-gpu{rows-per-warp=" +
                         std::to_string(options.rowsPerWarp) +
                         " warps-per-block=" +
                         std::to_string(options.warpsPerBlock) +
                         (options.tensorCores &&
                                  gpuArchHasTensorCores(options.arch)
                              ? " tensor-cores=1 mma-warp-rows=" +
                                    std::to_string(options.mmaWarpRows)
                              : "") +
                         "}";
  std::string error;
  if (failed(runPipeline(module, pipeline, error))) {
    if (!error.empty())
      module.emitError(error);
    return failure();
  }
  kernels.clear();
  module.walk([&](gpu::GPUFuncOp func) {
    if (!func.isKernel())
      return;
    GPUKernelInfo info;
    info.name = func.getName().str();
    if (auto block = func.getKnownBlockSizeAttr())
      for (size_t d = 0; d < 3 && d < block.size(); ++d)
        info.block[d] = block[d];
    if (auto grid = func->getAttrOfType<DenseI32ArrayAttr>(kGPUGridSizeAttrName))
      for (size_t d = 0; d < 3 && d < size_t(grid.size()); ++d)
        info.grid[d] = grid[d];
    if (auto layer = func->getAttrOfType<DenseI64ArrayAttr>(kGPULayerAttrName)) {
      info.layer = llvm::join(llvm::map_range(layer.asArrayRef(),
                                              [](int64_t v) {
                                                return std::to_string(v);
                                              }),
                              ",");
      auto prologue = func->getAttrOfType<StringAttr>(kGPUPrologueAttrName);
      info.prologue = prologue ? prologue.str() : "";
      // The parameters in order (docs/GPU.md); `weight_cols`: the
      // bits2_cols layout of the column kernel.
      std::string weight =
          func->hasAttr(kGPUColumnsAttrName) ? "weight_cols" : "weight";
      info.params = std::string(prologue ? "x," : "x,x_scale,") + weight +
                    ",weight_scale" +
                    (func->hasAttr(kGPUGatedAttrName) ? ",gate" : "") +
                    (func->hasAttr(kGPUGLUAttrName)
                         ? ",weight_up,weight_scale_up"
                         : "") +
                    ",out";
    } else {
      info.params = llvm::join(
          llvm::map_range(llvm::seq<unsigned>(0, func.getNumArguments()),
                          [](unsigned i) { return "arg" + std::to_string(i); }),
          ",");
    }
    kernels.push_back(info);
  });
  return success();
}

LogicalResult mlir::bitnet::serializeGPUModule(ModuleOp module,
                                               const GPUTargetOptions &options,
                                               bool ptx, std::string &binary,
                                               std::string &error) {
  auto gpuModules = llvm::to_vector(module.getOps<gpu::GPUModuleOp>());
  if (gpuModules.size() != 1) {
    error = "expected exactly one gpu.module to serialize, found " +
            std::to_string(gpuModules.size());
    return failure();
  }
  // Our bookkeeping attributes are recorded already; LLVM has no use for them.
  gpuModules[0].walk([](gpu::GPUFuncOp func) {
    func->removeAttr(kGPUGridSizeAttrName);
    func->removeAttr(kGPULayerAttrName);
  });
  std::string pipeline =
      "nvvm-attach-target{chip=" + options.arch +
      " features=" + options.features + " O=" +
      std::to_string(options.optLevel) +
      "},gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm{"
      "use-bare-ptr-memref-call-conv=true},canonicalize,cse,"
      "reconcile-unrealized-casts),gpu-module-to-binary{format=" +
      (ptx ? "isa" : "bin") + "}";
  if (failed(runPipeline(module, pipeline, error))) {
    if (error.empty())
      error = "lowering to NVVM or serializing the device code failed";
    return failure();
  }
  for (auto binaryOp : module.getOps<gpu::BinaryOp>()) {
    for (Attribute attr : binaryOp.getObjects()) {
      auto object = cast<gpu::ObjectAttr>(attr);
      binary = object.getObject().getValue().str();
      return success();
    }
  }
  error = "gpu-module-to-binary produced no object";
  return failure();
}

bool mlir::bitnet::writeGPUKernelArtifact(
    const std::string &path, const GPUTargetOptions &options,
    const std::string &binary, const std::vector<GPUKernelInfo> &kernels,
    std::string &error) {
  std::ostringstream meta;
  meta << "format=bitnet-gpu-kernels\n";
  meta << "target=cuda\n";
  meta << "gpu_arch=" << options.arch << "\n";
  meta << "binary=cubin\n";
  meta << "kernels=" << kernels.size() << "\n";
  for (size_t i = 0; i < kernels.size(); ++i) {
    const GPUKernelInfo &k = kernels[i];
    std::string p = "kernel." + std::to_string(i) + ".";
    meta << p << "name=" << k.name << "\n";
    meta << p << "grid=" << k.grid[0] << "," << k.grid[1] << "," << k.grid[2]
         << "\n";
    meta << p << "block=" << k.block[0] << "," << k.block[1] << ","
         << k.block[2] << "\n";
    if (!k.layer.empty())
      meta << p << "layer=" << k.layer << "\n";
    meta << p << "params=" << k.params << "\n";
    if (!k.prologue.empty())
      meta << p << "prologue=" << k.prologue << "\n";
  }
  std::string metaText = meta.str();
  std::vector<bitnet_rt::SectionData> sections = {
      {"meta", metaText.data(), metaText.size(), 16},
      {"code", binary.data(), binary.size(), 16},
  };
  return bitnet_rt::writeArtifact(path, sections, error);
}
