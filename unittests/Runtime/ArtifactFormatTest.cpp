//===- ArtifactFormatTest.cpp - Writing, validating, rejecting artifacts --===//
//
// The runtime's reader against damaged files: every damage ends in a clear
// message, never a crash; and the CPU-feature check against made-up hosts.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Runtime/ArtifactFormat.h"
#include "bitnet/Runtime/CpuFeatures.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace bitnet_rt;

namespace {

std::string tempPath(const char *name) {
  return ::testing::TempDir() + "/" + name + "." + std::to_string(getpid());
}

std::string readAll(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeAll(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

class ArtifactFormatTest : public ::testing::Test {
protected:
  void SetUp() override {
    path = tempPath("format.bnx");
    std::string error;
    meta = "format=bitnet-artifact\nvocab=256\n";
    code.assign(5000, 'c');
    weights.assign(10000, 'w');
    ASSERT_TRUE(writeArtifact(path,
                              {{"meta", meta.data(), meta.size(), 16},
                               {"code", code.data(), code.size(), 4096},
                               {"weights", weights.data(), weights.size(), 4096}},
                              error))
        << error;
    good = readAll(path);
  }
  void TearDown() override { std::remove(path.c_str()); }

  /// Opens `bytes` written to the file; the error message if it fails.
  std::string openBytes(const std::string &bytes) {
    writeAll(path, bytes);
    ArtifactFile file;
    std::string error;
    if (file.open(path, error))
      return "";
    return error;
  }

  std::string path, meta, code, weights, good;
};

TEST_F(ArtifactFormatTest, RoundTrip) {
  ArtifactFile file;
  std::string error;
  ASSERT_TRUE(file.open(path, error)) << error;
  size_t size = 0;
  const uint8_t *w = file.section("weights", &size);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(size, weights.size());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(w) % 4096, 0u) << "weights are mapped "
                                                          "page-aligned";
  EXPECT_EQ(std::memcmp(w, weights.data(), size), 0);
  int64_t vocab = 0;
  EXPECT_TRUE(file.getInt("vocab", vocab));
  EXPECT_EQ(vocab, 256);
  EXPECT_EQ(file.section("nope", &size), nullptr);
}

TEST_F(ArtifactFormatTest, EveryTruncationIsRejected) {
  for (size_t keep : {size_t(0), size_t(10), size_t(63), size_t(64),
                      size_t(100), good.size() / 2, good.size() - 1}) {
    std::string msg = openBytes(good.substr(0, keep));
    EXPECT_FALSE(msg.empty()) << "kept " << keep << " bytes";
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
  }
}

TEST_F(ArtifactFormatTest, FlippedBytesAreRejected) {
  // In the header, the table, and each section.
  for (size_t at : {size_t(0), size_t(20), size_t(70), size_t(4096 + 7),
                    good.size() - 5}) {
    std::string bad = good;
    bad[at] ^= 0x5a;
    EXPECT_FALSE(openBytes(bad).empty()) << "flipped byte " << at;
  }
  std::string bad = good;
  bad[4096 + 100] ^= 1;
  EXPECT_NE(openBytes(bad).find("checksum mismatch"), std::string::npos);
}

TEST_F(ArtifactFormatTest, WrongMagicAndVersion) {
  std::string bad = good;
  bad[0] = 'X';
  EXPECT_NE(openBytes(bad).find("not a bitnet artifact"), std::string::npos);
  bad = good;
  uint32_t version = kFormatVersion + 1;
  std::memcpy(&bad[8], &version, 4);
  std::string msg = openBytes(bad);
  EXPECT_NE(msg.find("format version " + std::to_string(version)),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("recompile"), std::string::npos) << msg;
}

TEST_F(ArtifactFormatTest, NotAFile) {
  ArtifactFile file;
  std::string error;
  EXPECT_FALSE(file.open(::testing::TempDir(), error));
  EXPECT_NE(error.find("not a regular file"), std::string::npos) << error;
  EXPECT_FALSE(file.open(path + ".missing", error));
  EXPECT_NE(error.find("cannot open"), std::string::npos) << error;
}

TEST_F(ArtifactFormatTest, WriteFailureLeavesNothing) {
  std::string error;
  std::string dir = ::testing::TempDir() + "/no-such-dir/x.bnx";
  EXPECT_FALSE(writeArtifact(dir, {{"meta", meta.data(), meta.size(), 16}}, error));
  EXPECT_NE(error.find("cannot write"), std::string::npos) << error;
}

TEST(CpuFeaturesTest, MissingAndUncheckable) {
  std::set<std::string> host{"avx2", "avx512f", "avx512vnni"};
  EXPECT_EQ(missingCpuFeatures("avx2,avx512f", host), "");
  EXPECT_EQ(missingCpuFeatures("", host), "");
  EXPECT_EQ(missingCpuFeatures("avx2,amx-int8,amx-tile", host),
            "this CPU lacks amx-int8, amx-tile");
  EXPECT_EQ(missingCpuFeatures("avx2,avx10.2", host),
            "this runtime cannot check avx10.2");
}

TEST(CpuFeaturesTest, HostIsConsistent) {
  std::set<std::string> host = hostCpuFeatures();
  // Everything x86-64 we build on has SSE4.2; AVX-512 implies AVX2.
  EXPECT_TRUE(host.count("sse4.2"));
  if (host.count("avx512f"))
    EXPECT_TRUE(host.count("avx2"));
  for (const std::string &f : host)
    EXPECT_EQ(missingCpuFeatures(f, host), "");
}

} // namespace
