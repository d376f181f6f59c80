//===- Reference.cpp - Independent C++ reference of bitnet numerics -------===//

#include "Reference.h"

#include <algorithm>
#include <cfenv>
#include <cmath>
#include <numeric>

namespace bitnet::ref {

static float guard(float s, float eps, bool clampEps) {
  return clampEps ? std::max(s, eps) : s + eps;
}

static float multiplier(float q, float d, bool recipMul) {
  return recipMul ? (1.f / d) * q : q / d;
}

/// Round half to even (the default FP environment's nearbyint).
static float rne(float v) { return std::nearbyint(v); }

static int8_t roundClip(float v, float lo, float hi) {
  return int8_t(std::min(std::max(rne(v), lo), hi));
}

/// max |v| over n consecutive values.
static float absMax(const float *v, int64_t n) {
  float g = 0.f;
  for (int64_t i = 0; i < n; ++i)
    g = std::max(g, std::fabs(v[i]));
  return g;
}

Quantized absmaxQuant(const std::vector<float> &x, int64_t rows, int64_t d,
                      int bits, float eps, bool clampEps, bool recipMul) {
  const float q = float((1 << (bits - 1)) - 1);
  Quantized out{std::vector<int8_t>(x.size()), std::vector<float>(rows)};
  for (int64_t r = 0; r < rows; ++r) {
    float dd = guard(absMax(&x[r * d], d), eps, clampEps);
    float mult = multiplier(q, dd, recipMul);
    out.scales[r] = dd / q;
    for (int64_t i = 0; i < d; ++i)
      out.codes[r * d + i] = roundClip(x[r * d + i] * mult, -q - 1, q);
  }
  return out;
}

Quantized absmeanQuant(const std::vector<float> &x, int64_t rows, int64_t d,
                       int bits, float eps, bool clampEps, bool recipMul) {
  const int q = (1 << (bits - 1)) - 1;
  const float sqrtQ = float(std::sqrt(double(q)));
  Quantized out{std::vector<int8_t>(x.size()), std::vector<float>(rows)};
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0;
    for (int64_t i = 0; i < d; ++i)
      sum += double(std::fabs(x[r * d + i]));
    float b = float(sum / double(d));
    float dd = guard(b, eps, clampEps);
    float mult = multiplier(sqrtQ, dd, recipMul);
    out.scales[r] = dd / sqrtQ;
    for (int64_t i = 0; i < d; ++i)
      out.codes[r * d + i] =
          roundClip(x[r * d + i] * mult, float(-q - 1), float(q));
  }
  return out;
}

float e2m1Value(int8_t code) {
  static const float grid[8] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6};
  float v = grid[code & 7];
  return (code & 8) ? -v : v;
}

/// Nearest E2M1 grid index; a tie goes to the even index (even mantissa).
static int8_t nearestE2M1(float mag) {
  int best = 0;
  for (int i = 1; i < 8; ++i) {
    float dBest = std::fabs(mag - e2m1Value(int8_t(best)));
    float dI = std::fabs(mag - e2m1Value(int8_t(i)));
    if (dI < dBest || (dI == dBest && i % 2 == 0))
      best = i;
  }
  return int8_t(best);
}

Quantized fp4Quant(const std::vector<float> &x, int64_t rows, int64_t d,
                   float eps, bool clampEps, bool recipMul) {
  Quantized out{std::vector<int8_t>(x.size()), std::vector<float>(rows)};
  for (int64_t r = 0; r < rows; ++r) {
    float dd = guard(absMax(&x[r * d], d), eps, clampEps);
    float mult = multiplier(6.f, dd, recipMul);
    out.scales[r] = dd / 6.f;
    for (int64_t i = 0; i < d; ++i) {
      float v = x[r * d + i] * mult;
      out.codes[r * d + i] =
          int8_t((std::signbit(v) ? 8 : 0) | nearestE2M1(std::fabs(v)));
    }
  }
  return out;
}

Quantized ternaryQuant(const std::vector<float> &w, float eps, bool clampEps,
                       bool recipMul) {
  double sum = 0;
  for (float v : w)
    sum += double(std::fabs(v));
  float a = float(sum / double(w.size()));
  float dd = guard(a, eps, clampEps);
  float mult = multiplier(1.f, dd, recipMul);
  Quantized out{std::vector<int8_t>(w.size()), {dd}};
  for (size_t i = 0; i < w.size(); ++i)
    out.codes[i] = roundClip(w[i] * mult, -1.f, 1.f);
  return out;
}

