// What a 2B4T decode step could cost as one persistent kernel, against one
// kernel per layer: the measurement that decides issue 6's next design.
//
// The compiler's decode step is ~150 dependent kernels (5 a layer, 30
// layers, and the LM head), each a few MB of weights, each ~7 us of launch
// ramp, dependency wait and prologue where its bytes alone take 1-3 us
// (gpu-2026-12-07-decode-ncu.md). A persistent kernel would run every
// stage in one grid, separated by grid-wide barriers. Whether that reaches
// the 1,750 tokens/s target depends on what a grid barrier costs and on
// whether the next stage's weights can stream in across it; this file
// measures both on the GPU before the compiler is taught to do it.
//
// Every stage is a ternary GEMV on 2-bit packed weights (dp4a over the 4
// activation planes in shared memory, 4 rows a warp, the compiler's
// layout): the 2B4T layer's QKV (3840 x 2560), a 0.4 MB stand-in for
// attention's KV reads (2560 x 640), out (2560 x 2560), gate/up (13824 x
// 2560, dense) and down (2560 x 6912), 30 times, then an LM head of
// int8's bytes (328 MB). Each stage's activations are its predecessor's
// outputs (truncated to int8), read from global memory: a real dependency.
// Every layer has its own weights (850 MB in all, 17x the L2).
//
// Variants, all checked to produce the same final outputs:
//   graph            one kernel per stage, replayed as a CUDA graph;
//   graph+pdl+L2     the same with programmatic dependent launch: each
//                    kernel asks L2 for its weights, then waits for its
//                    predecessor;
//   graph+pdl+early  each warp's first 16-byte pieces loaded into registers
//                    before the wait (the compiler's early weight loads);
//   graph+pdl+smem   the block's rows copied into shared memory (cp.async)
//                    before the wait;
//   persistent       one cooperative grid (1 or 2 blocks an SM), a grid
//                    barrier between stages (counter polled with or without
//                    sleeps, a flag a block, or cooperative groups'
//                    grid.sync), the next stage's weights asked of L2 or
//                    its first pieces loaded into registers before it;
//   persistent+smem  each warp's rows of the next stage staged in shared
//                    memory while the current one computes;
//   persistent+ringD each block's contiguous share of a stage copied into
//                    one of D + 1 shared-memory slots D stages ahead (D = 1,
//                    2), so HBM streams the step's weights while the
//                    stages' chain of barriers runs;
//   barriers         the persistent grid with no work: the barriers alone.
// And in the same run: HBM read bandwidth (the bytes bound of a step) and
// the head stage alone.
// Results: bench/results/gpu-2026-12-07-persistent-floor.md. The third
// version (session 40: the activations loaded with 16-byte loads all in
// flight, where the first two looped over scalar loads; the ring variants;
// the head alone) has not run on a GPU yet: no device started after it was
// written.
//
//   nvcc -O3 -arch=sm_90a -o persistent_decode_floor persistent_decode_floor.cu
//   ./persistent_decode_floor [layers=30]
#include <cooperative_groups.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define CHECK(x)                                                               \
  do {                                                                         \
    cudaError_t e_ = (x);                                                      \
    if (e_ != cudaSuccess) {                                                   \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x,          \
                   cudaGetErrorString(e_));                                    \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)

constexpr int kThreads = 256, kWarps = kThreads / 32, kRowsPerWarp = 4;
constexpr int kMaxK = 10240; // the head stand-in's K (bytes K / 4 a row)

struct Stage {
  int n, k;              // outputs, weights a row (packed K / 4 bytes)
  const uint8_t *w;      // [n, k / 4]
  const int32_t *in;     // predecessor's outputs (activations)
  int inN;               // how many
  int32_t *out;          // [n]
};

__device__ __forceinline__ void prefetchL2(const void *p) {
  asm volatile("prefetch.global.L2 [%0];" ::"l"(p));
}

/// Activations into shared memory as 4 planes (plane j byte q = x[4q + j]),
/// x[i] = int8(in[i % inN]), read past L1 (written by other blocks). Every
/// thread's 16-byte loads (x[4q..4q+3], one byte of each plane) are issued
/// before any is used: one L2 round trip a stage, not one a loop trip (the
/// first two versions' scalar loop, run before session 40).
__device__ void loadPlanes(const Stage &s, int8_t *planes) {
  constexpr int kPer = kMaxK / 4 / kThreads;
  int kq = s.k / 4;
  int4 v[kPer];
#pragma unroll
  for (int j = 0; j < kPer; ++j) {
    int q = threadIdx.x + j * kThreads;
    if (q < kq) // inN is a multiple of 4: the 4 values are contiguous
      v[j] = __ldcg(reinterpret_cast<const int4 *>(s.in + (4 * q) % s.inN));
  }
#pragma unroll
  for (int j = 0; j < kPer; ++j) {
    int q = threadIdx.x + j * kThreads;
    if (q < kq) {
      planes[q] = int8_t(v[j].x);
      planes[kq + q] = int8_t(v[j].y);
      planes[2 * kq + q] = int8_t(v[j].z);
      planes[3 * kq + q] = int8_t(v[j].w);
    }
  }
}

