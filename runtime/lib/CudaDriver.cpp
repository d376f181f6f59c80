//===- CudaDriver.cpp - The CUDA driver API, loaded at run time ------------===//

#include "bitnet/Runtime/CudaDriver.h"

#include <dlfcn.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <mutex>

using namespace bitnet_rt;
using namespace bitnet_rt::cuda;

// CudaMemcpy3D mirrors cuda.h's CUDA_MEMCPY3D_v2 (checked against CUDA 13).
static_assert(sizeof(CudaMemcpy3D) == 200 &&
                  offsetof(CudaMemcpy3D, dstXInBytes) == 88 &&
                  offsetof(CudaMemcpy3D, WidthInBytes) == 176,
              "CudaMemcpy3D must have CUDA_MEMCPY3D_v2's layout");

namespace {

/// One driver entry point: its symbol in libcuda and the Driver member it
/// fills.
struct EntryPoint {
  const char *symbol;
  void *slot; // the address of a function-pointer member of Driver
};

template <typename Fn>
EntryPoint entry(const char *symbol, Fn &slot) {
  return {symbol, &slot};
}

bool loadDriver(Driver &d, std::string &error) {
  void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    error = std::string("no CUDA driver (libcuda.so.1) on this machine: ") +
            (why ? why : "dlopen failed");
    return false;
  }
  // The versioned names are the current ABI of each entry point.
  const EntryPoint entries[] = {
      entry("cuInit", d.init),
      entry("cuDeviceGet", d.deviceGet),
      entry("cuDeviceGetCount", d.deviceGetCount),
      entry("cuDeviceGetName", d.deviceGetName),
      entry("cuDeviceGetAttribute", d.deviceGetAttribute),
      entry("cuDevicePrimaryCtxRetain", d.primaryCtxRetain),
      entry("cuDevicePrimaryCtxRelease_v2", d.primaryCtxRelease),
      entry("cuCtxSetCurrent", d.ctxSetCurrent),
      entry("cuCtxSynchronize", d.ctxSynchronize),
      entry("cuModuleLoadData", d.moduleLoadData),
      entry("cuModuleUnload", d.moduleUnload),
      entry("cuModuleGetFunction", d.moduleGetFunction),
      entry("cuLaunchKernel", d.launchKernel),
      entry("cuLaunchKernelEx", d.launchKernelEx),
      entry("cuMemAlloc_v2", d.memAlloc),
      entry("cuMemAllocManaged", d.memAllocManaged),
      entry("cuStreamSynchronize", d.streamSynchronize),
      entry("cuMemFree_v2", d.memFree),
      entry("cuMemcpyHtoD_v2", d.memcpyHtoD),
      entry("cuMemcpyHtoDAsync_v2", d.memcpyHtoDAsync),
      entry("cuMemcpyDtoH_v2", d.memcpyDtoH),
      entry("cuMemcpyDtoD_v2", d.memcpyDtoD),
      entry("cuMemsetD8_v2", d.memsetD8),
      entry("cuMemcpy3DAsync_v2", d.memcpy3DAsync),
      entry("cuMemHostAlloc", d.memHostAlloc),
      entry("cuMemFreeHost", d.memFreeHost),
      entry("cuStreamCreate", d.streamCreate),
      entry("cuStreamDestroy_v2", d.streamDestroy),
      entry("cuStreamBeginCapture_v2", d.streamBeginCapture),
      entry("cuStreamEndCapture", d.streamEndCapture),
      entry("cuGraphInstantiateWithFlags", d.graphInstantiate),
      entry("cuGraphLaunch", d.graphLaunch),
      entry("cuGraphDestroy", d.graphDestroy),
      entry("cuGraphExecDestroy", d.graphExecDestroy),
      entry("cuEventCreate", d.eventCreate),
      entry("cuEventDestroy_v2", d.eventDestroy),
      entry("cuEventRecord", d.eventRecord),
      entry("cuEventSynchronize", d.eventSynchronize),
      entry("cuEventElapsedTime", d.eventElapsedTime),
      entry("cuGetErrorString", d.getErrorString),
  };
  for (const EntryPoint &e : entries) {
    void *symbol = dlsym(lib, e.symbol);
    if (!symbol) {
      error = std::string("the CUDA driver (libcuda.so.1) lacks ") + e.symbol +
              ": it is older than the runtime needs";
      return false;
    }
    // dlsym returns an object pointer; copy its bytes into the member.
    std::memcpy(e.slot, &symbol, sizeof(symbol));
  }
  if (CUresult r = d.init(0); r != CUDA_SUCCESS) {
    error = d.describe("cuInit", r) + " (no usable GPU?)";
    return false;
  }
  int count = 0;
  if (CUresult r = d.deviceGetCount(&count); r != CUDA_SUCCESS || count == 0) {
    error = "the CUDA driver sees no GPU";
    return false;
  }
  return true;
}

} // namespace

const Driver *Driver::get(std::string &error) {
  static Driver driver;
  static std::string loadError;
  static std::once_flag once;
  static bool loaded = false;
  std::call_once(once, [] { loaded = loadDriver(driver, loadError); });
  if (!loaded) {
    error = loadError;
    return nullptr;
  }
  return &driver;
}

std::string Driver::describe(const char *what, CUresult result) const {
  const char *text = nullptr;
  if (getErrorString)
    getErrorString(result, &text);
  return std::string(what) + " failed: " +
         (text ? text : "CUDA error " + std::to_string(result));
}

bool cuda::checkArch(const Driver &drv, CUdevice dev, const std::string &arch,
                     std::string &name, std::string &error) {
  int major = 0, minor = 0;
  drv.deviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                         dev);
  drv.deviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                         dev);
  char deviceName[256] = {0};
  drv.deviceGetName(deviceName, sizeof(deviceName) - 1, dev);
  name = deviceName;
  std::string have = "sm_" + std::to_string(major) + std::to_string(minor);
  std::string digits = arch.rfind("sm_", 0) == 0 ? arch.substr(3) : "";
  bool archSpecific = !digits.empty() && digits.back() == 'a';
  if (archSpecific)
    digits.pop_back();
  int want = digits.empty() ? -1 : std::atoi(digits.c_str());
  int got = major * 10 + minor;
  if (want < 0 || want / 10 != major || want > got ||
      (archSpecific && want != got)) {
    error = "compiled for " + arch + ", but " + name + " is " + have;
    return false;
  }
  return true;
}

bool cuda::parseIntList(const std::string &text, std::vector<int64_t> &out) {
  out.clear();
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos)
      end = text.size();
    std::string item = text.substr(start, end - start);
    if (item.empty())
      return false;
    char *stop = nullptr;
    long long v = std::strtoll(item.c_str(), &stop, 10);
    if (*stop != '\0')
      return false;
    out.push_back(v);
    start = end + 1;
  }
  return !out.empty();
}

GpuKernelLibrary::~GpuKernelLibrary() {
  if (module)
    drv->moduleUnload(module);
  if (context)
    drv->primaryCtxRelease(dev);
}

bool GpuKernelLibrary::open(const std::string &path, int device,
                            std::string &error) {
  if (!file.open(path, error))
    return false;
  auto bad = [&](const std::string &why) {
    error = "'" + path + "': " + why;
    return false;
  };
  if (file.get("format") != "bitnet-gpu-kernels" || file.get("target") != "cuda")
    return bad("not a CUDA kernel library (format=" + file.get("format") +
               ", target=" + file.get("target") + ")");
  if (file.get("binary") != "cubin")
    return bad("holds " + file.get("binary") + ", not a cubin");
  size_t codeSize = 0;
  const uint8_t *code = file.section("code", &codeSize);
  if (!code || codeSize == 0)
    return bad("has no code section");
  int64_t count = 0;
  if (!file.getInt("kernels", count) || count < 0 || count > 4096)
    return bad("bad kernel count");

  drv = Driver::get(error);
  if (!drv)
    return false;
  if (CUresult r = drv->deviceGet(&dev, device); r != CUDA_SUCCESS)
    return bad(drv->describe("cuDeviceGet", r));
  drv->deviceGetAttribute(&smCount, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
                          dev);
  std::string why;
  if (!checkArch(*drv, dev, file.get("gpu_arch"), name, why))
    return bad(why);

  if (CUresult r = drv->primaryCtxRetain(&context, dev); r != CUDA_SUCCESS) {
    context = nullptr;
    return bad(drv->describe("cuDevicePrimaryCtxRetain", r));
  }
  if (CUresult r = drv->ctxSetCurrent(context); r != CUDA_SUCCESS)
    return bad(drv->describe("cuCtxSetCurrent", r));
  // cuModuleLoadData reads an ELF image from an aligned copy we own.
  std::vector<uint64_t> image((codeSize + 7) / 8);
  std::copy(code, code + codeSize, reinterpret_cast<uint8_t *>(image.data()));
  if (CUresult r = drv->moduleLoadData(&module, image.data());
      r != CUDA_SUCCESS) {
    module = nullptr;
    return bad(drv->describe("cuModuleLoadData", r));
  }
  for (int64_t i = 0; i < count; ++i) {
    std::string p = "kernel." + std::to_string(i) + ".";
    Kernel k;
    k.name = file.get(p + "name");
    std::vector<int64_t> grid, block;
    if (k.name.empty() || !parseIntList(file.get(p + "grid"), grid) ||
        !parseIntList(file.get(p + "block"), block) || grid.size() != 3 ||
        block.size() != 3)
      return bad("kernel " + std::to_string(i) + " has a malformed record");
    for (int d = 0; d < 3; ++d) {
      if (grid[d] < 1 || grid[d] > (1ll << 31) || block[d] < 1 ||
          block[d] > 1024)
        return bad("kernel '" + k.name + "' has an invalid launch shape");
      k.grid[d] = unsigned(grid[d]);
      k.block[d] = unsigned(block[d]);
    }
    std::string layer = file.get(p + "layer");
    if (!layer.empty() && (!parseIntList(layer, k.layer) || k.layer.size() != 3))
      return bad("kernel '" + k.name + "' has a malformed layer shape");
    k.prologue = file.get(p + "prologue");
    if (!k.prologue.empty() && k.prologue.rfind("absmax_int", 0) != 0 &&
        k.prologue.rfind("absmean_int", 0) != 0)
      return bad("kernel '" + k.name + "' has an unknown prologue '" +
                 k.prologue + "'");
    std::string params = file.get(p + "params");
    k.gated = params.find(",gate,") != std::string::npos;
    k.glu = params.find(",weight_up,") != std::string::npos;
    k.columns = params.find(",weight_cols,") != std::string::npos;
    if (CUresult r = drv->moduleGetFunction(&k.function, module, k.name.c_str());
        r != CUDA_SUCCESS)
      return bad(drv->describe(("cuModuleGetFunction(" + k.name + ")").c_str(),
                               r));
    kernelList.push_back(k);
  }
  return true;
}

const GpuKernelLibrary::Kernel *
GpuKernelLibrary::find(const std::string &kernelName) const {
  for (const Kernel &k : kernelList)
    if (k.name == kernelName)
      return &k;
  return nullptr;
}

bool GpuKernelLibrary::launch(const Kernel &kernel, void **args,
                              CUstream stream, std::string &error,
                              const std::array<unsigned, 3> *grid) const {
  const std::array<unsigned, 3> &g = grid ? *grid : kernel.grid;
  CUresult r = drv->launchKernel(kernel.function, g[0], g[1], g[2],
                                 kernel.block[0], kernel.block[1],
                                 kernel.block[2], 0, stream, args, nullptr);
  if (r != CUDA_SUCCESS) {
    error = drv->describe(("cuLaunchKernel(" + kernel.name + ")").c_str(), r);
    return false;
  }
  return true;
}
