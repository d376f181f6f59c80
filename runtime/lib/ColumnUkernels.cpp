//===- ColumnUkernels.cpp - BitLinear over non-zero inputs only -----------===//
//
// The down projection behind ReLU2-GLU and the output projection behind
// TopK see inputs that are mostly zero (paper Table 2: 50% and >80%). Their
// weights are stored column-contiguous (bits2_cols, TernaryPacking.h): the
// 256 weights of one input column and one block of output rows are 64
// bytes, so a zero input skips its 64 bytes. The kernel walks the non-zero
// columns in groups of four; for one group, the four 64-byte columns are
// unpacked to u8 codes w + 1 and interleaved so that each dword holds one
// output row's four codes, which VNNI multiplies by the four activations
// (s8, one broadcast dword): 1024 multiply-adds per 16 vpdpbusd. As in the
// row kernel, sum (w + 1) x - sum x = sum w x. Without VNNI (AVX2) the
// columns go in pairs (avx2Blocks).
//
//===----------------------------------------------------------------------===//

#include "AmxUkernels.h"
#include "CpuProfile.h"
#include "KernelSupport.h"
#include "bitnet/Support/TernaryPacking.h"

#include <algorithm>
#include <cstring>
#include <immintrin.h>
#include <vector>

using namespace bitnet_rt;
using namespace bitnet_rt::detail;
using ternary::kColBlockBytes;
using ternary::kColBlockRows;

