// Radix-select designs for one-row TopK (d = 2560, k = 1280, 256 threads:
// the a4.8 output projection's input at the 2B4T shape), timed alone.
//
// The generated kernel (LaunchTopKKernel.cpp) runs 4 passes of 8-bit
// digits, 3 barriers each, warp-aggregated histogram adds, and a tie scan.
// This file times variants of that design on the GPU so that the compiler
// implements the one that pays: plain atomics, an early exit when the
// kept-th key's bin holds exactly the keys still needed, a second
// histogram buffer (cleared a pass ahead: 2 barriers a pass), wider
// digits. Every variant's kept set is checked against a CPU reference.
//
//   nvcc -O3 -arch=sm_90a -o topk_select_micro topk_select_micro.cu
//   ./topk_select_micro
//
// Measured: bench/results/gpu-2026-12-06-topk-select-micro.md (the first
// seven variants; the later ones have not run on a GPU yet).
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

constexpr int D = 2560, K = 1280, T = 256, PER = D / T, WARPS = T / 32;

struct Variant {
  const char *name;
  bool match, early, dbuf, wide;
};

// Inclusive sum of v over the warp's lanes 0..lane.
__device__ int warpInclusiveScan(int v, int lane) {
#pragma unroll
  for (int o = 1; o < 32; o *= 2) {
    int up = __shfl_up_sync(~0u, v, o);
    if (lane >= o)
      v += up;
  }
  return v;
}

// The lane of warp 0 whose bins (largest first) hold rank `need` writes
// the bin, the rank left inside it and the bin's count.
template <int NB>
__device__ void selectBin(const int *hist, int need, int lane, int *sel) {
  constexpr int PERLANE = NB / 32;
  int counts[PERLANE];
  int sum = 0;
#pragma unroll
  for (int q = 0; q < PERLANE; ++q) {
    counts[q] = hist[NB - 1 - lane * PERLANE - q];
    sum += counts[q];
  }
  int incl = warpInclusiveScan(sum, lane);
  int excl = incl - sum;
  bool mine = excl < need && incl >= need;
  bool shortLast = lane == 31 && incl < need;
  if (mine || shortLast) {
    int acc = excl, bin = NB - 1 - lane * PERLANE - (PERLANE - 1), rest = 0,
        cnt = 0;
    bool found = false;
#pragma unroll
    for (int q = 0; q < PERLANE; ++q) {
      bool hit = !found && (acc + counts[q] >= need || (q == PERLANE - 1));
      if (hit) {
        bin = NB - 1 - lane * PERLANE - q;
        rest = need - acc;
        cnt = counts[q];
      }
      found |= hit;
      acc += counts[q];
    }
    sel[0] = bin;
    sel[1] = rest;
    sel[2] = cnt;
  }
}

__device__ void histogramPass(int *hist, const uint32_t *keys, uint32_t highMask,
                              uint32_t prefix, int shift, int NB, bool useMatch,
                              int lane) {
  uint32_t lanesBelow = (1u << lane) - 1;
#pragma unroll
  for (int j = 0; j < PER; ++j) {
    bool m = (keys[j] & highMask) == prefix;
    uint32_t digit = (keys[j] >> shift) & (NB - 1);
    if (useMatch) {
      uint32_t tag = m ? digit : NB;
      uint32_t peers = __match_any_sync(~0u, tag);
      if (m && (peers & lanesBelow) == 0)
        atomicAdd(&hist[digit], __popc(peers));
    } else if (m) {
      atomicAdd(&hist[digit], 1);
    }
  }
}

// The thread's |x| bits; then, all loaded, the start time.
__device__ long long loadKeys(const float *x, int tid, uint32_t *keys) {
#pragma unroll
  for (int j = 0; j < PER; ++j)
    keys[j] = __float_as_uint(x[tid * PER + j]) & 0x7fffffffu;
  __syncthreads();
  return clock64();
}

