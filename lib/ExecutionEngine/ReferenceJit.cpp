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
    bitnet::registerBitNetTransformsPasses();
    bitnet::registerBitNetConversionPasses();
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

llvm::Expected<std::unique_ptr<ExecutionEngine>>
mlir::bitnet::compileReferenceJit(MLIRContext &context, llvm::StringRef source,
                                  const ReferenceJitOptions &options) {
  std::string diagnostics;
  llvm::raw_string_ostream diagStream(diagnostics);
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    diagStream << diag.getLocation() << ": " << diag << "\n";
    return success();
  });
  auto fail = [&](llvm::StringRef what) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   what + ":\n" + diagnostics);
  };

  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(source, &context);
  if (!module)
    return fail("cannot parse the input");
  PassManager pm(&context);
  if (failed(buildPipeline(pm, Phase::BitNet, Phase::LLVM, diagStream)))
    return fail("cannot build the lowering pipeline");
  if (failed(pm.run(*module)))
    return fail("lowering to LLVM failed");

  // ExecutionEngineOptions holds a function_ref: the transformer must outlive
  // create().
  std::function<llvm::Error(llvm::Module *)> transformer =
      makeOptimizingTransformer(options.optLevel, 0, nullptr);
  ExecutionEngineOptions engineOptions;
  engineOptions.transformer = transformer;
  SmallVector<StringRef> libs(options.sharedLibPaths.begin(),
                              options.sharedLibPaths.end());
  engineOptions.sharedLibPaths = libs;
  auto engine = ExecutionEngine::create(*module, engineOptions);
  if (!engine)
    return fail("JIT compilation failed: " + llvm::toString(engine.takeError()));
  return std::move(*engine);
}
