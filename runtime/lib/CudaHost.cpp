//===- CudaHost.cpp - MLIR's GPU runtime entry points on the CUDA driver --===//

#include "CudaHost.h"

#include "bitnet/Runtime/CudaDriver.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

using namespace bitnet_rt;
using namespace bitnet_rt::cuda;

namespace {

/// The process's session: the driver, device 0's primary context, the stream
/// every launch goes to, and the sticky error.
struct Session {
  std::mutex mutex;
  const Driver *driver = nullptr;
  CUdevice device = 0;
  CUcontext context = nullptr;
  CUstream stream = nullptr;
  int users = 0;
  std::string name, error;
  /// Kernel names by function, and the last launched: a failure the next
  /// synchronization reports names the kernel.
  std::unordered_map<void *, std::string> kernelNames;
  const std::string *lastKernel = nullptr;
};

Session &session() {
  static Session s;
  return s;
}

/// Records the first failure.
void fail(const std::string &message) {
  Session &s = session();
  if (s.error.empty())
    s.error = message;
}

/// `what` names the call; `kernel`, when given, the kernel it concerns.
/// The message is built only on failure (launches are a hot path).
bool check(const char *what, CUresult r, const std::string *kernel = nullptr) {
  if (r == CUDA_SUCCESS)
    return true;
  Session &s = session();
  std::string call = what;
  if (kernel)
    call += " (kernel " + *kernel + ")";
  fail(s.driver ? s.driver->describe(call.c_str(), r)
                : call + " failed: no CUDA session");
  return false;
}

bool ready() {
  Session &s = session();
  if (!s.driver || !s.context) {
    fail("the model's GPU code ran without a CUDA session");
    return false;
  }
  return s.error.empty();
}

} // namespace

bool cuda_host::acquire(const std::string &arch, std::string &device,
                        std::string &error) {
  Session &s = session();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.users > 0) {
    std::string name;
    if (!checkArch(*s.driver, s.device, arch, name, error))
      return false;
    device = s.name;
    ++s.users;
    return true;
  }
  const Driver *drv = Driver::get(error);
  if (!drv)
    return false;
  if (CUresult r = drv->deviceGet(&s.device, 0); r != CUDA_SUCCESS) {
    error = drv->describe("cuDeviceGet", r);
    return false;
  }
  if (!checkArch(*drv, s.device, arch, s.name, error))
    return false;
  if (CUresult r = drv->primaryCtxRetain(&s.context, s.device);
      r != CUDA_SUCCESS) {
    s.context = nullptr;
    error = drv->describe("cuDevicePrimaryCtxRetain", r);
    return false;
  }
  CUresult r = drv->ctxSetCurrent(s.context);
  if (r == CUDA_SUCCESS)
    r = drv->streamCreate(&s.stream, CU_STREAM_NON_BLOCKING);
  if (r != CUDA_SUCCESS) {
    error = drv->describe("creating the CUDA stream", r);
    drv->primaryCtxRelease(s.device);
    s.context = nullptr;
    return false;
  }
  s.driver = drv;
  s.error.clear();
  s.users = 1;
  device = s.name;
  return true;
}

void cuda_host::release() {
  Session &s = session();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.users == 0 || --s.users > 0)
    return;
  s.driver->streamDestroy(s.stream);
  s.driver->primaryCtxRelease(s.device);
  s.stream = nullptr;
  s.context = nullptr;
}

void *cuda_host::allocate(size_t bytes) {
  if (!ready())
    return nullptr;
  CUdeviceptr p = 0;
  if (!check("cuMemAllocManaged",
             session().driver->memAllocManaged(&p, bytes ? bytes : 1,
                                               CU_MEM_ATTACH_GLOBAL)))
    return nullptr;
  return reinterpret_cast<void *>(p);
}

void cuda_host::deallocate(void *pointer) {
  Session &s = session();
  if (pointer && s.driver && s.context)
    s.driver->memFree(reinterpret_cast<CUdeviceptr>(pointer));
}