// The kept set from the select's result (ties by index unless exact),
// then block 0's flags and cycles; every thread's count feeds a sink so the
// work is not dropped.
__device__ void finish(const uint32_t *keys, uint32_t prefix,
                       uint32_t highMask, int need, bool exact, int *totals,
                       int tid, int lane, int warp, long long t0,
                       uint8_t *keepOut, long long *cycles, int *sink) {
  bool keep[PER];
  if (exact) {
#pragma unroll
    for (int j = 0; j < PER; ++j)
      keep[j] = (keys[j] & highMask) >= prefix;
  } else {
    int mine = 0;
#pragma unroll
    for (int j = 0; j < PER; ++j)
      mine += keys[j] == prefix;
    int incl = warpInclusiveScan(mine, lane);
    if (lane == 31)
      totals[warp] = incl;
    __syncthreads();
    if (warp == 0) {
      int t = lane < WARPS ? totals[lane] : 0;
      int before = warpInclusiveScan(t, lane) - t; // every lane shuffles
      if (lane < WARPS)
        totals[lane] = before;
    }
    __syncthreads();
    int running = totals[warp] + incl - mine;
#pragma unroll
    for (int j = 0; j < PER; ++j) {
      bool eq = keys[j] == prefix;
      keep[j] = keys[j] > prefix || (eq && running < need);
      running += eq;
    }
  }
  long long t1 = clock64();
  int n = 0;
#pragma unroll
  for (int j = 0; j < PER; ++j)
    n += keep[j];
  if (blockIdx.x == 0) {
#pragma unroll
    for (int j = 0; j < PER; ++j)
      keepOut[tid * PER + j] = keep[j];
    if (tid == 0)
      cycles[0] += t1 - t0;
  }
  if (n == 12345)
    sink[0] = n;
}

// Returns the block's keep flags for the thread's elements; cycles in *t.
template <bool MATCH, bool EARLY, bool DBUF, bool WIDE, bool EXPFIRST = false>
__global__ void __launch_bounds__(T)
    topk(const float *x, uint8_t *keepOut, long long *cycles, int *sink) {
  __shared__ __align__(16) int hist[2][WIDE ? 2048 : 256];
  __shared__ int sel[3];
  __shared__ int totals[32];
  int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  uint32_t keys[PER];
  long long t0 = loadKeys(x, tid, keys);

  constexpr int NB = WIDE ? 2048 : 256;
  constexpr int PASSES = WIDE ? 3 : 4;
  // EXPFIRST: the first digit is |x|'s whole exponent (bits 30..23), the
  // last 7 bits wide.
  const int shifts[4] = {WIDE ? 20 : EXPFIRST ? 23 : 24,
                         WIDE ? 10 : EXPFIRST ? 15 : 16,
                         WIDE ? 0 : EXPFIRST ? 7 : 8, 0};
  const int bits[4] = {WIDE ? 11 : 8, WIDE ? 10 : 8, WIDE ? 10 : 8,
                       EXPFIRST ? 7 : 8};
  uint32_t prefix = 0, highMask = 0;
  int need = K;
  bool exact = false;
  // Clear the first buffer (and with DBUF the second).
  for (int i = tid; i < NB * (DBUF ? 2 : 1); i += T)
    (&hist[0][0])[i] = 0;
  __syncthreads();
  for (int p = 0; p < PASSES; ++p) {
    int *h = hist[DBUF ? (p & 1) : 0];
    if (!DBUF && p > 0) {
      for (int i = tid; i < NB; i += T)
        h[i] = 0;
      __syncthreads();
    }
    if (DBUF && p > 0) {
      // The other buffer was last read by the previous pass's scan, which
      // ended before its barrier.
      int *other = hist[(p + 1) & 1];
      for (int i = tid; i < NB; i += T)
        other[i] = 0;
    }
    histogramPass(h, keys, highMask, prefix, shifts[p], 1 << bits[p], MATCH,
                  lane);
    __syncthreads();
    if (warp == 0) {
      if (bits[p] == 11)
        selectBin<2048>(h, need, lane, sel);
      else if (bits[p] == 10)
        selectBin<1024>(h, need, lane, sel);
      else if (bits[p] == 8)
        selectBin<256>(h, need, lane, sel);
      else
        selectBin<128>(h, need, lane, sel);
    }
    __syncthreads();
    int digit = sel[0];
    need = sel[1];
    int count = sel[2];
    prefix |= uint32_t(digit) << shifts[p];
    highMask |= uint32_t((1 << bits[p]) - 1) << shifts[p];
    if (EARLY && count == need) {
      exact = true;
      break;
    }
  }
  finish(keys, prefix, highMask, need, exact, totals, tid, lane, warp, t0,
         keepOut, cycles, sink);
}

