//===- Avx2Ukernels.cpp - Row kernels for AVX2 CPUs without VNNI -----------===//
//
// AVX2 has no u8 x s8 dot product into dwords, but vpmaddubsw multiplies u8
// by s8 and adds neighbouring pairs into s16: with the 2-bit codes w + 1 in
// {0, 1, 2} and activations in [-128, 127] a pair is at most 512 in
// magnitude, so the four planes of a 32-byte step sum to at most 2048 in
// s16, exactly; vpmaddwd by ones then widens to dwords. As in the VNNI
// kernel, sum_k w_k x_k = sum_k (w_k + 1) x_k - sum_k x_k.
//
//===----------------------------------------------------------------------===//

#include "Avx2Ukernels.h"
#include "KernelSupport.h"

#include <algorithm>
#include <cstring>
#include <immintrin.h>
#include <type_traits>

using namespace bitnet_rt::detail;

namespace {

constexpr int64_t kStep = 32; // packed bytes per vector

/// The 8 dword sums of a[0..7] in one vector: lane i = sum of a[i]'s lanes.
BITNET_AVX2 inline __m256i reduceEight(const __m256i (&a)[8]) {
  __m256i t0 = _mm256_hadd_epi32(a[0], a[1]), t1 = _mm256_hadd_epi32(a[2], a[3]);
  __m256i t2 = _mm256_hadd_epi32(a[4], a[5]), t3 = _mm256_hadd_epi32(a[6], a[7]);
  // Each 128-bit lane of u0 holds partial sums of a[0..3], of u1 a[4..7].
  __m256i u0 = _mm256_hadd_epi32(t0, t1), u1 = _mm256_hadd_epi32(t2, t3);
  return _mm256_add_epi32(_mm256_permute2x128_si256(u0, u1, 0x20),
                          _mm256_permute2x128_si256(u0, u1, 0x31));
}

BITNET_AVX2 inline int32_t sumLanes(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v),
                            _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

/// 32 packed bytes of a weight row at q, zero past kq (AVX2 has no byte
/// masks; a zero code contributes nothing).
BITNET_AVX2 inline __m256i loadTail(const uint8_t *row, int64_t q, int64_t kq) {
  alignas(32) uint8_t bytes[kStep] = {};
  std::memcpy(bytes, row + q, size_t(std::min(kStep, kq - q)));
  return _mm256_load_si256(reinterpret_cast<const __m256i *>(bytes));
}

/// One 32-byte step (at packed byte q) of NB weight rows against RB
/// activation rows: acc[r * NB + b] += the step's dot products.
template <int RB, int NB>
BITNET_AVX2 __attribute__((always_inline)) inline void
step(const int8_t *planes, int64_t m0, int64_t kqPad, int64_t q,
     const __m256i (&packed)[NB], __m256i (&acc)[RB * NB]) {
  const __m256i three = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
  for (int b = 0; b < NB; ++b) {
    __m256i v[4];
    for (int j = 0; j < 4; ++j)
      v[j] = _mm256_and_si256(_mm256_srli_epi16(packed[b], 2 * j), three);
    for (int r = 0; r < RB; ++r) {
      const int8_t *x = planes + (m0 + r) * 4 * kqPad + q;
      __m256i d[4];
      for (int j = 0; j < 4; ++j)
        d[j] = _mm256_maddubs_epi16(
            v[j], _mm256_loadu_si256(
                      reinterpret_cast<const __m256i *>(x + j * kqPad)));
      __m256i s = _mm256_add_epi16(_mm256_add_epi16(d[0], d[1]),
                                   _mm256_add_epi16(d[2], d[3]));
      acc[r * NB + b] =
          _mm256_add_epi32(acc[r * NB + b], _mm256_madd_epi16(s, ones));
    }
  }
}

/// NB weight rows x RB activation rows (8 accumulators, one per pair, or a
/// single weight row), finished with one transposing reduction.
template <int RB, int NB, typename Rows>
BITNET_AVX2 inline void tile(const int8_t *planes, const int32_t *sums,
                             int64_t m0, int64_t kqPad, const uint8_t *w,
                             Rows rows, int64_t kq, int64_t wStride,
                             int32_t *out, int64_t outStride) {
  static_assert(RB * NB == 8 || NB == 1, "8 accumulators or one row");
  __m256i acc[RB * NB];
  for (__m256i &a : acc)
    a = _mm256_setzero_si256();
  const uint8_t *wr[NB];
  for (int b = 0; b < NB; ++b)
    wr[b] = w + rows.row(b) * wStride;
  bool ahead = false;
  if constexpr (std::is_same_v<Rows, DenseRows>) {
    // The rows `ahead` stream into L2 a line per step; a tile with no
    // rows ahead puts all its lines in flight up front instead. Both
    // touching every tile and prefetching ahead into L1 held the loads back
    // (the AVX2 tier on a Zen 4 EPYC, 2B4T shapes from DRAM, 1 thread: QKV
    // 206-303 -> 122-127 us, down 410-452 -> 211-255 us).
    ahead = rows.ahead && rows.n + rows.ahead + NB <= rows.end;
    if (!ahead) {
      const char *first = reinterpret_cast<const char *>(wr[0]);
      for (int64_t off = 0; off < NB * wStride; off += 64)
        _mm_prefetch(first + off, _MM_HINT_T0);
    }
  }
  int64_t full = kq / kStep * kStep;
  __m256i packed[NB];
  for (int64_t q = 0; q < full; q += kStep) {
    if constexpr (std::is_same_v<Rows, DenseRows>)
      if (ahead && q % 64 == 0)
        for (int b = 0; b < NB; ++b)
          _mm_prefetch(reinterpret_cast<const char *>(
                           wr[b] + rows.ahead * wStride + q),
                       _MM_HINT_T1);
    for (int b = 0; b < NB; ++b)
      packed[b] = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(wr[b] + q));
    step<RB, NB>(planes, m0, kqPad, q, packed, acc);
  }
  if (kq != full) {
    for (int b = 0; b < NB; ++b)
      packed[b] = loadTail(wr[b], full, kq);
    step<RB, NB>(planes, m0, kqPad, full, packed, acc);
  }
  alignas(32) int32_t total[RB * NB];
  if constexpr (RB * NB == 8)
    _mm256_store_si256(reinterpret_cast<__m256i *>(total), reduceEight(acc));
  else
    for (int l = 0; l < RB * NB; ++l)
      total[l] = sumLanes(acc[l]);
  for (int l = 0; l < RB * NB; ++l) {
    int64_t m = m0 + l / NB, n = rows.row(l % NB);
    // Without a branch on the gate (open at random), as in the VNNI tiles.
    int32_t add = total[l] - sums[m];
    out[m * outStride + n] += rows.open(m, n) ? add : 0;
  }
}

