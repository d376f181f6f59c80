//===- Npy.cpp - Read and write NumPy .npy files --------------------------===//

#include "bitnet/Support/Npy.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <numeric>
#include <sstream>

namespace npy {

int64_t Array::size() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

static bool fail(std::string &error, const std::string &path,
                 const std::string &why) {
  error = "'" + path + "': " + why;
  return false;
}

bool read(const std::string &path, Array &out, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return fail(error, path, "cannot open");
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    return fail(error, path, "not a .npy file");
  uint32_t headerLen = 0;
  if (magic[6] == 1) {
    unsigned char len[2];
    in.read(reinterpret_cast<char *>(len), 2);
    headerLen = len[0] | (len[1] << 8);
  } else {
    unsigned char len[4];
    in.read(reinterpret_cast<char *>(len), 4);
    headerLen = len[0] | (len[1] << 8) | (len[2] << 16) | (uint32_t(len[3]) << 24);
  }
  std::string header(headerLen, '\0');
  if (!in.read(header.data(), headerLen))
    return fail(error, path, "truncated header");
  auto field = [&](const std::string &key) -> std::string {
    size_t k = header.find("'" + key + "'");
    if (k == std::string::npos)
      return "";
    size_t colon = header.find(':', k);
    return header.substr(colon + 1);
  };
  std::string descr = field("descr");
  size_t q1 = descr.find('\''), q2 = descr.find('\'', q1 + 1);
  out.descr = descr.substr(q1 + 1, q2 - q1 - 1);
  if (out.descr != "<f4" && out.descr != "<i8")
    return fail(error, path, "unsupported dtype " + out.descr);
  if (field("fortran_order").find("False") != 0 &&
      field("fortran_order").find(" False") != 0)
    return fail(error, path, "Fortran order is not supported");
  std::string shape = field("shape");
  shape = shape.substr(shape.find('(') + 1, shape.find(')') - shape.find('(') - 1);
  out.shape.clear();
  std::stringstream ss(shape);
  std::string item;
  while (std::getline(ss, item, ','))
    if (item.find_first_not_of(' ') != std::string::npos)
      out.shape.push_back(std::stoll(item));
  out.bytes.resize(size_t(out.size()) * 4 * (out.descr == "<i8" ? 2 : 1));
  if (!in.read(out.bytes.data(), std::streamsize(out.bytes.size())))
    return fail(error, path, "truncated data");
  return true;
}

bool writeF32(const std::string &path, const std::vector<int64_t> &shape,
              const float *data, std::string &error) {
  std::string dims;
  for (int64_t d : shape)
    dims += std::to_string(d) + ",";
  if (shape.size() > 1)
    dims.pop_back();
  std::string header =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Pad so that magic + length + header + '\n' is a multiple of 64.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  int64_t n = std::accumulate(shape.begin(), shape.end(), int64_t(1),
                              std::multiplies<int64_t>());
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    if (!out)
      return fail(error, path, "cannot open for writing");
    out.write("\x93NUMPY\x01\x00", 8);
    char len[2] = {char(header.size() & 0xff), char(header.size() >> 8)};
    out.write(len, 2);
    out.write(header.data(), std::streamsize(header.size()));
    out.write(reinterpret_cast<const char *>(data), std::streamsize(n * 4));
    if (!out.flush()) {
      std::remove(tmp.c_str());
      return fail(error, path, "write failed");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return fail(error, path, "cannot move the written file into place");
  }
  return true;
}

} // namespace npy
