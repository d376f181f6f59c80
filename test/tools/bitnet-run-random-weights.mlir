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
// Only model artifacts can leave weights out: anything else is refused,
// and nothing is written.
// RUN: not bitnet-compile %bitnet_src_root/models/onnx/a48.onnx --random-weights --emit=linalg -o %t/x.mlir 2>&1 | FileCheck %s --check-prefix=EMIT
// RUN: test ! -e %t/x.mlir
// EMIT: --random-weights applies to model artifacts
