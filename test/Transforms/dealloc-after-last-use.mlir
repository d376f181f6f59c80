// RUN: bitnet-opt %s --bitnet-dealloc-after-last-use --split-input-file | FileCheck %s

// A dealloc at the end of the block moves to just after the buffer's last
// use; the other buffer's last use is a view's, inside a loop.
// CHECK-LABEL: func.func @moves
// CHECK: %[[A:.*]] = memref.alloc() : memref<4xf32>
// CHECK: %[[B:.*]] = memref.alloc() : memref<8xf32>
// CHECK: call @use(%[[A]])
// CHECK-NEXT: memref.dealloc %[[A]]
// CHECK: scf.for
// CHECK: memref.store
// CHECK: }
// CHECK-NEXT: memref.dealloc %[[B]]
// CHECK-NEXT: call @other()
// CHECK-NEXT: return
func.func private @use(memref<4xf32>)
func.func private @other()
func.func @moves(%f: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %a = memref.alloc() : memref<4xf32>
  %b = memref.alloc() : memref<8xf32>
  linalg.fill ins(%f : f32) outs(%a : memref<4xf32>)
  call @use(%a) : (memref<4xf32>) -> ()
  %v = memref.subview %b[4] [4] [1] : memref<8xf32> to memref<4xf32, strided<[1], offset: 4>>
  scf.for %i = %c0 to %c4 step %c1 {
    memref.store %f, %v[%i] : memref<4xf32, strided<[1], offset: 4>>
  }
  call @other() : () -> ()
  memref.dealloc %a : memref<4xf32>
  memref.dealloc %b : memref<8xf32>
  return
}

// -----

// Left alone: a buffer whose pointer is taken, one yielded out of a
// region (an alias the pass cannot follow), and one freed in another block
// than its own.
// CHECK-LABEL: func.func @stays
// CHECK: call @other()
// CHECK-NEXT: memref.dealloc %[[P:.*]] : memref<4xf32>
// CHECK-NEXT: memref.dealloc %[[Y:.*]] : memref<4xf32>
// CHECK-NEXT: scf.if
// CHECK-NEXT: func.call @other()
// CHECK-NEXT: memref.dealloc
// CHECK-NEXT: }
// CHECK-NEXT: return
func.func private @other()
func.func @stays(%f: f32, %c: i1) -> memref<4xf32> {
  %p = memref.alloc() : memref<4xf32>
  %y = memref.alloc() : memref<4xf32>
  %n = memref.alloc() : memref<4xf32>
  %o = memref.alloc() : memref<4xf32>
  linalg.fill ins(%f : f32) outs(%n : memref<4xf32>)
  %ptr = memref.extract_aligned_pointer_as_index %p : memref<4xf32> -> index
  %r = scf.if %c -> memref<4xf32> {
    scf.yield %y : memref<4xf32>
  } else {
    scf.yield %o : memref<4xf32>
  }
  call @other() : () -> ()
  memref.dealloc %p : memref<4xf32>
  memref.dealloc %y : memref<4xf32>
  scf.if %c {
    func.call @other() : () -> ()
    memref.dealloc %n : memref<4xf32>
  }
  return %r : memref<4xf32>
}