/// Rows [row0, row0 + kRowsPerWarp) of the stage by one warp: each lane
/// has the 4 rows' 16-byte pieces in flight together.
/// The dot products of one 16-byte piece (at packed byte `off`) of each of
/// the warp's rows against the activation planes.
__device__ __forceinline__ void dotPieces(const uint4 (&w)[kRowsPerWarp],
                                          const int8_t *planes, int kq,
                                          int off, int (&acc)[kRowsPerWarp]) {
#pragma unroll
  for (int t = 0; t < 4; ++t)
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      int a = *reinterpret_cast<const int *>(planes + j * kq + off + 4 * t);
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) {
        uint32_t word = t == 0 ? w[r].x : t == 1 ? w[r].y : t == 2 ? w[r].z : w[r].w;
        acc[r] = __dp4a(int((word >> (2 * j)) & 0x03030303u), a, acc[r]);
      }
    }
}

/// The warp's sums of rows row0.. reduced over its lanes and stored.
__device__ __forceinline__ void storeRows(const Stage &s, int row0,
                                          int (&acc)[kRowsPerWarp]) {
  int lane = threadIdx.x % 32;
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
#pragma unroll
    for (int o = 16; o > 0; o /= 2)
      acc[r] += __shfl_xor_sync(~0u, acc[r], o);
    if (lane == 0 && row0 + r < s.n)
      s.out[row0 + r] = acc[r];
  }
}

/// The warp's first 16-byte pieces of rows row0.. (what warpRows loads
/// first), for loads issued before the wait for the activations.
struct FirstPieces {
  uint4 w[kRowsPerWarp];
};
__device__ __forceinline__ FirstPieces loadFirst(const Stage &s, int row0) {
  int lane = threadIdx.x % 32, kq = s.k / 4, off = lane * 16;
  FirstPieces f;
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r)
    f.w[r] = row0 + r < s.n && off < kq
                 ? *reinterpret_cast<const uint4 *>(s.w + size_t(row0 + r) * kq + off)
                 : make_uint4(0, 0, 0, 0);
  return f;
}

__device__ __forceinline__ void warpRows(const Stage &s, const int8_t *planes, int row0,
                         const FirstPieces &first, bool useFirst) {
  int lane = threadIdx.x % 32, kq = s.k / 4;
  int acc[kRowsPerWarp] = {};
  for (int off = lane * 16; off < kq; off += 32 * 16) {
    uint4 w[kRowsPerWarp];
    if (useFirst && off == lane * 16) {
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r)
        w[r] = first.w[r];
    } else {
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r)
        w[r] = row0 + r < s.n ? *reinterpret_cast<const uint4 *>(
                                    s.w + size_t(row0 + r) * kq + off)
                              : make_uint4(0, 0, 0, 0);
    }
    dotPieces(w, planes, kq, off, acc);
  }
  storeRows(s, row0, acc);
}

/// This block's rows of stage s asked of L2 (blocks of a grid of `blocks`).
__device__ void prefetchShare(const Stage &s, int block, int blocks) {
  int kq = s.k / 4;
  int warpsAll = blocks * kWarps;
  int warp = block * kWarps + threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int row0 = warp * kRowsPerWarp; row0 < s.n; row0 += warpsAll * kRowsPerWarp)
    for (int r = 0; r < kRowsPerWarp && row0 + r < s.n; ++r)
      for (int off = lane * 128; off < kq; off += 32 * 128)
        prefetchL2(s.w + size_t(row0 + r) * kq + off);
}

