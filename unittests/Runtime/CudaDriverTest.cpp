//===- CudaDriverTest.cpp - The run-time-loaded CUDA driver and loader ----===//
//
// These run everywhere: on a machine with no GPU (CI) the driver is absent
// and every GPU entry point must say so, not crash; on the GPU machine the
// same calls reach the driver and fail on the bad input instead.
// bench/gpu checks the kernels themselves on the GPU.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Runtime/CudaDriver.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <unistd.h>

using namespace bitnet_rt;
using namespace bitnet_rt::cuda;

namespace {

std::string tempPath(const std::string &name) {
  return testing::TempDir() + "/cuda_driver_" + std::to_string(getpid()) +
         "_" + name;
}

std::string writeLibrary(const std::string &name, const std::string &meta,
                         const std::string &code) {
  std::string path = tempPath(name);
  std::string error;
  EXPECT_TRUE(writeArtifact(path,
                            {{"meta", meta.data(), meta.size(), 16},
                             {"code", code.data(), code.size(), 16}},
                            error))
      << error;
  return path;
}

const char *kLibraryMeta = "format=bitnet-gpu-kernels\ntarget=cuda\n"
                           "gpu_arch=sm_90a\nbinary=cubin\nkernels=1\n"
                           "kernel.0.name=layer\nkernel.0.grid=64,1,1\n"
                           "kernel.0.block=64,1,1\nkernel.0.layer=1,256,128\n";

TEST(CudaDriverTest, ParsesIntLists) {
  std::vector<int64_t> v;
  EXPECT_TRUE(parseIntList("64,1,1", v));
  EXPECT_EQ(v, (std::vector<int64_t>{64, 1, 1}));
  EXPECT_TRUE(parseIntList("-3", v));
  EXPECT_EQ(v, (std::vector<int64_t>{-3}));
  for (const char *bad : {"", ",", "1,", ",1", "1,,2", "1x", "a,b"})
    EXPECT_FALSE(parseIntList(bad, v)) << bad;
}

TEST(CudaDriverTest, MissingDriverIsAnErrorNotACrash) {
  std::string error;
  const Driver *driver = Driver::get(error);
  if (driver) {
    EXPECT_TRUE(error.empty());
    GTEST_SKIP() << "this machine has a CUDA driver";
  }
  EXPECT_NE(error.find("CUDA driver"), std::string::npos) << error;
  // Asking again gives the same answer (loaded once per process).
  std::string again;
  EXPECT_EQ(Driver::get(again), nullptr);
  EXPECT_EQ(again, error);
}

TEST(CudaDriverTest, RefusesWhatIsNotAKernelLibrary) {
  GpuKernelLibrary lib;
  std::string error;
  EXPECT_FALSE(lib.open(tempPath("missing.bnx"), 0, error));
  EXPECT_FALSE(error.empty());

  std::string model = writeLibrary(
      "model.bnx", "format=bitnet-artifact\ntarget=x86_64\n", "code");
  GpuKernelLibrary lib2;
  EXPECT_FALSE(lib2.open(model, 0, error));
  EXPECT_NE(error.find("not a CUDA kernel library"), std::string::npos)
      << error;

  std::string ptx = writeLibrary(
      "ptx.bnx",
      "format=bitnet-gpu-kernels\ntarget=cuda\ngpu_arch=sm_90a\nbinary=ptx\n"
      "kernels=0\n",
      ".version 8.0");
  GpuKernelLibrary lib3;
  EXPECT_FALSE(lib3.open(ptx, 0, error));
  EXPECT_NE(error.find("not a cubin"), std::string::npos) << error;
  std::remove(model.c_str());
  std::remove(ptx.c_str());
}

TEST(CudaDriverTest, KernelLibraryWithoutAUsableGpuOrImageFails) {
  // A well-formed library whose code is not a cubin: without a driver the
  // driver's absence is reported; with one, the module load fails.
  std::string path = writeLibrary("junk.bnx", kLibraryMeta, "not an ELF image");
  GpuKernelLibrary lib;
  std::string error;
  EXPECT_FALSE(lib.open(path, 0, error));
  EXPECT_FALSE(error.empty());
  std::remove(path.c_str());
}

} // namespace
