//===- TernaryQuant.cpp - Per-tensor ternary weight quantization ----------===//

#include "bitnet/Support/TernaryQuant.h"

#include <algorithm>
#include <cmath>

float ternary::quantizeTernary(const float *w, int64_t n,
                               const QuantOptions &options, int8_t *codes) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i)
    sum += double(std::fabs(w[i]));
  float mean = float(sum / double(n));
  float d = options.clampEps ? std::max(mean, options.eps) : mean + options.eps;
  // Both forms with Q = 1: 1 / d, or (1 / d) * 1, which is the same value.
  float mult = 1.f / d;
  for (int64_t i = 0; i < n; ++i) {
    float r = std::nearbyint(w[i] * mult);
    codes[i] = int8_t(std::min(std::max(r, -1.f), 1.f));
  }
  return d;
}