/// pdl: 0 none; 1 the block's weights asked of L2 before the wait; 2 the
/// warp's first pieces loaded into registers before the wait (the
/// compiler's --gpu-early-weight-loads).
__global__ void __launch_bounds__(kThreads) stageKernel(Stage s, int pdl) {
  __shared__ __align__(16) int8_t planes[kMaxK];
  int warp = blockIdx.x * kWarps + threadIdx.x / 32;
  FirstPieces first = {};
  if (pdl == 1)
    prefetchShare(s, blockIdx.x, gridDim.x);
  if (pdl == 2)
    first = loadFirst(s, warp * kRowsPerWarp);
  if (pdl) {
    asm volatile("griddepcontrol.wait;" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;");
  }
  loadPlanes(s, planes);
  __syncthreads();
  warpRows(s, planes, warp * kRowsPerWarp, first, pdl == 2);
}

/// Shared-memory staging (prefetch 3): each warp copies its rows of the
/// next stage into its own region of dynamic shared memory with cp.async
/// while the current stage computes; a stage then reads its weights from
/// shared memory. Rows in the order the warp computes them: pass t, row r
/// at (4 t + r) * kq.
__device__ __forceinline__ void cpAsync16(void *smem, const void *global) {
  unsigned dst = unsigned(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(dst),
               "l"(global) : "memory");
}

__device__ void stageCopy(const Stage &s, uint8_t *region, int warp,
                          int warpsAll) {
  int lane = threadIdx.x % 32, kq = s.k / 4, slot = 0;
  for (int row0 = warp * kRowsPerWarp; row0 < s.n;
       row0 += warpsAll * kRowsPerWarp)
    for (int r = 0; r < kRowsPerWarp; ++r, ++slot)
      if (row0 + r < s.n)
        for (int off = lane * 16; off < kq; off += 32 * 16)
          cpAsync16(region + size_t(slot) * kq + off,
                    s.w + size_t(row0 + r) * kq + off);
  asm volatile("cp.async.commit_group;" ::: "memory");
}

/// warpRows over the staged copy: pass t of the warp's rows.
__device__ __forceinline__ void warpRowsStaged(const Stage &s,
                                               const int8_t *planes, int row0,
                                               const uint8_t *region, int t) {
  int lane = threadIdx.x % 32, kq = s.k / 4;
  int acc[kRowsPerWarp] = {};
  for (int off = lane * 16; off < kq; off += 32 * 16) {
    uint4 w[kRowsPerWarp];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r)
      w[r] = *reinterpret_cast<const uint4 *>(
          region + size_t(t * kRowsPerWarp + r) * kq + off);
    dotPieces(w, planes, kq, off, acc);
  }
  storeRows(s, row0, acc);
}

/// The persistent grid with every stage but the last (the head, too large
/// to stage) read from shared memory, staged a stage ahead; cooperative
/// groups' grid sync between stages.
__global__ void __launch_bounds__(kThreads)
    persistentStagedKernel(const Stage *stages, int count, int regionBytes) {
  extern __shared__ __align__(16) uint8_t dyn[];
  __shared__ __align__(16) int8_t planes[kMaxK];
  int warpsAll = gridDim.x * kWarps;
  int warpInBlock = threadIdx.x / 32;
  int warp = blockIdx.x * kWarps + warpInBlock;
  auto region = [&](int buffer) {
    return dyn + (size_t(buffer) * kWarps + warpInBlock) * regionBytes;
  };
  stageCopy(stages[0], region(0), warp, warpsAll);
  for (int si = 0; si < count; ++si) {
    Stage s = stages[si];
    bool staged = si + 1 < count;
    // The next stage's copies go out now; wait for this stage's only.
    if (si + 2 < count)
      stageCopy(stages[si + 1], region((si + 1) % 2), warp, warpsAll);
    else
      asm volatile("cp.async.commit_group;" ::: "memory");
    asm volatile("cp.async.wait_group 1;" ::: "memory");
    __syncwarp();
    loadPlanes(s, planes);
    __syncthreads();
    int t = 0;
    FirstPieces none = {};
    for (int row0 = warp * kRowsPerWarp; row0 < s.n;
         row0 += warpsAll * kRowsPerWarp, ++t)
      if (staged)
        warpRowsStaged(s, planes, row0, region(si % 2), t);
      else
        warpRows(s, planes, row0, none, false);
    cooperative_groups::this_grid().sync();
  }
}

/// One kernel a stage, its weights staged in shared memory before the
/// dependency wait: the block's rows (one pass: the grid covers them) go
/// out by cp.async, then griddepcontrol.wait, then the activations. With
/// PDL the kernel is resident while its predecessor runs, so its weights
/// stream in meanwhile: the per-kernel form of the staged persistent grid.
__global__ void __launch_bounds__(kThreads) stageStagedKernel(Stage s) {
  extern __shared__ __align__(16) uint8_t dyn[];
  __shared__ __align__(16) int8_t planes[kMaxK];
  int warp = blockIdx.x * kWarps + threadIdx.x / 32;
  uint8_t *region = dyn + size_t(threadIdx.x / 32) * kRowsPerWarp * (s.k / 4);
  int warpsAll = gridDim.x * kWarps;
  stageCopy(s, region, warp, warpsAll);
  asm volatile("griddepcontrol.wait;" ::: "memory");
  asm volatile("griddepcontrol.launch_dependents;");
  asm volatile("cp.async.wait_group 0;" ::: "memory");
  __syncwarp();
  loadPlanes(s, planes);
  __syncthreads();
  warpRowsStaged(s, planes, warp * kRowsPerWarp, region, 0);
}

