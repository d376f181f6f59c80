// Every bitnet pass and pipeline is registered with bitnet-opt.
// RUN: bitnet-opt --help | FileCheck %s
// CHECK-DAG: --bitnet-convert-to-linalg
// CHECK-DAG: --bitnet-decompose-fused-bitlinear
// CHECK-DAG: --bitnet-fold-weights
// CHECK-DAG: --bitnet-reference-to-llvm
// CHECK-DAG: --bitnet-memref-copy-to-linalg
