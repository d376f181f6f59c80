//===- AttentionUkernels.cpp - Attention against the KV cache ------------===//
//
// The cached half of attention (ImporterKVCache.cpp): the scores q . kc^T
// and P V over the cache's filled positions j < start, with the cache as f32
// values, f16 values or q4 rows (4-bit codes and the row's scale). With GQA
// one KV head serves `rep` query heads of `seq` rows each.
//
// With AVX-512 (and a head size that is a multiple of 16; AVX2: of 8, the
// same blocks with 8-wide vectors) the kernels take
// one KV head and a block of cache rows at a time: an f16 or q4 block is
// widened to f32 once into an L1 buffer, and every query of the head reads
// it there; scores run four rows' dot products side by side; P V keeps its
// outputs in registers across a block. The work splits across the pool by
// (KV head, row block) for the scores and by (KV head, 64 output columns)
// for P V, so no sum is split. Every output is the same sequence of float
// operations whatever the cache holds: a q4 cache and an f32 cache of its
// dequantized values give identical bits.
//
//===----------------------------------------------------------------------===//

#include "CpuProfile.h"
#include "KernelSupport.h"
#include "bitnet/Runtime/Ukernels.h"
#include "bitnet/Support/HalfFloat.h"

#include <algorithm>
#include <cstring>
#include <immintrin.h>
#include <type_traits>

using namespace bitnet_rt;
using namespace bitnet_rt::detail;

namespace {

/// Cache rows per block (32 rows of 256 f32 fill 32 KiB of L1) and the
/// largest head size the AVX-512 kernels take.
constexpr int64_t kBlockRows = 32, kMaxDim = 256;
/// Output columns per P V work item.
constexpr int64_t kPVColumns = 64;

/// Element (a, b, c, d) of a rank-4 view.
template <typename T>
inline T *at4(const View<T> &v, int64_t a, int64_t b, int64_t c, int64_t d) {
  return v.base + a * v.strides[0] + b * v.strides[1] + c * v.strides[2] +
         d * v.strides[3];
}

using halffloat::halfToFloat;

/// A row of a q4 cache (ImportOptions::KVStorage::Q4): 4-bit codes, two per
/// byte (even d in the low nibble), then the row's f32 scale; value d is
/// float(code - offset) * scale, computed as the quantizer's dequantize does.
struct Q4Row {
  const uint8_t *codes;
  float scale;
  int32_t offset;
};

/// A row of a q3 cache (ImportOptions::KVStorage::Q3): three bit planes
/// of `planeBytes` bytes (bit p of code d is bit d % 8 of byte d / 8 of
/// plane p), and for the BOS row a fourth plane kept apart.
struct Q3Row {
  const uint8_t *planes, *bosPlane;
  int64_t planeBytes;
  float scale;
  int32_t offset;
};

inline float valueAt(const float *row, int64_t d) { return row[d]; }
inline float valueAt(const uint16_t *row, int64_t d) {
  return halfToFloat(row[d]);
}
inline float valueAt(const Q4Row &r, int64_t d) {
  uint8_t b = r.codes[d / 2];
  int32_t c = d % 2 ? b >> 4 : b & 15;
  return float(c - r.offset) * r.scale;
}

inline float valueAt(const Q3Row &r, int64_t d) {
  auto bit = [&](const uint8_t *plane) { return (plane[d / 8] >> (d % 8)) & 1; };
  int32_t c = 0;
  for (int64_t p = 0; p < 3; ++p)
    c |= bit(r.planes + p * r.planeBytes) << p;
  if (r.bosPlane)
    c |= bit(r.bosPlane) << 3;
  return float(c - r.offset) * r.scale;
}

/// Codes d .. d + 15 of a packed row as i32 lanes (q4: d even; q3: d a
/// multiple of 16).
BITNET_AVX512F inline __m512i codes16(const Q4Row &r, int64_t d) {
  __m128i bytes =
      _mm_loadl_epi64(reinterpret_cast<const __m128i *>(r.codes + d / 2));
  __m128i mask = _mm_set1_epi8(15);
  __m128i lo = _mm_and_si128(bytes, mask);
  __m128i hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), mask);
  return _mm512_cvtepu8_epi32(_mm_unpacklo_epi8(lo, hi));
}
BITNET_AVX512F inline __m512i codes16(const Q3Row &r, int64_t d) {
  auto plane16 = [&](const uint8_t *plane) {
    uint16_t bits;
    std::memcpy(&bits, plane + d / 8, 2);
    return __mmask16(bits);
  };
  __m512i c = _mm512_setzero_si512();
  for (int p = 0; p < 3; ++p)
    c = _mm512_mask_or_epi32(c, plane16(r.planes + p * r.planeBytes), c,
                             _mm512_set1_epi32(1 << p));
  if (r.bosPlane)
    c = _mm512_mask_or_epi32(c, plane16(r.bosPlane), c, _mm512_set1_epi32(8));
  return c;
}

