// A whole ONNX model compiled for the GPU (--target=cuda): an artifact whose
// host code launches the model's kernels (cubins made with ptxas). This
// machine kind has no GPU; bench/gpu/check-models.sh runs the bundled models
// on one and compares them with PyTorch and the CPU artifacts.
// REQUIRES: ptxas
// RUN: rm -rf %t && mkdir -p %t
// RUN: bitnet-compile --target=cuda %S/../../models/onnx/a48.onnx --max-context=32 -o %t/a48.bnx | FileCheck %s
// CHECK: bitnet-compile: wrote {{.*}}a48.bnx (bitnet-a4.8; cuda sm_90a; code
// Its kernels wait for their predecessor (sm_90a: programmatic dependent
// launch), which the artifact records for the runtime; for sm_80 they do not.
// RUN: grep -a -c -e '^target=cuda$' -e '^gpu_arch=sm_90a$' -e '^cpu=x86-64$' -e '^gpu_dependent_launch=1$' %t/a48.bnx | FileCheck %s --check-prefix=META
// META: 4
// RUN: bitnet-compile --target=cuda --gpu-arch=sm_80 %S/../../models/onnx/a48.onnx --max-context=32 -o %t/a48-sm80.bnx
// RUN: grep -a -c -e '^gpu_arch=sm_80$' -e '^gpu_dependent_launch=' %t/a48-sm80.bnx | FileCheck %s --check-prefix=SM80
// SM80: 1
//
// It runs only on a GPU and says so: without a driver, or, on a GPU, when
// asked to run on the CPU.
// RUN: not bitnet-run %t/a48.bnx --device=cpu --prompt-ids 1,2 2>&1 | FileCheck %s --check-prefix=DEVICE
// RUN: not bitnet-run-min %t/a48.bnx --device=cpu --prompt-ids 1,2 2>&1 | FileCheck %s --check-prefix=DEVICE
// DEVICE: error: {{.*(is a CUDA model \(sm_90a\)|was compiled for CUDA \(sm_90a\))}}