namespace {

/// The non-zero columns of x (over all rows), padded to a multiple of 4
/// with zero activations, and for each row and group of 4 the four
/// activations packed in a dword (the VNNI operand).
struct ActiveColumns {
  std::vector<int64_t> cols;
  std::vector<int32_t> groups; // [rows][cols.size() / 4]
  std::vector<int32_t> sums;   // sum_k x[m][k]
  int64_t real = 0;            // cols[0..real) are the non-zero columns
  int64_t groupCount = 0;
};

ActiveColumns activeColumns(const int8_t *x, int64_t rows, int64_t xStride,
                            int64_t k) {
  ActiveColumns a;
  a.sums.assign(size_t(rows), 0);
  // Row-contiguous passes (the compiler vectorizes them): each row's sum,
  // and which columns any row uses.
  std::vector<uint8_t> used(size_t(k), 0);
  for (int64_t m = 0; m < rows; ++m) {
    const int8_t *xr = x + m * xStride;
    int32_t s = 0;
    for (int64_t c = 0; c < k; ++c) {
      s += xr[c];
      used[size_t(c)] |= uint8_t(xr[c] != 0);
    }
    a.sums[size_t(m)] = s;
  }
  // Without a branch: at decode's 50-80% zeros a branch per column
  // mispredicts about every other column (the list took 13% of the one-row
  // kernel's time, weights in cache, Zen 4; 7% after).
  a.cols.resize(size_t(k + 3));
  int64_t count = 0;
  for (int64_t c = 0; c < k; ++c) {
    a.cols[size_t(count)] = c;
    count += used[size_t(c)];
  }
  a.cols.resize(size_t(count));
  int64_t real = a.real = count;
  while (a.cols.size() % 4)
    a.cols.push_back(a.cols.empty() ? 0 : a.cols.front());
  a.groupCount = int64_t(a.cols.size()) / 4;
  a.groups.assign(size_t(rows * a.groupCount), 0);
  for (int64_t m = 0; m < rows; ++m) {
    const int8_t *xr = x + m * xStride;
    int32_t *g = a.groups.data() + m * a.groupCount;
    if (real == k) { // every column used (prefill chunks): the row itself
      std::memcpy(g, xr, size_t(k));
      continue;
    }
    for (int64_t i = 0; i < real; ++i) {
      uint32_t byte = uint8_t(xr[a.cols[size_t(i)]]);
      reinterpret_cast<uint32_t &>(g[i / 4]) |= byte << (8 * (i % 4));
    }
  }
  return a;
}

void portableBlocks(const int8_t *x, int64_t rows, int64_t xStride, int64_t k,
                    const uint8_t *w, int64_t n, int64_t b0, int64_t b1,
                    const ActiveColumns &a, int32_t *out, int64_t outStride) {
  for (int64_t b = b0; b < b1; ++b)
    for (int64_t m = 0; m < rows; ++m)
      for (int64_t i = 0; i < a.real; ++i) {
        int64_t c = a.cols[size_t(i)];
        int32_t xv = x[m * xStride + c];
        if (!xv)
          continue;
        const uint8_t *col =
            w + (c * ternary::colBlocks(n) + b) * kColBlockBytes;
        for (int64_t r = b * kColBlockRows;
             r < std::min(n, (b + 1) * kColBlockRows); ++r) {
          int code = (col[r % kColBlockBytes] >> ternary::colBitShift(r)) & 3;
          out[m * outStride + r] += xv * (code - 1);
        }
      }
}

/// The 16 dword vectors of one group's four columns in one row block:
/// r[4 p + t] holds, for 128-bit lane l and dword i, the codes (w + 1) of
/// output row 64 p + 16 l + 4 t + i of the block in the four columns. The
/// packed bytes are interleaved first (8 shuffles for all four fields,
/// rather than 8 per field), then each field is shifted out in place, or
/// with `Scaled` only masked in place: (w + 1) << 2 p, 16 shifts fewer; the
/// sums of field p are then 4^p times the true ones, a multiple of 4^p that
/// storeAcc divides out exactly (see kScaledMaxCols).
template <bool Scaled>
BITNET_VNNI __attribute__((always_inline)) inline void
unpackGroup(const uint8_t *c0, const uint8_t *c1, const uint8_t *c2,
            const uint8_t *c3, __m512i (&r)[16]) {
  const __m512i three = _mm512_set1_epi8(3);
  __m512i a = _mm512_loadu_si512(c0), b = _mm512_loadu_si512(c1),
          c = _mm512_loadu_si512(c2), d = _mm512_loadu_si512(c3);
  __m512i abLo = _mm512_unpacklo_epi8(a, b), abHi = _mm512_unpackhi_epi8(a, b);
  __m512i cdLo = _mm512_unpacklo_epi8(c, d), cdHi = _mm512_unpackhi_epi8(c, d);
  __m512i t[4] = {_mm512_unpacklo_epi16(abLo, cdLo),
                  _mm512_unpackhi_epi16(abLo, cdLo),
                  _mm512_unpacklo_epi16(abHi, cdHi),
                  _mm512_unpackhi_epi16(abHi, cdHi)};
#pragma clang loop unroll(full)
  for (int p = 0; p < 4; ++p)
#pragma clang loop unroll(full)
    for (int i = 0; i < 4; ++i)
      r[4 * p + i] =
          Scaled ? _mm512_and_si512(t[i], _mm512_set1_epi8(char(3 << (2 * p))))
                 : _mm512_and_si512(_mm512_srli_epi16(t[i], 2 * p), three);
}

/// Columns up to which the scaled codes' int32 sums are exact: a product
/// is at most 192 x 128 in magnitude (a code of 3 << 6 by -128), one per
/// column in each lane.
constexpr int64_t kScaledMaxCols = (int64_t(1) << 31) / (192 * 128) - 1;

/// Adds accumulator vector v (index 4 p + t of unpackGroup, of its scaled
/// codes if `scaled`) minus `sum` to the block's output rows.
BITNET_VNNI inline void storeAcc(__m512i v, int p, int t, int64_t rowBase,
                                 int64_t n, int32_t sum, int32_t *o,
                                 bool scaled) {
  alignas(64) int32_t lanes[16];
  _mm512_store_si512(lanes, scaled ? _mm512_srai_epi32(v, 2 * p) : v);
  for (int e = 0; e < 16; ++e) {
    int64_t row = rowBase + 64 * p + 16 * (e / 4) + 4 * t + e % 4;
    if (row < n)
      o[row] += lanes[e] - sum;
  }
}

/// Groups of four columns per chunk of the one-row kernel: one block's 16
/// accumulators stay in registers across a chunk, so they are loaded and
/// stored once per chunk and block. The first form (2 groups, the next
/// chunk prefetched into L1; chosen on an AMX Xeon) spent a third of its
/// time on those loads and stores on a Zen 4 EPYC, whose 512-bit stores
/// take two cycles. 8 groups with the next chunk asked of L2 (its lines
/// reach L1 on use): 2B4T's down projection from DRAM, 73.5% zeros, 1
/// thread 118-123 -> 107-110 us, 2 threads 87 -> 70-74 us; 50% zeros at
/// 2560 x 2560 and 80% at the down shape alike (configurations interleaved
/// in one process, median of 9 rounds).
constexpr int64_t kChunkGroups = 8;

/// Chunks ahead whose lines the one-row kernel also asks L2 for, spread the
/// same way: 16 groups (on the Xeon, at 2 groups a chunk: 122-135 -> 114-125
/// us at 8 chunks, 1 thread; on the Zen 4, 32 and 64 groups no better).
constexpr int64_t kFarChunks = 2;

/// A thread's row blocks [b0, b1) of the column weights: where a listed
/// column's bytes for them start, their prefetch into L2 by chunks of
/// groups, and the final store of the accumulators (acc[(m span + b) 16 +
/// i], unpackGroup's order) into the output rows.
struct ColumnSlice {
  const uint8_t *w;
  int64_t n, nBlocks, b0, span;
  const ActiveColumns &a;

