//===- HostObject.cpp - LLVM-dialect modules to LLVM IR and objects -------===//

#include "bitnet/Target/HostObject.h"

#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/OptimizationLevel.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ThreadPool.h"
#include "llvm/Support/Threading.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/Transforms/Utils/SplitModule.h"

#include <mutex>

using namespace mlir;

namespace {

struct MachineSpec {
  llvm::Triple triple;
  std::string cpu;
  std::string features;
};

MachineSpec resolveMachine(const bitnet::CPUTargetOptions &options) {
  MachineSpec spec{llvm::Triple(llvm::sys::getDefaultTargetTriple()), options.cpu,
                   ""};
  if (options.cpu == "native") {
    spec.cpu = llvm::sys::getHostCPUName().str();
    for (const auto &feature : llvm::sys::getHostCPUFeatures())
      spec.features += (spec.features.empty() ? "" : ",") +
                       std::string(feature.second ? "+" : "-") +
                       feature.first().str();
  }
  return spec;
}

std::unique_ptr<llvm::TargetMachine>
createMachine(const bitnet::CPUTargetOptions &options, std::string &error) {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
  MachineSpec spec = resolveMachine(options);
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(spec.triple, error);
  if (!target)
    return nullptr;
  std::unique_ptr<llvm::MCSubtargetInfo> subtarget(
      target->createMCSubtargetInfo(spec.triple, "", ""));
  if (subtarget && !subtarget->isCPUStringValid(spec.cpu)) {
    error = "unknown CPU '" + spec.cpu + "' for " + spec.triple.str() +
            " (see `llc -mcpu=help`)";
    return nullptr;
  }
  if (!target->hasTargetMachine()) {
    error = "no target machine for " + spec.triple.str();
    return nullptr;
  }
  llvm::CodeGenOptLevel level =
      options.optLevel == 0   ? llvm::CodeGenOptLevel::None
      : options.optLevel == 1 ? llvm::CodeGenOptLevel::Less
      : options.optLevel == 2 ? llvm::CodeGenOptLevel::Default
                              : llvm::CodeGenOptLevel::Aggressive;
  // Constructors in .init_array, which the dynamic loader runs (the
  // objects are linked without crt files, so .ctors would never run): a
  // CUDA model's code loads its kernels from one.
  llvm::TargetOptions targetOptions;
  targetOptions.UseInitArray = true;
  return std::unique_ptr<llvm::TargetMachine>(target->createTargetMachine(
      spec.triple, spec.cpu, spec.features, targetOptions,
      llvm::Reloc::PIC_, std::nullopt, level));
}

/// LLVM's default pipeline at `optLevel`, as MLIR's makeOptimizingTransformer
/// runs it, but with SLP vectorization only where `slp` asks for it.
void optimize(llvm::Module &module, unsigned optLevel, bool slp,
              llvm::TargetMachine *machine) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions tuning;
  tuning.LoopUnrolling = true;
  tuning.LoopInterleaving = true;
  tuning.LoopVectorization = true;
  tuning.SLPVectorization = slp;
  llvm::PassBuilder builder(machine, tuning);
  builder.registerModuleAnalyses(mam);
  builder.registerCGSCCAnalyses(cgam);
  builder.registerFunctionAnalyses(fam);
  builder.registerLoopAnalyses(lam);
  builder.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::OptimizationLevel level = optLevel == 0   ? llvm::OptimizationLevel::O0
                                  : optLevel == 1 ? llvm::OptimizationLevel::O1
                                  : optLevel == 2 ? llvm::OptimizationLevel::O2
                                                  : llvm::OptimizationLevel::O3;
  llvm::ModulePassManager passes =
      optLevel == 0 ? builder.buildO0DefaultPipeline(level)
                    : builder.buildPerModuleDefaultPipeline(level);
  passes.run(module, mam);
}

/// `module` as LLVM IR for the CPU in `options`, with that CPU's machine in
/// `machine` (for optimizing and emitting it). Null on failure.
std::unique_ptr<llvm::Module>
translate(ModuleOp module, llvm::LLVMContext &llvmContext,
          const bitnet::CPUTargetOptions &options,
          std::unique_ptr<llvm::TargetMachine> &machine, std::string &error) {
  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  module->getContext()->appendDialectRegistry(registry);

  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext);
  if (!llvmModule) {
    error = "translation to LLVM IR failed (is every op in the LLVM dialect?)";
    return nullptr;
  }
  machine = createMachine(options, error);
  if (!machine)
    return nullptr;
  llvmModule->setDataLayout(machine->createDataLayout());
  llvmModule->setTargetTriple(machine->getTargetTriple());
  return llvmModule;
}

/// Emits `module` as an ELF object with `machine`.
LogicalResult emitWith(llvm::TargetMachine &machine, llvm::Module &module,
                       llvm::raw_pwrite_stream &os, std::string &error) {
  llvm::legacy::PassManager pm;
  if (machine.addPassesToEmitFile(pm, os, nullptr,
                                  llvm::CodeGenFileType::ObjectFile)) {
    error = "the target cannot emit object files";
    return failure();
  }
  pm.run(module);
  return success();
}

