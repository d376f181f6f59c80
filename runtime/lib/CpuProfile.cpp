//===- CpuProfile.cpp - Where a CPU step's time goes -----------------------===//

#include "CpuProfile.h"

#include <algorithm>
#include <cassert>
#include <iterator>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

using namespace bitnet_rt::cpu_profile;

bool bitnet_rt::cpu_profile::enabled() {
  static const bool on = [] {
    const char *v = std::getenv("BITNET_CPU_PROFILE");
    return v && *v && std::string(v) != "0";
  }();
  return on;
}

double bitnet_rt::cpu_profile::now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void Totals::addCall(const std::string &key, double seconds) {
  std::lock_guard<std::mutex> lock(mutex);
  Sum &s = calls[key];
  s.seconds += seconds;
  ++s.count;
}

void Totals::addStep(const std::string &kind, double seconds) {
  std::lock_guard<std::mutex> lock(mutex);
  Sum &s = steps[kind];
  s.seconds += seconds;
  ++s.count;
}

bool Totals::empty() const {
  std::lock_guard<std::mutex> lock(mutex);
  return calls.empty() && steps.empty();
}

std::string Totals::report(size_t rows) const {
  std::lock_guard<std::mutex> lock(mutex);
  double stepSeconds = 0, callSeconds = 0;
  int64_t stepCount = 0, callCount = 0;
  for (const auto &[kind, s] : steps) {
    stepSeconds += s.seconds;
    stepCount += s.count;
  }
  std::vector<std::pair<std::string, Sum>> sorted(calls.begin(), calls.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto &a, const auto &b) {
    return a.second.seconds > b.second.seconds ||
           (a.second.seconds == b.second.seconds && a.first < b.first);
  });
  for (const auto &[key, s] : sorted) {
    callSeconds += s.seconds;
    callCount += s.count;
  }
  // Shares of the steps' time; without steps (a ukernel called directly),
  // of the ukernels' own.
  const double whole = stepSeconds > 0 ? stepSeconds : callSeconds;
  auto share = [&](double s) { return whole > 0 ? 100.0 * s / whole : 0.0; };
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line,
                "bitnet cpu profile: %lld steps, %.3f ms; %lld ukernel calls, "
                "%.3f ms (%.1f%%); the rest, %.3f ms, is the generated code\n",
                (long long)stepCount, 1e3 * stepSeconds, (long long)callCount,
                1e3 * callSeconds, share(callSeconds),
                1e3 * std::max(0.0, stepSeconds - callSeconds));
  out += line;
  for (const auto &[kind, s] : steps) {
    std::snprintf(line, sizeof line, "  %-8s steps %6lld %11.3f ms %9.1f us a step\n",
                  kind.c_str(), (long long)s.count, 1e3 * s.seconds,
                  1e6 * s.seconds / double(s.count));
    out += line;
  }
  std::snprintf(line, sizeof line, "  %-56s %7s %11s %9s %6s\n",
                "ukernel and operand shapes", "calls", "total ms", "avg us",
                "share");
  out += line;
  for (size_t i = 0; i < sorted.size() && i < rows; ++i) {
    const auto &[key, s] = sorted[i];
    std::snprintf(line, sizeof line, "  %-56s %7lld %11.3f %9.2f %5.1f%%\n",
                  key.c_str(), (long long)s.count, 1e3 * s.seconds,
                  1e6 * s.seconds / double(s.count), share(s.seconds));
    out += line;
  }
  if (sorted.size() > rows) {
    std::snprintf(line, sizeof line, "  (%zu more)\n", sorted.size() - rows);
    out += line;
  }
  return out;
}

namespace {
/// Prints the process's totals when it ends.
struct ProcessTotals {
  Totals totals;
  ~ProcessTotals() {
    if (enabled() && !totals.empty())
      std::fputs(totals.report().c_str(), stderr);
  }
};
} // namespace

Totals &bitnet_rt::cpu_profile::process() {
  static ProcessTotals p;
  return p.totals;
}

Scope::Scope(const char *kernel,
             std::initializer_list<const BitnetUnrankedMemRef *> ops) {
  if (!enabled())
    return;
  assert(ops.size() <= std::size(operands) && "a key names at most 4 operands");
  this->kernel = kernel;
  for (const BitnetUnrankedMemRef *op : ops)
    operands[count++] = op;
  start = now();
}

Scope::~Scope() {
  if (!kernel)
    return;
  double seconds = now() - start;
  // The key from the descriptors (allocated, aligned, offset, sizes...),
  // which stay valid for the call.
  std::string key = kernel;
  for (int i = 0; i < count; ++i) {
    const BitnetUnrankedMemRef *m = operands[i];
    key += i ? " [" : "  [";
    const int64_t *d = static_cast<const int64_t *>(m->descriptor);
    for (int64_t r = 0; r < m->rank; ++r)
      key += (r ? "x" : "") + std::to_string(d[3 + r]);
    key += "]";
  }
  process().addCall(key, seconds);
}
