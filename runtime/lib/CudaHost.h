//===- CudaHost.h - What a whole-model CUDA artifact's host code calls -*- C++ -*-===//
//
// bitnet-compile --target=cuda lowers a model to host code that launches
// kernels through MLIR's GPU runtime entry points (mgpuModuleLoad,
// mgpuLaunchKernel, ...) and allocates its buffers with
// _mlir_memref_to_llvm_alloc. The runtime defines those symbols (so the
// code, dlopen'ed, binds to them) on top of the CUDA driver it opens at run
// time: one session per process, shared by the models loaded in it.
//
// Memory is CUDA managed memory: kernels read and write it, and the host
// code may read a scalar from it (a step's start position) between
// launches, which the generated code synchronizes after each.
//
// Launches cannot report errors to the generated code; the first failure is
// kept (sticky) and later launches are skipped, so a step's caller checks
// takeError() after the step returns.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_RUNTIME_CUDAHOST_H
#define BITNET_RUNTIME_CUDAHOST_H

#include <cstddef>
#include <string>

namespace bitnet_rt::cuda_host {

/// Opens (or joins) the process's session on device 0 for code compiled for
/// `arch`; `device` gets the GPU's name. False with `error` set when there
/// is no driver or GPU, or the GPU cannot run `arch`.
bool acquire(const std::string &arch, std::string &device, std::string &error);
/// Leaves the session; the last one out releases the context.
void release();

/// Managed memory of `bytes` (nullptr with the sticky error set if it fails).
void *allocate(size_t bytes);
void deallocate(void *pointer);
/// Waits for the device's work.
bool synchronize();

/// BITNET_CUDA_TRACE is set: print every launch and step (for debugging).
bool tracing();

/// The first error since the last call ("" if none), and clears it.
std::string takeError();

} // namespace bitnet_rt::cuda_host

#endif // BITNET_RUNTIME_CUDAHOST_H
