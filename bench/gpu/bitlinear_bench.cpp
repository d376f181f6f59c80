//===- bitlinear_bench.cpp - Our generated GPU BitLinear kernels, measured -===//
//
// bitnet-gpu-bench LIBRARY.bnx [--json FILE] [--reps N] [--check-only]
//
// For every generated BitLinear kernel of a kernel library (bitnet-compile
// --target=cuda): random INT4- or INT8-range codes (or, for kernels with a
// quantizer prologue, f32 activations that the kernel quantizes) and
// ternary weights, one launch checked against a CPU reference
// (bit-identical: the integer sum is exact, the scaling and the quantizer
// are the same f32 expressions), then the time
// per launch: `calls` launches captured in one CUDA graph, each reading a
// different copy of the weights (>= 256 MiB cycled, so every call reads
// HBM, as a model's layers do), median of the graph's replays / calls.
// Beside it, in the same run, the library's `read_bytes` kernel streaming
// exactly the kernel's weight bytes the same way ("read floor") and over
// 2 GiB (the HBM read bandwidth). Prints a table; --json writes one record
// per measurement for bench/gpu/report.py.
//
// Links no CUDA library (the runtime's driver loader).
//
//===----------------------------------------------------------------------===//

#include "bitnet/Runtime/CudaDriver.h"
#include "bitnet/Support/TernaryPacking.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace bitnet_rt::cuda;