std::vector<float> dequantize(const std::vector<int8_t> &codes,
                              const std::vector<float> &scales, int64_t d,
                              bool fp4) {
  std::vector<float> out(codes.size());
  for (size_t i = 0; i < codes.size(); ++i) {
    float v = fp4 ? e2m1Value(codes[i]) : float(codes[i]);
    out[i] = v * scales[scales.size() == 1 ? 0 : i / d];
  }
  return out;
}

std::vector<float> topkSparsify(const std::vector<float> &x, int64_t rows,
                                int64_t d, double ratio) {
  int64_t k = std::clamp<int64_t>(int64_t(std::floor(ratio * d + 1e-9)), 1, d);
  std::vector<float> out(x.size(), 0.f);
  std::vector<int64_t> idx(d);
  for (int64_t r = 0; r < rows; ++r) {
    const float *row = &x[r * d];
    std::iota(idx.begin(), idx.end(), 0);
    // Larger magnitude first; among equal magnitudes the lower index.
    std::sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
      float ma = std::fabs(row[a]), mb = std::fabs(row[b]);
      return ma != mb ? ma > mb : a < b;
    });
    for (int64_t i = 0; i < k; ++i)
      out[r * d + idx[i]] = row[idx[i]];
  }
  return out;
}

std::vector<float> bitLinear(const std::vector<int8_t> &x,
                             const std::vector<float> &xs,
                             const std::vector<int8_t> &w, float ws, int64_t m,
                             int64_t n, int64_t k, bool fp4) {
  std::vector<float> y(m * n);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      int64_t acc = 0;
      for (int64_t l = 0; l < k; ++l) {
        int64_t xv = fp4 ? int64_t(2 * e2m1Value(x[i * k + l])) : x[i * k + l];
        acc += xv * w[j * k + l];
      }
      float f = float(acc);
      if (fp4)
        f *= 0.5f;
      y[i * n + j] = f * (xs[i] * ws);
    }
  return y;
}

std::vector<float> relu2Glu(const std::vector<float> &gate,
                            const std::vector<float> &up) {
  std::vector<float> out(gate.size());
  for (size_t i = 0; i < gate.size(); ++i) {
    float r = gate[i] > 0.f ? gate[i] : 0.f;
    out[i] = up[i] * (r * r);
  }
  return out;
}

static int tokenBits(int64_t pos, int bits, int bosBits) {
  return (pos == 0 && bosBits > 0) ? bosBits : bits;
}

Quantized kvQuant(const std::vector<float> &x, int64_t t, int64_t h, int64_t d,
                  int bits, int bosBits, int64_t start, float eps) {
  Quantized out{std::vector<int8_t>(x.size()), std::vector<float>(t * h)};
  for (int64_t ti = 0; ti < t; ++ti) {
    int b = tokenBits(start + ti, bits, bosBits);
    float q = float((1 << (b - 1)) - 1);
    for (int64_t hi = 0; hi < h; ++hi) {
      const float *v = &x[(ti * h + hi) * d];
      float dd = absMax(v, d) + eps;
      float mult = q / dd;
      out.scales[ti * h + hi] = dd / q;
      for (int64_t i = 0; i < d; ++i)
        out.codes[(ti * h + hi) * d + i] =
            int8_t(roundClip(v[i] * mult, -q - 1, q) + int(q) + 1);
    }
  }
  return out;
}

std::vector<float> kvDequant(const Quantized &q, int64_t t, int64_t h,
                             int64_t d, int bits, int bosBits, int64_t start) {
  std::vector<float> out(q.codes.size());
  for (int64_t ti = 0; ti < t; ++ti) {
    int b = tokenBits(start + ti, bits, bosBits);
    int offset = 1 << (b - 1);
    for (int64_t hi = 0; hi < h; ++hi)
      for (int64_t i = 0; i < d; ++i) {
        int64_t e = (ti * h + hi) * d + i;
        out[e] = float(int(uint8_t(q.codes[e])) - offset) * q.scales[ti * h + hi];
      }
  }
  return out;
}

} // namespace bitnet::ref
