//===- Ukernels.cpp - BitLinear kernels: portable and AVX-512 VNNI --------===//
//
// The 2-bit layout stores w + 1 in {0, 1, 2}, so with VNNI (u8 x s8 dot
// products) sum_k w_k x_k = sum_k (w_k + 1) x_k - sum_k x_k: the weights are
// used as unsigned bytes after one shift and mask, the activations as
// signed bytes. A packed byte holds k = 4 kq + j at bits 2j, so each row of
// x is split once into 4 planes x_j[kq] = x[4 kq + j] and the j-th field
// of 64 packed bytes multiplies plane j.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Runtime/Ukernels.h"
#include "AmxUkernels.h"
#include "Avx2Ukernels.h"
#include "BitLinearRows.h"
#include "CpuProfile.h"
#include "KernelSupport.h"
#include "bitnet/Runtime/CpuFeatures.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <immintrin.h>
#include <mutex>
#include <memory>
#include <thread>
#include <type_traits>
#include <vector>

using namespace bitnet_rt;
using namespace bitnet_rt::detail;

namespace {

/// A fixed pool; run(n, fn) calls fn(begin, end) on disjoint ranges.
/// Kernel calls come back to back (a decode step is ~200 of them), so a job
/// is handed over through atomics alone: the caller publishes it by bumping
/// `generation`, workers spin on that counter and count down `pending`, and
/// the caller spins on `pending`. Either side sleeps on a condition variable
/// only after spinning ~kSpin pauses with nothing to do, and the other side
/// takes the mutex to wake it only when it announced that it sleeps (a
/// wake-up through the kernel costs tens of microseconds, as much as a
/// small kernel).
class ThreadPool {
public:
  explicit ThreadPool(int threads) : count(std::max(1, threads)) {
    for (int i = 1; i < count; ++i)
      workers.emplace_back([this, i] { loop(i); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop = true;
      generation.fetch_add(1);
    }
    cv.notify_all();
    for (std::thread &t : workers)
      t.join();
  }
  int size() const { return count; }
  void run(int64_t n, int64_t grain,
           const std::function<void(int64_t, int64_t)> &fn) {
    int parts = int(std::min<int64_t>(count, std::max<int64_t>(1, n / grain)));
    if (parts <= 1) {
      fn(0, n);
      return;
    }
    // Every worker acknowledges every job (those without a part at once),
    // so none can still be reading this job's fields when the next is set.
    job = &fn;
    total = n;
    jobParts = parts;
    pending.store(count - 1, std::memory_order_relaxed);
    generation.fetch_add(1); // seq_cst: ordered before reading sleepers
    if (sleepers.load() > 0) {
      std::lock_guard<std::mutex> lock(mu);
      cv.notify_all();
    }
    fn(0, n / parts); // part 0 on the caller
    for (int i = 0; i < kSpin; ++i) {
      if (pending.load(std::memory_order_acquire) == 0)
        return;
      _mm_pause();
    }
    std::unique_lock<std::mutex> lock(mu);
    callerWaits.store(true);
    done.wait(lock, [&] { return pending.load() == 0; });
    callerWaits.store(false, std::memory_order_relaxed);
  }

private:
  static constexpr int kSpin = 4000;

  void loop(int index) {
    uint64_t seen = 0;
    for (;;) {
      uint64_t now = generation.load(std::memory_order_acquire);
      for (int i = 0; i < kSpin && now == seen; ++i) {
        _mm_pause();
        now = generation.load(std::memory_order_acquire);
      }
      if (now == seen) {
        std::unique_lock<std::mutex> lock(mu);
        sleepers.fetch_add(1); // seq_cst: ordered before re-reading generation
        cv.wait(lock, [&] { return generation.load() != seen; });
        sleepers.fetch_sub(1);
        now = generation.load();
      }
      seen = now;
      if (stop)
        return;
      int64_t n = total, parts = jobParts;
      if (index < parts)
        (*job)(n * index / parts, n * (index + 1) / parts);
      if (pending.fetch_sub(1) == 1 && callerWaits.load()) {
        std::lock_guard<std::mutex> lock(mu);
        done.notify_one();
      }
    }
  }
  int count;
  std::vector<std::thread> workers;
  std::mutex mu;
  std::condition_variable cv, done;
  const std::function<void(int64_t, int64_t)> *job = nullptr;
  int64_t total = 0;
  int jobParts = 0;
  alignas(64) std::atomic<uint64_t> generation{0};
  alignas(64) std::atomic<int> pending{0};
  std::atomic<int> sleepers{0};
  std::atomic<bool> callerWaits{false}, stop{false};
};

ThreadPool &pool() {
  static ThreadPool p([] {
    if (const char *env = std::getenv("BITNET_NUM_THREADS"))
      if (int v = std::atoi(env); v > 0)
        return v;
    return int(std::max(1u, std::thread::hardware_concurrency()));
  }());
  return p;
}

/// Output rows [i0, i1) (or, gated, the listed rows i0..i1 of the list,
/// and only the outputs whose gate is open).
void portableRows(const int8_t *x, int64_t rows, int64_t xStride,
                  const uint8_t *w, const int64_t *idx, const float *gate,
                  int64_t gateStride, int64_t i0, int64_t i1, int64_t kq,
                  int64_t wStride, int32_t *out, int64_t outStride) {
  for (int64_t m = 0; m < rows; ++m) {
    const int8_t *xr = x + m * xStride;
    for (int64_t i = i0; i < i1; ++i) {
      int64_t n = idx ? idx[i] : i;
      if (gate && !(gate[m * gateStride + n] > 0.0f))
        continue;
      const uint8_t *wr = w + n * wStride;
      int32_t s = 0;
      for (int64_t q = 0; q < kq; ++q) {
        uint8_t byte = wr[q];
        for (int j = 0; j < 4; ++j)
          s += int32_t(xr[4 * q + j]) * (int32_t((byte >> (2 * j)) & 3) - 1);
      }
      out[m * outStride + n] += s;
    }
  }
}

constexpr int64_t kBlock = kPlanePad; // packed bytes per vector

/// The bytes of the 64-byte block at packed byte q that lie before kq.
inline __mmask64 blockMask(int64_t kq, int64_t q) {
  return kq - q >= kBlock ? ~0ull : ~0ull >> (64 - (kq - q));
}


/// One 64-byte block (at packed byte q) of NB weight rows against RB
/// activation rows. Field j's codes are masked in place, (w + 1) << 2 j,
/// not shifted down: acc[b][r][j] holds 4^j times its sum, which vnniTile
/// divides out exactly (every product is a multiple of 4^j): 8 shifts
/// fewer per block. Exact while a lane's sum stays in int32: a lane takes 4
/// products of at most 192 x 128 per 256 columns, so K < 2^31 / 384, over
/// five million.
template <int RB, int NB>
BITNET_VNNI __attribute__((always_inline)) inline void
vnniBlock(const int8_t *planes, int64_t m0, int64_t kqPad,
          const uint8_t *const (&wr)[NB], int64_t q, __mmask64 mask,
          __m512i (&acc)[NB][RB][4]) {
  __m512i packed[NB];
  for (int b = 0; b < NB; ++b)
    packed[b] = _mm512_maskz_loadu_epi8(mask, wr[b] + q);
  for (int j = 0; j < 4; ++j) {
    const __m512i field = _mm512_set1_epi8(char(3 << (2 * j)));
    for (int r = 0; r < RB; ++r) {
      __m512i xv = _mm512_loadu_si512(planes + ((m0 + r) * 4 + j) * kqPad + q);
      for (int b = 0; b < NB; ++b)
        acc[b][r][j] = _mm512_dpbusd_epi32(
            acc[b][r][j], _mm512_and_si512(packed[b], field), xv);
    }
  }
}

/// NB weight rows x RB activation rows, one accumulator per (row, row, j)
/// so the dot-product chains are independent.
template <int RB, int NB, typename Rows>
BITNET_VNNI inline void vnniTile(const int8_t *planes, const int32_t *sums,
                                 int64_t m0, int64_t kqPad, const uint8_t *w,
                                 Rows rows, int64_t kq, int64_t wStride,
                                 int32_t *out, int64_t outStride) {
  __m512i acc[NB][RB][4];
  for (int b = 0; b < NB; ++b)
    for (int r = 0; r < RB; ++r)
      for (int j = 0; j < 4; ++j)
        acc[b][r][j] = _mm512_setzero_si512();
  const uint8_t *wr[NB];
  for (int b = 0; b < NB; ++b)
    wr[b] = w + rows.row(b) * wStride;
  // Weights stream from DRAM once per token. A tile whose rows nothing
  // prefetched touches every line up front, putting all its misses in
  // flight at once (measured on bitnet-bench-kernels: 1.5-2x the DRAM
  // throughput of no prefetch). Where the rows kDecodeAhead on are
  // prefetched into L2 (the decode tile), the touch only costs: it issues
  // 40 L1 fills at once and the loads queue behind them (Zen 4 EPYC, 2B4T
  // shapes from DRAM, 1 thread: QKV 206-211 -> 120-126 us, gate_up
  // 721-752 -> 412-464 us). Gated rows are prefetched by vnniRowBlock.
  const bool ahead = rows.prefetches(NB);
  if constexpr (std::is_same_v<Rows, DenseRows>)
    if (!ahead) {
      const char *tile = reinterpret_cast<const char *>(wr[0]);
      for (int64_t off = 0; off < NB * wStride; off += 64)
        _mm_prefetch(tile + off, _MM_HINT_T0);
    }
  int64_t full = kq / kBlock * kBlock;
  for (int64_t q = 0; q < full; q += kBlock) {
    if (ahead)
      for (int b = 0; b < NB; ++b) {
        const char *line = reinterpret_cast<const char *>(
            w + rows.aheadRow(b) * wStride + q);
        // Dense rows into L2 (the hardware prefetchers take them on to
        // L1); gated rows are already on their way to L2 (vnniRowBlock): L1.
        if constexpr (std::is_same_v<Rows, DenseRows>)
          _mm_prefetch(line, _MM_HINT_T1);
        else
          _mm_prefetch(line, _MM_HINT_T0);
      }
    vnniBlock<RB, NB>(planes, m0, kqPad, wr, q, ~0ull, acc);
  }
  if (kq != full)
    vnniBlock<RB, NB>(planes, m0, kqPad, wr, full, blockMask(kq, full), acc);
  for (int b = 0; b < NB; ++b)
    for (int r = 0; r < RB; ++r) {
      int64_t n = rows.row(b);
      __m512i t = _mm512_add_epi32(
          _mm512_add_epi32(acc[b][r][0], _mm512_srai_epi32(acc[b][r][1], 2)),
          _mm512_add_epi32(_mm512_srai_epi32(acc[b][r][2], 4),
                           _mm512_srai_epi32(acc[b][r][3], 6)));
      int32_t add = _mm512_reduce_add_epi32(t) - sums[m0 + r];
      // Without a branch on the gate, as in addSixteen.
      out[(m0 + r) * outStride + n] += rows.open(m0 + r, n) ? add : 0;
    }
}

/// Lane-wise adds of 16 dwords, as int32 or as f32 (the bits of the
/// transposing tree's vectors, whose shuffles move 32-bit lanes either way).
struct AddI32 {
  BITNET_AVX512F __m512i operator()(__m512i x, __m512i y) const {
    return _mm512_add_epi32(x, y);
  }
};
struct AddF32 {
  BITNET_AVX512F __m512i operator()(__m512i x, __m512i y) const {
    return _mm512_castps_si512(
        _mm512_add_ps(_mm512_castsi512_ps(x), _mm512_castsi512_ps(y)));
  }
};

/// The 16 sums of a[0..15] in one vector: lane i = sum of a[i]'s lanes. A
/// transposing tree (45 shuffles and adds) instead of 16 horizontal
/// reductions (~160), which at small K cost more than the dot products
/// they finish.
/// 128-bit lanes [x0 + x1, x2 + x3, y0 + y1, y2 + y3].
template <typename Add>
BITNET_AVX512F inline __m512i foldLanes(__m512i x, __m512i y, Add add) {
  return add(_mm512_shuffle_i32x4(x, y, 0x88), _mm512_shuffle_i32x4(x, y, 0xdd));
}

template <typename Add>
BITNET_AVX512F inline __m512i transposeSum16(__m512i (&a)[16], Add add) {
  __m512i t[8], u[4];
  for (int i = 0; i < 8; ++i)
    t[i] = add(_mm512_unpacklo_epi32(a[2 * i], a[2 * i + 1]),
               _mm512_unpackhi_epi32(a[2 * i], a[2 * i + 1]));
  // Each 128-bit lane of u[k] now holds partial sums of a[4k .. 4k + 3].
  for (int k = 0; k < 4; ++k)
    u[k] = add(_mm512_unpacklo_epi64(t[2 * k], t[2 * k + 1]),
               _mm512_unpackhi_epi64(t[2 * k], t[2 * k + 1]));
  return foldLanes(foldLanes(u[0], u[1], add), foldLanes(u[2], u[3], add), add);
}

BITNET_VNNI inline __m512i reduceSixteen(__m512i (&a)[16]) {
  return transposeSum16(a, AddI32{});
}

/// Finishes a 16-accumulator tile of NB weight rows: accumulator l holds
/// activation row m0 + l / NB against weight row rows.row(l % NB); its sum
/// minus the row's activation sum is added where the gate is open.
template <int NB, typename Rows>
BITNET_VNNI inline void addSixteen(__m512i (&acc)[16], const Rows &rows,
                                   int64_t m0, const int32_t *sums,
                                   int32_t *out, int64_t outStride) {
  alignas(64) int32_t total[16];
  _mm512_store_si512(total, reduceSixteen(acc));
  // Every output is written, a closed gate's with + 0: a branch per output
  // on gates open at random mispredicted every other one (2B4T's up
  // projection, 64 rows, most open: 4.5-4.8 ms a call against 3.1-3.3 ms
  // for the same rows without a gate, 2 Zen 4 threads).
  for (int l = 0; l < 16; ++l) {
    int64_t m = m0 + l / NB, n = rows.row(l % NB);
    int32_t add = total[l] - sums[m];
    out[m * outStride + n] += rows.open(m, n) ? add : 0;
  }
}

/// The prefill tile: 4 weight rows x 4 activation rows, one accumulator per
/// pair (16 independent chains hide VNNI's latency without the 4 per pair
/// of vnniTile), so each unpacked weight vector feeds 4 dot products and
/// each activation vector 4 (measured at 2B4T's QKV, M = 64: 163 -> 197
/// GMAC/s on 1 thread, 176 -> 286 on 2, against 4 x 1 tiles).
template <typename Rows>
BITNET_VNNI inline void vnniTile4x4(const int8_t *planes, const int32_t *sums,
                                    int64_t m0, int64_t kqPad,
                                    const uint8_t *w, Rows rows, int64_t kq,
                                    int64_t wStride, int32_t *out,
                                    int64_t outStride) {
  const __m512i three = _mm512_set1_epi8(3);
  __m512i acc[16]; // acc[4 r + b]
  for (__m512i &a : acc)
    a = _mm512_setzero_si512();
  const uint8_t *wr[4];
  for (int b = 0; b < 4; ++b)
    wr[b] = w + rows.row(b) * wStride;
  if constexpr (std::is_same_v<Rows, DenseRows>)
    if (rows.prefetches(4))
      for (int64_t off = 0; off < 4 * wStride; off += 64)
        _mm_prefetch(reinterpret_cast<const char *>(
                         w + rows.aheadRow(0) * wStride + off),
                     _MM_HINT_T1);
  for (int64_t q = 0; q < kq; q += kBlock) {
    __mmask64 mask = blockMask(kq, q);
    __m512i packed[4];
    for (int b = 0; b < 4; ++b)
      packed[b] = _mm512_maskz_loadu_epi8(mask, wr[b] + q);
    for (int j = 0; j < 4; ++j) {
      __m512i v[4];
      for (int b = 0; b < 4; ++b)
        v[b] = _mm512_and_si512(_mm512_srli_epi16(packed[b], 2 * j), three);
      for (int r = 0; r < 4; ++r) {
        __m512i xv = _mm512_loadu_si512(planes + ((m0 + r) * 4 + j) * kqPad + q);
        for (int b = 0; b < 4; ++b)
          acc[4 * r + b] = _mm512_dpbusd_epi32(acc[4 * r + b], v[b], xv);
      }
    }
  }
  addSixteen<4>(acc, rows, m0, sums, out, outStride);
}

/// The small-K decode tile: 16 weight rows x 1 activation row, one
/// accumulator per row and one transposing reduction for all 16. With a
/// short row (toy models: K = 128, half a block) vnniTile's 4 reductions
/// per 4 rows cost more than the dot products.
template <typename Rows>
BITNET_VNNI inline void vnniTile1x16(const int8_t *planes, const int32_t *sums,
                                     int64_t m0, int64_t kqPad,
                                     const uint8_t *w, Rows rows, int64_t kq,
                                     int64_t wStride, int32_t *out,
                                     int64_t outStride) {
  const __m512i three = _mm512_set1_epi8(3);
  __m512i acc[16];
  for (__m512i &a : acc)
    a = _mm512_setzero_si512();
  for (int64_t q = 0; q < kq; q += kBlock) {
    __mmask64 mask = blockMask(kq, q);
    __m512i xv[4];
    for (int j = 0; j < 4; ++j)
      xv[j] = _mm512_loadu_si512(planes + (m0 * 4 + j) * kqPad + q);
    for (int b = 0; b < 16; ++b) {
      __m512i packed =
          _mm512_maskz_loadu_epi8(mask, w + rows.row(b) * wStride + q);
      for (int j = 0; j < 4; ++j)
        acc[b] = _mm512_dpbusd_epi32(
            acc[b], _mm512_and_si512(_mm512_srli_epi16(packed, 2 * j), three),
            xv[j]);
    }
  }
  addSixteen<16>(acc, rows, m0, sums, out, outStride);
}

/// Packed bytes per row up to which decode uses vnniTile1x16 (beyond, the
/// rows stream from DRAM and vnniTile's prefetched 4-row tiles stay).
constexpr int64_t kSmallRowBytes = 128;

/// Dense decode: the rows four tiles ahead are prefetched into L2 a line
/// per 64-byte step (and no longer the tile's own lines up front, vnniTile). Two
/// tiles ahead into L1 (the first form: on an AMX Xeon, QKV on 2 threads
/// 162-176 -> 124-164 us, gate on 1 thread 539-624 -> 428-462 us) left the
/// long rows of the down projection (1728 bytes) at 9-12 GB/s on a Zen 4
/// EPYC, where 16 rows into L2 read 15-21 GB/s, and no shape slower
/// beyond the VM's noise (configurations interleaved in one process,
/// median of 11 rounds, 2B4T shapes from DRAM, 1 and 2 threads).
constexpr int64_t kDecodeAhead = 16;

/// Tiles over output rows [i0, i1) of a dense call (rows i0..i1) or of a
/// gated one's list.
template <int RB>
BITNET_VNNI void vnniRowBlock(const int8_t *planes, const int32_t *sums,
                              int64_t m0, int64_t kqPad, const uint8_t *w,
                              const GatedRows *gated, int64_t i0, int64_t i1,
                              int64_t kq, int64_t wStride, int32_t *out,
                              int64_t outStride, int64_t ahead = 0,
                              int64_t end = 0) {
  constexpr int NB = RB == 2 ? 2 : 4;
  // NB x RB tiles: the 4 x 4 one for prefill blocks, vnniTile otherwise.
  auto tile = [&](auto tileRows) {
    if constexpr (RB == 4)
      vnniTile4x4(planes, sums, m0, kqPad, w, tileRows, kq, wStride, out,
                  outStride);
    else
      vnniTile<RB, NB>(planes, sums, m0, kqPad, w, tileRows, kq, wStride, out,
                       outStride);
  };
  int64_t i = i0;
  if (!gated || !gated->idx) {
    const float *gate = gated ? gated->gate : nullptr;
    int64_t gs = gated ? gated->gateStride : 0;
    if constexpr (RB == 1)
      if (kq <= kSmallRowBytes)
        for (; i + 16 <= i1; i += 16)
          vnniTile1x16(planes, sums, m0, kqPad, w, DenseRows{i, gate, gs}, kq,
                       wStride, out, outStride);
    for (; i + NB <= i1; i += NB)
      tile(DenseRows{i, gate, gs, ahead, end});
    for (; i < i1; ++i)
      vnniTile<RB, 1>(planes, sums, m0, kqPad, w, DenseRows{i, gate, gs}, kq,
                      wStride, out, outStride);
    return;
  }
  // Open rows are scattered, so no hardware prefetcher follows them: fetch
  // the rows kGatedLookahead ahead into L2 while this tile computes
  // (measured: 1.6x at 2B4T's up projection, 67.5% closed), and the
  // decode tile the rows kGatedNear ahead from there into L1.
  GatedRows rows = *gated;
  rows.ahead = kGatedNear;
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
    rows.left = i1 - i;
    tile(rows);
  }
  rows.ahead = 0;
  for (; i < i1; ++i) {
    rows.idx = gated->idx + i;
    vnniTile<RB, 1>(planes, sums, m0, kqPad, w, rows, kq, wStride, out,
                    outStride);
  }
}

BITNET_VNNI void vnniRows(const int8_t *planes, const int32_t *sums,
                          int64_t rows, int64_t kqPad, const uint8_t *w,
                          const GatedRows *gated, int64_t i0, int64_t i1,
                          int64_t kq, int64_t wStride, int32_t *out,
                          int64_t outStride) {
  int64_t m0 = 0;
  // Blocks of 4 activation rows sweep the weight rows in chunks that stay
  // in L2 (kChunkBytes) while every block passes over them.
  constexpr int64_t kChunkBytes = 256 << 10;
  int64_t chunk = std::max<int64_t>(4, kChunkBytes / std::max<int64_t>(1, wStride) / 4 * 4);
  // The last block's pass over a chunk also fetches the next chunk into L2.
  for (int64_t c0 = i0; rows >= 4 && c0 < i1; c0 += chunk)
    for (m0 = 0; m0 + 4 <= rows; m0 += 4)
      vnniRowBlock<4>(planes, sums, m0, kqPad, w, gated, c0,
                      std::min(i1, c0 + chunk), kq, wStride, out, outStride,
                      m0 + 8 > rows && rows >= 8 ? chunk : 0, i1);
  for (; m0 + 2 <= rows; m0 += 2)
    vnniRowBlock<2>(planes, sums, m0, kqPad, w, gated, i0, i1, kq, wStride, out,
                    outStride);
  for (; m0 < rows; ++m0)
    vnniRowBlock<1>(planes, sums, m0, kqPad, w, gated, i0, i1, kq, wStride, out,
                    outStride, kDecodeAhead, i1);
}

BITNET_AVX512F __attribute__((always_inline)) inline void
f32Dot4x4Step(const float *x, int64_t xStride, const float *w, int64_t wStride,
              int64_t i, __mmask16 mask, __m512 (&acc)[16]) {
  __m512 wv[4], xv[4];
  for (int b = 0; b < 4; ++b)
    wv[b] = _mm512_maskz_loadu_ps(mask, w + b * wStride + i);
  for (int r = 0; r < 4; ++r)
    xv[r] = _mm512_maskz_loadu_ps(mask, x + r * xStride + i);
  for (int r = 0; r < 4; ++r)
    for (int b = 0; b < 4; ++b)
      acc[4 * r + b] = _mm512_fmadd_ps(wv[b], xv[r], acc[4 * r + b]);
}

/// 4 weight rows x 4 activation rows of x W^T: 16 accumulators, so each
/// loaded vector feeds 4 FMAs (the 4 x 1 tile loaded 5 vectors for 4 FMAs
/// and ran at 17-20 GFLOPS a core on a Zen 4).
BITNET_AVX512F void f32DotTile4x4(const float *x, int64_t xStride,
                                  const float *w, int64_t wStride, int64_t k,
                                  float *out, int64_t outStride) {
  int64_t full = k / 16 * 16;
  __mmask16 tail = __mmask16((1u << (k - full)) - 1);
  __m512 acc[16];
  for (__m512 &a : acc)
    a = _mm512_setzero_ps();
  for (int64_t i = 0; i < full; i += 16)
    f32Dot4x4Step(x, xStride, w, wStride, i, __mmask16(0xffff), acc);
  if (tail)
    f32Dot4x4Step(x, xStride, w, wStride, full, tail, acc);
  __m512i bits[16];
  for (int i = 0; i < 16; ++i)
    bits[i] = _mm512_castps_si512(acc[i]);
  alignas(64) float sums[16];
  _mm512_store_si512(sums, transposeSum16(bits, AddF32{}));
  for (int r = 0; r < 4; ++r)
    for (int b = 0; b < 4; ++b)
      out[r * outStride + b] += sums[4 * r + b];
}

/// x W^T rows: dot products of contiguous rows, 4 weight rows at a time;
/// every activation row is done against a tile before the next tile, so a
/// prefill chunk reads the weights once (4 activation rows at a time while
/// 4 are left).
BITNET_AVX512F void f32DotRows(const float *x, int64_t rows, int64_t xStride,
                               const float *w, int64_t n0, int64_t n1, int64_t k,
                               int64_t wStride, float *out, int64_t outStride) {
  int64_t full = k / 16 * 16;
  __mmask16 tail = __mmask16((1u << (k - full)) - 1);
  int64_t n = n0;
  for (; n + 4 <= n1; n += 4) {
    int64_t m = 0;
    for (; m + 4 <= rows; m += 4)
      f32DotTile4x4(x + m * xStride, xStride, w + n * wStride, wStride, k,
                    out + m * outStride + n, outStride);
    // Fewer than 4 activation rows (decode): the weights stream once, the
    // rows kHeadAhead on into L2 while this tile computes.
    const int64_t next = m == 0 ? headAhead(n, n1, wStride) : 0;
    for (; m < rows; ++m) {
      const float *xr = x + m * xStride;
      __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(),
                       _mm512_setzero_ps(), _mm512_setzero_ps()};
      for (int64_t i = 0; i < full; i += 16) {
        if (next && m + 1 == rows)
          prefetchHeadTile(w, n, wStride, next, i);
        __m512 xv = _mm512_loadu_ps(xr + i);
        for (int b = 0; b < 4; ++b)
          acc[b] = _mm512_fmadd_ps(_mm512_loadu_ps(w + (n + b) * wStride + i), xv,
                                   acc[b]);
      }
      if (tail) {
        __m512 xv = _mm512_maskz_loadu_ps(tail, xr + full);
        for (int b = 0; b < 4; ++b)
          acc[b] = _mm512_fmadd_ps(
              _mm512_maskz_loadu_ps(tail, w + (n + b) * wStride + full), xv, acc[b]);
      }
      for (int b = 0; b < 4; ++b)
        out[m * outStride + n + b] += _mm512_reduce_add_ps(acc[b]);
    }
  }
  for (; n < n1; ++n)
    for (int64_t m = 0; m < rows; ++m) {
      const float *xr = x + m * xStride;
      __m512 acc = _mm512_setzero_ps();
      for (int64_t i = 0; i < full; i += 16)
        acc = _mm512_fmadd_ps(_mm512_loadu_ps(w + n * wStride + i),
                              _mm512_loadu_ps(xr + i), acc);
      if (tail)
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, w + n * wStride + full),
                              _mm512_maskz_loadu_ps(tail, xr + full), acc);
      out[m * outStride + n] += _mm512_reduce_add_ps(acc);
    }
}

