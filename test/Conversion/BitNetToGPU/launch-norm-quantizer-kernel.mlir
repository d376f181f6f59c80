// RUN: bitnet-opt %s --split-input-file --bitnet-launch-norm-quantizer-kernel | FileCheck %s
// RUN: bitnet-opt %s --split-input-file --bitnet-launch-norm-quantizer-kernel="max-rows=2" | FileCheck %s --check-prefix=ROWS

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row3 = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
#col3 = affine_map<(d0, d1, d2) -> (d2)>
#scalar3 = affine_map<(d0, d1, d2) -> ()>

// A decode step's residual add and RMSNorm (squares summed in f64, mean,
// eps, sqrt, reciprocal, two products) in front of an absmean quantizer:
// one kernel, a block per row of 2560 / 4 threads, 4 elements a thread.
// The residual stream (used after the chain) is written out; the norm
// weights are a column input; splat constants are inlined.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: gpu.func @norm_absmean4_m1_d2560(%{{.*}}: memref<1x2560xf32>, %{{.*}}: memref<1x2560xf32>, %{{.*}}: memref<2560xf32>, %{{.*}}: memref<1x2560xf32>, %{{.*}}: memref<1x2560xi8>, %{{.*}}: memref<1xf32>) workgroup(%{{.*}} : memref<32xf64, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<32xf64, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
// CHECK-SAME: known_block_size = array<i32: 640, 1, 1>
// CHECK-COUNT-4: memref.load %arg0
// CHECK-COUNT-4: arith.addf %{{.*}}, %{{.*}} : f32
// CHECK: arith.extf %{{.*}} : f32 to f64
// The f64 partials cross lanes as two 32-bit halves.
// CHECK: gpu.shuffle  xor %{{.*}} : i32
// CHECK: gpu.barrier
// CHECK: math.sqrt
// CHECK-COUNT-4: memref.store %{{.*}}, %arg3
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %arg5
// CHECK: arith.fptosi %{{.*}} : f32 to i8
// CHECK-LABEL: func.func @decode_norm
// Each read is tagged with its own number (CSE must not merge two
// launches' reads of one tensor: bufferization would miss the later one).
// CHECK-DAG: %[[RES:.*]] = bufferization.to_buffer %{{.*}} read_only {bitnet.launch_read = 0 : i64} : tensor<1x2560xf32> to memref<1x2560xf32>
// CHECK-DAG: %[[W:.*]] = bufferization.to_buffer %{{.*}} read_only {bitnet.launch_read = 2 : i64} : tensor<2560xf32> to memref<2560xf32>
// CHECK: %[[H:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x2560xf32>
// CHECK: gpu.launch_func @bitnet_kernels::@norm_absmean4_m1_d2560 blocks in (%c1{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c640, %c1{{.*}}, %c1{{.*}}) args(%[[RES]] : memref<1x2560xf32>, %{{.*}} : memref<1x2560xf32>, %[[W]] : memref<2560xf32>, %[[H]] : memref<1x2560xf32>, %{{.*}} : memref<1x2560xi8>, %{{.*}} : memref<1xf32>)
// The written residual stream is not writable in place: later reads of it
// may fold to the buffer itself.
// CHECK: %[[HT:.*]] = bufferization.to_tensor %[[H]] restrict :
// CHECK: %[[HE:.*]] = tensor.expand_shape %[[HT]]
// CHECK-NOT: linalg.generic
// CHECK-NOT: bitnet.absmean_quant
// CHECK: return %[[HE]]
func.func @decode_norm(%res: tensor<1x1x2560xf32>, %out: tensor<1x1x2560xf32>, %w: tensor<2560xf32>) -> (tensor<1x1x2560xf32>, tensor<1x1x2560xi8>, tensor<1x1xf32>) {
  %e = tensor.empty() : tensor<1x1x2560xf32>
  %h = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%res, %out : tensor<1x1x2560xf32>, tensor<1x1x2560xf32>) outs(%e : tensor<1x1x2560xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<1x1x2560xf32>
  %two = arith.constant dense<2.0> : tensor<f32>
  %sq = linalg.generic {indexing_maps = [#id3, #scalar3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%h, %two : tensor<1x1x2560xf32>, tensor<f32>) outs(%e : tensor<1x1x2560xf32>) {
  ^bb0(%a: f32, %t: f32, %o: f32):
    %m = arith.mulf %a, %a : f32
    linalg.yield %m : f32
  } -> tensor<1x1x2560xf32>
  %zero = arith.constant 0.0 : f64
  %e64 = tensor.empty() : tensor<1x1x1xf64>
  %acc = linalg.fill ins(%zero : f64) outs(%e64 : tensor<1x1x1xf64>) -> tensor<1x1x1xf64>
  %sum = linalg.generic {indexing_maps = [#id3, #row3], iterator_types = ["parallel", "parallel", "reduction"]} ins(%sq : tensor<1x1x2560xf32>) outs(%acc : tensor<1x1x1xf64>) {
  ^bb0(%a: f32, %o: f64):
    %x = arith.extf %a : f32 to f64
    %s = arith.addf %o, %x : f64
    linalg.yield %s : f64
  } -> tensor<1x1x1xf64>
  %e1 = tensor.empty() : tensor<1x1x1xf32>
  %rs = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%sum : tensor<1x1x1xf64>) outs(%e1 : tensor<1x1x1xf32>) {
  ^bb0(%a: f64, %o: f32):
    %n = arith.constant 2.560000e+03 : f64
    %m = arith.divf %a, %n : f64
    %t = arith.truncf %m : f64 to f32
    %eps = arith.constant 1.0e-05 : f32
    %p = arith.addf %t, %eps : f32
    %r = math.sqrt %p : f32
    %one = arith.constant 1.0 : f32
    %q = arith.divf %one, %r : f32
    linalg.yield %q : f32
  } -> tensor<1x1x1xf32>
  %n = linalg.generic {indexing_maps = [#id3, #row3, #col3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%h, %rs, %w : tensor<1x1x2560xf32>, tensor<1x1x1xf32>, tensor<2560xf32>) outs(%e : tensor<1x1x2560xf32>) {
  ^bb0(%a: f32, %r: f32, %g: f32, %o: f32):
    %m = arith.mulf %a, %r : f32
    %y = arith.mulf %m, %g : f32
    linalg.yield %y : f32
  } -> tensor<1x1x2560xf32>
  %c, %s = bitnet.absmean_quant %n {mult_form = #bitnet.mult_form<recip_mul>} : tensor<1x1x2560xf32> -> tensor<1x1x2560xi8>, tensor<1x1xf32>
  return %h, %c, %s : tensor<1x1x2560xf32>, tensor<1x1x2560xi8>, tensor<1x1xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row2 = affine_map<(d0, d1) -> (d0)>

// Prefill rows ([4, 320]: a block per row, 96 threads) of a max
// reduction; two chains of the same structure share one kernel, one with
// other constants gets its own (`_1`). More rows than max-rows: left alone.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: gpu.func @norm_absmax8_m4_d320(
// CHECK-SAME: known_block_size = array<i32: 96, 1, 1>
// CHECK: arith.maximumf
// CHECK: gpu.func @norm_absmax8_m4_d320_1(
// CHECK-LABEL: func.func @prefill_rows
// CHECK: gpu.launch_func @bitnet_kernels::@norm_absmax8_m4_d320 blocks in (%c4
// CHECK: gpu.launch_func @bitnet_kernels::@norm_absmax8_m4_d320 blocks in (%c4
// CHECK: gpu.launch_func @bitnet_kernels::@norm_absmax8_m4_d320_1 blocks in (%c4
// CHECK-NOT: linalg.generic
// ROWS-LABEL: func.func @prefill_rows
// ROWS-NOT: gpu.launch_func
// ROWS-COUNT-3: bitnet.absmax_quant
func.func @prefill_rows(%x: tensor<4x320xf32>, %y: tensor<4x320xf32>) -> (tensor<4x320xi8>, tensor<4xf32>, tensor<4x320xi8>, tensor<4xf32>, tensor<4x320xi8>, tensor<4xf32>) {
  %e = tensor.empty() : tensor<4x320xf32>
  %er = tensor.empty() : tensor<4xf32>
  %init = arith.constant dense<0xFF800000> : tensor<4xf32>
  %m = linalg.generic {indexing_maps = [#id2, #row2], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x320xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %n = linalg.generic {indexing_maps = [#id2, #row2, #id2], iterator_types = ["parallel", "parallel"]} ins(%x, %m : tensor<4x320xf32>, tensor<4xf32>) outs(%e : tensor<4x320xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.subf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<4x320xf32>
  %c, %s = bitnet.absmax_quant %n {bits = 8 : i32} : tensor<4x320xf32> -> tensor<4x320xi8>, tensor<4xf32>
  %m2 = linalg.generic {indexing_maps = [#id2, #row2], iterator_types = ["parallel", "reduction"]} ins(%y : tensor<4x320xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.maximumf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %n2 = linalg.generic {indexing_maps = [#id2, #row2, #id2], iterator_types = ["parallel", "parallel"]} ins(%y, %m2 : tensor<4x320xf32>, tensor<4xf32>) outs(%e : tensor<4x320xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.subf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<4x320xf32>
  %c2, %s2 = bitnet.absmax_quant %n2 {bits = 8 : i32} : tensor<4x320xf32> -> tensor<4x320xi8>, tensor<4xf32>
  %n3 = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%y : tensor<4x320xf32>) outs(%e : tensor<4x320xf32>) {
  ^bb0(%a: f32, %o: f32):
    %k = arith.constant 3.0 : f32
    %r = arith.mulf %a, %k : f32
    linalg.yield %r : f32
  } -> tensor<4x320xf32>
  %c3, %s3 = bitnet.absmax_quant %n3 {bits = 8 : i32} : tensor<4x320xf32> -> tensor<4x320xi8>, tensor<4xf32>
  return %c, %s, %c2, %s2, %c3, %s3 : tensor<4x320xi8>, tensor<4xf32>, tensor<4x320xi8>, tensor<4xf32>, tensor<4x320xi8>, tensor<4xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row2 = affine_map<(d0, d1) -> (d0)>

// Left alone: a quantizer of a function argument (no chain); a body that
// reads a value from outside it (not a constant); a reduction whose
// accumulating op does not combine partials (a product); a sum whose
// initial value is not zero (it would be counted once per thread).
// CHECK-LABEL: func.func @not_chains
// CHECK-NOT: gpu.launch_func
// CHECK-COUNT-4: bitnet.absmax_quant
func.func @not_chains(%x: tensor<1x256xf32>, %v: f32) -> (tensor<1x256xi8>, tensor<1xf32>, tensor<1x256xi8>, tensor<1xf32>, tensor<1x256xi8>, tensor<1xf32>, tensor<1x256xi8>, tensor<1xf32>) {
  %c0, %s0 = bitnet.absmax_quant %x {bits = 8 : i32} : tensor<1x256xf32> -> tensor<1x256xi8>, tensor<1xf32>
  %e = tensor.empty() : tensor<1x256xf32>
  %n = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<1x256xf32>) outs(%e : tensor<1x256xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.mulf %a, %v : f32
    linalg.yield %r : f32
  } -> tensor<1x256xf32>
  %c1, %s1 = bitnet.absmax_quant %n {bits = 8 : i32} : tensor<1x256xf32> -> tensor<1x256xi8>, tensor<1xf32>
  %one = arith.constant dense<1.0> : tensor<1xf32>
  %p = linalg.generic {indexing_maps = [#id2, #row2], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<1x256xf32>) outs(%one : tensor<1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.mulf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<1xf32>
  %n2 = linalg.generic {indexing_maps = [#id2, #row2, #id2], iterator_types = ["parallel", "parallel"]} ins(%x, %p : tensor<1x256xf32>, tensor<1xf32>) outs(%e : tensor<1x256xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.mulf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<1x256xf32>
  %c2, %s2 = bitnet.absmax_quant %n2 {bits = 8 : i32} : tensor<1x256xf32> -> tensor<1x256xi8>, tensor<1xf32>
  %q = linalg.generic {indexing_maps = [#id2, #row2], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<1x256xf32>) outs(%one : tensor<1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<1xf32>
  %n3 = linalg.generic {indexing_maps = [#id2, #row2, #id2], iterator_types = ["parallel", "parallel"]} ins(%x, %q : tensor<1x256xf32>, tensor<1xf32>) outs(%e : tensor<1x256xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.mulf %a, %b : f32
    linalg.yield %r : f32
  } -> tensor<1x256xf32>
  %c3, %s3 = bitnet.absmax_quant %n3 {bits = 8 : i32} : tensor<1x256xf32> -> tensor<1x256xi8>, tensor<1xf32>
  return %c0, %s0, %c1, %s1, %c2, %s2, %c3, %s3 : tensor<1x256xi8>, tensor<1xf32>, tensor<1x256xi8>, tensor<1xf32>, tensor<1x256xi8>, tensor<1xf32>, tensor<1x256xi8>, tensor<1xf32>
}

// -----

#id2 = affine_map<(d0, d1) -> (d0, d1)>

// Two launches read the same tensor (a residual stream that two chains
// add to): their reads stay two ops after CSE, so the second read is
// where bufferization sees it.
// RUN: bitnet-opt %s --split-input-file --bitnet-launch-norm-quantizer-kernel --cse | FileCheck %s --check-prefix=CSE
// CSE-LABEL: func.func @shared_input
// CSE: bufferization.to_buffer %arg0 read_only {bitnet.launch_read = 0 : i64}
// CSE: gpu.launch_func
// CSE: bufferization.to_buffer %arg0 read_only {bitnet.launch_read = 2 : i64}
// CSE: gpu.launch_func
func.func @shared_input(%x: tensor<1x256xf32>, %a: tensor<1x256xf32>, %b: tensor<1x256xf32>) -> (tensor<1x256xi8>, tensor<1xf32>, tensor<1x256xi8>, tensor<1xf32>) {
  %e = tensor.empty() : tensor<1x256xf32>
  %s1 = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%x, %a : tensor<1x256xf32>, tensor<1x256xf32>) outs(%e : tensor<1x256xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %r = arith.addf %p, %q : f32
    linalg.yield %r : f32
  } -> tensor<1x256xf32>
  %c1, %q1 = bitnet.absmax_quant %s1 {bits = 8 : i32} : tensor<1x256xf32> -> tensor<1x256xi8>, tensor<1xf32>
  %s2 = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]} ins(%x, %b : tensor<1x256xf32>, tensor<1x256xf32>) outs(%e : tensor<1x256xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %r = arith.addf %p, %q : f32
    linalg.yield %r : f32
  } -> tensor<1x256xf32>
  %c2, %q2 = bitnet.absmax_quant %s2 {bits = 8 : i32} : tensor<1x256xf32> -> tensor<1x256xi8>, tensor<1xf32>
  return %c1, %q1, %c2, %q2 : tensor<1x256xi8>, tensor<1xf32>, tensor<1x256xi8>, tensor<1xf32>
}

// -----

// A prefill chunk's GLU (bitnet.relu2_glu of the gate and up projections'
// results) in front of the down projection's quantizer: one kernel,
// up * max(gate, 0)^2 per element as the reference lowering computes it.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: gpu.func @norm_absmax8_m64_d6912(%{{.*}}: memref<64x6912xf32>, %{{.*}}: memref<64x6912xf32>, %{{.*}}: memref<64x6912xi8>, %{{.*}}: memref<64xf32>)
// CHECK-SAME: known_block_size = array<i32: 1024, 1, 1>
// CHECK: %[[RELU:.*]] = arith.maximumf %{{.*}}, %{{.*}} : f32
// CHECK: %[[SQ:.*]] = arith.mulf %[[RELU]], %[[RELU]] : f32
// CHECK: arith.mulf %{{.*}}, %[[SQ]] : f32
// CHECK-LABEL: func.func @prefill_glu
// CHECK: gpu.launch_func @bitnet_kernels::@norm_absmax8_m64_d6912 blocks in (%c64
// CHECK-NOT: bitnet.relu2_glu
func.func @prefill_glu(%g: tensor<1x64x6912xf32>, %u: tensor<1x64x6912xf32>) -> (tensor<1x64x6912xi8>, tensor<1x64xf32>) {
  %y = bitnet.relu2_glu %g, %u : tensor<1x64x6912xf32>
  %c, %s = bitnet.absmax_quant %y : tensor<1x64x6912xf32> -> tensor<1x64x6912xi8>, tensor<1x64xf32>
  return %c, %s : tensor<1x64x6912xi8>, tensor<1x64xf32>
}

// -----

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#row3 = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
#col3 = affine_map<(d0, d1, d2) -> (d2)>
#hx = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#hw = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
#ho = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>

// The final RMSNorm in front of the LM head (the importer's float matmul
// as wide as the decoder record's vocabulary): the same kind of kernel
// without a quantizer, `norm_f32_...`, writing the normed rows, which the
// head then reads; the head itself stays. A float matmul of another width
// is no sink: the chain in front of it stays generic.
// CHECK-LABEL: module attributes {bitnet.decoder = {vocab = 64 : i64}, gpu.container_module}
// CHECK: gpu.func @norm_f32_m1_d256(%{{.*}}: memref<1x256xf32>, %{{.*}}: memref<1x256xf32>, %{{.*}}: memref<256xf32>, %{{.*}}: memref<1x256xf32>) workgroup(%{{.*}} : memref<32xf64, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
// CHECK-NOT: arith.fptosi
// CHECK: gpu.return
// CHECK-LABEL: func.func @final_norm
// CHECK: %[[N:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x256xf32>
// CHECK: gpu.launch_func @bitnet_kernels::@norm_f32_m1_d256 {{.*}} threads in (%c64, %{{.*}}, %{{.*}}) args(%{{.*}} : memref<1x256xf32>, %{{.*}} : memref<1x256xf32>, %{{.*}} : memref<256xf32>, %[[N]] : memref<1x256xf32>)
// CHECK: %[[NT:.*]] = bufferization.to_tensor %[[N]] restrict :
// CHECK: %[[NE:.*]] = tensor.expand_shape %[[NT]]
// CHECK: linalg.generic {{.*}} ins(%[[NE]], %{{.*}} : tensor<1x1x256xf32>, tensor<64x256xf32>) {{.*}} attrs = {bitnet.ukernel = "matmul_f32_nt"}
// CHECK-LABEL: func.func @other_width
// CHECK-NOT: gpu.launch_func
// CHECK: math.sqrt
module attributes {bitnet.decoder = {vocab = 64 : i64}} {
  func.func @final_norm(%res: tensor<1x1x256xf32>, %out: tensor<1x1x256xf32>, %g: tensor<256xf32>, %table: tensor<64x256xf32>) -> tensor<1x1x64xf32> {
    %e0 = tensor.empty() : tensor<1x1x256xf32>
    %h = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%res, %out : tensor<1x1x256xf32>, tensor<1x1x256xf32>) outs(%e0 : tensor<1x1x256xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %s = arith.addf %a, %b : f32
      linalg.yield %s : f32
    } -> tensor<1x1x256xf32>
    %z64 = arith.constant 0.0 : f64
    %e64 = tensor.empty() : tensor<1x1x1xf64>
    %acc = linalg.fill ins(%z64 : f64) outs(%e64 : tensor<1x1x1xf64>) -> tensor<1x1x1xf64>
    %sum = linalg.generic {indexing_maps = [#id3, #row3], iterator_types = ["parallel", "parallel", "reduction"]} ins(%h : tensor<1x1x256xf32>) outs(%acc : tensor<1x1x1xf64>) {
    ^bb0(%a: f32, %o: f64):
      %m = arith.mulf %a, %a : f32
      %x = arith.extf %m : f32 to f64
      %s = arith.addf %o, %x : f64
      linalg.yield %s : f64
    } -> tensor<1x1x1xf64>
    %e1 = tensor.empty() : tensor<1x1x1xf32>
    %rs = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%sum : tensor<1x1x1xf64>) outs(%e1 : tensor<1x1x1xf32>) {
    ^bb0(%a: f64, %o: f32):
      %c = arith.constant 2.560000e+02 : f64
      %m = arith.divf %a, %c : f64
      %t = arith.truncf %m : f64 to f32
      %r = math.sqrt %t : f32
      %one = arith.constant 1.0 : f32
      %q = arith.divf %one, %r : f32
      linalg.yield %q : f32
    } -> tensor<1x1x1xf32>
    %n = linalg.generic {indexing_maps = [#id3, #row3, #col3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%h, %rs, %g : tensor<1x1x256xf32>, tensor<1x1x1xf32>, tensor<256xf32>) outs(%e0 : tensor<1x1x256xf32>) {
    ^bb0(%a: f32, %r: f32, %w: f32, %o: f32):
      %m = arith.mulf %a, %r : f32
      %y = arith.mulf %m, %w : f32
      linalg.yield %y : f32
    } -> tensor<1x1x256xf32>
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<1x1x64xf32>
    %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x1x64xf32>) -> tensor<1x1x64xf32>
    %r = linalg.generic {indexing_maps = [#hx, #hw, #ho], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
        ins(%n, %table : tensor<1x1x256xf32>, tensor<64x256xf32>) outs(%init : tensor<1x1x64xf32>)
        attrs = {bitnet.ukernel = "matmul_f32_nt"} {
    ^bb0(%a: f32, %b: f32, %c: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
    } -> tensor<1x1x64xf32>
    return %r : tensor<1x1x64xf32>
  }
  func.func @other_width(%res: tensor<1x1x256xf32>, %out: tensor<1x1x256xf32>, %g: tensor<256xf32>, %table: tensor<32x256xf32>) -> tensor<1x1x32xf32> {
    %e0 = tensor.empty() : tensor<1x1x256xf32>
    %h = linalg.generic {indexing_maps = [#id3, #id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%res, %out : tensor<1x1x256xf32>, tensor<1x1x256xf32>) outs(%e0 : tensor<1x1x256xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %s = arith.addf %a, %b : f32
      linalg.yield %s : f32
    } -> tensor<1x1x256xf32>
    %z64 = arith.constant 0.0 : f64
    %e64 = tensor.empty() : tensor<1x1x1xf64>
    %acc = linalg.fill ins(%z64 : f64) outs(%e64 : tensor<1x1x1xf64>) -> tensor<1x1x1xf64>
    %sum = linalg.generic {indexing_maps = [#id3, #row3], iterator_types = ["parallel", "parallel", "reduction"]} ins(%h : tensor<1x1x256xf32>) outs(%acc : tensor<1x1x1xf64>) {
    ^bb0(%a: f32, %o: f64):
      %m = arith.mulf %a, %a : f32
      %x = arith.extf %m : f32 to f64
      %s = arith.addf %o, %x : f64
      linalg.yield %s : f64
    } -> tensor<1x1x1xf64>
    %e1 = tensor.empty() : tensor<1x1x1xf32>
    %rs = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%sum : tensor<1x1x1xf64>) outs(%e1 : tensor<1x1x1xf32>) {
    ^bb0(%a: f64, %o: f32):
      %c = arith.constant 2.560000e+02 : f64
      %m = arith.divf %a, %c : f64
      %t = arith.truncf %m : f64 to f32
      %r = math.sqrt %t : f32
      %one = arith.constant 1.0 : f32
      %q = arith.divf %one, %r : f32
      linalg.yield %q : f32
    } -> tensor<1x1x1xf32>
    %n = linalg.generic {indexing_maps = [#id3, #row3, #col3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%h, %rs, %g : tensor<1x1x256xf32>, tensor<1x1x1xf32>, tensor<256xf32>) outs(%e0 : tensor<1x1x256xf32>) {
    ^bb0(%a: f32, %r: f32, %w: f32, %o: f32):
      %m = arith.mulf %a, %r : f32
      %y = arith.mulf %m, %w : f32
      linalg.yield %y : f32
    } -> tensor<1x1x256xf32>
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty() : tensor<1x1x32xf32>
    %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x1x32xf32>) -> tensor<1x1x32xf32>
    %r = linalg.generic {indexing_maps = [#hx, #hw, #ho], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
        ins(%n, %table : tensor<1x1x256xf32>, tensor<32x256xf32>) outs(%init : tensor<1x1x32xf32>)
        attrs = {bitnet.ukernel = "matmul_f32_nt"} {
    ^bb0(%a: f32, %b: f32, %c: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %c, %p : f32
      linalg.yield %s : f32
    } -> tensor<1x1x32xf32>
    return %r : tensor<1x1x32xf32>
  }
}

// -----

// A quantizer of rank 1 (one row, [d]; its count would be rank 0) is
// left alone, as bitnet-launch-quantizer-kernel leaves it: the kernels
// take [rows, d] views of inputs of rank 2 or more.
// CHECK-LABEL: func.func @one_row
// CHECK-NOT: gpu.launch_func
// CHECK: bitnet.absmax_quant
// CHECK: arith.cmpi ne
#v1 = affine_map<(d0) -> (d0)>
#s1 = affine_map<(d0) -> ()>
func.func @one_row(%x: tensor<256xf32>, %y: tensor<256xf32>) -> (tensor<256xi8>, tensor<i32>) {
  %e = tensor.empty() : tensor<256xf32>
  %h = linalg.generic {indexing_maps = [#v1, #v1, #v1], iterator_types = ["parallel"]} ins(%x, %y : tensor<256xf32>, tensor<256xf32>) outs(%e : tensor<256xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<256xf32>
  %c, %s = bitnet.absmax_quant %h {bits = 8 : i32} : tensor<256xf32> -> tensor<256xi8>, tensor<f32>
  %zero = arith.constant 0 : i32
  %z8 = arith.constant 0 : i8
  %e0 = tensor.empty() : tensor<i32>
  %init = linalg.fill ins(%zero : i32) outs(%e0 : tensor<i32>) -> tensor<i32>
  %n = linalg.generic {indexing_maps = [#v1, #s1], iterator_types = ["reduction"]} ins(%c : tensor<256xi8>) outs(%init : tensor<i32>) {
  ^bb0(%in: i8, %out: i32):
    %nz = arith.cmpi ne, %in, %z8 : i8
    %one = arith.extui %nz : i1 to i32
    %sum = arith.addi %out, %one : i32
    linalg.yield %sum : i32
  } -> tensor<i32>
  return %c, %n : tensor<256xi8>, tensor<i32>
}
