//===- HostStepMemoryTest.cpp - The CPU step buffer cache -----------------===//

#include "HostStepMemory.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>

extern "C" void *_mlir_memref_to_llvm_alloc(size_t bytes);
extern "C" void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment,
                                                    size_t bytes);
extern "C" void _mlir_memref_to_llvm_free(void *pointer);

using namespace bitnet_rt;

namespace {

TEST(HostStepMemoryTest, ReusesFreedBlocksOfTheSameSizeAndAlignment) {
  void *a = host_memory::allocate(1 << 20, 64);
  void *b = host_memory::allocate(1 << 20, 64);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u);
  std::memset(a, 1, 1 << 20);
  host_memory::release(a);
  // Same key: the freed block; another size or alignment: not it.
  void *c = host_memory::allocate((1 << 20) + 8, 64);
  void *d = host_memory::allocate(1 << 20, 4096);
  void *e = host_memory::allocate(1 << 20, 64);
  EXPECT_NE(c, a);
  EXPECT_NE(d, a);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(d) % 4096, 0u);
  EXPECT_EQ(e, a);
  for (void *p : {b, c, d, e})
    host_memory::release(p);
  host_memory::trim();
  // After a trim nothing is cached; new blocks still work.
  void *f = host_memory::allocate(100, 16);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(f) % 64, 0u);
  host_memory::release(f);
  host_memory::trim();
}

TEST(HostStepMemoryTest, ReleasesForeignPointersWithFree) {
  // An older artifact's results come from malloc.
  void *p = std::malloc(256);
  ASSERT_NE(p, nullptr);
  host_memory::release(p); // must not enter the cache (nor crash)
  void *q = host_memory::allocate(256, 64);
  host_memory::release(q);
  host_memory::release(nullptr);
  host_memory::trim();
}

TEST(HostStepMemoryTest, BlocksFreedOnAnotherThreadGoToFree) {
  // Caches are per thread: the other thread does not know the block and
  // frees it; this thread's cache must not hand it out again from a stale
  // entry with the wrong size.
  void *p = host_memory::allocate(1000, 64);
  ASSERT_NE(p, nullptr);
  std::thread([p] { host_memory::release(p); }).join();
  void *q = host_memory::allocate(5000, 64);
  ASSERT_NE(q, nullptr);
  std::memset(q, 0, 5000);
  host_memory::release(q);
  void *r = host_memory::allocate(5000, 64);
  EXPECT_EQ(r, q);
  host_memory::release(r);
  host_memory::trim();
}

TEST(HostStepMemoryTest, CodeAllocationsUseTheCacheInsideACpuStep) {
  EXPECT_FALSE(host_memory::inStep());
  void *first;
  {
    host_memory::Step step;
    EXPECT_TRUE(host_memory::inStep());
    first = _mlir_memref_to_llvm_aligned_alloc(64, 3000);
    ASSERT_NE(first, nullptr);
    _mlir_memref_to_llvm_free(first);
  }
  EXPECT_FALSE(host_memory::inStep());
  {
    // The next step gets the same block back: no fresh pages.
    host_memory::Step step;
    void *again = _mlir_memref_to_llvm_aligned_alloc(64, 3000);
    EXPECT_EQ(again, first);
    void *plain = _mlir_memref_to_llvm_alloc(5000);
    ASSERT_NE(plain, nullptr);
    std::memset(plain, 0, 5000);
    _mlir_memref_to_llvm_free(plain);
    _mlir_memref_to_llvm_free(again);
  }
  host_memory::trim();
}

} // namespace
