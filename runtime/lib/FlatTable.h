//===- FlatTable.h - A small open-addressing hash table ---------*- C++ -*-===//
//
// Internal to runtime/lib.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_RUNTIME_LIB_FLATTABLE_H
#define BITNET_RUNTIME_LIB_FLATTABLE_H

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace bitnet_rt::detail {

/// A hash table of nonzero 64-bit keys to 64-bit values: open addressing
/// with linear probing and backward-shift deletion (no tombstones), no
/// allocation once grown. For the step buffer cache (HostStepMemory.cpp),
/// which looks blocks up on every allocation and free of a step:
/// std::unordered_map allocated and freed a node for each, about a fifth
/// of a toy model's decode step (bitnet-run under perf).
class FlatTable {
public:
  /// The value of `key`, or nullptr.
  uint64_t *find(uint64_t key) {
    if (keys.empty())
      return nullptr;
    for (size_t i = slot(key);; i = (i + 1) & mask()) {
      if (keys[i] == key)
        return &values[i];
      if (keys[i] == 0)
        return nullptr;
    }
  }
  /// Sets `key`'s value (adding the key where it is missing).
  void assign(uint64_t key, uint64_t value) {
    if (2 * (count + 1) > keys.size())
      grow();
    size_t i = slot(key);
    while (keys[i] != 0 && keys[i] != key)
      i = (i + 1) & mask();
    if (keys[i] == 0)
      ++count;
    keys[i] = key;
    values[i] = value;
  }
  /// Removes `key`; its value, or nullopt where it was missing.
  std::optional<uint64_t> erase(uint64_t key) {
    if (keys.empty())
      return std::nullopt;
    size_t i = slot(key);
    while (keys[i] != key) {
      if (keys[i] == 0)
        return std::nullopt;
      i = (i + 1) & mask();
    }
    uint64_t value = values[i];
    // Shift back the entries after the hole that probed past it.
    for (size_t j = (i + 1) & mask(); keys[j] != 0; j = (j + 1) & mask()) {
      size_t home = slot(keys[j]);
      // Whether home lies cyclically in (i, j]: then the entry stays.
      bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (stays)
        continue;
      keys[i] = keys[j];
      values[i] = values[j];
      i = j;
    }
    keys[i] = 0;
    --count;
    return value;
  }

  size_t size() const { return count; }

private:
  size_t mask() const { return keys.size() - 1; }
  size_t slot(uint64_t key) const {
    // Fibonacci hashing: block addresses differ in their middle bits.
    return size_t((key * 0x9e3779b97f4a7c15ull) >> 32) & mask();
  }
  void grow() {
    std::vector<uint64_t> oldKeys = std::move(keys), oldValues = std::move(values);
    keys.assign(std::max<size_t>(64, 2 * oldKeys.size()), 0);
    values.assign(keys.size(), 0);
    count = 0;
    for (size_t i = 0; i < oldKeys.size(); ++i)
      if (oldKeys[i] != 0)
        assign(oldKeys[i], oldValues[i]);
  }
  std::vector<uint64_t> keys, values;
  size_t count = 0;
};

} // namespace bitnet_rt::detail

#endif // BITNET_RUNTIME_LIB_FLATTABLE_H