bool cuda_host::synchronize() {
  Session &s = session();
  return ready() && check("cuStreamSynchronize after the last launch",
                          s.driver->streamSynchronize(s.stream), s.lastKernel);
}

bool cuda_host::tracing() {
  static const bool trace = std::getenv("BITNET_CUDA_TRACE") != nullptr;
  return trace;
}

std::string cuda_host::takeError() {
  std::string e;
  std::swap(e, session().error);
  return e;
}

// What the generated host code calls. The signatures are those of MLIR's
// CUDA runtime wrappers (mlir/lib/ExecutionEngine/CudaRuntimeWrappers.cpp),
// which gpu-to-llvm and the gpu.binary translation emit calls of.
extern "C" {

void *mgpuModuleLoad(void *data, size_t size) {
  if (!ready())
    return nullptr;
  // cuModuleLoadData reads the ELF image from an aligned copy.
  std::vector<uint64_t> image((size + 7) / 8);
  std::memcpy(image.data(), data, size);
  CUmodule module = nullptr;
  if (!check("cuModuleLoadData",
             session().driver->moduleLoadData(&module, image.data())))
    return nullptr;
  return module;
}

void mgpuModuleUnload(void *module) {
  Session &s = session();
  if (module && s.driver && s.context)
    s.driver->moduleUnload(static_cast<CUmodule>(module));
}

void *mgpuModuleGetFunction(void *module, const char *name) {
  if (!ready() || !module)
    return nullptr;
  CUfunction function = nullptr;
  std::string kernel = name;
  if (!check("cuModuleGetFunction",
             session().driver->moduleGetFunction(
                 &function, static_cast<CUmodule>(module), name),
             &kernel))
    return nullptr;
  session().kernelNames[function] = name;
  return function;
}

void *mgpuStreamCreate() { return session().stream; }

void mgpuStreamDestroy(void *) {}

void mgpuStreamSynchronize(void *) { cuda_host::synchronize(); }

void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t sharedBytes, void *stream,
                      void **params, void **extra, size_t paramsCount) {
  if (!ready())
    return;
  if (!function) {
    fail("a kernel of the model's GPU code was not found in its module");
    return;
  }
  if (gridX <= 0 || gridY <= 0 || gridZ <= 0)
    return; // an empty iteration space (e.g. no logit rows asked for)
  Session &s = session();
  static const std::string unknown = "?";
  auto named = s.kernelNames.find(function);
  s.lastKernel = named == s.kernelNames.end() ? &unknown : &named->second;
  if (cuda_host::tracing()) {
    // Each parameter's first 8 bytes (pointers, sizes): for debugging.
    std::fprintf(stderr, "bitnet cuda: %s grid (%ld,%ld,%ld) block (%ld,%ld,%ld)",
                 s.lastKernel->c_str(), long(gridX), long(gridY), long(gridZ),
                 long(blockX), long(blockY), long(blockZ));
    for (size_t i = 0; i < paramsCount && params; ++i) {
      uint64_t v = 0;
      std::memcpy(&v, params[i], 8);
      std::fprintf(stderr, " %llx", (unsigned long long)v);
    }
    std::fprintf(stderr, "\n");
  }
  check("cuLaunchKernel",
        s.driver->launchKernel(
            static_cast<CUfunction>(function), unsigned(gridX), unsigned(gridY),
            unsigned(gridZ), unsigned(blockX), unsigned(blockY),
            unsigned(blockZ), unsigned(sharedBytes),
            static_cast<CUstream>(stream), params, extra),
        s.lastKernel);
}

void *_mlir_memref_to_llvm_alloc(size_t bytes) {
  return cuda_host::allocate(bytes);
}

void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t bytes) {
  // Managed allocations are aligned to at least 256 bytes.
  if (alignment > 256) {
    fail("the model's GPU code asked for " + std::to_string(alignment) +
         "-byte alignment");
    return nullptr;
  }
  return cuda_host::allocate(bytes);
}

void _mlir_memref_to_llvm_free(void *pointer) {
  cuda_host::deallocate(pointer);
}

} // extern "C"
