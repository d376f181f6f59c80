//===- CpuProfile.h - Where a CPU step's time goes -------------*- C++ -*-===//
//
// BITNET_CPU_PROFILE=1: each ukernel call (the model code's calls into the
// runtime: BitLinear GEMMs, float matmuls, attention, TopK) is timed and
// summed by kernel and operand shapes, and each step by kind; the table is
// printed to stderr when the process ends. A step's time less its ukernels'
// is the generated code's (norms, quantizers, RoPE, softmax, glue). The CPU
// counterpart of BITNET_CUDA_PROFILE; off, a call costs one test of a flag.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_RUNTIME_LIB_CPUPROFILE_H
#define BITNET_RUNTIME_LIB_CPUPROFILE_H

#include "bitnet/Runtime/Ukernels.h"

#include <cstdint>
#include <initializer_list>
#include <map>
#include <mutex>
#include <string>

namespace bitnet_rt::cpu_profile {

/// Whether BITNET_CPU_PROFILE is set (read once).
bool enabled();

/// Seconds on a monotonic clock.
double now();

/// The sums the report is made of (one per process; a class so that tests
/// can fill and print their own).
class Totals {
public:
  void addCall(const std::string &key, double seconds);
  void addStep(const std::string &kind, double seconds);
  /// The table: steps by kind, then ukernels by total time (largest
  /// first, at most `rows`), each with its share of all steps' time.
  std::string report(size_t rows = 30) const;
  bool empty() const;

private:
  struct Sum {
    double seconds = 0;
    int64_t count = 0;
  };
  mutable std::mutex mutex;
  std::map<std::string, Sum> calls, steps;
};

/// The process's totals (printed at exit when enabled()).
Totals &process();

/// Times one ukernel call; its key is `kernel` and the shapes of at most 4
/// operands, those that say what the call computes ("bitlinear_i8_bits2
/// [1x64x640x4] [6912x640] [1x64x6912]"; the quantized caches' attention
/// names its query or probabilities, cache, start and output, as the float
/// ones do, not their scales and offsets).
class Scope {
public:
  Scope(const char *kernel,
        std::initializer_list<const BitnetUnrankedMemRef *> operands);
  ~Scope();
  Scope(const Scope &) = delete;
  Scope &operator=(const Scope &) = delete;

private:
  const char *kernel = nullptr; // null: not profiling
  const BitnetUnrankedMemRef *operands[4] = {};
  int count = 0;
  double start = 0;
};

} // namespace bitnet_rt::cpu_profile

#endif // BITNET_RUNTIME_LIB_CPUPROFILE_H