  ColumnSlice(const uint8_t *w, int64_t n, int64_t b0, int64_t b1,
              const ActiveColumns &a)
      : w(w), n(n), nBlocks(ternary::colBlocks(n)), b0(b0), span(b1 - b0),
        a(a) {}
  const uint8_t *column(int64_t i) const {
    return w + (a.cols[size_t(i)] * nBlocks + b0) * kColBlockBytes;
  }
  /// Into L2, or with `l1` into L1 (the one-row kernel, below).
  void prefetch(int64_t g0, int64_t groups, bool l1 = false) const {
    int64_t g1 = std::min(a.groupCount, g0 + groups);
    for (int64_t i = 4 * g0; i < 4 * g1; ++i) {
      const char *c = reinterpret_cast<const char *>(column(i));
      for (int64_t off = 0; off < span * kColBlockBytes; off += 64) {
        if (l1)
          _mm_prefetch(c + off, _MM_HINT_T0);
        else
          _mm_prefetch(c + off, _MM_HINT_T1);
      }
    }
  }
  /// Without `withSums`, the rows' activation sums are left to another
  /// slice of the same outputs.
  BITNET_VNNI void store(const std::vector<__m512i> &acc, int64_t rows,
                         int32_t *out, int64_t outStride, bool scaled,
                         bool withSums = true) const {
    for (int64_t m = 0; m < rows; ++m)
      for (int64_t b = 0; b < span; ++b)
        for (int i = 0; i < 16; ++i)
          storeAcc(acc[size_t((m * span + b) * 16 + i)], i / 4, i % 4,
                   (b0 + b) * kColBlockRows, n,
                   withSums ? a.sums[size_t(m)] : 0, out + m * outStride,
                   scaled);
  }
};

/// All row blocks of one activation row (decode), over the non-zero groups
/// [gA, gB) (the activation sums subtracted only `withSums`). The weights
/// are read in chunks of columns, each non-zero column's bytes once and
/// contiguously; within a chunk, blocks are outer so
/// that one block's 16 accumulators stay in registers across the chunk.
/// While block b of a chunk is computed, line b of each column of the next
/// chunk and of the chunk kFarChunks on is asked of L2: the misses are
/// spread over the chunk instead of all prefetches at its start, which
/// stalled on the fill buffers (a whole column at a time measured 1.2-1.4x
/// slower on a Zen 4). With the
/// scaled codes (kScaledMaxCols), 2B4T's down projection at 73.5% zeros,
/// 1 thread: 152-155 -> 122-123 us; 0.6x the compute (63-69 -> 48-51 us
/// with the weights in cache). Alternatives measured slower than the dense
/// kernel at 80% zeros: a block-outer order over a block-major layout (the
/// hardware prefetcher fetches the zero columns' lines too) and
/// accumulators in memory per group (2.4x the work at 0% zeros).
template <bool Scaled>
BITNET_VNNI void vnniBlocks(const uint8_t *w, int64_t n, const ActiveColumns &a,
                            int64_t gA, int64_t gB, bool withSums,
                            int32_t *out) {
  ColumnSlice slice(w, n, 0, ternary::colBlocks(n), a);
  std::vector<__m512i> acc(size_t(slice.span * 16), _mm512_setzero_si512());
  constexpr int kCols = 4 * kChunkGroups;
  // A chunk's columns from group g0 on (null past the last group).
  auto columns = [&](int64_t g0, const uint8_t *(&c)[kCols]) {
    for (int i = 0; i < kCols; ++i)
      c[i] = g0 * 4 + i < gB * 4 ? slice.column(g0 * 4 + i) : nullptr;
  };
  const uint8_t *cur[kCols], *next[kCols], *far[kCols];
  columns(gA, cur);
  slice.prefetch(gA, kChunkGroups, /*l1=*/true);
  for (int64_t g0 = gA; g0 < gB; g0 += kChunkGroups) {
    const int64_t groups = std::min(kChunkGroups, gB - g0);
    columns(g0 + kChunkGroups, next);
    columns(g0 + kFarChunks * kChunkGroups, far);
    for (int64_t b = 0; b < slice.span; ++b) {
      const int64_t off = b * kColBlockBytes;
      for (const uint8_t *c : next)
        if (c)
          _mm_prefetch(reinterpret_cast<const char *>(c + off), _MM_HINT_T1);
      for (const uint8_t *c : far)
        if (c)
          _mm_prefetch(reinterpret_cast<const char *>(c + off), _MM_HINT_T1);
      __m512i *v = acc.data() + b * 16;
      __m512i r0[16];
      for (int i = 0; i < 16; ++i)
        r0[i] = v[i];
      for (int64_t g = 0; g < groups; ++g) {
        __m512i r[16];
        unpackGroup<Scaled>(cur[4 * g] + off, cur[4 * g + 1] + off,
                            cur[4 * g + 2] + off, cur[4 * g + 3] + off, r);
        __m512i xd = _mm512_set1_epi32(a.groups[size_t(g0 + g)]);
        for (int i = 0; i < 16; ++i)
          r0[i] = _mm512_dpbusd_epi32(r0[i], r[i], xd);
      }
      for (int i = 0; i < 16; ++i)
        v[i] = r0[i];
    }
    std::copy(std::begin(next), std::end(next), cur);
  }
  slice.store(acc, 1, out, 0, Scaled, withSums);
}

/// Groups per chunk of the several-rows kernel: their unpacked codes
/// (16 KiB) stay in L1 while every activation row uses them.
constexpr int64_t kRowsChunkGroups = 16;

/// Row blocks [b0, b1) of several activation rows (prefill chunks). Each
/// group's codes are unpacked once per chunk into a scratch buffer; then
/// each row keeps its block's 16 accumulators in registers across the
/// chunk and visits only the groups where its own activations are not all
/// zero (a list built without branches). The earlier several-rows path kept
/// accumulators in memory, a load and a store per vpdpbusd, and ran slower
/// than the dense row kernel at M = 16.
BITNET_VNNI void vnniBlocksRows(int64_t rows, const uint8_t *w, int64_t n,
                                int64_t b0, int64_t b1, const ActiveColumns &a,
                                int32_t *out, int64_t outStride) {
  ColumnSlice slice(w, n, b0, b1, a);
  const int64_t span = slice.span;
  std::vector<__m512i> acc(size_t(rows * span * 16), _mm512_setzero_si512());
  alignas(64) __m512i codes[kRowsChunkGroups][16];
  int32_t list[kRowsChunkGroups];
  slice.prefetch(0, kRowsChunkGroups);
  for (int64_t g0 = 0; g0 < a.groupCount; g0 += kRowsChunkGroups) {
    int64_t g1 = std::min(a.groupCount, g0 + kRowsChunkGroups);
    slice.prefetch(g1, kRowsChunkGroups);
    for (int64_t b = 0; b < span; ++b) {
      int64_t off = b * kColBlockBytes;
      for (int64_t g = g0; g < g1; ++g)
        unpackGroup<false>(slice.column(4 * g) + off,
                           slice.column(4 * g + 1) + off,
                           slice.column(4 * g + 2) + off,
                           slice.column(4 * g + 3) + off, codes[g - g0]);
      for (int64_t m = 0; m < rows; ++m) {
        const int32_t *xg = a.groups.data() + m * a.groupCount;
        int count = 0;
        for (int64_t g = g0; g < g1; ++g) {
          list[count] = int32_t(g - g0);
          count += xg[g] != 0;
        }
        if (!count)
          continue;
        __m512i *v = acc.data() + (m * span + b) * 16;
        __m512i r[16];
        for (int i = 0; i < 16; ++i)
          r[i] = v[i];
        for (int c = 0; c < count; ++c) {
          int32_t g = list[c];
          __m512i xd = _mm512_set1_epi32(xg[g0 + g]);
          for (int i = 0; i < 16; ++i)
            r[i] = _mm512_dpbusd_epi32(r[i], codes[g][i], xd);
        }
        for (int i = 0; i < 16; ++i)
          v[i] = r[i];
      }
    }
  }
  slice.store(acc, rows, out, outStride, /*scaled=*/false);
}

/// K steps (16 groups each) per panel of the AMX column kernel: the codes
/// of a panel for all 16 B column sets of a block are 16 x 16 KB (L2).
constexpr int64_t kAmxPanelSteps = 16;

/// Groups ahead whose columns the AMX kernel's unpacking prefetches.
constexpr int64_t kAmxColumnsAhead = 16;

/// AMX (prefill, 16 or more activation rows): TDPBSUD multiplies A, 16
/// activation rows x 16 groups (their activations as signed bytes: the
/// padded `groups` rows, loaded in place), by B, 16 groups x 16 output rows
/// x 4 codes (unsigned): unpackGroup's vector r[q], q = 4 p + t, is B's row
/// for its group in column set q, output rows 64 p + 16 l + 4 t + i (l, i
/// < 4) of the block. A panel of K steps at a time: its groups unpacked
/// once into the 16 sets' B tiles, then 2 token tiles x 2 sets at a time (4
/// C, 2 A, 2 B tiles), the C tiles kept in `acc` between panels. Output
/// rows 64 p + 16 l + 0..15 of a token are lane l of its C rows in sets
/// 4 p .. 4 p + 3: a 4 x 4 transpose of 128-bit lanes.
BITNET_AMX void amxColumnBlocks(int64_t rows, const uint8_t *w, int64_t n,
                                int64_t b0, int64_t b1, const ActiveColumns &a,
                                const int32_t *ag, int64_t gPad,
                                int32_t *out, int64_t outStride) {
  constexpr int64_t kTileBytes = kAmxTileBytes, kSets = 16;
  const int64_t steps = gPad / 16, tokenTiles = (rows + 15) / 16;
  const int64_t aStride = gPad * 4;
  static thread_local std::vector<__m512i> codes, sums;
  codes.resize(size_t(kSets * kAmxPanelSteps * 16));
  sums.resize(size_t(tokenTiles * kSets * 16));
  int8_t *bbuf = reinterpret_cast<int8_t *>(codes.data());
  int32_t *acc = reinterpret_cast<int32_t *>(sums.data());
  auto cTile = [&](int64_t tt, int64_t q) { return acc + (tt * kSets + q) * 256; };
  ColumnSlice slice(w, n, b0, b1, a);
  amxConfigureTiles();
  for (int64_t b = b0; b < b1; ++b) {
    const int64_t off = (b - b0) * kColBlockBytes;
    for (int64_t s0 = 0; s0 < steps; s0 += kAmxPanelSteps) {
      const int64_t ns = std::min(kAmxPanelSteps, steps - s0);
      for (int64_t g = s0 * 16; g < (s0 + ns) * 16; ++g) {
        int8_t *dst = bbuf + (g / 16 - s0) * kTileBytes + (g % 16) * 64;
        const int64_t setStride = kAmxPanelSteps * kTileBytes;
        if (g >= a.groupCount) {
          for (int q = 0; q < kSets; ++q)
            _mm512_store_si512(dst + q * setStride, _mm512_setzero_si512());
          continue;
        }
        // Columns lie a block row apart, each line read alone: fetch the
        // groups kAmxColumnsAhead on into L2 meanwhile.
        if (g + kAmxColumnsAhead < a.groupCount)
          for (int j = 0; j < 4; ++j)
            _mm_prefetch(reinterpret_cast<const char *>(
                             slice.column(4 * (g + kAmxColumnsAhead) + j) + off),
                         _MM_HINT_T1);
        __m512i r[16];
        unpackGroup<false>(slice.column(4 * g) + off,
                           slice.column(4 * g + 1) + off,
                           slice.column(4 * g + 2) + off,
                           slice.column(4 * g + 3) + off, r);
        for (int q = 0; q < kSets; ++q)
          _mm512_store_si512(dst + q * setStride, r[q]);
      }
      for (int64_t tt = 0; tt < tokenTiles; tt += 2) {
        const bool two = tt + 1 < tokenTiles;
        const int8_t *a0 = reinterpret_cast<const int8_t *>(ag) +
                           tt * 16 * aStride + s0 * 64,
                     *a1 = a0 + 16 * aStride;
        for (int64_t q = 0; q < kSets; q += 2) {
          if (s0 == 0) {
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
          } else {
            _tile_loadd(0, cTile(tt, q), 64);
            _tile_loadd(1, cTile(tt, q + 1), 64);
            if (two) {
              _tile_loadd(2, cTile(tt + 1, q), 64);
              _tile_loadd(3, cTile(tt + 1, q + 1), 64);
            }
          }
          const int8_t *bq = bbuf + q * kAmxPanelSteps * kTileBytes;
          for (int64_t st = 0; st < ns; ++st) {
            const int8_t *bt = bq + st * kTileBytes;
            _tile_loadd(4, a0 + st * 64, aStride);
            _tile_loadd(6, bt, 64);
            _tile_loadd(7, bt + kAmxPanelSteps * kTileBytes, 64);
            _tile_dpbsud(0, 4, 6);
            _tile_dpbsud(1, 4, 7);
            if (two) {
              _tile_loadd(5, a1 + st * 64, aStride);
              _tile_dpbsud(2, 5, 6);
              _tile_dpbsud(3, 5, 7);
            }
          }
          _tile_stored(0, cTile(tt, q), 64);
          _tile_stored(1, cTile(tt, q + 1), 64);
          if (two) {
            _tile_stored(2, cTile(tt + 1, q), 64);
            _tile_stored(3, cTile(tt + 1, q + 1), 64);
          }
        }
      }
    }
    for (int64_t m = 0; m < rows; ++m) {
      const int64_t tt = m / 16, i = m % 16;
      const __m512i sum = _mm512_set1_epi32(a.sums[size_t(m)]);
      for (int p = 0; p < 4; ++p) {
        __m512i v[4], rowsOf[4];
        for (int t = 0; t < 4; ++t)
          v[t] = _mm512_load_si512(cTile(tt, 4 * p + t) + 16 * i);
        transposeLanes4(v, rowsOf);
        for (int l = 0; l < 4; ++l) {
          int64_t r0 = b * kColBlockRows + 64 * p + 16 * l;
          if (r0 >= n)
            break;
          __mmask16 mask = n - r0 >= 16 ? __mmask16(0xffff)
                                        : __mmask16((1u << (n - r0)) - 1);
          int32_t *o = out + m * outStride + r0;
          __m512i cur = _mm512_maskz_loadu_epi32(mask, o);
          _mm512_mask_storeu_epi32(
              o, mask, _mm512_add_epi32(cur, _mm512_sub_epi32(rowsOf[l], sum)));
        }
      }
    }
  }
  _tile_release();
}

/// AVX2 (no VNNI): column pairs instead of groups of four. vpmaddubsw
/// multiplies the two columns' codes of an output row (one s16: column a's
/// code in the low byte, b's in the high) by the pair's two activations
/// and adds them, |sum| <= 512, so s16 accumulators take a chunk of up to 63
/// pairs exactly before they are widened into the dword sums. (Chunks of
/// 4-32 pairs with prefetches 8-64 pairs ahead, and a column-major order
/// with the s16 sums of every block in L1, measured alike within this VM's
/// noise at 2B4T's down and output projections from DRAM; 32 kept. Those
/// prefetches came as a burst at each chunk's start; spread over the chunk,
/// as in vnniBlocks, the one-row kernel went from 754 to 155-230 us at
/// 2B4T's down projection, 73.5% zeros, 1 thread on a Zen 3.)
constexpr int64_t kPairChunk = 32;

/// Chunks ahead whose lines the one-row AVX2 kernel asks L2 for (2B4T
/// down, 73.5% zeros, 1 thread, Zen 3, two rounds: none 365-370 us, 2
/// 215-248, 4 231-257, 8 232-374).
constexpr int64_t kPairFarChunks = 2;

/// The 8 s16 code vectors of one column pair's 32 bytes at half `half` of a
/// block: r[2 p + h] lane e of 128-bit lane l is output row
/// 64 p + 32 half + 16 l + 8 h + e of the block (pairsToRows's order).
BITNET_AVX2 __attribute__((always_inline)) inline void
unpackPair(const uint8_t *ca, const uint8_t *cb, __m256i (&r)[8]) {
  const __m256i three = _mm256_set1_epi8(3);
  __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(ca));
  __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(cb));
  __m256i t[2] = {_mm256_unpacklo_epi8(a, b), _mm256_unpackhi_epi8(a, b)};
  for (int p = 0; p < 4; ++p)
    for (int h = 0; h < 2; ++h)
      r[2 * p + h] = _mm256_and_si256(_mm256_srli_epi16(t[h], 2 * p), three);
}

