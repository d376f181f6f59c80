//===- CpuFeatures.cpp - CPUID-based x86 feature detection ----------------===//

#include "bitnet/Runtime/CpuFeatures.h"

#include <cpuid.h>
#include <cstdint>

using namespace bitnet_rt;

namespace {
struct Bit {
  const char *name;
  unsigned leaf, subleaf;
  int reg; // 0 eax, 1 ebx, 2 ecx, 3 edx
  unsigned bit;
  int state; // 0: none, 1: AVX (ymm), 2: AVX-512 (zmm, k), 3: AMX tiles
};
const Bit kBits[] = {
    {"sse4.2", 1, 0, 2, 20, 0},     {"popcnt", 1, 0, 2, 23, 0},
    {"fma", 1, 0, 2, 12, 1},        {"f16c", 1, 0, 2, 29, 1},
    {"avx", 1, 0, 2, 28, 1},        {"bmi", 7, 0, 1, 3, 0},
    {"avx2", 7, 0, 1, 5, 1},        {"bmi2", 7, 0, 1, 8, 0},
    {"avx512f", 7, 0, 1, 16, 2},    {"avx512dq", 7, 0, 1, 17, 2},
    {"avx512cd", 7, 0, 1, 28, 2},   {"avx512bw", 7, 0, 1, 30, 2},
    {"avx512vl", 7, 0, 1, 31, 2},   {"avx512vbmi", 7, 0, 2, 1, 2},
    {"avx512vbmi2", 7, 0, 2, 6, 2}, {"gfni", 7, 0, 2, 8, 0},
    {"vpclmulqdq", 7, 0, 2, 10, 1}, {"avx512vnni", 7, 0, 2, 11, 2},
    {"avx512bitalg", 7, 0, 2, 12, 2}, {"avx512vpopcntdq", 7, 0, 2, 14, 2},
    {"amx-bf16", 7, 0, 3, 22, 3},   {"avx512fp16", 7, 0, 3, 23, 2},
    {"amx-tile", 7, 0, 3, 24, 3},   {"amx-int8", 7, 0, 3, 25, 3},
    {"avxvnni", 7, 1, 0, 4, 1},     {"avx512bf16", 7, 1, 0, 5, 2},
};

uint64_t xgetbv0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t(hi) << 32) | lo;
}
} // namespace

const std::vector<std::string> &bitnet_rt::checkableCpuFeatures() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const Bit &b : kBits)
      v.push_back(b.name);
    return v;
  }();
  return names;
}

std::set<std::string> bitnet_rt::hostCpuFeatures() {
  std::set<std::string> out;
  unsigned maxLeaf = __get_cpuid_max(0, nullptr);
  unsigned r1[4] = {0, 0, 0, 0};
  __cpuid_count(1, 0, r1[0], r1[1], r1[2], r1[3]);
  bool osxsave = (r1[2] >> 27) & 1;
  uint64_t xcr0 = osxsave ? xgetbv0() : 0;
  bool ymm = (xcr0 & 0x6) == 0x6, zmm = ymm && (xcr0 & 0xe0) == 0xe0,
       tiles = (xcr0 & 0x60000) == 0x60000;
  for (const Bit &b : kBits) {
    if (b.leaf > maxLeaf)
      continue;
    unsigned r[4] = {0, 0, 0, 0};
    __cpuid_count(b.leaf, b.subleaf, r[0], r[1], r[2], r[3]);
    if (!((r[b.reg] >> b.bit) & 1))
      continue;
    if ((b.state == 1 && !ymm) || (b.state == 2 && !zmm) ||
        (b.state == 3 && !tiles))
      continue;
    out.insert(b.name);
  }
  return out;
}

std::string bitnet_rt::missingCpuFeatures(const std::string &required,
                                          const std::set<std::string> &host) {
  std::string missing, unknown;
  size_t pos = 0;
  while (pos <= required.size()) {
    size_t end = required.find(',', pos);
    if (end == std::string::npos)
      end = required.size();
    std::string f = required.substr(pos, end - pos);
    pos = end + 1;
    if (f.empty())
      continue;
    bool known = false;
    for (const std::string &k : checkableCpuFeatures())
      known = known || k == f;
    if (!known)
      unknown += (unknown.empty() ? "" : ", ") + f;
    else if (!host.count(f))
      missing += (missing.empty() ? "" : ", ") + f;
  }
  std::string msg;
  if (!missing.empty())
    msg = "this CPU lacks " + missing;
  if (!unknown.empty())
    msg += (msg.empty() ? "" : "; ") + std::string("this runtime cannot check ") +
           unknown;
  return msg;
}
