//===- kernels.cpp - Ternary GEMV/GEMM kernels vs the DRAM read bound -----===//
//
// bitnet-bench-kernels: measures, in one run on this machine,
//   - DRAM read bandwidth (a 1 GiB buffer summed with AVX-512 / AVX2, 1 thread
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
// Then the a4.8 FFN decode step (M = 1) at 2B4T shapes, dense against
// sparse, at given sparsities (`--sparsity LABEL:GATE:DOWN`, repeatable;
// default: the paper's 67.5% closed gates and 80% zero down inputs):
//   dense  = gate+up (13824 x 2560) + down (2560 x 6912), row kernels;
//   sparse = gate (6912 x 2560) + gate-first up (6912 x 2560, rows of open
//            gates only) + down over non-zero inputs (bits2_cols),
// and the TopK-50% output projection (2560 x 2560) dense vs columns.
// Zeros are placed at random; weights cycle through >= 512 MiB as above.
//
// Then the prefill GEMM (M = 16, 64, 256) at the same shapes on every
// AVX-512 kernel the CPU has: the VNNI row kernel against the AMX tile
// kernel (where the CPU has AMX-INT8), and the same for the column kernel
// of the sparse down (80% zeros a row) and output (50%) projections, each
// call on weights from DRAM, and the ratio (`--prefill-only` runs this
// part alone).
//
// Last, decode attention over a full KV cache of 512 and 2048 positions at
// 2B4T shapes, with f32, f16, q4 and q3 (4-/3-bit codes + row scales)
// caches.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Runtime/CpuFeatures.h"
#include "bitnet/Runtime/Ukernels.h"
#include "bitnet/Support/TernaryPacking.h"

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

__attribute__((target("avx2"))) uint64_t sumAvx2(const uint64_t *p, size_t n) {
  __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
  for (size_t i = 0; i + 16 <= n; i += 16) {
    const __m256i *v = reinterpret_cast<const __m256i *>(p + i);
    a = _mm256_add_epi64(a, _mm256_load_si256(v));
    b = _mm256_add_epi64(b, _mm256_load_si256(v + 1));
    c = _mm256_add_epi64(c, _mm256_load_si256(v + 2));
    d = _mm256_add_epi64(d, _mm256_load_si256(v + 3));
  }
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i *>(lanes),
                     _mm256_add_epi64(_mm256_add_epi64(a, b), _mm256_add_epi64(c, d)));
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

uint64_t sumPortable(const uint64_t *p, size_t n) {
  uint64_t s = 0;
  for (size_t i = 0; i < n; ++i)
    s += p[i];
  return s;
}