/// Dense decode: the rows kDecodeAhead on stream into L2 while a tile
/// computes.
constexpr int64_t kDecodeAhead = 16;

/// Tiles over output rows [i0, i1) of a dense call or of a gated one's list.
template <int RB>
BITNET_AVX2 void rowBlock(const int8_t *planes, const int32_t *sums, int64_t m0,
                          int64_t kqPad, const uint8_t *w,
                          const GatedRows *gated, int64_t i0, int64_t i1,
                          int64_t kq, int64_t wStride, int32_t *out,
                          int64_t outStride, int64_t ahead = 0,
                          int64_t end = 0) {
  constexpr int NB = 8 / RB;
  int64_t i = i0;
  if (!gated || !gated->idx) {
    const float *gate = gated ? gated->gate : nullptr;
    int64_t gs = gated ? gated->gateStride : 0;
    for (; i + NB <= i1; i += NB)
      tile<RB, NB>(planes, sums, m0, kqPad, w, DenseRows{i, gate, gs, ahead, end},
                   kq, wStride, out, outStride);
    for (; i < i1; ++i)
      tile<RB, 1>(planes, sums, m0, kqPad, w, DenseRows{i, gate, gs}, kq,
                  wStride, out, outStride);
    return;
  }
  // Open rows are scattered, so no hardware prefetcher follows them: fetch
  // the rows kGatedLookahead ahead into L2 while this tile computes.
  GatedRows rows = *gated;
  auto lookahead = [&](int64_t at) {
    if (at < i1)
      for (int64_t off = 0; off < kq; off += 64)
        _mm_prefetch(reinterpret_cast<const char *>(w + gated->idx[at] * wStride +
                                                    off),
                     _MM_HINT_T1);
  };
  for (int64_t j = i; j < std::min(i1, i + kGatedLookahead); ++j)
    lookahead(j);
  for (; i + NB <= i1; i += NB) {
    for (int b = 0; b < NB; ++b)
      lookahead(i + kGatedLookahead + b);
    rows.idx = gated->idx + i;
    tile<RB, NB>(planes, sums, m0, kqPad, w, rows, kq, wStride, out, outStride);
  }
  for (; i < i1; ++i) {
    rows.idx = gated->idx + i;
    tile<RB, 1>(planes, sums, m0, kqPad, w, rows, kq, wStride, out, outStride);
  }
}

