// Loading, validating and importing ONNX files: each bad input gets one
// message naming the file (and node, op and reason), a non-zero exit, and no
// output file.
// The .onnx inputs come from Inputs/make_inputs.py.
// RUN: rm -rf %t && mkdir -p %t

// RUN: not bitnet-compile %S/Inputs/not-onnx.onnx -o %t/a.o 2>&1 | FileCheck %s --check-prefix=NOTONNX
// RUN: test ! -e %t/a.o
// NOTONNX: bitnet-compile: error: '{{.*}}not-onnx.onnx': not an ONNX model

// RUN: not bitnet-compile %S/Inputs/truncated.onnx -o %t/b.o 2>&1 | FileCheck %s --check-prefix=TRUNC
// RUN: test ! -e %t/b.o
// TRUNC: bitnet-compile: error: '{{.*}}truncated.onnx': not an ONNX model, or the file is truncated or corrupt

// RUN: not bitnet-compile %S/Inputs/unknown-op.onnx 2>&1 | FileCheck %s --check-prefix=OP
// OP: bitnet-compile: error: '{{.*}}unknown-op.onnx': node 'hm' (Hardmax): unsupported op 'Hardmax'

// RUN: not bitnet-compile %S/Inputs/old-opset.onnx 2>&1 | FileCheck %s --check-prefix=OPSET
// OPSET: bitnet-compile: error: '{{.*}}old-opset.onnx': unsupported opset 9 of the default ONNX domain (supported: 13 to 21)

// RUN: not bitnet-compile %S/Inputs/bad-initializer.onnx 2>&1 | FileCheck %s --check-prefix=INIT
// INIT: bitnet-compile: error: '{{.*}}bad-initializer.onnx': initializer 'w': shape [4] needs 16 bytes of data, found 10

// RUN: not bitnet-compile %S/Inputs/external-data.onnx 2>&1 | FileCheck %s --check-prefix=EXT
// EXT: bitnet-compile: error: '{{.*}}external-data.onnx': initializer 'w': cannot read its external data file '{{.*}}weights.bin'

// External data that exists but is too short for the shape.
// RUN: cp %S/Inputs/external-data.onnx %t/external-data.onnx
// RUN: %python -c "open('%t/weights.bin', 'wb').write(b'0123456789')"
// RUN: not bitnet-compile %t/external-data.onnx 2>&1 | FileCheck %s --check-prefix=EXTSHORT
// EXTSHORT: bitnet-compile: error: '{{.*}}external-data.onnx': initializer 'w': shape [4] needs 16 bytes at offset 0 of '{{.*}}weights.bin' (10 bytes)

// Long enough: the weights come from the file.
// RUN: %python -c "import struct; open('%t/weights.bin', 'wb').write(struct.pack('<4f', 1, 2, 3, 4))"
// RUN: bitnet-compile %t/external-data.onnx --emit=bitnet | FileCheck %s --check-prefix=EXTOK
// EXTOK: arith.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<4xf32>

// RUN: not bitnet-compile %S/Inputs/custom-domain.onnx 2>&1 | FileCheck %s --check-prefix=DOMAIN
// DOMAIN: bitnet-compile: error: '{{.*}}custom-domain.onnx': node 'q' (Quantize): op of unsupported domain 'com.example'

// RUN: touch %t/empty.onnx
// RUN: not bitnet-compile %t/empty.onnx 2>&1 | FileCheck %s --check-prefix=EMPTY
// EMPTY: bitnet-compile: error: '{{.*}}empty.onnx': empty file, not an ONNX model

// A symbolic dimension needs a value, and --dim must be NAME=N.
// RUN: not bitnet-compile %bitnet_src_root/models/onnx/llama.onnx -o %t/d.o 2>&1 | FileCheck %s --check-prefix=DIM
// RUN: test ! -e %t/d.o
// DIM: bitnet-compile: error: '{{.*}}llama.onnx': input 'input_ids': symbolic dimension 'seq' needs a value: pass --dim=seq=N
// RUN: not bitnet-compile %bitnet_src_root/models/onnx/llama.onnx --dim=seq -o %t/e.o 2>&1 | FileCheck %s --check-prefix=BADDIM
// BADDIM: bitnet-compile: error: --dim expects NAME=N with N > 0, got 'seq'