/// V vectors of one output row: out[c0 : c0 + 16 V] += x[k] * W[k, c0 : ...];
/// the count is a template argument so the accumulators stay in registers
/// (indexed by a run-time count they live on the stack, and every FMA loads
/// and stores one).
template <int V>
BITNET_AVX512F void f32AxpyBlock(const float *xr, const float *w, int64_t c0,
                                 int64_t c1, int64_t k, int64_t wStride,
                                 float *o) {
  __m512 acc[V];
  __mmask16 mk[V];
  for (int v = 0; v < V; ++v) {
    int64_t left = c1 - (c0 + 16 * v);
    mk[v] = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
    acc[v] = _mm512_maskz_loadu_ps(mk[v], o + c0 + 16 * v);
  }
  for (int64_t i = 0; i < k; ++i) {
    __m512 xv = _mm512_set1_ps(xr[i]);
    const float *wr = w + i * wStride + c0;
    for (int v = 0; v < V; ++v)
      acc[v] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mk[v], wr + 16 * v), xv,
                               acc[v]);
  }
  for (int v = 0; v < V; ++v)
    _mm512_mask_storeu_ps(o + c0 + 16 * v, mk[v], acc[v]);
}

/// R rows by V vectors of outputs: out[m0 + r, c0 : c0 + 16 V] +=
/// x[m0 + r, k] * W[k, c0 : ...]. Each weight vector loaded serves R rows
/// and each broadcast of x serves V vectors, so the FMAs, not the loads,
/// bound it (one row at a time does one load per FMA). Every output still
/// adds its products in k order, as f32AxpyBlock does.
template <int R, int V>
BITNET_AVX512F void f32AxpyTile(const float *x, int64_t xStride,
                                const float *w, int64_t c0, int64_t c1,
                                int64_t k, int64_t wStride, float *o,
                                int64_t outStride) {
  __m512 acc[R][V];
  __mmask16 mk[V];
  for (int v = 0; v < V; ++v) {
    int64_t left = c1 - (c0 + 16 * v);
    mk[v] = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v)
      acc[r][v] = _mm512_maskz_loadu_ps(mk[v], o + r * outStride + c0 + 16 * v);
  for (int64_t i = 0; i < k; ++i) {
    const float *wr = w + i * wStride + c0;
    __m512 wv[V];
    for (int v = 0; v < V; ++v)
      wv[v] = _mm512_maskz_loadu_ps(mk[v], wr + 16 * v);
    for (int r = 0; r < R; ++r) {
      __m512 xv = _mm512_set1_ps(x[r * xStride + i]);
      for (int v = 0; v < V; ++v)
        acc[r][v] = _mm512_fmadd_ps(wv[v], xv, acc[r][v]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v)
      _mm512_mask_storeu_ps(o + r * outStride + c0 + 16 * v, mk[v], acc[r][v]);
}

/// x W rows (W is [k, n]): out[m, n0:n1] += x[m, k] * W[k, n0:n1], k outer.
/// Several rows: tiles of 4 rows by 64 outputs, the row blocks inner so a
/// column panel of W stays in cache while they pass over it. One row (a
/// decode step): 128 outputs (8 vectors) at a time, W streamed once.
BITNET_AVX512F void f32AxpyRows(const float *x, int64_t rows, int64_t xStride,
                                const float *w, int64_t n0, int64_t n1,
                                int64_t k, int64_t wStride, float *out,
                                int64_t outStride) {
  using Tile = void (*)(const float *, int64_t, const float *, int64_t,
                        int64_t, int64_t, int64_t, float *, int64_t);
  static constexpr Tile tiles[4][4] = {
      {f32AxpyTile<1, 1>, f32AxpyTile<1, 2>, f32AxpyTile<1, 3>, f32AxpyTile<1, 4>},
      {f32AxpyTile<2, 1>, f32AxpyTile<2, 2>, f32AxpyTile<2, 3>, f32AxpyTile<2, 4>},
      {f32AxpyTile<3, 1>, f32AxpyTile<3, 2>, f32AxpyTile<3, 3>, f32AxpyTile<3, 4>},
      {f32AxpyTile<4, 1>, f32AxpyTile<4, 2>, f32AxpyTile<4, 3>, f32AxpyTile<4, 4>}};
  if (rows >= 2) {
    for (int64_t c0 = n0; c0 < n1; c0 += 64) {
      int64_t c1 = std::min(n1, c0 + 64);
      int v = int((c1 - c0 + 15) / 16);
      for (int64_t m0 = 0; m0 < rows; m0 += 4) {
        int r = int(std::min<int64_t>(4, rows - m0));
        tiles[r - 1][v - 1](x + m0 * xStride, xStride, w, c0, c1, k, wStride,
                            out + m0 * outStride, outStride);
      }
    }
    return;
  }
  using Block = void (*)(const float *, const float *, int64_t, int64_t,
                         int64_t, int64_t, float *);
  static constexpr Block blocks[8] = {
      f32AxpyBlock<1>, f32AxpyBlock<2>, f32AxpyBlock<3>, f32AxpyBlock<4>,
      f32AxpyBlock<5>, f32AxpyBlock<6>, f32AxpyBlock<7>, f32AxpyBlock<8>};
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t c0 = n0; c0 < n1; c0 += 128) {
      int64_t c1 = std::min(n1, c0 + 128);
      blocks[(c1 - c0 + 15) / 16 - 1](x + m * xStride, w, c0, c1, k, wStride,
                                       out + m * outStride);
    }
}

/// x (f32) times int8 rows: 4 rows at a time, 16 weights per step; every
/// activation row against a tile before the next tile.
BITNET_AVX512F void i8wDotRows(const float *x, int64_t rows, int64_t xStride,
                               const int8_t *w, int64_t n0, int64_t n1,
                               int64_t k, int64_t wStride, float *out,
                               int64_t outStride) {
  int64_t full = k / 16 * 16;
  int64_t n = n0;
  for (; n + 4 <= n1; n += 4) {
    // The rows kHeadAhead on stream into L2 while this tile computes, a
    // line per row every 64 bytes. (The whole tile prefetched up front, 160
    // lines of a 2560-wide LM head at once, stalled: 2B4T's int8 head
    // measured 43-52 -> 37-42 ms on 1 thread, 22-50 -> 19-25 ms on 2.)
    const int64_t next = headAhead(n, n1, wStride);
    for (int64_t m = 0; m < rows; ++m) {
      const float *xr = x + m * xStride;
      __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(),
                       _mm512_setzero_ps(), _mm512_setzero_ps()};
      for (int64_t i = 0; i < full; i += 16) {
        if (m == 0 && next && i % 64 == 0)
          prefetchHeadTile(w, n, wStride, next, i);
        __m512 xv = _mm512_loadu_ps(xr + i);
        for (int b = 0; b < 4; ++b) {
          __m128i q = _mm_loadu_si128(
              reinterpret_cast<const __m128i *>(w + (n + b) * wStride + i));
          acc[b] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)),
                                   xv, acc[b]);
        }
      }
      float tail[4] = {0, 0, 0, 0};
      for (int64_t i = full; i < k; ++i)
        for (int b = 0; b < 4; ++b)
          tail[b] += xr[i] * float(w[(n + b) * wStride + i]);
      for (int b = 0; b < 4; ++b)
        out[m * outStride + n + b] += _mm512_reduce_add_ps(acc[b]) + tail[b];
    }
  }
  for (; n < n1; ++n)
    for (int64_t m = 0; m < rows; ++m) {
      const float *xr = x + m * xStride;
      float s = 0;
      for (int64_t i = 0; i < k; ++i)
        s += xr[i] * float(w[n * wStride + i]);
      out[m * outStride + n] += s;
    }
}

