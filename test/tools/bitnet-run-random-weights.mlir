// --random-weights: the artifact leaves its large weights out (packed
// ternary, the embedding and LM head), the runtime fills them from a seed
// and says the outputs mean nothing. For timing models too large to ship.
// RUN: rm -rf %t && mkdir -p %t
// RUN: bitnet-compile %bitnet_src_root/models/onnx/a48.onnx --max-context=64 -o %t/full.bnx > /dev/null
// RUN: bitnet-compile %bitnet_src_root/models/onnx/a48.onnx --max-context=64 --random-weights -o %t/random.bnx | FileCheck %s --check-prefix=COMPILE
// COMPILE: wrote {{.*}}random.bnx (bitnet-a4.8; code {{[0-9]+}} bytes; weights {{[0-9]+}} bytes in {{[0-9]+}} tensors, 344064 ternary; {{[1-9][0-9]*}} bytes left out, to be filled with random values)
//
// The artifact is smaller by what was left out; its metadata lists it.
// RUN: test $(stat -c %%s %t/random.bnx) -lt $(stat -c %%s %t/full.bnx)
// RUN: grep -a -c -e '^weights=random$' -e '^random_fill=[1-9]' %t/random.bnx | FileCheck %s --check-prefix=META
// META: 2
//
// It runs, labelled, with either runner; the same seed gives the same
// tokens, another seed others. The full artifact carries no label.
// RUN: bitnet-run %t/random.bnx --prompt-ids 1,2,3 --max-new-tokens 8 | FileCheck %s --check-prefix=LABEL
// RUN: bitnet-run-min %t/random.bnx --prompt-ids 1,2,3 --max-new-tokens 2 | FileCheck %s --check-prefix=LABEL
// LABEL: model: {{.*}}random.bnx, bitnet-a4.8
// LABEL-NEXT: weights: RANDOM (compiled with --random-weights; the runtime filled them from a seed): timing only, the tokens and logits mean nothing
// LABEL-NEXT: generated ids:
// RUN: bitnet-run %t/random.bnx --prompt-ids 1,2,3 --max-new-tokens 8 | grep '^generated ids' > %t/seed1.a
// RUN: bitnet-run %t/random.bnx --prompt-ids 1,2,3 --max-new-tokens 8 | grep '^generated ids' > %t/seed1.b
// RUN: env BITNET_RANDOM_WEIGHTS_SEED=7 bitnet-run %t/random.bnx --prompt-ids 1,2,3 --max-new-tokens 8 | grep '^generated ids' > %t/seed7
// RUN: cmp %t/seed1.a %t/seed1.b
// RUN: not cmp -s %t/seed1.a %t/seed7
// RUN: bitnet-run %t/full.bnx --prompt-ids 1,2,3 --max-new-tokens 2 | FileCheck %s --check-prefix=FULL
// FULL: model:
// FULL-NOT: RANDOM
// FULL: generated ids:
//
// An LM head stored in 16 bits (--lm-head=f16 / bf16) is left out as such
// and filled with values of its type.
// RUN: bitnet-compile %bitnet_src_root/models/onnx/a48.onnx --max-context=64 --random-weights --lm-head=f16 -o %t/random-f16.bnx > /dev/null
// RUN: bitnet-compile %bitnet_src_root/models/onnx/a48.onnx --max-context=64 --random-weights --lm-head=bf16 -o %t/random-bf16.bnx > /dev/null
// RUN: grep -a -e '^random_fill\.[0-9]*=.*,f16$' -e '^lm_head=' %t/random-f16.bnx | FileCheck %s --check-prefix=F16
// F16-DAG: lm_head=f16
// F16-DAG: random_fill.{{[0-9]+}}={{[0-9]+}},{{[0-9]+}},f16
// RUN: grep -a -e '^random_fill\.[0-9]*=.*,bf16$' %t/random-bf16.bnx | FileCheck %s --check-prefix=BF16
// BF16: random_fill.{{[0-9]+}}={{[0-9]+}},{{[0-9]+}},bf16
// RUN: bitnet-run %t/random-f16.bnx --prompt-ids 1,2,3 --max-new-tokens 4 | FileCheck %s --check-prefix=HLABEL
// RUN: bitnet-run %t/random-bf16.bnx --prompt-ids 1,2,3 --max-new-tokens 4 | FileCheck %s --check-prefix=HLABEL
// HLABEL: weights: RANDOM
// HLABEL-NEXT: generated ids:
//
// Only model artifacts can leave weights out: anything else is refused,
// and nothing is written.
// RUN: not bitnet-compile %bitnet_src_root/models/onnx/a48.onnx --random-weights --emit=linalg -o %t/x.mlir 2>&1 | FileCheck %s --check-prefix=EMIT
// RUN: test ! -e %t/x.mlir
// EMIT: --random-weights applies to model artifacts
