// A whole ONNX model compiled for the GPU (--target=cuda): an artifact whose
// host code launches the model's kernels (cubins made with ptxas). This
// machine kind has no GPU; bench/gpu/check-models.sh runs the bundled models
// on one and compares them with PyTorch and the CPU artifacts.
// REQUIRES: ptxas
// RUN: rm -rf %t && mkdir -p %t
// RUN: bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx --max-context=32 -o %t/a48.bnx | FileCheck %s
// CHECK: bitnet-compile: wrote {{.*}}a48.bnx (bitnet-a4.8; cuda sm_90a; code
// Its kernels wait for their predecessor (sm_90a: programmatic dependent
// launch), which the artifact records for the runtime; for sm_80 they do not.
// Its host code reads no step input but the logit rows, so the runtime may
// give the kernels the ids and start position in device memory.
// RUN: grep -a -c -e '^target=cuda$' -e '^gpu_arch=sm_90a$' -e '^cpu=x86-64$' -e '^gpu_dependent_launch=1$' -e '^gpu_device_inputs=1$' %t/a48.bnx | FileCheck %s --check-prefix=META
// META: 5
// RUN: bitnet-compile --target=cuda --gpu-arch=sm_80 %S/../../models/onnx/a48.onnx --max-context=32 -o %t/a48-sm80.bnx
// RUN: grep -a -c -e '^gpu_arch=sm_80$' -e '^gpu_dependent_launch=' %t/a48-sm80.bnx | FileCheck %s --check-prefix=SM80
// SM80: 1
// A model whose host code once read the start position (a48_kv3: a
// comparison of it for the BOS rows, passed to kernels by value, frozen in
// a replayed decode graph) compiles with the kernels computing it
// (bitnet-scalars-into-kernels; bitnet-check-host-memory-for-gpu refuses
// host reads of the start).
// RUN: bitnet-compile --target=cuda %S/../../models/onnx/a48_kv3.onnx --max-context=32 -o %t/a48_kv3.bnx | FileCheck %s --check-prefix=KV3
// KV3: bitnet-compile: wrote {{.*}}a48_kv3.bnx (bitnet-a4.8; cuda sm_90a;
//
// --emit=ptx writes the model's kernels as PTX text instead (one module,
// every kernel; to a file or stdout), which ptxas assembles.
// RUN: bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx --max-context=32 --emit=ptx -o %t/a48.ptx | FileCheck %s --check-prefix=PTX
// PTX: bitnet-compile: wrote {{.*}}a48.ptx (bitnet-a4.8; cuda sm_90a; PTX {{[0-9]+}} bytes)
// RUN: FileCheck %s --check-prefix=PTXTEXT < %t/a48.ptx
// PTXTEXT: .target sm_90a
// PTXTEXT-DAG: .entry norm_absmean4_nz_bitlinear_m1_n256_k128_stacked(
// PTXTEXT-DAG: .entry attention_h4_kv2_s1_c32_d32_n4x32_after_producer(
// PTXTEXT-DAG: griddepcontrol.wait
// RUN: %ptxas -arch=sm_90a %t/a48.ptx -o %t/a48-from-ptx.cubin
// RUN: bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx --max-context=32 --emit=ptx -o - 2>/dev/null | FileCheck %s --check-prefix=PTXTEXT
// RUN: not bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx --emit=ptx --random-weights -o %t/r.ptx 2>&1 | FileCheck %s --check-prefix=PTXRANDOM
// PTXRANDOM: error: --random-weights applies to model artifacts
// RUN: not test -e %t/r.ptx
//
// It runs only on a GPU and says so: without a driver, or, on a GPU, when
// asked to run on the CPU.
// RUN: not bitnet-run %t/a48.bnx --device=cpu --prompt-ids 1,2 2>&1 | FileCheck %s --check-prefix=DEVICE
// RUN: not bitnet-run-min %t/a48.bnx --device=cpu --prompt-ids 1,2 2>&1 | FileCheck %s --check-prefix=DEVICE
// DEVICE: error: {{.*(is a CUDA model \(sm_90a\)|was compiled for CUDA \(sm_90a\))}}
//
// Runs of small launches become one single-block kernel
// (bitnet-fuse-small-launches, --gpu-fuse-launches=N threads at most per
// launch, 0: off), its stages separated by barriers; the pass-manager
// flags (--mlir-print-ir-after=PASS) show it.
// RUN: bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx --max-context=32 -o %t/fused.bnx --mlir-print-ir-after=bitnet-fuse-small-launches --mlir-elide-elementsattrs-if-larger=16 --mlir-disable-threading 2>&1 | FileCheck %s --check-prefix=FUSE
// FUSE: IR Dump After BitNetFuseSmallLaunches
// FUSE: gpu.launch blocks({{.*}}) in ({{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}) threads
// FUSE: gpu.barrier
// A decode step's RoPE (one block after bitnet-fuse-small-launches) runs
// inside the attention kernel after it (bitnet-fuse-launch-into-consumer):
// one kernel a layer fewer, one copy of the fused kernel for every layer;
// --gpu-fuse-into-consumer=0 keeps them apart.
// RUN: bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx --max-context=32 -o %t/rope.bnx --mlir-print-ir-after=bitnet-merge-gpu-modules --mlir-elide-elementsattrs-if-larger=16 --mlir-disable-threading 2>&1 | FileCheck %s --check-prefix=ROPE
// ROPE: gpu.func @attention_h4_kv2_s1_{{.*}}_after_producer(
// ROPE: gpu.barrier
// ROPE-NOT: gpu.func @attention_h4_kv2_s1_{{.*}}_after_producer_
// ROPE-LABEL: func.func @decode(
// The first layer's RoPE kernel also computes the rotary angles the later
// layers reuse, in stages separated by barriers: it stays a kernel.
// ROPE: gpu.launch_func @{{.*}}::@attention_h4_kv2_s1_{{[a-z0-9_]*}}32 blocks
// ROPE: gpu.launch_func @{{.*}}::@attention_h4_kv2_s1_{{.*}}_after_producer blocks
// RUN: bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx --max-context=32 -o %t/rope0.bnx --gpu-fuse-into-consumer=0 --mlir-print-ir-after=bitnet-merge-gpu-modules --mlir-elide-elementsattrs-if-larger=16 --mlir-disable-threading 2>&1 | FileCheck %s --check-prefix=NOROPE
// NOROPE-NOT: after_producer
// NOROPE: bitnet-compile: wrote
// Constants go into the kernels (gpu-launch-sink-index-computations), not
// through their parameters: a reduction loop's bounds are known to ptxas,
// which unrolls it so a thread's loads are in flight together (here a
// loop of 80 steps; the quantizers' non-zero counts, once such a
// reduction over 128 elements, are now counted inside their kernels).
// RUN: bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx --max-context=32 -o %t/sunk.bnx --mlir-print-ir-after=gpu-kernel-outlining --mlir-elide-elementsattrs-if-larger=16 --mlir-disable-threading 2>&1 | FileCheck %s --check-prefix=SINK
// SINK: IR Dump After GpuKernelOutliningPass
// SINK: gpu.func
// SINK: scf.for %{{.*}} = %c0 to %c80 step %c1 iter_args
// RUN: bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx --max-context=32 -o %t/unfused.bnx --gpu-fuse-launches=0 --mlir-print-ir-after=bitnet-fuse-small-launches 2>&1 | FileCheck %s --check-prefix=NOFUSE
// NOFUSE-NOT: IR Dump After BitNetFuseSmallLaunches
// NOFUSE: bitnet-compile: wrote
// RUN: not bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx -o %t/bad.bnx --gpu-fuse-launches=-1 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// NEGATIVE: bitnet-compile: error: --gpu-fuse-launches must be >= 0
// RUN: not test -e %t/bad.bnx
// RUN: not bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx -o %t/bad.bnx --gpu-fuse-work=0 2>&1 | FileCheck %s --check-prefix=NEGATIVE-WORK
// NEGATIVE-WORK: bitnet-compile: error: --gpu-fuse-work must be >= 1
// RUN: not bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx -o %t/bad.bnx --lm-head=int4 2>&1 | FileCheck %s --check-prefix=INT4-HEAD
// INT4-HEAD: bitnet-compile: error: --lm-head=int4 is for x86 artifacts only (the GPU's LM head kernel takes f32, f16, bf16 or int8)
// RUN: not bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx -o %t/bad.bnx --gpu-lm-head-rows=17 2>&1 | FileCheck %s --check-prefix=NEGATIVE-ROWS
// NEGATIVE-ROWS: bitnet-compile: error: --gpu-lm-head-rows must be in [0, 16]
// RUN: not test -e %t/bad.bnx
// RUN: not bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx -o %t/bad.bnx --gpu-prologue-rows-per-warp=0 2>&1 | FileCheck %s --check-prefix=NEGATIVE-PROLOGUE
// NEGATIVE-PROLOGUE: bitnet-compile: error: --gpu-prologue-rows-per-warp must be in [1, 8]
// RUN: not test -e %t/bad.bnx
// RUN: not bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx -o %t/bad.bnx --gpu-attention-value-rows=33 2>&1 | FileCheck %s --check-prefix=NEGATIVE-VROWS
// NEGATIVE-VROWS: bitnet-compile: error: --gpu-attention-value-rows must be in [1, 32]
// RUN: not bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx -o %t/bad.bnx --gpu-mma-stages-ahead=0 2>&1 | FileCheck %s --check-prefix=NEGATIVE-AHEAD
// NEGATIVE-AHEAD: bitnet-compile: error: --gpu-mma-stages-ahead must be in [1, 3]
// RUN: not bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx -o %t/bad.bnx --gpu-mma-warp-rows=24 2>&1 | FileCheck %s --check-prefix=NEGATIVE-WARP-ROWS
// RUN: not bitnet-compile --target=cuda %S/../../examples/bitlinear.mlir -o %t/bad-lib.bnx --gpu-mma-warp-rows=8 2>&1 | FileCheck %s --check-prefix=NEGATIVE-WARP-ROWS
// NEGATIVE-WARP-ROWS: bitnet-compile: error: --gpu-mma-warp-rows must be 0, 16 or 32
// RUN: not test -e %t/bad-lib.bnx
// RUN: not test -e %t/bad.bnx
// --gpu-lm-head-rows sets the head kernel's rows a warp (the toy's 256
// vocabulary rows at 8 rows a warp and 8 warps a block: 4 blocks).
// RUN: bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx --max-context=32 -o %t/rows.bnx --gpu-lm-head-rows=8 --mlir-print-ir-after=bitnet-launch-lm-head-kernel --mlir-elide-elementsattrs-if-larger=16 --mlir-disable-threading 2>&1 | FileCheck %s --check-prefix=ROWS
// ROWS: gpu.func @lm_head_f32_n256_k128(
// ROWS-SAME: bitnet.grid_size = array<i32: 4, 1, 1>
// RUN: not test -e %t/bad.bnx
//
// On sm_90 the decode GEMV kernels (here q, k, v stacked with the norm in
// front as their prologue: 32 rows of 32 bytes a block, the weights after
// the norm's 3 parameters) ask L2 for their weight rows before they wait
// for the kernel in front of them; --gpu-prefetch-weights=0 leaves that out.
// RUN: bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx --max-context=32 -o %t/pf.bnx --mlir-print-ir-after=bitnet-dependent-launch --mlir-elide-elementsattrs-if-larger=16 --mlir-disable-threading 2>&1 | FileCheck %s --check-prefix=PREFETCH
// PREFETCH: gpu.func @norm_absmean4_nz_bitlinear_m1_n256_k128_stacked(
// PREFETCH-SAME: bitnet.block_reads = array<i64: 3, 1024>
// PREFETCH: nvvm.cp.async.bulk.prefetch
// PREFETCH: nvvm.griddepcontrol wait
// RUN: bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx --max-context=32 -o %t/nopf.bnx --gpu-prefetch-weights=0 --mlir-print-ir-after=bitnet-dependent-launch --mlir-elide-elementsattrs-if-larger=16 --mlir-disable-threading 2>&1 | FileCheck %s --check-prefix=NOPREFETCH
// NOPREFETCH: nvvm.griddepcontrol wait
// NOPREFETCH-NOT: nvvm.cp.async.bulk.prefetch
//
// The residual add, RMSNorm and activation quantizer in front of each
// BitLinear layer run as one kernel, a block per row
// (bitnet-launch-norm-quantizer-kernel, --gpu-norm-kernels): the first
// layer's first norm (no residual add) and the others', and the down
// projection's quantizer with the GLU in front, in prefill (32 rows) and
// decode; --gpu-norm-kernels=0 leaves the chains to the generic kernels.
// Every quantizer's non-zero codes (the sparsity table's counts) are
// counted in its kernel (`_nz`: the norm kernels, TopK's, the down
// projection's); no count reduction is left to the generic kernels. The
// final RMSNorm in front of the LM head is a norm kernel without a
// quantizer. (--gpu-norm-into-gemv=0: decode's norms stay kernels of their
// own, and --gpu-topk-into-gemv=0 TopK's; by default, below, they are the
// GEMVs' prologues.)
// RUN: bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx --max-context=32 -o %t/norm.bnx --gpu-norm-into-gemv=0 --gpu-topk-into-gemv=0 --mlir-print-ir-after=bitnet-launch-norm-quantizer-kernel --mlir-elide-elementsattrs-if-larger=16 --mlir-disable-threading 2>&1 | FileCheck %s --check-prefix=NORM
// NORM: gpu.func @norm_absmean4_m32_d128_nz(
// NORM: gpu.func @norm_absmean4_m32_d128_nz_1(
// NORM: gpu.func @norm_absmax8_m32_d320_nz(
// NORM: gpu.func @norm_f32_m32_d128(
// NORM-LABEL: func.func @decode
// NORM-NOT: arith.cmpi ne, %{{.*}}, %{{.*}} : i8
// NORM: @bitnet_kernels::@norm_absmean4_m1_d128_nz blocks
// NORM: @bitnet_kernels::@topk_m1_d128_k64_absmax8_nz blocks
// NORM: @bitnet_kernels::@norm_absmean4_m1_d128_nz_1 blocks
// NORM: @bitnet_kernels::@norm_absmax8_m1_d320_nz blocks
// NORM: @bitnet_kernels::@norm_absmean4_m1_d128_nz_1 blocks
// NORM: @bitnet_kernels::@topk_m1_d128_k64_absmax8_nz blocks
// NORM: @bitnet_kernels::@norm_absmean4_m1_d128_nz_1 blocks
// NORM: @bitnet_kernels::@norm_absmax8_m1_d320_nz blocks
// NORM: @bitnet_kernels::@norm_f32_m1_d128 blocks
// NORM-NOT: arith.cmpi ne, %{{.*}}, %{{.*}} : i8
// NORM: return
// The TopK kernels' radix select stops once a digit's bin holds exactly
// the keys still needed (three nested exits in each of the two TopK
// kernels: prefill's, and decode's in the output projection's GEMV);
// --gpu-topk-early-exit=0 runs every digit.
// RUN: bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx --max-context=32 -o %t/exit.bnx --mlir-print-ir-after=bitnet-launch-topk-kernel --mlir-elide-elementsattrs-if-larger=16 --mlir-disable-threading 2>&1 | FileCheck %s --check-prefix=EXIT
// RUN: bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx --max-context=32 -o %t/noexit.bnx --gpu-topk-early-exit=0 --mlir-print-ir-after=bitnet-launch-topk-kernel --mlir-elide-elementsattrs-if-larger=16 --mlir-disable-threading 2>&1 | FileCheck %s --check-prefix=NOEXIT
// EXIT: gpu.func @topk_m32_d128_k64_absmax8_nz(
// EXIT-COUNT-3: -> (i32, i32, i32, i1)
// EXIT: gpu.func @topk_k64_absmax8_nz_bitlinear_m1_n128_k128(
// EXIT-COUNT-3: -> (i32, i32, i32, i1)
// NOEXIT: gpu.func @topk_m32_d128_k64_absmax8_nz(
// NOEXIT-NOT: -> (i32, i32, i32, i1)
// NOEXIT: gpu.func @topk_k64_absmax8_nz_bitlinear_m1_n128_k128(
// NOEXIT-NOT: -> (i32, i32, i32, i1)
// NOEXIT: func.func @decode
// Decode's norms whose codes only a GEMV reads run as its prologue: q, k,
// v (the first layer's norm has no residual add: its own kernel text), the
// stacked gate and up (the toy's FFN is not a ReLU2-GLU), and the down
// projection's quantizer with the GLU's product in front; the stacked
// GEMV kernels no launch uses any more are gone. The output projection's
// TopK and quantizer are its GEMV's prologue (bitnet-launch-topk-kernel);
// the final norm has no quantizer: it stays.
// RUN: bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx --max-context=32 -o %t/into.bnx --mlir-print-ir-after=bitnet-launch-norm-quantizer-kernel --mlir-elide-elementsattrs-if-larger=16 --mlir-disable-threading 2>&1 | FileCheck %s --check-prefix=INTO
// INTO-NOT: gpu.func @bitlinear_m1_n256_k128_stacked(
// INTO-NOT: gpu.func @bitlinear_m1_n640_k128_stacked(
// INTO-NOT: gpu.func @topk_m1_d128
// INTO: gpu.func @norm_absmean4_nz_bitlinear_m1_n256_k128_stacked(%{{.*}}: memref<1x128xf32>, %{{.*}}: memref<128xf32>, %{{.*}}: memref<1xi32>, %{{.*}}: memref<256x32xi8>, %{{.*}}: memref<256xf32>, %{{.*}}: memref<1x256xf32>) workgroup(%{{.*}} : memref<1x128xi8, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<1xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<32xf64, #gpu.address_space<workgroup>> {llvm.align = 16 : i64},
// INTO-SAME: known_block_size = array<i32: 256, 1, 1>
// INTO-LABEL: func.func @decode
// INTO: @bitnet_kernels::@norm_absmean4_nz_bitlinear_m1_n256_k128_stacked blocks in (%c8, %{{.*}}, %{{.*}}) threads in (%c256,
// INTO: @bitnet_kernels::@attention_
// INTO: @bitnet_kernels::@topk_k64_absmax8_nz_bitlinear_m1_n128_k128 blocks in (%c4_{{[0-9]+}}, %{{.*}}, %{{.*}}) threads in (%c256_
// INTO-NOT: @bitnet_kernels::@bitlinear_m1_n128_k128 blocks
// INTO: @bitnet_kernels::@norm_absmean4_nz_bitlinear_m1_n640_k128_stacked blocks in (%c20,
// INTO: @bitnet_kernels::@norm_absmax8_nz_bitlinear_m1_n128_k320 blocks in (%c4_
// INTO: @bitnet_kernels::@norm_absmean4_nz_bitlinear_m1_n256_k128_stacked_1 blocks
// INTO: @bitnet_kernels::@norm_f32_m1_d128 blocks
// INTO-NOT: bitnet.absm
// INTO: return
// --gpu-prologue-rows-per-warp=2: the fused q/k/v GEMV (256 rows) in 16
// blocks of 8 warps instead of 8.
// RUN: bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx --max-context=32 -o %t/into2.bnx --gpu-prologue-rows-per-warp=2 --mlir-print-ir-after=bitnet-launch-norm-quantizer-kernel --mlir-elide-elementsattrs-if-larger=16 --mlir-disable-threading 2>&1 | FileCheck %s --check-prefix=INTO2
// INTO2-LABEL: func.func @decode
// INTO2: @bitnet_kernels::@norm_absmean4_nz_bitlinear_m1_n256_k128_stacked blocks in (%c16, %{{.*}}, %{{.*}}) threads in (%c256,
// RUN: bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx --max-context=32 -o %t/nonorm.bnx --gpu-norm-kernels=0 --mlir-print-ir-after=bitnet-fuse-small-launches --mlir-elide-elementsattrs-if-larger=16 --mlir-disable-threading 2>&1 | FileCheck %s --check-prefix=NONORM
// NONORM-NOT: @norm_
// NONORM: bitnet-compile: wrote
