//===- bitnet-compile.cpp - The compiler driver ---------------------------===//
//
// bitnet-compile INPUT [-o OUTPUT] [--target=x86_64] [--mcpu=CPU] [-O N]
//                [--emit=bitnet|linalg|llvm-dialect|llvm|obj]
//
// Runs the phase table of bitnet/Pipelines up to the stage named by --emit
// and writes that stage. The output file appears only when everything
// succeeded: a failed run leaves no partial output behind.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Conversion/ONNXToBitNet/ONNXModel.h"
#include "bitnet/Conversion/Passes.h"
#include "bitnet/Dialect/BitNet/IR/BitNetDialect.h"
#include "bitnet/Dialect/BitNet/Transforms/Passes.h"
#include "bitnet/Pipelines/Pipelines.h"
#include "bitnet/Target/HostObject.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;
using namespace llvm;

namespace {

// Stages past the phase table: LLVM IR text and an object file.
enum class Emit { Phase, LLVMIR, Object };

cl::OptionCategory category("bitnet-compile options");

cl::opt<std::string> inputFile(cl::Positional, cl::desc("<input .mlir>"),
                               cl::Required, cl::cat(category));
cl::opt<std::string> outputFile("o", cl::desc("Output file ('-' for stdout)"),
                                cl::value_desc("file"), cl::init("-"),
                                cl::cat(category));
cl::opt<std::string>
    emit("emit",
         cl::desc("Stage to stop at and write: bitnet, linalg, llvm-dialect "
                  "(MLIR text), llvm (LLVM IR text) or obj (ELF object)"),
         cl::init("obj"), cl::cat(category));
cl::opt<std::string> targetName("target",
                                cl::desc("Target: x86_64 (cuda: not yet)"),
                                cl::init("x86_64"), cl::cat(category));
cl::opt<std::string> mcpu("mcpu",
                          cl::desc("CPU to compile for ('native' = this host)"),
                          cl::init("native"), cl::cat(category));
cl::opt<unsigned> optLevel("O", cl::desc("Optimization level (0-3)"),
                           cl::init(2), cl::Prefix, cl::cat(category));

int fail(const Twine &message) {
  errs() << "bitnet-compile: error: " << message << "\n";
  return 1;
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  registerAllPasses();
  bitnet::registerBitNetTransformsPasses();
  bitnet::registerBitNetConversionPasses();
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "bitnet-compile: compile bitnet IR for a CPU\n\n"
      "Stages (--emit): bitnet -> linalg -> llvm-dialect -> llvm -> obj\n");

  // Validate every option before touching any file.
  if (targetName != "x86_64")
    return fail("unsupported --target '" + targetName +
                "' (supported: x86_64; the cuda target is not implemented yet)");
  if (optLevel > 3)
    return fail("-O must be 0-3, got " + Twine(unsigned(optLevel)));
  Emit kind = Emit::Phase;
  bitnet::Phase stop = bitnet::Phase::LLVM;
  if (emit == "llvm") {
    kind = Emit::LLVMIR;
  } else if (emit == "obj") {
    kind = Emit::Object;
  } else {
    const bitnet::PhaseInfo *found = nullptr;
    for (const bitnet::PhaseInfo &info : bitnet::getPhases())
      if (info.name == emit)
        found = &info;
    if (!found)
      return fail("unknown --emit '" + emit +
                  "' (expected bitnet, linalg, llvm-dialect, llvm or obj)");
    stop = found->phase;
  }
  StringRef ext = sys::path::extension(inputFile);
  if (ext == ".onnx") {
    // Loading and validation are done; building IR from the graph is not.
    Expected<bitnet::onnx_import::ONNXModel> model =
        bitnet::onnx_import::loadONNXModel(inputFile);
    if (!model)
      return fail(toString(model.takeError()));
    int64_t nodes = 0;
    for (const auto &[op, count] : model->opCounts)
      nodes += count;
    return fail("'" + inputFile + "': valid ONNX (opset " +
                Twine(model->opset) + ", " + Twine(nodes) + " nodes, " +
                Twine(model->opCounts.size()) +
                " op types), but lowering ONNX graphs to bitnet IR is not "
                "implemented yet; pass bitnet IR (.mlir)");
  }

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registry.insert<bitnet::BitNetDialect>();
  MLIRContext context(registry);
  context.loadAllAvailableDialects();

  std::string errorMessage;
  std::unique_ptr<MemoryBuffer> input = openInputFile(inputFile, &errorMessage);
  if (!input)
    return fail(errorMessage);
  SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(input), SMLoc());
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return fail("cannot parse '" + inputFile + "'");
  if (failed(verify(*module)))
    return fail("'" + inputFile + "' does not verify");

  PassManager pm(&context);
  if (failed(bitnet::buildPipeline(pm, bitnet::Phase::BitNet, stop, errs())) ||
      failed(pm.run(*module)))
    return fail("compilation of '" + inputFile + "' failed");

  std::unique_ptr<ToolOutputFile> output = openOutputFile(outputFile, &errorMessage);
  if (!output)
    return fail(errorMessage);
  if (kind == Emit::Phase) {
    module->print(output->os());
  } else {
    bitnet::CPUTargetOptions options;
    options.cpu = mcpu;
    options.optLevel = optLevel;
    LLVMContext llvmContext;
    std::string error;
    std::unique_ptr<Module> llvmModule = bitnet::translateToOptimizedLLVMIR(
        *module, llvmContext, options, error);
    if (!llvmModule)
      return fail(error);
    if (kind == Emit::LLVMIR)
      llvmModule->print(output->os(), nullptr);
    else if (failed(bitnet::emitObject(*llvmModule, options, output->os(), error)))
      return fail(error);
  }
  output->os().flush();
  if (output->os().has_error())
    return fail("cannot write '" + outputFile + "'");
  output->keep();
  return 0;
}
