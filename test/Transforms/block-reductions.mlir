// RUN: bitnet-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(bitnet-block-reductions))" | FileCheck %s
// RUN: bitnet-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(bitnet-block-reductions{max-outputs=1}))" | FileCheck %s --check-prefix=ONE
// RUN: bitnet-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(bitnet-block-reductions{max-param-bytes=100}))" | FileCheck %s --check-prefix=PARAMS
// RUN: bitnet-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(bitnet-block-reductions{warp-min-size=32}))" | FileCheck %s --check-prefix=WARP

// Two rows' sums of squares (the fill before them folds in: the block adds
// the fill value, thread 0 stores, the fill goes) and a count of non-zero codes: independent,
// so one launch of 2 + 1 blocks of 1024 threads (6912 / 8 rounded up).
// Blocks 0-1 are the rows, block 2 the count. With max-outputs=1 the sums
// stay linalg. With room for fewer parameters each is its own launch.
// CHECK-LABEL: func.func @row_sums_and_count
// CHECK-NOT: linalg.fill
// CHECK-NOT: linalg.generic
// CHECK: gpu.launch blocks(%[[B:[^ ,)]+]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c3, %{{.*}} = %c1, %{{.*}} = %c1) threads(%[[T:[^ ,)]+]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c1024
// CHECK: %[[LO:[^ ,)]+]] = arith.cmpi uge, %[[B]], %c0
// CHECK: %[[HI:[^ ,)]+]] = arith.cmpi ult, %[[B]], %c2
// CHECK: %[[IN:[^ ,)]+]] = arith.andi %[[LO]], %[[HI]]
// CHECK: scf.if %[[IN]] {
// CHECK: %[[ROW:[^ ,)]+]] = arith.remui
// CHECK: %[[PART:[^ ,)]+]] = scf.for %[[I:[^ ,)]+]] = %[[T]] to %c2560{{.*}} step %c1024{{.*}} iter_args(%[[A:[^ ,)]+]] = %cst{{.*}}) -> (f32) {
// CHECK: %[[X:[^ ,)]+]] = memref.load %arg0[%{{.*}}, %[[I]]]
// CHECK: %[[SQ:[^ ,)]+]] = arith.mulf %[[X]], %[[X]]
// CHECK: %[[S:[^ ,)]+]] = arith.addf %[[SQ]], %[[A]]
// CHECK: scf.yield %[[S]]
// CHECK: %[[ALL:[^ ,)]+]] = gpu.all_reduce add %[[PART]] uniform
// CHECK: %[[R:[^ ,)]+]] = arith.addf %[[ALL]], %cst
// CHECK: %[[FIRST:[^ ,)]+]] = arith.cmpi eq, %[[T]], %c0
// CHECK: scf.if %[[FIRST]] {
// CHECK: memref.store %[[R]], %{{.*}}[%[[ROW]]]
// CHECK: arith.cmpi uge, %[[B]], %c2
// CHECK: arith.cmpi ult, %[[B]], %c3
// CHECK: scf.for {{.*}} to %c6912
// CHECK: arith.cmpi ne
// CHECK: arith.extui
// CHECK: arith.addi
// CHECK: gpu.all_reduce add %{{.*}} uniform
// CHECK-NEXT: } : (i32) -> i32
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
// CHECK: return
// ONE-LABEL: func.func @row_sums_and_count
// ONE: linalg.generic
// ONE: gpu.launch blocks({{.*}}) in ({{.*}} = %c1, {{.*}} threads({{.*}}) in ({{.*}} = %c1024
// ONE-NOT: gpu.launch
// ONE: return
// PARAMS-LABEL: func.func @row_sums_and_count
// PARAMS: gpu.launch
// PARAMS: gpu.launch
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @row_sums_and_count(%x: memref<2x2560xf32>, %codes: memref<1x6912xi8>) -> (memref<2xf32>, memref<1xi32>) {
  %zero = arith.constant 0.0 : f32
  %out = memref.alloc() : memref<2xf32>
  linalg.fill ins(%zero : f32) outs(%out : memref<2xf32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<2x2560xf32>) outs(%out : memref<2xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %m = arith.mulf %a, %a : f32
    %s = arith.addf %m, %acc : f32
    linalg.yield %s : f32
  }
  %z = arith.constant 0 : i32
  %cnt = memref.alloc() : memref<1xi32>
  linalg.fill ins(%z : i32) outs(%cnt : memref<1xi32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%codes : memref<1x6912xi8>) outs(%cnt : memref<1xi32>) {
  ^bb0(%a: i8, %acc: i32):
    %c0 = arith.constant 0 : i8
    %nz = arith.cmpi ne, %a, %c0 : i8
    %one = arith.extui %nz : i1 to i32
    %s = arith.addi %acc, %one : i32
    linalg.yield %s : i32
  }
  return %out, %cnt : memref<2xf32>, memref<1xi32>
}

