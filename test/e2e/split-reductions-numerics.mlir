// bitnet-split-reductions keeps what a reduction computes. Reductions of
// prime length (the guarded split) and of a length with a divisor (linalg's
// split), with bodies that read their indices (TopK's rank count) and
// combiners of both kinds (max, sum), compiled for this CPU with and without
// the split and run on the same inputs: the printed results are identical
// (the inputs are multiples of 1/64 small enough that every float sum is
// exact in any order).
// RUN: rm -rf %t && mkdir -p %t
// RUN: bitnet-opt %s --pass-pipeline="builtin.module(func.func(bitnet-split-reductions{min-size=256}))" -o %t/split.mlir
// RUN: FileCheck %s --check-prefix=SPLIT < %t/split.mlir
// RUN: bitnet-compile %t/split.mlir --emit=obj -o %t/split.o
// RUN: bitnet-compile %s --emit=obj -o %t/ref.o
// RUN: %cc %S/Inputs/split_main.c %t/split.o -o %t/split_main
// RUN: %cc %S/Inputs/split_main.c %t/ref.o -o %t/ref_main
// RUN: %t/split_main > %t/split.txt
// RUN: %t/ref_main > %t/ref.txt
// RUN: diff %t/split.txt %t/ref.txt
// RUN: FileCheck %s --check-prefix=OUT < %t/split.txt
// Every divisible length interleaved as well (interleave-min-threads=1):
// the same results.
// RUN: bitnet-opt %s --pass-pipeline="builtin.module(func.func(bitnet-split-reductions{min-size=256 interleave-min-threads=1}))" -o %t/inter.mlir
// RUN: FileCheck %s --check-prefix=INTER < %t/inter.mlir
// RUN: bitnet-compile %t/inter.mlir --emit=obj -o %t/inter.o
// RUN: %cc %S/Inputs/split_main.c %t/inter.o -o %t/inter_main
// RUN: %t/inter_main > %t/inter.txt
// RUN: diff %t/inter.txt %t/ref.txt

// Every reduction was split (guarded: tensor.extract in the partials).
// SPLIT-COUNT-3: tensor.extract
// SPLIT: tensor.expand_shape
// INTER-COUNT-5: tensor.extract
// INTER-NOT: tensor.expand_shape
// OUT: max {{.*}} sum {{.*}} ranks {{.*}} total {{.*}}

#rows = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#ri = affine_map<(d0, d1, d2) -> (d0, d1)>
#rj = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @reduce(%xm: memref<20x257xf32>, %rm: memref<1x521xf32>, %wm: memref<2x1024xf32>,
                  %maxm: memref<20xf32>, %summ: memref<20xf32>, %rankm: memref<1x521xi32>,
                  %totalm: memref<2xf32>) attributes {llvm.emit_c_interface} {
  %x = bufferization.to_tensor %xm restrict : memref<20x257xf32> to tensor<20x257xf32>
  %r = bufferization.to_tensor %rm restrict : memref<1x521xf32> to tensor<1x521xf32>
  %w = bufferization.to_tensor %wm restrict : memref<2x1024xf32> to tensor<2x1024xf32>
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : i32
  %e20 = tensor.empty() : tensor<20xf32>
  %minit = linalg.fill ins(%ninf : f32) outs(%e20 : tensor<20xf32>) -> tensor<20xf32>
  %max = linalg.generic {indexing_maps = [#rows, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<20x257xf32>) outs(%minit : tensor<20xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %m = arith.maximumf %a, %acc : f32
    linalg.yield %m : f32
  } -> tensor<20xf32>
  %sinit = linalg.fill ins(%zero : f32) outs(%e20 : tensor<20xf32>) -> tensor<20xf32>
  %sum = linalg.generic {indexing_maps = [#rows, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<20x257xf32>) outs(%sinit : tensor<20xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %sq = arith.mulf %a, %a : f32
    %s = arith.addf %acc, %sq : f32
    linalg.yield %s : f32
  } -> tensor<20xf32>
  %er = tensor.empty() : tensor<1x521xi32>
  %rinit = linalg.fill ins(%c0 : i32) outs(%er : tensor<1x521xi32>) -> tensor<1x521xi32>
  %rank = linalg.generic {indexing_maps = [#ri, #rj, #ri], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%r, %r : tensor<1x521xf32>, tensor<1x521xf32>) outs(%rinit : tensor<1x521xi32>) {
  ^bb0(%a: f32, %b: f32, %acc: i32):
    %i = linalg.index 1 : index
    %j = linalg.index 2 : index
    %aa = math.absf %a : f32
    %ab = math.absf %b : f32
    %gt = arith.cmpf ogt, %ab, %aa : f32
    %eq = arith.cmpf oeq, %ab, %aa : f32
    %before = arith.cmpi ult, %j, %i : index
    %tie = arith.andi %eq, %before : i1
    %beats = arith.ori %gt, %tie : i1
    %inc = arith.extui %beats : i1 to i32
    %s = arith.addi %acc, %inc : i32
    linalg.yield %s : i32
  } -> tensor<1x521xi32>
  %e2 = tensor.empty() : tensor<2xf32>
  %tinit = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2xf32>) -> tensor<2xf32>
  %total = linalg.generic {indexing_maps = [#rows, #row], iterator_types = ["parallel", "reduction"]}
      ins(%w : tensor<2x1024xf32>) outs(%tinit : tensor<2xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  } -> tensor<2xf32>
  bufferization.materialize_in_destination %max in restrict writable %maxm : (tensor<20xf32>, memref<20xf32>) -> ()
  bufferization.materialize_in_destination %sum in restrict writable %summ : (tensor<20xf32>, memref<20xf32>) -> ()
  bufferization.materialize_in_destination %rank in restrict writable %rankm : (tensor<1x521xi32>, memref<1x521xi32>) -> ()
  bufferization.materialize_in_destination %total in restrict writable %totalm : (tensor<2xf32>, memref<2xf32>) -> ()
  return
}