/// 8 int8 weights as floats.
BITNET_AVX2 inline __m256 widen(const int8_t *p) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(
      _mm_loadl_epi64(reinterpret_cast<const __m128i *>(p))));
}

/// The lanes [0, count) of a masked load or store (count in [0, 8]).
BITNET_AVX2 inline __m256i firstLanes(int64_t count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int32_t(count)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/// V vectors of one output row: o[c0 : c1] += x[:k] W[:k, c0 : c1]; the
/// count is a template argument so the accumulators stay in registers.
/// Masked loads only where the block ends inside a vector (`Tail`): AMD
/// CPUs run vmaskmovps well below a plain load.
template <int V, bool Tail>
BITNET_AVX2 void axpyBlock(const float *xr, const float *w, int64_t c0,
                           int64_t c1, int64_t k, int64_t wStride, float *o) {
  __m256 acc[V];
  __m256i mk[V];
  for (int v = 0; v < V; ++v) {
    mk[v] = firstLanes(std::min<int64_t>(8, c1 - (c0 + 8 * v)));
    acc[v] = Tail ? _mm256_maskload_ps(o + c0 + 8 * v, mk[v])
                  : _mm256_loadu_ps(o + c0 + 8 * v);
  }
  for (int64_t i = 0; i < k; ++i) {
    __m256 xv = _mm256_set1_ps(xr[i]);
    const float *wr = w + i * wStride + c0;
    for (int v = 0; v < V; ++v)
      acc[v] = _mm256_fmadd_ps(Tail ? _mm256_maskload_ps(wr + 8 * v, mk[v])
                                    : _mm256_loadu_ps(wr + 8 * v),
                               xv, acc[v]);
  }
  for (int v = 0; v < V; ++v) {
    if (Tail)
      _mm256_maskstore_ps(o + c0 + 8 * v, mk[v], acc[v]);
    else
      _mm256_storeu_ps(o + c0 + 8 * v, acc[v]);
  }
}

/// R rows by 16 outputs: out[m0 + r, c0 : c1] += x[m0 + r, k] W[k, c0 : c1]
/// (c1 - c0 <= 16). Each weight vector loaded serves R rows, so the FMAs,
/// not the loads, bound it (8 accumulators, 2 weight vectors and a
/// broadcast of the 16 registers). Every output adds its products in k
/// order, as axpyBlock does: the same bits.
template <int R, bool Tail>
BITNET_AVX2 void axpyTile(const float *x, int64_t xStride, const float *w,
                          int64_t c0, int64_t c1, int64_t k, int64_t wStride,
                          float *o, int64_t outStride) {
  constexpr int V = 2;
  __m256 acc[R][V];
  __m256i mk[V];
  for (int v = 0; v < V; ++v)
    mk[v] = firstLanes(std::clamp<int64_t>(c1 - (c0 + 8 * v), 0, 8));
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) {
      float *p = o + r * outStride + c0 + 8 * v;
      acc[r][v] = Tail ? _mm256_maskload_ps(p, mk[v]) : _mm256_loadu_ps(p);
    }
  for (int64_t i = 0; i < k; ++i) {
    const float *wr = w + i * wStride + c0;
    __m256 wv[V];
    for (int v = 0; v < V; ++v)
      wv[v] = Tail ? _mm256_maskload_ps(wr + 8 * v, mk[v])
                   : _mm256_loadu_ps(wr + 8 * v);
    for (int r = 0; r < R; ++r) {
      __m256 xv = _mm256_broadcast_ss(x + r * xStride + i);
      for (int v = 0; v < V; ++v)
        acc[r][v] = _mm256_fmadd_ps(wv[v], xv, acc[r][v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) {
      float *p = o + r * outStride + c0 + 8 * v;
      if (Tail)
        _mm256_maskstore_ps(p, mk[v], acc[r][v]);
      else
        _mm256_storeu_ps(p, acc[r][v]);
    }
}

} // namespace

BITNET_AVX2 void bitnet_rt::detail::avx2Rows(
    const int8_t *planes, const int32_t *sums, int64_t rows, int64_t kqPad,
    const uint8_t *w, const GatedRows *gated, int64_t i0, int64_t i1,
    int64_t kq, int64_t wStride, int32_t *out, int64_t outStride) {
  int64_t m0 = 0;
  // Blocks of 4 activation rows sweep the weight rows in chunks that stay
  // in L2 while every block passes over them (the VNNI kernel's order).
  constexpr int64_t kChunkBytes = 256 << 10;
  int64_t chunk = std::max<int64_t>(
      8, kChunkBytes / std::max<int64_t>(1, wStride) / 8 * 8);
  for (int64_t c0 = i0; rows >= 4 && c0 < i1; c0 += chunk)
    for (m0 = 0; m0 + 4 <= rows; m0 += 4)
      rowBlock<4>(planes, sums, m0, kqPad, w, gated, c0,
                  std::min(i1, c0 + chunk), kq, wStride, out, outStride);
  for (; m0 + 2 <= rows; m0 += 2)
    rowBlock<2>(planes, sums, m0, kqPad, w, gated, i0, i1, kq, wStride, out,
                outStride);
  for (; m0 < rows; ++m0)
    rowBlock<1>(planes, sums, m0, kqPad, w, gated, i0, i1, kq, wStride, out,
                outStride, kDecodeAhead, i1);
}

namespace {
/// The 8 sums of a[0..7] in one vector (reduceEight in f32).
BITNET_AVX2 inline __m256 reduceEightF32(const __m256 (&a)[8]) {
  __m256 t0 = _mm256_hadd_ps(a[0], a[1]), t1 = _mm256_hadd_ps(a[2], a[3]);
  __m256 t2 = _mm256_hadd_ps(a[4], a[5]), t3 = _mm256_hadd_ps(a[6], a[7]);
  __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
  return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20),
                       _mm256_permute2f128_ps(u0, u1, 0x31));
}

/// 2 activation rows x 4 weight rows of x W^T: 8 accumulators, each loaded
/// vector feeding 2 or 4 FMAs (14 of AVX2's 16 registers).
BITNET_AVX2 void f32DotTile2x4(const float *x, int64_t xStride, const float *w,
                               int64_t wStride, int64_t k, __m256i tail,
                               float *out, int64_t outStride) {
  int64_t full = k / 8 * 8;
  __m256 acc[8];
  for (__m256 &a : acc)
    a = _mm256_setzero_ps();
  for (int64_t i = 0; i < full; i += 8) {
    __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + xStride + i);
    for (int b = 0; b < 4; ++b) {
      __m256 wv = _mm256_loadu_ps(w + b * wStride + i);
      acc[b] = _mm256_fmadd_ps(wv, x0, acc[b]);
      acc[4 + b] = _mm256_fmadd_ps(wv, x1, acc[4 + b]);
    }
  }
  if (k != full) {
    __m256 x0 = _mm256_maskload_ps(x + full, tail),
           x1 = _mm256_maskload_ps(x + xStride + full, tail);
    for (int b = 0; b < 4; ++b) {
      __m256 wv = _mm256_maskload_ps(w + b * wStride + full, tail);
      acc[b] = _mm256_fmadd_ps(wv, x0, acc[b]);
      acc[4 + b] = _mm256_fmadd_ps(wv, x1, acc[4 + b]);
    }
  }
  alignas(32) float sums[8];
  _mm256_store_ps(sums, reduceEightF32(acc));
  for (int r = 0; r < 2; ++r)
    for (int b = 0; b < 4; ++b)
      out[r * outStride + b] += sums[4 * r + b];
}
} // namespace

