//===- CudaHost.cpp - MLIR's GPU runtime entry points on the CUDA driver --===//

#include "CudaHost.h"

#include "bitnet/Runtime/CudaDriver.h"

#include <algorithm>
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
  /// The step arena: managed chunks, the one allocations come from and the
  /// bytes used in it.
  struct Chunk {
    CUdeviceptr base;
    size_t size;
  };
  std::vector<Chunk> chunks;
  size_t chunk = 0, used = 0;
  /// Held while a step runs (Step).
  std::mutex stepMutex;
};

/// The first chunk of the step arena; a larger request gets a chunk of its
/// own size. Managed pages cost nothing until touched.
constexpr size_t kArenaChunkBytes = size_t(64) << 20;
/// Arena allocations are aligned as cuMemAllocManaged's are.
constexpr size_t kArenaAlignment = 256;

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
  s.driver->streamSynchronize(s.stream);
  for (const Session::Chunk &c : s.chunks)
    s.driver->memFree(c.base);
  s.chunks.clear();
  s.chunk = s.used = 0;
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

bool cuda_host::clear(void *pointer, size_t bytes) {
  return ready() &&
         check("cuMemsetD8", session().driver->memsetD8(
                                 reinterpret_cast<CUdeviceptr>(pointer), 0, bytes));
}

void *cuda_host::allocateHost(size_t bytes) {
  if (!ready())
    return nullptr;
  void *p = nullptr;
  if (!check("cuMemHostAlloc",
             session().driver->memHostAlloc(
                 &p, bytes ? bytes : 1,
                 CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP)))
    return nullptr;
  return p;
}

void cuda_host::deallocateHost(void *pointer) {
  Session &s = session();
  if (pointer && s.driver && s.context)
    s.driver->memFreeHost(pointer);
}

/// Bump allocation from the step arena.
static void *arenaAllocate(size_t bytes) {
  if (!ready())
    return nullptr;
  Session &s = session();
  bytes = (std::max<size_t>(bytes, 1) + kArenaAlignment - 1) /
          kArenaAlignment * kArenaAlignment;
  while (s.chunk < s.chunks.size() && s.used + bytes > s.chunks[s.chunk].size) {
    ++s.chunk;
    s.used = 0;
  }
  if (s.chunk == s.chunks.size()) {
    Session::Chunk c{0, std::max(bytes, kArenaChunkBytes)};
    if (!check("cuMemAllocManaged (step arena)",
               s.driver->memAllocManaged(&c.base, c.size, CU_MEM_ATTACH_GLOBAL)))
      return nullptr;
    s.chunks.push_back(c);
    s.used = 0;
  }
  void *p = reinterpret_cast<void *>(s.chunks[s.chunk].base + s.used);
  s.used += bytes;
  return p;
}

cuda_host::Step::Step() {
  Session &s = session();
  s.stepMutex.lock();
  s.chunk = s.used = 0;
}

cuda_host::Step::~Step() { session().stepMutex.unlock(); }

size_t cuda_host::arenaBytes() {
  size_t total = 0;
  for (const Session::Chunk &c : session().chunks)
    total += c.size;
  return total;
}

bool cuda_host::synchronize() {
  Session &s = session();
  if (!ready())
    return false;
  CUresult r = s.driver->streamSynchronize(s.stream);
  if (r == CUDA_SUCCESS)
    return true;
  // Launches are asynchronous: the failure is in this kernel or before it.
  std::string where = (s.lastKernel ? *s.lastKernel : std::string("?")) +
                      ", the last launched; BITNET_CUDA_SYNC=1 names the "
                      "failing one";
  return check("cuStreamSynchronize", r, &where);
}

bool cuda_host::copyToHost(void *destination, const void *source,
                           size_t bytes) {
  if (!ready())
    return false;
  return bytes == 0 ||
         check("cuMemcpyDtoH", session().driver->memcpyDtoH(
                                   destination,
                                   reinterpret_cast<CUdeviceptr>(source), bytes));
}

bool cuda_host::copyStrided(const StridedSide &from, const StridedSide &to,
                            size_t width, size_t height, size_t depth) {
  if (!ready())
    return false;
  if (width == 0 || height == 0 || depth == 0)
    return true;
  CudaMemcpy3D c{};
  c.srcXInBytes = from.x;
  c.srcY = from.y;
  c.srcMemoryType = CU_MEMORYTYPE_UNIFIED;
  c.srcDevice = reinterpret_cast<CUdeviceptr>(from.base);
  c.srcPitch = from.pitch;
  c.srcHeight = from.rowsPerSlice;
  c.dstXInBytes = to.x;
  c.dstY = to.y;
  c.dstMemoryType = CU_MEMORYTYPE_UNIFIED;
  c.dstDevice = reinterpret_cast<CUdeviceptr>(to.base);
  c.dstPitch = to.pitch;
  c.dstHeight = to.rowsPerSlice;
  c.WidthInBytes = width;
  c.Height = height;
  c.Depth = depth;
  Session &s = session();
  return check("cuMemcpy3DAsync", s.driver->memcpy3DAsync(&c, s.stream));
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

// The code synchronizes after every launch; the step does once at its end
// (CudaHost.h). BITNET_CUDA_SYNC=1 keeps every synchronization, so a failure
// names its kernel.
void mgpuStreamSynchronize(void *) {
  static const bool each = std::getenv("BITNET_CUDA_SYNC") != nullptr;
  if (each)
    cuda_host::synchronize();
}

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

void *_mlir_memref_to_llvm_alloc(size_t bytes) { return arenaAllocate(bytes); }

void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t bytes) {
  if (alignment > kArenaAlignment) {
    fail("the model's GPU code asked for " + std::to_string(alignment) +
         "-byte alignment");
    return nullptr;
  }
  return arenaAllocate(bytes);
}

// Arena memory: recycled when the next step begins.
void _mlir_memref_to_llvm_free(void *) {}

} // extern "C"
