// RUN: bitnet-opt %s --bitnet-polynomial-exp --split-input-file | FileCheck %s

// An f32 exp becomes the polynomial: a floor for the range reduction, fmas,
// and 2^n built from its bits; no math.exp (nor a libm call) is left.
// CHECK-LABEL: func.func @scalar
// CHECK-NOT: math.exp
// CHECK: math.floor
// CHECK: math.fma
// CHECK: arith.shli
// CHECK: arith.bitcast {{.*}} : i32 to f32
// CHECK: arith.mulf
// CHECK-NOT: math.exp
// CHECK: return
func.func @scalar(%x: f32) -> f32 {
  %e = math.exp %x : f32
  return %e : f32
}

// -----

// Inside a linalg body (softmax, SiLU) and on vectors alike.
// CHECK-LABEL: func.func @in_generic
// CHECK: linalg.generic
// CHECK-NOT: math.exp
// CHECK: math.fma
// CHECK: linalg.yield
// CHECK-LABEL: func.func @vector
// CHECK-NOT: math.exp
// CHECK: math.fma {{.*}} : vector<16xf32>
#id = affine_map<(d0) -> (d0)>
func.func @in_generic(%x: tensor<8xf32>) -> tensor<8xf32> {
  %0 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<8xf32>) outs(%x : tensor<8xf32>) {
  ^bb0(%a: f32, %b: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  } -> tensor<8xf32>
  return %0 : tensor<8xf32>
}
func.func @vector(%x: vector<16xf32>) -> vector<16xf32> {
  %e = math.exp %x : vector<16xf32>
  return %e : vector<16xf32>
}

// -----

// Left alone: exp of other types, and other math ops (RoPE's sin and cos
// keep libm: a single-precision range reduction is too coarse for angles
// in the thousands).
// CHECK-LABEL: func.func @untouched
// CHECK: math.exp %{{.*}} : f64
// CHECK: math.exp %{{.*}} : f16
// CHECK: math.cos %{{.*}} : f32
// CHECK: math.sin %{{.*}} : f32
func.func @untouched(%a: f64, %b: f16, %c: f32) -> (f64, f16, f32, f32) {
  %0 = math.exp %a : f64
  %1 = math.exp %b : f16
  %2 = math.cos %c : f32
  %3 = math.sin %c : f32
  return %0, %1, %2, %3 : f64, f16, f32, f32
}
