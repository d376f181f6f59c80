//===- bitnet-run.cpp - Run compiled bitnet programs ----------------------===//
//
// bitnet-run PROGRAM.mlir [--entry=main]
//   JIT-compiles bitnet IR through the reference CPU path and calls a
//   function that takes no arguments (it prints with printMemrefF32).
// bitnet-run MODEL.onnx (--prompt-ids 1,2,3 | --prompt TEXT)
//            [--max-new-tokens N] [--context N] [--dump-logits FILE.npy]
//   imports a decoder exported from PyTorch (input_ids [1, seq] -> logits
//   [1, seq, vocab]), compiles it for a window of --context tokens and
//   generates greedily. Without a KV cache (that arrives with the runtime and
//   its artifacts) every token recomputes the window: correct, not fast.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Conversion/ONNXToBitNet/ONNXImporter.h"
#include "bitnet/ExecutionEngine/ReferenceJit.h"
#include "bitnet/Support/Npy.h"

#include "RunArtifact.h"

#include "mlir/ExecutionEngine/CRunnerUtils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <chrono>

using namespace llvm;

namespace {

cl::OptionCategory category("bitnet-run options");
cl::opt<std::string> inputFile(cl::Positional,
                               cl::desc("<program.mlir or model.onnx>"),
                               cl::Required, cl::cat(category));
cl::opt<std::string> entry("entry",
                           cl::desc("Function to call (no arguments, no results)"),
                           cl::init("main"), cl::cat(category));
cl::opt<bool> timing("time", cl::desc("Print compile and run times"),
                     cl::init(false), cl::cat(category));
cl::opt<std::string> promptIds("prompt-ids",
                               cl::desc("Prompt token ids, comma-separated"),
                               cl::value_desc("1,2,3"), cl::cat(category));
cl::opt<std::string> promptText(
    "prompt", cl::desc("Prompt text (byte-level models: one token per byte)"),
    cl::cat(category));
cl::opt<unsigned> maxNewTokens("max-new-tokens",
                               cl::desc("Tokens to generate (0: prompt only)"),
                               cl::init(32), cl::cat(category));
cl::opt<unsigned> contextLength(
    "context", cl::desc("Window the ONNX model is compiled for (tokens)"),
    cl::init(64), cl::cat(category));
cl::opt<std::string> dumpLogits(
    "dump-logits",
    cl::desc("Write the logits of every prompt position ([seq, vocab] float32 "
             ".npy)"),
    cl::value_desc("FILE.npy"), cl::cat(category));

cl::opt<double> temperature(
    "temperature", cl::desc("Sampling temperature (0: greedy, the default)"),
    cl::init(0.0), cl::cat(category));
cl::opt<int64_t> topK("top-k", cl::desc("Sample from the k likeliest (0: all)"),
                      cl::init(0), cl::cat(category));
cl::opt<double> topP("top-p",
                     cl::desc("Sample from the smallest set with this much "
                              "probability (1: all)"),
                     cl::init(1.0), cl::cat(category));
cl::opt<std::string> deviceName(
    "device",
    cl::desc("Artifacts: where the model must run, cpu or cuda (an artifact "
             "runs where it was compiled for: bitnet-compile --target); "
             "auto: wherever that is"),
    cl::init("auto"), cl::cat(category));
cl::opt<unsigned> repeat(
    "repeat",
    cl::desc("Artifacts: run the whole generation N times, each from an empty "
             "cache, and report the fastest prefill and decode (benchmarks; "
             "the first run is cold)"),
    cl::init(1), cl::cat(category));
cl::opt<uint64_t> seed("seed", cl::desc("Random seed for sampling"),
                       cl::init(0), cl::cat(category));

int fail(const Twine &message) {
  errs() << "bitnet-run: error: " << message << "\n";
  return 1;
}

/// Checks that exactly one of --prompt-ids and --prompt is given and parses
/// --prompt-ids into `ids` (left empty for --prompt, whose bytes the model's
/// tokenizer decides on); false after printing the error.
bool promptTokens(std::vector<int64_t> &ids) {
  if (promptIds.empty() == promptText.empty()) {
    fail("give the prompt with exactly one of --prompt-ids and --prompt");
    return false;
  }
  return promptIds.empty() || parsePromptIds(promptIds, ids);
}

} // namespace

