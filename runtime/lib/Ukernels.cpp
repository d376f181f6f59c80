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
#include "bitnet/Runtime/CpuFeatures.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <immintrin.h>
#include <mutex>
#include <thread>
#include <vector>

using namespace bitnet_rt;

namespace {

/// A fixed pool; run(n, fn) calls fn(begin, end) on disjoint ranges.
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
      ++generation;
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
    std::unique_lock<std::mutex> lock(mu);
    job = &fn;
    total = n;
    jobParts = parts;
    pending = parts - 1;
    ++generation;
    lock.unlock();
    cv.notify_all();
    fn(0, n / parts); // part 0 on the caller
    lock.lock();
    done.wait(lock, [&] { return pending == 0; });
    job = nullptr;
  }

private:
  void loop(int index) {
    uint64_t seen = 0;
    for (;;) {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return generation != seen; });
      seen = generation;
      if (stop)
        return;
      if (!job || index >= jobParts)
        continue;
      const auto *fn = job;
      int64_t n = total, parts = jobParts;
      lock.unlock();
      (*fn)(n * index / parts, n * (index + 1) / parts);
      lock.lock();
      if (--pending == 0)
        done.notify_one();
    }
  }
  int count;
  std::vector<std::thread> workers;
  std::mutex mu;
  std::condition_variable cv, done;
  const std::function<void(int64_t, int64_t)> *job = nullptr;
  int64_t total = 0;
  int jobParts = 0, pending = 0;
  uint64_t generation = 0;
  bool stop = false;
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