/// The codes of an int4 head's group (16 bytes): elements 0-15 from the
/// low nibbles, 16-31 from the high ones, each minus 8.
inline int32_t i4Code(const uint8_t *group, int64_t j) {
  uint8_t b = group[j % 16];
  return int32_t((j < 16 ? b : b >> 4) & 15) - 8;
}

/// Groups [g0, g1) of weight row n against x's codes: sum_g s_g * (integer
/// sum of the group's products).
inline float i4Groups(const int8_t *xr, const uint8_t *wr, const float *sr,
                      int64_t g0, int64_t g1) {
  float total = 0;
  for (int64_t g = g0; g < g1; ++g) {
    int32_t dot = 0;
    for (int64_t j = 0; j < kI4Group; ++j)
      dot += int32_t(xr[kI4Group * g + j]) * i4Code(wr + 16 * g, j);
    total += sr[g] * float(dot);
  }
  return total;
}

void i4wPortableRows(const int8_t *x, int64_t rows, int64_t xStride,
                     const uint8_t *w, const float *s, int64_t n0, int64_t n1,
                     int64_t k, int64_t wStride, int64_t sStride, float *out,
                     int64_t outStride) {
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t n = n0; n < n1; ++n)
      out[m * outStride + n] +=
          i4Groups(x + m * xStride, w + n * wStride, s + n * sStride, 0,
                   k / kI4Group);
}