/// Imports, compiles and runs an ONNX decoder greedily (see the header).
int runONNX() {
  using Clock = std::chrono::steady_clock;
  namespace imp = mlir::bitnet::onnx_import;
  std::vector<int64_t> tokens;
  if (!promptTokens(tokens))
    return 1;
  if (!promptText.empty())
    for (unsigned char c : std::string(promptText))
      tokens.push_back(c);
  if (tokens.empty())
    return fail("the prompt is empty");

  auto start = Clock::now();
  Expected<imp::ONNXModel> model = imp::loadONNXModel(inputFile);
  if (!model)
    return fail(toString(model.takeError()));
  int64_t ctx = contextLength;
  if (ctx <= 0)
    return fail("--context must be positive");
  // Bind the model's symbolic sequence dimension to the window.
  imp::ImportOptions options;
  for (const std::string &name : imp::symbolicDims(*model))
    options.dims[name] = ctx;
  std::unique_ptr<mlir::MLIRContext> context =
      mlir::bitnet::createReferenceContext();
  auto module = imp::importONNXModel(*model, *context, options);
  if (!module)
    return fail(toString(module.takeError()));
  auto fn = (**module).lookupSymbol<mlir::func::FuncOp>("main");
  auto argType = dyn_cast<mlir::RankedTensorType>(fn.getArgumentTypes()[0]);
  auto resType = fn.getNumResults() == 1
                     ? dyn_cast<mlir::RankedTensorType>(fn.getResultTypes()[0])
                     : mlir::RankedTensorType();
  if (fn.getNumArguments() != 1 || !argType || argType.getRank() != 2 ||
      !argType.getElementType().isInteger(64) || !resType ||
      resType.getRank() != 3 || !resType.getElementType().isF32())
    return fail("'" + inputFile + "' is not a decoder taking input_ids [1, seq] "
                "(int64) to logits [1, seq, vocab] (float32)");
  ctx = argType.getDimSize(1);
  int64_t vocab = resType.getDimSize(2);
  for (int64_t id : tokens)
    if (id < 0 || id >= vocab)
      return fail("token id " + Twine(id) + " is out of range [0, " +
                  Twine(vocab) + ")");
  if (int64_t(tokens.size()) > ctx)
    return fail("the prompt has " + Twine(tokens.size()) +
                " tokens, more than the context of " + Twine(ctx));
  auto engine = mlir::bitnet::compileReferenceJit(**module);
  if (!engine)
    return fail("'" + inputFile + "': " + toString(engine.takeError()));
  auto compiled = Clock::now();

  // Logits of the last position of `window` (causal: padding after it does
  // not change them); all rows when `all` is set.
  std::vector<float> logits;
  auto forward = [&](ArrayRef<int64_t> window, bool all) -> Error {
    std::vector<int64_t> ids(ctx, 0);
    std::copy(window.begin(), window.end(), ids.begin());
    StridedMemRefType<int64_t, 2> in{ids.data(), ids.data(), 0, {1, ctx}, {ctx, 1}};
    StridedMemRefType<float, 3> out{};
    if (Error err = (*engine)->invoke("main", &out, &in))
      return err;
    const float *data = out.data + out.offset;
    if (all)
      logits.assign(data, data + window.size() * vocab);
    else
      logits.assign(data + (window.size() - 1) * vocab,
                    data + window.size() * vocab);
    std::free(out.basePtr);
    return Error::success();
  };
  auto argmax = [&](const float *row) {
    return int64_t(std::max_element(row, row + vocab) - row);
  };

  if (Error err = forward(tokens, true))
    return fail(toString(std::move(err)));
  if (!dumpLogits.empty()) {
    std::string error;
    if (!npy::writeF32(dumpLogits, {int64_t(tokens.size()), vocab},
                       logits.data(), error))
      return fail(error);
  }
  auto prefilled = Clock::now();
  std::vector<int64_t> generated;
  int64_t next = argmax(logits.data() + (tokens.size() - 1) * vocab);
  for (unsigned i = 0; i < maxNewTokens; ++i) {
    generated.push_back(next);
    tokens.push_back(next);
    if (i + 1 == maxNewTokens)
      break;
    ArrayRef<int64_t> window(tokens);
    if (int64_t(window.size()) > ctx)
      window = window.take_back(ctx);
    if (Error err = forward(window, false))
      return fail(toString(std::move(err)));
    next = argmax(logits.data());
  }
  auto done = Clock::now();

  outs() << "generated ids:";
  for (int64_t id : generated)
    outs() << " " << id;
  outs() << "\n";
  if (vocab <= 256) {
    std::string text;
    for (int64_t id : generated)
      text.push_back(char(id));
    outs() << "generated text: " << text << "\n";
  }
  auto seconds = [](auto d) { return std::chrono::duration<double>(d).count(); };
  outs() << format("compile %.2f s, prompt %.3f s, %u tokens in %.2f s "
                   "(%.1f tokens/s; reference CPU path, no KV cache)\n",
                   seconds(compiled - start), seconds(prefilled - compiled),
                   unsigned(generated.size()), seconds(done - prefilled),
                   generated.empty() ? 0.0
                                     : generated.size() / seconds(done - prefilled));
  return 0;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "bitnet-run: run a bitnet program on this CPU\n");
  if (sys::path::extension(inputFile) == ".onnx")
    return runONNX();
  if (sys::path::extension(inputFile) == ".bnx" || looksLikeArtifact(inputFile)) {
    ArtifactRunOptions options;
    options.path = inputFile;
    if (!promptTokens(options.promptIds))
      return 1;
    options.textPrompt = promptIds.empty();
    options.promptText = promptText;
    if (temperature < 0 || topK < 0 || topP <= 0 || topP > 1)
      return fail("sampling needs --temperature >= 0, --top-k >= 0 and "
                  "0 < --top-p <= 1");
    options.maxNewTokens = maxNewTokens;
    options.temperature = temperature;
    options.topK = topK;
    options.topP = topP;
    options.seed = seed;
    options.dumpLogits = dumpLogits;
    if (repeat < 1)
      return fail("--repeat must be at least 1");
    options.repeat = repeat;
    if (deviceName != "auto" && deviceName != "cpu" && deviceName != "cuda")
      return fail("--device must be auto, cpu or cuda, got '" + deviceName +
                  "'");
    options.device = deviceName;
    return runArtifact(options);
  }
  if (sys::path::extension(inputFile) != ".mlir")
    return fail("'" + inputFile +
                "': bitnet-run takes bitnet IR (.mlir), an ONNX model "
                "(.onnx), or a model artifact (.bnx, from bitnet-compile)");
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