/// The block's contiguous share of stage s's rows, [r0, r1): ceil(n /
/// blocks) rows a block, so a share is one contiguous run of bytes.
__device__ __forceinline__ void blockShare(const Stage &s, int &r0, int &r1) {
  int per = (s.n + gridDim.x - 1) / gridDim.x;
  r0 = min(s.n, int(blockIdx.x) * per);
  r1 = min(s.n, r0 + per);
}

/// The ring: the persistent grid with each block's contiguous share of a
/// stage copied (cp.async, 16 bytes a thread at a time) into one of
/// depth + 1 shared-memory slots `depth` stages ahead, so a stage's weights
/// have depth stages' time to arrive, and HBM streams the step's weights
/// while the stages' latency chain runs. Slot (si + depth) % (depth + 1)
/// held stage si - 1, which every warp of the block finished before the
/// grid sync. The head (last stage, too large) reads global memory.
__device__ void ringIssue(const Stage *stages, int count, int si, uint8_t *dyn,
                          int slotBytes, int slots) {
  if (si < count - 1) {
    const Stage s = stages[si];
    int r0, r1, kq = s.k / 4;
    blockShare(s, r0, r1);
    const uint8_t *src = s.w + size_t(r0) * kq;
    uint8_t *dst = dyn + size_t(si % slots) * slotBytes;
    int bytes = (r1 - r0) * kq;
    for (int off = threadIdx.x * 16; off < bytes; off += kThreads * 16)
      cpAsync16(dst + off, src + off);
  }
  // A group every stage, empty or not: wait_group counts stages.
  asm volatile("cp.async.commit_group;" ::: "memory");
}

__global__ void __launch_bounds__(kThreads)
    persistentRingKernel(const Stage *stages, int count, int slotBytes,
                         int depth) {
  extern __shared__ __align__(16) uint8_t dyn[];
  __shared__ __align__(16) int8_t planes[kMaxK];
  const int slots = depth + 1, lane = threadIdx.x % 32;
  const int warpInBlock = threadIdx.x / 32;
  for (int si = 0; si < depth; ++si)
    ringIssue(stages, count, si, dyn, slotBytes, slots);
  for (int si = 0; si < count; ++si) {
    const Stage s = stages[si];
    ringIssue(stages, count, si + depth, dyn, slotBytes, slots);
    loadPlanes(s, planes); // its L2 round trip overlaps the copies' wait
    if (depth == 2)
      asm volatile("cp.async.wait_group 2;" ::: "memory");
    else
      asm volatile("cp.async.wait_group 1;" ::: "memory");
    __syncthreads(); // the planes and every thread's copies
    int kq = s.k / 4;
    if (si < count - 1) {
      int r0, r1;
      blockShare(s, r0, r1);
      const uint8_t *slot = dyn + size_t(si % slots) * slotBytes;
      for (int row0 = r0 + warpInBlock * kRowsPerWarp; row0 < r1;
           row0 += kWarps * kRowsPerWarp) {
        int acc[kRowsPerWarp] = {};
        for (int off = lane * 16; off < kq; off += 32 * 16) {
          uint4 w[kRowsPerWarp];
#pragma unroll
          for (int r = 0; r < kRowsPerWarp; ++r)
            w[r] = row0 + r < r1 ? *reinterpret_cast<const uint4 *>(
                                       slot + size_t(row0 + r - r0) * kq + off)
                                 : make_uint4(0, 0, 0, 0);
          dotPieces(w, planes, kq, off, acc);
        }
        Stage clipped = s;
        clipped.n = r1; // rows past the share belong to the next block
        storeRows(clipped, row0, acc);
      }
    } else {
      FirstPieces none = {};
      int warpsAll = gridDim.x * kWarps;
      for (int row0 = (blockIdx.x * kWarps + warpInBlock) * kRowsPerWarp;
           row0 < s.n; row0 += warpsAll * kRowsPerWarp)
        warpRows(s, planes, row0, none, false);
    }
    cooperative_groups::this_grid().sync();
  }
}