/// x's codes rearranged for the int4 layout: per 64-byte chunk (4 groups),
/// the codes that meet the low nibbles (each group's first 16) and the
/// high ones (its last 16) at the same byte positions, and per dword lane
/// 8 times the sum of the 8 codes it multiplies (the nibbles are q + 8).
/// `bytes` of weights (64: AVX-512, 32: AVX2) make a chunk.
struct I4Activations {
  std::vector<int8_t> lo, hi;
  std::vector<int32_t> corr;
  I4Activations(const int8_t *xr, int64_t chunks, int64_t bytes = 64)
      : lo(size_t(bytes * chunks)), hi(size_t(bytes * chunks)),
        corr(size_t(bytes / 4 * chunks)) {
    for (int64_t i = 0; i < bytes * chunks; ++i) {
      int64_t g = i / 16, j = i % 16;
      lo[size_t(i)] = xr[kI4Group * g + j];
      hi[size_t(i)] = xr[kI4Group * g + 16 + j];
    }
    for (int64_t l = 0; l < bytes / 4 * chunks; ++l) {
      int32_t sum = 0;
      for (int64_t i = 0; i < 4; ++i)
        sum += lo[size_t(4 * l + i)] + hi[size_t(4 * l + i)];
      corr[size_t(l)] = 8 * sum;
    }
  }
};

