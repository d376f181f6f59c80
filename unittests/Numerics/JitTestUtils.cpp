//===- JitTestUtils.cpp - Build, JIT and call small bitnet functions ------===//

#include "JitTestUtils.h"

#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include <cstdlib>

namespace bitnet::test {

std::unique_ptr<mlir::ExecutionEngine> compileOrFail(const RunFunction &fn) {
  static std::unique_ptr<mlir::MLIRContext> context =
      mlir::bitnet::createReferenceContext();
  auto engine = mlir::bitnet::compileReferenceJit(*context, fn.str());
  if (!engine) {
    ADD_FAILURE() << llvm::toString(engine.takeError()) << "\nin:\n" << fn.str();
    return nullptr;
  }
  return std::move(*engine);
}

mlir::OwningOpRef<mlir::ModuleOp> parseAndRunPasses(mlir::MLIRContext &context,
                                                    const std::string &source,
                                                    const std::string &pipeline) {
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(source, &context);
  if (!module) {
    ADD_FAILURE() << "cannot parse:\n" << source;
    return nullptr;
  }
  mlir::PassManager pm(&context);
  std::string error;
  llvm::raw_string_ostream os(error);
  if (mlir::failed(mlir::parsePassPipeline(pipeline, pm, os))) {
    ADD_FAILURE() << "bad pipeline '" << pipeline << "': " << error;
    return nullptr;
  }
  if (mlir::failed(pm.run(*module))) {
    ADD_FAILURE() << "'" << pipeline << "' failed";
    return nullptr;
  }
  return module;
}

int64_t ulpDistance(float a, float b) {
  if (a == b)
    return 0;
  if (std::isnan(a) || std::isnan(b))
    return INT64_MAX;
  auto ordered = [](float f) {
    int32_t i;
    std::memcpy(&i, &f, sizeof(i));
    return i < 0 ? int64_t(INT32_MIN) - i : int64_t(i);
  };
  return std::llabs(ordered(a) - ordered(b));
}

void expectNear(const std::vector<float> &got, const std::vector<float> &want,
                int64_t maxUlp, const std::string &what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int reported = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (ulpDistance(got[i], want[i]) > maxUlp && reported++ < 8)
      ADD_FAILURE() << what << "[" << i << "]: got " << got[i] << ", want "
                    << want[i];
}

void expectSameCodes(const std::vector<int8_t> &got,
                     const std::vector<int8_t> &want, const std::string &what,
                     int mask) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int reported = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if ((got[i] & mask) != (want[i] & mask) && reported++ < 8)
      ADD_FAILURE() << what << "[" << i << "]: got " << int(got[i] & mask)
                    << ", want " << int(want[i] & mask);
}

} // namespace bitnet::test
