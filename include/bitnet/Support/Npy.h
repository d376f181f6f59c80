//===- Npy.h - Read and write NumPy .npy files ------------------*- C++ -*-===//
//
// The .npy format (version 1.0/2.0, little-endian, C order) for the dtypes
// the project exchanges with NumPy: float32 ('<f4'), int64 ('<i8') and int8
// ('|i1'); and .npz archives written by numpy.savez (stored, not
// compressed).
// Plain C++, shared by tools, tests and the runtime.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_SUPPORT_NPY_H
#define BITNET_SUPPORT_NPY_H

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace npy {

struct Array {
  std::string descr; // '<f4', '<i8' or '|i1'
  std::vector<int64_t> shape;
  std::vector<char> bytes; // row-major data

  int64_t size() const;
  const float *f32() const { return reinterpret_cast<const float *>(bytes.data()); }
  const int64_t *i64() const {
    return reinterpret_cast<const int64_t *>(bytes.data());
  }
  const int8_t *i8() const { return reinterpret_cast<const int8_t *>(bytes.data()); }
};

/// Reads `path`; on failure returns false and sets `error`.
bool read(const std::string &path, Array &out, std::string &error);

/// Parses one .npy image held in memory.
bool parse(const std::string &image, const std::string &name, Array &out,
           std::string &error);

/// Reads every array of an uncompressed .npz (numpy.savez), keyed by name
/// without the ".npy" suffix.
bool readNpz(const std::string &path, std::map<std::string, Array> &out,
             std::string &error);

/// Writes a float32 array to `path`; on failure returns false and sets
/// `error` (and leaves no partial file behind).
bool writeF32(const std::string &path, const std::vector<int64_t> &shape,
              const float *data, std::string &error);

} // namespace npy

#endif // BITNET_SUPPORT_NPY_H
