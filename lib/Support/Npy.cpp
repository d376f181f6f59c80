//===- Npy.cpp - Read and write NumPy .npy and .npz files -----------------===//

#include "bitnet/Support/Npy.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
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

static uint32_t le(const std::string &s, size_t at, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i)
    v = (v << 8) | uint8_t(s[at + i]);
  return v;
}

bool parse(const std::string &image, const std::string &name, Array &out,
           std::string &error) {
  if (image.size() < 10 || image.compare(0, 6, "\x93NUMPY") != 0)
    return fail(error, name, "not a .npy file");
  int version = uint8_t(image[6]);
  size_t lenBytes = version == 1 ? 2 : 4;
  size_t headerLen = le(image, 8, int(lenBytes));
  size_t dataAt = 8 + lenBytes + headerLen;
  if (dataAt > image.size())
    return fail(error, name, "truncated header");
  std::string header = image.substr(8 + lenBytes, headerLen);
  auto field = [&](const std::string &key) -> std::string {
    size_t k = header.find("'" + key + "'");
    if (k == std::string::npos)
      return "";
    return header.substr(header.find(':', k) + 1);
  };
  std::string descr = field("descr");
  size_t q1 = descr.find('\''), q2 = descr.find('\'', q1 + 1);
  out.descr = descr.substr(q1 + 1, q2 - q1 - 1);
  int elemBytes = out.descr == "<f4" ? 4 : out.descr == "<i8" ? 8
                  : out.descr == "|i1" ? 1 : 0;
  if (!elemBytes)
    return fail(error, name, "unsupported dtype " + out.descr);
  std::string order = field("fortran_order");
  if (order.find("False") == std::string::npos ||
      order.find("False") > order.find(','))
    return fail(error, name, "Fortran order is not supported");
  std::string shape = field("shape");
  shape = shape.substr(shape.find('(') + 1, shape.find(')') - shape.find('(') - 1);
  out.shape.clear();
  std::stringstream ss(shape);
  std::string item;
  while (std::getline(ss, item, ','))
    if (item.find_first_not_of(' ') != std::string::npos)
      out.shape.push_back(std::stoll(item));
  size_t bytes = size_t(out.size()) * elemBytes;
  if (dataAt + bytes > image.size())
    return fail(error, name, "truncated data");
  out.bytes.assign(image.begin() + dataAt, image.begin() + dataAt + bytes);
  return true;
}

static bool slurp(const std::string &path, std::string &out, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return fail(error, path, "cannot open");
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

bool read(const std::string &path, Array &out, std::string &error) {
  std::string image;
  return slurp(path, image, error) && parse(image, path, out, error);
}

bool readNpz(const std::string &path, std::map<std::string, Array> &out,
             std::string &error) {
  std::string zip;
  if (!slurp(path, zip, error))
    return false;
  // Walk the local file headers (PK\3\4); numpy.savez stores entries
  // uncompressed (method 0) with sizes in the header, or in a ZIP64 extra
  // field when they do not fit 32 bits (not needed for our files).
  size_t at = 0;
  while (at + 30 <= zip.size() && le(zip, at, 4) == 0x04034b50) {
    uint32_t method = le(zip, at + 8, 2), flags = le(zip, at + 6, 2);
    uint32_t size = le(zip, at + 18, 4);
    uint32_t nameLen = le(zip, at + 26, 2), extraLen = le(zip, at + 28, 2);
    if (method != 0)
      return fail(error, path, "compressed .npz entries are not supported "
                               "(write with numpy.savez)");
    if (flags & 0x8)
      return fail(error, path, "streamed .npz entries are not supported");
    std::string name = zip.substr(at + 30, nameLen);
    size_t dataAt = at + 30 + nameLen + extraLen;
    if (dataAt + size > zip.size())
      return fail(error, path, "truncated entry '" + name + "'");
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0)
      name.resize(name.size() - 4);
    if (!parse(zip.substr(dataAt, size), path + ":" + name, out[name], error))
      return false;
    at = dataAt + size;
  }
  if (out.empty())
    return fail(error, path, "not an .npz archive");
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
