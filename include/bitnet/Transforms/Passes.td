//===- Passes.td - bitnet-mlir pipeline passes -------------*- tablegen -*-===//
//
// Passes of the compilation pipeline that are not about the bitnet dialect.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_TRANSFORMS_PASSES_TD
#define BITNET_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def BitNetInsertChainsToConcat : Pass<"bitnet-insert-chains-to-concat"> {
  let summary = "Rewrite long tensor.insert_slice chains as one tensor.concat";
  let description = [{
    A chain of `tensor.insert_slice` ops into a `tensor.empty`, each piece
    whole in every dimension but the first and the pieces tiling the first
    exactly once, becomes one `tensor.concat` along it (a rank-reduced piece
    through a `tensor.expand_shape`). The result is the same tensor.

    Why: a step's per-layer outputs (new KV rows, non-zero counts) are such
    chains, and one-shot bufferization's conflict analysis walks a chain
    back for every pair of its aliases: cubic in its length (2B4T, chains of
    180: 20 s; as concats: well under a second). Run it just before
    bufferization.

    ```mlir
    %0 = tensor.empty() : tensor<2x4xi32>
    %1 = tensor.insert_slice %a into %0[0, 0] [1, 4] [1, 1] : tensor<4xi32> into tensor<2x4xi32>
    %2 = tensor.insert_slice %b into %1[1, 0] [1, 4] [1, 1] : tensor<4xi32> into tensor<2x4xi32>
    // becomes (with min-length=2)
    %ea = tensor.expand_shape %a [[0, 1]] output_shape [1, 4] : tensor<4xi32> into tensor<1x4xi32>
    %eb = tensor.expand_shape %b [[0, 1]] output_shape [1, 4] : tensor<4xi32> into tensor<1x4xi32>
    %2 = tensor.concat dim(0) %ea, %eb : (tensor<1x4xi32>, tensor<1x4xi32>) -> tensor<2x4xi32>
    ```
  }];
  let options = [
    Option<"minLength", "min-length", "int64_t", /*default=*/"8",
           "Rewrite chains of at least this many inserts (shorter ones cost "
           "the analysis little)">,
  ];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

def BitNetSortGlobals : Pass<"bitnet-sort-globals", "::mlir::ModuleOp"> {
  let summary = "Order the module's memref.globals by name";
  let description = [{
    Moves every `memref.global` of the module, in name order, to where the
    first of them was; nothing else changes. One-shot bufferization creates
    the globals of constant tensors in an order that varies between runs of
    the same compile, and the globals' order is the data's order in the
    object file: sorted, an artifact compiled twice is the same bytes.
  }];
}