/// Values d .. d + 15 of a row as floats (d even).
BITNET_AVX512F inline __m512 load16(const float *row, int64_t d) {
  return _mm512_loadu_ps(row + d);
}
BITNET_AVX512F inline __m512 load16(const uint16_t *row, int64_t d) {
  return _mm512_cvtph_ps(
      _mm256_loadu_si256(reinterpret_cast<const __m256i *>(row + d)));
}

/// The rows of a float cache [1, Hkv, C, D] (T: float, or uint16_t holding
/// f16).
template <typename T> struct ValueCache {
  View<T> v;
  bool ok(int64_t dim) const { return v.strides[3] == 1 && v.sizes[3] == dim; }
  const T *row(int64_t h, int64_t j) const { return at4(v, 0, h, j, 0); }
  const void *bytes(int64_t h, int64_t j) const { return row(h, j); }
  int64_t rowBytes() const { return v.sizes[3] * int64_t(sizeof(T)); }
};

/// The rows of a q4 cache [1, Hkv, C, D / 2 + 4] and the code offsets of
/// its BOS row (absolute position 0) and of the others.
struct Q4Cache {
  View<int8_t> v;
  int32_t offset, bosOffset;
  int64_t dim;
  bool ok(int64_t d) const {
    return v.strides[3] == 1 && d == dim && d % 2 == 0 &&
           v.sizes[3] == d / 2 + 4 && offset > 0 && offset <= 8 &&
           bosOffset > 0 && bosOffset <= 8;
  }
  const void *bytes(int64_t h, int64_t j) const { return at4(v, 0, h, j, 0); }
  int64_t rowBytes() const { return v.sizes[3]; }
  Q4Row row(int64_t h, int64_t j) const {
    const uint8_t *r = reinterpret_cast<const uint8_t *>(at4(v, 0, h, j, 0));
    float scale;
    std::memcpy(&scale, r + dim / 2, sizeof(scale));
    return {r, scale, j == 0 ? bosOffset : offset};
  }
};

/// The rows of a q3 cache [1, Hkv, C, 3 D / 8 + 4], the extra row after
/// them that holds the BOS row's fourth plane [1, Hkv, 1, ...], and the
/// code offsets of the BOS row and of the others.
struct Q3Cache {
  View<int8_t> v, bos;
  int32_t offset, bosOffset;
  int64_t dim;
  bool ok(int64_t d) const {
    return v.strides[3] == 1 && d == dim && d % 8 == 0 &&
           v.sizes[3] == 3 * d / 8 + 4 && bos.rank == 4 &&
           bos.sizes[1] == v.sizes[1] && bos.sizes[3] >= d / 8 &&
           bos.strides[3] == 1 && offset > 0 && offset <= 4 &&
           bosOffset > 0 && bosOffset <= 8;
  }
  const void *bytes(int64_t h, int64_t j) const { return at4(v, 0, h, j, 0); }
  int64_t rowBytes() const { return v.sizes[3]; }
  Q3Row row(int64_t h, int64_t j) const {
    const uint8_t *r = reinterpret_cast<const uint8_t *>(at4(v, 0, h, j, 0));
    float scale;
    std::memcpy(&scale, r + 3 * dim / 8, sizeof(scale));
    const uint8_t *fourth =
        j == 0 ? reinterpret_cast<const uint8_t *>(at4(bos, 0, h, 0, 0))
               : nullptr;
    return {r, fourth, dim / 8, scale, j == 0 ? bosOffset : offset};
  }
};

template <typename Cache>
bool shapesOk(const View<float> &a, const Cache &c, const View<float> &o,
              int64_t dim) {
  return a.rank == 4 && c.v.rank == 4 && o.rank == 4 && a.sizes[0] == 1 &&
         c.v.sizes[0] == 1 && o.sizes[0] == 1 && c.v.sizes[1] > 0 &&
         a.sizes[1] % c.v.sizes[1] == 0 && c.ok(dim);
}