BITNET_AVX2 void bitnet_rt::detail::avx2F32DotRows(
    const float *x, int64_t rows, int64_t xStride, const float *w, int64_t n0,
    int64_t n1, int64_t k, int64_t wStride, float *out, int64_t outStride) {
  int64_t full = k / 8 * 8;
  __m256i tail = firstLanes(k - full);
  int64_t n = n0;
  for (; n + 4 <= n1; n += 4) {
    int64_t m = 0;
    for (; m + 2 <= rows; m += 2)
      f32DotTile2x4(x + m * xStride, xStride, w + n * wStride, wStride, k,
                    tail, out + m * outStride + n, outStride);
    for (; m < rows; ++m) {
      const float *xr = x + m * xStride;
      __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(),
                       _mm256_setzero_ps(), _mm256_setzero_ps()};
      for (int64_t i = 0; i < full; i += 8) {
        __m256 xv = _mm256_loadu_ps(xr + i);
        for (int b = 0; b < 4; ++b)
          acc[b] = _mm256_fmadd_ps(_mm256_loadu_ps(w + (n + b) * wStride + i),
                                   xv, acc[b]);
      }
      if (k != full) {
        __m256 xv = _mm256_maskload_ps(xr + full, tail);
        for (int b = 0; b < 4; ++b)
          acc[b] = _mm256_fmadd_ps(
              _mm256_maskload_ps(w + (n + b) * wStride + full, tail), xv, acc[b]);
      }
      for (int b = 0; b < 4; ++b)
        out[m * outStride + n + b] += sumLanes8(acc[b]);
    }
  }
  for (; n < n1; ++n)
    for (int64_t m = 0; m < rows; ++m) {
      const float *xr = x + m * xStride;
      __m256 acc = _mm256_setzero_ps();
      for (int64_t i = 0; i < full; i += 8)
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(w + n * wStride + i),
                              _mm256_loadu_ps(xr + i), acc);
      if (k != full)
        acc = _mm256_fmadd_ps(_mm256_maskload_ps(w + n * wStride + full, tail),
                              _mm256_maskload_ps(xr + full, tail), acc);
      out[m * outStride + n] += sumLanes8(acc);
    }
}

