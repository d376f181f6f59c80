//===- Ukernels.h - CPU kernels the compiled code calls ----------*- C++ -*-===//
//
// The inner loops compiled models call instead of plain loops
// (bitnet-lower-ukernels). Each has a portable version and, where the CPU
// has them, AVX-512 VNNI and AVX2 ones (and AMX tiles for the BitLinear
// GEMM), picked at run time; all compute
// exactly the same integers. Work is split over a pool of threads (BITNET_NUM_THREADS,
// default: every core).
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_RUNTIME_UKERNELS_H
#define BITNET_RUNTIME_UKERNELS_H

#include <cstdint>
#include <vector>

namespace bitnet_rt {

/// AVX512VNNI needs avx512vnni and avx512bw; AVX2 avx2, fma and f16c; AMX
/// is AVX512VNNI plus AMX-INT8 tiles for the BitLinear calls of 8 or more
/// activation rows (prefill), and needs amx-tile, amx-int8 and the tile
/// state granted by the OS.
enum class KernelKind { Auto, Portable, AVX512VNNI, AVX2, AMX };

/// out[m * outStride + n] += sum_k x[m * xStride + k] * w(n, k) for m < rows,
/// n < n, k < 4 * kq, where w(n, k) = ((w[n * wStride + k / 4] >> 2 (k % 4))
/// & 3) - 1 (the 2-bit packed ternary layout, TernaryPacking.h).
void bitlinearI8Bits2(const int8_t *x, int64_t rows, int64_t xStride,
                      const uint8_t *w, int64_t n, int64_t kq, int64_t wStride,
                      int32_t *out, int64_t outStride,
                      KernelKind kind = KernelKind::Auto);

/// bitlinearI8Bits2 for the outputs (m, n) with gate[m * gateStride + n] > 0
/// only; the others are left as they are, and weight rows no activation row
/// needs are not read (gate-first sparsity's up projection).
void bitlinearI8Bits2Gated(const int8_t *x, int64_t rows, int64_t xStride,
                           const uint8_t *w, int64_t n, int64_t kq,
                           int64_t wStride, const float *gate,
                           int64_t gateStride, int32_t *out, int64_t outStride,
                           KernelKind kind = KernelKind::Auto);

/// out[m * outStride + r] += sum_k x[m * xStride + k] * w(r, k) for r < n,
/// k < kCols, with w in the column-contiguous layout (TernaryPacking.h,
/// bits2_cols: [kCols, colBlocks(n), 64] bytes). Only the columns k where
/// some activation row is non-zero are read.
void bitlinearI8Bits2Cols(const int8_t *x, int64_t rows, int64_t xStride,
                          int64_t kCols, const uint8_t *w, int64_t n,
                          int32_t *out, int64_t outStride,
                          KernelKind kind = KernelKind::Auto);

/// out[m * outStride + n] += sum_k x[m * xStride + k] * W(k, n), where
/// W(k, n) = w[n * wStride + k] if `transposed` (w is [n, k]) else
/// w[k * wStride + n] (w is [k, n]). Sums in a different order than a loop
/// over k does (float rounding differs).
void matmulF32(const float *x, int64_t rows, int64_t xStride, const float *w,
               int64_t n, int64_t k, int64_t wStride, bool transposed,
               float *out, int64_t outStride, KernelKind kind = KernelKind::Auto);

/// One matrix of a batch: its base and its strides over rows and columns.
struct StridedMatrix {
  const float *base;
  int64_t rowStride, colStride;
};

/// For each of `batches` batches b: c_b[m, n] += sum_k a_b[m, k] * b_b[k, n]
/// (m < rows, n < n, k < k), with a_b, b_b, c_b the b-th entries of `a`,
/// `bm`, `c` (attention's per-head Q K^T and P V). Batches run on the kernel
/// threads; unit column strides take the vector kernel. Sums in a different
/// order than a loop over k does (float rounding differs).
void batchedMatmulF32(const StridedMatrix *a, const StridedMatrix *bm,
                      const StridedMatrix *c, int64_t batches, int64_t rows,
                      int64_t n, int64_t k, KernelKind kind = KernelKind::Auto);

/// out[m * outStride + n] += sum_k x[m * xStride + k] * float(w[n * wStride
/// + k]) (an int8 LM head; the caller applies the row scales).
void matmulF32I8W(const float *x, int64_t rows, int64_t xStride,
                  const int8_t *w, int64_t n, int64_t k, int64_t wStride,
                  float *out, int64_t outStride,
                  KernelKind kind = KernelKind::Auto);

/// Weights of an int4 LM head that share a scale (bitnet-int4-lm-head).
constexpr int64_t kI4Group = 32;

/// out[m * outStride + n] += sum_g s[n * sStride + g] * (sum over the
/// group's 32 k of x[m * xStride + k] * q(n, k)), the inner sums in
/// integers, for an int4 LM head (x: int8 codes): row n's group g is the
/// 16 bytes at w + n * wStride + 16 g, byte j holding element j (low
/// nibble) and j + 16 (high nibble) as q + 8, q in [-8, 7]. k must be a
/// multiple of 32.
void matmulI8I4W(const int8_t *x, int64_t rows, int64_t xStride,
                 const uint8_t *w, const float *s, int64_t n, int64_t k,
                 int64_t wStride, int64_t sStride, float *out,
                 int64_t outStride, KernelKind kind = KernelKind::Auto);

/// The 16-bit float formats of an LM head stored narrower (f16: IEEE half).
enum class HalfFormat { F16, BF16 };

/// out[m * outStride + n] += sum_k x[m * xStride + k] * float(w[n * wStride
/// + k]), w's words read as `format` (an f16 or bf16 LM head).
void matmulF32HalfW(const float *x, int64_t rows, int64_t xStride,
                    const uint16_t *w, int64_t n, int64_t k, int64_t wStride,
                    float *out, int64_t outStride, HalfFormat format,
                    KernelKind kind = KernelKind::Auto);

/// rank[r * stride + i] += the number of j with |x_j| > |x_i|, or |x_j| ==
/// |x_i| and j < i, in row r of `rows` rows of `d` (TopK's "beaten" count),
/// by sorting (AVX-512 kinds: by vector compares for d <= 256); rows
/// holding NaN are counted pairwise (the definition).
void topkRankF32(const float *x, int64_t rows, int64_t xStride, int64_t d,
                 int32_t *rank, int64_t rankStride,
                 KernelKind kind = KernelKind::Auto);

/// The kernel Auto picks on this machine: the widest the CPU has, or a lower
/// one named by BITNET_UKERNEL (portable, avx2).
KernelKind selectedKernel();
/// Every kind this CPU runs, narrowest (Portable) first, widest last (tests
/// and benchmarks compare them).
std::vector<KernelKind> availableKernels();
/// "portable", "avx512-vnni" or "avx2" ("auto" for Auto).
const char *kernelName(KernelKind kind);
/// Threads the kernels use.
int kernelThreads();

} // namespace bitnet_rt

