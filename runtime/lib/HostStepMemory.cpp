//===- HostStepMemory.cpp - Buffers of a CPU step, recycled ---------------===//

#include "HostStepMemory.h"

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

using namespace bitnet_rt;

namespace {

struct Cache {
  std::mutex mu;
  /// Blocks handed out: their key (size, alignment).
  std::unordered_map<void *, std::pair<size_t, size_t>> live;
  /// Freed blocks by key.
  std::unordered_map<uint64_t, std::vector<void *>> free;
};

Cache &cache() {
  static Cache *c = new Cache; // outlives static destructors (late frees)
  return *c;
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
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.free.find(key);
    if (it != c.free.end() && !it->second.empty()) {
      void *p = it->second.back();
      it->second.pop_back();
      c.live.emplace(p, std::make_pair(bytes, alignment));
      return p;
    }
  }
  void *p = nullptr;
  if (posix_memalign(&p, alignment, bytes) != 0)
    return nullptr;
  std::lock_guard<std::mutex> lock(c.mu);
  c.live.emplace(p, std::make_pair(bytes, alignment));
  return p;
}

void host_memory::release(void *pointer) {
  if (!pointer)
    return;
  Cache &c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.live.find(pointer);
    if (it != c.live.end()) {
      c.free[keyOf(it->second.first, it->second.second)].push_back(pointer);
      c.live.erase(it);
      return;
    }
  }
  std::free(pointer);
}

void host_memory::trim() {
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (auto &entry : c.free)
    for (void *p : entry.second)
      std::free(p);
  c.free.clear();
}