/// GB/s reading `bytes` with `threads` threads, best of `passes`.
double readBandwidth(const uint64_t *buf, size_t bytes, int threads, int passes,
                     bool avx512, bool avx2) {
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
        partial[t] = avx512 ? sumAvx512(buf + b, e - b)
                     : avx2 ? sumAvx2(buf + b, e - b)
                            : sumPortable(buf + b, e - b);
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

/// BitNet b1.58 2B4T's BitLinear shapes: hidden 2560, FFN 6912, 20 heads +
/// 5 KV heads of 128 (q/k/v and gate/up stacked).
const ShapeSpec k2B4TShapes[] = {{"qkv", 3840, 2560},
                                 {"o", 2560, 2560},
                                 {"gate_up", 13824, 2560},
                                 {"down", 2560, 6912}};

/// Random packed bytes (every field a valid code 0..2).
void randomPacked(std::vector<uint8_t> &w, std::mt19937 &rng) {
  for (uint8_t &b : w) {
    uint8_t v = 0;
    for (int j = 0; j < 4; ++j)
      v |= uint8_t(rng() % 3) << (2 * j);
    b = v;
  }
}

/// Copies of one weight matrix's bytes, enough (>= 512 MiB over all the
/// matrices of a step) that each step reads DRAM.
struct Cycled {
  std::vector<uint8_t> bytes;
  size_t one = 0;
  const uint8_t *at(size_t i) const { return bytes.data() + one * i; }
};

Cycled cycled(size_t one, size_t copies, std::mt19937 &rng) {
  Cycled c;
  c.one = one;
  c.bytes.resize(one * copies);
  randomPacked(c.bytes, rng);
  return c;
}

std::vector<int8_t> sparseCodes(int64_t k, double zeros, std::mt19937 &rng) {
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<int8_t> x(static_cast<size_t>(k));
  for (int8_t &v : x) {
    int c = int(rng() % 255) - 127;
    v = int8_t(u(rng) < zeros || c == 0 ? 0 : c);
  }
  return x;
}

/// The fastest of `iters` calls (after a warm-up): this VM's neighbours
/// make single calls of tens of milliseconds vary by +-50%.
template <typename Fn> double bestSeconds(int iters, Fn fn) {
  fn(0);
  double best = 1e30;
  for (int it = 0; it < iters; ++it) {
    auto t0 = Clock::now();
    fn(it + 1);
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}

template <typename Fn> double meanSeconds(int iters, Fn fn) {
  fn(0); // warm the code and the thread pool
  auto t0 = Clock::now();
  for (int it = 0; it < iters; ++it)
    fn(it + 1);
  return std::chrono::duration<double>(Clock::now() - t0).count() / iters;
}

/// One a4.8 FFN decode step, dense vs sparse, at `gateClosed` / `downZero`.
void benchFfn(const char *label, double gateClosed, double downZero,
              int threads, std::mt19937 &rng) {
  using namespace bitnet_rt;
  const int64_t hidden = 2560, ffn = 6912;
  const int64_t kqH = hidden / 4, kqF = ffn / 4;
  const size_t gateBytes = size_t(ffn * kqH), downBytes = size_t(hidden * kqF);
  const size_t colsBytes = size_t(ternary::colBlocks(hidden) * ffn *
                                  ternary::kColBlockBytes);
  const size_t copies = std::max<size_t>(
      4, (size_t(768) << 20) / (2 * gateBytes + downBytes + colsBytes));
  // gate and up side by side as the dense kernel reads them (13824 rows).
  Cycled gateUp = cycled(2 * gateBytes, copies + 1, rng);
  Cycled down = cycled(downBytes, copies + 1, rng);
  Cycled downCols = cycled(colsBytes, copies + 1, rng);
  std::vector<int8_t> x = sparseCodes(hidden, 0.0, rng);
  std::vector<int8_t> h = sparseCodes(ffn, downZero, rng);
  std::uniform_real_distribution<float> u(0, 1);
  std::vector<float> gate(static_cast<size_t>(ffn));
  for (float &g : gate)
    g = u(rng) < gateClosed ? -1.0f : 1.0f;
  std::vector<int32_t> out(static_cast<size_t>(2 * ffn));
  std::vector<int32_t> outD(static_cast<size_t>(hidden));
  int iters = int(copies);
  // Each kernel of both forms as a step of call i (its own weight copy);
  // the forms are their sums, and each kernel is timed alone as well.
  auto denseGateUp = [&](int i) {
    bitlinearI8Bits2(x.data(), 1, hidden, gateUp.at(size_t(i)), 2 * ffn, kqH,
                     kqH, out.data(), 2 * ffn);
  };
  auto denseDownStep = [&](int i) {
    bitlinearI8Bits2(h.data(), 1, ffn, down.at(size_t(i)), hidden, kqF, kqF,
                     outD.data(), hidden);
  };
  auto sparseGateStep = [&](int i) {
    bitlinearI8Bits2(x.data(), 1, hidden, gateUp.at(size_t(i)), ffn, kqH, kqH,
                     out.data(), ffn);
  };
  auto sparseUpStep = [&](int i) {
    bitlinearI8Bits2Gated(x.data(), 1, hidden, gateUp.at(size_t(i)) + gateBytes,
                          ffn, kqH, kqH, gate.data(), ffn, out.data() + ffn,
                          ffn);
  };
  auto sparseDownStep = [&](int i) {
    bitlinearI8Bits2Cols(h.data(), 1, ffn, ffn, downCols.at(size_t(i)), hidden,
                         outD.data(), hidden);
  };
  double dense = meanSeconds(iters, [&](int i) {
    denseGateUp(i);
    denseDownStep(i);
  });
  double sparse = meanSeconds(iters, [&](int i) {
    sparseGateStep(i);
    sparseUpStep(i);
    sparseDownStep(i);
  });
  // Where the time goes: each kernel alone.
  double denseDown = meanSeconds(iters, denseDownStep);
  double sparseGate = meanSeconds(iters, sparseGateStep);
  double sparseUp = meanSeconds(iters, sparseUpStep);
  double sparseDown = meanSeconds(iters, sparseDownStep);
  std::printf("  parts (us): dense gate+up %.1f, down %.1f; sparse gate %.1f, "
              "gated up %.1f, down over non-zero columns %.1f\n",
              (dense - denseDown) * 1e6, denseDown * 1e6, sparseGate * 1e6,
              sparseUp * 1e6, sparseDown * 1e6);
  // Bytes each must read: all packed rows; open rows; one 64-byte line per
  // non-zero input column and 256-row block.
  int64_t open = 0, nonzero = 0;
  for (float g : gate)
    open += g > 0;
  for (int8_t v : h)
    nonzero += v != 0;
  double denseBytes = double(2 * gateBytes + downBytes);
  double sparseBytes = double(gateBytes) + double(open * kqH) +
                       double(nonzero * ternary::colBlocks(hidden) *
                              ternary::kColBlockBytes);
  std::printf("ffn %-8s gate closed %5.1f%% down zero %5.1f%% threads %d: "
              "dense %8.1f us (%.1f MB) sparse %8.1f us (%.1f MB) -> %.2fx\n",
              label, 100 * gateClosed, 100 * downZero, threads, dense * 1e6,
              denseBytes / 1e6, sparse * 1e6, sparseBytes / 1e6,
              dense / sparse);
  std::printf("RESULT ffn %s %.4f %.4f %d %.3f %.3f\n", label, gateClosed,
              downZero, threads, dense * 1e6, sparse * 1e6);
}

/// The TopK-50% output projection: dense rows vs non-zero columns.
void benchTopKOut(double zero, int threads, std::mt19937 &rng) {
  using namespace bitnet_rt;
  const int64_t n = 2560, k = 2560, kq = k / 4;
  size_t rowBytes = size_t(n * kq);
  size_t colBytes = size_t(ternary::colBlocks(n) * k * ternary::kColBlockBytes);
  size_t copies = std::max<size_t>(4, (size_t(512) << 20) / (rowBytes + colBytes));
  Cycled rows = cycled(rowBytes, copies + 1, rng);
  Cycled cols = cycled(colBytes, copies + 1, rng);
  std::vector<int8_t> x = sparseCodes(k, zero, rng);
  std::vector<int32_t> out(static_cast<size_t>(n));
  int iters = int(copies);
  double dense = meanSeconds(iters, [&](int i) {
    bitlinearI8Bits2(x.data(), 1, k, rows.at(size_t(i)), n, kq, kq, out.data(),
                     n);
  });
  double sparse = meanSeconds(iters, [&](int i) {
    bitlinearI8Bits2Cols(x.data(), 1, k, k, cols.at(size_t(i)), n, out.data(),
                         n);
  });
  std::printf("out-proj zero %5.1f%% threads %d: dense %8.1f us sparse %8.1f us "
              "-> %.2fx\n",
              100 * zero, threads, dense * 1e6, sparse * 1e6, dense / sparse);
  std::printf("RESULT oproj %.4f %d %.3f %.3f\n", zero, threads, dense * 1e6,
              sparse * 1e6);
}

/// MLIR's ranked memref descriptor, row-major, for the kernels' C interface.
struct Memref {
  std::vector<int64_t> words; // allocated, aligned, offset, sizes, strides
  BitnetUnrankedMemRef ref;
  Memref(const void *p, std::vector<int64_t> sizes) {
    int64_t rank = int64_t(sizes.size());
    words.assign(size_t(3 + 2 * rank), 0);
    std::memcpy(&words[0], &p, sizeof(p));
    std::memcpy(&words[1], &p, sizeof(p));
    int64_t stride = 1;
    for (int64_t d = rank - 1; d >= 0; --d) {
      words[size_t(3 + d)] = sizes[size_t(d)];
      words[size_t(3 + rank + d)] = stride;
      stride *= sizes[size_t(d)];
    }
    ref = {rank, words.data()};
  }
};

/// One row of the prefill table: the VNNI time, and the AMX time with its
/// rate and ratio where `amx` (us[1]); and its RESULT line.
void printPrefillRow(const char *name, int64_t m, int threads,
                     const double (&us)[2], bool amx, double macs) {
  char amxUs[32] = "-", amxRate[32] = "-", ratio[32] = "-";
  if (amx) {
    std::snprintf(amxUs, sizeof amxUs, "%.1f", us[1]);
    std::snprintf(amxRate, sizeof amxRate, "%.1f", macs / us[1] / 1e3);
    std::snprintf(ratio, sizeof ratio, "%.2fx", us[0] / us[1]);
  }
  std::printf("%-9s %4lld %7d %12.1f %12.1f %12s %12s %8s\n", name,
              (long long)m, threads, us[0], macs / us[0] / 1e3, amxUs, amxRate,
              ratio);
  std::printf("RESULT prefill %s %lld %d %.3f %.3f\n", name, (long long)m,
              threads, us[0], amx ? us[1] : 0.0);
}

/// The prefill GEMM at 2B4T shapes: the VNNI row kernel against the AMX
/// tile kernel on the same calls (weights from DRAM, mean of the calls).
void benchPrefill(int threads, std::mt19937 &rng) {
  using namespace bitnet_rt;
  std::vector<KernelKind> kinds;
  for (KernelKind k : availableKernels())
    if (k == KernelKind::AVX512VNNI || k == KernelKind::AMX)
      kinds.push_back(k);
  if (kinds.empty()) {
    std::printf("prefill GEMM: no AVX-512 VNNI on this CPU, skipped\n");
    return;
  }
  if (kinds.back() != KernelKind::AMX)
    std::printf("prefill GEMM: no AMX-INT8 on this CPU (or the OS did not "
                "grant the tile state); VNNI only\n");
  std::printf("%-9s %4s %7s %12s %12s %12s %12s %8s\n", "shape", "M",
              "threads", "vnni us", "vnni GMAC/s", "amx us", "amx GMAC/s",
              "amx/vnni");
  for (const ShapeSpec &s : k2B4TShapes) {
    int64_t kq = s.k / 4;
    size_t bytesW = size_t(s.n * kq);
    size_t copies = std::max<size_t>(2, (size_t(256) << 20) / bytesW);
    Cycled w = cycled(bytesW, copies, rng);
    for (int64_t m : {int64_t(16), int64_t(64), int64_t(256)}) {
      std::vector<int8_t> x(size_t(m * s.k));
      for (int8_t &v : x)
        v = int8_t(int(rng() % 255) - 127);
      std::vector<int32_t> out(size_t(m * s.n));
      int iters = int(std::min<size_t>(copies, m >= 256 ? 8 : 24));
      double us[2] = {0, 0};
      for (size_t i = 0; i < kinds.size(); ++i)
        us[i] = 1e6 * meanSeconds(iters, [&](int it) {
                  bitlinearI8Bits2(x.data(), m, s.k, w.at(size_t(it) % copies),
                                   s.n, kq, kq, out.data(), s.n, kinds[i]);
                });
      printPrefillRow(s.name, m, threads, us, kinds.size() == 2,
                      double(m) * double(s.n) * double(s.k));
    }
  }
  // The column kernels (sparse kernels' down and output projections) at
  // prefill: per-row zeros at the paper's rates, so the union over the rows
  // (the columns read) is nearly dense.
  const struct {
    const char *name;
    int64_t n, k;
    double zeros;
  } colShapes[] = {{"down_cols", 2560, 6912, 0.80}, {"o_cols", 2560, 2560, 0.50}};
  for (const auto &s : colShapes) {
    size_t bytesW = size_t(ternary::colBlocks(s.n) * s.k * ternary::kColBlockBytes);
    size_t copies = std::max<size_t>(2, (size_t(256) << 20) / bytesW);
    Cycled w = cycled(bytesW, copies, rng);
    for (int64_t m : {int64_t(16), int64_t(64), int64_t(256)}) {
      std::vector<int8_t> x;
      for (int64_t r = 0; r < m; ++r) {
        std::vector<int8_t> row = sparseCodes(s.k, s.zeros, rng);
        x.insert(x.end(), row.begin(), row.end());
      }
      std::vector<int32_t> out(size_t(m * s.n));
      int iters = int(std::min<size_t>(copies, m >= 256 ? 8 : 24));
      double us[2] = {0, 0};
      for (size_t i = 0; i < kinds.size(); ++i)
        us[i] = 1e6 * meanSeconds(iters, [&](int it) {
                  bitlinearI8Bits2Cols(x.data(), m, s.k, s.k,
                                       w.at(size_t(it) % copies), s.n,
                                       out.data(), s.n, kinds[i]);
                });
      printPrefillRow(s.name, m, threads, us, kinds.size() == 2,
                      double(m) * double(s.n) * double(s.k));
    }
  }
}

/// Decode attention against a full KV cache of `context` positions at 2B4T
/// shapes (20 heads, 5 KV heads of 128, 30 layers), the cache as f32, f16,
/// q4 and q3 (4- or 3-bit codes + a scale per row): one decode step's
/// scores and
/// P V over every layer's K and V (each layer's cache read once, from DRAM
/// for the larger caches, as decode does); the best of 15 steps.
void benchAttention(int64_t context, int threads) {
  const int64_t layers = 30, heads = 20, kvHeads = 5, dim = 128;
  std::vector<float> q(size_t(heads * dim), 0.01f), scores(size_t(heads * context)),
      probs(size_t(heads * context), 1.0f / float(context)),
      out(size_t(heads * dim));
  int64_t start = context;
  Memref qm(q.data(), {1, heads, 1, dim}), sm(scores.data(), {1, heads, 1, context}),
      pm(probs.data(), {1, heads, 1, context}), om(out.data(), {1, heads, 1, dim}),
      startm(&start, {});
  int32_t offsets[2] = {8, 8}, offsets3[2] = {4, 8};
  Memref offm(offsets, {2}), off3(offsets3, {2});
  struct Storage {
    const char *name;
    int64_t row, elementBytes;
  } storages[] = {{"f32", dim, 4},
                  {"f16", dim, 2},
                  {"q4", dim / 2 + 4, 1},
                  {"q3", 3 * dim / 8 + 4, 1}};
  double f32Seconds = 0;
  for (const Storage &st : storages) {
    bool q3 = std::string(st.name) == "q3";
    // A q3 cache has one more row per head: the BOS row's fourth plane.
    int64_t rows = context + (q3 ? 1 : 0);
    size_t one = size_t(kvHeads * rows * st.row * st.elementBytes);
    std::vector<uint8_t> cache(one * size_t(2 * layers));
    for (size_t i = 0; i < cache.size(); i += 4) {
      // Finite values in every storage: f32 0.5, f16 pairs of 1.0, q4
      // codes with a scale of 0.5 where the scale lies.
      uint32_t word = st.elementBytes == 4 ? 0x3f000000u
                      : st.elementBytes == 2 ? 0x3c003c00u
                                             : 0x3f000000u;
      std::memcpy(&cache[i], &word, 4);
    }
    auto step = [&](int) {
      for (int64_t l = 0; l < layers; ++l) {
        // Strides of the full [Hkv, rows, row] block; sizes of its
        // positions (and, for q3, of the extra row).
        auto slice = [&](uint8_t *base, int64_t first, int64_t count) {
          Memref m(base + size_t(first * st.row * st.elementBytes),
                   {1, kvHeads, rows, st.row});
          m.words[3 + 2] = count;
          return m;
        };
        Memref k = slice(cache.data() + one * size_t(2 * l), 0, context);
        Memref v = slice(cache.data() + one * size_t(2 * l + 1), 0, context);
        Memref kb = slice(cache.data() + one * size_t(2 * l), context, 1);
        Memref vb = slice(cache.data() + one * size_t(2 * l + 1), context, 1);
        if (st.elementBytes == 4) {
          _mlir_ciface_bitnet_ukernel_attn_scores_cached(&qm.ref, &k.ref, &startm.ref, &sm.ref);
          _mlir_ciface_bitnet_ukernel_attn_pv_cached(&pm.ref, &v.ref, &startm.ref, &om.ref);
        } else if (st.elementBytes == 2) {
          _mlir_ciface_bitnet_ukernel_attn_scores_cached_f16(&qm.ref, &k.ref, &startm.ref, &sm.ref);
          _mlir_ciface_bitnet_ukernel_attn_pv_cached_f16(&pm.ref, &v.ref, &startm.ref, &om.ref);
        } else if (q3) {
          _mlir_ciface_bitnet_ukernel_attn_scores_cached_q3(
              &qm.ref, &k.ref, &k.ref, &k.ref, &kb.ref, &k.ref, &k.ref, &k.ref,
              &k.ref, &off3.ref, &off3.ref, &startm.ref, &sm.ref);
          _mlir_ciface_bitnet_ukernel_attn_pv_cached_q3(
              &pm.ref, &v.ref, &v.ref, &v.ref, &vb.ref, &v.ref, &v.ref, &v.ref,
              &v.ref, &off3.ref, &off3.ref, &startm.ref, &om.ref);
        } else {
          _mlir_ciface_bitnet_ukernel_attn_scores_cached_q4(
              &qm.ref, &k.ref, &k.ref, &k.ref, &k.ref, &k.ref, &offm.ref,
              &offm.ref, &startm.ref, &sm.ref);
          _mlir_ciface_bitnet_ukernel_attn_pv_cached_q4(
              &pm.ref, &v.ref, &v.ref, &v.ref, &v.ref, &v.ref, &offm.ref,
              &offm.ref, &startm.ref, &om.ref);
        }
      }
    };
    double seconds = bestSeconds(15, step);
    if (st.elementBytes == 4)
      f32Seconds = seconds;
    double bytes = double(cache.size());
    std::printf("attention decode, context %5lld, %s cache (%7.1f MB): %9.1f "
                "us per step (30 layers), %6.2f GB/s, %.2fx the f32 cache\n",
                (long long)context, st.name, bytes / 1e6, seconds * 1e6,
                bytes / seconds / 1e9, f32Seconds / seconds);
    std::printf("RESULT attention %lld %s %d %.3f %.3f\n", (long long)context,
                st.name, threads, seconds * 1e6, bytes / 1e6);
  }
}

} // namespace

int main(int argc, char **argv) {
  int threadsAll = bitnet_rt::kernelThreads();
  bool avx512 = bitnet_rt::hostCpuFeatures().count("avx512f");
  bool avx2 = bitnet_rt::hostCpuFeatures().count("avx2");
  size_t bufBytes = size_t(1) << 30;
  struct Sparsity {
    std::string label;
    double gate, down;
  };
  std::vector<Sparsity> sparsities;
  bool attentionOnly = false, ffnOnly = false, prefillOnly = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--attention-only") {
      attentionOnly = true;
    } else if (a == "--ffn-only") {
      ffnOnly = true;
    } else if (a == "--prefill-only") {
      prefillOnly = true;
    } else if (a == "--sparsity" && i + 1 < argc) {
      std::string v = argv[++i];
      size_t c1 = v.find(':'), c2 = v.rfind(':');
      if (c1 == std::string::npos || c1 == c2) {
        std::fprintf(stderr, "bitnet-bench-kernels: --sparsity LABEL:GATE:DOWN, "
                             "got '%s'\n", v.c_str());
        return 1;
      }
      sparsities.push_back({v.substr(0, c1), std::atof(v.substr(c1 + 1).c_str()),
                            std::atof(v.substr(c2 + 1).c_str())});
    } else if (a == "--print-kernel") {
      // The row kernel this CPU gets, for reports that run no kernel bench.
      std::printf("kernel: %s\n",
                  bitnet_rt::kernelName(bitnet_rt::selectedKernel()));
      return 0;
    } else if (a == "--help" || a == "-h") {
      std::printf("usage: bitnet-bench-kernels [--print-kernel | "
                  "--attention-only | --ffn-only | --prefill-only] "
                  "[--sparsity LABEL:GATE:DOWN]... [BANDWIDTH_BUFFER_MIB]\n");
      return 0;
    } else {
      char *end = nullptr;
      long long mib = std::strtoll(a.c_str(), &end, 10);
      if (a.empty() || *end || mib <= 0) {
        std::fprintf(stderr, "bitnet-bench-kernels: unknown argument '%s' "
                             "(--help lists them)\n", a.c_str());
        return 1;
      }
      bufBytes = size_t(mib) << 20;
    }
  }
  if (sparsities.empty())
    sparsities.push_back({"paper", 0.675, 0.80});
  if (attentionOnly) {
    for (int64_t context : {int64_t(512), int64_t(2048)})
      benchAttention(context, threadsAll);
    return 0;
  }
  if (prefillOnly) {
    std::mt19937 rng(7);
    benchPrefill(threadsAll, rng);
    return 0;
  }
  if (ffnOnly) {
    std::mt19937 rng(7);
    std::printf("kernel: %s\n",
                bitnet_rt::kernelName(bitnet_rt::selectedKernel()));
    for (const Sparsity &sp : sparsities)
      benchFfn(sp.label.c_str(), sp.gate, sp.down, threadsAll, rng);
    benchTopKOut(0.5, threadsAll, rng);
    return 0;
  }
  uint64_t *buf = static_cast<uint64_t *>(std::aligned_alloc(64, bufBytes));
  for (size_t i = 0; i < bufBytes / 8; ++i)
    buf[i] = i * 0x9e3779b97f4a7c15ull;
  double bw1 = readBandwidth(buf, bufBytes, 1, 5, avx512, avx2);
  double bwAll = readBandwidth(buf, bufBytes, threadsAll, 5, avx512, avx2);
  std::free(buf);
  const char *kernel = bitnet_rt::kernelName(bitnet_rt::selectedKernel());
  std::printf("DRAM read bandwidth: %.2f GB/s (1 thread), %.2f GB/s (%d "
              "threads); kernel: %s\n",
              bw1, bwAll, threadsAll, kernel);
  std::printf("RESULT bandwidth 1 %.3f\nRESULT bandwidth %d %.3f\n", bw1,
              threadsAll, bwAll);

  std::mt19937 rng(7);
  std::printf("%-8s %4s %7s %10s %10s %9s %12s\n", "shape", "M", "threads",
              "us/call", "GB/s", "% of BW", "GOPS");
  for (const ShapeSpec &s : k2B4TShapes) {
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

  for (const Sparsity &sp : sparsities)
    benchFfn(sp.label.c_str(), sp.gate, sp.down, threadsAll, rng);
  benchTopKOut(0.5, threadsAll, rng);
  benchPrefill(threadsAll, rng);
  for (int64_t context : {int64_t(512), int64_t(2048)})
    benchAttention(context, threadsAll);
  return 0;
}
