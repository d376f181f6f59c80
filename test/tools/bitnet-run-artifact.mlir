// The main job: an ONNX export compiled to an artifact, run by bitnet-run
// through the runtime's C API (prefill in chunks, then KV-cached decode).
// Within the 64 positions the models were trained on, greedy continuations
// must equal the full-recompute ONNX path's (bitnet-run-onnx.mlir, checked
// against PyTorch): a 16-byte prompt and 48 new tokens. Beyond 64 the KV
// cache keeps every position while that path (and make_models.py) slides a
// 64-token window, so they differ by design.
// RUN: rm -rf %t && mkdir -p %t
// RUN: bitnet-compile %bitnet_src_root/models/onnx/a48.onnx --max-context=128 -o %t/a48.bnx | FileCheck %s --check-prefix=COMPILE
// RUN: bitnet-run %t/a48.bnx --prompt-ids 111,32,102,114,101,101,100,111,109,44,32,110,111,116,10,112 --max-new-tokens 48 | FileCheck %s --check-prefix=A48
// RUN: bitnet-compile %bitnet_src_root/models/onnx/b158.onnx --max-context=112 -o %t/b158.bnx
// RUN: bitnet-run %t/b158.bnx --prompt-ids 111,32,102,114,101,101,100,111,109,44,32,110,111,116,10,112 --max-new-tokens 48 | FileCheck %s --check-prefix=B158
// RUN: bitnet-compile %bitnet_src_root/models/onnx/llama.onnx --max-context=112 --prefill-chunk=32 -o %t/llama.bnx
// RUN: bitnet-run %t/llama.bnx --prompt-ids 111,32,102,114,101,101,100,111,109,44,32,110,111,116,10,112 --max-new-tokens 48 | FileCheck %s --check-prefix=LLAMA
// A wide prefill step of 48 tokens: a 40-token prompt takes it (at least
// 3/4 of it), a 30-token one two chunks of 16.
// RUN: bitnet-compile %bitnet_src_root/models/onnx/a48.onnx --max-context=64 --prefill-chunk=16 --prefill-wide-chunk=48 -o %t/a48w.bnx
// RUN: bitnet-run %t/a48w.bnx --prompt "The GNU General Public License is a free" --max-new-tokens 4 | FileCheck %s --check-prefix=WIDE40
// RUN: bitnet-run %t/a48w.bnx --prompt "The GNU General Public License" --max-new-tokens 4 | FileCheck %s --check-prefix=WIDE30
// WIDE40: prefill: 40 tokens
// WIDE40-NEXT: prefill steps: 1 of 48 tokens, 0 of 16
// WIDE30: prefill: 30 tokens
// WIDE30-NEXT: prefill steps: 0 of 48 tokens, 2 of 16

// COMPILE: recognized 14 BitLinear
// COMPILE: wrote {{.*}}a48.bnx (bitnet-a4.8; code {{[0-9]+}} bytes; weights {{[0-9]+}} bytes in {{[0-9]+}} tensors, 344064 ternary)
// A48: model: {{.*}}a48.bnx, bitnet-a4.8 (2 layers, hidden 128, vocab 256)
// A48: generated text: roduct the program is and and or contributor and
// A48: prefill: 16 tokens in {{.*}} tokens/s); decode: 47 tokens in
// A48: sparsity (measured on 63 tokens):
// A48: q,k,v      int4_absmean
// A48: o          int8_absmax       50.0%
// A48: gate,up    int4_absmean
// A48: down       int8_absmax
// A48: BitLinear parameters active:
// B158: generated text: ermission of the covered work in the control on
// LLAMA: generated text: rice of the contributor conveying the control co
// LLAMA: sparsity: no quantized BitLinear inputs

// --prompt (byte tokenizer), N = 0, --dump-logits [prompt, vocab] float32.
// RUN: bitnet-run %t/a48.bnx --prompt "The GNU" --max-new-tokens 0 --dump-logits %t/logits.npy | FileCheck %s --check-prefix=NONE
// RUN: %python -c "d = open('%t/logits.npy', 'rb').read(); assert d[:6] == b'\x93NUMPY'; assert b\"'shape':(7,256)\" in d.replace(b' ', b''), d[:128]; print(len(d) - (d.index(b'\n') + 1))" | FileCheck %s --check-prefix=NPY
// NONE: generated ids:{{$}}
// NPY: 7168
// Sampling is reproducible with a seed.
// RUN: bitnet-run %t/a48.bnx --prompt "The GNU" --max-new-tokens 16 --temperature 0.8 --top-k 20 --top-p 0.9 --seed 7 > %t/s1.txt
// RUN: bitnet-run %t/a48.bnx --prompt "The GNU" --max-new-tokens 16 --temperature 0.8 --top-k 20 --top-p 0.9 --seed 7 > %t/s2.txt
// RUN: %python -c "import sys; a, b = [l for l in open(sys.argv[1]) if l.startswith('generated ids')], [l for l in open(sys.argv[2]) if l.startswith('generated ids')]; assert a == b and a, (a, b)" %t/s1.txt %t/s2.txt

