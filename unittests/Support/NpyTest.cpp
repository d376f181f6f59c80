//===- NpyTest.cpp - .npy reading and writing -----------------------------===//

#include "bitnet/Support/Npy.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace {

std::string tempPath(const char *name) {
  return std::string(::testing::TempDir()) + name;
}

TEST(Npy, WriteThenReadF32) {
  std::string path = tempPath("roundtrip.npy"), error;
  std::vector<float> data = {1.f, -2.5f, 3.25f, 0.f, 1e-30f, 7.f};
  ASSERT_TRUE(npy::writeF32(path, {2, 3}, data.data(), error)) << error;
  npy::Array a;
  ASSERT_TRUE(npy::read(path, a, error)) << error;
  EXPECT_EQ(a.descr, "<f4");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  ASSERT_EQ(a.size(), 6);
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(a.f32()[i], data[i]);
  // The header is padded so the data starts 64-byte aligned.
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  EXPECT_EQ(int64_t(in.tellg()) % 64, int64_t(6 * 4) % 64);
  std::remove(path.c_str());
}

TEST(Npy, ReadsInt64FromNumPy) {
  // Written by numpy.save(np.array([[1, -2, 3]], dtype=np.int64)).
  std::string header = "{'descr': '<i8', 'fortran_order': False, 'shape': (1, 3), }";
  header.append(128 - 10 - header.size() - 1, ' ');
  header.push_back('\n');
  std::string path = tempPath("ints.npy"), error;
  {
    std::ofstream out(path, std::ios::binary);
    out.write("\x93NUMPY\x01\x00", 8);
    char len[2] = {char(header.size()), 0};
    out.write(len, 2);
    out << header;
    int64_t v[3] = {1, -2, 3};
    out.write(reinterpret_cast<char *>(v), sizeof(v));
  }
  npy::Array a;
  ASSERT_TRUE(npy::read(path, a, error)) << error;
  EXPECT_EQ(a.shape, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(a.i64()[1], -2);
  std::remove(path.c_str());
}

TEST(Npy, RejectsBadFiles) {
  std::string error;
  npy::Array a;
  EXPECT_FALSE(npy::read(tempPath("missing.npy"), a, error));
  EXPECT_NE(error.find("cannot open"), std::string::npos);
  std::string path = tempPath("text.npy");
  std::ofstream(path) << "not numpy";
  EXPECT_FALSE(npy::read(path, a, error));
  EXPECT_NE(error.find("not a .npy file"), std::string::npos);
  std::remove(path.c_str());
}

TEST(Npy, UnwritablePathLeavesNothing) {
  std::string error;
  float v = 1.f;
  EXPECT_FALSE(npy::writeF32("/nonexistent-dir/x.npy", {1}, &v, error));
  EXPECT_NE(error.find("cannot open for writing"), std::string::npos);
}

} // namespace
