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

} // namespace ternary

#endif // BITNET_SUPPORT_TERNARYPACKING_H
