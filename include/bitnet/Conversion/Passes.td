//===- Passes.td - bitnet conversion passes ----------------*- tablegen -*-===//

#ifndef BITNET_CONVERSION_PASSES_TD
#define BITNET_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// BitNetToLinalg
//===----------------------------------------------------------------------===//

def BitNetConvertToLinalg : Pass<"bitnet-convert-to-linalg", "ModuleOp"> {
  let summary = "Reference lowering of every bitnet op to linalg, tensor, arith and math";
  let description = [{
    Lowers every `bitnet` op to `linalg.generic`s over builtin tensors, with
    `!bitnet.packed_ternary` values turned into their `tensor<... x P x i8>`
    storage form (function signatures included). This lowering is the
    executable definition of the dialect's numerics: fused and target-specific
    lowerings are tested against it. It favours obviousness over speed (TopK is
    O(d^2) per token).

    `bitnet.fused_bitlinear` is first decomposed as by
    `--bitnet-decompose-fused-bitlinear`.

    Example:

    ```mlir
    // bitnet-opt --bitnet-convert-to-linalg
    %q, %s = bitnet.absmax_quant %x : tensor<4x64xf32> -> tensor<4x64xi8>, tensor<4xf32>
    // becomes a max-reduction, a per-token generic computing 127/d and d/127,
    // and an elementwise generic with math.roundeven and clamps.
    ```
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

//===----------------------------------------------------------------------===//
// BitNetToGPU
//===----------------------------------------------------------------------===//

def BitNetBitLinearToGPU : Pass<"bitnet-bitlinear-to-gpu", "ModuleOp"> {
  let summary = "Turn BitLinear layer functions into NVPTX decode GEMV kernels";
  let description = [{
    Each public `func.func` whose body is one BitLinear layer — a
    `bitnet.bitlinear` of its arguments (i8 codes `[M, K]`, per-row scales
    `[M]`, `!bitnet.packed_ternary<NxK, bits2>` weights, the weight scale)
    whose result it returns, or a gate-first form of one (below) — becomes a
    `gpu.func` kernel of the same name in
    `gpu.module @bitnet_kernels`, and the function is removed. Other
    functions are refused: whole models do not run on the GPU yet.

    The kernel (bare-pointer parameters `x, x_scale, weight, weight_scale,
    out`; every buffer 16-byte aligned) gives each warp `rows-per-warp`
    output rows. A lane streams 16-byte chunks (64 weights) of those rows,
    unpacks the 2-bit codes `w + 1` in registers with a shift and a mask per
    4 weights, and accumulates `dp4a(w + 1 as u8, x as s8)` in i32; the sum
    of `x` (also by dp4a) is subtracted once, so the integer result is exact
    and `out = f32(acc) * (x_scale * weight_scale)` is bit-identical to the
    reference lowering. The four codes of one packed byte belong to
    consecutive inputs, so the activation bytes are regrouped (`x[j], x[j+4],
    x[j+8], x[j+12]`) with byte permutes, once per chunk for all rows of the
    warp. Lanes sum over a warp with shuffles.

    Quantize-into-GEMM: when the function first quantizes an f32 argument
    with `bitnet.absmax_quant` or `bitnet.absmean_quant` and the bitlinear
    takes those codes and scales, the quantizer becomes the kernel's
    prologue (parameters `x` f32, `weight, weight_scale, out`; the kernel
    records `bitnet.prologue`): each block reduces every activation row (max
    |x| in f32, or the sum of |x| in f64 as the reference does: per-thread
    partial sums added in order by thread 0), computes the multiplier and
    scale with the reference's own arithmetic
    (`buildQuantMultiplierAndScale`), writes the codes to shared memory, and
    the GEMV reads them there. No quantized tensor goes through global
    memory and no separate quantize kernel runs. Decode sizes only: M <= 2,
    M * K <= 32768.

    Gate-first sparsity: a `bitnet.gated_bitlinear` body (its gate `[M, N]`
    f32 one more argument, before `out`; the kernel records `bitnet.gated`)
    reads a warp's weight row only where some activation row's gate is > 0
    (a warp-uniform branch: a closed row costs no memory traffic) and writes
    0 for closed outputs. A body `bitlinear` (gate) + `gated_bitlinear` (up,
    gated by it, same codes) + `relu2_glu` returned becomes one kernel
    (`bitnet.glu`; parameters `x, x_scale, weight, weight_scale, weight_up,
    weight_scale_up, out`): each warp computes its rows' gates, then reads
    their up rows only where a gate is open, and writes `relu2_glu`. A
    quantizer of an f32 argument in front of both becomes its prologue (as
    above; parameters `x` f32, `weight, weight_scale, weight_up,
    weight_scale_up, out`).

    Zero inputs: a `bitnet.bitlinear` with `bits2_cols` weights (M = 1)
    becomes the column kernel (`bitnet.columns`; parameters `x, x_scale,
    weight_cols, weight_scale, out`, weights `[K, ceil(N / 256), 16]` i32):
    blocks of 8 warps compact the non-zero inputs into shared memory and
    read only their columns' 8-byte pieces (32 output rows per block).

    Each kernel records its launch shape: `known_block_size` and
    `bitnet.grid_size`. Requirements, checked with a clear error: static
    shapes, `K % 64 == 0`, i8 codes, `bits2` weights.

    Example:

    ```mlir
    func.func @qkv(%x: tensor<1x2560xi8>, %s: tensor<1xf32>,
                   %w: !bitnet.packed_ternary<3840x2560, bits2>,
                   %ws: tensor<f32>) -> tensor<1x3840xf32> {
      %y = bitnet.bitlinear %x, %s, %w, %ws : (...) -> tensor<1x3840xf32>
      return %y : tensor<1x3840xf32>
    }
    // becomes gpu.module @bitnet_kernels { gpu.func @qkv(...) kernel }
    ```
  }];
  let options = [
    Option<"rowsPerWarp", "rows-per-warp", "int64_t", /*default=*/"0",
           "Output rows per warp; 0 picks by shape">,
    Option<"warpsPerBlock", "warps-per-block", "int64_t", /*default=*/"0",
           "Warps per thread block; 0 picks by shape">,
    Option<"tensorCores", "tensor-cores", "bool", /*default=*/"false",
           "Layers of M >= 16 rows (a multiple of 16; plain or stacked, K a "
           "multiple of 128, N of 16) as the tensor-core kernel of "
           "bitnet-launch-bitlinear-kernels (mma.sync, sm_80 and newer; "
           "byte weights [N, K/4], the same bytes and outputs)">,
    Option<"mmaStagesAhead", "mma-stages-ahead", "int64_t", /*default=*/"3",
           "Those kernels' stages of loads in flight (1 to 3)">,
    Option<"mmaWarpRows", "mma-warp-rows", "int64_t", /*default=*/"0",
           "Those kernels' block shapes: 0 the fixed ones, 16 or 32 the "
           "block-shape search at that many weight rows a warp">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def BitNetLaunchBitLinearKernels
    : Pass<"bitnet-launch-bitlinear-kernels", "ModuleOp"> {
  let summary = "Run a whole model's decode BitLinear ops as the GEMV kernels "
                "of bitnet-bitlinear-to-gpu";
  let description = [{
    The whole-model CUDA path (`bitnet-compile --target=cuda model.onnx`)
    runs this between `bitnet-fold-weights` and the reference lowering. Each
    `bitnet.bitlinear` with few activation rows (`M <= max-rows`, static
    shapes, `K` a multiple of 64) whose weights are a `bits2`
    `bitnet.packed_constant` becomes a launch of the decode GEMV kernel (the
    one `bitnet-bitlinear-to-gpu` builds, docs/GPU.md) instead of a generic
    grid of threads. Kernels go into `gpu.module @bitnet_kernels`, one per
    distinct (M, N, K), named `bitlinear_m<M>_n<N>_k<K>`; they take the
    packed bytes `[N, K/4]` i8 as the model's weight tensors hold them (the
    blob stores each weight once for the prefill and decode entries).

    At tensor level the op becomes:

    ```mlir
    %x = bufferization.to_buffer %codes read_only   // [M, K] i8 (collapsed)
    %s = bufferization.to_buffer %scales read_only  // [M] f32
    %w = bufferization.to_buffer %packed read_only  // [N, K/4] i8
    %ws = bufferization.to_buffer %wscale read_only // [1] f32
    %out = memref.alloc() : memref<MxNxf32>
    gpu.launch_func @bitnet_kernels::@bitlinear_m1_n... args(%x, %s, %w, %ws, %out)
    %y = bufferization.to_tensor %out restrict writable  // then reshaped
    ```

    which one-shot bufferization turns into buffers of the surrounding
    code. The kernel's result is bit-identical to the reference lowering's
    (same integer sum, same `f32(acc) * (x_scale * weight_scale)`). The
    codes come from the model's own quantizer (its codes also feed the
    sparsity counts); other BitLinear ops (more rows than `max-rows`,
    weights computed at run time) keep the reference lowering. The model
    compiler sets `max-rows` to 16: prefill chunks of up to 16 tokens get
    the kernel's loop form (M > 2), decode its unrolled form.

    A `bitnet.relu2_glu` of two such BitLinear ops (gate, up) that share
    their codes and scales, feed nothing else and have at most 2 activation
    rows becomes one launch of the gate-first GLU kernel,
    `glu_m<M>_n<N>_k<K>` (parameters `x, x_scale, gate_weight, gate_scale,
    up_weight, up_scale, out`): a warp computes its rows' gates, reads an
    up row only where a gate is open and writes `up * max(gate, 0)^2`.
    Where the gate is closed it writes +0 where the reference writes
    `up * 0` (-0 for a negative up): the same value to every later op
    (the down projection's quantizer codes are identical).

    With `tensor-cores`, a layer of M rows, a multiple of 16 (a prefill
    chunk; K a multiple of 128, N a multiple of 16) becomes a launch of
    `bitlinear_mma_m<M>_n<N>_k<K>[_stacked]` instead (same parameters;
    blocks of R x WN weight rows and a tile of the M rows, the largest of
    64, 48, 32 and 16 that divides M, the grid's y dimension walking the
    tiles; WN x WK warps of R rows, the K-groups taking every WK-th chunk
    of 128. By default (`mma-warp-rows=0`) R = 16 and WN = 4 (WK = 2) where
    that leaves 96 blocks over N, else 2 (or 1) with WK = 4. With
    `mma-warp-rows=16` or `32` (not yet measured on a GPU), R is that many
    rows and WN x WK = 8, WN the largest of 8 and 4 that leaves 96 blocks
    or more over both grid dimensions (8 needs tiles of 32 or 64 rows),
    else the default's 2 x 4 warps of 16 rows; the codes staged through
    shared memory, transposed in 4 x 4 bytes so that a word of packed
    weights unpacks by shift and mask; `nvvm.mma.sync` m16n8k32, s8 codes
    times u8 weight codes, minus each row's code sum; `mma-stages-ahead`
    stages of loads in flight; bit-identical outputs).
  }];
  let options = [
    Option<"maxRows", "max-rows", "int64_t", /*default=*/"2",
           "Largest M (activation rows) that gets the GEMV kernel">,
    Option<"stackLayers", "stack-layers", "bool", /*default=*/"true",
           "Layers of the same input codes (q, k, v) run as one kernel over "
           "their weights stacked row-wise">,
    Option<"tensorCores", "tensor-cores", "bool", /*default=*/"false",
           "Layers of 16 to 64 activation rows (a multiple of 16) run as the "
           "tensor-core kernel (mma.sync m16n8k32 s8, sm_80+) instead of the "
           "GEMV kernel's loop form, also beyond max-rows">,
    Option<"mmaStagesAhead", "mma-stages-ahead", "int64_t", /*default=*/"3",
           "Stages of K (a chunk of 128 for each K-group of warps) whose "
           "loads the tensor-core kernel has in flight ahead of the one it "
           "computes (1 to 3)">,
    Option<"mmaWarpRows", "mma-warp-rows", "int64_t", /*default=*/"0",
           "The tensor-core kernel's block shapes: 0 the fixed ones; 16 or "
           "32 the block-shape search at that many weight rows a warp (32: "
           "twice the accumulators)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def BitNetLaunchTopKKernel : Pass<"bitnet-launch-topk-kernel", "ModuleOp"> {
  let summary = "Run a whole model's bitnet.topk_sparsify as a radix-select "
                "kernel, one block per row";
  let description = [{
    The whole-model CUDA path runs this after
    `bitnet-launch-bitlinear-kernels`. The reference lowering ranks every
    element by counting the elements that beat it (larger |x|, or equal |x|
    at a lower index): O(d^2) work per row that the generic path spread
    over thousands of threads of partial counts. Each `bitnet.topk_sparsify`
    of a static f32 tensor (rank >= 2, rows of d <= 16384 elements) becomes
    a launch of `topk_m<M>_d<D>_k<K>` (K the kept count), one block per row
    of up to 1024 threads, each thread holding consecutive elements:

    1. radix select over the bits of |x| (non-negative floats order as
       unsigned integers), 8 bits at a time from the top: a shared
       histogram of the candidates' digits (a shared atomic add per
       candidate), then warp 0 scans it from the largest bin to find the
       digit of the K-th largest key, its rank among the keys with that
       digit (`need`) and how many keys have it;
    2. when that bin holds exactly `need` keys (early exit), every key
       whose digits so far are the threshold's is kept and the select
       stops; otherwise, after 4 digits the threshold is the K-th largest
       |x| and a block scan of the threads' counts of equal keys (in index
       order) gives each its rank among them;
    3. an element is kept if |x| is above the threshold, or equal to it
       (in the digits found) and among the first `need` by index, or NaN
       (NaN never beats an element nor is beaten in the reference's
       comparisons); others are 0.

    These are exactly the elements whose reference rank is below K, so the
    output is bit-identical. Other TopK ops keep the reference lowering.

    When the TopK's only user is a `bitnet.absmax_quant` (a4.8's output
    projection input), the kernel (`..._absmax<bits>`) quantizes the kept
    row itself: the block maximum of |y|, the multiplier and scale of
    `buildQuantMultiplierAndScale`, and codes = clip(roundeven(y * mult),
    -Q - 1, Q), written with the scale instead of the f32 row: the
    quantizer's own arithmetic, so the codes and scale are bit-identical,
    and two launches (its statistic and its codes) fewer a layer. The
    quantizer's non-zero codes are counted in the kernel where the importer
    counts them (`..._nz`, as `bitnet-launch-quantizer-kernel` does).

    **Into the GEMV** (`gemv-prologue`, on by default): where that
    quantizer is of one row and its codes and scale only one launch of the
    dense GEMV kernel reads (besides the count; the rule of
    `bitnet-launch-quantizer-kernel`), the TopK and the quantizer become
    that kernel's prologue instead: `topk_k<K>_absmax<bits>[_nz]_<gemv
    kernel>`, parameters x `[1, D]` f32 (and the count) in place of the
    codes and scale, launched where the quantizer was. Every block of the
    GEMV (8 warps of 4 rows, up to 16 elements a thread: D <= 4,096)
    selects and quantizes the row into workgroup memory after issuing its
    weight loads; block 0 alone writes the count. The a4.8 output
    projection then reads the attention output directly: one launch fewer
    a layer at decode.

    **Early exit** (`early-exit`, on by default): the select stops after
    a digit whose bin holds exactly the keys still needed: all of them are
    kept, and no tie scan is needed (2,560 Gaussian-like values: usually
    after three of the four digits).

    ```mlir
    %y = bitnet.topk_sparsify %x {ratio = 5.0e-01 : f64} : tensor<1x1x2560xf32>
    // becomes
    %in = bufferization.to_buffer %x2d read_only : ... to memref<1x2560xf32>
    %out = memref.alloc() : memref<1x2560xf32>
    gpu.launch_func @bitnet_kernels::@topk_m1_d2560_k1280 blocks in (%c1, ..)
        threads in (%c1024, ..) args(%in : memref<1x2560xf32>, %out : memref<1x2560xf32>)
    ```
  }];
  let options = [
    Option<"gemvPrologue", "gemv-prologue", "bool", /*default=*/"true",
           "A one-row TopK and quantizer whose codes only a GEMV launch "
           "reads become that kernel's prologue">,
    Option<"earlyExit", "early-exit", "bool", /*default=*/"true",
           "Stop the radix select once the kept-th key's bin holds exactly "
           "the keys still needed (the remaining digits cannot change the "
           "kept set)">,
    Option<"gemvRowsPerWarp", "gemv-rows-per-warp", "int64_t",
           /*default=*/"4",
           "Output rows a warp of such a GEMV computes (its blocks have 8 "
           "warps)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def BitNetLaunchAttentionKernel
    : Pass<"bitnet-launch-attention-kernel", "ModuleOp"> {
  let summary = "Run a whole model's bitnet.cached_attention as one kernel, "
                "one block per token and query head (prefill: per group of "
                "one KV head's query heads)";
  let description = [{
    The whole-model CUDA path runs this with the other launch passes. The
    reference lowering of `bitnet.cached_attention` is ~10 kernels a layer
    once lowered (scores over the cache and the new rows, scale, mask,
    join, a softmax, two products and their sum), each a launch of a few
    microseconds at batch 1. Each op with f32 or f16 caches, a head size
    divisible by 4 (up to 2048) and a cache that fits the block's shared
    memory with its scores becomes a launch of
    `attention_h<H>_kv<KVH>_s<S>_c<C>_d<D>[_f16]_n<N>x<R>[_g<G>]` (N, R:
    the cache argument's tensors and rows) on a grid of (H / G, S) blocks
    of 512 threads. G = 1 at decode (S = 1: more blocks); for S > 1 it is
    the largest divisor of H / KVH whose G score rows (and one P V
    partials array, the heads' slices summed one head after the other)
    fit the shared memory: block (j, i) computes query heads G j .. G j +
    G - 1 (one KV head) of token i, each key and value row loaded once for
    all G, each head's sums in the same order as with G = 1 (the same
    bits). For each head h of the block:

    1. scores: groups of L lanes (L = D / 16, at most 32) take one key
       row each, every lane holding 16-byte pieces of q in registers; the
       cached keys (rows < start) come four rows per group at once, their
       loads issued together, then the new keys (rows <= i); a shuffle sum
       over the group, times `scale`, into shared memory;
    2. softmax: block maximum, exp(s - max), block sum, division, in
       shared memory;
    3. P V: 16-byte pieces of the value rows (a warp reads whole rows),
       slices of the rows per thread group, `value-rows` rows (default
       4) in flight, then the slices' sums.

    The cache operands are read in place: a slice of the step's cache
    argument (the importer's form) is passed as the whole cache and the
    slice's first index. Sums add in another order than the reference
    (relative ~1e-7); masked rows are never read. Other ops keep the
    reference lowering.

    ```mlir
    %o = bitnet.cached_attention %q, %k, %v, %kc, %vc start %pos {scale = ...}
    // becomes
    gpu.launch_func @bitnet_kernels::@attention_h20_kv5_s1_c256_d128_n60x256
        blocks in (%c20, %c1, %c1) threads in (%c512, %c1, %c1)
        args(%q, %k, %v, %cache, %c58, %cache, %c59, %pos, %scale, %out : ...)
    ```
  }];
  let options = [
    Option<"valueRows", "value-rows", "int64_t", /*default=*/"4",
           "Value rows a thread of P V has in flight (1 to 32)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def BitNetLaunchQuantizerKernel
    : Pass<"bitnet-launch-quantizer-kernel", "ModuleOp"> {
  let summary = "Run an absmax quantizer of a kernel's output as one block "
                "per row";
  let description = [{
    The whole-model CUDA path runs this after the other launch passes. An
    absmax quantizer lowers to two generic launches (its statistic as a
    block reduction, then the codes over many blocks); where its input is
    a launched kernel's result (a `bufferization.to_tensor`, through
    reshapes and transposes: the 2B4T down projection's 6,912 GLU
    outputs, b1.58's attention output), no single-block kernel around it
    takes it in, and the two stay. Each `bitnet.absmax_quant` of such a
    static f32 input (rank >= 2, rows of up to 16,384 elements, at most
    `max-rows` rows) becomes a launch of `absmax<bits>_m<M>_d<D>`: a block
    per row of D/4 threads (rounded up to a warp, at most 1024), each
    thread holding its elements
    (`tid + threads * j`) in registers, the block maximum of |x| (warp
    shuffles, then the warps' maxima in shared memory), the multiplier
    and scale of `buildQuantMultiplierAndScale` and codes =
    clip(roundeven(x * mult), -Q - 1, Q): the quantizer's own arithmetic,
    bit-identical codes and scale. Quantizers of generic kernels' outputs
    (a norm's, which join the norm's single-block kernel) are left alone.

    Where the importer counts the quantizer's non-zero codes per row (the
    sparsity table's `linalg.generic` summing `code != 0` as i32 over the
    last dimension into a zero fill), the kernel counts them too
    (`..._nz`, a `[rows]` i32 parameter: thread 0 zeroes the row's count
    before the block maximum's barrier, each warp adds its lanes' counts
    with one atomic add) and the count generic is replaced by that buffer.
    The TopK and norm kernels do the same for their quantizers.

    **Into the GEMV** (`gemv-prologue`, on by default): a quantizer of one
    row whose codes and scale only one launch of the dense GEMV kernel
    reads (besides the count; `bitnet-launch-norm-quantizer-kernel` has the
    same rule) becomes that kernel's prologue instead:
    `absmax<bits>[_nz]_<gemv kernel>`, parameters x `[1, D]` f32 (and the
    count) in place of the codes and scale, launched where the quantizer
    was. Every block of the GEMV (8 warps of 4 rows, up to 32 elements a
    thread: D <= 8,192) quantizes the row into workgroup memory after
    issuing its weight loads; block 0 alone writes the count. The a4.8 down
    projection then reads the GLU kernel's output directly.
  }];
  let options = [
    Option<"maxRows", "max-rows", "int64_t", /*default=*/"64",
           "Quantizers of at most this many rows (tokens)">,
    Option<"gemvPrologue", "gemv-prologue", "bool", /*default=*/"true",
           "A one-row quantizer whose codes only a GEMV launch reads becomes "
           "that kernel's prologue">,
    Option<"gemvRowsPerWarp", "gemv-rows-per-warp", "int64_t",
           /*default=*/"4",
           "Output rows a warp of such a GEMV computes (its blocks have 8 "
           "warps)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def BitNetLaunchNormQuantizerKernel
    : Pass<"bitnet-launch-norm-quantizer-kernel", "ModuleOp"> {
  let summary = "Run the row-local ops in front of an activation quantizer "
                "(residual add, RMSNorm) and the quantizer as one kernel";
  let description = [{
    The whole-model CUDA path runs this after the other launch passes. An
    activation quantizer's input is usually a chain of `linalg.generic` ops
    over its rows (the residual add, RMSNorm's squares, mean, eps, sqrt,
    reciprocal and products); lowered generically, that chain becomes one
    single-block kernel whose stages pass values through global memory and
    barriers (8.5 us a norm at 2B4T decode). Here each `bitnet.absmax_quant`
    and `bitnet.absmean_quant` of a static f32 input `[lead.., d]` (rank 2
    or more, at most
    `max-rows` rows, d <= 16,384) whose input such a chain computes becomes
    a launch of `norm_<quantizer><bits>_m<rows>_d<d>[_<n>]`, one block per
    row of d/4 threads (a whole number of warps, at most 1024), each thread
    holding elements `tid + threads * j` in registers:

    - The chain is found by scanning back from the quantizer: a generic
      joins when its result feeds the chain and it is elementwise over
      `[lead.., d]` or `[lead.., 1]`, or reduces over the last dimension
      with a sum (zero initial value), minimum or maximum as its
      accumulating op. Its body must be side-effect free ops over its
      arguments and constants (no index reads, no regions). A
      `bitnet.relu2_glu` of two `[lead.., d]` values joins as an
      elementwise op too (a prefill chunk's GLU in front of the down
      projection's quantizer), computed as its reference lowering does.
    - A generic whose result is also used elsewhere (the residual stream
      after the add) joins as an output: the kernel writes it, its uses
      read that buffer, and its own operands are read from memory (at
      most 2 outputs; earlier residual adds are never recomputed).
    - Inputs read from memory: `[lead.., d]` tensors, `[d]` vectors
      (RMSNorm weights) and rank-0 tensors; splat constants are inlined.
    - Elementwise bodies are cloned once per element (per row for
      `[lead.., 1]` values); a reduction's body is folded over each
      thread's elements in order, then the threads' partials are combined
      by its accumulating op (warp shuffles, then the warps in order).
    - The quantizer as `bitnet-launch-quantizer-kernel` builds it (absmean:
      sum |x| in f64 per thread, then the block, / d, rounded to f32),
      counting the row's non-zero codes where the importer counts them
      (`..._nz`, as `bitnet-launch-quantizer-kernel` does).
    - The LM head is a sink too (the final RMSNorm in front of it): the
      float matmul the importer tags `matmul_f32` / `matmul_f32_nt` whose
      output is as wide as the `bitnet.decoder` record's vocabulary. Its
      chain becomes `norm_f32_m<rows>_d<d>`, which writes the chain's value
      (the normed rows) for the head to read; the head stays for
      `bitnet-launch-lm-head-kernel`.

    - **Into the GEMV** (`gemv-prologue`, on by default): where the
      quantizer has one row and its codes and scales are read only by one
      launch of the dense GEMV kernel (`bitnet-launch-bitlinear-kernels`:
      plain, stacked or GLU, one activation row, K = d) and by the
      importer's count, the chain and quantizer become that kernel's
      prologue instead: `norm_<quantizer><bits>[_nz]_<gemv kernel>`, the
      GEMV's parameters with the chain's inputs, outputs (and count) in
      place of the codes and scales, launched where the chain's launch
      would go (the GEMV's weights and output allocation move up to it).
      The GEMV takes the prologue's launch shape (8 warps of 4 rows); after
      issuing its weight loads every block computes the row (d / 256
      elements a thread), quantizes it into workgroup memory and reads the
      codes there; block 0 alone writes the outputs and the count. One
      launch fewer and no codes through global memory; a GEMV kernel no
      launch uses any more is erased.

    Element values are the chain's own operations on the same inputs;
    sums over a row add in another order than the reference's sequential
    loop (as the generic GPU path's split reductions do), so codes may
    differ at rounding ties. Kernels of the same structure (every layer's
    norm) are one kernel.

    ```mlir
    %h = linalg.generic ... ins(%res, %out) { arith.addf }      // output
    %ss = linalg.generic ... ins(%h) { arith.mulf, arith.addf } // reduction
    %n = linalg.generic ... ins(%h, %rsqrt, %w) { arith.mulf, arith.mulf }
    %c, %s = bitnet.absmean_quant %n ...
    // becomes
    gpu.launch_func @bitnet_kernels::@norm_absmean4_m1_d2560 blocks in (%c1, ..)
        threads in (%c640, ..) args(%res, %out, %w, %h_buf, %codes, %scales)
    ```
  }];
  let options = [
    Option<"maxRows", "max-rows", "int64_t", /*default=*/"64",
           "Quantizers of at most this many rows (tokens)">,
    Option<"gemvPrologue", "gemv-prologue", "bool", /*default=*/"true",
           "A one-row chain whose codes only a GEMV launch reads becomes "
           "that kernel's prologue">,
    Option<"gemvRowsPerWarp", "gemv-rows-per-warp", "int64_t",
           /*default=*/"4",
           "Output rows a warp of such a GEMV computes (its blocks have 8 "
           "warps)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::LLVM::LLVMDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def BitNetGatherRowCounts : Pass<"bitnet-gather-row-counts", "ModuleOp"> {
  let summary = "Let kernels write their row counts into the step's result "
                "in place";
  let description = [{
    The whole-model CUDA path runs this after the launch passes. The
    quantizer kernels count their rows' non-zero codes into `[rows]` i32
    buffers of their own (`..._nz`), and a step returns all counts as one
    `[Q, rows]` tensor filled row by row by `tensor.insert_slice`; once
    bufferized, every insert is a small copy, and a 30-layer decode step's
    120 copies ran as one thread's dependent loads and stores (45 us).

    Here a `tensor.empty` `[Q, R]` i32 whose chain of inserts fills each of
    its Q rows exactly once from a kernel's count buffer (a static `[R]`
    i32 `memref.alloc` used only by launches and one
    `bufferization.to_tensor`, read through reshapes) becomes one byte
    buffer `memref<Q*R*4 x i8>`: each count buffer is replaced by a
    `memref.view` of its row (the kernels' parameter types are unchanged),
    and the chain's result by a `to_tensor` of the whole buffer viewed as
    `[Q, R]`, placed after the last insert. Chains of any other form are
    left as they are.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::memref::MemRefDialect",
  ];
}

def BitNetLaunchLMHeadKernel
    : Pass<"bitnet-launch-lm-head-kernel", "ModuleOp"> {
  let summary = "Run a whole model's LM head as a warp-per-row GEMV kernel";
  let description = [{
    The whole-model CUDA path runs this after `bitnet-select-logit-rows`
    (and `bitnet-int8-lm-head` or `bitnet-half-lm-head` where asked for).
    The LM head is the matmul the importer tags `matmul_f32` (weights `[K,
    N]`) or `matmul_f32_nt` (`[N, K]`, a tied embedding),
    `bitnet-int8-lm-head` tags `matmul_f32_i8w_nt` (int8 codes `[N, K]`,
    scaled by the op after it) or `bitnet-half-lm-head` tags
    `matmul_f32_f16w_nt` / `matmul_f32_bf16w_nt` (`[N, K]`), with a
    constant weight, an output width of the `bitnet.decoder` record's
    vocabulary and a zero-filled accumulator. It becomes a launch of
    `lm_head_<f32|i8|f16|bf16>_n<N>_k<K>` in `gpu.module @bitnet_kernels`:

    ```mlir
    %x = bufferization.to_buffer %h read_only    // [M, K] f32 (collapsed)
    %w = bufferization.to_buffer %cst read_only  // [N, K] f32, i8, f16, bf16
    %out = memref.alloc(%m) : memref<?xNxf32>
    gpu.launch_func @bitnet_kernels::@lm_head_f32_n..._k... args(%x, %w, %out)
    ```

    A warp owns `rows-per-warp` vocabulary rows; its lanes read 16-byte
    pieces of each row side by side (coalesced, several loads in flight)
    and multiply them with x in f32 (narrower weights widened in
    registers), and a shuffle reduction adds the
    lanes' sums. For every one of the M rows of x (M is the number of logit
    rows the step returns, known at run time) the weights are read again:
    the kernel is for decode and the last-token row of a prefill. `[K, N]`
    weights are stored transposed once at compile time. The sum is taken in
    another order than the reference lowering's, so logits differ by f32
    rounding (relative ~1e-6). K must fill 16-byte pieces (a multiple of 4
    for f32, 8 for f16 / bf16, 16 for int8); other matmuls are left as they
    are. A module without the
    decoder record is an error.
  }];
  let options = [
    Option<"rowsPerWarp", "rows-per-warp", "int64_t", /*default=*/"0",
           "Vocabulary rows per warp (0: 2 for f32, 4 for int8, f16, bf16)">,
    Option<"warpsPerBlock", "warps-per-block", "int64_t", /*default=*/"0",
           "Warps per block (0: 8)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect",
  ];
}

#endif // BITNET_CONVERSION_PASSES_TD
