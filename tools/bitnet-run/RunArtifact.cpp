//===- RunArtifact.cpp - bitnet-run on a model artifact -------------------===//

#include "RunArtifact.h"

#include "bitnet/Runtime/ArtifactFormat.h"
#include "bitnet/Runtime/bitnet_runtime.h"
#include "bitnet/Support/Npy.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <numeric>
#include <random>

namespace {

int fail(const std::string &message) {
  std::fprintf(stderr, "bitnet-run: error: %s\n", message.c_str());
  return 1;
}

/// Greedy, or temperature / top-k / top-p sampling.
int32_t pick(const float *logits, int64_t vocab, const ArtifactRunOptions &o,
             std::mt19937_64 &rng) {
  if (o.temperature <= 0.0)
    return int32_t(std::max_element(logits, logits + vocab) - logits);
  std::vector<int32_t> order(vocab);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  int64_t keep = o.topK > 0 ? std::min<int64_t>(o.topK, vocab) : vocab;
  std::vector<double> p(keep);
  double mx = logits[order[0]], sum = 0;
  for (int64_t i = 0; i < keep; ++i)
    sum += p[i] = std::exp((double(logits[order[i]]) - mx) / o.temperature);
  if (o.topP < 1.0) {
    double acc = 0;
    int64_t n = 0;
    while (n < keep && acc < o.topP * sum)
      acc += p[n++];
    keep = std::max<int64_t>(n, 1);
    p.resize(keep);
  }
  std::discrete_distribution<int64_t> dist(p.begin(), p.end());
  return order[dist(rng)];
}

} // namespace

bool looksLikeArtifact(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  char magic[8] = {};
  return in.read(magic, 8) &&
         std::memcmp(magic, bitnet_rt::kMagic, sizeof(magic)) == 0;
}

bool parsePromptIds(const std::string &text, std::vector<int64_t> &ids) {
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string part = text.substr(start, comma == std::string::npos
                                              ? std::string::npos
                                              : comma - start);
    size_t b = part.find_first_not_of(" \t"), e = part.find_last_not_of(" \t");
    part = b == std::string::npos ? "" : part.substr(b, e - b + 1);
    char *end = nullptr;
    errno = 0;
    long long id = std::strtoll(part.c_str(), &end, 10);
    if (part.empty() || *end || errno == ERANGE) {
      fail("--prompt-ids: '" + part + "' is not an integer");
      return false;
    }
    ids.push_back(int64_t(id));
    if (comma == std::string::npos)
      return true;
    start = comma + 1;
  }
}

