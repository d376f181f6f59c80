//===- bitnet-run.cpp - Run compiled bitnet programs ----------------------===//
//
// Today: bitnet-run FILE.mlir [--entry=main] JIT-compiles bitnet IR through
// the reference CPU path and calls a function that takes no arguments (it
// prints with printMemrefF32 and friends). Model artifacts, --prompt-ids,
// --max-new-tokens, sampling and --dump-logits arrive with the runtime; the
// flag names are fixed in docs/Tools.md.
//
//===----------------------------------------------------------------------===//

#include "bitnet/ExecutionEngine/ReferenceJit.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <chrono>

using namespace llvm;

namespace {

cl::OptionCategory category("bitnet-run options");
cl::opt<std::string> inputFile(cl::Positional, cl::desc("<program.mlir>"),
                               cl::Required, cl::cat(category));
cl::opt<std::string> entry("entry",
                           cl::desc("Function to call (no arguments, no results)"),
                           cl::init("main"), cl::cat(category));
cl::opt<bool> timing("time", cl::desc("Print compile and run times"),
                     cl::init(false), cl::cat(category));

int fail(const Twine &message) {
  errs() << "bitnet-run: error: " << message << "\n";
  return 1;
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "bitnet-run: run a bitnet program on this CPU\n");
  if (sys::path::extension(inputFile) != ".mlir")
    return fail("'" + inputFile +
                "': only bitnet IR (.mlir) runs today; model artifacts are "
                "not implemented yet");
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer =
      MemoryBuffer::getFile(inputFile);
  if (!buffer)
    return fail("cannot read '" + inputFile + "': " + buffer.getError().message());

  using Clock = std::chrono::steady_clock;
  auto start = Clock::now();
  std::unique_ptr<mlir::MLIRContext> context =
      mlir::bitnet::createReferenceContext();
  mlir::bitnet::ReferenceJitOptions options;
  options.sharedLibPaths = {BITNET_RUNNER_UTILS, BITNET_C_RUNNER_UTILS};
  auto engine = mlir::bitnet::compileReferenceJit(
      *context, (*buffer)->getBuffer(), options);
  if (!engine)
    return fail("'" + inputFile + "': " + toString(engine.takeError()));
  auto compiled = Clock::now();

  Expected<void (*)(void **)> fn = (*engine)->lookupPacked(entry);
  if (!fn) {
    consumeError(fn.takeError());
    return fail("no function @" + entry + " in '" + inputFile + "'");
  }
  (*fn)(nullptr);
  auto done = Clock::now();
  if (timing) {
    auto ms = [](auto d) {
      return std::chrono::duration<double, std::milli>(d).count();
    };
    outs() << "compile: " << format("%.1f", ms(compiled - start))
           << " ms, run: " << format("%.3f", ms(done - compiled)) << " ms\n";
  }
  return 0;
}
