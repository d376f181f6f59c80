//===- TernaryPacking.cpp - Bit-exact ternary weight packing --------------===//

#include "bitnet/Support/TernaryPacking.h"

#include "llvm/Support/Endian.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace ternary {

/// w clamped to [-1, 1], branch-free so that loops of it vectorize.
static int clampTrit(int8_t w) { return (w > 0) - (w < 0); }

uint8_t packTernaryGroup(PackedLayout layout, const int8_t *w, int64_t count) {
  const int64_t n = weightsPerByte(layout);
  if (layout == PackedLayout::Bits2) {
    unsigned byte = 0;
    for (int64_t j = 0; j < n; ++j) {
      unsigned code = j < count ? unsigned(clampTrit(w[j]) + 1) : 1u;
      byte |= code << (2 * j);
    }
    return uint8_t(byte);
  }
  unsigned v = 0;
  for (int64_t j = 0; j < n; ++j)
    v = v * 3 + (j < count ? unsigned(clampTrit(w[j]) + 1) : 1u);
  // ceil(v * 256 / 243): digit j is then the top bits of (byte * 3^j) * 3.
  return uint8_t((v * 256 + 242) / 243);
}

int8_t unpackTernary(PackedLayout layout, uint8_t byte, int64_t j) {
  if (layout == PackedLayout::Bits2)
    return int8_t(int((byte >> (2 * j)) & 3) - 1);
  unsigned x = byte;
  for (int64_t i = 0; i < j; ++i)
    x = (x * 3) & 0xff;
  return int8_t(int((x * 3) >> 8) - 1);
}

void packTernaryRows(PackedLayout layout, const int8_t *weights, int64_t rows,
                     int64_t k, uint8_t *out) {
  const int64_t n = weightsPerByte(layout), bytes = packedRowBytes(layout, k);
  // 2-bit rows' whole bytes in two loops the compiler vectorizes: codes
  // into a row buffer, then four codes (one little-endian u32 holding them
  // at bits 0, 8, 16, 24) into a byte (spelled as c0 | c1 << 2 | ..., the
  // loop was not vectorized: 4x slower). A 2B4T model's two billion weights
  // took seconds of its compile one packTernaryGroup call per byte.
  const int64_t whole = layout == PackedLayout::Bits2 ? k / n : 0;
  std::vector<uint8_t> codes(whole * 4);
  for (int64_t r = 0; r < rows; ++r) {
    const int8_t *w = weights + r * k;
    uint8_t *o = out + r * bytes;
    for (int64_t i = 0; i < whole * 4; ++i)
      codes[i] = uint8_t(clampTrit(w[i]) + 1);
    for (int64_t b = 0; b < whole; ++b) {
      uint32_t x;
      std::memcpy(&x, codes.data() + 4 * b, 4);
      x = llvm::support::endian::byte_swap(x, llvm::endianness::little);
      o[b] = uint8_t(x | x >> 6 | x >> 12 | x >> 18);
    }
    for (int64_t b = whole; b < bytes; ++b)
      o[b] = packTernaryGroup(layout, w + b * n, std::min(n, k - b * n));
  }
}

void unpackTernaryRows(PackedLayout layout, const uint8_t *packed, int64_t rows,
                       int64_t k, int8_t *out) {
  const int64_t n = weightsPerByte(layout), bytes = packedRowBytes(layout, k);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < k; ++i)
      out[r * k + i] = unpackTernary(layout, packed[r * bytes + i / n], i % n);
}

void packTernaryCols(const int8_t *weights, int64_t n, int64_t k,
                     uint8_t *out) {
  int64_t bytes = colBlocks(n) * k * kColBlockBytes;
  for (int64_t i = 0; i < bytes; ++i)
    out[i] = 0x55; // code 1 (weight 0) in all four fields
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c) {
      uint8_t &byte = out[colByteOffset(n, r, c)];
      int shift = colBitShift(r);
      unsigned code = unsigned(clampTrit(weights[r * k + c]) + 1);
      byte = uint8_t((byte & ~(3u << shift)) | (code << shift));
    }
}

void unpackTernaryCols(const uint8_t *packed, int64_t n, int64_t k,
                       int8_t *out) {
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c)
      out[r * k + c] = int8_t(
          int((packed[colByteOffset(n, r, c)] >> colBitShift(r)) & 3) - 1);
}

} // namespace ternary
