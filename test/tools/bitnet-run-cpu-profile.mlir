// BITNET_CPU_PROFILE=1: bitnet-run's process prints, at its end, the steps
// by kind and the ukernel calls by kernel and operand shapes; without it,
// nothing. (Times vary; the shape of the table does not.)
// RUN: rm -rf %t && mkdir -p %t
// RUN: bitnet-compile %bitnet_src_root/models/onnx/a48.onnx --max-context=64 -o %t/a48.bnx
// RUN: env BITNET_CPU_PROFILE=1 bitnet-run %t/a48.bnx --prompt-ids 111,32,102,114,101,101,100,111,109,44,32,110,111,116,10,112 --max-new-tokens 4 2>&1 | FileCheck %s
// RUN: bitnet-run %t/a48.bnx --prompt-ids 111,32,102 --max-new-tokens 2 2>&1 | FileCheck %s --check-prefix=OFF
// RUN: env BITNET_CPU_PROFILE=0 bitnet-run %t/a48.bnx --prompt-ids 111,32,102 --max-new-tokens 2 2>&1 | FileCheck %s --check-prefix=OFF

// CHECK: bitnet cpu profile: 4 steps, {{[0-9.]+}} ms; {{[0-9]+}} ukernel calls, {{[0-9.]+}} ms ({{[0-9.]+}}%); the rest, {{[0-9.]+}} ms, is the generated code
// CHECK-NEXT: decode steps 3
// CHECK-NEXT: prefill16 steps 1
// CHECK-NEXT: ukernel and operand shapes calls total ms avg us share
// Rows by total time (their order varies): the calls counted by shape, the
// prefill's 16 rows and decode's one.
// CHECK-DAG: bitlinear_i8_bits2 [1x16x32x4] [128x32] [1x16x128] 4 {{[0-9.]+}} {{[0-9.]+}} {{[0-9.]+}}%
// CHECK-DAG: bitlinear_i8_bits2 [1x1x32x4] [128x32] [1x1x128] 12
// CHECK-DAG: bitlinear_i8_bits2_gated [1x1x32x4] [320x32] [1x1x320] [1x1x320] 6
// CHECK-DAG: bitlinear_i8_bits2_cols [1x1x320] [320x1x64] [1x1x128] 6
// CHECK-DAG: topk_rank_f32 [1x16x128] [1x16x128] [1x16x128] 2
// CHECK-DAG: attn_scores_cached [1x4x1x32] [1x2x64x32] [] [1x4x1x64] 6

// OFF-NOT: bitnet cpu profile
