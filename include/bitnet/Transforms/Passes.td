//===- Passes.td - bitnet-mlir pipeline passes -------------*- tablegen -*-===//
//
// Passes of the compilation pipeline that are not about the bitnet dialect.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_TRANSFORMS_PASSES_TD
#define BITNET_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

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

#endif // BITNET_TRANSFORMS_PASSES_TD
