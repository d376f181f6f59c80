//===- AmxUkernels.cpp - The BitLinear GEMM on AMX-INT8 tiles -------------===//
//
// TDPBUSD multiplies a 16 x 64 tile of unsigned bytes (A) by a 16 x 64 tile
// of signed bytes in the dword-interleaved "VNNI" layout (B) into 16 x 16
// dwords (C): C[r][t] += sum_{kk < 16, e < 4} A[r][4 kk + e] B[kk][4 t + e],
// 16 K 1024 multiply-adds in one instruction. A holds weight rows as the
// codes w + 1 in {0, 1, 2} (so, as in the VNNI kernels, sum_k w_k x_k =
// sum_k (w_k + 1) x_k - sum_k x_k) and B holds activation rows (tokens).
//
// The K order inside a step is free as long as A and B agree. A 64-byte
// run of packed weights (k = 4 q + j at bits 2j of byte q) gives 4 A rows
// by one shift and mask each: plane j, A[r][q - q0] = field j of byte q.
// B then holds x[t][4 q + j] at row (q - q0) / 4, column 4 t + (q - q0) % 4:
// the activations are repacked once per call into that layout, the weights
// (the bytes that stream from memory) unpacked a block of 32 rows and a
// panel of 4 K steps at a time into a buffer that stays in L1 while every
// token tile passes over it.
//
//===----------------------------------------------------------------------===//

#include "AmxUkernels.h"
#include "KernelSupport.h"
#include "bitnet/Runtime/CpuFeatures.h"

#include <algorithm>
#include <set>
#include <string>
#include <cstring>
#include <immintrin.h>
#include <vector>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

using namespace bitnet_rt;
using namespace bitnet_rt::detail;

