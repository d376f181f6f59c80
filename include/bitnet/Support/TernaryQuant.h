//===- TernaryQuant.h - Per-tensor ternary weight quantization --*- C++ -*-===//
//
// bitnet.ternary_quant in plain C++, for compile-time weight folding (and the
// runtime): the same float operations in the same order as the reference
// lowering, so a folded weight has the codes the program would compute.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_SUPPORT_TERNARYQUANT_H
#define BITNET_SUPPORT_TERNARYQUANT_H

#include <cstdint>

namespace ternary {

struct QuantOptions {
  float eps = 1e-5f;
  bool clampEps = false; // max(mean, eps) rather than mean + eps
  bool recipMul = false; // multiplier (1 / d) * 1 rather than 1 / d
};

/// Writes the codes of `n` weights (index order) and returns the scale d:
/// mean |w| summed in f64 in index order and rounded once to f32, guarded by
/// eps, then codes = clip(round_half_even(w * (1 / d)), -1, 1).
float quantizeTernary(const float *w, int64_t n, const QuantOptions &options,
                      int8_t *codes);

} // namespace ternary

#endif // BITNET_SUPPORT_TERNARYQUANT_H