// --repeat: the whole generation again from an empty cache, the same
// tokens, the fastest run's timing (bitnet-run-min takes the flag too).
// RUN: bitnet-run %t/a48.bnx --prompt-ids 111,32,102,114,101,101,100,111,109,44,32,110,111,116,10,112 --max-new-tokens 48 --repeat 3 2>&1 | FileCheck %s --check-prefix=REPEAT
// RUN: bitnet-run-min %t/a48.bnx --prompt-ids 111,32,102,114 --max-new-tokens 4 --repeat=2 | FileCheck %s --check-prefix=REPEATMIN
// REPEAT-NOT: warning
// REPEAT: generated text: roduct the program is and and or contributor and
// REPEAT: prefill: 16 tokens in {{.*}} tokens/s); decode: 47 tokens in {{.*}} tokens/s) (best of 3 runs; the first: {{[0-9.]+}} and {{[0-9.]+}} tokens/s)
// REPEAT: sparsity (measured on 189 tokens):
// REPEATMIN: (best of 2 runs;
// RUN: not bitnet-run %t/a48.bnx --prompt x --repeat 0 2>&1 | FileCheck %s --check-prefix=REPEAT0
// RUN: not bitnet-run-min %t/a48.bnx --prompt x --repeat 1.5 2>&1 | FileCheck %s --check-prefix=REPEAT0
// REPEAT0: error: --repeat must be

// Bad input: one message, non-zero exit, no output file.
// RUN: not bitnet-run %t/a48.bnx --prompt-ids 1,256 2>&1 | FileCheck %s --check-prefix=RANGE
// RANGE: bitnet-run: error: token id 256 is outside the vocabulary [0, 256)
// RUN: not bitnet-run %t/a48.bnx --prompt-ids 1,2,3 --max-new-tokens 126 2>&1 | FileCheck %s --check-prefix=LONG
// LONG: bitnet-run: error: the prompt (3 tokens) plus --max-new-tokens 126 exceed the context of 128 the artifact was compiled for (--max-context)
// RUN: not bitnet-run %t/a48.bnx --prompt "x" --dump-logits %t/no/such/dir/l.npy 2>&1 | FileCheck %s --check-prefix=DUMP
// RUN: test ! -e %t/no/such/dir/l.npy
// DUMP: bitnet-run: error: '{{.*}}l.npy': cannot open for writing
// RUN: not bitnet-run %t/a48.bnx --prompt x --temperature -1 2>&1 | FileCheck %s --check-prefix=SAMPLE
// SAMPLE: bitnet-run: error: sampling needs --temperature >= 0
// Damaged artifacts: truncated, a flipped byte, another format version.
// RUN: head -c 100000 %t/a48.bnx > %t/truncated.bnx
// RUN: not bitnet-run %t/truncated.bnx --prompt x 2>&1 | FileCheck %s --check-prefix=TRUNC
// TRUNC: bitnet-run: error: '{{.*}}truncated.bnx': truncated or extended: the header says {{[0-9]+}} bytes, the file has 100000
// RUN: %python -c "import sys; d = bytearray(open(sys.argv[1], 'rb').read()); d[len(d) - 1000] ^= 0x40; open(sys.argv[2], 'wb').write(d)" %t/a48.bnx %t/flipped.bnx
// RUN: not bitnet-run %t/flipped.bnx --prompt x 2>&1 | FileCheck %s --check-prefix=FLIP
// FLIP: bitnet-run: error: '{{.*}}flipped.bnx': section 'weights' checksum mismatch (corrupt file)
// RUN: %python -c "import sys; d = bytearray(open(sys.argv[1], 'rb').read()); d[8] = 9; open(sys.argv[2], 'wb').write(d)" %t/a48.bnx %t/version.bnx
// RUN: not bitnet-run %t/version.bnx --prompt x 2>&1 | FileCheck %s --check-prefix=VERSION
// VERSION: bitnet-run: error: '{{.*}}version.bnx': artifact format version 9, this runtime reads version 3: recompile the model
// RUN: not bitnet-run %bitnet_src_root/models/manifest.json --prompt x 2>&1 | FileCheck %s --check-prefix=NOTART
// NOTART: bitnet-run: error: '{{.*}}manifest.json': bitnet-run takes bitnet IR (.mlir), an ONNX model
// RUN: cp %bitnet_src_root/models/manifest.json %t/fake.bnx
// RUN: not bitnet-run %t/fake.bnx --prompt x 2>&1 | FileCheck %s --check-prefix=MAGIC
// MAGIC: bitnet-run: error: '{{.*}}fake.bnx': not a bitnet artifact (bad magic)
// Compile errors leave no output.
// RUN: not bitnet-compile %bitnet_src_root/models/onnx/a48.onnx --max-context=8 --prefill-chunk=16 -o %t/bad.bnx 2>&1 | FileCheck %s --check-prefix=CHUNK
// RUN: test ! -e %t/bad.bnx
// CHUNK: bitnet-compile: error: --prefill-chunk must be in [2, --max-context]
// RUN: not bitnet-compile %bitnet_src_root/models/onnx/a48.onnx --max-context=64 --prefill-chunk=16 --prefill-wide-chunk=16 -o %t/bad.bnx 2>&1 | FileCheck %s --check-prefix=WIDE
// RUN: not bitnet-compile %bitnet_src_root/models/onnx/a48.onnx --max-context=64 --prefill-chunk=16 --prefill-wide-chunk=80 -o %t/bad.bnx 2>&1 | FileCheck %s --check-prefix=WIDE
// RUN: test ! -e %t/bad.bnx
// WIDE: bitnet-compile: error: --prefill-wide-chunk must be 0 or in (--prefill-chunk, --max-context]
// RUN: not bitnet-compile %bitnet_src_root/models/onnx/a48.onnx --lm-head=f8 -o %t/bad.bnx 2>&1 | FileCheck %s --check-prefix=HEAD
// RUN: test ! -e %t/bad.bnx
// HEAD: bitnet-compile: error: --lm-head must be f32, f16, bf16, int8 or int4, got 'f8'
// RUN: not bitnet-compile %bitnet_src_root/test/Conversion/ONNXToBitNet/Inputs/bitlinear.onnx -o %t/bad.bnx 2>&1 | FileCheck %s --check-prefix=NOTDEC
// RUN: test ! -e %t/bad.bnx
// NOTDEC: bitnet-compile: error: {{.*}}
