//===- RandomWeights.cpp - Weights an artifact leaves for the runtime to fill ===//

#include "bitnet/Runtime/RandomWeights.h"
#include "bitnet/Support/HalfFloat.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <thread>

using namespace bitnet_rt;

namespace {

/// splitmix64: a counter-based generator, so every block of a fill is
/// computed independently (in parallel) and the same for a given seed.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/// The 81 bytes whose four 2-bit fields are each 0, 1 or 2.
struct TernaryBytes {
  uint8_t byte[81];
  TernaryBytes() {
    for (int i = 0; i < 81; ++i)
      byte[i] = uint8_t(i % 3 | (i / 3 % 3) << 2 | (i / 9 % 3) << 4 |
                        (i / 27 % 3) << 6);
  }
};

constexpr uint64_t kBlock = uint64_t(1) << 20;

/// 24 random bits as a value uniform in [-0.05, 0.05).
float uniform(uint32_t bits24) {
  return (float(bits24) * (1.0f / 16777216.0f) * 2.0f - 1.0f) * 0.05f;
}

/// Bytes [begin, end) of fill `index` (a multiple of 8 apart, except at
/// the end).
void fillBlock(const RandomFill &f, uint64_t index, uint64_t seed,
               uint64_t begin, uint64_t end, uint8_t *out) {
  static const TernaryBytes table;
  uint64_t key = mix(seed ^ mix(index + 1));
  for (uint64_t at = begin; at < end; at += 8) {
    uint64_t r = mix(key ^ (at / 8));
    uint8_t word[8];
    if (f.kind == RandomFill::Kind::Ternary2) {
      for (int b = 0; b < 8; ++b)
        word[b] = table.byte[(((r >> (8 * b)) & 0xff) * 81) >> 8];
    } else if (f.kind == RandomFill::Kind::F32) {
      for (int h = 0; h < 2; ++h) {
        float v = uniform(uint32_t(r >> (32 * h)) >> 8); // 24 random bits
        std::memcpy(word + 4 * h, &v, 4);
      }
    } else {
      for (int h = 0; h < 4; ++h) {
        float v = uniform(uint32_t(r >> (16 * h)) << 8 & 0xffffff); // 16 bits
        uint16_t bits = f.kind == RandomFill::Kind::F16
                            ? halffloat::floatToHalf(v)
                            : halffloat::floatToBF16(v);
        std::memcpy(word + 2 * h, &bits, 2);
      }
    }
    std::memcpy(out + at, word, size_t(std::min<uint64_t>(8, end - at)));
  }
}

} // namespace

bool bitnet_rt::readRandomFills(const ArtifactFile &artifact,
                                size_t sectionBytes,
                                std::vector<RandomFill> &fills, uint64_t &total,
                                std::string &error) {
  fills.clear();
  total = sectionBytes;
  if (artifact.get("weights") != "random")
    return true;
  int64_t bytes = 0, count = 0;
  if (!artifact.getInt("weight_bytes", bytes) || bytes < 0 ||
      bytes > (int64_t(1) << 40) || !artifact.getInt("random_fill", count) ||
      count < 0 || count > 1000000) {
    error = "metadata 'weight_bytes' or 'random_fill' of random weights is "
            "missing or invalid";
    return false;
  }
  uint64_t end = 0, left = 0;
  for (int64_t i = 0; i < count; ++i) {
    std::string key = "random_fill." + std::to_string(i);
    std::string v = artifact.get(key);
    unsigned long long offset = 0, size = 0;
    char kind[16] = {0};
    int n = 0;
    if (std::sscanf(v.c_str(), "%llu,%llu,%15[a-z0-9]%n", &offset, &size,
                    kind, &n) != 3 ||
        size_t(n) != v.size()) {
      error = "metadata '" + key + "' is not offset,size,kind";
      return false;
    }
    RandomFill f{offset, size, RandomFill::Kind::F32};
    if (std::strcmp(kind, "ternary2") == 0)
      f.kind = RandomFill::Kind::Ternary2;
    else if (std::strcmp(kind, "f16") == 0)
      f.kind = RandomFill::Kind::F16;
    else if (std::strcmp(kind, "bf16") == 0)
      f.kind = RandomFill::Kind::BF16;
    else if (std::strcmp(kind, "f32") != 0) {
      error = "metadata '" + key + "' has an unknown kind '" + kind + "'";
      return false;
    }
    if (f.offset < end || f.size > uint64_t(bytes) ||
        f.offset > uint64_t(bytes) - f.size) {
      error = "metadata '" + key + "' overlaps another fill or lies past "
              "the weights";
      return false;
    }
    end = f.offset + f.size;
    left += f.size;
    fills.push_back(f);
  }
  if (uint64_t(bytes) - left != sectionBytes) {
    error = "the weights section holds " + std::to_string(sectionBytes) +
            " bytes; the random-weight plan needs " +
            std::to_string(uint64_t(bytes) - left);
    return false;
  }
  total = uint64_t(bytes);
  return true;
}

void bitnet_rt::expandRandomWeights(const uint8_t *section,
                                    size_t sectionBytes,
                                    const std::vector<RandomFill> &fills,
                                    uint64_t seed, uint8_t *out,
                                    uint64_t total) {
  // The kept bytes, in order around the fills.
  uint64_t from = 0, at = 0;
  for (const RandomFill &f : fills) {
    std::memcpy(out + at, section + from, size_t(f.offset - at));
    from += f.offset - at;
    at = f.offset + f.size;
  }
  std::memcpy(out + at, section + from, size_t(total - at));
  (void)sectionBytes;
  // The fills, in 1 MiB blocks over the cores.
  struct Job {
    size_t fill;
    uint64_t begin, end;
  };
  std::vector<Job> jobs;
  for (size_t i = 0; i < fills.size(); ++i)
    for (uint64_t b = 0; b < fills[i].size; b += kBlock)
      jobs.push_back({i, b, std::min(fills[i].size, b + kBlock)});
  unsigned threads = std::max(1u, std::min<unsigned>(
                                      std::thread::hardware_concurrency(), 32));
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (size_t j = t; j < jobs.size(); j += threads) {
        const RandomFill &f = fills[jobs[j].fill];
        fillBlock(f, jobs[j].fill, seed, jobs[j].begin, jobs[j].end,
                  out + f.offset);
      }
    });
  for (std::thread &th : pool)
    th.join();
}