int64_t startOf(BitnetUnrankedMemRef *m, int64_t limit) {
  View<int64_t> s = view<int64_t>(m);
  return std::clamp<int64_t>(*s.base, 0, limit);
}

/// Asks for row j of KV head h ahead of its use (rows past the cache's
/// filled part are never asked for): no hardware prefetcher runs this far
/// ahead of a block's computation. Into L2: a block's worth of L1 fills at
/// once held the loads back (bitnet-bench-kernels --attention-only on a Zen
/// 4, 1 thread, context 512: f32 cache 7.9-8.0 -> 5.3-5.6 ms a step, f16
/// 5.0-5.1 -> 3.4-3.5 ms; 2 threads 4.0-7.1 -> 3.2-3.5 and 3.3-4.4 ->
/// 1.8-2.4 ms).
template <typename Cache>
inline void prefetchRow(const Cache &c, int64_t h, int64_t j, int64_t end) {
  if (j >= end)
    return;
  const char *r = static_cast<const char *>(c.bytes(h, j));
  for (int64_t b = 0; b < c.rowBytes(); b += 64)
    _mm_prefetch(r + b, _MM_HINT_T1);
}

/// Values [d0, d0 + n) of rows [j0, j1) of KV head h as f32 rows `*stride`
/// apart (n a multiple of 16): the cache itself when it holds f32, else
/// widened into `buf` while the next block's rows (below `end`) are fetched.
template <typename Cache>
BITNET_AVX512F const float *stageRows(const Cache &c, int64_t h, int64_t j0,
                                      int64_t j1, int64_t end, int64_t d0,
                                      int64_t n, float *buf, int64_t &stride) {
  if constexpr (std::is_same_v<Cache, ValueCache<float>>) {
    stride = c.v.strides[2];
    return c.row(h, j0) + d0;
  } else if constexpr (std::is_same_v<Cache, Q4Cache> ||
                       std::is_same_v<Cache, Q3Cache>) {
    // A row's 16 possible values, looked up by code: the floats valueAt
    // computes, one permute per 16 codes.
    const __m512 iota = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                       12, 13, 14, 15);
    for (int64_t j = j0; j < j1; ++j) {
      prefetchRow(c, h, j + kBlockRows, end);
      auto row = c.row(h, j);
      __m512 table =
          _mm512_mul_ps(_mm512_sub_ps(iota, _mm512_set1_ps(float(row.offset))),
                        _mm512_set1_ps(row.scale));
      for (int64_t d = 0; d < n; d += 16)
        _mm512_store_ps(buf + (j - j0) * n + d,
                        _mm512_permutexvar_ps(codes16(row, d0 + d), table));
    }
    stride = n;
    return buf;
  } else {
    for (int64_t j = j0; j < j1; ++j) {
      prefetchRow(c, h, j + kBlockRows, end);
      auto row = c.row(h, j);
      for (int64_t d = 0; d < n; d += 16)
        _mm512_store_ps(buf + (j - j0) * n + d, load16(row, d0 + d));
    }
    stride = n;
    return buf;
  }
}

/// Scores of KV head g's queries against cache rows [j0, j1).
template <typename Cache>
BITNET_AVX512F void scoresBlock(const View<float> &q, const Cache &k,
                                const View<float> &o, int64_t g, int64_t rep,
                                int64_t j0, int64_t j1, int64_t end) {
  int64_t seq = q.sizes[2], dim = q.sizes[3], os = o.strides[3];
  alignas(64) float buf[kBlockRows * kMaxDim];
  int64_t stride;
  const float *rows = stageRows(k, g, j0, j1, end, 0, dim, buf, stride);
  constexpr bool direct = std::is_same_v<Cache, ValueCache<float>>;
  for (int64_t h = g * rep; h < (g + 1) * rep; ++h)
    for (int64_t i = 0; i < seq; ++i) {
      const float *qi = at4(q, 0, h, i, 0);
      float *oi = at4(o, 0, h, i, 0);
      bool first = direct && h == g * rep && i == 0;
      int64_t j = j0;
      for (; j + 4 <= j1; j += 4) {
        if (first)
          for (int64_t a = 0; a < 4; ++a)
            prefetchRow(k, g, j + a + kBlockRows, end);
        const float *r = rows + (j - j0) * stride;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int64_t d = 0; d < dim; d += 16) {
          __m512 qd = _mm512_loadu_ps(qi + d);
          a0 = _mm512_fmadd_ps(qd, _mm512_loadu_ps(r + d), a0);
          a1 = _mm512_fmadd_ps(qd, _mm512_loadu_ps(r + stride + d), a1);
          a2 = _mm512_fmadd_ps(qd, _mm512_loadu_ps(r + 2 * stride + d), a2);
          a3 = _mm512_fmadd_ps(qd, _mm512_loadu_ps(r + 3 * stride + d), a3);
        }
        oi[j * os] += _mm512_reduce_add_ps(a0);
        oi[(j + 1) * os] += _mm512_reduce_add_ps(a1);
        oi[(j + 2) * os] += _mm512_reduce_add_ps(a2);
        oi[(j + 3) * os] += _mm512_reduce_add_ps(a3);
      }
      for (; j < j1; ++j) {
        const float *r = rows + (j - j0) * stride;
        __m512 a = _mm512_setzero_ps();
        for (int64_t d = 0; d < dim; d += 16)
          a = _mm512_fmadd_ps(_mm512_loadu_ps(qi + d), _mm512_loadu_ps(r + d), a);
        oi[j * os] += _mm512_reduce_add_ps(a);
      }
    }
}

