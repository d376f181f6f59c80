//===- ArtifactFormat.h - The bitnet model artifact (.bnx) --------*- C++ -*-===//
//
// One file holds a compiled model: a 64-byte header, a section table, and
// the sections
//   meta     text, one `key=value` per line (config, CPU features, entries)
//   code     an ELF shared object with the prefill and decode entries
//   weights  the weight blob the entries read (page-aligned, memory-mapped)
// Every section has a 64-bit checksum; the header checksums the table. The
// reader checks magic, version, file size, every offset and size, overlap
// and checksums before anything is used. Plain C++: shared by the compiler
// (which writes) and the runtime (which reads); no MLIR, no LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_RUNTIME_ARTIFACTFORMAT_H
#define BITNET_RUNTIME_ARTIFACTFORMAT_H

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace bitnet_rt {

constexpr char kMagic[8] = {'B', 'I', 'T', 'N', 'E', 'T', 'A', 'F'};
// 2: the model entries take the logit rows (bitnet-select-logit-rows).
// 3: checksum64 runs four lanes.
constexpr uint32_t kFormatVersion = 3;
constexpr uint64_t kWeightAlignment = 4096;

struct FileHeader {
  char magic[8];
  uint32_t version;
  uint32_t sectionCount;
  uint64_t fileSize;
  uint64_t tableChecksum; // of the section table
  uint64_t reserved[4];
};
static_assert(sizeof(FileHeader) == 64, "header layout");

struct SectionEntry {
  char name[16]; // NUL-padded
  uint64_t offset;
  uint64_t size;
  uint64_t checksum;
  uint64_t alignment;
};
static_assert(sizeof(SectionEntry) == 48, "section entry layout");

/// A fast 64-bit checksum (four lanes of 8 bytes per step; catches corruption, not
/// tampering).
uint64_t checksum64(const void *data, size_t size);

/// Sections to write; `alignment` is a power of two.
struct SectionData {
  std::string name;
  const void *data;
  size_t size;
  uint64_t alignment = 16;
};

/// Writes the artifact to `path` through a temporary file renamed into
/// place, so a failure never leaves a partial file. False with `error` set.
bool writeArtifact(const std::string &path,
                   const std::vector<SectionData> &sections,
                   std::string &error);

/// A validated, memory-mapped artifact.
class ArtifactFile {
public:
  ArtifactFile() = default;
  ArtifactFile(const ArtifactFile &) = delete;
  ArtifactFile &operator=(const ArtifactFile &) = delete;
  ~ArtifactFile();

  /// Maps and validates `path`; false with a message naming the file and
  /// what is wrong.
  bool open(const std::string &path, std::string &error);

  /// The section's bytes, or nullptr (size 0) if absent.
  const uint8_t *section(const std::string &name, size_t *size) const;
  const std::map<std::string, std::string> &metadata() const { return meta; }
  /// A metadata value; `fallback` if absent.
  std::string get(const std::string &key, const std::string &fallback = "") const;
  /// An integer metadata value; false if absent or malformed.
  bool getInt(const std::string &key, int64_t &value) const;
  const std::string &path() const { return filePath; }

private:
  std::string filePath;
  void *base = nullptr;
  size_t length = 0;
  std::map<std::string, std::pair<uint64_t, uint64_t>> sections;
  std::map<std::string, std::string> meta;
};

/// Parses `key=value` lines; false with `error` for a malformed line.
bool parseMetadata(const std::string &text,
                   std::map<std::string, std::string> &out, std::string &error);

} // namespace bitnet_rt

#endif // BITNET_RUNTIME_ARTIFACTFORMAT_H
