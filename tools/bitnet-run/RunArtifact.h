//===- RunArtifact.h - bitnet-run on a model artifact -----------*- C++ -*-===//
//
// Generation from a .bnx artifact through the runtime's C API only.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_TOOLS_BITNET_RUN_RUNARTIFACT_H
#define BITNET_TOOLS_BITNET_RUN_RUNARTIFACT_H

#include <cstdint>
#include <string>
#include <vector>

struct ArtifactRunOptions {
  std::string path;
  std::vector<int64_t> promptIds; // used when promptText is empty
  std::string promptText;
  bool textPrompt = false;
  unsigned maxNewTokens = 32;
  double temperature = 0.0; // 0: greedy
  int64_t topK = 0;         // 0: off
  double topP = 1.0;        // 1: off
  uint64_t seed = 0;
  std::string dumpLogits;
  /// Generations to run (>= 1), each from an empty cache; the timing line
  /// reports the fastest (the first pays for paging the weights in).
  unsigned repeat = 1;
  bool sparsity = true;
  /// Where it must run: "auto" (where the artifact was compiled for), "cpu"
  /// or "cuda"; a mismatch with the artifact is an error.
  std::string device = "auto";
};

/// Parses --prompt-ids' "1,2,3" into `ids`; false after printing an error.
bool parsePromptIds(const std::string &text, std::vector<int64_t> &ids);

/// Runs the artifact; returns the process exit code, messages on stdout /
/// stderr.
int runArtifact(const ArtifactRunOptions &options);

/// True if the file at `path` starts with the artifact magic.
bool looksLikeArtifact(const std::string &path);

#endif // BITNET_TOOLS_BITNET_RUN_RUNARTIFACT_H
