//===- RandomWeightsTest.cpp - Artifacts whose weights the runtime fills --===//
//
// The fill plan of --random-weights artifacts (RandomWeights.h): rebuilt
// blobs keep every shipped byte in place, fill with valid values, depend
// only on the seed; malformed plans are refused with a message.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Runtime/RandomWeights.h"
#include "bitnet/Support/HalfFloat.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>
#include <unistd.h>

using namespace bitnet_rt;

namespace {

class RandomWeightsTest : public ::testing::Test {
protected:
  void TearDown() override { std::remove(path.c_str()); }

  /// Opens an artifact with `meta` and a weights section of `bytes` bytes
  /// (byte i = i % 251); the plan's error, or "" and the plan.
  std::string plan(const std::string &meta, size_t bytes) {
    path = ::testing::TempDir() + "/random." + std::to_string(getpid());
    std::string m = "format=bitnet-artifact\n" + meta;
    section.resize(bytes);
    for (size_t i = 0; i < bytes; ++i)
      section[i] = uint8_t(i % 251);
    std::string error;
    std::string code(64, 'c');
    if (!writeArtifact(path,
                       {{"meta", m.data(), m.size(), 16},
                        {"code", code.data(), code.size(), 4096},
                        {"weights", section.data(), section.size(), 4096}},
                       error))
      return "write: " + error;
    file = std::make_unique<ArtifactFile>();
    if (!file->open(path, error))
      return "open: " + error;
    size_t size = 0;
    file->section("weights", &size);
    if (!readRandomFills(*file, size, fills, total, error))
      return error;
    return "";
  }

  std::string path;
  std::vector<uint8_t> section;
  std::unique_ptr<ArtifactFile> file;
  std::vector<RandomFill> fills;
  uint64_t total = 0;
};

TEST_F(RandomWeightsTest, FullArtifactHasNoPlan) {
  ASSERT_EQ(plan("vocab=256\n", 100), "");
  EXPECT_TRUE(fills.empty());
  EXPECT_EQ(total, 100u);
}

TEST_F(RandomWeightsTest, RebuildsTheBlob) {
  // 300 bytes: [0, 64) shipped, [64, 164) ternary, [164, 200) shipped,
  // [200, 280) f32, [280, 300) shipped: 120 shipped bytes.
  ASSERT_EQ(plan("weights=random\nweight_bytes=300\nrandom_fill=2\n"
                 "random_fill.0=64,100,ternary2\nrandom_fill.1=200,80,f32\n",
                 120),
            "");
  ASSERT_EQ(fills.size(), 2u);
  EXPECT_EQ(total, 300u);
  EXPECT_EQ(fills[0].kind, RandomFill::Kind::Ternary2);
  EXPECT_EQ(fills[1].kind, RandomFill::Kind::F32);
  size_t size = 0;
  const uint8_t *shipped = file->section("weights", &size);
  std::vector<uint8_t> a(300, 0xff), b(300, 0xff), c(300, 0xff);
  expandRandomWeights(shipped, size, fills, 1, a.data(), 300);
  expandRandomWeights(shipped, size, fills, 1, b.data(), 300);
  expandRandomWeights(shipped, size, fills, 2, c.data(), 300);
  EXPECT_EQ(a, b) << "the same seed must give the same blob";
  EXPECT_NE(a, c) << "another seed must give another blob";
  // Shipped bytes in order around the fills.
  for (size_t i = 0; i < 64; ++i)
    EXPECT_EQ(a[i], section[i]) << i;
  for (size_t i = 0; i < 36; ++i)
    EXPECT_EQ(a[164 + i], section[64 + i]) << i;
  for (size_t i = 0; i < 20; ++i)
    EXPECT_EQ(a[280 + i], section[100 + i]) << i;
  // Ternary bytes: four 2-bit codes, each 0, 1 or 2; all three occur.
  int seen[4] = {0, 0, 0, 0};
  for (size_t i = 64; i < 164; ++i)
    for (int f = 0; f < 4; ++f)
      ++seen[(a[i] >> (2 * f)) & 3];
  EXPECT_EQ(seen[3], 0);
  EXPECT_GT(seen[0], 0);
  EXPECT_GT(seen[1], 0);
  EXPECT_GT(seen[2], 0);
  // f32 values in [-0.05, 0.05), not all equal.
  float first = 0;
  bool varied = false;
  for (size_t i = 0; i < 20; ++i) {
    float v;
    std::memcpy(&v, &a[200 + 4 * i], 4);
    EXPECT_GE(v, -0.05f);
    EXPECT_LT(v, 0.05f);
    if (i == 0)
      first = v;
    varied |= v != first;
  }
  EXPECT_TRUE(varied);
}

TEST_F(RandomWeightsTest, FillsSixteenBitHeads) {
  // [0, 64) f16, [64, 128) bf16 (an LM head stored in 16 bits), nothing
  // shipped.
  ASSERT_EQ(plan("weights=random\nweight_bytes=128\nrandom_fill=2\n"
                 "random_fill.0=0,64,f16\nrandom_fill.1=64,64,bf16\n",
                 0),
            "");
  ASSERT_EQ(fills.size(), 2u);
  EXPECT_EQ(fills[0].kind, RandomFill::Kind::F16);
  EXPECT_EQ(fills[1].kind, RandomFill::Kind::BF16);
  std::vector<uint8_t> a(128, 0xff);
  uint8_t none = 0;
  expandRandomWeights(&none, 0, fills, 1, a.data(), 128);
  for (int half = 0; half < 2; ++half) {
    std::set<float> values;
    for (size_t i = 0; i < 32; ++i) {
      uint16_t bits;
      std::memcpy(&bits, &a[64 * half + 2 * i], 2);
      float v = half ? halffloat::bf16ToFloat(bits) : halffloat::halfToFloat(bits);
      // Uniform in [-0.05, 0.05) rounded to the type: within its half ulp.
      EXPECT_LE(std::fabs(v), half ? 0.0502f : 0.05001f) << i;
      values.insert(v);
    }
    EXPECT_GT(values.size(), 8u) << (half ? "bf16" : "f16");
  }
}

TEST_F(RandomWeightsTest, RefusesMalformedPlans) {
  EXPECT_NE(plan("weights=random\nrandom_fill=0\n", 10).find("weight_bytes"),
            std::string::npos);
  EXPECT_NE(plan("weights=random\nweight_bytes=100\nrandom_fill=1\n"
                 "random_fill.0=10,20\n",
                 80)
                .find("is not offset,size,kind"),
            std::string::npos);
  EXPECT_NE(plan("weights=random\nweight_bytes=100\nrandom_fill=1\n"
                 "random_fill.0=10,20,f64\n",
                 80)
                .find("unknown kind 'f64'"),
            std::string::npos);
  EXPECT_NE(plan("weights=random\nweight_bytes=100\nrandom_fill=2\n"
                 "random_fill.0=10,20,f32\nrandom_fill.1=20,10,f32\n",
                 70)
                .find("overlaps"),
            std::string::npos);
  EXPECT_NE(plan("weights=random\nweight_bytes=100\nrandom_fill=1\n"
                 "random_fill.0=90,20,f32\n",
                 80)
                .find("past the weights"),
            std::string::npos);
  EXPECT_NE(plan("weights=random\nweight_bytes=100\nrandom_fill=1\n"
                 "random_fill.0=10,20,f32\n",
                 81)
                .find("the random-weight plan needs 80"),
            std::string::npos);
}

} // namespace