/// o[d0, d0 + 16 Chunks) += sum over rows [j0, j1) of p[j] * row[j] for
/// `Queries` queries at once, the outputs in registers (Queries x Chunks
/// independent multiply-add chains) for the whole block.
template <int Queries, int Chunks, typename Ahead>
BITNET_AVX512F inline void pvQueries(const float *const *pq, int64_t ps,
                                     float *const *oq, const float *rows,
                                     int64_t stride, int64_t j0, int64_t j1,
                                     Ahead ahead) {
  __m512 acc[Queries][Chunks];
  for (int q = 0; q < Queries; ++q)
    for (int c = 0; c < Chunks; ++c)
      acc[q][c] = _mm512_loadu_ps(oq[q] + 16 * c);
  for (int64_t j = j0; j < j1; ++j) {
    ahead(j);
    const float *r = rows + (j - j0) * stride;
    __m512 v[Chunks];
    for (int c = 0; c < Chunks; ++c)
      v[c] = _mm512_loadu_ps(r + 16 * c);
    for (int q = 0; q < Queries; ++q) {
      __m512 pj = _mm512_set1_ps(pq[q][j * ps]);
      for (int c = 0; c < Chunks; ++c)
        acc[q][c] = _mm512_fmadd_ps(pj, v[c], acc[q][c]);
    }
  }
  for (int q = 0; q < Queries; ++q)
    for (int c = 0; c < Chunks; ++c)
      _mm512_storeu_ps(oq[q] + 16 * c, acc[q][c]);
}

/// Output columns [d0, d0 + 16 Chunks) of KV head g's queries: o += sum
/// over rows j < start of p[j] * vc[j], row by row in order.
template <int Chunks, typename Cache>
BITNET_AVX512F void pvColumns(const View<float> &p, const Cache &v,
                              const View<float> &o, int64_t g, int64_t rep,
                              int64_t start, int64_t d0) {
  int64_t seq = p.sizes[2], ps = p.strides[3], queries = rep * seq;
  alignas(64) float buf[kBlockRows * kPVColumns];
  for (int64_t j0 = 0; j0 < start; j0 += kBlockRows) {
    int64_t j1 = std::min(start, j0 + kBlockRows), stride;
    const float *rows =
        stageRows(v, g, j0, j1, start, d0, 16 * Chunks, buf, stride);
    // An f32 block is read in place: the first queries fetch the next.
    constexpr bool direct = std::is_same_v<Cache, ValueCache<float>>;
    auto ahead = [&](int64_t j) {
      if (direct)
        prefetchRow(v, g, j + kBlockRows, start);
    };
    auto none = [](int64_t) {};
    auto query = [&](int64_t n, const float *&pq, float *&oq) {
      int64_t h = g * rep + n / seq, i = n % seq;
      pq = at4(p, 0, h, i, 0);
      oq = at4(o, 0, h, i, d0);
    };
    int64_t n = 0;
    for (; n + 2 <= queries; n += 2) {
      const float *pq[2];
      float *oq[2];
      query(n, pq[0], oq[0]);
      query(n + 1, pq[1], oq[1]);
      if (n == 0)
        pvQueries<2, Chunks>(pq, ps, oq, rows, stride, j0, j1, ahead);
      else
        pvQueries<2, Chunks>(pq, ps, oq, rows, stride, j0, j1, none);
    }
    if (n < queries) {
      const float *pq[1];
      float *oq[1];
      query(n, pq[0], oq[0]);
      if (n == 0)
        pvQueries<1, Chunks>(pq, ps, oq, rows, stride, j0, j1, ahead);
      else
        pvQueries<1, Chunks>(pq, ps, oq, rows, stride, j0, j1, none);
    }
  }
}