/// Every activation row's I4Activations.
std::vector<I4Activations> i4Activations(const int8_t *x, int64_t rows,
                                         int64_t xStride, int64_t chunks,
                                         int64_t bytes) {
  std::vector<I4Activations> acts;
  acts.reserve(size_t(rows));
  for (int64_t m = 0; m < rows; ++m)
    acts.emplace_back(x + m * xStride, chunks, bytes);
  return acts;
}

/// Bytes of weights a chunk of the vector kernels takes (0: none, the
/// portable loops).
int64_t i4ChunkBytes(KernelKind kind) {
  return usesAvx512(kind) ? 64 : kind == KernelKind::AVX2 ? 32 : 0;
}

/// The AVX2 form of i4wVnniRows: 32-byte chunks (2 groups), the nibbles
/// times x's codes by vpmaddubsw (pairs into 16 bits: at most 2 * 15 * 127)
/// and vpmaddwd by ones into dword lanes of 4 bytes, a group's 4 lanes
/// scaled by its scale.
BITNET_AVX2 void i4wAvx2Rows(const int8_t *x, int64_t rows, int64_t xStride,
                             const std::vector<I4Activations> &acts,
                             const uint8_t *w, const float *s, int64_t n0,
                             int64_t n1, int64_t k, int64_t wStride,
                             int64_t sStride, float *out, int64_t outStride) {
  const int64_t chunks = k / 64, groups = k / kI4Group;
  const __m256i low = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1);
  const __m256i spread = _mm256_set_epi32(1, 1, 1, 1, 0, 0, 0, 0);
  for (int64_t n = n0; n < n1; ++n)
    for (int64_t m = 0; m < rows; ++m) {
      const I4Activations &a = acts[size_t(m)];
      const uint8_t *wr = w + n * wStride;
      __m256 acc = _mm256_setzero_ps();
      for (int64_t c = 0; c < chunks; ++c) {
        __m256i wv = _mm256_loadu_si256(
            reinterpret_cast<const __m256i *>(wr + 32 * c));
        __m256i lo = _mm256_and_si256(wv, low);
        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(wv, 4), low);
        __m256i xl = _mm256_loadu_si256(
            reinterpret_cast<const __m256i *>(a.lo.data() + 32 * c));
        __m256i xh = _mm256_loadu_si256(
            reinterpret_cast<const __m256i *>(a.hi.data() + 32 * c));
        __m256i d = _mm256_add_epi32(
            _mm256_madd_epi16(_mm256_maddubs_epi16(lo, xl), ones),
            _mm256_madd_epi16(_mm256_maddubs_epi16(hi, xh), ones));
        d = _mm256_sub_epi32(
            d, _mm256_loadu_si256(
                   reinterpret_cast<const __m256i *>(a.corr.data() + 8 * c)));
        __m256 sv = _mm256_permutevar8x32_ps(
            _mm256_castps128_ps256(_mm_castpd_ps(_mm_load_sd(
                reinterpret_cast<const double *>(s + n * sStride + 2 * c)))),
            spread);
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d), sv, acc);
      }
      out[m * outStride + n] +=
          sumLanes8(acc) + i4Groups(x + m * xStride, wr, s + n * sStride,
                                    2 * chunks, groups);
    }
}

/// x's codes times int4 rows with VNNI, 4 weight rows at a time: a 64-byte
/// chunk of a row is 4 groups; its low and high nibbles (one mask, one
/// shift) go into vpdpbusd against the matching codes of x, each dword
/// lane then holds a quarter of one group's sum; the lanes become f32 and
/// are scaled by their group's scale (4 scales spread by a permute). The
/// rows kHeadAhead on stream into L2 as in i8wDotRows. Groups past the last whole
/// chunk (K not a multiple of 128) are summed by i4Groups.
BITNET_VNNI void i4wVnniRows(const int8_t *x, int64_t rows, int64_t xStride,
                             const std::vector<I4Activations> &acts,
                             const uint8_t *w, const float *s, int64_t n0,
                             int64_t n1, int64_t k, int64_t wStride,
                             int64_t sStride, float *out, int64_t outStride) {
  const int64_t chunks = k / 128, groups = k / kI4Group;
  const __m512i low = _mm512_set1_epi8(15);
  const __m512i spread =
      _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
  int64_t n = n0;
  for (; n + 4 <= n1; n += 4) {
    const int64_t next = headAhead(n, n1, wStride);
    for (int64_t m = 0; m < rows; ++m) {
      const I4Activations &a = acts[size_t(m)];
      __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(),
                       _mm512_setzero_ps(), _mm512_setzero_ps()};
      for (int64_t c = 0; c < chunks; ++c) {
        if (m == 0 && next)
          prefetchHeadTile(w, n, wStride, next, 64 * c);
        __m512i xl = _mm512_loadu_si512(a.lo.data() + 64 * c),
                xh = _mm512_loadu_si512(a.hi.data() + 64 * c),
                cv = _mm512_loadu_si512(a.corr.data() + 16 * c);
        for (int b = 0; b < 4; ++b) {
          __m512i wv = _mm512_loadu_si512(w + (n + b) * wStride + 64 * c);
          __m512i lo = _mm512_and_si512(wv, low);
          __m512i hi = _mm512_and_si512(_mm512_srli_epi16(wv, 4), low);
          __m512i d = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, xl);
          d = _mm512_sub_epi32(_mm512_dpbusd_epi32(d, hi, xh), cv);
          __m512 sv = _mm512_permutexvar_ps(
              spread, _mm512_castps128_ps512(
                          _mm_loadu_ps(s + (n + b) * sStride + 4 * c)));
          acc[b] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), sv, acc[b]);
        }
      }
      for (int b = 0; b < 4; ++b)
        out[m * outStride + n + b] +=
            _mm512_reduce_add_ps(acc[b]) +
            i4Groups(x + m * xStride, w + (n + b) * wStride,
                     s + (n + b) * sStride, 4 * chunks, groups);
    }
  }
  i4wPortableRows(x, rows, xStride, w, s, n, n1, k, wStride, sStride, out,
                  outStride);
}

void f32Portable(const float *x, int64_t rows, int64_t xStride, const float *w,
                 int64_t n0, int64_t n1, int64_t k, int64_t wStride,
                 bool transposed, float *out, int64_t outStride) {
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t n = n0; n < n1; ++n) {
      float s = 0;
      for (int64_t i = 0; i < k; ++i)
        s += x[m * xStride + i] *
             (transposed ? w[n * wStride + i] : w[i * wStride + n]);
      out[m * outStride + n] += s;
    }
}

} // namespace

KernelKind bitnet_rt::selectedKernel() {
  static KernelKind kind = [] {
    std::vector<KernelKind> kinds = availableKernels();
    // BITNET_UKERNEL picks a lower tier (benchmarks, tests); never one the
    // CPU lacks.
    if (const char *env = std::getenv("BITNET_UKERNEL")) {
      if (std::strcmp(env, "portable") == 0)
        return KernelKind::Portable;
      if (std::strcmp(env, "avx2") == 0 &&
          std::count(kinds.begin(), kinds.end(), KernelKind::AVX2))
        return KernelKind::AVX2;
      if (std::strcmp(env, "avx512-vnni") == 0 &&
          std::count(kinds.begin(), kinds.end(), KernelKind::AVX512VNNI))
        return KernelKind::AVX512VNNI;
    }
    return kinds.back(); // the widest
  }();
  return kind;
}

std::vector<KernelKind> bitnet_rt::availableKernels() {
  std::set<std::string> host = hostCpuFeatures();
  std::vector<KernelKind> kinds{KernelKind::Portable};
  if (host.count("avx2") && host.count("fma") && host.count("f16c"))
    kinds.push_back(KernelKind::AVX2);
  if (host.count("avx512vnni") && host.count("avx512bw"))
    kinds.push_back(KernelKind::AVX512VNNI);
  if (amxUsable())
    kinds.push_back(KernelKind::AMX);
  return kinds;
}

const char *bitnet_rt::kernelName(KernelKind kind) {
  switch (kind) {
  case KernelKind::Auto:
    return "auto";
  case KernelKind::Portable:
    return "portable";
  case KernelKind::AVX512VNNI:
    return "avx512-vnni";
  case KernelKind::AVX2:
    return "avx2";
  case KernelKind::AMX:
    return "amx";
  }
  return "?";
}

int bitnet_rt::kernelThreads() { return pool().size(); }

void bitnet_rt::detail::parallelFor(
    int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)> &fn) {
  pool().run(n, grain, fn);
}

extern "C" void bitnet_parallel_for(void (*task)(void *, int64_t, int64_t),
                                    void *frame, int64_t lo, int64_t hi,
                                    int64_t work) {
  // BITNET_PARALLEL_TASKS=0 keeps the compiled loops on the calling thread
  // (the kernels still use every thread): an A/B of this split alone.
  static const bool split = [] {
    const char *env = std::getenv("BITNET_PARALLEL_TASKS");
    return !env || std::strcmp(env, "0") != 0;
  }();
  int64_t n = hi - lo;
  int64_t grain = bitnet_rt::detail::grainFor(work);
  if (!split || n < 2 * grain) {
    task(frame, lo, hi);
    return;
  }
  pool().run(n, grain,
             [&](int64_t a, int64_t b) { task(frame, lo + a, lo + b); });
}

