//===- ReferenceJit.cpp - JIT bitnet IR through the reference path --------===//

#include "bitnet/ExecutionEngine/ReferenceJit.h"

#include "bitnet/Conversion/Passes.h"
#include "bitnet/Dialect/BitNet/IR/BitNetDialect.h"
#include "bitnet/Dialect/BitNet/Transforms/Passes.h"
#include "bitnet/Pipelines/Pipelines.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "llvm/Support/TargetSelect.h"

#include <mutex>

using namespace mlir;

std::unique_ptr<MLIRContext> mlir::bitnet::createReferenceContext() {
  static std::once_flag once;
  std::call_once(once, [] {
    registerAllPasses();
    bitnet::registerAllBitNetPasses();
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registry.insert<bitnet::BitNetDialect>();
  auto context = std::make_unique<MLIRContext>(registry);
  context->loadAllAvailableDialects();
  return context;
}

namespace {
/// Collects diagnostics of `context` into a string while alive.
struct DiagnosticCollector {
  explicit DiagnosticCollector(MLIRContext *context)
      : stream(text), handler(context, [this](Diagnostic &diag) {
          stream << diag.getLocation() << ": " << diag << "\n";
          return success();
        }) {}
  llvm::Error fail(llvm::StringRef what) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   what + ":\n" + text);
  }
  std::string text;
  llvm::raw_string_ostream stream;
  ScopedDiagnosticHandler handler;
};

llvm::Expected<std::unique_ptr<ExecutionEngine>>
lowerAndJit(ModuleOp module, const bitnet::ReferenceJitOptions &options,
            DiagnosticCollector &diags) {
  PassManager pm(module->getContext());
  if (failed(bitnet::buildPipeline(pm, bitnet::Phase::BitNet,
                                   bitnet::Phase::LLVM, diags.stream)))
    return diags.fail("cannot build the lowering pipeline");
  if (failed(pm.run(module)))
    return diags.fail("lowering to LLVM failed");

  // ExecutionEngineOptions holds a function_ref: the transformer must outlive
  // create().
  std::function<llvm::Error(llvm::Module *)> transformer =
      makeOptimizingTransformer(options.optLevel, 0, nullptr);
  ExecutionEngineOptions engineOptions;
  engineOptions.transformer = transformer;
  SmallVector<StringRef> libs(options.sharedLibPaths.begin(),
                              options.sharedLibPaths.end());
  engineOptions.sharedLibPaths = libs;
  auto engine = ExecutionEngine::create(module, engineOptions);
  if (!engine)
    return diags.fail("JIT compilation failed: " +
                      llvm::toString(engine.takeError()));
  return std::move(*engine);
}
} // namespace

llvm::Expected<std::unique_ptr<ExecutionEngine>>
mlir::bitnet::compileReferenceJit(MLIRContext &context, llvm::StringRef source,
                                  const ReferenceJitOptions &options) {
  DiagnosticCollector diags(&context);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(source, &context);
  if (!module)
    return diags.fail("cannot parse the input");
  return lowerAndJit(*module, options, diags);
}

llvm::Expected<std::unique_ptr<ExecutionEngine>>
mlir::bitnet::compileReferenceJit(ModuleOp module,
                                  const ReferenceJitOptions &options) {
  DiagnosticCollector diags(module->getContext());
  return lowerAndJit(module, options, diags);
}
