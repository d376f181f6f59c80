//===- HostStepMemory.h - Buffers of a CPU step, recycled -------*- C++ -*-===//
//
// Internal to runtime/lib: x86 artifacts allocate their buffers with
// _mlir_memref_to_llvm_alloc (finalize-memref-to-llvm's generic functions).
// Inside a CPU step those come from a cache of freed blocks keyed by size
// and alignment: a step allocates the same buffers in the same order every
// time, so from the second step on no allocation reaches the OS. With
// malloc, every buffer above glibc's mmap threshold was mapped, page-faulted
// in and unmapped again each step (2B4T-shaped model, 256-token step:
// ~600 K page faults, 2.5 GB of fresh pages). The cache is per thread: a
// model's steps run on the thread that calls them.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_RUNTIME_LIB_HOSTSTEPMEMORY_H
#define BITNET_RUNTIME_LIB_HOSTSTEPMEMORY_H

#include <cstddef>

namespace bitnet_rt::host_memory {

/// While one is alive on a thread, the compiled code's allocations on that
/// thread are served from the cache (outside, they belong to a CUDA step).
class Step {
public:
  Step();
  ~Step();
  Step(const Step &) = delete;
  Step &operator=(const Step &) = delete;
};

/// Whether a Step is alive on this thread.
bool inStep();

/// A block of `bytes` aligned to `alignment` (a power of two), from the
/// cache where it holds one of that size; nullptr when out of memory.
void *allocate(size_t bytes, size_t alignment);

/// Returns a block to the cache; pointers it did not hand out (older
/// artifacts' malloc'ed results) go to free().
void release(void *pointer);

/// Frees every block cached on this thread (the last model is gone; a
/// thread's cache is also freed when the thread ends).
void trim();

} // namespace bitnet_rt::host_memory

#endif // BITNET_RUNTIME_LIB_HOSTSTEPMEMORY_H
