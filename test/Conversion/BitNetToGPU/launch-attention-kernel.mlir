// RUN: bitnet-opt %s --split-input-file --bitnet-launch-attention-kernel | FileCheck %s
// RUN: bitnet-opt %s --split-input-file --bitnet-launch-attention-kernel=value-rows=16 | FileCheck %s --check-prefix=ROWS16
// RUN: not bitnet-opt %s --split-input-file --bitnet-launch-attention-kernel=value-rows=0 2>&1 | FileCheck %s --check-prefix=BADROWS

// A decode step's attention (2B4T: 20 query heads on 5 KV heads of 128, a
// cache of 256 rows): one block of 512 threads per query head. The cache
// slices of the step's cache argument are read in place (the argument and
// the slice's index), not copied. Shared arrays start on 16 bytes: the
// partials' 16-byte stores follow 257 scores (1,028 bytes).
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: gpu.func @attention_h20_kv5_s1_c256_d128_n60x256(%{{.*}}: memref<1x20x1x128xf32>, %{{.*}}: memref<1x5x1x128xf32>, %{{.*}}: memref<1x5x1x128xf32>, %{{.*}}: memref<60x1x5x256x128xf32>, %{{.*}}: index, %{{.*}}: memref<60x1x5x256x128xf32>, %{{.*}}: index, %{{.*}}: memref<i64>, %{{.*}}: f32, %{{.*}}: memref<1x20x1x128xf32>) workgroup(%{{.*}} : memref<1x257xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<16x128xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<16xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<16xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
// CHECK-SAME: bitnet.grid_size = array<i32: 20, 1, 1>, known_block_size = array<i32: 512, 1, 1>
// Scores: eight lanes per key row, four 16-byte pieces each, four rows in
// flight, a shuffle sum over the eight lanes into shared memory.
// CHECK: scf.for
// CHECK-COUNT-16: vector.load %arg3
// CHECK: vector.fma
// CHECK: gpu.shuffle  xor %{{.*}}, %c4_i32
// CHECK: memref.store %{{.*}}, %arg10
// CHECK: gpu.barrier
// Softmax in shared memory (block maximum, exp, block sum, division).
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: arith.divf
// P V over the value rows, four in flight a thread (value-rows), then the
// slices' sums.
// CHECK: scf.for
// CHECK-COUNT-4: vector.load %arg5
// CHECK-NOT: vector.load %arg5
// CHECK: scf.yield
// With value-rows=16, sixteen rows a round.
// ROWS16: gpu.func @attention_h20_kv5_s1_c256_d128_n60x256(
// ROWS16: arith.divf
// ROWS16: scf.for
// ROWS16-COUNT-16: vector.load %arg5
// ROWS16-NOT: vector.load %arg5
// ROWS16: scf.yield
// BADROWS: error: bitnet-launch-attention-kernel: value-rows must be 1 to 32, not 0
// CHECK: vector.store %{{.*}}, %arg11[%{{.*}}, %{{.*}}] {alignment = 16 : i64}
// CHECK: memref.store %{{.*}}, %arg9
// CHECK-LABEL: func.func @decode
// CHECK: %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x20x1x128xf32>
// CHECK: %[[SCALE:.*]] = arith.constant 0.0883883461 : f32
// CHECK: %[[CACHE:.*]] = bufferization.to_buffer %arg3 read_only : tensor<60x1x5x256x128xf32>
// CHECK: %[[KI:.*]] = arith.constant 6 : index
// CHECK: %[[VI:.*]] = arith.constant 7 : index
// CHECK: %[[START:.*]] = bufferization.to_buffer %arg4 read_only : tensor<i64> to memref<i64>
// CHECK: gpu.launch_func @bitnet_kernels::@attention_h20_kv5_s1_c256_d128_n60x256 blocks in (%c20, %c1{{.*}}, %c1{{.*}}) threads in (%c512, %c1{{.*}}, %c1{{.*}}) args({{.*}}, %[[CACHE]] : memref<60x1x5x256x128xf32>, %[[KI]] : index, %{{.*}} : memref<60x1x5x256x128xf32>, %[[VI]] : index, %[[START]] : memref<i64>, %[[SCALE]] : f32, %[[OUT]] : memref<1x20x1x128xf32>)
// CHECK: %[[T:.*]] = bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: return %[[T]]
// CHECK-NOT: bitnet.cached_attention
func.func @decode(%q: tensor<1x20x1x128xf32>, %k: tensor<1x5x1x128xf32>, %v: tensor<1x5x1x128xf32>,
                  %cache: tensor<60x1x5x256x128xf32>, %start: tensor<i64>) -> tensor<1x20x1x128xf32> {
  %kc = tensor.extract_slice %cache[6, 0, 0, 0, 0] [1, 1, 5, 256, 128] [1, 1, 1, 1, 1] : tensor<60x1x5x256x128xf32> to tensor<1x5x256x128xf32>
  %vc = tensor.extract_slice %cache[7, 0, 0, 0, 0] [1, 1, 5, 256, 128] [1, 1, 1, 1, 1] : tensor<60x1x5x256x128xf32> to tensor<1x5x256x128xf32>
  %o = bitnet.cached_attention %q, %k, %v, %kc, %vc start %start {scale = 0.0883883461 : f32}
      : tensor<1x20x1x128xf32>, tensor<1x5x1x128xf32>, tensor<1x5x256x128xf32>, tensor<i64> -> tensor<1x20x1x128xf32>
  return %o : tensor<1x20x1x128xf32>
}

// -----

// A prefill chunk of 16 tokens over an f16 cache that is not a slice: a
// block per (KV head, token) computing its 2 query heads (each key and
// value row loaded once for both: two score rows, two accumulators, the
// slices' sums head by head through one partials array), the
// cache as [1, 1, KVH, C, D] at index 0, rows widened after their 8-byte
// loads (two lanes per key row of 32).
// CHECK: gpu.func @attention_h4_kv2_s16_c64_d32_f16_n1x64_g2(
// CHECK-SAME: memref<1x1x2x64x32xf16>
// CHECK-SAME: workgroup(%{{.*}} : memref<2x80xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<64x32xf32, #gpu.address_space<workgroup>>
// CHECK-SAME: bitnet.grid_size = array<i32: 2, 16, 1>
// CHECK: vector.load %arg3{{.*}} {alignment = 8 : i64} : memref<1x1x2x64x32xf16>, vector<4xf16>
// CHECK: arith.extf %{{.*}} : vector<4xf16> to vector<4xf32>
// CHECK: gpu.shuffle  xor %{{.*}}, %c1_i32
// CHECK-LABEL: func.func @prefill_f16
// CHECK: %[[K:.*]] = tensor.expand_shape %arg3 {{\[\[}}0, 1], [2], [3], [4]] output_shape [1, 1, 2, 64, 32]
// CHECK: gpu.launch_func @bitnet_kernels::@attention_h4_kv2_s16_c64_d32_f16_n1x64_g2 blocks in (%c2, %c16, %c1{{.*}}) threads in (%c512
func.func @prefill_f16(%q: tensor<1x4x16x32xf32>, %k: tensor<1x2x16x32xf32>, %v: tensor<1x2x16x32xf32>,
                       %kc: tensor<1x2x64x32xf16>, %vc: tensor<1x2x64x32xf16>, %start: tensor<i64>) -> tensor<1x4x16x32xf32> {
  %o = bitnet.cached_attention %q, %k, %v, %kc, %vc start %start {scale = 0.176776692 : f32}
      : tensor<1x4x16x32xf32>, tensor<1x2x16x32xf32>, tensor<1x2x64x32xf16>, tensor<i64> -> tensor<1x4x16x32xf32>
  return %o : tensor<1x4x16x32xf32>
}

// -----

// Head sizes the kernel's 16-byte pieces cannot cover (not a multiple of 4)
// and caches whose scores overflow the block's shared memory keep the
// reference lowering.
// CHECK-LABEL: func.func @unsupported
// CHECK-NOT: gpu.launch_func
// CHECK: bitnet.cached_attention
// CHECK: bitnet.cached_attention
func.func @unsupported(%q: tensor<1x4x1x30xf32>, %k: tensor<1x2x1x30xf32>, %kc: tensor<1x2x64x30xf32>,
                       %q2: tensor<1x4x1x32xf32>, %k2: tensor<1x2x1x32xf32>, %kc2: tensor<1x2x16384x32xf32>,
                       %start: tensor<i64>) -> (tensor<1x4x1x30xf32>, tensor<1x4x1x32xf32>) {
  %o = bitnet.cached_attention %q, %k, %k, %kc, %kc start %start {scale = 0.125 : f32}
      : tensor<1x4x1x30xf32>, tensor<1x2x1x30xf32>, tensor<1x2x64x30xf32>, tensor<i64> -> tensor<1x4x1x30xf32>
  %o2 = bitnet.cached_attention %q2, %k2, %k2, %kc2, %kc2 start %start {scale = 0.125 : f32}
      : tensor<1x4x1x32xf32>, tensor<1x2x1x32xf32>, tensor<1x2x16384x32xf32>, tensor<i64> -> tensor<1x4x1x32xf32>
  return %o, %o2 : tensor<1x4x1x30xf32>, tensor<1x4x1x32xf32>
}