template <typename Cache>
void pvColumnsOf(int64_t chunks, const View<float> &p, const Cache &v,
                 const View<float> &o, int64_t g, int64_t rep, int64_t start,
                 int64_t d0) {
  switch (chunks) {
  case 1:
    return pvColumns<1>(p, v, o, g, rep, start, d0);
  case 2:
    return pvColumns<2>(p, v, o, g, rep, start, d0);
  case 3:
    return pvColumns<3>(p, v, o, g, rep, start, d0);
  default:
    return pvColumns<4>(p, v, o, g, rep, start, d0);
  }
}

// AVX2 (no AVX-512): the same blocks with 8-wide vectors. A staged f16
// block is widened with F16C, a q4 / q3 block looked up in its row's 16
// values with two 8-entry permutes and a blend on code >= 8.

/// Codes d .. d + 7 of a packed row as i32 lanes (q4: d even; q3: d a
/// multiple of 8).
BITNET_AVX2 inline __m256i codes8(const Q4Row &r, int64_t d) {
  uint32_t bytes;
  std::memcpy(&bytes, r.codes + d / 2, 4);
  __m128i b = _mm_cvtsi32_si128(int(bytes));
  __m128i mask = _mm_set1_epi8(15);
  __m128i lo = _mm_and_si128(b, mask);
  __m128i hi = _mm_and_si128(_mm_srli_epi16(b, 4), mask);
  return _mm256_cvtepu8_epi32(_mm_unpacklo_epi8(lo, hi));
}
/// Bit p of code d + i, for the 8 bits of one plane byte, as lane i.
BITNET_AVX2 inline __m256i planeBits(uint8_t byte, int p) {
  const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  __m256i v = _mm256_and_si256(_mm256_set1_epi32(byte), bit);
  return _mm256_and_si256(_mm256_cmpeq_epi32(v, bit), _mm256_set1_epi32(1 << p));
}
BITNET_AVX2 inline __m256i codes8(const Q3Row &r, int64_t d) {
  __m256i c = _mm256_setzero_si256();
  for (int p = 0; p < 3; ++p)
    c = _mm256_or_si256(c, planeBits(r.planes[p * r.planeBytes + d / 8], p));
  if (r.bosPlane)
    c = _mm256_or_si256(c, planeBits(r.bosPlane[d / 8], 3));
  return c;
}

/// stageRows with 8-wide vectors (n a multiple of 8).
template <typename Cache>
BITNET_AVX2 const float *stageRowsAvx2(const Cache &c, int64_t h, int64_t j0,
                                       int64_t j1, int64_t end, int64_t d0,
                                       int64_t n, float *buf, int64_t &stride) {
  if constexpr (std::is_same_v<Cache, ValueCache<float>>) {
    stride = c.v.strides[2];
    return c.row(h, j0) + d0;
  } else {
    const __m256 iota = _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7);
    for (int64_t j = j0; j < j1; ++j) {
      prefetchRow(c, h, j + kBlockRows, end);
      auto row = c.row(h, j);
      float *dst = buf + (j - j0) * n;
      if constexpr (std::is_same_v<Cache, ValueCache<uint16_t>>) {
        for (int64_t d = 0; d < n; d += 8)
          _mm256_store_ps(dst + d, _mm256_cvtph_ps(_mm_loadu_si128(
                                       reinterpret_cast<const __m128i *>(
                                           row + d0 + d))));
      } else {
        // The row's 16 values by code: valueAt's floats.
        __m256 off = _mm256_set1_ps(float(row.offset));
        __m256 sc = _mm256_set1_ps(row.scale);
        __m256 lo = _mm256_mul_ps(_mm256_sub_ps(iota, off), sc);
        __m256 hi = _mm256_mul_ps(
            _mm256_sub_ps(_mm256_add_ps(iota, _mm256_set1_ps(8)), off), sc);
        for (int64_t d = 0; d < n; d += 8) {
          __m256i code = codes8(row, d0 + d);
          __m256 high = _mm256_castsi256_ps(
              _mm256_cmpgt_epi32(code, _mm256_set1_epi32(7)));
          _mm256_store_ps(dst + d,
                          _mm256_blendv_ps(_mm256_permutevar8x32_ps(lo, code),
                                           _mm256_permutevar8x32_ps(hi, code),
                                           high));
        }
      }
    }
    stride = n;
    return buf;
  }
}

