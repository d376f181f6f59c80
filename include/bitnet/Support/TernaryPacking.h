//===- TernaryPacking.h - Bit-exact ternary weight packing ------*- C++ -*-===//
//
// The packed layouts of `!bitnet.packed_ternary`, in plain C++ with no MLIR
// dependency, so that the compiler's constant folder, the runtime and tests
// share one definition. The reference lowering implements the same layouts in
// IR, and unit tests hold the two to each other bit for bit.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_SUPPORT_TERNARYPACKING_H
#define BITNET_SUPPORT_TERNARYPACKING_H

#include <cstddef>
#include <cstdint>

namespace ternary {

enum class PackedLayout {
  /// 4 weights per byte; weight j of a group at bits [2j, 2j+2) as w + 1.
  Bits2,
  /// 5 weights per byte: ceil(v * 256 / 243), v the base-3 number of the
  /// digits w + 1 with the first weight most significant.
  Trits5,
};

/// Weights per packed byte.
constexpr int64_t weightsPerByte(PackedLayout layout) {
  return layout == PackedLayout::Bits2 ? 4 : 5;
}

/// Bytes a row of `k` weights packs into.
constexpr int64_t packedRowBytes(PackedLayout layout, int64_t k) {
  return (k + weightsPerByte(layout) - 1) / weightsPerByte(layout);
}

/// Packs one group of up to weightsPerByte(layout) weights (missing ones are 0;
/// values outside [-1, 1] are clamped) into a byte.
uint8_t packTernaryGroup(PackedLayout layout, const int8_t *w, int64_t count);

/// Weight `j` (0-based) of a packed byte.
int8_t unpackTernary(PackedLayout layout, uint8_t byte, int64_t j);

/// Packs `rows` rows of `k` weights (row-major) into rows * packedRowBytes
/// bytes.
void packTernaryRows(PackedLayout layout, const int8_t *weights, int64_t rows,
                     int64_t k, uint8_t *out);

/// Unpacks `rows` rows of `k` weights from their packed bytes.
void unpackTernaryRows(PackedLayout layout, const uint8_t *packed, int64_t rows,
                       int64_t k, int8_t *out);

/// The column-contiguous 2-bit layout (`bits2_cols`) of an [n, k] matrix,
/// for kernels that skip zero inputs: the weights of one input column are
/// contiguous, so a zero input skips them all. Output rows go in blocks of
/// 256; block b of column c is the 64 bytes at (c * colBlocks(n) + b) * 64,
/// and its byte j holds rows b * 256 + 64 p + j (p = 0..3) at bits
/// [2p, 2p+2) as w + 1. Rows past n are 0 (code 1). Storage:
/// [k, colBlocks(n), 64] bytes.
constexpr int64_t kColBlockRows = 256;
constexpr int64_t kColBlockBytes = 64;
constexpr int64_t colBlocks(int64_t n) {
  return (n + kColBlockRows - 1) / kColBlockRows;
}
/// Byte offset and bit shift of weight (row, col) in the bits2_cols layout.
constexpr int64_t colByteOffset(int64_t n, int64_t row, int64_t col) {
  return (col * colBlocks(n) + row / kColBlockRows) * kColBlockBytes +
         row % kColBlockBytes;
}
constexpr int colBitShift(int64_t row) {
  return int(2 * ((row % kColBlockRows) / kColBlockBytes));
}

/// Packs an [n, k] row-major matrix into colBlocks(n) * k * 64 bytes.
void packTernaryCols(const int8_t *weights, int64_t n, int64_t k, uint8_t *out);

/// Unpacks the bits2_cols bytes of an [n, k] matrix to row-major codes.
void unpackTernaryCols(const uint8_t *packed, int64_t n, int64_t k, int8_t *out);

} // namespace ternary

#endif // BITNET_SUPPORT_TERNARYPACKING_H
