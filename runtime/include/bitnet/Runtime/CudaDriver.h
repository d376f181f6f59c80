//===- CudaDriver.h - The CUDA driver API, loaded at run time ---*- C++ -*-===//
//
// The runtime links no CUDA library: libcuda.so.1 is opened with dlopen when
// a GPU is first asked for, so the runtime builds and its CPU path runs on
// machines with no GPU or no driver. Only the driver entry points the
// runtime uses are declared here, with the driver API's own types and
// versioned symbol names.
//
// GpuKernelLibrary opens a kernel-library artifact (`bitnet-compile
// --target=cuda -o k.bnx`: meta + cubin, validated like every artifact),
// loads its cubin into the primary context of a device and launches its
// kernels with the launch shape the compiler recorded.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_RUNTIME_CUDADRIVER_H
#define BITNET_RUNTIME_CUDADRIVER_H

#include "bitnet/Runtime/ArtifactFormat.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bitnet_rt::cuda {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUevent = struct CUevent_st *;
using CUgraph = struct CUgraph_st *;
using CUgraphExec = struct CUgraphExec_st *;

constexpr CUresult CUDA_SUCCESS = 0;
constexpr int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
constexpr unsigned CU_STREAM_NON_BLOCKING = 1;
constexpr unsigned CU_MEM_ATTACH_GLOBAL = 1;
constexpr int CU_STREAM_CAPTURE_MODE_GLOBAL = 0;
constexpr unsigned CU_MEMHOSTALLOC_PORTABLE = 0x01;
constexpr unsigned CU_MEMHOSTALLOC_DEVICEMAP = 0x02;
/// CUmemorytype: a pointer of unified addressing (managed, device or pinned).
constexpr int CU_MEMORYTYPE_UNIFIED = 4;

/// cuda.h's CUDA_MEMCPY3D_v2, field for field: a strided copy of Depth
/// slices of Height rows of WidthInBytes bytes.
struct CudaMemcpy3D {
  size_t srcXInBytes, srcY, srcZ, srcLOD;
  int srcMemoryType;
  const void *srcHost;
  CUdeviceptr srcDevice;
  void *srcArray, *reserved0;
  size_t srcPitch, srcHeight;
  size_t dstXInBytes, dstY, dstZ, dstLOD;
  int dstMemoryType;
  void *dstHost;
  CUdeviceptr dstDevice;
  void *dstArray, *reserved1;
  size_t dstPitch, dstHeight;
  size_t WidthInBytes, Height, Depth;
};

/// cuda.h's CUlaunchAttribute (an id and a 64-byte value union) and
/// CUlaunchConfig, field for field, for cuLaunchKernelEx.
constexpr int CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION = 6;
struct CudaLaunchAttribute {
  int id;
  char pad[4];
  union {
    char bytes[64];
    int programmaticStreamSerializationAllowed;
    void *alignment;
  } value;
};
static_assert(sizeof(CudaLaunchAttribute) == 72, "cuda.h's layout");
struct CudaLaunchConfig {
  unsigned gridDimX, gridDimY, gridDimZ;
  unsigned blockDimX, blockDimY, blockDimZ;
  unsigned sharedMemBytes;
  CUstream hStream;
  CudaLaunchAttribute *attrs;
  unsigned numAttrs;
};

/// The driver entry points, resolved from libcuda.so.1.
struct Driver {
  CUresult (*init)(unsigned);
  CUresult (*deviceGet)(CUdevice *, int);
  CUresult (*deviceGetCount)(int *);
  CUresult (*deviceGetName)(char *, int, CUdevice);
  CUresult (*deviceGetAttribute)(int *, int, CUdevice);
  CUresult (*primaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*primaryCtxRelease)(CUdevice);
  CUresult (*ctxSetCurrent)(CUcontext);
  CUresult (*ctxSynchronize)();
  CUresult (*moduleLoadData)(CUmodule *, const void *);
  CUresult (*moduleUnload)(CUmodule);
  CUresult (*moduleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*launchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, unsigned, CUstream, void **,
                           void **);
  CUresult (*launchKernelEx)(const CudaLaunchConfig *, CUfunction, void **,
                             void **);
  CUresult (*memAlloc)(CUdeviceptr *, size_t);
  CUresult (*memAllocManaged)(CUdeviceptr *, size_t, unsigned);
  CUresult (*streamSynchronize)(CUstream);
  CUresult (*memFree)(CUdeviceptr);
  CUresult (*memcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*memcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream);
  CUresult (*memcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*memcpyDtoD)(CUdeviceptr, CUdeviceptr, size_t);
  CUresult (*memsetD8)(CUdeviceptr, unsigned char, size_t);
  CUresult (*memcpy3DAsync)(const CudaMemcpy3D *, CUstream);
  CUresult (*memHostAlloc)(void **, size_t, unsigned);
  CUresult (*memFreeHost)(void *);
  CUresult (*streamCreate)(CUstream *, unsigned);
  CUresult (*streamDestroy)(CUstream);
  CUresult (*streamBeginCapture)(CUstream, int);
  CUresult (*streamEndCapture)(CUstream, CUgraph *);
  CUresult (*graphInstantiate)(CUgraphExec *, CUgraph, unsigned long long);
  CUresult (*graphLaunch)(CUgraphExec, CUstream);
  CUresult (*graphDestroy)(CUgraph);
  CUresult (*graphExecDestroy)(CUgraphExec);
  CUresult (*eventCreate)(CUevent *, unsigned);
  CUresult (*eventDestroy)(CUevent);
  CUresult (*eventRecord)(CUevent, CUstream);
  CUresult (*eventSynchronize)(CUevent);
  CUresult (*eventElapsedTime)(float *, CUevent, CUevent);
  CUresult (*getErrorString)(CUresult, const char **);