/// Sense-reversing grid barrier: the last block to arrive bumps `gen`;
/// the others poll it (with `sleep`, __nanosleep between polls).
__device__ void gridBarrier(unsigned *count, unsigned *gen, unsigned blocks,
                            bool sleep) {
  __syncthreads();
  if (threadIdx.x == 0) {
    unsigned seen;
    asm volatile("ld.acquire.gpu.u32 %0, [%1];" : "=r"(seen) : "l"(gen) : "memory");
    __threadfence(); // the block's stores, ordered by the bar.sync above
    unsigned arrived;
    asm volatile("atom.acq_rel.gpu.add.u32 %0, [%1], 1;"
                 : "=r"(arrived) : "l"(count) : "memory");
    if (arrived == blocks - 1) {
      *count = 0;
      asm volatile("red.release.gpu.add.u32 [%0], 1;" ::"l"(gen) : "memory");
    } else {
      unsigned now;
      do {
        if (sleep)
          __nanosleep(20);
        asm volatile("ld.acquire.gpu.u32 %0, [%1];" : "=r"(now) : "l"(gen) : "memory");
      } while (now == seen);
    }
  }
  __syncthreads();
}

/// A barrier without a contended counter: block b stores `target` into its
/// own flag; block 0's threads wait for every flag, then block 0 stores
/// `target` into `gen`, which the other blocks poll. (132 atomic adds to
/// one word serialize at its L2 slice.)
__device__ void flagBarrier(unsigned *flags, unsigned *gen, unsigned blocks,
                            unsigned target) {
  __syncthreads();
  if (threadIdx.x == 0) {
    __threadfence(); // the block's stores, ordered by the bar.sync above
    asm volatile("st.release.gpu.u32 [%0], %1;" ::"l"(flags + blockIdx.x),
                 "r"(target) : "memory");
  }
  if (blockIdx.x == 0) {
    for (unsigned b = threadIdx.x; b < blocks; b += blockDim.x) {
      unsigned v;
      do
        asm volatile("ld.acquire.gpu.u32 %0, [%1];" : "=r"(v) : "l"(flags + b) : "memory");
      while (int(v - target) < 0);
    }
    __syncthreads();
    if (threadIdx.x == 0)
      asm volatile("st.release.gpu.u32 [%0], %1;" ::"l"(gen), "r"(target) : "memory");
  } else if (threadIdx.x == 0) {
    unsigned v;
    do
      asm volatile("ld.acquire.gpu.u32 %0, [%1];" : "=r"(v) : "l"(gen) : "memory");
    while (int(v - target) < 0);
  }
  __syncthreads();
}

/// barrier: 0 gridBarrier polling with sleeps, 1 without, 2 cooperative
/// groups' grid sync, 3 flagBarrier. prefetch: 0 none, 1 the block's share of the next
/// stage asked of L2 before the barrier, 2 the warp's first pieces of the
/// next stage loaded into registers before it.
__global__ void __launch_bounds__(kThreads)
    persistentKernel(const Stage *stages, int count, unsigned *barrierCount,
                     unsigned *barrierGen, int work, int prefetch, int barrier,
                     unsigned *flags) {
  // Every block reads the generation before any barrier can complete.
  unsigned start = *(volatile unsigned *)barrierGen;
  __shared__ __align__(16) int8_t planes[kMaxK];
  int warpsAll = gridDim.x * kWarps;
  int warp = blockIdx.x * kWarps + threadIdx.x / 32;
  FirstPieces first = {};
  if (work && prefetch == 1)
    prefetchShare(stages[0], blockIdx.x, gridDim.x);
  if (work && prefetch == 2)
    first = loadFirst(stages[0], warp * kRowsPerWarp);
  for (int si = 0; si < count; ++si) {
    Stage s = stages[si];
    if (work) {
      loadPlanes(s, planes);
      __syncthreads();
      for (int row0 = warp * kRowsPerWarp; row0 < s.n;
           row0 += warpsAll * kRowsPerWarp)
        warpRows(s, planes, row0, first,
                 prefetch == 2 && row0 == warp * kRowsPerWarp);
      if (si + 1 < count && prefetch == 1)
        prefetchShare(stages[si + 1], blockIdx.x, gridDim.x);
      if (si + 1 < count && prefetch == 2)
        first = loadFirst(stages[si + 1], warp * kRowsPerWarp);
    }
    if (barrier == 3)
      flagBarrier(flags, barrierGen, gridDim.x, start + si + 1);
    else if (barrier == 2)
      cooperative_groups::this_grid().sync();
    else
      gridBarrier(barrierCount, barrierGen, gridDim.x, barrier == 0);
  }
}