/// Widens s16 sums (unpackPair's order, half `half`) into the block's 256
/// dword sums in row order.
BITNET_AVX2 inline void pairsToRows(const __m256i (&r)[8], int half,
                                    int32_t *rows) {
  for (int p = 0; p < 4; ++p)
    for (int h = 0; h < 2; ++h)
      for (int l = 0; l < 2; ++l) {
        int32_t *d = rows + 64 * p + 32 * half + 16 * l + 8 * h;
        __m128i part = l ? _mm256_extracti128_si256(r[2 * p + h], 1)
                         : _mm256_castsi256_si128(r[2 * p + h]);
        __m256i *dv = reinterpret_cast<__m256i *>(d);
        _mm256_storeu_si256(dv, _mm256_add_epi32(_mm256_loadu_si256(dv),
                                                 _mm256_cvtepi16_epi32(part)));
      }
}

/// Row blocks [b0, b1) for `rows` activation rows on AVX2. Chunks of column
/// pairs are read once for all blocks of the slice (the next chunk
/// prefetched meanwhile), as in the VNNI kernels; with several rows a
/// chunk's codes are unpacked once into a scratch buffer and each row
/// visits only its non-zero pairs.
BITNET_AVX2 void avx2Blocks(int64_t rows, const uint8_t *w, int64_t n,
                            int64_t b0, int64_t b1, const ActiveColumns &a,
                            int32_t *out, int64_t outStride) {
  ColumnSlice slice(w, n, b0, b1, a);
  const int64_t span = slice.span, pairs = 2 * a.groupCount;
  std::vector<int32_t> acc(size_t(rows * span * kColBlockRows), 0);
  // Pair p of row m: the low (p even) or high half of group p / 2's dword.
  auto pairOf = [&](int64_t m, int64_t p) {
    return reinterpret_cast<const int16_t *>(a.groups.data() +
                                             m * a.groupCount)[p];
  };
  alignas(32) __m256i codes[kPairChunk][8];
  int32_t list[kPairChunk];
  // One row: the misses spread over the chunk, as in vnniBlocks (a burst
  // of a chunk's prefetches at its start stalls on the fill buffers): while
  // pair p of block b is computed, block b's line of the pair kPairChunk
  // on is asked into L1 and of the pair kPairFarChunks chunks on into L2.
  auto prefetchPair = [&](int64_t p, int64_t off, int hint) {
    if (p >= pairs)
      return;
    for (int64_t c = 2 * p; c < 2 * p + 2; ++c) {
      const char *line = reinterpret_cast<const char *>(slice.column(c) + off);
      if (hint == 0)
        _mm_prefetch(line, _MM_HINT_T0);
      else
        _mm_prefetch(line, _MM_HINT_T1);
    }
  };
  slice.prefetch(0, kPairChunk / 2);
  for (int64_t p0 = 0; p0 < pairs; p0 += kPairChunk) {
    int64_t p1 = std::min(pairs, p0 + kPairChunk);
    if (rows > 1)
      slice.prefetch(p1 / 2, kPairChunk / 2);
    for (int64_t b = 0; b < span; ++b)
      for (int half = 0; half < 2; ++half) {
        int64_t off = b * kColBlockBytes + 32 * half;
        if (rows == 1) {
          __m256i r[8];
          for (__m256i &v : r)
            v = _mm256_setzero_si256();
          for (int64_t p = p0; p < p1; ++p) {
            if (half == 0)
              prefetchPair(p + kPairChunk, b * kColBlockBytes, 0);
            else
              prefetchPair(p + kPairFarChunks * kPairChunk, b * kColBlockBytes,
                           1);
            __m256i c[8];
            unpackPair(slice.column(2 * p) + off, slice.column(2 * p + 1) + off,
                       c);
            __m256i xd = _mm256_set1_epi16(pairOf(0, p));
            for (int i = 0; i < 8; ++i)
              r[i] = _mm256_add_epi16(r[i], _mm256_maddubs_epi16(c[i], xd));
          }
          pairsToRows(r, half, acc.data() + b * kColBlockRows);
          continue;
        }
        for (int64_t p = p0; p < p1; ++p)
          unpackPair(slice.column(2 * p) + off, slice.column(2 * p + 1) + off,
                     codes[p - p0]);
        for (int64_t m = 0; m < rows; ++m) {
          int count = 0;
          for (int64_t p = p0; p < p1; ++p) {
            list[count] = int32_t(p - p0);
            count += pairOf(m, p) != 0;
          }
          if (!count)
            continue;
          __m256i r[8];
          for (__m256i &v : r)
            v = _mm256_setzero_si256();
          for (int c = 0; c < count; ++c) {
            __m256i xd = _mm256_set1_epi16(pairOf(m, p0 + list[c]));
            for (int i = 0; i < 8; ++i)
              r[i] = _mm256_add_epi16(
                  r[i], _mm256_maddubs_epi16(codes[list[c]][i], xd));
          }
          pairsToRows(r, half, acc.data() + (m * span + b) * kColBlockRows);
        }
      }
  }
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t b = 0; b < span; ++b) {
      int64_t base = (b0 + b) * kColBlockRows;
      const int32_t *sums = acc.data() + (m * span + b) * kColBlockRows;
      for (int64_t r = 0; r < kColBlockRows && base + r < n; ++r)
        out[m * outStride + base + r] += sums[r] - a.sums[size_t(m)];
    }
}

} // namespace