int runArtifact(const ArtifactRunOptions &o) {
  char error[1024] = {};
  bitnet_model *model = nullptr;
  if (bitnet_create(o.path.c_str(), &model, error, sizeof(error)) != BITNET_OK)
    return fail(error);
  struct Guard {
    bitnet_model *m;
    ~Guard() { bitnet_free(m); }
  } guard{model};
  bitnet_model_info info;
  bitnet_info(model, &info);
  bool onGpu = std::strcmp(info.device, "cpu") != 0;
  if (o.device == "cuda" && !onGpu)
    return fail("--device=cuda: '" + o.path + "' was compiled for the CPU (" +
                info.cpu + "); compile it with bitnet-compile --target=cuda");
  if (o.device == "cpu" && onGpu)
    return fail("--device=cpu: '" + o.path + "' was compiled for CUDA (" +
                info.gpu_arch + "); compile it with --target=x86_64");

  std::vector<int32_t> prompt;
  if (o.textPrompt) {
    if (std::strcmp(info.tokenizer, "bytes") != 0)
      return fail("--prompt needs a byte-level model; '" + o.path +
                  "' records no tokenizer: use --prompt-ids");
    for (unsigned char c : o.promptText)
      prompt.push_back(c);
  } else {
    for (int64_t id : o.promptIds) {
      if (id < 0 || id >= info.vocab)
        return fail("token id " + std::to_string(id) +
                    " is outside the vocabulary [0, " +
                    std::to_string(info.vocab) + ")");
      prompt.push_back(int32_t(id));
    }
  }
  if (prompt.empty())
    return fail("the prompt is empty");
  int64_t total = int64_t(prompt.size()) + o.maxNewTokens;
  if (total > info.max_context)
    return fail("the prompt (" + std::to_string(prompt.size()) +
                " tokens) plus --max-new-tokens " +
                std::to_string(o.maxNewTokens) + " exceed the context of " +
                std::to_string(info.max_context) +
                " the artifact was compiled for (--max-context)");

  int64_t vocab = info.vocab;
  std::vector<float> logits(prompt.size() * vocab);
  bool all = !o.dumpLogits.empty();
  // One generation; every repetition starts from an empty cache and the
  // same seed, so it computes (and must produce) the same tokens.
  auto generate = [&](bool first, std::vector<int32_t> &generated) -> bool {
    if (bitnet_prefill(model, prompt.data(), int64_t(prompt.size()),
                       logits.data(), all && first) != BITNET_OK)
      return false;
    const float *last = all && first
                            ? logits.data() + (prompt.size() - 1) * vocab
                            : logits.data();
    std::mt19937_64 rng(o.seed);
    std::vector<float> row(last, last + vocab);
    for (unsigned i = 0; i < o.maxNewTokens; ++i) {
      int32_t next = pick(row.data(), vocab, o, rng);
      generated.push_back(next);
      if (i + 1 == o.maxNewTokens)
        break;
      if (bitnet_decode(model, next, row.data()) != BITNET_OK)
        return false;
    }
    return true;
  };
  std::vector<int32_t> generated;
  if (!generate(true, generated))
    return fail(bitnet_last_error(model));
  if (all) {
    std::string why;
    if (!npy::writeF32(o.dumpLogits, {int64_t(prompt.size()), vocab},
                       logits.data(), why))
      return fail(why);
  }
  bitnet_stats stats;
  bitnet_stats_get(model, &stats);
  // Per run: the first is cold (weights paged in, caches empty); with
  // --repeat the best of the runs is reported, as benchmarks do.
  bitnet_stats best = stats, first = stats, before = stats;
  for (unsigned r = 1; r < o.repeat; ++r) {
    bitnet_reset(model);
    std::vector<int32_t> again;
    if (!generate(false, again))
      return fail(bitnet_last_error(model));
    if (again != generated)
      std::fprintf(stderr, "bitnet-run: warning: run %u generated other "
                           "tokens than the first\n", r + 1);
    bitnet_stats now;
    bitnet_stats_get(model, &now);
    double p = now.prefill_seconds - before.prefill_seconds,
           d = now.decode_seconds - before.decode_seconds;
    if (p < best.prefill_seconds)
      best.prefill_seconds = p;
    if (d < best.decode_seconds)
      best.decode_seconds = d;
    before = now;
  }

  std::printf("model: %s, %s (%lld layers, hidden %lld, vocab %lld), ",
              o.path.c_str(), info.variant, (long long)info.layers,
              (long long)info.hidden, (long long)vocab);
  if (onGpu)
    std::printf("on %s (cuda %s; host code for %s)\n", info.device,
                info.gpu_arch, info.cpu);
  else
    std::printf("compiled for %s\n", info.cpu);
  if (info.random_weights)
    std::printf("weights: RANDOM (compiled with --random-weights; the runtime "
                "filled them from a seed): timing only, the tokens and logits "
                "mean nothing\n");
  std::printf("generated ids:");
  for (int32_t id : generated)
    std::printf(" %d", id);
  std::printf("\n");
  if (std::strcmp(info.tokenizer, "bytes") == 0) {
    std::string text;
    for (int32_t id : generated)
      text.push_back(char(id));
    std::printf("generated text: %s\n", text.c_str());
  }
  auto rate = [](int64_t n, double s) { return s > 0 ? double(n) / s : 0.0; };
  std::printf("prefill: %lld tokens in %.4f s (%.1f tokens/s); decode: %lld "
              "tokens in %.4f s (%.1f tokens/s)",
              (long long)best.prefill_tokens, best.prefill_seconds,
              rate(best.prefill_tokens, best.prefill_seconds),
              (long long)best.decode_tokens, best.decode_seconds,
              rate(best.decode_tokens, best.decode_seconds));
  if (o.repeat > 1)
    std::printf(" (best of %u runs; the first: %.1f and %.1f tokens/s)",
                o.repeat, rate(first.prefill_tokens, first.prefill_seconds),
                rate(first.decode_tokens, first.decode_seconds));
  std::printf("\n");
  // The first run's prompt steps (each run takes the same).
  if (info.prefill_wide_chunk)
    std::printf("prefill steps: %lld of %lld tokens, %lld of %lld\n",
                (long long)first.prefill_wide_steps,
                (long long)info.prefill_wide_chunk,
                (long long)first.prefill_steps, (long long)info.prefill_chunk);
  if (o.sparsity) {
    int64_t n = bitnet_sparsity(model, nullptr, 0);
    std::vector<bitnet_sparsity_row> rows(n);
    bitnet_sparsity(model, rows.data(), n);
    if (n == 0) {
      std::printf("sparsity: no quantized BitLinear inputs (a float model: "
                  "every parameter is active)\n");
    } else {
      std::printf("sparsity (measured on %lld tokens):\n",
                  (long long)(stats.position * o.repeat));
      std::printf("  %-10s %-14s %8s %16s %16s\n", "input of", "quantizer",
                  "sparsity", "params", "active params");
      double params = 0, active = 0;
      for (const bitnet_sparsity_row &r : rows) {
        std::printf("  %-10s %-14s %7.1f%% %16lld %16.0f\n", r.projections,
                    r.scheme, 100.0 * r.input_sparsity,
                    (long long)r.weight_params, r.active_params);
        params += double(r.weight_params);
        active += r.active_params;
      }
      std::printf("  BitLinear parameters active: %.1f%% (%.0f of %.0f)\n",
                  params > 0 ? 100.0 * active / params : 0.0, active, params);
    }
  }
  return 0;
}