namespace {

const Driver *drv;

[[noreturn]] void die(const std::string &message) {
  std::fprintf(stderr, "bitnet-gpu-bench: error: %s\n", message.c_str());
  std::exit(1);
}

void check(CUresult r, const char *what) {
  if (r != CUDA_SUCCESS)
    die(drv->describe(what, r));
}

CUdeviceptr upload(const void *data, size_t bytes) {
  CUdeviceptr p = 0;
  check(drv->memAlloc(&p, bytes), "cuMemAlloc");
  if (data)
    check(drv->memcpyHtoD(p, data, bytes), "cuMemcpyHtoD");
  return p;
}

/// Launch `calls` kernels in one graph, call i with the parameter values
/// `argsFor(i)` (every parameter is 8 bytes: a device pointer or an i64);
/// median replay time / calls in microseconds.
template <typename ArgsFor>
double timeGraph(const GpuKernelLibrary &lib, const GpuKernelLibrary::Kernel &k,
                 int calls, int reps, ArgsFor argsFor,
                 const std::array<unsigned, 3> *grid = nullptr) {
  CUstream stream;
  check(drv->streamCreate(&stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
  std::string error;
  check(drv->streamBeginCapture(stream, CU_STREAM_CAPTURE_MODE_GLOBAL),
        "cuStreamBeginCapture");
  for (int i = 0; i < calls; ++i) {
    std::vector<uint64_t> values = argsFor(i);
    std::vector<void *> args;
    for (uint64_t &v : values)
      args.push_back(&v);
    if (!lib.launch(k, args.data(), stream, error, grid))
      die(error);
  }
  CUgraph graph;
  check(drv->streamEndCapture(stream, &graph), "cuStreamEndCapture");
  CUgraphExec exec;
  check(drv->graphInstantiate(&exec, graph, 0), "cuGraphInstantiate");
  CUevent start, stop;
  check(drv->eventCreate(&start, 0), "cuEventCreate");
  check(drv->eventCreate(&stop, 0), "cuEventCreate");
  for (int w = 0; w < 3; ++w)
    check(drv->graphLaunch(exec, stream), "cuGraphLaunch");
  std::vector<double> times;
  for (int r = 0; r < reps; ++r) {
    check(drv->eventRecord(start, stream), "cuEventRecord");
    check(drv->graphLaunch(exec, stream), "cuGraphLaunch");
    check(drv->eventRecord(stop, stream), "cuEventRecord");
    check(drv->eventSynchronize(stop), "cuEventSynchronize");
    float ms = 0;
    check(drv->eventElapsedTime(&ms, start, stop), "cuEventElapsedTime");
    times.push_back(ms * 1000.0 / calls);
  }
  drv->eventDestroy(start);
  drv->eventDestroy(stop);
  drv->graphExecDestroy(exec);
  drv->graphDestroy(graph);
  drv->streamDestroy(stream);
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

struct Options {
  std::string library, json;
  int reps = 30;
  /// Only the correctness launches (for compute-sanitizer).
  bool checkOnly = false;
};

} // namespace

int main(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--json" && i + 1 < argc)
      o.json = argv[++i];
    else if (a == "--check-only")
      o.checkOnly = true;
    else if (a == "--reps" && i + 1 < argc)
      o.reps = std::max(3, std::atoi(argv[++i]));
    else if (a.rfind("--", 0) == 0)
      die("unknown option '" + a + "'");
    else
      o.library = a;
  }
  if (o.library.empty())
    die("usage: bitnet-gpu-bench LIBRARY.bnx [--json FILE] [--reps N]");
  std::string error;
  GpuKernelLibrary lib;
  if (!lib.open(o.library, 0, error))
    die(error);
  drv = &lib.driver();
  FILE *json = nullptr;
  if (!o.json.empty() && !(json = std::fopen(o.json.c_str(), "w")))
    die("cannot write '" + o.json + "'");

  const GpuKernelLibrary::Kernel *reader = lib.find("read_bytes");
  std::printf("device: %s, %d SMs\n", lib.deviceName().c_str(),
              lib.multiprocessors());
  std::mt19937_64 rng(1234);
  // Stream n bytes of `buf` (n a multiple of 16) with the read kernel.
  std::array<unsigned, 3> readGrid{unsigned(lib.multiprocessors() * 8), 1, 1};
  CUdeviceptr sink = upload(nullptr, 64);

  // HBM read bandwidth: 2 GiB, streamed twice per graph.
  double hbmGBs = 0;
  if (reader && !o.checkOnly) {
    size_t bytes = size_t(2) << 30;
    CUdeviceptr big = upload(nullptr, bytes);
    check(drv->memsetD8(big, 0x5a, bytes), "cuMemsetD8");
    long long words = (long long)(bytes / 16);
    double us = timeGraph(
        lib, *reader, 2, o.reps,
        [&](int) { return std::vector<uint64_t>{big, uint64_t(words), sink}; },
        &readGrid);
    hbmGBs = bytes / (us * 1e3);
    std::printf("HBM read bandwidth (2 GiB streamed): %.0f GB/s\n", hbmGBs);
    if (json)
      std::fprintf(json, "{\"what\":\"hbm_read\",\"gbs\":%.1f}\n", hbmGBs);
    drv->memFree(big);
  }

  std::printf("%-28s %6s %6s %6s %10s %10s %9s %8s %7s\n", "kernel", "M", "N",
              "K", "ours_us", "floor_us", "GB/s", "%floor", "check");
  for (const GpuKernelLibrary::Kernel &k : lib.kernels()) {
    if (k.layer.size() != 3)
      continue;
    int64_t m = k.layer[0], n = k.layer[1], kk = k.layer[2];
    // A kernel with a quantizer prologue takes f32 activations (normal,
    // as a residual stream after RMSNorm) and quantizes them itself; the
    // reference quantizes them as bitnet.absmax_quant / absmean_quant do
    // with their default eps (1e-5, added) and multiplier (Q / d).
    // Otherwise: INT4 codes for kernels named *_int4, INT8 codes otherwise.
    bool fused = !k.prologue.empty();
    bool mean = k.prologue.rfind("absmean", 0) == 0;
    bool int4 = fused ? k.prologue.find("int4") != std::string::npos
                      : k.name.find("int4") != std::string::npos;
    int lo = int4 ? -8 : -128, hi = int4 ? 7 : 127;
    std::uniform_int_distribution<int> code(lo, hi), tern(-1, 1);
    std::uniform_real_distribution<float> scale(0.001f, 0.1f);
    std::normal_distribution<float> act(0.0f, 1.0f);
    std::vector<int8_t> x(m * kk), w(n * kk);
    std::vector<float> xf(fused ? m * kk : 0);
    std::vector<float> xs(m);
    if (fused) {
      for (auto &v : xf)
        v = act(rng);
      for (int64_t i = 0; i < m; ++i) {
        const float *row = xf.data() + i * kk;
        float stat = 0;
        if (mean) {
          double sum = 0;
          for (int64_t c = 0; c < kk; ++c)
            sum += double(std::fabs(row[c]));
          stat = float(sum / double(kk));
        } else {
          for (int64_t c = 0; c < kk; ++c)
            stat = std::max(stat, std::fabs(row[c]));
        }
        float numer = mean ? float(std::sqrt(double(hi))) : float(hi);
        float d = stat + 1e-5f, mult = numer / d;
        xs[i] = d / numer;
        for (int64_t c = 0; c < kk; ++c)
          x[i * kk + c] = int8_t(std::min(
              float(hi), std::max(float(lo), std::nearbyint(row[c] * mult))));
      }
    } else {
      for (auto &v : x)
        v = int8_t(code(rng));
      for (auto &v : xs)
        v = scale(rng);
    }
    // A column kernel's input: the fraction of zero codes its name gives
    // in per mille (`_cols800_`), at random positions.
    int64_t nonzeroCols = kk;
    if (k.columns) {
      size_t at = k.name.find("_cols");
      double zeros = std::atof(k.name.c_str() + at + 5) / 1000.0;
      std::uniform_real_distribution<double> coin(0.0, 1.0);
      nonzeroCols = 0;
      for (int64_t c = 0; c < kk; ++c) {
        if (coin(rng) < zeros)
          x[c] = 0;
        else if (x[c] == 0)
          x[c] = 1;
        nonzeroCols += x[c] != 0;
      }
    }
    for (auto &v : w)
      v = int8_t(tern(rng));
    // A GLU kernel's gate projection is `w`; the fraction of its rows whose
    // gate closes is its name's per mille (`_glu675_`): a closed row is
    // -sign(x) on its first 64 inputs (its dot product is negative), an open
    // one sign(x) there, the rest random. Its up projection is `wu`.
    std::vector<int8_t> wu(k.glu ? n * kk : 0);
    int64_t gluOpen = n;
    if (k.glu) {
      for (auto &v : wu)
        v = int8_t(tern(rng));
      size_t at = k.name.find("_glu");
      double closed = std::atof(k.name.c_str() + at + 4) / 1000.0;
      std::uniform_real_distribution<double> coin(0.0, 1.0);
      gluOpen = 0;
      for (int64_t j = 0; j < n; ++j) {
        bool open = coin(rng) >= closed;
        gluOpen += open;
        for (int64_t c = 0; c < kk; ++c) {
          int sx = x[c] > 0 ? 1 : x[c] < 0 ? -1 : 0;
          // Dominate the random part: the first 1024 inputs follow the sign.
          if (c < std::min<int64_t>(kk, 1024))
            w[j * kk + c] = int8_t(open ? sx : -sx);
        }
      }
    }
    float ws = scale(rng);
    int64_t rowBytes = ternary::packedRowBytes(ternary::PackedLayout::Bits2, kk);
    size_t wBytes = k.columns ? size_t(ternary::colBlocks(n) * kk *
                                       ternary::kColBlockBytes)
                              : size_t(n * rowBytes);
    std::vector<uint8_t> packed(wBytes);
    if (k.columns)
      ternary::packTernaryCols(w.data(), n, kk, packed.data());
    else
      ternary::packTernaryRows(ternary::PackedLayout::Bits2, w.data(), n, kk,
                               packed.data());

    std::vector<uint8_t> packedUp(k.glu ? wBytes : 0);
    if (k.glu)
      ternary::packTernaryRows(ternary::PackedLayout::Bits2, wu.data(), n, kk,
                               packedUp.data());
    float wsUp = scale(rng);
    // Copies of the weights: >= 256 MiB in all, at least 8.
    int copies = o.checkOnly ? 1 : int(std::max<size_t>(8, (size_t(256) << 20) / wBytes + 1));
    auto copiesOf = [&](const std::vector<uint8_t> &bytes) {
      std::vector<CUdeviceptr> dev(copies);
      dev[0] = upload(bytes.data(), wBytes);
      for (int c = 1; c < copies; ++c) {
        dev[c] = upload(nullptr, wBytes);
        check(drv->memcpyDtoD(dev[c], dev[0], wBytes), "cuMemcpyDtoD");
      }
      return dev;
    };
    std::vector<CUdeviceptr> wDev = copiesOf(packed);
    std::vector<CUdeviceptr> wuDev =
        k.glu ? copiesOf(packedUp) : std::vector<CUdeviceptr>();
    CUdeviceptr wsUpDev = k.glu ? upload(&wsUp, 4) : 0;
    // A gated kernel's gate: the fraction of closed gates (<= 0) its name
    // gives in per mille (`_gated675_`: the paper's 67.5%), at random rows.
    std::vector<float> gate(k.gated ? m * n : 0);
    int64_t openRows = n;
    if (k.gated) {
      size_t at = k.name.find("_gated");
      double closed = at == std::string::npos
                          ? 0.0
                          : std::atof(k.name.c_str() + at + 6) / 1000.0;
      std::uniform_real_distribution<double> coin(0.0, 1.0);
      openRows = 0;
      for (int64_t j = 0; j < n; ++j) {
        bool open = coin(rng) >= closed;
        openRows += open;
        for (int64_t i = 0; i < m; ++i)
          gate[i * n + j] = open ? 0.5f + float(coin(rng)) : -float(coin(rng));
      }
    }
    CUdeviceptr xDev = fused ? upload(xf.data(), 4 * xf.size())
                             : upload(x.data(), x.size()),
                xsDev = upload(xs.data(), 4 * m), wsDev = upload(&ws, 4),
                gateDev = k.gated ? upload(gate.data(), 4 * gate.size()) : 0,
                outDev = upload(nullptr, 4 * m * n);
    auto argsFor = [&](int i) {
      std::vector<uint64_t> a = fused ? std::vector<uint64_t>{xDev, wDev[i], wsDev}
                                      : std::vector<uint64_t>{xDev, xsDev, wDev[i], wsDev};
      if (k.gated)
        a.push_back(gateDev);
      if (k.glu) {
        a.push_back(wuDev[i]);
        a.push_back(wsUpDev);
      }
      a.push_back(outDev);
      return a;
    };

    // Check: poison the output, one launch, compare every element exactly.
    check(drv->memsetD8(outDev, 0xff, 4 * m * n), "cuMemsetD8");
    {
      std::vector<uint64_t> values = argsFor(copies - 1);
      std::vector<void *> args;
      for (uint64_t &v : values)
        args.push_back(&v);
      if (!lib.launch(k, args.data(), nullptr, error))
        die(error);
      check(drv->ctxSynchronize(), ("running " + k.name).c_str());
    }
    std::vector<float> got(m * n);
    check(drv->memcpyDtoH(got.data(), outDev, 4 * m * n), "cuMemcpyDtoH");
    // Every row up to M = 256; beyond, 4 rows of each 64-row tile (at
    // offsets that differ from tile to tile), so that the CPU reference
    // stays seconds at M = 2048.
    auto checked = [&](int64_t i) {
      return m <= 256 || i % 16 == (i / 64) % 16;
    };
    int64_t mismatches = 0;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n && checked(i); ++j) {
        int32_t acc = 0;
        for (int64_t c = 0; c < kk; ++c)
          acc += int32_t(x[i * kk + c]) * w[j * kk + c];
        float want = float(acc) * (xs[i] * ws);
        if (k.gated && !(gate[i * n + j] > 0.0f))
          want = 0.0f; // closed: the output is 0
        if (k.glu) {
          // relu2_glu(g, gated up), as the reference lowering computes it.
          float g = want, u = 0.0f;
          if (g > 0.0f) {
            int32_t au = 0;
            for (int64_t c = 0; c < kk; ++c)
              au += int32_t(x[i * kk + c]) * wu[j * kk + c];
            u = float(au) * (xs[i] * wsUp);
          }
          float r = std::max(g, 0.0f);
          want = u * (r * r);
        }
        float have = got[i * n + j];
        if (std::memcmp(&want, &have, 4) != 0 && mismatches++ < 3)
          std::fprintf(stderr, "%s: out[%lld,%lld] = %g, want %g\n",
                       k.name.c_str(), (long long)i, (long long)j, have, want);
      }

    if (o.checkOnly) {
      std::printf("%-28s %6lld %6lld %6lld %s\n", k.name.c_str(), (long long)m,
                  (long long)n, (long long)kk, mismatches ? "FAIL" : "exact");
      for (CUdeviceptr p : {wDev[0], xDev, xsDev, wsDev, outDev})
        drv->memFree(p);
      for (CUdeviceptr p : {gateDev, wsUpDev, k.glu ? wuDev[0] : CUdeviceptr(0)})
        if (p)
          drv->memFree(p);
      if (mismatches)
        return 1;
      continue;
    }
    double ours = timeGraph(lib, k, copies, o.reps, argsFor);
    double floor = 0;
    if (reader) {
      long long words = (long long)(wBytes / 16);
      floor = timeGraph(
          lib, *reader, copies, o.reps,
          [&](int i) {
            return std::vector<uint64_t>{wDev[i], uint64_t(words), sink};
          },
          &readGrid);
    }
    // Bytes the kernel must read: a gated kernel only its open rows' weights
    // (and the gate).
    if (k.glu) // the gate projection's rows, and the open up rows
      openRows = n + gluOpen;
    // A column kernel reads the columns of its non-zero inputs.
    double weightBytes =
        k.columns ? double(nonzeroCols) * double(wBytes) / double(kk)
                  : double(size_t(openRows) * size_t(rowBytes));
    double bytes = double(weightBytes +
                          (fused ? 4 * xf.size() : x.size()) + 4 * m * n +
                          4 * gate.size());
    double gbs = bytes / (ours * 1e3);
    std::printf("%-28s %6lld %6lld %6lld %10.2f %10.2f %9.0f %7.0f%% %7s\n",
                k.name.c_str(), (long long)m, (long long)n, (long long)kk, ours,
                floor, gbs, floor > 0 ? 100.0 * floor / ours : 0.0,
                mismatches ? "FAIL" : "exact");
    if (json)
      std::fprintf(json,
                   "{\"what\":\"bitlinear\",\"kernel\":\"%s\",\"m\":%lld,"
                   "\"n\":%lld,\"k\":%lld,\"act\":\"%s\",\"us\":%.3f,"
                   "\"floor_us\":%.3f,\"bytes\":%.0f,\"exact\":%s,"
                   "\"prologue\":\"%s\",\"open_rows\":%lld,"
                   "\"nonzero_cols\":%lld}\n",
                   k.name.c_str(), (long long)m, (long long)n, (long long)kk,
                   int4 ? "int4" : "int8", ours, floor, bytes,
                   mismatches ? "false" : "true", k.prologue.c_str(),
                   (long long)openRows, (long long)nonzeroCols);
    if (mismatches)
      std::fprintf(stderr, "%s: %lld of %lld outputs differ from the reference\n",
                   k.name.c_str(), (long long)mismatches, (long long)(m * n));
    for (CUdeviceptr p : wDev)
      drv->memFree(p);
    for (CUdeviceptr p : wuDev)
      drv->memFree(p);
    if (wsUpDev)
      drv->memFree(wsUpDev);
    for (CUdeviceptr p : {xDev, xsDev, wsDev, outDev})
      drv->memFree(p);
    if (gateDev)
      drv->memFree(gateDev);
    if (mismatches) {
      if (json)
        std::fclose(json);
      return 1;
    }
  }
  if (json)
    std::fclose(json);
  return 0;
}