namespace {
/// Non-zero groups a thread of the one-row kernel takes at least.
constexpr int64_t kMinGroupsPerThread = 16;

/// One activation row (decode): the threads split the non-zero columns, not
/// the row blocks, each reading its columns' bytes whole (10 contiguous
/// lines at 2B4T's 2560 outputs, where a split by blocks read half a
/// column each) into its own outputs, which are then added (2B4T down,
/// 73.5% zeros, 2 threads: 70-74 -> 61-67 us).
BITNET_VNNI void oneRowVnni(const uint8_t *w, int64_t n, int64_t k,
                            const ActiveColumns &a, int32_t *out) {
  const int64_t parts = std::max<int64_t>(
      1, std::min<int64_t>(kernelThreads(), a.groupCount / kMinGroupsPerThread));
  std::vector<std::vector<int32_t>> own(static_cast<size_t>(parts));
  parallelFor(parts, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      int64_t gA = a.groupCount * p / parts, gB = a.groupCount * (p + 1) / parts;
      int32_t *o = out;
      if (p != 0) {
        own[size_t(p)].assign(size_t(n), 0);
        o = own[size_t(p)].data();
      }
      if (k <= kScaledMaxCols)
        vnniBlocks<true>(w, n, a, gA, gB, p == 0, o);
      else
        vnniBlocks<false>(w, n, a, gA, gB, p == 0, o);
    }
  });
  for (int64_t p = 1; p < parts; ++p)
    for (int64_t r = 0; r < n; ++r)
      out[r] += own[size_t(p)][size_t(r)];
}
} // namespace