/// One activation row split into the 4 planes x_j[q] = x[4 q + j] (plane
/// j at planes + j * kqPad); returns the row's sum. 64 bytes per step: a
/// byte shuffle gathers each 16-byte lane's j-th bytes into its j-th dword,
/// a dword permutation brings the four lanes' dword j together.
static BITNET_VNNI int32_t splitPlanes(const int8_t *xr, int64_t kq, int8_t *planes,
                                int64_t kqPad) {
  const __m512i gather = _mm512_broadcast_i32x4(
      _mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
  const __m512i lanes = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10,
                                          14, 3, 7, 11, 15);
  const __m512i ones = _mm512_set1_epi8(1);
  __m512i sum = _mm512_setzero_si512();
  int64_t q = 0;
  for (; q + 16 <= kq; q += 16) {
    __m512i v = _mm512_loadu_si512(xr + 4 * q);
    sum = _mm512_dpbusd_epi32(sum, ones, v);
    __m512i t = _mm512_permutexvar_epi32(lanes, _mm512_shuffle_epi8(v, gather));
    auto store = [&](int j, __m128i part) {
      _mm_storeu_si128(reinterpret_cast<__m128i *>(planes + j * kqPad + q),
                       part);
    };
    store(0, _mm512_castsi512_si128(t));
    store(1, _mm512_extracti32x4_epi32(t, 1));
    store(2, _mm512_extracti32x4_epi32(t, 2));
    store(3, _mm512_extracti32x4_epi32(t, 3));
  }
  int32_t s = _mm512_reduce_add_epi32(sum);
  for (; q < kq; ++q)
    for (int j = 0; j < 4; ++j) {
      planes[j * kqPad + q] = xr[4 * q + j];
      s += xr[4 * q + j];
    }
  return s;
}

/// splitPlanes without vector instructions (once per activation row; the
/// AVX2 kernels' planes).
static int32_t splitPlanesScalar(const int8_t *xr, int64_t kq, int8_t *planes,
                                 int64_t kqPad) {
  int32_t s = 0;
  for (int64_t q = 0; q < kq; ++q)
    for (int j = 0; j < 4; ++j) {
      planes[j * kqPad + q] = xr[4 * q + j];
      s += xr[4 * q + j];
    }
  return s;
}

namespace {
/// The 2-bit BitLinear over output rows [0, count): all rows, or with
/// `gated`, the rows it lists.
void bitlinearRows(const int8_t *x, int64_t rows, int64_t xStride,
                   const uint8_t *w, const GatedRows *gated, int64_t count,
                   int64_t kq, int64_t wStride, int32_t *out, int64_t outStride,
                   KernelKind kind) {
  if (kind == KernelKind::Auto)
    kind = selectedKernel();
  // Enough work per thread to pay for waking it.
  int64_t grain = std::max<int64_t>(16, (1 << 16) / std::max<int64_t>(1, kq * rows));
  if (kind == KernelKind::Portable) {
    parallelFor(count, grain, [&](int64_t i0, int64_t i1) {
      portableRows(x, rows, xStride, w, gated ? gated->idx : nullptr,
                   gated ? gated->gate : nullptr, gated ? gated->gateStride : 0,
                   i0, i1, kq, wStride, out, outStride);
    });
    return;
  }
  // (amxUsable() also asks the OS for the tile state before the first use;
  // a kind passed in explicitly has not been through availableKernels().)
  if (kind == KernelKind::AMX && takesAmx(rows, count, kq) && amxUsable()) {
    amxBitLinear(x, rows, xStride, w, gated, count, kq, wStride, out,
                 outStride);
    return;
  }
  int64_t kqPad = (kq + kBlock - 1) / kBlock * kBlock;
  std::vector<int8_t> planes(size_t(rows * 4 * kqPad), 0);
  std::vector<int32_t> sums(size_t(rows), 0);
  bool vnni = usesAvx512(kind);
  for (int64_t m = 0; m < rows; ++m) {
    int8_t *p = planes.data() + m * 4 * kqPad;
    sums[size_t(m)] = vnni ? splitPlanes(x + m * xStride, kq, p, kqPad)
                           : splitPlanesScalar(x + m * xStride, kq, p, kqPad);
  }
  parallelFor(count, grain, [&](int64_t i0, int64_t i1) {
    if (vnni)
      vnniRows(planes.data(), sums.data(), rows, kqPad, w, gated, i0, i1, kq,
               wStride, out, outStride);
    else
      avx2Rows(planes.data(), sums.data(), rows, kqPad, w, gated, i0, i1, kq,
               wStride, out, outStride);
  });
}
} // namespace

void bitnet_rt::bitlinearI8Bits2(const int8_t *x, int64_t rows, int64_t xStride,
                                 const uint8_t *w, int64_t n, int64_t kq,
                                 int64_t wStride, int32_t *out,
                                 int64_t outStride, KernelKind kind) {
  bitlinearRows(x, rows, xStride, w, nullptr, n, kq, wStride, out, outStride,
                kind);
}

/// Lists in `idx` the rows i < n whose gate is open (> 0) for some
/// activation row; returns how many. Without a branch per row: about half
/// the gates are open, at random, so a branch per row mispredicted every
/// other row (the a48 example's decode on a Zen 4, 1 thread: 39.0 -> 43.5
/// K tokens/s). One activation row with AVX-512: 16 gates a compare, their
/// indices compressed into place.
static BITNET_AVX512F int64_t openRowsAvx512(const float *gate, int64_t n,
                                      int64_t *idx) {
  int64_t count = 0, i = 0;
  const __m512i step = _mm512_set1_epi64(8);
  __m512i lo = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7);
  for (; i + 16 <= n; i += 16) {
    __mmask16 open = _mm512_cmp_ps_mask(_mm512_loadu_ps(gate + i),
                                        _mm512_setzero_ps(), _CMP_GT_OQ);
    __m512i hi = _mm512_add_epi64(lo, step);
    __mmask8 l = __mmask8(open), h = __mmask8(open >> 8);
    _mm512_storeu_si512(idx + count, _mm512_maskz_compress_epi64(l, lo));
    count += __builtin_popcount(l);
    _mm512_storeu_si512(idx + count, _mm512_maskz_compress_epi64(h, hi));
    count += __builtin_popcount(h);
    lo = _mm512_add_epi64(hi, step);
  }
  for (; i < n; ++i) {
    idx[count] = i;
    count += gate[i] > 0.0f;
  }
  return count;
}

static int64_t openRows(const float *gate, int64_t rows, int64_t gateStride,
                 int64_t n, int64_t *idx, bool avx512) {
  if (rows == 1 && avx512 && n >= 16)
    return openRowsAvx512(gate, n, idx);
  // Several rows: the union of their open gates, a row at a time (each a
  // contiguous pass the compiler vectorizes). Gate by gate over the rows
  // was a strided, scalar walk of the whole [rows, n] matrix on the
  // calling thread: about 0.4 ms of the gated call's 5.0 at a 64-token
  // prefill of 2B4T's up projection (BITNET_CPU_PROFILE, 2 Zen 4 threads).
  std::unique_ptr<uint8_t[]> open(new uint8_t[size_t(n)]());
  for (int64_t m = 0; m < rows; ++m) {
    const float *g = gate + m * gateStride;
    for (int64_t i = 0; i < n; ++i)
      open[size_t(i)] |= uint8_t(g[i] > 0.0f);
  }
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i) {
    idx[count] = i;
    count += open[size_t(i)];
  }
  return count;
}

/// Open-row fraction above which the gated kernel streams every row.
constexpr double kGatedDenseAbove = 0.65;

void bitnet_rt::bitlinearI8Bits2Gated(const int8_t *x, int64_t rows,
                                      int64_t xStride, const uint8_t *w,
                                      int64_t n, int64_t kq, int64_t wStride,
                                      const float *gate, int64_t gateStride,
                                      int32_t *out, int64_t outStride,
                                      KernelKind kind) {
  // The rows some activation row needs; all activation rows are computed
  // for them and the gate decides per output.
  if (kind == KernelKind::Auto)
    kind = selectedKernel();
  // (Not a std::vector: openRows writes every slot it keeps, and a
  // vector's zero fill of all n slots was work per call for nothing.)
  std::unique_ptr<int64_t[]> idx(new int64_t[size_t(n)]);
  const int64_t open =
      openRows(gate, rows, gateStride, n, idx.get(), usesAvx512(kind));
  // With most rows open, streaming every row (and masking the outputs)
  // is faster than visiting the open ones: scattered rows stream at about
  // a third of the bandwidth (measured at 2B4T's up projection, 1 thread:
  // break-even near 65% open).
  if (double(open) > kGatedDenseAbove * double(n)) {
    GatedRows all{nullptr, gate, gateStride};
    bitlinearRows(x, rows, xStride, w, &all, n, kq, wStride, out, outStride,
                  kind);
    return;
  }
  GatedRows gated{idx.get(), gate, gateStride};
  bitlinearRows(x, rows, xStride, w, &gated, open, kq, wStride, out, outStride,
                kind);
}

void bitnet_rt::matmulF32(const float *x, int64_t rows, int64_t xStride,
                          const float *w, int64_t n, int64_t k, int64_t wStride,
                          bool transposed, float *out, int64_t outStride,
                          KernelKind kind) {
  if (rows <= 0) // no logit rows asked for
    return;
  if (kind == KernelKind::Auto)
    kind = selectedKernel();
  int64_t grain = floatRowGrain(k, rows);
  parallelFor(n, grain, [&](int64_t n0, int64_t n1) {
    if (kind == KernelKind::Portable)
      f32Portable(x, rows, xStride, w, n0, n1, k, wStride, transposed, out,
                  outStride);
    else if (kind == KernelKind::AVX2 && transposed)
      avx2F32DotRows(x, rows, xStride, w, n0, n1, k, wStride, out, outStride);
    else if (kind == KernelKind::AVX2)
      avx2F32AxpyRows(x, rows, xStride, w, n0, n1, k, wStride, out, outStride);
    else if (transposed)
      f32DotRows(x, rows, xStride, w, n0, n1, k, wStride, out, outStride);
    else
      f32AxpyRows(x, rows, xStride, w, n0, n1, k, wStride, out, outStride);
  });
}