__global__ void readKernel(const uint4 *p, size_t n, unsigned *sink) {
  uint32_t acc = 0;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x) {
    uint4 v = __ldcs(p + i);
    acc ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  if (acc == 0x9e3779b9u)
    *sink = acc;
}

__global__ void fillKernel(uint8_t *p, size_t n, uint32_t seed) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(gridDim.x) * blockDim.x) {
    uint32_t h = uint32_t(i) * 2654435761u ^ seed;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    // Four fields of codes 0..2 (valid ternary codes, no 3s).
    uint8_t b = 0;
    for (int j = 0; j < 4; ++j)
      b |= uint8_t((h >> (8 * j)) % 3) << (2 * j);
    p[i] = b;
  }
}

static float median(std::vector<float> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int main(int argc, char **argv) {
  int layers = argc > 1 ? std::atoi(argv[1]) : 30;
  if (layers < 1 || layers > 60) {
    std::fprintf(stderr, "layers must be 1..60\n");
    return 1;
  }
  cudaDeviceProp prop;
  CHECK(cudaGetDeviceProperties(&prop, 0));
  int driver = 0;
  CHECK(cudaDriverGetVersion(&driver));
  std::printf("GPU: %s, %d SMs, L2 %d MB, driver API %d\n", prop.name,
              prop.multiProcessorCount, prop.l2CacheSize >> 20, driver);

  const int shapes[5][2] = {{3840, 2560}, {2560, 640}, {2560, 2560},
                            {13824, 2560}, {2560, 6912}};
  std::vector<Stage> stages;
  size_t weightBytes = 0;
  std::vector<uint8_t *> buffers;
  int32_t *outs[2];
  CHECK(cudaMalloc(&outs[0], 128256 * sizeof(int32_t)));
  CHECK(cudaMalloc(&outs[1], 128256 * sizeof(int32_t)));
  CHECK(cudaMemset(outs[0], 0, 128256 * sizeof(int32_t)));
  CHECK(cudaMemset(outs[1], 0, 128256 * sizeof(int32_t)));
  int32_t *input;
  CHECK(cudaMalloc(&input, kMaxK * sizeof(int32_t)));
  std::vector<int32_t> seedIn(kMaxK);
  for (int i = 0; i < kMaxK; ++i)
    seedIn[i] = (i * 37 + 11) % 255 - 127;
  CHECK(cudaMemcpy(input, seedIn.data(), kMaxK * sizeof(int32_t),
                   cudaMemcpyHostToDevice));
  auto addStage = [&](int n, int k) {
    size_t bytes = size_t(n) * (k / 4);
    uint8_t *w;
    CHECK(cudaMalloc(&w, bytes));
    fillKernel<<<1024, 256>>>(w, bytes, uint32_t(stages.size() * 7919 + 1));
    buffers.push_back(w);
    weightBytes += bytes;
    Stage s;
    s.n = n;
    s.k = k;
    s.w = w;
    s.in = stages.empty() ? input : stages.back().out;
    s.inN = stages.empty() ? kMaxK : stages.back().n;
    s.out = outs[stages.size() % 2];
    stages.push_back(s);
  };
  for (int l = 0; l < layers; ++l)
    for (auto &sh : shapes)
      addStage(sh[0], sh[1]);
  addStage(128256, 10240); // the int8 LM head's bytes
  CHECK(cudaDeviceSynchronize());
  const int count = int(stages.size());
  int32_t *finalOut = stages.back().out;
  std::printf("stages: %d (%d layers x 5 + head), weights %.1f MB\n", count,
              layers, weightBytes / 1e6);

  cudaStream_t stream;
  CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  cudaEvent_t e0, e1;
  CHECK(cudaEventCreate(&e0));
  CHECK(cudaEventCreate(&e1));
  const int reps = 20;
  std::vector<int32_t> reference(128256), got(128256);
  auto timeIt = [&](auto launch) {
    launch(); // warm-up
    CHECK(cudaStreamSynchronize(stream));
    std::vector<float> ms;
    for (int r = 0; r < reps; ++r) {
      CHECK(cudaEventRecord(e0, stream));
      launch();
      CHECK(cudaEventRecord(e1, stream));
      CHECK(cudaEventSynchronize(e1));
      float t;
      CHECK(cudaEventElapsedTime(&t, e0, e1));
      ms.push_back(t);
    }
    return median(ms) * 1000.0f; // us
  };
  auto check = [&](const char *name, bool first) {
    CHECK(cudaMemcpy(got.data(), finalOut, got.size() * 4,
                     cudaMemcpyDeviceToHost));
    if (first) {
      reference = got;
      return;
    }
    if (got != reference) {
      std::printf("%s: final outputs DIFFER from the graph's\n", name);
      std::exit(1);
    }
  };

  // HBM read bandwidth: 4 GiB streamed once, best of 5.
  {
    size_t bytes = size_t(4) << 30;
    uint4 *buf;
    unsigned *sink;
    CHECK(cudaMalloc(&buf, bytes));
    CHECK(cudaMalloc(&sink, 4));
    CHECK(cudaMemset(buf, 1, bytes));
    float best = 1e30f;
    for (int r = 0; r < 5; ++r) {
      CHECK(cudaEventRecord(e0, stream));
      readKernel<<<prop.multiProcessorCount * 8, 512, 0, stream>>>(
          buf, bytes / 16, sink);
      CHECK(cudaEventRecord(e1, stream));
      CHECK(cudaEventSynchronize(e1));
      float t;
      CHECK(cudaEventElapsedTime(&t, e0, e1));
      best = std::min(best, t);
    }
    double gbs = bytes / (best * 1e-3) / 1e9;
    std::printf("HBM read: %.0f GB/s; a step's %.1f MB at that rate: %.1f us "
                "(bytes bound %.0f steps/s)\n",
                gbs, weightBytes / 1e6, weightBytes / gbs / 1e3,
                gbs * 1e9 / weightBytes);
    CHECK(cudaFree(buf));
    CHECK(cudaFree(sink));
  }

  // One kernel per stage, captured into a graph (with and without PDL).
  auto stageBlocks = [](const Stage &s) {
    return (s.n + kWarps * kRowsPerWarp - 1) / (kWarps * kRowsPerWarp);
  };
  const char *stageNames[4] = {"graph", "graph+pdl+L2", "graph+pdl+early",
                               "graph+pdl+smem"};
  {
    int most = 0;
    for (const Stage &s : stages)
      most = std::max(most, kWarps * kRowsPerWarp * (s.k / 4));
    CHECK(cudaFuncSetAttribute(stageStagedKernel,
                               cudaFuncAttributeMaxDynamicSharedMemorySize,
                               most));
  }
  for (int pdl = 0; pdl < 4; ++pdl) {
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
    for (const Stage &s : stages) {
      cudaLaunchConfig_t cfg = {};
      cfg.gridDim = dim3(stageBlocks(s));
      cfg.blockDim = dim3(kThreads);
      cfg.stream = stream;
      cudaLaunchAttribute attr;
      attr.id = cudaLaunchAttributeProgrammaticStreamSerialization;
      attr.val.programmaticStreamSerializationAllowed = 1;
      cfg.attrs = &attr;
      cfg.numAttrs = pdl ? 1 : 0;
      if (pdl == 3) {
        cfg.dynamicSmemBytes = size_t(kWarps) * kRowsPerWarp * (s.k / 4);
        CHECK(cudaLaunchKernelEx(&cfg, stageStagedKernel, s));
      } else {
        CHECK(cudaLaunchKernelEx(&cfg, stageKernel, s, pdl));
      }
    }
    CHECK(cudaStreamEndCapture(stream, &graph));
    CHECK(cudaGraphInstantiate(&exec, graph, 0));
    float us = timeIt([&] { CHECK(cudaGraphLaunch(exec, stream)); });
    check(stageNames[pdl], pdl == 0);
    std::printf("%-26s %9.1f us a step (%6.0f steps/s), %.2f us a stage\n",
                stageNames[pdl], us, 1e6 / us, us / count);
    CHECK(cudaGraphExecDestroy(exec));
    CHECK(cudaGraphDestroy(graph));
  }

  // The persistent grid: every SM, as many blocks as fit.
  Stage *dStages;
  CHECK(cudaMalloc(&dStages, sizeof(Stage) * count));
  CHECK(cudaMemcpy(dStages, stages.data(), sizeof(Stage) * count,
                   cudaMemcpyHostToDevice));
  unsigned *bar;
  CHECK(cudaMalloc(&bar, 2 * sizeof(unsigned)));
  CHECK(cudaMemset(bar, 0, 2 * sizeof(unsigned)));
  unsigned *flags;
  CHECK(cudaMalloc(&flags, 1024 * sizeof(unsigned)));
  CHECK(cudaMemset(flags, 0, 1024 * sizeof(unsigned)));
  int perSM = 0;
  CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSM, persistentKernel,
                                                      kThreads, 0));
  struct Mode {
    const char *name;
    int work, prefetch, barrier;
  };
  const Mode modes[] = {{"barriers (sleep)", 0, 0, 0},
                        {"barriers (spin)", 0, 0, 1},
                        {"barriers (cg grid)", 0, 0, 2},
                        {"barriers (flags)", 0, 0, 3},
                        {"persistent", 1, 0, 1},
                        {"persistent+L2", 1, 1, 1},
                        {"persistent+early", 1, 2, 1},
                        {"persistent+early (cg)", 1, 2, 2},
                        {"persistent+early (flags)", 1, 2, 3}};
  for (int blocksPerSM : {1, 2}) {
    if (blocksPerSM > perSM)
      continue;
    int blocks = prop.multiProcessorCount * blocksPerSM;
    for (const Mode &m : modes) {
      unsigned *barCount = bar, *barGen = bar + 1;
      int work = m.work, prefetch = m.prefetch, barrier = m.barrier;
      void *args[] = {&dStages, (void *)&count, &barCount, &barGen, &work,
                      &prefetch, &barrier, &flags};
      float us = timeIt([&] {
        CHECK(cudaLaunchCooperativeKernel((void *)persistentKernel,
                                          dim3(blocks), dim3(kThreads), args,
                                          0, stream));
      });
      if (work)
        check(m.name, false);
      std::printf("%-26s %9.1f us a step (%6.0f steps/s), %.2f us a stage "
                  "[%d blocks, %d a SM]\n",
                  m.name, us, 1e6 / us, us / count, blocks, blocksPerSM);
    }
  }
  // A staged persistent kernel, 1 block an SM with dynBytes of dynamic
  // shared memory: timed, checked and printed, or said not to fit.
  auto runStaged = [&](const void *kernel, const char *name, void **args,
                       size_t dynBytes, const char *what) {
    CHECK(cudaFuncSetAttribute(kernel,
                               cudaFuncAttributeMaxDynamicSharedMemorySize,
                               int(dynBytes)));
    int fit = 0;
    CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&fit, kernel, kThreads,
                                                        dynBytes));
    if (fit < 1) {
      std::printf("%s: %zu bytes of shared memory do not fit\n", name,
                  dynBytes);
      return;
    }
    const int blocks = prop.multiProcessorCount;
    float us = timeIt([&] {
      CHECK(cudaLaunchCooperativeKernel(kernel, dim3(blocks), dim3(kThreads),
                                        args, dynBytes, stream));
    });
    check(name, false);
    std::printf("%-26s %9.1f us a step (%6.0f steps/s), %.2f us a stage "
                "[%d blocks, 1 a SM, %zu KB %s]\n",
                name, us, 1e6 / us, us / count, blocks, dynBytes >> 10, what);
  };
  // Shared-memory staging: the largest share a warp holds of a stage (the
  // head excepted), two buffers.
  {
    int warpsAll = prop.multiProcessorCount * kWarps;
    int regionBytes = 0;
    for (int si = 0; si + 1 < count; ++si) {
      const Stage &s = stages[si];
      int passes = (s.n + warpsAll * kRowsPerWarp - 1) / (warpsAll * kRowsPerWarp);
      regionBytes = std::max(regionBytes, passes * kRowsPerWarp * (s.k / 4));
    }
    void *args[] = {&dStages, (void *)&count, &regionBytes};
    runStaged((const void *)persistentStagedKernel, "persistent+smem (cg)",
              args, size_t(2) * kWarps * regionBytes, "staged a block");
  }
  // The ring, `depth` stages ahead, contiguous block shares.
  {
    const int blocks = prop.multiProcessorCount;
    int slotBytes = 0;
    for (int si = 0; si + 1 < count; ++si) {
      const Stage &s = stages[si];
      int per = (s.n + blocks - 1) / blocks;
      slotBytes = std::max(slotBytes, per * (s.k / 4));
    }
    slotBytes = (slotBytes + 15) / 16 * 16;
    for (int depth : {1, 2}) {
      char name[64];
      std::snprintf(name, sizeof name, "persistent+ring%d (cg)", depth);
      void *args[] = {&dStages, (void *)&count, &slotBytes, &depth};
      runStaged((const void *)persistentRingKernel, name, args,
                size_t(depth + 1) * slotBytes, "of slots a block");
    }
  }
  // The head alone (one kernel, no PDL): what the last stage takes of a step.
  {
    const Stage &h = stages.back();
    float us = timeIt([&] {
      stageKernel<<<stageBlocks(h), kThreads, 0, stream>>>(h, 0);
    });
    std::printf("%-26s %9.1f us (%.0f GB/s)\n", "head stage alone", us,
                double(h.n) * (h.k / 4) / (us * 1e3));
  }
  std::printf("final outputs: identical across variants\n");
  return 0;
}