void portableRows(const int8_t *x, int64_t rows, int64_t xStride,
                  const uint8_t *w, int64_t n0, int64_t n1, int64_t kq,
                  int64_t wStride, int32_t *out, int64_t outStride) {
  for (int64_t m = 0; m < rows; ++m) {
    const int8_t *xr = x + m * xStride;
    for (int64_t n = n0; n < n1; ++n) {
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

constexpr int64_t kBlock = 64; // packed bytes per vector
constexpr int kRowBlock = 4;   // rows sharing one weight load

#define BITNET_VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))

/// One 64-byte block of packed weights against rb rows' planes at kq = q.
BITNET_VNNI inline void vnniStep(__m512i packed, int64_t q, const int8_t *planes,
                                 int64_t m0, int rb, int64_t kqPad,
                                 __m512i *acc) {
  const __m512i three = _mm512_set1_epi8(3);
  for (int j = 0; j < 4; ++j) {
    __m512i v = _mm512_and_si512(_mm512_srli_epi16(packed, 2 * j), three);
    for (int r = 0; r < rb; ++r) {
      const int8_t *plane = planes + ((m0 + r) * 4 + j) * kqPad;
      acc[r] = _mm512_dpbusd_epi32(acc[r], v, _mm512_loadu_si512(plane + q));
    }
  }
}

BITNET_VNNI void vnniRows(const int8_t *planes, const int32_t *sums,
                          int64_t rows, int64_t kqPad, const uint8_t *w,
                          int64_t n0, int64_t n1, int64_t kq, int64_t wStride,
                          int32_t *out, int64_t outStride) {
  int64_t full = kq / kBlock * kBlock;
  __mmask64 tail = kq == full ? 0 : (~0ull >> (64 - (kq - full)));
  for (int64_t m0 = 0; m0 < rows; m0 += kRowBlock) {
    int rb = int(std::min<int64_t>(kRowBlock, rows - m0));
    for (int64_t n = n0; n < n1; ++n) {
      const uint8_t *wr = w + n * wStride;
      __m512i acc[kRowBlock];
      for (int r = 0; r < kRowBlock; ++r)
        acc[r] = _mm512_setzero_si512();
      for (int64_t q = 0; q < full; q += kBlock)
        vnniStep(_mm512_loadu_si512(wr + q), q, planes, m0, rb, kqPad, acc);
      if (tail)
        vnniStep(_mm512_maskz_loadu_epi8(tail, wr + full), full, planes, m0, rb,
                 kqPad, acc);
      for (int r = 0; r < rb; ++r)
        out[(m0 + r) * outStride + n] +=
            _mm512_reduce_add_epi32(acc[r]) - sums[m0 + r];
    }
  }
}

} // namespace

KernelKind bitnet_rt::selectedKernel() {
  static KernelKind kind = [] {
    if (const char *env = std::getenv("BITNET_UKERNEL"))
      if (std::strcmp(env, "portable") == 0)
        return KernelKind::Portable;
    std::set<std::string> host = hostCpuFeatures();
    return host.count("avx512vnni") && host.count("avx512bw")
               ? KernelKind::AVX512VNNI
               : KernelKind::Portable;
  }();
  return kind;
}

int bitnet_rt::kernelThreads() { return pool().size(); }

void bitnet_rt::bitlinearI8Bits2(const int8_t *x, int64_t rows, int64_t xStride,
                                 const uint8_t *w, int64_t n, int64_t kq,
                                 int64_t wStride, int32_t *out,
                                 int64_t outStride, KernelKind kind) {
  if (kind == KernelKind::Auto)
    kind = selectedKernel();
  // Enough work per thread to pay for waking it.
  int64_t grain = std::max<int64_t>(16, (1 << 16) / std::max<int64_t>(1, kq * rows));
  if (kind == KernelKind::Portable) {
    pool().run(n, grain, [&](int64_t n0, int64_t n1) {
      portableRows(x, rows, xStride, w, n0, n1, kq, wStride, out, outStride);
    });
    return;
  }
  int64_t kqPad = (kq + kBlock - 1) / kBlock * kBlock;
  std::vector<int8_t> planes(size_t(rows * 4 * kqPad), 0);
  std::vector<int32_t> sums(size_t(rows), 0);
  for (int64_t m = 0; m < rows; ++m) {
    const int8_t *xr = x + m * xStride;
    int32_t s = 0;
    for (int64_t q = 0; q < kq; ++q)
      for (int j = 0; j < 4; ++j) {
        planes[size_t((m * 4 + j) * kqPad + q)] = xr[4 * q + j];
        s += xr[4 * q + j];
      }
    sums[m] = s;
  }
  pool().run(n, grain, [&](int64_t n0, int64_t n1) {
    vnniRows(planes.data(), sums.data(), rows, kqPad, w, n0, n1, kq, wStride,
             out, outStride);
  });
}

namespace {
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
} // namespace

extern "C" void _mlir_ciface_bitnet_ukernel_bitlinear_i8_bits2(
    BitnetUnrankedMemRef *xm, BitnetUnrankedMemRef *wm,
    BitnetUnrankedMemRef *om) {
  View<int8_t> x = view<int8_t>(xm);
  View<uint8_t> w = view<uint8_t>(wm);
  View<int32_t> o = view<int32_t>(om);
  int64_t lead = x.rank - 2;
  int64_t kq = x.sizes[lead], n = w.sizes[0];
  // Rows: the lead dimensions, which the compiler emits contiguous.
  int64_t rows = 1;
  for (int64_t d = 0; d < lead; ++d)
    rows *= x.sizes[d];
  int64_t xStride = lead ? x.strides[lead - 1] : 0;
  int64_t oStride = lead ? o.strides[lead - 1] : 0;
  bool contiguous = x.strides[lead + 1] == 1 && x.strides[lead] == 4 &&
                    w.strides[1] == 1 && o.strides[lead] == 1;
  for (int64_t d = 0; d + 1 < lead; ++d)
    contiguous = contiguous && x.strides[d] == x.sizes[d + 1] * x.strides[d + 1] &&
                 o.strides[d] == o.sizes[d + 1] * o.strides[d + 1];
  if (!contiguous) {
    // Never emitted by the compiler; fail loudly rather than read wrongly.
    std::fprintf(stderr, "bitnet runtime: bitlinear kernel on non-contiguous "
                         "memrefs\n");
    std::abort();
  }
  bitlinearI8Bits2(x.base, rows, xStride, w.base, n, kq, w.strides[0], o.base,
                   oStride);
}
