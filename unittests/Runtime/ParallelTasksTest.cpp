//===- ParallelTasksTest.cpp - bitnet_parallel_for, the compiled loops' split ===//

#include "bitnet/Runtime/Ukernels.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

namespace {

/// What a task saw: the ranges it ran and on which threads.
struct Frame {
  std::vector<std::atomic<int>> hits;
  int64_t base;
  std::mutex mu;
  std::vector<std::pair<int64_t, int64_t>> ranges;
  std::set<std::thread::id> threads;
  Frame(int64_t lo, int64_t hi) : hits(hi - lo), base(lo) {}
};

void task(void *frame, int64_t lo, int64_t hi) {
  auto *f = static_cast<Frame *>(frame);
  for (int64_t i = lo; i < hi; ++i)
    f->hits[i - f->base].fetch_add(1);
  std::lock_guard<std::mutex> lock(f->mu);
  f->ranges.emplace_back(lo, hi);
  f->threads.insert(std::this_thread::get_id());
}

TEST(ParallelTasksTest, WorkThatPaysIsSplitIntoDisjointRangesCoveringAll) {
  // 1000 iterations of 10 K operations: far above a thread's grain.
  Frame f(37, 1037);
  bitnet_parallel_for(task, &f, 37, 1037, 10000);
  for (int64_t i = 0; i < 1000; ++i)
    EXPECT_EQ(f.hits[i].load(), 1) << "iteration " << 37 + i;
  for (auto [lo, hi] : f.ranges) {
    EXPECT_GE(lo, 37);
    EXPECT_LE(hi, 1037);
    EXPECT_LT(lo, hi);
  }
  int threads = bitnet_rt::kernelThreads();
  EXPECT_EQ(int(f.ranges.size()), threads);
  EXPECT_EQ(int(f.threads.size()), threads);
}

TEST(ParallelTasksTest, SmallWorkRunsOnceOnTheCallingThread) {
  // 100 iterations of 100 operations: below what waking a thread costs.
  Frame f(5, 105);
  bitnet_parallel_for(task, &f, 5, 105, 100);
  ASSERT_EQ(f.ranges.size(), 1u);
  EXPECT_EQ(f.ranges[0], std::make_pair(int64_t(5), int64_t(105)));
  EXPECT_EQ(*f.threads.begin(), std::this_thread::get_id());
  for (int64_t i = 0; i < 100; ++i)
    EXPECT_EQ(f.hits[i].load(), 1);
}

TEST(ParallelTasksTest, EmptyAndSingleIterationRanges) {
  Frame empty(3, 3);
  bitnet_parallel_for(task, &empty, 3, 3, int64_t(1) << 30);
  for (auto [lo, hi] : empty.ranges)
    EXPECT_EQ(lo, hi);
  Frame one(7, 8);
  bitnet_parallel_for(task, &one, 7, 8, int64_t(1) << 30);
  ASSERT_EQ(one.ranges.size(), 1u);
  EXPECT_EQ(one.hits[0].load(), 1);
}

} // namespace
