// The model code as one object and as several code-generated in parallel
// (--codegen-partitions): the same functions, so the same logits, bit for
// bit, over a prompt and a generation; the artifact does not depend on how
// many cores compiled it, only on the partition count.
// RUN: rm -rf %t && mkdir -p %t
// RUN: bitnet-compile %bitnet_src_root/models/onnx/a48.onnx --max-context=64 --codegen-partitions=1 -o %t/one.bnx
// RUN: bitnet-compile %bitnet_src_root/models/onnx/a48.onnx --max-context=64 --codegen-partitions=5 -o %t/five.bnx
// RUN: bitnet-compile %bitnet_src_root/models/onnx/a48.onnx --max-context=64 --codegen-partitions=5 -o %t/five-again.bnx
// RUN: cmp %t/five.bnx %t/five-again.bnx
// RUN: bitnet-run %t/one.bnx --prompt "The GNU project" --max-new-tokens 8 --dump-logits %t/one.npy | FileCheck %s
// RUN: bitnet-run %t/five.bnx --prompt "The GNU project" --max-new-tokens 8 --dump-logits %t/five.npy | FileCheck %s
// RUN: cmp %t/one.npy %t/five.npy
// CHECK: generated ids:
