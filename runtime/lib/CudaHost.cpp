//===- CudaHost.cpp - MLIR's GPU runtime entry points on the CUDA driver --===//

#include "CudaHost.h"
#include "HostStepMemory.h"

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
  /// Step arenas, one per key (a model's prefill, its decode): managed
  /// chunks, the one allocations come from and the bytes used in it. A
  /// decode step's arena is its own, so what a captured decode graph
  /// reads stays where it was.
  struct Chunk {
    CUdeviceptr base;
    size_t size;
  };
  struct Arena {
    std::vector<Chunk> chunks;
    size_t chunk = 0, used = 0;
  };
  std::unordered_map<const void *, Arena> arenas;
  Arena *arena = nullptr; // the running step's
  /// The running step's kernels may be launched with programmatic stream
  /// serialization (they wait for their predecessor themselves).
  bool dependentLaunch = false;
  /// Held while a step runs (Step).
  std::mutex stepMutex;
  /// BITNET_CUDA_PROFILE: events around each launch of the step, and the
  /// kernels' times summed by name (printed when the session ends).
  struct Profile {
    std::vector<std::pair<CUevent, CUevent>> events;
    std::vector<const std::string *> kernels;
    size_t used = 0;
    struct Total {
      double ms = 0;
      int64_t launches = 0;
    };
    std::unordered_map<std::string, Total> totals;
    int64_t steps = 0;
  } profile;
};

bool profiling() {
  static const bool on = std::getenv("BITNET_CUDA_PROFILE") != nullptr;
  return on;
}

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

/// Returns an arena's chunks to the driver (after the stream is idle).
static void freeChunks(const Session &s, const Session::Arena &arena) {
  for (const Session::Chunk &c : arena.chunks)
    s.driver->memFree(c.base);
}

/// The kernels' GPU time summed over the session, largest first.
static void printProfile(const Session &s) {
  const Session::Profile &p = s.profile;
  if (p.totals.empty())
    return;
  std::vector<std::pair<std::string, Session::Profile::Total>> rows(
      p.totals.begin(), p.totals.end());
  std::sort(rows.begin(), rows.end(), [](const auto &a, const auto &b) {
    return a.second.ms > b.second.ms;
  });
  double all = 0;
  int64_t launches = 0;
  for (const auto &r : rows) {
    all += r.second.ms;
    launches += r.second.launches;
  }
  std::fprintf(stderr,
               "bitnet cuda profile: %lld steps, %lld launches, %.3f ms of "
               "kernel time (each kernel timed alone by events)\n"
               "  %-40s %9s %11s %9s %6s\n",
               (long long)p.steps, (long long)launches, all, "kernel",
               "launches", "total ms", "avg us", "share");
  for (size_t i = 0; i < rows.size() && i < 30; ++i)
    std::fprintf(stderr, "  %-40s %9lld %11.3f %9.2f %5.1f%%\n",
                 rows[i].first.c_str(), (long long)rows[i].second.launches,
                 rows[i].second.ms,
                 1000.0 * rows[i].second.ms / double(rows[i].second.launches),
                 100.0 * rows[i].second.ms / all);
}

void cuda_host::release() {
  Session &s = session();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.users == 0 || --s.users > 0)
    return;
  s.driver->streamSynchronize(s.stream);
  printProfile(s);
  for (const auto &[key, arena] : s.arenas)
    freeChunks(s, arena);
  s.arenas.clear();
  s.arena = nullptr;
  for (auto &e : s.profile.events) {
    s.driver->eventDestroy(e.first);
    s.driver->eventDestroy(e.second);
  }
  s.profile = Session::Profile();
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

void *cuda_host::allocateDevice(size_t bytes) {
  if (!ready())
    return nullptr;
  CUdeviceptr p = 0;
  if (!check("cuMemAlloc", session().driver->memAlloc(&p, bytes ? bytes : 1)))
    return nullptr;
  return reinterpret_cast<void *>(p);
}

bool cuda_host::copyToDevice(void *destination, const void *source,
                             size_t bytes) {
  if (!ready())
    return false;
  return bytes == 0 ||
         check("cuMemcpyHtoD",
               session().driver->memcpyHtoD(
                   reinterpret_cast<CUdeviceptr>(destination), source, bytes));
}

bool cuda_host::copyToDeviceAsync(void *destination, const void *source,
                                  size_t bytes) {
  if (!ready())
    return false;
  Session &s = session();
  return bytes == 0 ||
         check("cuMemcpyHtoDAsync",
               s.driver->memcpyHtoDAsync(
                   reinterpret_cast<CUdeviceptr>(destination), source, bytes,
                   s.stream));
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

/// Bump allocation from the running step's arena (outside a step: the
/// arena of key nullptr).
static void *arenaAllocate(size_t bytes) {
  if (!ready())
    return nullptr;
  Session &s = session();
  if (!s.arena)
    s.arena = &s.arenas[nullptr];
  Session::Arena &a = *s.arena;
  bytes = (std::max<size_t>(bytes, 1) + kArenaAlignment - 1) /
          kArenaAlignment * kArenaAlignment;
  while (a.chunk < a.chunks.size() && a.used + bytes > a.chunks[a.chunk].size) {
    ++a.chunk;
    a.used = 0;
  }
  if (a.chunk == a.chunks.size()) {
    Session::Chunk c{0, std::max(bytes, kArenaChunkBytes)};
    if (!check("cuMemAllocManaged (step arena)",
               s.driver->memAllocManaged(&c.base, c.size, CU_MEM_ATTACH_GLOBAL)))
      return nullptr;
    a.chunks.push_back(c);
    a.used = 0;
  }
  void *p = reinterpret_cast<void *>(a.chunks[a.chunk].base + a.used);
  a.used += bytes;
  return p;
}

cuda_host::Step::Step(const void *arena, bool dependentLaunch) {
  static const bool allowed = [] {
    const char *v = std::getenv("BITNET_CUDA_DEPENDENT_LAUNCH");
    return !(v && std::string(v) == "0");
  }();
  Session &s = session();
  s.stepMutex.lock();
  s.arena = &s.arenas[arena];
  s.arena->chunk = s.arena->used = 0;
  s.dependentLaunch = dependentLaunch && allowed;
}

cuda_host::Step::~Step() {
  Session &s = session();
  s.arena = nullptr;
  s.dependentLaunch = false;
  s.stepMutex.unlock();
}

void cuda_host::releaseArena(const void *key) {
  Session &s = session();
  std::lock_guard<std::mutex> lock(s.stepMutex);
  auto it = s.arenas.find(key);
  if (it == s.arenas.end() || !s.driver)
    return;
  s.driver->streamSynchronize(s.stream);
  freeChunks(s, it->second);
  s.arenas.erase(it);
}

bool cuda_host::graphsAllowed() {
  static const bool allowed = [] {
    const char *g = std::getenv("BITNET_CUDA_GRAPHS");
    return !(g && std::string(g) == "0") && !profiling() &&
           !std::getenv("BITNET_CUDA_SYNC");
  }();
  return allowed;
}

bool cuda_host::beginCapture() {
  Session &s = session();
  return ready() &&
         check("cuStreamBeginCapture",
               s.driver->streamBeginCapture(s.stream,
                                            CU_STREAM_CAPTURE_MODE_GLOBAL));
}

void *cuda_host::endCapture() {
  Session &s = session();
  if (!s.driver || !s.context)
    return nullptr;
  // End the capture even after a failure inside it, or the stream stays
  // capturing.
  CUgraph graph = nullptr;
  CUresult r = s.driver->streamEndCapture(s.stream, &graph);
  if (!ready() || !check("cuStreamEndCapture", r)) {
    if (graph)
      s.driver->graphDestroy(graph);
    return nullptr;
  }
  CUgraphExec exec = nullptr;
  bool ok = check("cuGraphInstantiate",
                  s.driver->graphInstantiate(&exec, graph, 0));
  s.driver->graphDestroy(graph);
  return ok ? exec : nullptr;
}

bool cuda_host::launchGraph(void *exec) {
  Session &s = session();
  return ready() &&
         check("cuGraphLaunch", s.driver->graphLaunch(
                                    static_cast<CUgraphExec>(exec), s.stream));
}

void cuda_host::destroyGraph(void *exec) {
  Session &s = session();
  if (exec && s.driver && s.context)
    s.driver->graphExecDestroy(static_cast<CUgraphExec>(exec));
}

bool cuda_host::synchronize() {
  Session &s = session();
  if (!ready())
    return false;
  CUresult r = s.driver->streamSynchronize(s.stream);
  if (r == CUDA_SUCCESS) {
    Session::Profile &p = s.profile;
    for (size_t i = 0; i < p.used; ++i) {
      float ms = 0;
      if (s.driver->eventElapsedTime(&ms, p.events[i].first,
                                     p.events[i].second) == CUDA_SUCCESS) {
        Session::Profile::Total &t = p.totals[*p.kernels[i]];
        t.ms += ms;
        ++t.launches;
      }
    }
    if (p.used)
      ++p.steps;
    p.used = 0;
    return true;
  }
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
  Session::Profile &p = s.profile;
  bool timed = profiling();
  if (timed) {
    if (p.used == p.events.size()) {
      std::pair<CUevent, CUevent> e{nullptr, nullptr};
      if (!check("cuEventCreate", s.driver->eventCreate(&e.first, 0)) ||
          !check("cuEventCreate", s.driver->eventCreate(&e.second, 0)))
        return;
      p.events.push_back(e);
      p.kernels.push_back(nullptr);
    }
    p.kernels[p.used] = s.lastKernel;
    s.driver->eventRecord(p.events[p.used].first, static_cast<CUstream>(stream));
  }
  if (s.dependentLaunch) {
    CudaLaunchAttribute attribute{};
    attribute.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
    attribute.value.programmaticStreamSerializationAllowed = 1;
    CudaLaunchConfig config{unsigned(gridX),  unsigned(gridY),
                            unsigned(gridZ),  unsigned(blockX),
                            unsigned(blockY), unsigned(blockZ),
                            unsigned(sharedBytes), static_cast<CUstream>(stream),
                            &attribute,       1};
    check("cuLaunchKernelEx",
          s.driver->launchKernelEx(&config, static_cast<CUfunction>(function),
                                   params, extra),
          s.lastKernel);
  } else {
    check("cuLaunchKernel",
          s.driver->launchKernel(
              static_cast<CUfunction>(function), unsigned(gridX),
              unsigned(gridY), unsigned(gridZ), unsigned(blockX),
              unsigned(blockY), unsigned(blockZ), unsigned(sharedBytes),
              static_cast<CUstream>(stream), params, extra),
          s.lastKernel);
  }
  if (timed)
    s.driver->eventRecord(p.events[p.used++].second,
                          static_cast<CUstream>(stream));
}

// The compiled code's allocations: a CPU step's from the host buffer cache,
// a CUDA step's (and any outside a step) from the CUDA step arena.
void *_mlir_memref_to_llvm_alloc(size_t bytes) {
  if (host_memory::inStep())
    return host_memory::allocate(bytes, 16);
  return arenaAllocate(bytes);
}

void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t bytes) {
  if (host_memory::inStep())
    return host_memory::allocate(bytes, alignment);
  if (alignment > kArenaAlignment) {
    fail("the model's GPU code asked for " + std::to_string(alignment) +
         "-byte alignment");
    return nullptr;
  }
  return arenaAllocate(bytes);
}

// Arena memory is recycled when the next CUDA step begins.
void _mlir_memref_to_llvm_free(void *pointer) {
  if (host_memory::inStep())
    host_memory::release(pointer);
}

} // extern "C"
