//===- FlatTableTest.cpp - The step buffer cache's hash table -------------===//

#include "FlatTable.h"

#include <gtest/gtest.h>

#include <random>
#include <unordered_map>

using bitnet_rt::detail::FlatTable;

namespace {

TEST(FlatTableTest, FindsAssignsAndErases) {
  FlatTable t;
  EXPECT_EQ(t.find(7), nullptr);
  EXPECT_FALSE(t.erase(7).has_value());
  t.assign(7, 70);
  t.assign(8, 80);
  ASSERT_NE(t.find(7), nullptr);
  EXPECT_EQ(*t.find(7), 70u);
  t.assign(7, 71); // overwrites, does not add
  EXPECT_EQ(*t.find(7), 71u);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.erase(7), std::optional<uint64_t>(71));
  EXPECT_EQ(t.find(7), nullptr);
  EXPECT_EQ(*t.find(8), 80u);
  EXPECT_EQ(t.size(), 1u);
}

// Random assigns and erases against std::unordered_map: few distinct keys
// (long probe runs that wrap around the table, deletions from their
// middle) and block-like addresses (multiples of 64), through the growths.
TEST(FlatTableTest, AgreesWithUnorderedMapUnderRandomOperations) {
  for (uint64_t stride : {uint64_t(1), uint64_t(64), uint64_t(4096)}) {
    std::mt19937_64 rng(stride);
    FlatTable t;
    std::unordered_map<uint64_t, uint64_t> ref;
    for (int op = 0; op < 200000; ++op) {
      uint64_t key = (rng() % 300 + 1) * stride;
      switch (rng() % 3) {
      case 0: {
        uint64_t value = rng();
        t.assign(key, value);
        ref[key] = value;
        break;
      }
      case 1: {
        std::optional<uint64_t> got = t.erase(key);
        auto it = ref.find(key);
        ASSERT_EQ(got.has_value(), it != ref.end()) << "key " << key;
        if (it != ref.end()) {
          EXPECT_EQ(*got, it->second);
          ref.erase(it);
        }
        break;
      }
      default: {
        uint64_t *got = t.find(key);
        auto it = ref.find(key);
        ASSERT_EQ(got != nullptr, it != ref.end()) << "key " << key;
        if (got)
          EXPECT_EQ(*got, it->second);
      }
      }
      ASSERT_EQ(t.size(), ref.size());
    }
    for (const auto &[key, value] : ref) {
      ASSERT_NE(t.find(key), nullptr);
      EXPECT_EQ(*t.find(key), value);
    }
  }
}

// The table at its fullest (31 keys in 64 slots, just below growing),
// one key out and another in, many times: long probe runs, many of them
// wrapping past the last slot, deletions from their middles.
TEST(FlatTableTest, KeepsEveryKeyFindableAtItsHighestLoad) {
  std::mt19937_64 rng(11);
  FlatTable t;
  std::vector<uint64_t> in, out;
  for (uint64_t k = 1; k <= 5000; ++k)
    (k <= 31 ? in : out).push_back(k * 64);
  for (uint64_t k : in)
    t.assign(k, k + 1);
  for (int round = 0; round < 20000; ++round) {
    size_t a = rng() % in.size(), b = rng() % out.size();
    ASSERT_EQ(t.erase(in[a]), std::optional<uint64_t>(in[a] + 1));
    t.assign(out[b], out[b] + 1);
    std::swap(in[a], out[b]);
    ASSERT_EQ(t.size(), 31u);
    for (uint64_t k : in) {
      uint64_t *v = t.find(k);
      ASSERT_NE(v, nullptr) << "round " << round << " key " << k;
      ASSERT_EQ(*v, k + 1);
    }
    ASSERT_EQ(t.find(out[rng() % out.size()]), nullptr);
  }
}

} // namespace