/// scoresBlock with 8-wide vectors (dim a multiple of 8).
template <typename Cache>
BITNET_AVX2 void scoresBlockAvx2(const View<float> &q, const Cache &k,
                                 const View<float> &o, int64_t g, int64_t rep,
                                 int64_t j0, int64_t j1, int64_t end) {
  int64_t seq = q.sizes[2], dim = q.sizes[3], os = o.strides[3];
  alignas(32) float buf[kBlockRows * kMaxDim];
  int64_t stride;
  const float *rows = stageRowsAvx2(k, g, j0, j1, end, 0, dim, buf, stride);
  constexpr bool direct = std::is_same_v<Cache, ValueCache<float>>;
  for (int64_t h = g * rep; h < (g + 1) * rep; ++h)
    for (int64_t i = 0; i < seq; ++i) {
      const float *qi = at4(q, 0, h, i, 0);
      float *oi = at4(o, 0, h, i, 0);
      bool first = direct && h == g * rep && i == 0;
      int64_t j = j0;
      for (; j + 4 <= j1; j += 4) {
        if (first)
          for (int64_t a = 0; a < 4; ++a)
            prefetchRow(k, g, j + a + kBlockRows, end);
        const float *r = rows + (j - j0) * stride;
        __m256 a[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(),
                       _mm256_setzero_ps(), _mm256_setzero_ps()};
        for (int64_t d = 0; d < dim; d += 8) {
          __m256 qd = _mm256_loadu_ps(qi + d);
          for (int b = 0; b < 4; ++b)
            a[b] = _mm256_fmadd_ps(qd, _mm256_loadu_ps(r + b * stride + d), a[b]);
        }
        for (int b = 0; b < 4; ++b)
          oi[(j + b) * os] += sumLanes8(a[b]);
      }
      for (; j < j1; ++j) {
        const float *r = rows + (j - j0) * stride;
        __m256 a = _mm256_setzero_ps();
        for (int64_t d = 0; d < dim; d += 8)
          a = _mm256_fmadd_ps(_mm256_loadu_ps(qi + d), _mm256_loadu_ps(r + d), a);
        oi[j * os] += sumLanes8(a);
      }
    }
}

/// pvColumns with 8-wide vectors: one query at a time, its `cols` outputs
/// (a multiple of 8, at most kPVColumns) in registers across a block.
template <typename Cache>
BITNET_AVX2 void pvColumnsAvx2(const View<float> &p, const Cache &v,
                               const View<float> &o, int64_t g, int64_t rep,
                               int64_t start, int64_t d0, int64_t cols) {
  constexpr int64_t kVectors = kPVColumns / 8;
  int64_t seq = p.sizes[2], ps = p.strides[3], queries = rep * seq;
  int64_t vectors = cols / 8;
  alignas(32) float buf[kBlockRows * kPVColumns];
  for (int64_t j0 = 0; j0 < start; j0 += kBlockRows) {
    int64_t j1 = std::min(start, j0 + kBlockRows), stride;
    const float *rows = stageRowsAvx2(v, g, j0, j1, start, d0, cols, buf, stride);
    for (int64_t n = 0; n < queries; ++n) {
      int64_t h = g * rep + n / seq, i = n % seq;
      const float *pq = at4(p, 0, h, i, 0);
      float *oq = at4(o, 0, h, i, d0);
      __m256 acc[kVectors];
      for (int64_t c = 0; c < kVectors; ++c)
        acc[c] = c < vectors ? _mm256_loadu_ps(oq + 8 * c) : _mm256_setzero_ps();
      for (int64_t j = j0; j < j1; ++j) {
        __m256 pj = _mm256_set1_ps(pq[j * ps]);
        const float *r = rows + (j - j0) * stride;
        for (int64_t c = 0; c < kVectors; ++c)
          if (c < vectors)
            acc[c] = _mm256_fmadd_ps(pj, _mm256_loadu_ps(r + 8 * c), acc[c]);
      }
      for (int64_t c = 0; c < vectors; ++c)
        _mm256_storeu_ps(oq + 8 * c, acc[c]);
    }
  }
}

