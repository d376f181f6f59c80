// Bad input: one clear error, a non-zero exit, and no output file.
// RUN: rm -rf %t && mkdir -p %t

// RUN: not bitnet-compile %S/Inputs/not-mlir.mlir -o %t/a.o 2>&1 | FileCheck %s --check-prefix=PARSE
// RUN: test ! -e %t/a.o
// PARSE: error: cannot parse '{{.*}}not-mlir.mlir'

// RUN: not bitnet-compile %S/Inputs/does-not-verify.mlir -o %t/b.o 2>&1 | FileCheck %s --check-prefix=VERIFY
// RUN: test ! -e %t/b.o
// VERIFY: does-not-verify.mlir:2:12: error: 'bitnet.absmax_quant' op expects bits in [2, 8], got 12
// VERIFY: bitnet-compile: error: cannot parse

// RUN: not bitnet-compile %s --emit=assembly -o %t/c.o 2>&1 | FileCheck %s --check-prefix=EMIT
// RUN: test ! -e %t/c.o
// EMIT: bitnet-compile: error: unknown --emit 'assembly' (expected bitnet, linalg, llvm-dialect, llvm, obj or artifact)

// RUN: not bitnet-compile %s --target=arm64 -o %t/d.o 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: test ! -e %t/d.o
// TARGET: bitnet-compile: error: unsupported --target 'arm64' (supported: x86_64, cuda)

// RUN: not bitnet-compile %s --mcpu=not-a-cpu -o %t/e.o 2>&1 | FileCheck %s --check-prefix=MCPU
// RUN: test ! -e %t/e.o
// MCPU: bitnet-compile: error: unknown CPU 'not-a-cpu'

// RUN: not bitnet-compile %t/missing.mlir 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: bitnet-compile: error: cannot open input file '{{.*}}missing.mlir'

// RUN: not bitnet-compile %s -o %t/no/such/dir/g.o 2>&1 | FileCheck %s --check-prefix=OUTPUT
// OUTPUT: bitnet-compile: error: cannot open output file '{{.*}}g.o'

// RUN: not bitnet-compile %s -O7 -o %t/h.o 2>&1 | FileCheck %s --check-prefix=OPT
// OPT: bitnet-compile: error: -O must be 0-3, got 7

// RUN: not bitnet-compile %s --codegen-partitions=0 -o %t/i.o 2>&1 | FileCheck %s --check-prefix=PARTS
// RUN: test ! -e %t/i.o
// PARTS: bitnet-compile: error: --codegen-partitions must be 1-64, got 0

func.func @ok(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
