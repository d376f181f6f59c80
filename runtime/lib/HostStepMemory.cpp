//===- HostStepMemory.cpp - Buffers of a CPU step, recycled ---------------===//

#include "HostStepMemory.h"

#include <cstdint>
#include <cstdlib>
#include <unordered_map>
#include <vector>

using namespace bitnet_rt;

namespace {

/// One thread's cache: a model's steps run on the thread that calls them,
/// which also frees their results, so no lock is needed (a block freed on
/// another thread is not found there and goes to free()).
struct Cache {
  /// Blocks handed out: their key (size, alignment).
  std::unordered_map<void *, std::pair<size_t, size_t>> live;
  /// Freed blocks by key.
  std::unordered_map<uint64_t, std::vector<void *>> free;
  void trim() {
    for (auto &entry : free)
      for (void *p : entry.second)
        std::free(p);
    free.clear();
  }
  ~Cache() { trim(); }
};

Cache &cache() {
  static thread_local Cache c;
  return c;
}

uint64_t keyOf(size_t bytes, size_t alignment) {
  // Alignments are powers of two below 2^16; sizes below 2^48.
  return (uint64_t(bytes) << 16) | uint64_t(alignment & 0xffff);
}

thread_local int stepDepth = 0;

} // namespace

host_memory::Step::Step() { ++stepDepth; }
host_memory::Step::~Step() { --stepDepth; }
bool host_memory::inStep() { return stepDepth > 0; }

void *host_memory::allocate(size_t bytes, size_t alignment) {
  if (alignment < 64)
    alignment = 64; // cache lines; also what the kernels' vectors like
  if (bytes == 0)
    bytes = 1;
  Cache &c = cache();
  uint64_t key = keyOf(bytes, alignment);
  void *p = nullptr;
  auto it = c.free.find(key);
  if (it != c.free.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
  } else if (posix_memalign(&p, alignment, bytes) != 0) {
    return nullptr;
  }
  // (Assigned, not emplaced: a block freed on another thread left its
  // entry here, and malloc may hand its address out again.)
  c.live[p] = {bytes, alignment};
  return p;
}

void host_memory::release(void *pointer) {
  if (!pointer)
    return;
  Cache &c = cache();
  auto it = c.live.find(pointer);
  if (it != c.live.end()) {
    c.free[keyOf(it->second.first, it->second.second)].push_back(pointer);
    c.live.erase(it);
    return;
  }
  std::free(pointer);
}

void host_memory::trim() { cache().trim(); }