/// q . kc^T over the filled cache columns.
template <typename Cache>
void attnScoresCached(BitnetUnrankedMemRef *qm, const Cache &k,
                      BitnetUnrankedMemRef *sm, BitnetUnrankedMemRef *om) {
  View<float> q = view<float>(qm), o = view<float>(om);
  if (q.rank != 4 || !shapesOk(q, k, o, q.sizes[3]) || q.strides[3] != 1)
    badOperands("attention scores");
  int64_t heads = q.sizes[1], seq = q.sizes[2], dim = q.sizes[3];
  int64_t kvHeads = k.v.sizes[1], rep = heads / kvHeads;
  int64_t start = startOf(sm, k.v.sizes[2]);
  KernelKind kind = selectedKernel();
  bool avx512 = usesAvx512(kind) && dim % 16 == 0;
  bool avx2 = kind == KernelKind::AVX2 && dim % 8 == 0;
  if ((avx512 || avx2) && dim <= kMaxDim) {
    int64_t blocks = (start + kBlockRows - 1) / kBlockRows;
    parallelFor(kvHeads * blocks, grainFor(rep * seq * kBlockRows * dim, seq),
                [&](int64_t w0, int64_t w1) {
                  for (int64_t w = w0; w < w1; ++w) {
                    int64_t g = w / blocks, j0 = w % blocks * kBlockRows;
                    int64_t j1 = std::min(start, j0 + kBlockRows);
                    if (avx512)
                      scoresBlock(q, k, o, g, rep, j0, j1, start);
                    else
                      scoresBlockAvx2(q, k, o, g, rep, j0, j1, start);
                  }
                });
    return;
  }
  parallelFor(heads, grainFor(seq * start * dim, seq), [&](int64_t h0, int64_t h1) {
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t i = 0; i < seq; ++i) {
        const float *qi = at4(q, 0, h, i, 0);
        for (int64_t j = 0; j < start; ++j) {
          auto kj = k.row(h / rep, j);
          float s = 0;
          for (int64_t d = 0; d < dim; ++d)
            s += qi[d] * valueAt(kj, d);
          *at4(o, 0, h, i, j) += s;
        }
      }
  });
}

/// p . vc over the filled cache rows.
template <typename Cache>
void attnPVCached(BitnetUnrankedMemRef *pm, const Cache &v,
                  BitnetUnrankedMemRef *sm, BitnetUnrankedMemRef *om) {
  View<float> p = view<float>(pm), o = view<float>(om);
  if (o.rank != 4 || !shapesOk(p, v, o, o.sizes[3]) || o.strides[3] != 1)
    badOperands("attention P V");
  int64_t heads = p.sizes[1], seq = p.sizes[2], dim = o.sizes[3];
  int64_t kvHeads = v.v.sizes[1], rep = heads / kvHeads;
  int64_t start = startOf(sm, v.v.sizes[2]);
  KernelKind kind = selectedKernel();
  bool avx512 = usesAvx512(kind) && dim % 16 == 0;
  bool avx2 = kind == KernelKind::AVX2 && dim % 8 == 0;
  if (avx512 || avx2) {
    int64_t parts = (dim + kPVColumns - 1) / kPVColumns;
    parallelFor(kvHeads * parts, grainFor(rep * seq * start * kPVColumns, seq),
                [&](int64_t w0, int64_t w1) {
                  for (int64_t w = w0; w < w1; ++w) {
                    int64_t g = w / parts, d0 = w % parts * kPVColumns;
                    int64_t cols = std::min(kPVColumns, dim - d0);
                    if (avx512)
                      pvColumnsOf(cols / 16, p, v, o, g, rep, start, d0);
                    else
                      pvColumnsAvx2(p, v, o, g, rep, start, d0, cols);
                  }
                });
    return;
  }
  parallelFor(heads, grainFor(seq * start * dim, seq), [&](int64_t h0, int64_t h1) {
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t i = 0; i < seq; ++i) {
        float *oi = at4(o, 0, h, i, 0);
        for (int64_t j = 0; j < start; ++j) {
          float pj = *at4(p, 0, h, i, j);
          auto vj = v.row(h / rep, j);
          for (int64_t d = 0; d < dim; ++d)
            oi[d] += pj * valueAt(vj, d);
        }
      }
  });
}

template <typename T> ValueCache<T> valueCache(BitnetUnrankedMemRef *m) {
  return {view<T>(m)};
}

/// A q4 cache operand and its [offset, BOS offset] operand.
Q4Cache q4Cache(BitnetUnrankedMemRef *m, BitnetUnrankedMemRef *offsets,
                int64_t dim) {
  View<int32_t> off = view<int32_t>(offsets);
  return {view<int8_t>(m), off.base[0], off.base[off.strides[0]], dim};
}

