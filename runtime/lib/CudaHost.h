//===- CudaHost.h - What a whole-model CUDA artifact's host code calls -*- C++ -*-===//
//
// bitnet-compile --target=cuda lowers a model to host code that launches
// kernels through MLIR's GPU runtime entry points (mgpuModuleLoad,
// mgpuLaunchKernel, ...) and allocates its buffers with
// _mlir_memref_to_llvm_alloc. The runtime defines those symbols (so the
// code, dlopen'ed, binds to them) on top of the CUDA driver it opens at run
// time: one session per process, shared by the models loaded in it.
//
// Memory: the weights are device memory, the KV cache managed memory; a
// step's inputs (ids, start position, logit rows) are pinned host memory,
// which the host code reads in place (the logit rows) and the runtime
// copies to device memory at the head of the step for the kernels (ids and
// start: a kernel's load of pinned host memory is a PCIe round trip). What
// the code allocates during a step comes from a step arena: a bump
// allocator over managed chunks, reset when the next step begins, whose
// frees cost nothing (cuMemFree would synchronize the device).
//
// Launches are asynchronous: the generated code's per-launch stream
// synchronization is a no-op (BITNET_CUDA_SYNC=1 makes it real, to name a
// failing kernel), and a step synchronizes once, at its end. This holds
// because the host code reads no memory a kernel writes (it reads only the
// logit rows, which the runtime writes before the step).
//
// BITNET_CUDA_PROFILE=1 times every launch with events and prints each
// kernel's total GPU time when the session ends (the last model is freed).
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
/// Device memory of `bytes`, which only the device (and copies) may touch:
/// for what the host writes once and kernels read on every step (the
/// weights). Managed pages the host wrote stayed on the host on the H200
/// machine: kernels read them at ~140 GB/s (nullptr with the sticky error
/// set if it fails).
void *allocateDevice(size_t bytes);
/// Frees what allocate() or allocateDevice() returned.
void deallocate(void *pointer);
/// Copies `bytes` of host memory to device memory (synchronously).
bool copyToDevice(void *destination, const void *source, size_t bytes);
/// Enqueues a copy of `bytes` of pinned host memory to device memory on the
/// stream (inside a graph recording: a copy node that reads the host
/// memory each time the graph runs).
bool copyToDeviceAsync(void *destination, const void *source, size_t bytes);
/// Zeroes `bytes` of device-reachable memory on the device.
bool clear(void *pointer, size_t bytes);
/// Pinned host memory the device can read and write (nullptr with the
/// sticky error set if it fails).
void *allocateHost(size_t bytes);
void deallocateHost(void *pointer);

/// One step of a model: holds the session (one step at a time in a process)
/// and recycles the step arena, so what the previous step's code allocated
/// (its results included) is gone.
class Step {
public:
  /// `arena` keys the step arena (one per model and step kind). With
  /// `dependentLaunch` (the model's kernels wait for their predecessor,
  /// bitnet-dependent-launch) launches overlap the previous kernel's tail,
  /// unless BITNET_CUDA_DEPENDENT_LAUNCH=0.
  explicit Step(const void *arena, bool dependentLaunch = false);
  ~Step();
  Step(const Step &) = delete;
  Step &operator=(const Step &) = delete;
};

/// Waits for the device's work.
bool synchronize();
/// Copies `bytes` from device-reachable memory to host memory (after
/// synchronize(): the copy does not order itself after the stream's work).
bool copyToHost(void *destination, const void *source, size_t bytes);
/// Enqueues a strided copy between device-reachable buffers: `depth` slices
/// of `height` rows of `width` bytes, each side with its own base, first
/// byte in a row (x), first row (y), row pitch and rows per slice.
struct StridedSide {
  const void *base;
  size_t x, y, pitch, rowsPerSlice;
};
bool copyStrided(const StridedSide &from, const StridedSide &to, size_t width,
                 size_t height, size_t depth);

/// Frees the step arena of `key` (a model going away).
void releaseArena(const void *key);

/// CUDA graphs of a step are allowed: not BITNET_CUDA_GRAPHS=0, and not
/// while profiling or synchronizing each launch.
bool graphsAllowed();
/// Records the launches the code makes from now on into a graph instead
/// of running them (inside a Step whose arena has grown to its size: no
/// allocation may reach the driver while capturing).
bool beginCapture();
/// Ends the recording: the instantiated graph, or nullptr (error set).
void *endCapture();
/// Runs a graph endCapture returned on the stream.
bool launchGraph(void *graph);
void destroyGraph(void *graph);

/// BITNET_CUDA_TRACE is set: print every launch and step (for debugging).
bool tracing();

/// The first error since the last call ("" if none), and clears it.
std::string takeError();

} // namespace bitnet_rt::cuda_host

#endif // BITNET_RUNTIME_CUDAHOST_H
