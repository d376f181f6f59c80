//===- CudaModelTest.cpp - CUDA model artifacts where no GPU can run them -===//
//
// The runtime runs CUDA artifacts through the driver it opens at run time.
// Here (CI has no GPU) what must hold is that such an artifact is refused
// with a clear device error, and that the entry points the artifact's code
// calls fail softly outside a session. bench/gpu/check-models.sh runs the
// bundled models on the GPU.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Runtime/ArtifactFormat.h"
#include "bitnet/Runtime/bitnet_runtime.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <unistd.h>

extern "C" {
void *mgpuModuleLoad(void *data, size_t size);
void *mgpuModuleGetFunction(void *module, const char *name);
void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t sharedBytes, void *stream,
                      void **params, void **extra, size_t paramsCount);
void *_mlir_memref_to_llvm_alloc(size_t bytes);
void _mlir_memref_to_llvm_free(void *pointer);
}

namespace {

std::string writeModel(const std::string &name, const std::string &arch) {
  std::string path = testing::TempDir() + "/cuda_model_" +
                     std::to_string(getpid()) + "_" + name;
  std::string meta =
      "format=bitnet-artifact\ntarget=cuda\ngpu_arch=" + arch +
      "\nvariant=bitnet-a4.8\nvocab=256\nhidden=128\nlayers=2\nheads=4\n"
      "kv_heads=2\nhead_dim=32\nffn=320\nkv_bits=16\nkv_bos_bits=0\n"
      "max_context=64\nprefill_chunk=16\nternary_weights=1\nquantizers=0\n"
      "cpu=x86-64\ncpu_features=\n";
  std::string code = "\x7f" "ELF this is no shared object, but long enough "
                     "to pass the size check before the device check";
  std::string weights(64, '\0');
  std::string error;
  EXPECT_TRUE(bitnet_rt::writeArtifact(
      path,
      {{"meta", meta.data(), meta.size(), 16},
       {"code", code.data(), code.size(), 4096},
       {"weights", weights.data(), weights.size(), 64}},
      error))
      << error;
  return path;
}

TEST(CudaModelTest, RefusedWithADeviceErrorWhereNoGpuRunsIt) {
  // No driver (CI): "no CUDA driver"; a GPU: not an sm_1000.
  std::string path = writeModel("future.bnx", "sm_1000");
  bitnet_model *model = nullptr;
  char error[512] = {};
  EXPECT_EQ(bitnet_create(path.c_str(), &model, error, sizeof(error)),
            BITNET_ERROR_DEVICE);
  EXPECT_EQ(model, nullptr);
  EXPECT_NE(std::string(error).find("is a CUDA model (sm_1000)"),
            std::string::npos)
      << error;
  std::remove(path.c_str());
}

TEST(CudaModelTest, CodeEntryPointsFailSoftlyWithoutASession) {
  // What a CUDA model's code calls, outside a model: nothing is allocated,
  // loaded or launched, and nothing crashes.
  EXPECT_EQ(_mlir_memref_to_llvm_alloc(64), nullptr);
  _mlir_memref_to_llvm_free(nullptr);
  char image[16] = {};
  EXPECT_EQ(mgpuModuleLoad(image, sizeof(image)), nullptr);
  EXPECT_EQ(mgpuModuleGetFunction(nullptr, "kernel"), nullptr);
  mgpuLaunchKernel(nullptr, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr, 0);
}

} // namespace
