// bitnet-run on the bundled ONNX exports: the prompt is 64 bytes of the GPL
// ("o freedom, not\nprice.  Our General Public Licenses are designed "), and
// each model must continue it exactly as PyTorch's greedy decoding did when
// models/make_models.py trained it (its log prints these continuations).
// RUN: bitnet-run %bitnet_src_root/models/onnx/llama.onnx --prompt-ids 111,32,102,114,101,101,100,111,109,44,32,110,111,116,10,112,114,105,99,101,46,32,32,79,117,114,32,71,101,110,101,114,97,108,32,80,117,98,108,105,99,32,76,105,99,101,110,115,101,115,32,97,114,101,32,100,101,115,105,103,110,101,100,32 --max-new-tokens 48 | FileCheck %s --check-prefix=LLAMA
// RUN: bitnet-run %bitnet_src_root/models/onnx/b158.onnx --prompt-ids 111,32,102,114,101,101,100,111,109,44,32,110,111,116,10,112,114,105,99,101,46,32,32,79,117,114,32,71,101,110,101,114,97,108,32,80,117,98,108,105,99,32,76,105,99,101,110,115,101,115,32,97,114,101,32,100,101,115,105,103,110,101,100,32 --max-new-tokens 48 | FileCheck %s --check-prefix=B158
// RUN: bitnet-run %bitnet_src_root/models/onnx/a48.onnx --prompt-ids 111,32,102,114,101,101,100,111,109,44,32,110,111,116,10,112,114,105,99,101,46,32,32,79,117,114,32,71,101,110,101,114,97,108,32,80,117,98,108,105,99,32,76,105,99,101,110,115,101,115,32,97,114,101,32,100,101,115,105,103,110,101,100,32 --max-new-tokens 48 | FileCheck %s --check-prefix=A48
// RUN: bitnet-run %bitnet_src_root/models/onnx-dynamo/a48.dynamo.onnx --prompt-ids 111,32,102,114,101,101,100,111,109,44,32,110,111,116,10,112,114,105,99,101,46,32,32,79,117,114,32,71,101,110,101,114,97,108,32,80,117,98,108,105,99,32,76,105,99,101,110,115,101,115,32,97,114,101,32,100,101,115,105,103,110,101,100,32 --max-new-tokens 48 | FileCheck %s --check-prefix=A48
// RUN: bitnet-run %bitnet_src_root/models/onnx/a48fp4.onnx --prompt-ids 111,32,102,114,101,101,100,111,109,44,32,110,111,116,10,112,114,105,99,101,46,32,32,79,117,114,32,71,101,110,101,114,97,108,32,80,117,98,108,105,99,32,76,105,99,101,110,115,101,115,32,97,114,101,32,100,101,115,105,103,110,101,100,32 --max-new-tokens 48 | FileCheck %s --check-prefix=FP4

// LLAMA: generated text: by the control copyright ownership of the contro
// B158: generated text: in this License to the control with the copyrigh
// A48: generated text: to the copyright or contractive in the program i
// FP4: generated text: that the program or a convey a covered work in t
// A48: tokens/s; reference CPU path, no KV cache

// --prompt takes text (byte-level); --dump-logits writes [prompt, vocab] float32.
// RUN: rm -rf %t && mkdir -p %t
// RUN: bitnet-run %bitnet_src_root/models/onnx/a48.onnx --prompt "The GNU" --max-new-tokens 0 --dump-logits %t/logits.npy | FileCheck %s --check-prefix=NONE
// RUN: %python -c "d = open('%t/logits.npy', 'rb').read(); assert d[:6] == b'\x93NUMPY'; assert b\"'shape':(7,256)\" in d.replace(b' ', b''), d[:128]; print(len(d) - (d.index(b'\n') + 1))" | FileCheck %s --check-prefix=NPY
// NONE: generated ids:{{$}}
// NPY: 7168

// Bad input: one message, non-zero exit, no output file.
// RUN: not bitnet-run %bitnet_src_root/models/onnx/a48.onnx --prompt-ids 1,256 2>&1 | FileCheck %s --check-prefix=RANGE
// RANGE: bitnet-run: error: token id 256 is out of range [0, 256)
// RUN: not bitnet-run %bitnet_src_root/models/onnx/a48.onnx --prompt "too long" --context 4 2>&1 | FileCheck %s --check-prefix=LONG
// LONG: bitnet-run: error: the prompt has 8 tokens, more than the context of 4
// RUN: not bitnet-run %bitnet_src_root/models/onnx/a48.onnx --prompt "x" --dump-logits %t/no/such/dir/l.npy 2>&1 | FileCheck %s --check-prefix=DUMP
// RUN: test ! -e %t/no/such/dir/l.npy
// DUMP: bitnet-run: error: '{{.*}}l.npy': cannot open for writing
// RUN: not bitnet-run %bitnet_src_root/models/onnx/a48.onnx 2>&1 | FileCheck %s --check-prefix=NOPROMPT
// RUN: not bitnet-run %bitnet_src_root/models/onnx/a48.onnx --prompt x --prompt-ids 1 2>&1 | FileCheck %s --check-prefix=NOPROMPT
// NOPROMPT: bitnet-run: error: give the prompt with exactly one of --prompt-ids and --prompt
// RUN: not bitnet-run %bitnet_src_root/models/onnx/a48.onnx --prompt-ids 1,x 2>&1 | FileCheck %s --check-prefix=BADID
// BADID: bitnet-run: error: --prompt-ids: 'x' is not an integer