void bitnet_rt::bitlinearI8Bits2Cols(const int8_t *x, int64_t rows,
                                     int64_t xStride, int64_t k,
                                     const uint8_t *w, int64_t n, int32_t *out,
                                     int64_t outStride, KernelKind kind) {
  if (kind == KernelKind::Auto)
    kind = selectedKernel();
  ActiveColumns a = activeColumns(x, rows, xStride, k);
  if (a.groupCount == 0)
    return; // every input is zero: so is every sum
  int64_t blocks = ternary::colBlocks(n);
  // From 16 rows (the CPU prefill chunk): at 2B4T's down projection, 2
  // threads, 1.17x VNNI at 16 rows, 1.7x at 64, 2.9x at 256 (1 thread).
  if (kind == KernelKind::AMX && rows >= 16 && amxUsable()) {
    // The groups' activations as A tiles: rows padded to whole token tiles
    // and groups to whole K steps of 16, with zeros.
    const int64_t gPad = (a.groupCount + 15) / 16 * 16;
    const int64_t padded = (rows + 15) / 16 * 16;
    std::vector<int32_t> ag(size_t(padded * gPad), 0);
    for (int64_t m = 0; m < rows; ++m)
      std::memcpy(ag.data() + m * gPad, a.groups.data() + m * a.groupCount,
                  size_t(a.groupCount) * 4);
    parallelFor(blocks, 1, [&](int64_t b0, int64_t b1) {
      amxColumnBlocks(rows, w, n, b0, b1, a, ag.data(), gPad, out, outStride);
    });
    return;
  }
  if (rows == 1 && usesAvx512(kind)) {
    oneRowVnni(w, n, k, a, out);
    return;
  }
  parallelFor(blocks, 1, [&](int64_t b0, int64_t b1) {
    if (kind == KernelKind::Portable)
      portableBlocks(x, rows, xStride, k, w, n, b0, b1, a, out, outStride);
    else if (kind == KernelKind::AVX2)
      avx2Blocks(rows, w, n, b0, b1, a, out, outStride);
    else
      vnniBlocksRows(rows, w, n, b0, b1, a, out, outStride);
  });
}

extern "C" void _mlir_ciface_bitnet_ukernel_bitlinear_i8_bits2_cols(
    BitnetUnrankedMemRef *xm, BitnetUnrankedMemRef *wm,
    BitnetUnrankedMemRef *om) {
  cpu_profile::Scope profile("bitlinear_i8_bits2_cols", {xm, wm, om});
  BitLinearOperands a = bitLinearOperands(xm, wm, om, 1);
  const View<uint8_t> &w = a.w;
  int64_t n = a.out.sizes[a.out.rank - 1];
  if (!a.ok || w.rank != 3 || w.sizes[2] != kColBlockBytes ||
      w.strides[2] != 1 || w.strides[1] != kColBlockBytes ||
      w.strides[0] != w.sizes[1] * kColBlockBytes ||
      w.sizes[0] != a.x.sizes[a.x.rank - 1] ||
      w.sizes[1] != ternary::colBlocks(n))
    badOperands("column bitlinear");
  bitlinearI8Bits2Cols(a.x.base, a.rows, a.xStride, w.sizes[0], w.base, n,
                       a.out.base, a.outStride);
}