// -----

// Bufferization shares one fill among reductions whose inits CSE merged:
// copies of the filled buffer, and the last reduction into it. Every copy
// goes, then the fill (every op that read it went): one launch, each
// block combining with the fill value. A max over a keepdim output.
// CHECK-LABEL: func.func @shared_fill
// CHECK-NOT: linalg.copy
// CHECK-NOT: linalg.fill
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c2,
// CHECK: gpu.all_reduce maximumf
// CHECK: arith.maximumf %{{.*}}, %cst
// CHECK: memref.store {{.*}} : memref<1x1x1xf32>
// CHECK: gpu.all_reduce maximumf
// CHECK-NOT: gpu.launch
// CHECK: return
#in3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#keep = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
func.func @shared_fill(%x: memref<1x1x512xf32>, %y: memref<1x1x512xf32>) -> (memref<1x1x1xf32>, memref<1x1x1xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %init = memref.alloc() : memref<1x1x1xf32>
  linalg.fill ins(%ninf : f32) outs(%init : memref<1x1x1xf32>)
  %a = memref.alloc() : memref<1x1x1xf32>
  linalg.copy ins(%init : memref<1x1x1xf32>) outs(%a : memref<1x1x1xf32>)
  linalg.generic {indexing_maps = [#in3, #keep], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : memref<1x1x512xf32>) outs(%a : memref<1x1x1xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %ab = math.absf %v : f32
    %m = arith.maximumf %ab, %acc : f32
    linalg.yield %m : f32
  }
  linalg.generic {indexing_maps = [#in3, #keep], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%y : memref<1x1x512xf32>) outs(%init : memref<1x1x1xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %ab = math.absf %v : f32
    %m = arith.maximumf %ab, %acc : f32
    linalg.yield %m : f32
  }
  return %a, %init : memref<1x1x1xf32>, memref<1x1x1xf32>
}

// -----

// The second reduction reads what the first writes: two launches, in
// order. No fill before the first: the block combines with the output's
// content. An output that may be an input's buffer (two arguments) is left
// alone.
// CHECK-LABEL: func.func @dependent
// CHECK: %[[SUM:[^ ,)]+]] = memref.alloc() : memref<f32>
// CHECK: gpu.launch
// CHECK: %[[OLD:[^ ,)]+]] = memref.load %[[SUM]][]
// CHECK: arith.addf %[[OLD]], %{{.*}}
// CHECK: gpu.terminator
// CHECK: gpu.launch
// CHECK: gpu.terminator
// CHECK: linalg.generic
// CHECK: return
#v = affine_map<(d0) -> (d0)>
#s = affine_map<(d0) -> ()>
func.func @dependent(%x: memref<1024xf32>, %init: f32, %arg: memref<f32>) -> memref<f32> {
  %sum = memref.alloc() : memref<f32>
  memref.store %init, %sum[] : memref<f32>
  linalg.generic {indexing_maps = [#v, #s], iterator_types = ["reduction"]}
      ins(%x : memref<1024xf32>) outs(%sum : memref<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  }
  %out = memref.alloc() : memref<f32>
  memref.store %init, %out[] : memref<f32>
  linalg.generic {indexing_maps = [#v, #s, #s], iterator_types = ["reduction"]}
      ins(%x, %sum : memref<1024xf32>, memref<f32>) outs(%out : memref<f32>) {
  ^bb0(%a: f32, %t: f32, %acc: f32):
    %d = arith.subf %a, %t : f32
    %s = arith.addf %acc, %d : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#v, #s], iterator_types = ["reduction"]}
      ins(%x : memref<1024xf32>) outs(%arg : memref<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  }
  return %out : memref<f32>
}

// -----

#v = affine_map<(d0) -> (d0)>
#s = affine_map<(d0) -> ()>

// Left alone: too short, a dynamic length, two reductions, and a combiner
// gpu.all_reduce lacks (subtraction).
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: gpu.launch
// CHECK-COUNT-3: linalg.generic
// CHECK: return
func.func @left_alone(%short: memref<128xf32>, %dyn: memref<?xf32>, %acc: memref<f32>) {
  linalg.generic {indexing_maps = [#v, #s], iterator_types = ["reduction"]}
      ins(%short : memref<128xf32>) outs(%acc : memref<f32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %o, %a : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#v, #s], iterator_types = ["reduction"]}
      ins(%dyn : memref<?xf32>) outs(%acc : memref<f32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.addf %o, %a : f32
    linalg.yield %s : f32
  }
  %long = memref.alloc() : memref<4096xf32>
  linalg.generic {indexing_maps = [#v, #s], iterator_types = ["reduction"]}
      ins(%long : memref<4096xf32>) outs(%acc : memref<f32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.subf %o, %a : f32
    linalg.yield %s : f32
  }
  return
}


// -----

// A softmax over rows of 300 (two rows): the max, exp(x - max), their sum
// and the division in place run as one launch of a block per row (64
// threads: 300 / 8 rounded up). The max and the sum stay in registers for
// the stages after them (no load of %m or %s); thread 0 stores them. The
// exp's elements are read back by the thread that wrote them.
// CHECK-LABEL: func.func @softmax_chain
// CHECK-COUNT-1: gpu.launch blocks(%[[B:[^ ,)]+]], {{.*}} in ({{.*}} = %c2, {{.*}} threads(%[[T:[^ ,)]+]], {{.*}} in ({{.*}} = %c64
// CHECK: %[[ROW:[^ ,)]+]] = arith.remui %[[B]], %c2
// CHECK: scf.for
// CHECK: arith.maximumf
// CHECK: %[[MAXP:[^ ,)]+]] = gpu.all_reduce maximumf
// CHECK: %[[MAX:[^ ,)]+]] = arith.maximumf %[[MAXP]], %cst
// CHECK: scf.if
// CHECK: memref.store %[[MAX]], %[[M:[^ ,)\[]+]]
// CHECK: scf.for %[[I:[^ ,)]+]] = %[[T]] to %c300
// CHECK-NOT: memref.load %[[M]]
// CHECK: %[[X:[^ ,)]+]] = memref.load %arg0[%{{.*}}, %[[I]]]
// CHECK: arith.subf %[[X]], %[[MAX]]
// CHECK: math.exp
// CHECK: memref.store
// CHECK: gpu.all_reduce add
// CHECK: scf.for
// CHECK: arith.divf
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
// CHECK-NOT: gpu.launch
// CHECK: return
#x = affine_map<(d0, d1) -> (d0, d1)>
#r = affine_map<(d0, d1) -> (d0)>
func.func @softmax_chain(%x: memref<2x300xf32>) -> memref<2x300xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %m = memref.alloc() : memref<2xf32>
  linalg.fill ins(%ninf : f32) outs(%m : memref<2xf32>)
  linalg.generic {indexing_maps = [#x, #r], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<2x300xf32>) outs(%m : memref<2xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %v = arith.maximumf %a, %acc : f32
    linalg.yield %v : f32
  }
  %e = memref.alloc() : memref<2x300xf32>
  linalg.generic {indexing_maps = [#x, #r, #x], iterator_types = ["parallel", "parallel"]}
      ins(%x, %m : memref<2x300xf32>, memref<2xf32>) outs(%e : memref<2x300xf32>) {
  ^bb0(%a: f32, %mx: f32, %o: f32):
    %d = arith.subf %a, %mx : f32
    %v = math.exp %d : f32
    linalg.yield %v : f32
  }
  %s = memref.alloc() : memref<2xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<2xf32>)
  linalg.generic {indexing_maps = [#x, #r], iterator_types = ["parallel", "reduction"]}
      ins(%e : memref<2x300xf32>) outs(%s : memref<2xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %v = arith.addf %acc, %a : f32
    linalg.yield %v : f32
  }
  linalg.generic {indexing_maps = [#x, #r, #x], iterator_types = ["parallel", "parallel"]}
      ins(%e, %s : memref<2x300xf32>, memref<2xf32>) outs(%e : memref<2x300xf32>) {
  ^bb0(%a: f32, %t: f32, %o: f32):
    %v = arith.divf %a, %t : f32
    linalg.yield %v : f32
  }
  return %e : memref<2x300xf32>
}

// -----

// RMSNorm of one row: the mean square, its reciprocal square root (one
// value a row: a scalar stage every thread computes, thread 0 stores) and
// the scaling. One block of 1024 threads (one row: as wide as the merged
// kernels of bitnet-fuse-small-launches).
// CHECK-LABEL: func.func @norm_chain
// CHECK-COUNT-1: gpu.launch blocks({{.*}} in ({{.*}} = %c1, {{.*}} threads({{.*}} in ({{.*}} = %c1024
// CHECK: gpu.all_reduce add
// CHECK: %[[INV:[^ ,)]+]] = math.rsqrt
// CHECK: scf.if
// CHECK: memref.store %[[INV]]
// CHECK: scf.for
// CHECK: arith.mulf %{{.*}}, %[[INV]]
// CHECK-NOT: gpu.launch
// CHECK: return
#x = affine_map<(d0, d1) -> (d0, d1)>
#keep = affine_map<(d0, d1) -> (d0, 0)>
func.func @norm_chain(%x: memref<1x2560xf32>) -> memref<1x2560xf32> {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 2560.0 : f32
  %ss = memref.alloc() : memref<1x1xf32>
  linalg.fill ins(%zero : f32) outs(%ss : memref<1x1xf32>)
  linalg.generic {indexing_maps = [#x, #keep], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<1x2560xf32>) outs(%ss : memref<1x1xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %q = arith.mulf %a, %a : f32
    %v = arith.addf %acc, %q : f32
    linalg.yield %v : f32
  }
  %inv = memref.alloc() : memref<1x1xf32>
  linalg.generic {indexing_maps = [#x, #x], iterator_types = ["parallel", "parallel"]}
      ins(%ss : memref<1x1xf32>) outs(%inv : memref<1x1xf32>) {
  ^bb0(%a: f32, %o: f32):
    %mean = arith.divf %a, %n : f32
    %v = math.rsqrt %mean : f32
    linalg.yield %v : f32
  }
  %y = memref.alloc() : memref<1x2560xf32>
  linalg.generic {indexing_maps = [#x, #keep, #x], iterator_types = ["parallel", "parallel"]}
      ins(%x, %inv : memref<1x2560xf32>, memref<1x1xf32>) outs(%y : memref<1x2560xf32>) {
  ^bb0(%a: f32, %i: f32, %o: f32):
    %v = arith.mulf %a, %i : f32
    linalg.yield %v : f32
  }
  return %y : memref<1x2560xf32>
}

// -----

// Not row-local: the reversal reads the exp's output in another order
// along the row (element j from 299 - j, which another thread wrote), so
// the exp cannot lead a chain into it and stays linalg (a kernel before
// the launch); the reversal and the row sums of its output are a chain.
// CHECK-LABEL: func.func @not_row_local
// CHECK: linalg.generic
// CHECK: math.exp
// CHECK: gpu.launch
// CHECK: scf.for
// CHECK: memref.store
// CHECK: scf.for
// CHECK: gpu.all_reduce add
// CHECK-NOT: linalg.generic
// CHECK: return
#x = affine_map<(d0, d1) -> (d0, d1)>
#r = affine_map<(d0, d1) -> (d0)>
#rev = affine_map<(d0, d1) -> (d0, 299 - d1)>
func.func @not_row_local(%x: memref<2x300xf32>) -> memref<2xf32> {
  %zero = arith.constant 0.0 : f32
  %e = memref.alloc() : memref<2x300xf32>
  linalg.generic {indexing_maps = [#x, #x], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<2x300xf32>) outs(%e : memref<2x300xf32>) {
  ^bb0(%a: f32, %o: f32):
    %v = math.exp %a : f32
    linalg.yield %v : f32
  }
  %y = memref.alloc() : memref<2x300xf32>
  linalg.generic {indexing_maps = [#rev, #x], iterator_types = ["parallel", "parallel"]}
      ins(%e : memref<2x300xf32>) outs(%y : memref<2x300xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  }
  %s = memref.alloc() : memref<2xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<2xf32>)
  linalg.generic {indexing_maps = [#x, #r], iterator_types = ["parallel", "reduction"]}
      ins(%y : memref<2x300xf32>) outs(%s : memref<2xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %v = arith.addf %acc, %a : f32
    linalg.yield %v : f32
  }
  return %s : memref<2xf32>
}

// -----

// 512 dot products of 128 (attention's scores over a cache): too many
// outputs for blocks, too short as well. With warp-min-size they run as a
// warp per output: 8 warps a block (64 blocks), lanes striding by 32, five
// xor shuffles, lane 0 stores (the fill folded in). Without, they stay.
// WARP-LABEL: func.func @scores
// WARP: gpu.launch blocks({{.*}}) in ({{.*}} = %c64, {{.*}} threads(%[[T:[^ ,)]+]], {{.*}} in ({{.*}} = %c256
// WARP: %[[LANE:[^ ,)]+]] = arith.remui %[[T]], %c32
// WARP: %[[OUT:[^ ,)]+]] = arith.addi
// WARP: %[[IN:[^ ,)]+]] = arith.cmpi ult, %[[OUT]], %c512
// WARP: scf.if %[[IN]] {
// WARP: scf.for %{{.*}} = %[[LANE]] to %c128{{.*}} step %c32
// WARP: arith.mulf
// WARP: arith.addf
// WARP: gpu.shuffle xor %{{.*}}, %c16_i32, %c32_i32 : f32
// WARP: gpu.shuffle xor %{{.*}}, %c8_i32, %c32_i32 : f32
// WARP: gpu.shuffle xor %{{.*}}, %c4_i32, %c32_i32 : f32
// WARP: gpu.shuffle xor %{{.*}}, %c2_i32, %c32_i32 : f32
// WARP: gpu.shuffle xor %{{.*}}, %c1_i32, %c32_i32 : f32
// WARP: arith.cmpi eq, %[[LANE]], %c0
// WARP: memref.store
// WARP-NOT: linalg.fill
// WARP: return
// CHECK-LABEL: func.func @scores
// CHECK-NOT: gpu.launch
// CHECK: linalg.generic
#q = affine_map<(d0, d1, d2) -> (d0, d2)>
#k = affine_map<(d0, d1, d2) -> (d1, d2)>
#o = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @scores(%q: memref<2x128xf32>, %k: memref<256x128xf32>) -> memref<2x256xf32> {
  %zero = arith.constant 0.0 : f32
  %s = memref.alloc() : memref<2x256xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<2x256xf32>)
  linalg.generic {indexing_maps = [#q, #k, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%q, %k : memref<2x128xf32>, memref<256x128xf32>) outs(%s : memref<2x256xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %v = arith.addf %acc, %p : f32
    linalg.yield %v : f32
  }
  return %s : memref<2x256xf32>
}