def BitNetMemRefCopyToLinalg : Pass<"bitnet-memref-copy-to-linalg"> {
  let summary = "Rewrite memref.copy as linalg.copy";
  let description = [{
    `memref.copy` between non-contiguous memrefs lowers to a call to
    `memrefCopy` from MLIR's C runner utilities, which compiled models must
    not depend on (the runtime links no MLIR library). As `linalg.copy` it
    becomes plain loops with `convert-linalg-to-loops`, which LLVM turns back
    into `memcpy` where the layout allows.

    ```mlir
    memref.copy %a, %b : memref<4x8xf32, strided<[16, 1]>> to memref<4x8xf32>
    // becomes
    linalg.copy ins(%a : memref<4x8xf32, strided<[16, 1]>>) outs(%b : memref<4x8xf32>)
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def BitNetPolynomialExp : Pass<"bitnet-polynomial-exp"> {
  let summary = "Expand f32 math.exp into a polynomial LLVM can vectorize";
  let description = [{
    `math.exp` lowers to a call of libm's scalar `expf`, which LLVM's loop
    vectorizer cannot widen: softmax and SiLU then run one element per call
    (toy LLaMA prefill: 25% of the time in `expf` and its PLT stub). This
    pass rewrites each f32 `math.exp` as MLIR's Cephes polynomial (range
    reduction by ln 2 in two parts, a degree-6 polynomial, relative error
    below 2^-22.5), made of arith and `math.fma` ops that vectorize.
    Differences from libm: results below 2^-126 (subnormals) flush to zero;
    -inf gives 0 and large inputs +inf, as in libm. The CPU pipeline
    of compiled artifacts runs it; the reference pipeline keeps libm.
    Other element types and other math ops are left alone.

    ```mlir
    %e = math.exp %x : f32
    // becomes arith.mulf/addf, math.fma, math.floor, arith.fptosi,
    // arith.shli, arith.bitcast (2^n) and no math.exp
    ```
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

def BitNetDeallocAfterLastUse : Pass<"bitnet-dealloc-after-last-use"> {
  let summary = "Move each buffer's dealloc to just after its last use";
  let description = [{
    MLIR's ownership-based buffer deallocation frees a buffer at the end of
    the block that allocates it. A model step is one block: every
    temporary of every layer stays allocated until the step returns, so
    the step's peak memory is the sum of all of them (2B4T-shaped model,
    256-token step: 2.5 GB beside 2.2 GB of weights). This pass moves a
    `memref.dealloc` of a `memref.alloc` of the same block to just after
    the last op of the block that uses the buffer or a view of it (a user
    nested in a region counts as the op of the block that holds it), so a
    step holds about one layer's temporaries at a time.

    Left where it is: a dealloc whose buffer (or a view of it) is used
    outside the block, reaches a terminator or a `memref.dealloc` other
    than its own, or passes through an op that yields a pointer
    (`memref.extract_aligned_pointer_as_index`). Ops that take a view and
    return memrefs are followed as views; calls are assumed not to keep the
    buffers they are passed (the runtime's kernels do not). The CPU
    pipeline runs it after bufferization.

    ```mlir
    %a = memref.alloc() : memref<4xf32>
    linalg.fill ins(%f : f32) outs(%a : memref<4xf32>)
    call @use(%a) : (memref<4xf32>) -> ()
    call @other() : () -> ()
    memref.dealloc %a : memref<4xf32>
    // becomes
    %a = memref.alloc() : memref<4xf32>
    linalg.fill ins(%f : f32) outs(%a : memref<4xf32>)
    call @use(%a) : (memref<4xf32>) -> ()
    memref.dealloc %a : memref<4xf32>
    call @other() : () -> ()
    ```
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def BitNetFoldUnitTransposes : Pass<"bitnet-fold-unit-transposes"> {
  let summary = "Rewrite transposes that only move unit dimensions as "
                "reshapes";
  let description = [{
    A decode step (one token) transposes `[1, 1, H, D]` to `[1, H, 1, D]`
    and back around attention: the elements keep their order, yet each
    transpose is a copy, on the GPU a kernel launch of its own. A
    `linalg.transpose` on static tensors whose permutation keeps the order
    of the non-unit dimensions becomes a `tensor.collapse_shape` to those
    dimensions and a `tensor.expand_shape` to the result (no data moves).
    Other transposes are left alone. The CUDA model pipeline runs it.

    ```mlir
    %t = linalg.transpose ins(%x : tensor<1x20x1x128xf32>)
        outs(%e : tensor<1x1x20x128xf32>) permutation = [0, 2, 1, 3]
    // becomes
    %c = tensor.collapse_shape %x [[0, 1], [2, 3]] : tensor<1x20x1x128xf32> into tensor<20x128xf32>
    %t = tensor.expand_shape %c [[0, 1, 2], [3]] output_shape [1, 1, 20, 128]
        : tensor<20x128xf32> into tensor<1x1x20x128xf32>
    ```
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

def BitNetDataMovementToGenerics : Pass<"bitnet-data-movement-to-generics"> {
  let summary = "Rewrite RoPE's rotate-half concat and head transposes as "
                "generics that elementwise fusion absorbs";
  let description = [{
    Between the QKV projection and attention, every head goes through a
    transpose (`[B, S, H, D]` to `[B, H, S, D]`), RoPE's rotate-half (two
    slices, a negation and a concat) and the RoPE product. Fusion sees
    through none of the first three, so each was a loop of its own over the
    whole tensor (the 2B4T model's wide prefill: 11 GPU kernels a layer
    before attention). This pass rewrites them as generics whose indexing
    maps do the data movement; bitnet-fuse-elementwise, which runs next,
    then folds them into the RoPE product, one loop that reads the
    projection's output in place.

    - A chain of `tensor.insert_slice` into a `tensor.empty` that tiles one
      dimension with slices of a single tensor `x`, each optionally through
      an elementwise generic of one input, becomes one generic when every
      piece reads `x` at `(d + c) mod H` for a common constant `c` (`H`:
      `x`'s size along the dimension). The body applies each piece's op and
      selects by position. Rotate-half is `c = H/2`; the angle table
      `concat(t, t)` is `c = 0` read modulo `H`.
    - A `linalg.transpose` that moves a non-unit dimension and whose every
      reader is an all-parallel generic (not a runtime kernel's) becomes a
      generic. Transposes that only move unit dimensions (a decode step's
      heads) are left to bitnet-fold-unit-transposes, which makes them
      reshapes.

    The same operations compute the same elements: results are
    bit-identical.

    ```mlir
    %lo = tensor.extract_slice %x[0, 0] [4, 16] [1, 1] : tensor<4x32xf32> to tensor<4x16xf32>
    %hi = tensor.extract_slice %x[0, 16] [4, 16] [1, 1] : tensor<4x32xf32> to tensor<4x16xf32>
    %n = linalg.generic ... ins(%hi) { arith.negf }
    %a = tensor.insert_slice %n into %e[0, 0] [4, 16] [1, 1]
    %r = tensor.insert_slice %lo into %a[0, 16] [4, 16] [1, 1]
    // becomes
    %r = linalg.generic {indexing_maps = [(d0, d1) -> (d0, (d1 + 16) mod 32),
                                          (d0, d1) -> (d0, d1)]} ins(%x) {
      %neg = arith.negf %in
      %first = arith.cmpi ult, %index1, %c16
      linalg.yield (select %first, %neg, %in)
    }
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

def BitNetFuseElementwise : Pass<"bitnet-fuse-elementwise"> {
  let summary = "Fuse elementwise linalg ops into their consumers, leaving "
                "runtime-kernel ops whole";
  let description = [{
    The importer turns every ONNX node into its own `linalg.generic`, so an
    RMSNorm is eight loops and seven intermediate tensors before the
    activation quantizer reads it. This pass runs linalg's elementwise
    fusion (a producer's body is cloned into its consumer's) so that the
    squares fuse into the mean, the `x * rsqrt(ms + eps) * w` product into
    the quantizer's scale reduction and code map, and so on: the normalized
    activations are never stored, the quantizer computes codes from the
    residual stream directly (the RMSNorm + quantizer prologue of
    ../DESIGN.md section 3), and what reaches the BitLinear kernel is the
    codes alone.

    - A producer with several users is fused into each of them (its values
      recomputed) only when it is cheap (at most `max-duplicated-ops`
      arithmetic ops, no `math` ops: an exp or a rounding is computed once
      and stored) and every user is a sink: a reduction, or a body that is
      not cheap. Chains of cheap ops (the residual stream's adds) are not
      recomputed in every later op (that made the 2B4T model's compile 65%
      slower; with the rule it is 7% faster than without the pass).
    - A producer that its consumer broadcasts (a per-row `1 / rms`) is not
      fused: it would be recomputed for every element of the row.
    - Generics tagged `bitnet.ukernel` (BitLinear contractions, float
      matmuls, TopK ranks, cached attention) are never fused into or from:
      bitnet-lower-ukernels replaces them by calls with exactly their
      operands.

    Every element is computed by the same operations in the same order, so
    results are bit-identical to the unfused IR.

    ```mlir
    %sq = linalg.generic ... ins(%x) { %s = arith.mulf %in, %in ... }
    %ms = linalg.generic {iterator_types = [..., "reduction"]} ins(%sq) ...
    // becomes one reduction over %x whose body squares and adds
    ```
  }];
  let options = [
    Option<"maxDuplicatedOps", "max-duplicated-ops", "int64_t", "4",
           "Largest body (ops before the yield) recomputed per user">,
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def BitNetExternalizeWeights
    : Pass<"bitnet-externalize-weights", "::mlir::ModuleOp"> {
  let summary = "Replace large constant tensors by views of a weight-blob argument";
  let description = [{
    Every public function with a body gets a last argument `memref<?xi8>`,
    the weight blob the runtime maps from the artifact; each constant tensor
    of at least `min-bytes` bytes (not a splat, whole-byte elements) becomes a
    `memref.view` of it at an aligned offset, wrapped in
    `bufferization.to_tensor restrict`. Equal constants share one offset.
    The compiler (bitnet-compile) writes the bytes into the artifact; as a
    pass, it shows the rewrite and drops the bytes.

    ```mlir
    %w = arith.constant dense<[[1, 2], [3, 4]]> : tensor<2x2xi8>
    // becomes (with the blob as %arg1)
    %c0 = arith.constant 0 : index
    %v = memref.view %arg1[%c0][] : memref<?xi8> to memref<2x2xi8>
    %w = bufferization.to_tensor %v restrict : memref<2x2xi8> to tensor<2x2xi8>
    ```
  }];
  let options = [
    Option<"minBytes", "min-bytes", "int64_t", "1024",
           "Constants of at least this many bytes move to the blob">,
    Option<"alignment", "alignment", "int64_t", "64",
           "Byte alignment of each weight (a power of two)">,
    Option<"includeSplats", "include-splats", "bool", "false",
           "Move splat constants too, stored at full size (the CUDA path)">,
  ];
  let dependentDialects = ["::mlir::memref::MemRefDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::arith::ArithDialect"];
}

def BitNetLowerUkernels : Pass<"bitnet-lower-ukernels", "::mlir::ModuleOp"> {
  let summary = "Replace tagged linalg.generic ops with calls of runtime kernels";
  let description = [{
    Runs on bufferized IR. A `linalg.generic` tagged `bitnet.ukernel =
    "bitlinear_i8_bits2"` (the 2-bit packed BitLinear contraction the
    reference lowering emits: `out[lead, n] += sum_{kq, j} x[lead, kq, j] *
    ((w[n, kq] >> 2j & 3) - 1)`) becomes a call of
    `bitnet_ukernel_bitlinear_i8_bits2` on unranked memrefs, declared with
    the C interface; the runtime (runtime/lib/Ukernels.cpp) provides it with
    AVX-512 VNNI and portable code, multi-threaded. Float linear layers
    tagged `matmul_f32` (`out[lead, n] += x[lead, k] * w[k, n]`) and
    `matmul_f32_nt` (`w[n, k]`) go the same way (AVX-512 or portable; the
    kernel sums in a different order than the loops, so results differ in
    float rounding). Untagged generics are
    left alone, and without this pass tagged ones become loops.

    ```mlir
    linalg.generic {...} ins(%x, %w : memref<1x4x16x4xi8>, memref<32x16xi8>)
        outs(%acc : memref<1x4x32xi32>) attrs = {bitnet.ukernel = "bitlinear_i8_bits2"} {...}
    // becomes
    %0 = memref.cast %x : memref<1x4x16x4xi8> to memref<*xi8>
    %1 = memref.cast %w : memref<32x16xi8> to memref<*xi8>
    %2 = memref.cast %acc : memref<1x4x32xi32> to memref<*xi32>
    call @bitnet_ukernel_bitlinear_i8_bits2(%0, %1, %2)
        : (memref<*xi8>, memref<*xi8>, memref<*xi32>) -> ()
    ```
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::LLVM::LLVMDialect"];
}

def BitNetOutlineLoops : Pass<"bitnet-outline-loops", "::mlir::ModuleOp"> {
  let summary = "Move each top-level scf.for nest into its own function";
  let description = [{
    A model lowered to loops is one function with a loop nest per op; LLVM's
    loop analyses are quadratic in that (minutes for a 30-layer model). In
    functions with at least `min-loops` top-level loops (without results),
    each such loop becomes a call of a new private function
    `<func>_loop<N>`, whose arguments are the values the loop uses from
    outside (constants are cloned instead), marked `no_inline` and LLVM
    `noinline`.

    ```mlir
    func.func @step(%a: memref<4xf32>) {
      scf.for %i = %c0 to %c4 step %c1 { ... %a ... }
    }
    // becomes
    func.func @step(%a: memref<4xf32>) {
      call @step_loop0(%a) : (memref<4xf32>) -> ()
    }
    func.func private @step_loop0(%a: memref<4xf32>) attributes {no_inline, ...} {
      %c0 = arith.constant 0 : index ...
      scf.for %i = %c0 to %c4 step %c1 { ... %a ... }
    }
    ```

    A nest whose function would be identical to one already outlined (the
    same text, argument types included) calls that function instead: a
    model's layers repeat their nests over other buffers, so LLVM compiles
    each distinct nest once (the 2B4T-shaped model's 4,876 nests; compile
    127 s -> 71 s).

    With `parallel-tasks`, top-level `scf.parallel` nests (what
    `convert-linalg-to-parallel-loops` makes of linalg's parallel
    dimensions) are outlined too, as tasks: the function, marked
    `bitnet.parallel_task`, takes `(lo, hi, work)` before the captured
    values and runs the nest with one dimension (unit step) restricted to
    `[lo, hi)`: the outermost one with a non-constant bound (a prompt's
    length); else, if the nest's constant trip counts give it enough work
    for the runtime to ever split it (2^17 operations), the outermost one
    with 16 or more iterations, or the largest. Splitting a constant
    dimension costs LLVM its trip count, so a nest that never splits stays a
    plain function. The call passes that dimension's
    bounds and `work`, the operations one of its iterations runs (the
    body's ops, inner loops of unknown trip count taken as 64, times the
    other dimensions' trip counts). `bitnet-lower-parallel-tasks` turns such
    calls into the runtime's parallel-for; a task called as it is runs the
    whole range.

    ```mlir
    scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %n) step (%c1, %c1) { ... }
    // becomes (dimension 1: its bound %n is not a constant)
    %w = arith.muli %c3, %c8 : index   // the body's ops times 8 trips
    call @step_loop0(%c0, %n, %w, ...)
    func.func private @step_loop0(%lo: index, %hi: index, %work: index, ...)
        attributes {bitnet.parallel_task, no_inline, ...} {
      scf.parallel (%i, %j) = (%c0, %lo) to (%c8, %hi) step (%c1, %c1) { ... }
    }
    ```
  }];
  let options = [
    Option<"minLoops", "min-loops", "int64_t", "16",
           "Only functions with at least this many top-level loops">,
    Option<"parallelTasks", "parallel-tasks", "bool", "false",
           "Outline top-level scf.parallel nests as parallel tasks">,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::arith::ArithDialect"];
}

def BitNetLowerParallelTasks
    : Pass<"bitnet-lower-parallel-tasks", "::mlir::ModuleOp"> {
  let summary = "Run the calls of outlined parallel tasks on the runtime's threads";
  let description = [{
    In the LLVM dialect, after `convert-func-to-llvm`: each call of a
    function marked `bitnet.parallel_task` (see `bitnet-outline-loops`),
    `@f(lo, hi, work, args...)`, becomes

    ```mlir
    // args stored into a frame (one stack slot per caller, reused)
    llvm.call @bitnet_parallel_for(@f_task, %frame, %lo, %hi, %work)
    // with, once per task function:
    llvm.func private @f_task(%frame: !llvm.ptr, %lo: i64, %hi: i64) {
      // args loaded from the frame
      llvm.call @f(%lo, %hi, 0, args...)
    }
    ```

    The runtime (`bitnet_parallel_for`, runtime/include/bitnet/Runtime/
    Ukernels.h) splits `[lo, hi)` over its kernel threads where `work` per
    iteration makes that pay, else calls `@f_task` once on the calling
    thread. A call whose arguments are not all scalars of at most 64 bits
    stays a plain call (the whole range on one thread).
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def BitNetInt8LMHead : Pass<"bitnet-int8-lm-head", "::mlir::ModuleOp"> {
  let summary = "Store the LM head as int8 with a scale per vocabulary row (opt-in)";
  let description = [{
    With packed ternary layers, a float32 LM head is most of the bytes a
    decode step reads. On tensors, after the linalg phase: the float linear
    layer tagged `matmul_f32` / `matmul_f32_nt` with a constant f32 weight
    whose output width is the `vocab` of the module's `bitnet.decoder`
    record becomes an int8 weight `q[n, k]` with `s[n] = max_k |W[n, k]| /
    127` and `logits = (x q^T) * s` (x stays f32); the contraction is tagged
    `matmul_f32_i8w_nt` for the runtime kernel. This changes the logits (by
    ~1e-3 relative on the bundled models); bitnet-compile enables it with
    `--lm-head=int8`. A module without the record is an error.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def BitNetInt4LMHead : Pass<"bitnet-int4-lm-head", "::mlir::ModuleOp"> {
  let summary = "Store the LM head as 4-bit codes with a scale per group of 32 (opt-in)";
  let description = [{
    Half the bytes of `bitnet-int8-lm-head` (0.625 bytes a weight with the
    scales; 2B4T's tied 128256 x 2560 head: 205 MB instead of 328 MB), for
    decode steps that only stream weights. Matched like the int8 pass (the
    float linear layer of the `bitnet.decoder` record's vocabulary width
    with a constant f32 weight). Each vocabulary row's K weights go in
    groups of 32 with codes `q = round(W / s)` clamped to [-8, 7], the
    scale `s[n, g]` the one of least squared error among `m / 7, m / 7.25,
    ..., m / 9` (m the group's largest |W|; max / 7 represents every
    weight, smaller steps clip the largest), stored as `q + 8` in a nibble:
    byte `16 g + (j mod 16)` of row n holds element `j` (of the group) in
    its low nibble for j < 16 and its high nibble for j >= 16, so a kernel
    gets a group's first and second halves with one mask and one shift.
    x is quantized too, so that the runtime sums integer products (VNNI):
    per row `m = max_k |x[k]|`, codes `xq = round(x * 127 / m)` (0 for a
    zero row). The contraction (tagged `matmul_i8_i4w_nt`) reads x's codes,
    the weight codes and their scales through `floordiv`/`mod` indexing
    maps, `acc[.., n] = sum_k xq[.., k] * (q[n, k] * s[n, k / 32])`, and
    `logits = acc * m / 127`. K must be a multiple of 32 (an error
    otherwise), as must a module have the decoder record. bitnet-compile
    enables it with `--lm-head=int4` on the CPU.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect"];
}

def BitNetRowMajorFloatWeights : Pass<"bitnet-row-major-float-weights", "::mlir::ModuleOp"> {
  let summary = "Store constant float32 linear weights exported as [k, n] as [n, k]";
  let description = [{
    PyTorch exports `nn.Linear` as `MatMul(x, W)` with the weight transposed
    to `[k, n]` (inputs x outputs). A decode step's GEMV over that layout
    reads a few lines from each of k rows `n * 4` bytes apart and strides
    across pages (2B4T's untied LM head: 2560 rows 513 KB apart). On
    tensors, after the linalg phase, every float linear layer tagged
    `matmul_f32` with a constant f32 `[k, n]` weight (the LM head; every
    projection of the float LLaMA baseline) gets the weight stored `[n, k]`
    and is tagged `matmul_f32_nt` (the runtime's dot-form kernel). The
    weights are the same; each output's sum adds its products in another
    order, so results move in their last bits. Layers already `[n, k]`
    (`matmul_f32_nt`, a tied embedding) and non-constant weights are left
    alone, and so are weights whose `[k, n]` rows lie less than
    `min-row-bytes` apart: there the axpy kernel reads them from cache and
    beat the dot form (toy LLaMA, hidden 128: prefill 37.5-40.8k vs
    29-33k tok/s on Zen 3). bitnet-compile runs it for x86 artifacts.
  }];
  let options = [
    Option<"minRowBytes", "min-row-bytes", "int64_t", "4096",
           "rewrite only weights whose rows are at least this many bytes "
           "apart (n * 4; default: a page)">,
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def BitNetHalfLMHead : Pass<"bitnet-half-lm-head", "::mlir::ModuleOp"> {
  let summary = "Store the LM head as f16 or bf16 (opt-in)";
  let description = [{
    The LM head in half the bytes of float32, with no scales: on tensors,
    after the linalg phase, the float linear layer tagged `matmul_f32` /
    `matmul_f32_nt` with a constant f32 weight whose output width is the
    `vocab` of the module's `bitnet.decoder` record gets its weight rounded
    to `element-type` (f16 or bf16, nearest even) and stored `[n, k]`; the
    contraction widens each weight to f32 (`arith.extf`), sums in f32 and
    is tagged `matmul_f32_f16w_nt` / `matmul_f32_bf16w_nt` for the runtime
    kernel. x stays f32. A finite weight the type cannot hold (f16 past
    65504) is an error; so is a module without the record. bitnet-compile
    enables it with `--lm-head=f16` or `--lm-head=bf16`.
  }];
  let options = [
    Option<"elementType", "element-type", "std::string", "\"f16\"",
           "f16 or bf16">,
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def BitNetSelectLogitRows : Pass<"bitnet-select-logit-rows", "::mlir::ModuleOp"> {
  let summary = "Compute the LM head only for the token rows the caller asks for";
  let description = [{
    A prefill step needs the next-token logits of its last token only, yet
    the exported graph computes the LM head (the largest single layer, vocab
    x hidden) for every token of the chunk. On tensors, after the linalg
    phase: every public function whose first result is the logits `[..., S,
    vocab]` (the `vocab` of the module's `bitnet.decoder` record) gets a
    trailing argument `rows: tensor<2xi64>` = (first, count) and returns
    rows `[first, first + count)` only, as `[..., ?, vocab]` (first and
    count are clamped to the S rows). The slice is then moved above the
    linalg ops that only feed it (linalg's bubble-up of extract_slice), so
    the LM head and the final norm run on `count` rows; count = 0 skips
    them. Artifact entries take this argument (bitnet-compile). A module
    without the record is an error.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def BitNetMapLoopsToGPU : Pass<"bitnet-map-loops-to-gpu", "::mlir::func::FuncOp"> {
  let summary = "Tile host scf.parallel loops into blocks of threads and map them to the GPU";
  let description = [{
    The whole-model CUDA path lowers every linalg op it has no dedicated
    kernel for with `convert-linalg-to-parallel-loops`: one `scf.parallel`
    over the op's parallel dimensions (reductions become `scf.for` inside).
    `gpu-map-parallel-loops` would map such a loop to the grid with one
    thread per block. This pass instead tiles the innermost dimension by
    `block-size` (the power of two at or above its trip count when that is
    smaller), guarding the tail with `scf.if` instead of min bounds, and
    sets the mapping `convert-parallel-loops-to-gpu` reads:

    - the outer loop's innermost dimension to `block_x`, then outwards the
      next two dimensions with more than one iteration to `block_y` and
      `block_z` (at most 65535 iterations each), every other dimension to
      `sequential` (each block runs it as a loop);
    - the inner loop's innermost dimension to `thread_x`, the others (one
      iteration each) to `sequential`.

    ```mlir
    scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c1000) step (%c1, %c1) {...}
    // becomes
    scf.parallel (%i, %jt) = (%c0, %c0) to (%c4, %c1000) step (%c1, %c256) {
      scf.parallel (%ii, %jj) = (%c0, %c0) to (%c1, %c256) step (%c1, %c1) {
        scf.if (%jt + %jj < %c1000) {...}
      } {mapping = [sequential, thread_x]}
    } {mapping = [block_y, block_x]}
    ```

    Loops nested in another `scf.parallel` are left alone (the outermost one
    is mapped), as are loops that already carry a mapping.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", "256",
           "Threads per block for the innermost dimension">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::arith::ArithDialect"];
}

def BitNetSplitReductions : Pass<"bitnet-split-reductions", "::mlir::func::FuncOp"> {
  let summary = "Split long reductions of few outputs into parallel partial "
                "reductions (the whole-model CUDA path)";
  let description = [{
    On linalg-on-tensors of the whole-model CUDA path, before bufferization.
    There every linalg op becomes a grid of threads over its parallel
    dimensions, each thread looping over the reduction: a decode step's
    RMSNorm, quantizer statistics and sparsity counts (one row, thousands
    of elements) ran on one thread. A `linalg.generic` with one reduction
    dimension of static size `R >= min-size`, at most `max-parallel` outputs
    and a combiner `linalg::splitReduction` recognizes (add, max, ...) is
    split by `r`, the divisor of `R` nearest `sqrt(R)` (at least 8): `r`
    partial reductions of `R / r` elements each (`r` times the threads),
    then one of the `r` partials.

    ```mlir
    // sum over 2560 (one thread) becomes
    %p = linalg.generic ... ins(%x expanded to [40, 64]) // [40] partials
    %s = linalg.generic ... ins(%p)                       // sum of 40
    ```

    A length with no such divisor (a prime: attention's scores over 256
    cached columns and the new one are 257) gets a guarded split instead:
    `r = ceil(sqrt(R))` partials of `c = ceil(R / r)` iterations, partial
    `p` running iterations `i * r + p` (interleaved: neighbouring threads
    read neighbouring elements) of the original body where they are below
    `R` (the accumulator passes through elsewhere), its inputs read
    in place with `tensor.extract` (no padded copy), each partial starting
    at the combiner's neutral element (`arith::getNeutralElement` of the op
    the body yields, which must be the accumulator's only use); then the
    partials are combined into the original init with that op.

    ```mlir
    // max over 257 becomes
    %p = linalg.generic ins(%domain : tensor<20x17x16xi8>)   // 17 partials:
           outs(fill(-inf) : tensor<20x17xf32>)           // k = i*17 + p,
           { k < 257 ? max(x[row, k], acc) : acc }        // x extracted
    %m = linalg.generic ins(%p) outs(%init)                // max of 17
    ```

    With at least `interleave-min-threads` threads (outputs times `r`; a
    TopK rank count over 2560 elements has 102,400), a divisible length is
    split in that interleaved form too (without the guard): so many threads
    are bound by how many cache lines a warp's load touches, and contiguous
    chunks made it 32 (the 2B4T TopK rank kernel: 41 us a layer, 24 us
    interleaved). Fewer threads (a norm's 40 partials) are latency-bound
    and faster with contiguous chunks: interleaving every split cost the
    2B4T decode step 96 -> 78 tokens/s.

    Maps with a constant 0 for a unit dimension (keepdim outputs,
    broadcasts) are first rewritten without the op's unit dimensions
    (`linalg::dropUnitDims`, operands reshaped around it); ops whose maps
    are still not projected permutations stay (the guarded split needs only
    a projected-permutation output map). `linalg.index` ops in the body are
    renumbered for the split loops (TopK's rank counts read them).

    Floating-point sums are added in another order than the reference
    lowering's (maxima, integer sums and counts: the same results).

    With `block-max-outputs` (and `block-min-size`) set as for
    bitnet-block-reductions, the reductions that pass will run as block
    reductions are left as they are.
  }];
  let options = [
    Option<"minSize", "min-size", "int64_t", /*default=*/"512",
           "Shortest reduction that is split">,
    Option<"maxParallel", "max-parallel", "int64_t", /*default=*/"4096",
           "Most outputs (parallel iterations) a split reduction may have">,
    Option<"interleaveMinThreads", "interleave-min-threads", "int64_t",
           /*default=*/"16384",
           "Outputs times partials from which a divisible length is split "
           "interleaved (as the guarded split) instead of in contiguous "
           "chunks">,

    Option<"blockMinSize", "block-min-size", "int64_t", /*default=*/"256",
           "bitnet-block-reductions' min-size: with block-max-outputs, "
           "the reductions it will take are not split">,
    Option<"blockMaxOutputs", "block-max-outputs", "int64_t", /*default=*/"0",
           "bitnet-block-reductions' max-outputs (0: split whatever "
           "qualifies)">,
    Option<"warpMinSize", "warp-min-size", "int64_t", /*default=*/"0",
           "bitnet-block-reductions' warp-min-size: the reductions it runs "
           "as a warp per output are not split either">,
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def BitNetBlockReductions : Pass<"bitnet-block-reductions", "::mlir::func::FuncOp"> {
  let summary = "Run long reductions of few outputs as one block of threads "
                "per output (the whole-model CUDA path)";
  let description = [{
    On bufferized linalg of the whole-model CUDA path, before the remaining
    linalg ops become loops. A decode step reduces thousands of elements to
    one value many times a layer (RMSNorm's mean square, the activation
    quantizers' absmean and absmax, the sparsity counts, softmax's max and
    sum). As a grid of one thread per output they were serial loops; split
    into partials (bitnet-split-reductions) two launches of short serial
    loops, latency-bound. Here a `linalg.generic` with one reduction loop
    of static length `R >= min-size`, static parallel loops of at most
    `max-outputs` iterations, one output written once per parallel
    iteration, a pure body and a combiner `gpu.all_reduce` knows (add, mul,
    max/min in each of arith's forms, and, or, xor) becomes blocks of a
    `gpu.launch`, one per output: the block's threads stride over the
    reduction with a register accumulator (the body's other operations per
    element, inputs loaded through their indexing maps), then
    `gpu.all_reduce` (warp shuffles and a shared-memory step) and thread 0
    combines the result into the output:

    ```mlir
    linalg.fill ins(%zero) outs(%sum)
    linalg.generic {reduction over 2560} ins(%x) outs(%sum) { %x * %x + %acc }
    // becomes
    gpu.launch blocks(1, 1, 1) threads(512, 1, 1) {
      %part = scf.for %i = %tid to 2560 step 512 iter_args(%a = 0.0) { %x[%i]^2 + %a }
      %all = gpu.all_reduce add %part uniform
      scf.if %tid == 0 { store %zero + %all, %sum[...] }
    }
    ```

    A `linalg.fill` of the output just before the op (only pure operations
    and allocations between) folds into it: thread 0 combines with the fill
    value instead of reading the output. A block has about 8 elements a
    thread, rounded up to a power of two in [32, `block-size`]. Consecutive
    qualifying ops (only pure operations, allocations and fills they fold
    between them) that do not write what another reads or writes (buffer
    roots; distinct allocations never overlap) share one launch, blocks
    taken in order (each branch of a block's id uniform for its threads),
    up to `max-param-bytes` of kernel parameters: a decode step's 120
    sparsity counts are one kernel. Floating-point sums add in another
    order than the reference lowering's (maxima, integer sums and counts:
    the same results). bitnet-split-reductions, given the same sizes, leaves
    these ops alone.

    Row chains: consecutive ops over the same rows (their loops but the
    last, which is the reduction's or runs along the row), at least one a
    qualifying reduction and at least one reading what an earlier one
    wrote, run as one launch of a block per row when each block can run its
    row alone: a stage reads of an earlier stage's output exactly what that
    stage wrote for the row (the same map, up to loops of one iteration, and
    the same view: the same thread wrote it), or one value a row; no stage
    writes what an earlier one read from outside the chain. Elementwise
    stages (a body without memory effects that does not read its output,
    written whole through an identity map into a fresh allocation) loop
    over the row's elements as the reductions do; stages of one value a row
    (the last loop of one iteration: a norm's reciprocal square root) are
    computed by every thread. The reductions' and those values stay in
    registers for later stages (thread 0 also stores them). A softmax
    (max, exp, sum, division) or a norm with its scale and quantizer become
    one kernel:

    ```mlir
    max -> %m ; exp(x - %m) -> %e ; sum(%e) -> %s ; %e / %s -> %e
    // becomes, per row (block):
    %m = all_reduce max ; for i: e[i] = exp(x[i] - %m) ;
    %s = all_reduce add (e[i]) ; for i: e[i] = e[i] / %s
    ```

    Warp reductions (`warp-min-size` > 0): a reduction of the same kind
    that no block takes (shorter than `min-size` or more outputs than
    `max-outputs`: attention's scores over the cache, 20 x 256 dot products
    of 128, and its weighted sum of the cached values) but at least
    `warp-min-size` long, of 32- or 64-bit values, runs as one warp per
    output, 8 warps a block: lanes stride over the reduction, five xor
    shuffles combine them, lane 0 stores (the fill folded in as above).
    Before, a thread per output looped over the whole reduction (or the
    reduction was split into partials and a sum: two launches).
  }];
  let options = [
    Option<"minSize", "min-size", "int64_t", /*default=*/"256",
           "Shortest reduction that runs as a block reduction">,
    Option<"maxOutputs", "max-outputs", "int64_t", /*default=*/"256",
           "Most outputs (blocks) one reduction may have">,
    Option<"blockSize", "block-size", "int64_t", /*default=*/"1024",
           "Most threads in a block (a multiple of 32 in [32, 1024])">,
    Option<"maxParamBytes", "max-param-bytes", "int64_t", /*default=*/"16384",
           "Kernel parameter bytes a launch of several reductions may take">,
    Option<"warpMinSize", "warp-min-size", "int64_t", /*default=*/"0",
           "Reductions a block does not take, at least this long, run as "
           "one warp per output (0: off)">,
  ];
  let statistics = [
    Statistic<"numWarps", "warp-reductions",
              "Reductions run as one warp per output">,
    Statistic<"numChains", "row-chains",
              "Runs of row-local ops run as one block per row">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::arith::ArithDialect"];
}

def BitNetScalarsIntoKernels : Pass<"bitnet-scalars-into-kernels", "::mlir::func::FuncOp"> {
  let summary = "Let kernels read the scalars their bodies use from memory "
                "instead of the host (the whole-model CUDA path)";
  let description = [{
    On linalg-on-tensors, before bufferization. A `linalg.generic` whose
    body uses `tensor.extract %t[]` of a 0-d tensor defined outside it (a
    decode step's start position, used for position ids and the causal
    mask) takes `%t` as one more input, indexed by `() -> ()`, and its body
    uses that block argument. On the GPU the scalar then reaches the kernel
    through memory instead of being read by the host and passed by value,
    so a step's launches are the same from one step to the next (what a
    CUDA graph of the decode step needs) and the host reads no memory the
    device may be writing. A scalar the host computes from such extracts
    and constants alone (`arith.index_cast %p`, `arith.cmpi eq, %i, %c0`:
    pure ops without regions) is first recomputed inside each generic body
    that uses it, so its extract is captured the same way and the host copy
    goes away when nothing else reads it.

    ```mlir
    %p = tensor.extract %start[] : tensor<i64>
    %ids = linalg.generic {indexing_maps = [#id, #id]} ins(%c : tensor<1xi64>) ... {
    ^bb0(%in: i64, %out: i64):
      %v = arith.addi %in, %p : i64
    // becomes
    %ids = linalg.generic {indexing_maps = [#id, affine_map<(d0) -> ()>, #id]}
        ins(%c, %start : tensor<1xi64>, tensor<i64>) ... {
    ^bb0(%in: i64, %s: i64, %out: i64):
      %v = arith.addi %in, %s : i64
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def BitNetWrapSerialLinalgForGPU : Pass<"bitnet-wrap-serial-linalg-for-gpu", "::mlir::func::FuncOp"> {
  let summary = "Give linalg ops without a parallel loop a one-iteration "
                "scf.parallel, so they run on the GPU";
  let description = [{
    On bufferized IR of the whole-model CUDA path, before
    `convert-linalg-to-parallel-loops`. An op with no parallel loop (a
    rank-0 result: a copy or arithmetic of scalars, or a full reduction)
    would lower to plain loads, stores and loops in the host code, which
    reads what kernels wrote without waiting for them (launches are
    asynchronous). Each such op moves into `scf.parallel (%i) = (0) to (1)`
    and becomes a one-thread kernel.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect"];
}

def BitNetCheckHostMemoryForGPU : Pass<"bitnet-check-host-memory-for-gpu", "::mlir::func::FuncOp"> {
  let summary = "Refuse host code that touches memory kernels use (the "
                "whole-model CUDA path)";
  let description = [{
    After `convert-parallel-loops-to-gpu`. Kernels run asynchronously and a
    step synchronizes once at its end, so host code outside `gpu.launch`
    regions may only read the logit rows (the rank-1 `i64` function
    argument, in pinned host memory) and copy host constants
    (`memref.get_global`) into fresh buffers. Any other load, store or copy
    is an error naming the op: it would read data a kernel has not written
    yet (or write data a kernel is reading). The token ids and the start
    position (the rank-2 and rank-0 `i64` arguments) are refused too: the
    runtime hands the code a device-memory copy of them, which kernels read
    without a PCIe round trip and the host cannot read.
  }];
}

def BitNetCopyGlobalsForGPU : Pass<"bitnet-copy-globals-for-gpu", "::mlir::func::FuncOp"> {
  let summary = "Give kernels device-reachable copies of the host code's constant globals";
  let description = [{
    On bufferized IR of the whole-model CUDA path. Constant tensors the
    weights blob does not hold (splats, and constants folded after the
    weights moved out) become `memref.global`s of the host code, which a
    kernel cannot read. Each `memref.get_global` of a static, identity-layout
    memref becomes a fresh buffer (memory the device reaches, see
    bitnet-compile's CUDA runtime) filled by `memref.copy` on the host (a
    memcpy, run before the kernels that read it), freed at the end of the
    function unless it is returned.

    ```mlir
    %g = memref.get_global @cst : memref<4xf32>
    // becomes
    %g = memref.get_global @cst : memref<4xf32>
    %a = memref.alloc() : memref<4xf32>
    memref.copy %g, %a : memref<4xf32> to memref<4xf32>
    ... uses of %a ...
    memref.dealloc %a : memref<4xf32>
    return
    ```
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

def BitNetMergeGPUModules : Pass<"bitnet-merge-gpu-modules", "::mlir::ModuleOp"> {
  let summary = "Put every outlined kernel into one gpu.module, each distinct kernel once";
  let description = [{
    `gpu-kernel-outlining` makes a `gpu.module` per kernel, and
    `gpu-module-to-binary` runs ptxas once per module: hundreds of runs for
    a small model, most of them compiling a kernel another layer already
    has. This pass moves every kernel into the first module under the name
    of the module it came from (followed by `__` and the op it came from,
    the first name in its location, e.g. the ONNX node: profiles then say
    what a kernel computes), except that a kernel whose text equals an
    earlier one's (its name aside) is dropped and its launches call the
    earlier kernel (copies within the first module too: a pass that builds
    kernels there may build one a layer); `gpu.launch_func` ops are updated.

    ```mlir
    gpu.module @main_kernel { gpu.func @main_kernel(...) kernel {A} }
    gpu.module @main_kernel_0 { gpu.func @main_kernel(...) kernel {A} }
    gpu.launch_func @main_kernel_0::@main_kernel ...
    // becomes
    gpu.module @main_kernel { gpu.func @main_kernel(...) kernel {A} }
    gpu.launch_func @main_kernel::@main_kernel ...
    ```
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def BitNetDependentLaunch : Pass<"bitnet-dependent-launch", "::mlir::ModuleOp"> {
  let summary = "Let each kernel launch while the one before it finishes "
                "(programmatic dependent launch, sm_90 and later)";
  let description = [{
    A decode step of the whole-model CUDA path is thousands of small kernels
    in a row, and each waits for the previous one to finish before the GPU
    even starts launching it. With programmatic dependent launch (the
    runtime launches with `CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION`)
    the next kernel's blocks may be scheduled early; a kernel then has to
    wait for its predecessor's results itself. This pass makes every kernel
    (`gpu.func` with `kernel`, in every `gpu.module`) begin with

    ```mlir
    nvvm.griddepcontrol wait                // the previous grid has finished
                                            // and its writes are visible
    nvvm.griddepcontrol launch_dependents   // the next grid may launch
    ```

    before any memory access, so a kernel runs exactly when it ran before,
    only its launch overlaps.

    A kernel that declares the weight bytes each block reads
    (`bitnet.block_reads = array<i64: arg, bytes, ...>`: block b reads
    bytes [b * bytes, (b + 1) * bytes) of memref argument `arg`, which no
    kernel writes; include/bitnet/Transforms/DependentLaunch.h) first has
    thread 0 of each block ask L2 for them (`nvvm.cp.async.bulk.prefetch`,
    where the address is 16-byte aligned), ahead of the wait: a decode
    GEMV's weights then stream in while the kernel before it runs, instead
    of after it. The pass checks the declaration (a memref of static shape,
    a positive multiple of 16 bytes, the grid's blocks inside the argument)
    and fails with an error otherwise; `prefetch=false` leaves the
    prefetches out (for measuring them). In such a kernel the wait goes in
    front of the first operation of its entry block that may touch memory
    other than by reading those arguments (through views; effects of
    nested ops included, unknown effects count), so the weight loads a
    decode GEMV issues first are issued before the wait and the previous
    kernel's run covers their latency too (`early-loads=false`: the wait
    first, as in other kernels). The module gets the unit attribute
    `bitnet.dependent_launch`, which the model compiler records in the
    artifact (`gpu_dependent_launch=1`): the runtime uses the launch
    attribute for such artifacts only (a kernel without the wait could read
    its inputs before they are written). The instructions need sm_90: the
    model compiler runs this pass for sm_90 and later.
  }];
  let options = [
    Option<"prefetch", "prefetch", "bool", /*default=*/"true",
           "Prefetch the bytes kernels declare in bitnet.block_reads into L2 "
           "before the wait">,
    Option<"earlyLoads", "early-loads", "bool", /*default=*/"true",
           "In kernels that declare bitnet.block_reads, reads of those "
           "arguments ahead of any other memory access go before the wait">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::scf::SCFDialect"];
}

def BitNetHoistKernelLoads : Pass<"bitnet-hoist-kernel-loads", "::mlir::func::FuncOp"> {
  let summary = "Move loads in gpu.launch bodies above the stores that "
                "cannot touch their memory";
  let description = [{
    Inside a kernel every memref may alias every other as far as LLVM and
    ptxas know, so a thread that copies several values (load, store, load,
    store, ...) waits a global-memory round trip for each. Before outlining,
    the host code still shows which buffers the memrefs view. In every
    block of a `gpu.launch` body, this pass moves each `memref.load` /
    `vector.load` up past

    - ops without memory effects that do not define its operands,
    - other loads,
    - `memref.store` / `vector.store` to memory it cannot read: distinct
      buffers that cannot alias (allocations, different globals:
      `buffersMayAlias`) or static views of one buffer whose element spans
      do not intersect (`viewsMayOverlap`),

    and stops at anything else: a store that may overlap, an op with other
    or unknown effects (loops and branches that store), `gpu.barrier`,
    collectives, shuffles and NVVM instructions. A load never leaves its
    block (a guarded load stays guarded), and only moves that pass a store
    are made. The thread's results are those it computed before; other
    threads could not have ordered themselves against its loads without a
    barrier, which stops the move.

    On the 2B4T decode step the copy of the 60 new K/V rows into the step's
    result becomes 60 loads in flight, then 60 stores.
  }];
  let statistics = [
    Statistic<"numHoisted", "hoisted-loads", "Loads moved above stores">,
  ];
}

def BitNetFuseSmallLaunches : Pass<"bitnet-fuse-small-launches", "::mlir::func::FuncOp"> {
  let summary = "Run runs of small consecutive gpu.launch ops as one "
                "single-block kernel";
  let description = [{
    A decode step of the whole-model CUDA path launches dozens of kernels per
    layer that do almost nothing (a norm's partial sums, a quantizer's scale,
    RoPE, a softmax's pieces over one token): each costs a launch, about
    5 us, for well under a microsecond of work. This pass merges every run
    of such launches into one `gpu.launch` of a single block of `block-size`
    threads that executes the original launches one after the other, each
    as a loop of its original threads strided by the block size, separated
    by `gpu.barrier` (which makes the global-memory writes of one stage
    visible to the whole block before the next reads them):

    ```mlir
    gpu.launch blocks(...) in (4, 1, 1) threads(...) in (256, 1, 1) { A }
    gpu.launch blocks(...) in (1, 1, 1) threads(...) in (1, 1, 1) { B }
    // becomes
    gpu.launch blocks(...) in (1, 1, 1) threads(%t, ...) in (1024, 1, 1) {
      // A's 1024 threads: %t is block %t / 256, thread %t mod 256
      A
      gpu.barrier
      scf.if %t < 1 { B }
    }
    ```

    A launch joins a run when its grid and block sizes are constants, it
    has at most `max-threads` threads in all, no workgroup or private
    memory, no async tokens or clusters, and its body is one block without
    GPU operations other than its terminator (no barriers or shuffles whose
    meaning depends on the original block). Between two launches of a run
    there may only be operations without memory effects or that only
    allocate; deallocations there move behind the merged launch, which
    takes the place of the run's last launch. Runs of one launch stay as
    they are. The merged kernel runs on one multiprocessor, so a launch
    whose threads loop joins only when the loop iterations one merged
    thread runs for it (its threads over `block-size`, rounded up, times
    the constant trip counts of its loops) stay within `max-work`: on the
    2B4T decode step, a merged attention product (2,560 threads looping
    over 257 cache rows) took 300 us where its own launch took 15. A run
    also ends before a launch that would take the merged kernel's
    parameters (the distinct values its stages use from outside, memrefs as
    descriptors) past `max-param-bytes`: PTX allows 32 KB, and a 2B4T
    decode step's runs would reach 46 KB. Grid and block sizes must be
    folded to constants first (`canonicalize`).

    Barriers go only where stages need them. Two stages conflict where one
    may read what the other writes, or both write the same memory; each
    stage gets a level one past that of every earlier stage it conflicts
    with, and the merged kernel runs the stages level by level (within a
    level in the run's order) with a barrier between levels: independent
    chains (a layer's RoPE of q and of k) share their barriers. Two memrefs
    are apart when their buffers cannot alias
    (distinct allocations or globals: `buffersMayAlias`) or when both are
    static views of one buffer through subview, cast and reshape ops whose
    element spans do not overlap; an op whose effects are unknown (no
    memory effect interface, effects on no memref, allocations) conflicts
    with every stage, so nothing moves across it. On the 2B4T decode step a
    layer's RoPE kernel has 2 barriers instead of 6.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", "1024",
           "Threads of the merged kernel's single block (a multiple of 32 "
           "in [32, 1024]; fewer when no launch of the run has that many)">,
    Option<"maxThreads", "max-threads", "int64_t", "4096",
           "Largest launch (grid times block threads) that joins a run">,
    Option<"maxWork", "max-work", "int64_t", "64",
           "Loop iterations a thread of the merged block may run for one "
           "launch (the launch's rounds over the block times the constant "
           "trip counts of its loops; loops of unknown length never join)">,
    Option<"maxParamBytes", "max-param-bytes", "int64_t", "16384",
           "Kernel parameter bytes a merged launch may take (8 per scalar, "
           "8 per memref descriptor field); a run that would need more "
           "ends and the next starts">,
    Option<"elideBarriers", "elide-barriers", "bool", "true",
           "Leave out the barrier in front of a stage that touches nothing "
           "the stages since the last barrier write, and writes nothing "
           "they touch (false: a barrier between every two stages)">,
  ];
  let statistics = [
    Statistic<"numMerged", "merged-launches",
              "Runs of launches merged into one">,
    Statistic<"numBarriers", "barriers", "Barriers between stages">,
    Statistic<"numBarriersSkipped", "barriers-skipped",
              "Stages that follow the one before without a barrier">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def BitNetFuseLaunchIntoConsumer
    : Pass<"bitnet-fuse-launch-into-consumer", "::mlir::ModuleOp"> {
  let summary = "Run a one-block launch inside the kernel launched after it";
  let description = [{
    After bitnet-fuse-small-launches, a decode step of the whole-model CUDA
    path still has a one-block kernel a layer in front of attention (RoPE of
    q and k, the copy of v): a launch, and its latency, for a few thousand
    multiplies. This pass runs such a producer launch inside the kernel that
    follows it. Every block of the consumer first runs the producer's whole
    body for each of its original threads (strided over the consumer's
    block, as bitnet-fuse-small-launches does), then a `gpu.barrier` makes
    those writes visible to the whole block, then the consumer's own body
    runs:

    ```mlir
    gpu.launch_func @p::@rope blocks in (1, 1, 1) threads in (1024, 1, 1) args(%x, %q)
    gpu.launch_func @k::@attention blocks in (20, 1, 1) threads in (512, 1, 1) args(%q, %o)
    // becomes
    gpu.launch_func @k::@attention_after_producer blocks in (20, 1, 1)
        threads in (512, 1, 1) args(%q, %o, %x, %q)
    // whose body begins with
    //   scf.for %t = %tid to 1024 step 512 { rope's body for thread %t }
    //   gpu.barrier
    ```

    Each block writes the same values to the same places, so a block reads
    its own writes (or identical ones) wherever it reads the producer's
    results. Runs on outlined kernels (after gpu-kernel-outlining, before
    bitnet-merge-gpu-modules, which then keeps one copy of the identical
    fused kernels of the layers).

    A pair fuses when both launches have constant grid and block sizes and
    no stream, async tokens, cluster or dynamic shared memory; the producer
    is one block of at most `max-producer-threads` threads whose kernel is
    one block of code without workgroup or private memory, globals, and GPU
    or NVVM operations other than thread and block ids and sizes; the
    consumer has a one-dimensional block and at most `max-consumer-blocks`
    blocks (each runs the producer's work again); the consumer's kernel
    writes nothing that may overlap what the producer's launch reads or
    writes (its writes are traced to its arguments or its workgroup memory;
    any other write, or an op of unknown effects, keeps the pair apart);
    between the two launches there are only allocations, effect-free ops
    and deallocations (which move behind the fused launch); and the fused
    launch's parameters stay within `max-param-bytes`. Kernels no launch
    calls any more are erased.
  }];
  let options = [
    Option<"maxProducerThreads", "max-producer-threads", "int64_t", "1024",
           "Largest producer launch (threads of its one block)">,
    Option<"maxConsumerBlocks", "max-consumer-blocks", "int64_t", "64",
           "Most blocks of a consumer launch (each repeats the producer's "
           "work)">,
    Option<"maxParamBytes", "max-param-bytes", "int64_t", "16384",
           "Kernel parameter bytes the fused launch may take (8 per scalar, "
           "8 per memref descriptor field)">,
  ];
  let statistics = [
    Statistic<"numFused", "fused-launches",
              "Producer launches run inside their consumer's kernel">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def BitNetPromoteLoopAccumulators : Pass<"bitnet-promote-loop-accumulators", "::mlir::func::FuncOp"> {
  let summary = "Keep a loop's accumulator in a register: a load and store "
                "of one memref element each iteration become an iter_arg";
  let description = [{
    Linalg reductions lowered to loops (`convert-linalg-to-parallel-loops`)
    load the output element, combine, and store it back on every iteration
    of the reduction loop. Compiled as kernels whose pointer parameters may
    alias, LLVM keeps that element in memory: each iteration waits for a
    global load behind the previous store (the TopK rank kernel of a 2B4T
    decode step: 2,560 iterations, 40 us). This pass rewrites

    ```mlir
    scf.for %i = ... {
      %a = memref.load %out[%j] : memref<?xf32>
      %s = arith.addf %a, %x : f32
      memref.store %s, %out[%j] : memref<?xf32>
    }
    // into
    %init = memref.load %out[%j] : memref<?xf32>
    %r = scf.for %i = ... iter_args(%a = %init) -> (f32) {
      %s = arith.addf %a, %x : f32
      scf.yield %s : f32
    }
    memref.store %r, %out[%j] : memref<?xf32>
    ```

    when the memref and the indices are defined outside the loop, the load
    and the store sit directly in the loop body (the load first), they are
    the only accesses to that memref in the loop, and every other memory
    access in the loop (loads and stores, nested loops and branches
    included) is to a memref that cannot alias it: different
    `memref.alloc`/`alloca` roots (views followed back to their source), or
    an allocation against a function argument or global. Any other memory
    effect in the loop leaves it unchanged. The same operations run in the
    same order, so results are bit-identical. Inner loops are rewritten
    first, so a nest promotes level by level.
  }];
  let statistics = [
    Statistic<"numPromoted", "promoted-accumulators",
              "Accumulators moved from memory into loop-carried values">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect"];
}

#endif // BITNET_TRANSFORMS_PASSES_TD