  /// The driver, loaded and initialized once per process; nullptr with
  /// `error` set when this machine has no usable driver ("no CUDA driver
  /// (libcuda.so.1) on this machine: ...") or no device.
  static const Driver *get(std::string &error);

  /// `what` and the driver's name for `result`, for error messages.
  std::string describe(const char *what, CUresult result) const;
};

/// A device's primary context with one kernel library loaded.
class GpuKernelLibrary {
public:
  struct Kernel {
    std::string name;
    CUfunction function = nullptr;
    std::array<unsigned, 3> grid{1, 1, 1}, block{1, 1, 1};
    /// M, N, K of a generated BitLinear kernel; empty otherwise.
    std::vector<int64_t> layer;
    /// Its quantizer prologue ("absmax_int8", "absmean_int4"): it takes f32
    /// activations (x, weight, weight_scale, out). Empty: codes and their
    /// scales (x, x_scale, weight, weight_scale, out).
    std::string prologue;
    /// A gated kernel (gate-first sparsity): it takes the gate [M, N] f32
    /// before its output and computes only outputs whose gate is > 0.
    bool gated = false;
    /// A gate-first ReLU2-GLU kernel: x, x_scale, the gate projection's
    /// weight and scale, the up projection's, out = relu2_glu(gate, up).
    bool glu = false;
    /// A column kernel: its weights are in the bits2_cols layout and it
    /// reads only the columns of non-zero inputs (M = 1).
    bool columns = false;
  };

  GpuKernelLibrary() = default;
  GpuKernelLibrary(const GpuKernelLibrary &) = delete;
  GpuKernelLibrary &operator=(const GpuKernelLibrary &) = delete;
  ~GpuKernelLibrary();

  /// Validates the artifact at `path` (a `format=bitnet-gpu-kernels`
  /// library), checks the device's compute capability against the arch it
  /// was compiled for, loads the code and resolves every kernel. False with
  /// a message naming the file and what is wrong.
  bool open(const std::string &path, int device, std::string &error);

  const Driver &driver() const { return *drv; }
  const std::vector<Kernel> &kernels() const { return kernelList; }
  const Kernel *find(const std::string &name) const;
  std::string deviceName() const { return name; }
  int multiprocessors() const { return smCount; }

  /// Launches `kernel` with its recorded grid and block (or `grid` when
  /// given) on `stream`. `args` as cuLaunchKernel takes them.
  bool launch(const Kernel &kernel, void **args, CUstream stream,
              std::string &error,
              const std::array<unsigned, 3> *grid = nullptr) const;

private:
  const Driver *drv = nullptr;
  ArtifactFile file;
  CUdevice dev = 0;
  CUcontext context = nullptr;
  CUmodule module = nullptr;
  std::vector<Kernel> kernelList;
  std::string name;
  int smCount = 0;
};

/// Checks that code compiled for `arch` (sm_90a, sm_80, ...) runs on
/// `device`: a cubin runs only on its own major version at or above its
/// minor, an `a` (arch-specific) cubin only on exactly its chip. Sets
/// `name` to the device's name; false with `error` set otherwise.
bool checkArch(const Driver &driver, CUdevice device, const std::string &arch,
               std::string &name, std::string &error);

/// Parses "a,b,c" into integers; false if malformed.
bool parseIntList(const std::string &text, std::vector<int64_t> &out);

} // namespace bitnet_rt::cuda

#endif // BITNET_RUNTIME_CUDADRIVER_H