// One pass with plain atomics over the candidates (bits under highMask
// equal to prefix), digit (key >> shift) & (nb - 1); warp 0 writes the
// chosen bin, the rank left and its count to sel.
__device__ void plainPass(int *hist, const uint32_t *keys, uint32_t highMask,
                          uint32_t prefix, int shift, int nb, int need,
                          int tid, int lane, int warp, int *sel) {
  hist[tid] = 0;
  __syncthreads();
#pragma unroll
  for (int j = 0; j < PER; ++j)
    if ((keys[j] & highMask) == prefix)
      atomicAdd(&hist[(keys[j] >> shift) & (nb - 1)], 1);
  __syncthreads();
  if (warp == 0)
    selectBin<256>(hist, need, lane, sel);
  __syncthreads();
}

// The first digit relative to the block's largest key: bins of 1/16
// binade (bits 30..19) over the 16 binades below the maximum, smaller keys
// clamped into bin 0. If the kept-th key falls in that clamped bin, the
// select restarts with the plain digits. Then 8, 8 and 3 bits, early exit.
__global__ void __launch_bounds__(T)
    topkRelative(const float *x, uint8_t *keepOut, long long *cycles,
                 int *sink) {
  __shared__ __align__(16) int hist[256];
  __shared__ int sel[3];
  __shared__ int totals[32];
  __shared__ uint32_t wmax[WARPS];
  int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  uint32_t keys[PER];
  long long t0 = loadKeys(x, tid, keys);
  uint32_t mk = 0;
#pragma unroll
  for (int j = 0; j < PER; ++j)
    mk = max(mk, keys[j]);
  mk = __reduce_max_sync(~0u, mk);
  if (lane == 0)
    wmax[warp] = mk;
  hist[tid] = 0;
  __syncthreads();
  mk = 0;
#pragma unroll
  for (int w = 0; w < WARPS; ++w)
    mk = max(mk, wmax[w]);
  int base = max(0, int(mk >> 19) - 255);
#pragma unroll
  for (int j = 0; j < PER; ++j)
    atomicAdd(&hist[max(int(keys[j] >> 19) - base, 0)], 1);
  __syncthreads();
  if (warp == 0)
    selectBin<256>(hist, K, lane, sel);
  __syncthreads();
  int digit = sel[0], need = sel[1], count = sel[2];
  uint32_t prefix, highMask;
  bool exact;
  if (digit == 0 && base > 0) {
    prefix = 0, highMask = 0, need = K, exact = false;
    for (int p = 0; p < 4 && !exact; ++p) {
      int shift = 24 - 8 * p;
      plainPass(hist, keys, highMask, prefix, shift, 256, need, tid, lane,
                warp, sel);
      prefix |= uint32_t(sel[0]) << shift;
      highMask |= 0xffu << shift;
      need = sel[1];
      exact = sel[2] == need;
    }
  } else {
    prefix = uint32_t(base + digit) << 19;
    highMask = 0xfff80000u;
    exact = count == need;
    const int shifts[3] = {11, 3, 0}, nbs[3] = {256, 256, 8};
    for (int p = 0; p < 3 && !exact; ++p) {
      plainPass(hist, keys, highMask, prefix, shifts[p], nbs[p], need, tid,
                lane, warp, sel);
      prefix |= uint32_t(sel[0]) << shifts[p];
      highMask |= uint32_t(nbs[p] - 1) << shifts[p];
      need = sel[1];
      exact = sel[2] == need;
    }
  }
  finish(keys, prefix, highMask, need, exact, totals, tid, lane, warp, t0,
         keepOut, cycles, sink);
}

using Kernel = void (*)(const float *, uint8_t *, long long *, int *);

