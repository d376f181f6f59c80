//===- Avx2Ukernels.h - The AVX2 kernels of the row ukernels -----*- C++ -*-===//
//
// Internal to runtime/lib: what Ukernels.cpp dispatches to on CPUs with
// AVX2 and FMA but without AVX-512 VNNI (AMD Zen 1-3, Intel client cores
// before Ice Lake). Same contracts as the AVX-512 kernels beside them.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_RUNTIME_LIB_AVX2UKERNELS_H
#define BITNET_RUNTIME_LIB_AVX2UKERNELS_H

#include "BitLinearRows.h"

#include <cstdint>

namespace bitnet_rt::detail {

/// Output rows [i0, i1) (of a dense call, or of `gated`'s list) of the 2-bit
/// BitLinear for `rows` activation rows given as planes (4 per row, kqPad
/// bytes each, zero padded) and their sums; adds into out.
void avx2Rows(const int8_t *planes, const int32_t *sums, int64_t rows,
              int64_t kqPad, const uint8_t *w, const GatedRows *gated,
              int64_t i0, int64_t i1, int64_t kq, int64_t wStride,
              int32_t *out, int64_t outStride);

/// out[m, n0:n1] += x[m, :k] . w[n, :k] (w is [n, k]).
void avx2F32DotRows(const float *x, int64_t rows, int64_t xStride,
                    const float *w, int64_t n0, int64_t n1, int64_t k,
                    int64_t wStride, float *out, int64_t outStride);

/// out[m, n0:n1] += x[m, :k] W[:k, n0:n1] (w is [k, n]).
void avx2F32AxpyRows(const float *x, int64_t rows, int64_t xStride,
                     const float *w, int64_t n0, int64_t n1, int64_t k,
                     int64_t wStride, float *out, int64_t outStride);

/// out[m, n0:n1] += x[m, :k] . float(w[n, :k]) (an int8 LM head).
void avx2I8wDotRows(const float *x, int64_t rows, int64_t xStride,
                    const int8_t *w, int64_t n0, int64_t n1, int64_t k,
                    int64_t wStride, float *out, int64_t outStride);

} // namespace bitnet_rt::detail

#endif // BITNET_RUNTIME_LIB_AVX2UKERNELS_H
