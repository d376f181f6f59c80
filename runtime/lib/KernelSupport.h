//===- KernelSupport.h - What the runtime's kernel files share -*- C++ -*-===//
//
// Internal to runtime/lib: the thread pool entry point, the reading of
// MLIR's unranked memref descriptors and small vector helpers.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_RUNTIME_LIB_KERNELSUPPORT_H
#define BITNET_RUNTIME_LIB_KERNELSUPPORT_H

#include "bitnet/Runtime/Ukernels.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <immintrin.h>

#define BITNET_VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define BITNET_AVX512F __attribute__((target("avx512f,fma")))
#define BITNET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define BITNET_AMX                                                             \
  __attribute__((target("avx512f,avx512bw,avx512vnni,amx-tile,amx-int8")))

namespace bitnet_rt::detail {

/// Whether `kind` runs the AVX-512 kernels (AMX adds tiles for the BitLinear
/// GEMM only; every other kernel is the AVX-512 one).
inline bool usesAvx512(KernelKind kind) {
  return kind == KernelKind::AVX512VNNI || kind == KernelKind::AMX;
}

/// Calls fn(begin, end) on disjoint ranges covering [0, n) on the kernel
/// threads; ranges are at least `grain` long (one range if n < 2 grain).
void parallelFor(int64_t n, int64_t grain,
                 const std::function<void(int64_t, int64_t)> &fn);

/// v[0..3] as a 4 x 4 matrix of 128-bit lanes, transposed: lane l of t[i]
/// is lane i of v[l].
BITNET_AVX512F __attribute__((always_inline)) inline void
transposeLanes4(const __m512i (&v)[4], __m512i (&t)[4]) {
  __m512i x0 = _mm512_shuffle_i32x4(v[0], v[1], 0x44),
          x1 = _mm512_shuffle_i32x4(v[0], v[1], 0xee),
          y0 = _mm512_shuffle_i32x4(v[2], v[3], 0x44),
          y1 = _mm512_shuffle_i32x4(v[2], v[3], 0xee);
  t[0] = _mm512_shuffle_i32x4(x0, y0, 0x88);
  t[1] = _mm512_shuffle_i32x4(x0, y0, 0xdd);
  t[2] = _mm512_shuffle_i32x4(x1, y1, 0x88);
  t[3] = _mm512_shuffle_i32x4(x1, y1, 0xdd);
}

/// Rows ahead of the tile being computed whose lines an LM head kernel (a
/// float, 16-bit, int8 or int4 row per vocabulary entry) prefetches, into
/// L2: on a Zen 4 EPYC, 8 rows ahead into L1 held the int8 head at 10-13
/// GB/s on 1 thread (its L1 fills queued), 16 rows into L2 read 24-25.
constexpr int64_t kHeadAhead = 16;

/// The element offset from a 4-row tile at row n of rows [.., n1) to the
/// rows kHeadAhead on, or 0 where they pass n1 (nothing to prefetch).
inline int64_t headAhead(int64_t n, int64_t n1, int64_t wStride) {
  return n + 4 + kHeadAhead <= n1 ? kHeadAhead * wStride : 0;
}

/// Asks L2 for the 64-byte line at element i of rows n..n+3 of w, `ahead`
/// elements on (headAhead).
template <typename T>
inline void prefetchHeadTile(const T *w, int64_t n, int64_t wStride,
                             int64_t ahead, int64_t i) {
  for (int b = 0; b < 4; ++b)
    _mm_prefetch(
        reinterpret_cast<const char *>(w + (n + b) * wStride + ahead + i),
        _MM_HINT_T1);
}

/// Work items per thread so that waking one pays (~64 K multiply-adds, or
/// as many simple operations), for work that streams its operands from
/// memory (one activation row: decode).
inline int64_t grainFor(int64_t workPerItem) {
  return std::max<int64_t>(1, (int64_t(1) << 16) /
                                  std::max<int64_t>(1, workPerItem));
}

/// Activation rows from which a kernel's work reuses its operands from
/// cache and runs at compute speed.
constexpr int64_t kComputeBoundRows = 16;

/// grainFor for compute-bound work (kComputeBoundRows or more activation
/// rows: prefill): ~512 K multiply-adds, a few microseconds on one core.
/// With 64 K, the hidden-128 example models prefilled 10-35% slower on 2
/// threads than on 1: their attention and float matmuls were split into
/// parts of ~1 us, less than waking a thread and bringing its results back
/// costs.
inline int64_t computeGrainFor(int64_t workPerItem) {
  return std::max<int64_t>(1, (int64_t(1) << 19) /
                                  std::max<int64_t>(1, workPerItem));
}

/// Output rows a thread of the float matmuls (f32, f16, int8 and int4
/// weights) takes at least: ~32 K multiply-adds for a few activation rows
/// (the weights stream from memory), computeGrainFor's 512 K from
/// kComputeBoundRows rows on; never fewer than 16.
inline int64_t floatRowGrain(int64_t k, int64_t rows) {
  int64_t work = std::max<int64_t>(1, k * rows);
  return std::max<int64_t>(16, rows >= kComputeBoundRows
                                   ? computeGrainFor(work)
                                   : (int64_t(1) << 15) / work);
}

/// grainFor or computeGrainFor by the number of activation rows.
inline int64_t grainFor(int64_t workPerItem, int64_t rows) {
  return rows >= kComputeBoundRows ? computeGrainFor(workPerItem)
                                   : grainFor(workPerItem);
}

template <typename T> struct View {
  T *base;
  int64_t rank;
  const int64_t *sizes, *strides;
};
template <typename T> View<T> view(BitnetUnrankedMemRef *m) {
  char *d = static_cast<char *>(m->descriptor);
  T *aligned;
  int64_t offset;
  std::memcpy(&aligned, d + sizeof(void *), sizeof(aligned));
  std::memcpy(&offset, d + 2 * sizeof(void *), sizeof(offset));
  const int64_t *sizes = reinterpret_cast<const int64_t *>(d + 2 * sizeof(void *) + 8);
  return {aligned + offset, m->rank, sizes, sizes + m->rank};
}

/// Rows of a memref whose last `trailing` dimensions form one contiguous
/// row and whose leading dimensions step over rows contiguously (what the
/// compiler emits); false for any other layout.
template <typename T>
bool rowsOf(const View<T> &v, int64_t trailing, int64_t &rows,
            int64_t &stride) {
  int64_t lead = v.rank - trailing;
  rows = 1;
  for (int64_t d = 0; d < lead; ++d)
    rows *= v.sizes[d];
  stride = lead ? v.strides[lead - 1] : 0;
  bool ok = v.strides[v.rank - 1] == 1;
  // A dimension of size 1 is never stepped over: its stride is free (a row
  // slice [1, n, k] of [1, S, k] keeps the stride S k).
  for (int64_t d = 0; d + 1 < v.rank; ++d)
    if (d != lead - 1 && v.sizes[d] != 1)
      ok = ok && v.strides[d] == v.sizes[d + 1] * v.strides[d + 1];
  return ok;
}

/// The activation, weight and output memrefs of a BitLinear kernel entry:
/// x's rows (its last `xTrailing` dimensions form a row) and out's rows
/// (one dimension), which must agree in number.
struct BitLinearOperands {
  View<int8_t> x;
  View<uint8_t> w;
  View<int32_t> out;
  int64_t rows = 0, xStride = 0, outStride = 0;
  bool ok = false;
};

inline BitLinearOperands bitLinearOperands(BitnetUnrankedMemRef *xm,
                                           BitnetUnrankedMemRef *wm,
                                           BitnetUnrankedMemRef *om,
                                           int64_t xTrailing) {
  BitLinearOperands a{view<int8_t>(xm), view<uint8_t>(wm), view<int32_t>(om)};
  int64_t outRows = 0;
  a.ok = rowsOf(a.x, xTrailing, a.rows, a.xStride) &&
         rowsOf(a.out, 1, outRows, a.outStride) && a.rows == outRows;
  return a;
}

/// The sum of an 8-float AVX vector's lanes.
BITNET_AVX2 inline float sumLanes8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/// The compiler never passes other layouts: fail loudly rather than read
/// wrongly.
[[noreturn]] inline void badOperands(const char *kernel) {
  std::fprintf(stderr, "bitnet runtime: %s kernel on operands of an "
                       "unexpected layout\n", kernel);
  std::abort();
}

} // namespace bitnet_rt::detail

#endif // BITNET_RUNTIME_LIB_KERNELSUPPORT_H