void bitnet_rt::batchedMatmulF32(const StridedMatrix *a,
                                 const StridedMatrix *bm,
                                 const StridedMatrix *c, int64_t batches,
                                 int64_t rows, int64_t n, int64_t k,
                                 KernelKind kind) {
  if (kind == KernelKind::Auto)
    kind = selectedKernel();
  // Small heads (toy models, short steps) on the caller: a hand-over to
  // the pool costs more than they do.
  parallelFor(batches, grainFor(rows * n * k, rows), [&](int64_t b0, int64_t b1) {
    for (int64_t bi = b0; bi < b1; ++bi) {
      const StridedMatrix &x = a[bi], &w = bm[bi], &o = c[bi];
      float *out = const_cast<float *>(o.base);
      if (kind != KernelKind::Portable && x.colStride == 1 &&
          w.colStride == 1 && o.colStride == 1) {
        (kind == KernelKind::AVX2 ? avx2F32AxpyRows : f32AxpyRows)(
            x.base, rows, x.rowStride, w.base, 0, n, k, w.rowStride, out,
            o.rowStride);
        continue;
      }
      for (int64_t m = 0; m < rows; ++m)
        for (int64_t j = 0; j < n; ++j) {
          float s = 0;
          for (int64_t i = 0; i < k; ++i)
            s += x.base[m * x.rowStride + i * x.colStride] *
                 w.base[i * w.rowStride + j * w.colStride];
          out[m * o.rowStride + j * o.colStride] += s;
        }
    }
  });
}

void bitnet_rt::matmulF32I8W(const float *x, int64_t rows, int64_t xStride,
                             const int8_t *w, int64_t n, int64_t k,
                             int64_t wStride, float *out, int64_t outStride,
                             KernelKind kind) {
  if (rows <= 0) // no logit rows asked for
    return;
  if (kind == KernelKind::Auto)
    kind = selectedKernel();
  int64_t grain = floatRowGrain(k, rows);
  parallelFor(n, grain, [&](int64_t n0, int64_t n1) {
    if (kind == KernelKind::Portable) {
      for (int64_t m = 0; m < rows; ++m)
        for (int64_t j = n0; j < n1; ++j) {
          float s = 0;
          for (int64_t i = 0; i < k; ++i)
            s += x[m * xStride + i] * float(w[j * wStride + i]);
          out[m * outStride + j] += s;
        }
    } else if (kind == KernelKind::AVX2) {
      avx2I8wDotRows(x, rows, xStride, w, n0, n1, k, wStride, out, outStride);
    } else {
      i8wDotRows(x, rows, xStride, w, n0, n1, k, wStride, out, outStride);
    }
  });
}

namespace {

/// Up to this many elements a row, AVX-512 counts the beaters directly
/// (d^2 / 16 compares) instead of sorting: four radix passes over 256
/// buckets cost more than the compares for short rows (toy models' 128).
constexpr int64_t kCountRankMax = 256;

/// Blocks of 16 elements i held in registers while every j passes by.
constexpr int kRankGroup = 8;

/// The beaten counts of a row of d <= kCountRankMax non-NaN elements.
/// key[j] = bits of |x_j| (non-negative floats order as their bits), padded
/// to a multiple of 16 * kRankGroup. For i in a block before j's block
/// only a larger key beats i; after it an equal key beats too (j < i);
/// within j's block the lanes after j take equality.
BITNET_AVX512F void countRanks(const uint32_t *key, int64_t d, int32_t *out) {
  int64_t blocks = (d + 15) / 16;
  const __m512i one = _mm512_set1_epi32(1);
  for (int64_t g0 = 0; g0 < blocks; g0 += kRankGroup) {
    __m512i ki[kRankGroup], cnt[kRankGroup];
    for (int b = 0; b < kRankGroup; ++b) {
      ki[b] = _mm512_loadu_si512(key + (g0 + b) * 16);
      cnt[b] = _mm512_setzero_si512();
    }
    for (int64_t jb = 0; jb < blocks; ++jb) {
      int64_t jEnd = std::min(d, jb * 16 + 16);
      for (int64_t j = jb * 16; j < jEnd; ++j) {
        __m512i kj = _mm512_set1_epi32(int(key[j]));
        __mmask16 after = __mmask16((0xffffu << (j - jb * 16 + 1)) & 0xffffu);
        for (int b = 0; b < kRankGroup; ++b) {
          int64_t blk = g0 + b;
          __mmask16 m;
          if (blk < jb)
            m = _mm512_cmpgt_epu32_mask(kj, ki[b]);
          else if (blk > jb)
            m = _mm512_cmpge_epu32_mask(kj, ki[b]);
          else
            m = _mm512_cmpgt_epu32_mask(kj, ki[b]) |
                (_mm512_cmpeq_epu32_mask(kj, ki[b]) & after);
          cnt[b] = _mm512_mask_add_epi32(cnt[b], m, cnt[b], one);
        }
      }
    }
    for (int b = 0; b < kRankGroup; ++b) {
      int64_t i0 = (g0 + b) * 16;
      if (i0 >= d)
        break;
      __mmask16 live = d - i0 >= 16 ? __mmask16(0xffff)
                                    : __mmask16((1u << (d - i0)) - 1);
      __m512i o = _mm512_maskz_loadu_epi32(live, out + i0);
      _mm512_mask_storeu_epi32(out + i0, live, _mm512_add_epi32(o, cnt[b]));
    }
  }
}

} // namespace

void bitnet_rt::matmulI8I4W(const int8_t *x, int64_t rows, int64_t xStride,
                            const uint8_t *w, const float *s, int64_t n,
                            int64_t k, int64_t wStride, int64_t sStride,
                            float *out, int64_t outStride, KernelKind kind) {
  if (rows <= 0)
    return;
  if (kind == KernelKind::Auto)
    kind = selectedKernel();
  // x's codes rearranged once for every thread's rows.
  const int64_t bytes = i4ChunkBytes(kind);
  const std::vector<I4Activations> acts =
      bytes ? i4Activations(x, rows, xStride, k / (2 * bytes), bytes)
            : std::vector<I4Activations>();
  int64_t grain = floatRowGrain(k, rows);
  parallelFor(n, grain, [&](int64_t n0, int64_t n1) {
    if (bytes == 64)
      i4wVnniRows(x, rows, xStride, acts, w, s, n0, n1, k, wStride, sStride,
                  out, outStride);
    else if (bytes == 32)
      i4wAvx2Rows(x, rows, xStride, acts, w, s, n0, n1, k, wStride, sStride,
                  out, outStride);
    else
      i4wPortableRows(x, rows, xStride, w, s, n0, n1, k, wStride, sStride,
                      out, outStride);
  });
}

void bitnet_rt::topkRankF32(const float *x, int64_t rows, int64_t xStride,
                            int64_t d, int32_t *rank, int64_t rankStride,
                            KernelKind kind) {
  if (kind == KernelKind::Auto)
    kind = selectedKernel();
  const bool count = d <= kCountRankMax && usesAvx512(kind);
  // ~16 operations an element (key, 4 radix passes, ranks), or d / 8
  // (compares).
  parallelFor(rows, grainFor(count ? d * d / 8 : 16 * d),
              [&](int64_t r0, int64_t r1) {
    const size_t n = static_cast<size_t>(d);
    std::vector<uint32_t> key(count ? 0 : n), idx(count ? 0 : n),
        key2(count ? 0 : n), idx2(count ? 0 : n);
    alignas(64) uint32_t padded[kCountRankMax + 16 * kRankGroup];
    for (int64_t r = r0; r < r1; ++r) {
      const float *xr = x + r * xStride;
      int32_t *out = rank + r * rankStride;
      bool nan = false;
      for (int64_t i = 0; i < d; ++i)
        nan = nan || std::isnan(xr[i]);
      if (nan) {
        for (int64_t i = 0; i < d; ++i)
          for (int64_t j = 0; j < d; ++j) {
            float ai = std::fabs(xr[i]), aj = std::fabs(xr[j]);
            out[i] += (aj > ai) || (aj == ai && j < i);
          }
        continue;
      }
      if (count) {
        for (int64_t i = 0; i < d; ++i) {
          float a = std::fabs(xr[i]);
          std::memcpy(&padded[i], &a, 4);
        }
        std::fill(padded + d, padded + kCountRankMax + 16 * kRankGroup, 0u);
        countRanks(padded, d, out);
        continue;
      }
      // Ranks by a stable LSD radix sort of the bits of |x| (ordered like
      // the non-NaN floats they are), inverted so that larger comes first;
      // entries start in index order, so ties keep the smaller index first.
      // Four byte passes, a pass skipped when all keys share its byte.
      // Measured 2-4x faster than sorting 64-bit (key, index) pairs with
      // std::sort, which had been 22% of a48's prefill.
      for (int64_t i = 0; i < d; ++i) {
        float a = std::fabs(xr[i]);
        uint32_t bits;
        std::memcpy(&bits, &a, 4);
        key[size_t(i)] = ~bits;
        idx[size_t(i)] = uint32_t(i);
      }
      for (int shift = 0; shift < 32; shift += 8) {
        uint32_t count[256] = {};
        for (int64_t i = 0; i < d; ++i)
          ++count[(key[size_t(i)] >> shift) & 255];
        if (count[(key[0] >> shift) & 255] == uint32_t(d))
          continue;
        uint32_t at = 0;
        for (uint32_t &c : count) {
          uint32_t n = c;
          c = at;
          at += n;
        }
        for (int64_t i = 0; i < d; ++i) {
          uint32_t k = key[size_t(i)], p = count[(k >> shift) & 255]++;
          key2[p] = k;
          idx2[p] = idx[size_t(i)];
        }
        key.swap(key2);
        idx.swap(idx2);
      }
      for (int64_t p = 0; p < d; ++p)
        out[idx[size_t(p)]] += int32_t(p);
    }
  });
}


