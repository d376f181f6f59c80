//===- kernels.cpp - Ternary GEMV/GEMM kernels vs the DRAM read bound -----===//
//
// bitnet-bench-kernels: measures, in one run on this machine,
//   - DRAM read bandwidth (a 1 GiB buffer summed with AVX-512 / SSE, 1 thread
//     and all threads; the best of several passes),
//   - the runtime's BitLinear kernel (what compiled models call) at the
//     BitNet b1.58 2B4T shapes, M = 1 (decode GEMV) and M = 16 (a prefill
//     chunk), cycling through >= 512 MiB of weight copies so that every call
//     reads its weights from DRAM (mean time per call),
// and prints, per shape, time, packed-weight GB/s and the fraction of the
// measured bandwidth (bytes our kernel must read / time). The kernels use
// BITNET_NUM_THREADS threads (default: all cores); bench/run.py runs this
// once with 1 and once with all. Machine-readable lines start with "RESULT".
//
//===----------------------------------------------------------------------===//

#include "bitnet/Runtime/CpuFeatures.h"
#include "bitnet/Runtime/Ukernels.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <immintrin.h>
#include <random>
#include <string>
#include <thread>
#include <vector>

using Clock = std::chrono::steady_clock;

namespace {

__attribute__((target("avx512f"))) uint64_t sumAvx512(const uint64_t *p,
                                                      size_t n) {
  __m512i a = _mm512_setzero_si512(), b = a, c = a, d = a;
  for (size_t i = 0; i + 32 <= n; i += 32) {
    a = _mm512_add_epi64(a, _mm512_load_si512(p + i));
    b = _mm512_add_epi64(b, _mm512_load_si512(p + i + 8));
    c = _mm512_add_epi64(c, _mm512_load_si512(p + i + 16));
    d = _mm512_add_epi64(d, _mm512_load_si512(p + i + 24));
  }
  return _mm512_reduce_add_epi64(
      _mm512_add_epi64(_mm512_add_epi64(a, b), _mm512_add_epi64(c, d)));
}

uint64_t sumPortable(const uint64_t *p, size_t n) {
  uint64_t s = 0;
  for (size_t i = 0; i < n; ++i)
    s += p[i];
  return s;
}

/// GB/s reading `bytes` with `threads` threads, best of `passes`.
double readBandwidth(const uint64_t *buf, size_t bytes, int threads, int passes,
                     bool avx512) {
  size_t words = bytes / 8;
  double best = 0;
  volatile uint64_t sink = 0;
  for (int p = 0; p < passes; ++p) {
    std::vector<uint64_t> partial(threads);
    auto t0 = Clock::now();
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&, t] {
        size_t b = words * t / threads / 32 * 32, e = words * (t + 1) / threads / 32 * 32;
        partial[t] = avx512 ? sumAvx512(buf + b, e - b) : sumPortable(buf + b, e - b);
      });
    for (auto &t : ts)
      t.join();
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    for (uint64_t v : partial)
      sink = sink + v;
    best = std::max(best, double(bytes) / s / 1e9);
  }
  return best;
}

struct ShapeSpec {
  const char *name;
  int64_t n, k;
};

} // namespace

int main(int argc, char **argv) {
  int threadsAll = bitnet_rt::kernelThreads();
  bool avx512 = bitnet_rt::hostCpuFeatures().count("avx512f");
  size_t bufBytes = size_t(1) << 30;
  if (argc > 1)
    bufBytes = size_t(std::atoll(argv[1])) << 20;
  uint64_t *buf = static_cast<uint64_t *>(std::aligned_alloc(64, bufBytes));
  for (size_t i = 0; i < bufBytes / 8; ++i)
    buf[i] = i * 0x9e3779b97f4a7c15ull;
  double bw1 = readBandwidth(buf, bufBytes, 1, 5, avx512);
  double bwAll = readBandwidth(buf, bufBytes, threadsAll, 5, avx512);
  std::free(buf);
  const char *kernel = bitnet_rt::selectedKernel() == bitnet_rt::KernelKind::AVX512VNNI
                           ? "avx512-vnni"
                           : "portable";
  std::printf("DRAM read bandwidth: %.2f GB/s (1 thread), %.2f GB/s (%d "
              "threads); kernel: %s\n",
              bw1, bwAll, threadsAll, kernel);
  std::printf("RESULT bandwidth 1 %.3f\nRESULT bandwidth %d %.3f\n", bw1,
              threadsAll, bwAll);

  // BitNet b1.58 2B4T: hidden 2560, FFN 6912, 20 heads + 5 KV heads of 128.
  const ShapeSpec shapes[] = {{"qkv", 3840, 2560},
                              {"o", 2560, 2560},
                              {"gate_up", 13824, 2560},
                              {"down", 2560, 6912}};
  std::mt19937 rng(7);
  std::printf("%-8s %4s %7s %10s %10s %9s %12s\n", "shape", "M", "threads",
              "us/call", "GB/s", "% of BW", "GOPS");
  for (const ShapeSpec &s : shapes) {
    int64_t kq = s.k / 4;
    // Enough copies of the weights (>= 512 MiB) that each call reads them
    // from DRAM, as decode does (every layer's weights once per token).
    size_t bytesW = size_t(s.n * kq);
    size_t copies = std::max<size_t>(2, (size_t(512) << 20) / bytesW);
    std::vector<uint8_t> w(bytesW * copies);
    for (uint8_t &b : w) {
      // Trits in {0, 1, 2} per field (a real layout, no 3s).
      uint8_t v = 0;
      for (int j = 0; j < 4; ++j)
        v |= uint8_t(rng() % 3) << (2 * j);
      b = v;
    }
    for (int64_t m : {int64_t(1), int64_t(16)}) {
      std::vector<int8_t> x(size_t(m * s.k));
      for (int8_t &v : x)
        v = int8_t(int(rng() % 255) - 127);
      std::vector<int32_t> out(size_t(m * s.n));
      double best = 1e30;
      int iters = int(std::min<size_t>(copies, m == 1 ? 200 : 40));
      auto t0 = Clock::now();
      for (int it = 0; it < iters; ++it)
        bitnet_rt::bitlinearI8Bits2(x.data(), m, s.k, w.data() + bytesW * it,
                                    s.n, kq, kq, out.data(), s.n);
      best = std::chrono::duration<double>(Clock::now() - t0).count() / iters;
      double bytes = double(bytesW) + double(x.size());
      double gbs = bytes / best / 1e9;
      double bw = threadsAll == 1 ? bw1 : bwAll;
      double gops = 2.0 * double(m) * double(s.n) * double(s.k) / best / 1e9;
      std::printf("%-8s %4lld %7d %10.1f %10.2f %8.1f%% %12.1f\n", s.name,
                  (long long)m, threadsAll, best * 1e6, gbs, 100.0 * gbs / bw,
                  gops);
      std::printf("RESULT kernel %s %lld %d %.3f %.3f\n", s.name, (long long)m,
                  threadsAll, best * 1e6, gbs);
    }
  }
  return 0;
}