int main() {
  const Variant variants[] = {
      {"8-bit x4, match.any (current)", true, false, false, false},
      {"8-bit x4, plain atomics", false, false, false, false},
      {"8-bit x4, match.any, early exit", true, true, false, false},
      {"8-bit x4, match.any, early exit, 2 buffers", true, true, true, false},
      {"8-bit x4, plain atomics, early exit", false, true, false, false},
      {"8/8/8/7-bit from the exponent, plain atomics, early exit", false, true,
       false, false},
      {"max first, 1/16-binade digit below it, 8/8/3, plain, early", false,
       true, false, false},
      {"8-bit x4, plain atomics, early exit, 2 buffers", false, true, true, false},
      {"11/10/10-bit, match.any, early exit, 2 buffers", true, true, true, true},
      {"11/10/10-bit, plain atomics, early exit, 2 buffers", false, true, true, true},
  };
  const Kernel kernels[] = {
      topk<true, false, false, false>, topk<false, false, false, false>,
      topk<true, true, false, false>,  topk<true, true, true, false>,
      topk<false, true, false, false>,
      topk<false, true, false, false, true>,
      topkRelative,
      topk<false, true, true, false>,  topk<true, true, true, true>,
      topk<false, true, true, true>,
  };
  const char *cases[] = {"gaussian", "gaussian + 1% outliers x50",
                         "rounded to 1/8 (ties)",
                         "half 1e-9, 1% outliers x1e6 (clamped bin)"};
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  float *dx;
  uint8_t *dkeep;
  long long *dcycles;
  int *dsink;
  cudaMalloc(&dx, D * sizeof(float));
  cudaMalloc(&dkeep, D);
  cudaMalloc(&dcycles, sizeof(long long));
  cudaMalloc(&dsink, sizeof(int));
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  int failures = 0;
  for (int c = 0; c < 4; ++c) {
    std::vector<float> x(D);
    for (int i = 0; i < D; ++i) {
      float v = normal(rng);
      if (c == 1 && rng() % 100 == 0)
        v *= 50;
      if (c == 2)
        v = std::round(v * 8) / 8;
      if (c == 3)
        v = (i % 2 ? 1e-9f : 1.0f) * v * (rng() % 100 == 0 ? 1e6f : 1.0f);
      x[i] = v;
    }
    // Reference: the K largest |x|, ties by lower index.
    std::vector<int> order(D);
    for (int i = 0; i < D; ++i)
      order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      return std::fabs(x[a]) > std::fabs(x[b]);
    });
    std::vector<uint8_t> ref(D, 0);
    for (int i = 0; i < K; ++i)
      ref[order[i]] = 1;
    cudaMemcpy(dx, x.data(), D * sizeof(float), cudaMemcpyHostToDevice);
    printf("\n%s\n", cases[c]);
    printf("  %-52s %10s %12s %8s\n", "variant", "cycles", "us/launch", "check");
    for (int v = 0; v < int(sizeof(kernels) / sizeof(kernels[0])); ++v) {
      const int iters = 2000, blocks = 80;
      for (int w = 0; w < 50; ++w)
        kernels[v]<<<blocks, T>>>(dx, dkeep, dcycles, dsink);
      cudaMemset(dcycles, 0, sizeof(long long));
      cudaEventRecord(e0);
      for (int i = 0; i < iters; ++i)
        kernels[v]<<<blocks, T>>>(dx, dkeep, dcycles, dsink);
      cudaEventRecord(e1);
      cudaEventSynchronize(e1);
      float ms;
      cudaEventElapsedTime(&ms, e0, e1);
      long long cyc;
      cudaMemcpy(&cyc, dcycles, sizeof(cyc), cudaMemcpyDeviceToHost);
      std::vector<uint8_t> keep(D);
      cudaMemcpy(keep.data(), dkeep, D, cudaMemcpyDeviceToHost);
      bool ok = keep == ref;
      failures += !ok;
      printf("  %-52s %10.0f %12.2f %8s\n", variants[v].name,
             double(cyc) / iters, 1000.0 * ms / iters, ok ? "ok" : "WRONG");
    }
  }
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) {
    printf("CUDA error: %s\n", cudaGetErrorString(err));
    return 1;
  }
  printf("\n%s\n", failures ? "SOME WRONG" : "ALL MATCH THE REFERENCE");
  return failures ? 1 : 0;
}