extern "C" void _mlir_ciface_bitnet_ukernel_bitlinear_i8_bits2(
    BitnetUnrankedMemRef *xm, BitnetUnrankedMemRef *wm,
    BitnetUnrankedMemRef *om) {
  cpu_profile::Scope profile("bitlinear_i8_bits2", {xm, wm, om});
  BitLinearOperands a = bitLinearOperands(xm, wm, om, 2);
  if (!a.ok || a.x.sizes[a.x.rank - 1] != 4 || a.w.rank != 2 ||
      a.w.strides[1] != 1)
    badOperands("bitlinear");
  bitlinearI8Bits2(a.x.base, a.rows, a.xStride, a.w.base, a.w.sizes[0],
                   a.x.sizes[a.x.rank - 2], a.w.strides[0], a.out.base,
                   a.outStride);
}

extern "C" void _mlir_ciface_bitnet_ukernel_bitlinear_i8_bits2_gated(
    BitnetUnrankedMemRef *xm, BitnetUnrankedMemRef *wm,
    BitnetUnrankedMemRef *gm, BitnetUnrankedMemRef *om) {
  cpu_profile::Scope profile("bitlinear_i8_bits2_gated", {xm, wm, gm, om});
  BitLinearOperands a = bitLinearOperands(xm, wm, om, 2);
  View<float> g = view<float>(gm);
  int64_t gRows, gStride;
  if (!a.ok || !rowsOf(g, 1, gRows, gStride) || gRows != a.rows ||
      a.x.sizes[a.x.rank - 1] != 4 || a.w.rank != 2 || a.w.strides[1] != 1 ||
      g.sizes[g.rank - 1] != a.w.sizes[0])
    badOperands("gated bitlinear");
  bitlinearI8Bits2Gated(a.x.base, a.rows, a.xStride, a.w.base, a.w.sizes[0],
                        a.x.sizes[a.x.rank - 2], a.w.strides[0], g.base,
                        gStride, a.out.base, a.outStride);
}

namespace {
void matmulEntry(BitnetUnrankedMemRef *xm, BitnetUnrankedMemRef *wm,
                 BitnetUnrankedMemRef *om, bool transposed) {
  View<float> x = view<float>(xm), w = view<float>(wm), o = view<float>(om);
  int64_t rows, xStride, oRows, oStride;
  if (!rowsOf(x, 1, rows, xStride) || !rowsOf(o, 1, oRows, oStride) ||
      rows != oRows || w.rank != 2 || w.strides[1] != 1)
    badOperands("matmul");
  int64_t k = x.sizes[x.rank - 1];
  int64_t n = transposed ? w.sizes[0] : w.sizes[1];
  bitnet_rt::matmulF32(x.base, rows, xStride, w.base, n, k, w.strides[0],
                       transposed, o.base, oStride);
}
} // namespace

extern "C" void _mlir_ciface_bitnet_ukernel_matmul_f32(BitnetUnrankedMemRef *x,
                                                       BitnetUnrankedMemRef *w,
                                                       BitnetUnrankedMemRef *o) {
  cpu_profile::Scope profile("matmul_f32", {x, w, o});
  matmulEntry(x, w, o, /*transposed=*/false);
}

extern "C" void _mlir_ciface_bitnet_ukernel_matmul_f32_nt(BitnetUnrankedMemRef *x,
                                                          BitnetUnrankedMemRef *w,
                                                          BitnetUnrankedMemRef *o) {
  cpu_profile::Scope profile("matmul_f32_nt", {x, w, o});
  matmulEntry(x, w, o, /*transposed=*/true);
}

extern "C" void _mlir_ciface_bitnet_ukernel_bmm_f32(BitnetUnrankedMemRef *am,
                                                    BitnetUnrankedMemRef *bm,
                                                    BitnetUnrankedMemRef *om) {
  cpu_profile::Scope profile("bmm_f32", {am, bm, om});
  View<float> a = view<float>(am), b = view<float>(bm), o = view<float>(om);
  // [batch..., m, k] x [batch..., k, n] -> [batch..., m, n], batch dims equal.
  int64_t r = o.rank;
  bool ok = r >= 2 && a.rank == r && b.rank == r &&
            a.sizes[r - 2] == o.sizes[r - 2] && a.sizes[r - 1] == b.sizes[r - 2] &&
            b.sizes[r - 1] == o.sizes[r - 1];
  int64_t batches = 1;
  for (int64_t d = 0; ok && d + 2 < r; ++d) {
    ok = a.sizes[d] == o.sizes[d] && b.sizes[d] == o.sizes[d];
    batches *= o.sizes[d];
  }
  if (!ok)
    badOperands("batched matmul");
  std::vector<bitnet_rt::StridedMatrix> ma, mb, mo;
  ma.reserve(size_t(batches));
  mb.reserve(size_t(batches));
  mo.reserve(size_t(batches));
  for (int64_t bi = 0; bi < batches; ++bi) {
    int64_t offA = 0, offB = 0, offO = 0, rest = bi;
    for (int64_t d = r - 3; d >= 0; --d) {
      int64_t i = rest % o.sizes[d];
      rest /= o.sizes[d];
      offA += i * a.strides[d];
      offB += i * b.strides[d];
      offO += i * o.strides[d];
    }
    ma.push_back({a.base + offA, a.strides[r - 2], a.strides[r - 1]});
    mb.push_back({b.base + offB, b.strides[r - 2], b.strides[r - 1]});
    mo.push_back({o.base + offO, o.strides[r - 2], o.strides[r - 1]});
  }
  bitnet_rt::batchedMatmulF32(ma.data(), mb.data(), mo.data(), batches,
                              o.sizes[r - 2], o.sizes[r - 1], a.sizes[r - 1]);
}

extern "C" void _mlir_ciface_bitnet_ukernel_matmul_f32_i8w_nt(
    BitnetUnrankedMemRef *xm, BitnetUnrankedMemRef *wm,
    BitnetUnrankedMemRef *om) {
  cpu_profile::Scope profile("matmul_f32_i8w_nt", {xm, wm, om});
  View<float> x = view<float>(xm), o = view<float>(om);
  View<int8_t> w = view<int8_t>(wm);
  int64_t rows, xStride, oRows, oStride;
  if (!rowsOf(x, 1, rows, xStride) || !rowsOf(o, 1, oRows, oStride) ||
      rows != oRows || w.rank != 2 || w.strides[1] != 1)
    badOperands("int8 LM head");
  bitnet_rt::matmulF32I8W(x.base, rows, xStride, w.base, w.sizes[0],
                          x.sizes[x.rank - 1], w.strides[0], o.base, oStride);
}

extern "C" void _mlir_ciface_bitnet_ukernel_matmul_i8_i4w_nt(
    BitnetUnrankedMemRef *xm, BitnetUnrankedMemRef *wm,
    BitnetUnrankedMemRef *sm, BitnetUnrankedMemRef *om) {
  cpu_profile::Scope profile("matmul_i8_i4w_nt", {xm, wm, sm, om});
  View<int8_t> x = view<int8_t>(xm);
  View<float> s = view<float>(sm), o = view<float>(om);
  View<uint8_t> w = view<uint8_t>(wm);
  int64_t rows, xStride, oRows, oStride;
  if (!rowsOf(x, 1, rows, xStride) || !rowsOf(o, 1, oRows, oStride) ||
      rows != oRows || w.rank != 2 || w.strides[1] != 1 || s.rank != 2 ||
      s.strides[1] != 1)
    badOperands("int4 LM head");
  int64_t k = x.sizes[x.rank - 1], n = w.sizes[0];
  if (k % kI4Group != 0 || w.sizes[1] * 2 != k || s.sizes[0] != n ||
      s.sizes[1] * kI4Group != k || o.sizes[o.rank - 1] != n)
    badOperands("int4 LM head");
  bitnet_rt::matmulI8I4W(x.base, rows, xStride, w.base, s.base, n, k,
                         w.strides[0], s.strides[0], o.base, oStride);
}

extern "C" void _mlir_ciface_bitnet_ukernel_topk_rank_f32(
    BitnetUnrankedMemRef *xm, BitnetUnrankedMemRef *x2m, BitnetUnrankedMemRef *om) {
  cpu_profile::Scope profile("topk_rank_f32", {xm, x2m, om});
  View<float> x = view<float>(xm);
  View<int32_t> o = view<int32_t>(om);
  int64_t rows, xStride, oRows, oStride;
  if (!rowsOf(x, 1, rows, xStride) || !rowsOf(o, 1, oRows, oStride) ||
      rows != oRows)
    badOperands("topk");
  bitnet_rt::topkRankF32(x.base, rows, xStride, x.sizes[x.rank - 1], o.base,
                         oStride);
}