extern "C" {
/// Compiled loop nests over a parallel dimension (bitnet-lower-parallel-tasks):
/// runs task(frame, a, b) on disjoint ranges covering [lo, hi), on the
/// kernel threads where hi - lo iterations of about `work` operations each
/// pay for waking them, else task(frame, lo, hi) on the calling thread.
void bitnet_parallel_for(void (*task)(void *frame, int64_t lo, int64_t hi),
                         void *frame, int64_t lo, int64_t hi, int64_t work);
/// MLIR's C interface for an unranked memref argument.
struct BitnetUnrankedMemRef {
  int64_t rank;
  void *descriptor;
};
/// x: f32 [lead..., k]; w: f32 [k, n]; out: f32 [lead..., n].
void _mlir_ciface_bitnet_ukernel_matmul_f32(BitnetUnrankedMemRef *x,
                                            BitnetUnrankedMemRef *w,
                                            BitnetUnrankedMemRef *out);
/// x: f32 [lead..., k]; w: f32 [n, k]; out: f32 [lead..., n].
void _mlir_ciface_bitnet_ukernel_matmul_f32_nt(BitnetUnrankedMemRef *x,
                                               BitnetUnrankedMemRef *w,
                                               BitnetUnrankedMemRef *out);
/// x: i8 [lead..., k]; w: i8 [n, k / 2] (matmulI8I4W's layout); s: f32
/// [n, k / 32]; out: f32 [lead..., n].
void _mlir_ciface_bitnet_ukernel_matmul_i8_i4w_nt(BitnetUnrankedMemRef *x,
                                                   BitnetUnrankedMemRef *w,
                                                   BitnetUnrankedMemRef *s,
                                                   BitnetUnrankedMemRef *out);
/// x: f32 [lead..., k]; w: i8 [n, k]; out: f32 [lead..., n].
void _mlir_ciface_bitnet_ukernel_matmul_f32_i8w_nt(BitnetUnrankedMemRef *x,
                                                   BitnetUnrankedMemRef *w,
                                                   BitnetUnrankedMemRef *out);
/// x: f32 [lead..., k]; w: f16 [n, k]; out: f32 [lead..., n].
void _mlir_ciface_bitnet_ukernel_matmul_f32_f16w_nt(BitnetUnrankedMemRef *x,
                                                    BitnetUnrankedMemRef *w,
                                                    BitnetUnrankedMemRef *out);
/// x: f32 [lead..., k]; w: bf16 [n, k]; out: f32 [lead..., n].
void _mlir_ciface_bitnet_ukernel_matmul_f32_bf16w_nt(BitnetUnrankedMemRef *x,
                                                     BitnetUnrankedMemRef *w,
                                                     BitnetUnrankedMemRef *out);
/// a: f32 [batch..., m, k]; b: f32 [batch..., k, n]; out: f32 [batch..., m,
/// n] (any strides; the same batch sizes in all three).
void _mlir_ciface_bitnet_ukernel_bmm_f32(BitnetUnrankedMemRef *a,
                                         BitnetUnrankedMemRef *b,
                                         BitnetUnrankedMemRef *out);
/// x: f32 [lead..., d] (twice: the generic reads it as i and j); out: i32
/// [lead..., d].
void _mlir_ciface_bitnet_ukernel_topk_rank_f32(BitnetUnrankedMemRef *x,
                                               BitnetUnrankedMemRef *x2,
                                               BitnetUnrankedMemRef *out);
/// Attention against the KV cache, columns j < start only (see
/// ImporterKVCache.cpp): q f32 [1, H, S, D], kc f32 [1, Hkv, C, D] (strided),
/// start i64 [], out f32 [1, H, S, C] += q . kc^T for j < start.
void _mlir_ciface_bitnet_ukernel_attn_scores_cached(BitnetUnrankedMemRef *q,
                                                    BitnetUnrankedMemRef *kc,
                                                    BitnetUnrankedMemRef *start,
                                                    BitnetUnrankedMemRef *out);
/// p f32 [1, H, S, C] (strided), vc f32 [1, Hkv, C, D], start i64 [],
/// out f32 [1, H, S, D] += p[.., j] vc[j, ..] for j < start.
void _mlir_ciface_bitnet_ukernel_attn_pv_cached(BitnetUnrankedMemRef *p,
                                                BitnetUnrankedMemRef *vc,
                                                BitnetUnrankedMemRef *start,
                                                BitnetUnrankedMemRef *out);
/// The same two with an f16 cache (kc / vc elements are IEEE halves).
void _mlir_ciface_bitnet_ukernel_attn_scores_cached_f16(
    BitnetUnrankedMemRef *q, BitnetUnrankedMemRef *kc, BitnetUnrankedMemRef *start,
    BitnetUnrankedMemRef *out);
void _mlir_ciface_bitnet_ukernel_attn_pv_cached_f16(
    BitnetUnrankedMemRef *p, BitnetUnrankedMemRef *vc, BitnetUnrankedMemRef *start,
    BitnetUnrankedMemRef *out);
/// The same two with a q4 cache [1, Hkv, C, D / 2 + 4] i8: rows of 4-bit
/// codes and an f32 scale (ImportOptions::KVStorage::Q4). The cache comes 5
/// times (code bytes, then the scale's 4 bytes in the reference lowering),
/// then i32 [2] {offset, BOS offset} twice; value = (code - offset) * scale.
void _mlir_ciface_bitnet_ukernel_attn_scores_cached_q4(
    BitnetUnrankedMemRef *q, BitnetUnrankedMemRef *kc, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *, BitnetUnrankedMemRef *, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *offsets, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *start, BitnetUnrankedMemRef *out);
void _mlir_ciface_bitnet_ukernel_attn_pv_cached_q4(
    BitnetUnrankedMemRef *p, BitnetUnrankedMemRef *vc, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *, BitnetUnrankedMemRef *, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *offsets, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *start, BitnetUnrankedMemRef *out);
/// The same two with a q3 cache [1, Hkv, C, 3 D / 8 + 4] i8 (three bit
/// planes and an f32 scale per row, ImportOptions::KVStorage::Q3): the
/// cache 3 times (one per plane in the reference lowering), the BOS row's
/// fourth plane [1, Hkv, 1, ...], the cache 4 times (the scale's bytes),
/// then i32 [2] {offset, BOS offset} twice.
void _mlir_ciface_bitnet_ukernel_attn_scores_cached_q3(
    BitnetUnrankedMemRef *q, BitnetUnrankedMemRef *kc, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *, BitnetUnrankedMemRef *bos, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *, BitnetUnrankedMemRef *, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *offsets, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *start, BitnetUnrankedMemRef *out);
void _mlir_ciface_bitnet_ukernel_attn_pv_cached_q3(
    BitnetUnrankedMemRef *p, BitnetUnrankedMemRef *vc, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *, BitnetUnrankedMemRef *bos, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *, BitnetUnrankedMemRef *, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *offsets, BitnetUnrankedMemRef *,
    BitnetUnrankedMemRef *start, BitnetUnrankedMemRef *out);
/// x: i8 [lead..., kq, 4]; w: i8 [n, kq]; out: i32 [lead..., n].
void _mlir_ciface_bitnet_ukernel_bitlinear_i8_bits2(BitnetUnrankedMemRef *x,
                                                    BitnetUnrankedMemRef *w,
                                                    BitnetUnrankedMemRef *out);
/// As above, plus gate: f32 [lead..., n]; only outputs with gate > 0.
void _mlir_ciface_bitnet_ukernel_bitlinear_i8_bits2_gated(
    BitnetUnrankedMemRef *x, BitnetUnrankedMemRef *w, BitnetUnrankedMemRef *gate,
    BitnetUnrankedMemRef *out);
/// x: i8 [lead..., k]; w: i8 [k, colBlocks(n), 64] (bits2_cols); out: i32
/// [lead..., n].
void _mlir_ciface_bitnet_ukernel_bitlinear_i8_bits2_cols(
    BitnetUnrankedMemRef *x, BitnetUnrankedMemRef *w, BitnetUnrankedMemRef *out);
}

#endif // BITNET_RUNTIME_UKERNELS_H
