//===- bitnet-run-min.cpp - bitnet-run for artifacts, without MLIR --------===//
//
// The artifact half of bitnet-run with the same flags, linking only the
// runtime: what a machine that runs models but has no LLVM 22 (a GPU
// server) needs. bitnet-run itself also runs .mlir and .onnx through the
// JIT, so it links MLIR.
//
//===----------------------------------------------------------------------===//

#include "RunArtifact.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

int fail(const std::string &message) {
  std::fprintf(stderr, "bitnet-run-min: error: %s\n", message.c_str());
  return 1;
}

const char *kUsage =
    "usage: bitnet-run-min MODEL.bnx (--prompt-ids 1,2,3 | --prompt TEXT)\n"
    "         [--max-new-tokens N] [--dump-logits FILE.npy] [--device "
    "auto|cpu|cuda]\n"
    "         [--temperature T] [--top-k K] [--top-p P] [--seed S] "
    "[--repeat N]\n";

bool parseNumber(const std::string &flag, const std::string &text,
                 double &value) {
  char *end = nullptr;
  value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end) {
    fail(flag + ": '" + text + "' is not a number");
    return false;
  }
  return true;
}

} // namespace

int main(int argc, char **argv) {
  ArtifactRunOptions o;
  bool haveIds = false, haveText = false;
  std::string ids;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], value;
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg.rfind("--", 0) != 0) {
      if (!o.path.empty())
        return fail("more than one model given");
      o.path = arg;
      continue;
    }
    size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return fail(arg + " needs a value");
    }
    double number = 0;
    if (arg == "--prompt-ids") {
      ids = value;
      haveIds = true;
    } else if (arg == "--prompt") {
      o.promptText = value;
      haveText = true;
    } else if (arg == "--dump-logits") {
      o.dumpLogits = value;
    } else if (arg == "--device") {
      if (value != "auto" && value != "cpu" && value != "cuda")
        return fail("--device must be auto, cpu or cuda, got '" + value + "'");
      o.device = value;
    } else if (arg == "--max-new-tokens" || arg == "--temperature" ||
               arg == "--top-k" || arg == "--top-p" || arg == "--seed" ||
               arg == "--repeat") {
      if (!parseNumber(arg, value, number))
        return 1;
      if (arg == "--max-new-tokens") {
        if (number < 0 || number > 1e9)
          return fail("--max-new-tokens must be >= 0");
        o.maxNewTokens = unsigned(number);
      } else if (arg == "--temperature") {
        o.temperature = number;
      } else if (arg == "--top-k") {
        o.topK = int64_t(number);
      } else if (arg == "--top-p") {
        o.topP = number;
      } else if (arg == "--repeat") {
        if (number < 1 || number > 1e6 || number != double(unsigned(number)))
          return fail("--repeat must be a whole number >= 1");
        o.repeat = unsigned(number);
      } else {
        o.seed = uint64_t(number);
      }
    } else {
      return fail("unknown flag '" + arg + "'\n" + kUsage);
    }
  }
  if (o.path.empty())
    return fail(std::string("no model given\n") + kUsage);
  if (haveIds == haveText)
    return fail("give the prompt with exactly one of --prompt-ids and --prompt");
  if (o.temperature < 0 || o.topK < 0 || o.topP <= 0 || o.topP > 1)
    return fail("sampling needs --temperature >= 0, --top-k >= 0 and "
                "0 < --top-p <= 1");
  o.textPrompt = haveText;
  if (haveIds && !parsePromptIds(ids, o.promptIds))
    return 1;
  return runArtifact(o);
}