namespace {

constexpr int64_t kStep = 64;        // packed bytes per K step (256 k values)
constexpr int64_t kTile = 16;        // rows of a tile
constexpr int64_t kTileBytes = kAmxTileBytes;
constexpr int64_t kBlockRows = 32;   // weight rows per block (two A tiles)

/// The LDTILECFG operand: palette 1, every tile 16 rows of 64 bytes.
struct alignas(64) TileConfig {
  uint8_t palette = 1, startRow = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

} // namespace

BITNET_AMX void bitnet_rt::detail::amxConfigureTiles() {
  TileConfig cfg;
  for (int i = 0; i < 8; ++i) {
    cfg.colsb[i] = kStep;
    cfg.rows[i] = kTile;
  }
  _tile_loadconfig(&cfg);
}

namespace {

/// A 64-byte aligned scratch buffer that keeps its memory from call to
/// call (a prefill step makes a call per layer; fresh pages would fault in
/// each time), zeroed on request.
struct Scratch {
  std::vector<__m512i> lines;
  int8_t *get(int64_t size, bool zero) {
    lines.resize(size_t((size + 63) / 64));
    if (zero)
      std::memset(lines.data(), 0, size_t(size));
    return reinterpret_cast<int8_t *>(lines.data());
  }
};

/// Token rows [t0, t1) repacked as B tiles, at xb + ((tt * steps + s) * 4 +
/// j) * kTileBytes for token tile tt, K step s and plane j (the buffer is
/// zeroed: padding tokens and the K tail multiply as zeros), and their sums.
BITNET_AMX void packActivations(const int8_t *x, int64_t xStride, int64_t t0,
                                int64_t t1, int64_t kq, int64_t steps,
                                int8_t *xb, int32_t *sums) {
  // A 16-byte lane holds 4 packed bytes' worth (q .. q + 3) of one row: the
  // shuffle gathers plane j's 4 bytes into dword j; dword (lane L, j) is
  // then B row 4 s16 + L of plane j's tile (s16: which 16-q run of the step).
  const __m512i gather = _mm512_broadcast_i32x4(
      _mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
  const __m512i where = _mm512_setr_epi32(
      0, 1024, 2048, 3072, 64, 64 + 1024, 64 + 2048, 64 + 3072, 128,
      128 + 1024, 128 + 2048, 128 + 3072, 192, 192 + 1024, 192 + 2048,
      192 + 3072);
  const __m512i ones = _mm512_set1_epi8(1);
  for (int64_t t = t0; t < t1; ++t) {
    const int8_t *xr = x + t * xStride;
    int8_t *tileBase = xb + (t / kTile) * steps * 4 * kTileBytes + 4 * (t % kTile);
    __m512i sum = _mm512_setzero_si512();
    int64_t q = 0;
    for (; q + 16 <= kq; q += 16) {
      __m512i v = _mm512_loadu_si512(xr + 4 * q);
      sum = _mm512_dpbusd_epi32(sum, ones, v);
      int64_t s = q / kStep, s16 = (q % kStep) / 16;
      _mm512_i32scatter_epi32(tileBase + s * 4 * kTileBytes + s16 * 256, where,
                              _mm512_shuffle_epi8(v, gather), 1);
    }
    int32_t total = _mm512_reduce_add_epi32(sum);
    for (; q < kq; ++q)
      for (int j = 0; j < 4; ++j) {
        int8_t v = xr[4 * q + j];
        total += v;
        int64_t s = q / kStep, kk = (q % kStep) / 4, e = q % 4;
        tileBase[(s * 4 + j) * kTileBytes + kk * 64 + e] = v;
      }
    sums[t] = total;
  }
}

/// Which weight row a block's row i is, and whether output (m, n) is wanted.
struct RowSet {
  const GatedRows *gated;
  int64_t row(int64_t i) const {
    return gated && gated->idx ? gated->idx[i] : i;
  }
  /// Rows i are weight rows i (a dense call, or a gated one over every row).
  bool contiguous() const { return !gated || !gated->idx; }
  bool open(int64_t m, int64_t n) const {
    return !gated || gated->gate[m * gated->gateStride + n] > 0.0f;
  }
};

/// K steps per panel: the A tiles of 32 rows x 4 steps (32 KB) stay in L1
/// while every token tile passes over them.
constexpr int64_t kPanelSteps = 4;

/// K steps [s0, s0 + ns) of weight rows i0 .. i0 + n (n <= 32) unpacked as
/// A tiles: plane j of step s0 + p at ab + (4 p + j) * 2 * kTileBytes, rows
/// 16..31 a tile further. Missing rows are zeros.
BITNET_AMX void unpackPanel(const uint8_t *w, const RowSet &set, int64_t i0,
                            int64_t n, int64_t kq, int64_t wStride, int64_t s0,
                            int64_t ns, int64_t count, int8_t *ab) {
  const __m512i three = _mm512_set1_epi8(3);
  // The same bytes of the next block's rows are fetched into L2 meanwhile:
  // 32 rows read a line at a time are too many streams for the hardware
  // prefetcher to follow.
  const int64_t next = i0 + kBlockRows;
  for (int64_t r = 0; r < kBlockRows; ++r) {
    int8_t *dst = ab + r * kStep;
    if (r >= n) {
      for (int64_t p = 0; p < ns * 4; ++p)
        _mm512_store_si512(dst + p * 2 * kTileBytes, _mm512_setzero_si512());
      continue;
    }
    const uint8_t *src = w + set.row(i0 + r) * wStride;
    const uint8_t *ahead =
        next + r < count ? w + set.row(next + r) * wStride : nullptr;
    for (int64_t p = 0; p < ns; ++p) {
      int64_t q = (s0 + p) * kStep;
      if (ahead && q < kq)
        _mm_prefetch(reinterpret_cast<const char *>(ahead + q), _MM_HINT_T1);
      __mmask64 mask = kq - q >= kStep ? ~0ull : ~0ull >> (kStep - (kq - q));
      __m512i packed = _mm512_maskz_loadu_epi8(mask, src + q);
      for (int j = 0; j < 4; ++j)
        _mm512_store_si512(
            dst + (p * 4 + j) * 2 * kTileBytes,
            _mm512_and_si512(_mm512_srli_epi16(packed, 2 * j), three));
    }
  }
}

/// One panel (ns K steps) of the block against token tiles b0 (and b1
/// where `Two`), whose tiles of these steps start at b0 / b1: the C tiles
/// acc[0] rows 0..15 x b0, acc[1] rows 16..31 x b0, acc[2] / acc[3] the
/// same x b1, loaded from acc first unless `first`, stored back after.
template <bool Two>
BITNET_AMX void multiplyPanel(const int8_t *ab, const int8_t *b0,
                              const int8_t *b1, int64_t ns, bool first,
                              int32_t (*acc)[kTile * kTile]) {
  if (first) {
    _tile_zero(0);
    _tile_zero(1);
    if constexpr (Two) {
      _tile_zero(2);
      _tile_zero(3);
    }
  } else {
    _tile_loadd(0, acc[0], kStep);
    _tile_loadd(1, acc[1], kStep);
    if constexpr (Two) {
      _tile_loadd(2, acc[2], kStep);
      _tile_loadd(3, acc[3], kStep);
    }
  }
  for (int64_t p = 0; p < ns * 4; ++p) {
    const int8_t *a = ab + p * 2 * kTileBytes;
    _tile_loadd(4, a, kStep);
    _tile_loadd(5, a + kTileBytes, kStep);
    _tile_loadd(6, b0 + p * kTileBytes, kStep);
    _tile_dpbusd(0, 4, 6);
    _tile_dpbusd(1, 5, 6);
    if constexpr (Two) {
      _tile_loadd(7, b1 + p * kTileBytes, kStep);
      _tile_dpbusd(2, 4, 7);
      _tile_dpbusd(3, 5, 7);
    }
  }
  _tile_stored(0, acc[0], kStep);
  _tile_stored(1, acc[1], kStep);
  if constexpr (Two) {
    _tile_stored(2, acc[2], kStep);
    _tile_stored(3, acc[3], kStep);
  }
}

/// The 16 x 16 dwords at m (row-major) transposed: t[j] lane i = m[i][j].
/// Interleaves of dwords, then qwords, within 128-bit lanes, then a 4 x 4
/// transpose of the lanes (64 shuffles; 16 gathers cost more).
BITNET_AMX void transpose16(const int32_t *m, __m512i (&t)[kTile]) {
  __m512i a[kTile], b[kTile];
  for (int i = 0; i < kTile; i += 2) {
    __m512i r0 = _mm512_load_si512(m + i * kTile),
            r1 = _mm512_load_si512(m + (i + 1) * kTile);
    a[i] = _mm512_unpacklo_epi32(r0, r1);
    a[i + 1] = _mm512_unpackhi_epi32(r0, r1);
  }
  // b[4 k + c] lane L: column 4 L + c of rows 4 k .. 4 k + 3.
  for (int k = 0; k < 4; ++k) {
    b[4 * k + 0] = _mm512_unpacklo_epi64(a[4 * k], a[4 * k + 2]);
    b[4 * k + 1] = _mm512_unpackhi_epi64(a[4 * k], a[4 * k + 2]);
    b[4 * k + 2] = _mm512_unpacklo_epi64(a[4 * k + 1], a[4 * k + 3]);
    b[4 * k + 3] = _mm512_unpackhi_epi64(a[4 * k + 1], a[4 * k + 3]);
  }
  // Column 4 L + c is lane L of b[c], b[4 + c], b[8 + c], b[12 + c].
  for (int c = 0; c < 4; ++c) {
    __m512i v[4] = {b[c], b[4 + c], b[8 + c], b[12 + c]}, cols[4];
    transposeLanes4(v, cols);
    for (int l = 0; l < 4; ++l)
      t[4 * l + c] = cols[l];
  }
}

/// out[m, row(i0 + r)] += ct[r][m - m0] - sums[m] for the tile's rows
/// r < n and tokens m0 .. m0 + mCount, where the set wants them.
BITNET_AMX void addTile(const int32_t *ct, const RowSet &set, int64_t i0,
                        int64_t n, int64_t m0, int64_t mCount,
                        const int32_t *sums, int32_t *out, int64_t outStride) {
  if (set.contiguous() && n == kTile) {
    __m512i cols[kTile];
    transpose16(ct, cols);
    for (int64_t t = 0; t < mCount; ++t) {
      int64_t m = m0 + t;
      int32_t *o = out + m * outStride + i0;
      __m512i v = _mm512_sub_epi32(cols[t], _mm512_set1_epi32(sums[m]));
      // Every row of a gated call, the gate deciding each output (most
      // gates open: prefill's union over the tokens).
      __mmask16 open = 0xffff;
      if (set.gated)
        open = _mm512_cmp_ps_mask(
            _mm512_loadu_ps(set.gated->gate + m * set.gated->gateStride + i0),
            _mm512_setzero_ps(), _CMP_GT_OQ);
      _mm512_mask_storeu_epi32(
          o, open, _mm512_add_epi32(_mm512_maskz_loadu_epi32(open, o), v));
    }
    return;
  }
  for (int64_t t = 0; t < mCount; ++t)
    for (int64_t r = 0; r < n; ++r) {
      int64_t m = m0 + t, nn = set.row(i0 + r);
      if (set.open(m, nn))
        out[m * outStride + nn] += ct[r * kTile + t] - sums[m];
    }
}

/// Blocks [b0, b1) of 32 weight rows against every token tile, a K panel
/// at a time, two token tiles at a time (4 C tiles, 2 A, 2 B: all 8 tile
/// registers); the C tiles wait in `acc` between panels.
BITNET_AMX void multiplyBlocks(int64_t b0, int64_t b1, const uint8_t *w,
                               const RowSet &set, int64_t count, int64_t kq,
                               int64_t wStride, int64_t steps,
                               const int8_t *xb, int64_t rows,
                               const int32_t *sums, int32_t *out,
                               int64_t outStride) {
  const int64_t tokenTiles = (rows + kTile - 1) / kTile;
  const int64_t pairs = (tokenTiles + 1) / 2;
  static thread_local Scratch weightScratch, accScratch;
  int8_t *ab = weightScratch.get(kPanelSteps * 4 * 2 * kTileBytes, false);
  auto *acc = reinterpret_cast<int32_t(*)[4][kTile * kTile]>(
      accScratch.get(pairs * 4 * kTileBytes, false));
  const int64_t tileStride = steps * 4 * kTileBytes;
  amxConfigureTiles();
  for (int64_t b = b0; b < b1; ++b) {
    int64_t i0 = b * kBlockRows, n = std::min(kBlockRows, count - i0);
    for (int64_t s0 = 0; s0 < steps; s0 += kPanelSteps) {
      int64_t ns = std::min(kPanelSteps, steps - s0);
      unpackPanel(w, set, i0, n, kq, wStride, s0, ns, count, ab);
      const int64_t panel = s0 * 4 * kTileBytes;
      for (int64_t tt = 0; tt < tokenTiles; tt += 2) {
        const int8_t *bt = xb + tt * tileStride + panel;
        if (tt + 1 < tokenTiles)
          multiplyPanel<true>(ab, bt, bt + tileStride, ns, s0 == 0,
                              acc[tt / 2]);
        else
          multiplyPanel<false>(ab, bt, nullptr, ns, s0 == 0, acc[tt / 2]);
      }
    }
    int64_t n0 = std::min(kTile, n), n1 = n - n0;
    for (int64_t tt = 0; tt < tokenTiles; ++tt) {
      int32_t(*c)[kTile * kTile] = acc[tt / 2] + 2 * (tt % 2);
      int64_t m0 = tt * kTile, mCount = std::min(kTile, rows - m0);
      addTile(c[0], set, i0, n0, m0, mCount, sums, out, outStride);
      if (n1 > 0)
        addTile(c[1], set, i0 + kTile, n1, m0, mCount, sums, out, outStride);
    }
  }
  _tile_release();
}

} // namespace

bool bitnet_rt::detail::takesAmx(int64_t rows, int64_t count, int64_t kq) {
  return rows >= 16 && count >= 32 && kq >= 32;
}

bool bitnet_rt::detail::amxUsable() {
  static const bool usable = [] {
    std::set<std::string> host = hostCpuFeatures();
    for (const char *f : {"amx-tile", "amx-int8", "avx512bw", "avx512vnni"})
      if (!host.count(f))
        return false;
#if defined(__linux__) && defined(SYS_arch_prctl)
    // Linux hands out the 8 KB of tile state only to processes that ask
    // (ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA); the grant is process
    // wide, for threads started before it too.
    constexpr int kReqXcompPerm = 0x1023, kXtileData = 18;
    return syscall(SYS_arch_prctl, kReqXcompPerm, kXtileData) == 0;
#else
    return false;
#endif
  }();
  return usable;
}

void bitnet_rt::detail::amxBitLinear(const int8_t *x, int64_t rows,
                                     int64_t xStride, const uint8_t *w,
                                     const GatedRows *gated, int64_t count,
                                     int64_t kq, int64_t wStride, int32_t *out,
                                     int64_t outStride) {
  if (count <= 0 || rows <= 0)
    return;
  const int64_t steps = (kq + kStep - 1) / kStep;
  const int64_t tokenTiles = (rows + kTile - 1) / kTile;
  static thread_local Scratch actScratch;
  static thread_local std::vector<int32_t> sumsScratch;
  int8_t *xb = actScratch.get(tokenTiles * steps * 4 * kTileBytes, true);
  sumsScratch.resize(size_t(rows));
  int32_t *sums = sumsScratch.data();
  // Whole token tiles per thread, so no two write one tile's dwords; small
  // calls on one thread (a hand-over to the pool costs microseconds).
  auto pack = [&](int64_t tt0, int64_t tt1) {
    packActivations(x, xStride, tt0 * kTile, std::min(rows, tt1 * kTile), kq,
                    steps, xb, sums);
  };
  if (rows * kq < (64 << 10))
    pack(0, tokenTiles);
  else
    parallelFor(tokenTiles, 1, pack);
  const RowSet set{gated};
  const int64_t blocks = (count + kBlockRows - 1) / kBlockRows;
  // Blocks enough for ~4 M multiply-adds (~10 us) a thread at least.
  const int64_t blockMacs = kBlockRows * rows * kq * 4;
  const int64_t grain = std::max<int64_t>(1, (int64_t(4) << 20) / blockMacs);
  parallelFor(blocks, grain, [&](int64_t b0, int64_t b1) {
    multiplyBlocks(b0, b1, w, set, count, kq, wStride, steps, xb, rows, sums,
                   out, outStride);
  });
}
