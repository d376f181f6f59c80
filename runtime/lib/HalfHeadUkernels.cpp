//===- HalfHeadUkernels.cpp - The LM head with f16 / bf16 weights ---------===//
//
// `--lm-head=f16` / `bf16` (bitnet-half-lm-head) store the LM head [n, k] in
// 16 bits; this kernel widens each weight to f32 in registers (F16C's
// vcvtph2ps for f16, a 16-bit shift for bf16, both exact) and sums x . w in
// f32 like the float head. Four vocabulary rows at a time, every activation
// row against a tile before the next tile; the rows kHeadAhead on
// prefetched into L2 as every LM head kernel does (KernelSupport.h).
//
//===----------------------------------------------------------------------===//

#include "Avx2Ukernels.h"
#include "CpuProfile.h"
#include "KernelSupport.h"
#include "bitnet/Runtime/Ukernels.h"
#include "bitnet/Support/HalfFloat.h"

#include <algorithm>
#include <immintrin.h>

using namespace bitnet_rt;
using namespace bitnet_rt::detail;

namespace {

using Format = HalfFormat;

inline float widen(Format f, uint16_t h) {
  return f == Format::F16 ? halffloat::halfToFloat(h)
                          : halffloat::bf16ToFloat(h);
}

/// The scalar sum of one row's tail [from, k).
inline float tailDot(Format f, const float *x, const uint16_t *w, int64_t from,
                     int64_t k) {
  float s = 0;
  for (int64_t i = from; i < k; ++i)
    s += x[i] * widen(f, w[i]);
  return s;
}

template <Format F> BITNET_AVX512F inline __m512 widen16(const uint16_t *w) {
  __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(w));
  if constexpr (F == Format::F16)
    return _mm512_cvtph_ps(h);
  else
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

template <Format F> BITNET_AVX2 inline __m256 widen8(const uint16_t *w) {
  __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i *>(w));
  if constexpr (F == Format::F16)
    return _mm256_cvtph_ps(h);
  else
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

template <Format F>
BITNET_AVX512F void dotRows512(const float *x, int64_t rows, int64_t xStride,
                               const uint16_t *w, int64_t n0, int64_t n1,
                               int64_t k, int64_t wStride, float *out,
                               int64_t outStride) {
  const int64_t full = k / 16 * 16;
  int64_t n = n0;
  for (; n + 4 <= n1; n += 4) {
    const int64_t ahead = headAhead(n, n1, wStride);
    for (int64_t m = 0; m < rows; ++m) {
      const float *xr = x + m * xStride;
      __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(),
                       _mm512_setzero_ps(), _mm512_setzero_ps()};
      for (int64_t i = 0; i < full; i += 16) {
        if (m == 0 && ahead && i % 32 == 0)
          prefetchHeadTile(w, n, wStride, ahead, i);
        __m512 xv = _mm512_loadu_ps(xr + i);
        for (int b = 0; b < 4; ++b)
          acc[b] = _mm512_fmadd_ps(widen16<F>(w + (n + b) * wStride + i), xv,
                                   acc[b]);
      }
      for (int b = 0; b < 4; ++b)
        out[m * outStride + n + b] +=
            _mm512_reduce_add_ps(acc[b]) +
            tailDot(F, xr, w + (n + b) * wStride, full, k);
    }
  }
  for (; n < n1; ++n)
    for (int64_t m = 0; m < rows; ++m) {
      const float *xr = x + m * xStride;
      __m512 acc = _mm512_setzero_ps();
      for (int64_t i = 0; i < full; i += 16)
        acc = _mm512_fmadd_ps(widen16<F>(w + n * wStride + i),
                              _mm512_loadu_ps(xr + i), acc);
      out[m * outStride + n] +=
          _mm512_reduce_add_ps(acc) + tailDot(F, xr, w + n * wStride, full, k);
    }
}