BITNET_AVX2 void bitnet_rt::detail::avx2F32AxpyRows(
    const float *x, int64_t rows, int64_t xStride, const float *w, int64_t n0,
    int64_t n1, int64_t k, int64_t wStride, float *out, int64_t outStride) {
  if (rows >= 2) {
    // Tiles of 4 rows by 16 outputs, the row blocks inner so the 16
    // columns of W stay in L1 while they pass over them.
    using Tile = void (*)(const float *, int64_t, const float *, int64_t,
                          int64_t, int64_t, int64_t, float *, int64_t);
    static constexpr Tile full[4] = {axpyTile<1, false>, axpyTile<2, false>,
                                     axpyTile<3, false>, axpyTile<4, false>};
    static constexpr Tile tail[4] = {axpyTile<1, true>, axpyTile<2, true>,
                                     axpyTile<3, true>, axpyTile<4, true>};
    for (int64_t c0 = n0; c0 < n1; c0 += 16) {
      int64_t c1 = std::min(n1, c0 + 16);
      const Tile *tiles = c1 - c0 == 16 ? full : tail;
      for (int64_t m0 = 0; m0 < rows; m0 += 4) {
        int r = int(std::min<int64_t>(4, rows - m0));
        tiles[r - 1](x + m0 * xStride, xStride, w, c0, c1, k, wStride,
                     out + m0 * outStride, outStride);
      }
    }
    return;
  }
  using Block = void (*)(const float *, const float *, int64_t, int64_t,
                         int64_t, int64_t, float *);
  static constexpr Block blocks[8] = {
      axpyBlock<1, true>, axpyBlock<2, true>, axpyBlock<3, true>,
      axpyBlock<4, true>, axpyBlock<5, true>, axpyBlock<6, true>,
      axpyBlock<7, true>, axpyBlock<8, true>};
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t c0 = n0; c0 < n1; c0 += 64) {
      int64_t c1 = std::min(n1, c0 + 64);
      if (c1 - c0 == 64)
        axpyBlock<8, false>(x + m * xStride, w, c0, c1, k, wStride,
                            out + m * outStride);
      else
        blocks[(c1 - c0 + 7) / 8 - 1](x + m * xStride, w, c0, c1, k, wStride,
                                       out + m * outStride);
    }
}