/// A q3 cache operand, its BOS plane row and its offsets operand.
Q3Cache q3Cache(BitnetUnrankedMemRef *m, BitnetUnrankedMemRef *bos,
                BitnetUnrankedMemRef *offsets, int64_t dim) {
  View<int32_t> off = view<int32_t>(offsets);
  return {view<int8_t>(m), view<int8_t>(bos), off.base[0],
          off.base[off.strides[0]], dim};
}

} // namespace

extern "C" void _mlir_ciface_bitnet_ukernel_attn_scores_cached(
    BitnetUnrankedMemRef *q, BitnetUnrankedMemRef *k, BitnetUnrankedMemRef *s,
    BitnetUnrankedMemRef *o) {
  cpu_profile::Scope profile("attn_scores_cached", {q, k, s, o});
  attnScoresCached(q, valueCache<float>(k), s, o);
}

extern "C" void _mlir_ciface_bitnet_ukernel_attn_scores_cached_f16(
    BitnetUnrankedMemRef *q, BitnetUnrankedMemRef *k, BitnetUnrankedMemRef *s,
    BitnetUnrankedMemRef *o) {
  cpu_profile::Scope profile("attn_scores_cached_f16", {q, k, s, o});
  attnScoresCached(q, valueCache<uint16_t>(k), s, o);
}

extern "C" void _mlir_ciface_bitnet_ukernel_attn_pv_cached(
    BitnetUnrankedMemRef *p, BitnetUnrankedMemRef *v, BitnetUnrankedMemRef *s,
    BitnetUnrankedMemRef *o) {
  cpu_profile::Scope profile("attn_pv_cached", {p, v, s, o});
  attnPVCached(p, valueCache<float>(v), s, o);
}

extern "C" void _mlir_ciface_bitnet_ukernel_attn_pv_cached_f16(
    BitnetUnrankedMemRef *p, BitnetUnrankedMemRef *v, BitnetUnrankedMemRef *s,
    BitnetUnrankedMemRef *o) {
  cpu_profile::Scope profile("attn_pv_cached_f16", {p, v, s, o});
  attnPVCached(p, valueCache<uint16_t>(v), s, o);
}

extern "C" void _mlir_ciface_bitnet_ukernel_attn_scores_cached_q4(
    BitnetUnrankedMemRef *q, BitnetUnrankedMemRef *k, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *, BitnetUnrankedMemRef *, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *offsets, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *s, BitnetUnrankedMemRef *o) {
  cpu_profile::Scope profile("attn_scores_cached_q4", {q, k, s, o});
  View<float> qv = view<float>(q);
  attnScoresCached(q, q4Cache(k, offsets, qv.sizes[qv.rank - 1]), s, o);
}

extern "C" void _mlir_ciface_bitnet_ukernel_attn_pv_cached_q4(
    BitnetUnrankedMemRef *p, BitnetUnrankedMemRef *v, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *, BitnetUnrankedMemRef *, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *offsets, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *s, BitnetUnrankedMemRef *o) {
  cpu_profile::Scope profile("attn_pv_cached_q4", {p, v, s, o});
  View<float> ov = view<float>(o);
  attnPVCached(p, q4Cache(v, offsets, ov.sizes[ov.rank - 1]), s, o);
}

extern "C" void _mlir_ciface_bitnet_ukernel_attn_scores_cached_q3(
    BitnetUnrankedMemRef *q, BitnetUnrankedMemRef *k, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *, BitnetUnrankedMemRef *bos, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *, BitnetUnrankedMemRef *, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *offsets, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *s, BitnetUnrankedMemRef *o) {
  cpu_profile::Scope profile("attn_scores_cached_q3", {q, k, s, o});
  View<float> qv = view<float>(q);
  attnScoresCached(q, q3Cache(k, bos, offsets, qv.sizes[qv.rank - 1]), s, o);
}

extern "C" void _mlir_ciface_bitnet_ukernel_attn_pv_cached_q3(
    BitnetUnrankedMemRef *p, BitnetUnrankedMemRef *v, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *, BitnetUnrankedMemRef *bos, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *, BitnetUnrankedMemRef *, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *offsets, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *s, BitnetUnrankedMemRef *o) {
  cpu_profile::Scope profile("attn_pv_cached_q3", {p, v, s, o});
  View<float> ov = view<float>(o);
  attnPVCached(p, q3Cache(v, bos, offsets, ov.sizes[ov.rank - 1]), s, o);
}
