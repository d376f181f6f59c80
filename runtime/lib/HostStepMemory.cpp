//===- HostStepMemory.cpp - Buffers of a CPU step, recycled ---------------===//

#include "HostStepMemory.h"
#include "FlatTable.h"

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <vector>

using namespace bitnet_rt;
using bitnet_rt::detail::FlatTable;

namespace {

/// One thread's cache: a model's steps run on the thread that calls them,
/// which also frees their results, so no lock is needed (a block freed on
/// another thread is not found there and goes to free()).
struct Cache {
  /// Freed blocks, one list per key (size, alignment).
  std::vector<std::vector<void *>> lists;
  /// Key -> index into `lists`.
  FlatTable listOf;
  /// Blocks handed out -> the index of their list.
  FlatTable live;
  /// The list of `key`, made where it is missing.
  size_t listFor(uint64_t key) {
    if (uint64_t *index = listOf.find(key))
      return size_t(*index);
    lists.emplace_back();
    listOf.assign(key, lists.size() - 1);
    return lists.size() - 1;
  }
  void trim() {
    // The lists stay (blocks still handed out name them); their blocks go.
    for (std::vector<void *> &list : lists) {
      for (void *p : list)
        std::free(p);
      list.clear();
      list.shrink_to_fit();
    }
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
  size_t index = c.listFor(keyOf(bytes, alignment));
  std::vector<void *> &list = c.lists[index];
  void *p = nullptr;
  if (!list.empty()) {
    p = list.back();
    list.pop_back();
  } else if (posix_memalign(&p, alignment, bytes) != 0) {
    return nullptr;
  }
  // (Assigned, not added: a block freed on another thread left its entry
  // here, and malloc may hand its address out again.)
  c.live.assign(reinterpret_cast<uintptr_t>(p), index);
  return p;
}

void host_memory::release(void *pointer) {
  if (!pointer)
    return;
  Cache &c = cache();
  if (std::optional<uint64_t> index =
          c.live.erase(reinterpret_cast<uintptr_t>(pointer))) {
    c.lists[size_t(*index)].push_back(pointer);
    return;
  }
  std::free(pointer);
}

void host_memory::trim() { cache().trim(); }
