//===- Reference.h - Independent C++ reference of bitnet numerics -*- C++ -*-===//
//
// Plain loops that follow the op definitions in BitNetOps.td, written apart
// from the IR lowering (different algorithms where one exists: TopK by
// sorting, FP4 by nearest-grid search) so that the two check each other.
// Row-major; "rows" are tokens, "d" the last dimension.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_UNITTESTS_NUMERICS_REFERENCE_H
#define BITNET_UNITTESTS_NUMERICS_REFERENCE_H

#include <cstdint>
#include <vector>

namespace bitnet::ref {

struct Quantized {
  std::vector<int8_t> codes; // FP4: sign << 3 | grid index
  std::vector<float> scales;
};

/// `recipMul` forms the multiplier as (1 / d) * Q instead of Q / d.
Quantized absmaxQuant(const std::vector<float> &x, int64_t rows, int64_t d,
                      int bits, float eps, bool clampEps, bool recipMul = false);
Quantized absmeanQuant(const std::vector<float> &x, int64_t rows, int64_t d,
                       int bits, float eps, bool clampEps, bool recipMul = false);
Quantized fp4Quant(const std::vector<float> &x, int64_t rows, int64_t d,
                   float eps, bool clampEps, bool recipMul = false);
Quantized ternaryQuant(const std::vector<float> &w, float eps, bool clampEps,
                       bool recipMul = false);

/// E2M1 value of a 4-bit code.
float e2m1Value(int8_t code);

std::vector<float> dequantize(const std::vector<int8_t> &codes,
                              const std::vector<float> &scales, int64_t d,
                              bool fp4);
std::vector<float> topkSparsify(const std::vector<float> &x, int64_t rows,
                                int64_t d, double ratio);
/// y[m, n] = f32(sum_k x[m,k] w[n,k]) * (xs[m] * ws); FP4 codes sum 2x.
std::vector<float> bitLinear(const std::vector<int8_t> &x,
                             const std::vector<float> &xs,
                             const std::vector<int8_t> &w, float ws, int64_t m,
                             int64_t n, int64_t k, bool fp4);
std::vector<float> relu2Glu(const std::vector<float> &gate,
                            const std::vector<float> &up);
/// K/V [T, H, D] tokens starting at absolute position `start`.
Quantized kvQuant(const std::vector<float> &x, int64_t t, int64_t h, int64_t d,
                  int bits, int bosBits, int64_t start, float eps);
std::vector<float> kvDequant(const Quantized &q, int64_t t, int64_t h,
                             int64_t d, int bits, int bosBits, int64_t start);

} // namespace bitnet::ref

#endif // BITNET_UNITTESTS_NUMERICS_REFERENCE_H