BITNET_AVX2 void bitnet_rt::detail::avx2I8wDotRows(
    const float *x, int64_t rows, int64_t xStride, const int8_t *w, int64_t n0,
    int64_t n1, int64_t k, int64_t wStride, float *out, int64_t outStride) {
  int64_t full = k / 8 * 8;
  int64_t n = n0;
  for (; n + 4 <= n1; n += 4) {
    // The rows kHeadAhead on stream into L2 while this tile computes (the
    // AVX-512 kernel's measured choice).
    const int64_t next = headAhead(n, n1, wStride);
    for (int64_t m = 0; m < rows; ++m) {
      const float *xr = x + m * xStride;
      __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(),
                       _mm256_setzero_ps(), _mm256_setzero_ps()};
      for (int64_t i = 0; i < full; i += 8) {
        if (m == 0 && next && i % 64 == 0)
          prefetchHeadTile(w, n, wStride, next, i);
        __m256 xv = _mm256_loadu_ps(xr + i);
        for (int b = 0; b < 4; ++b)
          acc[b] = _mm256_fmadd_ps(widen(w + (n + b) * wStride + i), xv, acc[b]);
      }
      float tail[4] = {0, 0, 0, 0};
      for (int64_t i = full; i < k; ++i)
        for (int b = 0; b < 4; ++b)
          tail[b] += xr[i] * float(w[(n + b) * wStride + i]);
      for (int b = 0; b < 4; ++b)
        out[m * outStride + n + b] += sumLanes8(acc[b]) + tail[b];
    }
  }
  for (; n < n1; ++n)
    for (int64_t m = 0; m < rows; ++m) {
      const float *xr = x + m * xStride;
      __m256 acc = _mm256_setzero_ps();
      for (int64_t i = 0; i < full; i += 8)
        acc = _mm256_fmadd_ps(widen(w + n * wStride + i), _mm256_loadu_ps(xr + i),
                              acc);
      float s = sumLanes8(acc);
      for (int64_t i = full; i < k; ++i)
        s += xr[i] * float(w[n * wStride + i]);
      out[m * outStride + n] += s;
    }
}