template <Format F>
BITNET_AVX2 void dotRows256(const float *x, int64_t rows, int64_t xStride,
                            const uint16_t *w, int64_t n0, int64_t n1,
                            int64_t k, int64_t wStride, float *out,
                            int64_t outStride) {
  const int64_t full = k / 8 * 8;
  int64_t n = n0;
  for (; n + 4 <= n1; n += 4) {
    const int64_t ahead = headAhead(n, n1, wStride);
    for (int64_t m = 0; m < rows; ++m) {
      const float *xr = x + m * xStride;
      __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(),
                       _mm256_setzero_ps(), _mm256_setzero_ps()};
      for (int64_t i = 0; i < full; i += 8) {
        if (m == 0 && ahead && i % 32 == 0)
          prefetchHeadTile(w, n, wStride, ahead, i);
        __m256 xv = _mm256_loadu_ps(xr + i);
        for (int b = 0; b < 4; ++b)
          acc[b] = _mm256_fmadd_ps(widen8<F>(w + (n + b) * wStride + i), xv,
                                   acc[b]);
      }
      for (int b = 0; b < 4; ++b)
        out[m * outStride + n + b] +=
            sumLanes8(acc[b]) + tailDot(F, xr, w + (n + b) * wStride, full, k);
    }
  }
  for (; n < n1; ++n)
    for (int64_t m = 0; m < rows; ++m) {
      const float *xr = x + m * xStride;
      __m256 acc = _mm256_setzero_ps();
      for (int64_t i = 0; i < full; i += 8)
        acc = _mm256_fmadd_ps(widen8<F>(w + n * wStride + i),
                              _mm256_loadu_ps(xr + i), acc);
      out[m * outStride + n] +=
          sumLanes8(acc) + tailDot(F, xr, w + n * wStride, full, k);
    }
}

template <Format F>
void dotRows(KernelKind kind, const float *x, int64_t rows, int64_t xStride,
             const uint16_t *w, int64_t n0, int64_t n1, int64_t k,
             int64_t wStride, float *out, int64_t outStride) {
  if (usesAvx512(kind))
    return dotRows512<F>(x, rows, xStride, w, n0, n1, k, wStride, out,
                         outStride);
  if (kind == KernelKind::AVX2)
    return dotRows256<F>(x, rows, xStride, w, n0, n1, k, wStride, out,
                         outStride);
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t j = n0; j < n1; ++j)
      out[m * outStride + j] += tailDot(F, x + m * xStride, w + j * wStride, 0, k);
}

void halfHead(BitnetUnrankedMemRef *xm, BitnetUnrankedMemRef *wm,
              BitnetUnrankedMemRef *om, Format format) {
  View<float> x = view<float>(xm), o = view<float>(om);
  View<uint16_t> w = view<uint16_t>(wm);
  int64_t rows, xStride, oRows, oStride;
  if (!rowsOf(x, 1, rows, xStride) || !rowsOf(o, 1, oRows, oStride) ||
      rows != oRows || w.rank != 2 || w.strides[1] != 1)
    badOperands("16-bit LM head");
  matmulF32HalfW(x.base, rows, xStride, w.base, w.sizes[0],
                 x.sizes[x.rank - 1], w.strides[0], o.base, oStride, format);
}

} // namespace

void bitnet_rt::matmulF32HalfW(const float *x, int64_t rows, int64_t xStride,
                               const uint16_t *w, int64_t n, int64_t k,
                               int64_t wStride, float *out, int64_t outStride,
                               HalfFormat format, KernelKind kind) {
  if (rows <= 0) // no logit rows asked for
    return;
  if (kind == KernelKind::Auto)
    kind = selectedKernel();
  int64_t grain = floatRowGrain(k, rows);
  parallelFor(n, grain, [&](int64_t n0, int64_t n1) {
    (format == Format::F16 ? dotRows<Format::F16> : dotRows<Format::BF16>)(
        kind, x, rows, xStride, w, n0, n1, k, wStride, out, outStride);
  });
}

extern "C" void _mlir_ciface_bitnet_ukernel_matmul_f32_f16w_nt(
    BitnetUnrankedMemRef *x, BitnetUnrankedMemRef *w,
    BitnetUnrankedMemRef *out) {
  cpu_profile::Scope profile("matmul_f32_f16w_nt", {x, w, out});
  halfHead(x, w, out, Format::F16);
}

extern "C" void _mlir_ciface_bitnet_ukernel_matmul_f32_bf16w_nt(
    BitnetUnrankedMemRef *x, BitnetUnrankedMemRef *w,
    BitnetUnrankedMemRef *out) {
  cpu_profile::Scope profile("matmul_f32_bf16w_nt", {x, w, out});
  halfHead(x, w, out, Format::BF16);
}