/// Optimizes `module` (see translateToOptimizedLLVMIR), then emits it, with
/// one machine for both.
LogicalResult optimizeAndEmit(llvm::Module &module,
                              const bitnet::CPUTargetOptions &options,
                              llvm::raw_pwrite_stream &os, std::string &error) {
  std::unique_ptr<llvm::TargetMachine> machine = createMachine(options, error);
  if (!machine)
    return failure();
  optimize(module, options.optLevel, options.slpVectorize, machine.get());
  return emitWith(*machine, module, os, error);
}

} // namespace

std::unique_ptr<llvm::Module> mlir::bitnet::translateToLLVMIR(
    ModuleOp module, llvm::LLVMContext &llvmContext,
    const CPUTargetOptions &options, std::string &error) {
  std::unique_ptr<llvm::TargetMachine> machine;
  return translate(module, llvmContext, options, machine, error);
}

std::unique_ptr<llvm::Module> mlir::bitnet::translateToOptimizedLLVMIR(
    ModuleOp module, llvm::LLVMContext &llvmContext,
    const CPUTargetOptions &options, std::string &error) {
  std::unique_ptr<llvm::TargetMachine> machine;
  std::unique_ptr<llvm::Module> llvmModule =
      translate(module, llvmContext, options, machine, error);
  if (llvmModule)
    optimize(*llvmModule, options.optLevel, options.slpVectorize,
             machine.get());
  return llvmModule;
}

LogicalResult mlir::bitnet::emitObject(llvm::Module &llvmModule,
                                       const CPUTargetOptions &options,
                                       llvm::raw_pwrite_stream &os,
                                       std::string &error) {
  std::unique_ptr<llvm::TargetMachine> machine = createMachine(options, error);
  if (!machine)
    return failure();
  return emitWith(*machine, llvmModule, os, error);
}

LogicalResult mlir::bitnet::emitOptimizedObjects(
    llvm::Module &llvmModule, const CPUTargetOptions &options,
    llvm::ArrayRef<llvm::raw_pwrite_stream *> outs, std::string &error) {
  if (outs.size() == 1)
    return optimizeAndEmit(llvmModule, options, *outs[0], error);
  // A context is not thread-safe: each partition travels to its thread as
  // bitcode and is read back into a context of its own (as LLVM's LTO does
  // for its parallel code generation).
  llvm::SmallVector<llvm::SmallString<0>> bitcode;
  llvm::SplitModule(
      llvmModule, outs.size(), [&](std::unique_ptr<llvm::Module> part) {
        llvm::raw_svector_ostream os(bitcode.emplace_back());
        llvm::WriteBitcodeToFile(*part, os);
      },
      // Largest functions first, round robin: a model's three step
      // functions are 40-75k instructions each (2B4T), a third of its code.
      /*PreserveLocals=*/false, /*RoundRobin=*/true);
  if (bitcode.size() != outs.size()) {
    error = "splitting the model code into " + std::to_string(outs.size()) +
            " partitions gave " + std::to_string(bitcode.size());
    return failure();
  }
  std::vector<std::string> errors(outs.size());
  {
    llvm::ThreadPoolStrategy threads = llvm::hardware_concurrency(outs.size());
    threads.Limit = true; // no more threads than the machine has
    llvm::DefaultThreadPool pool(threads);
    for (size_t i = 0; i < outs.size(); ++i)
      pool.async([&, i] {
        llvm::LLVMContext context;
        llvm::Expected<std::unique_ptr<llvm::Module>> part =
            llvm::parseBitcodeFile(
                llvm::MemoryBufferRef(bitcode[i].str(), "partition"), context);
        if (!part) {
          errors[i] = llvm::toString(part.takeError());
          return;
        }
        (void)optimizeAndEmit(**part, options, *outs[i], errors[i]);
      });
    pool.wait();
  }
  for (size_t i = 0; i < errors.size(); ++i)
    if (!errors[i].empty()) {
      error = "code generation of partition " + std::to_string(i) +
              " failed: " + errors[i];
      return failure();
    }
  return success();
}

std::string mlir::bitnet::resolvedCPUName(const CPUTargetOptions &options) {
  return resolveMachine(options).cpu;
}

bool mlir::bitnet::enabledCPUFeatures(const CPUTargetOptions &options,
                                      const std::vector<std::string> &candidates,
                                      std::vector<std::string> &enabled,
                                      std::string &error) {
  std::unique_ptr<llvm::TargetMachine> machine = createMachine(options, error);
  if (!machine)
    return false;
  const llvm::MCSubtargetInfo *sti = machine->getMCSubtargetInfo();
  for (const std::string &f : candidates)
    if (sti->checkFeatures("+" + f))
      enabled.push_back(f);
  return true;
}
