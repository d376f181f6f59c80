//===- RandomWeights.h - Weights an artifact leaves for the runtime to fill -*- C++ -*-===//
//
// `bitnet-compile --random-weights` leaves the large weight tensors out of
// an artifact (a 2B-parameter model on a machine its weights cannot reach,
// for timing): the metadata lists each left-out range of the weight blob,
//
//   weights=random
//   weight_bytes=<the whole blob>
//   random_fill=<count>
//   random_fill.<i>=<offset>,<size>,<kind>  kind: ternary2 | f32 | f16 | bf16
//
// in increasing offset order, and the weights section holds the blob's
// other bytes in order. The runtime rebuilds the blob: ternary2 ranges get
// bytes whose four 2-bit codes are each 0, 1 or 2 (w + 1 for w in {-1, 0,
// 1}: valid packed ternary weights, and valid int8 codes), f32 ranges
// values uniform in [-0.05, 0.05), f16 and bf16 ranges such values rounded
// to the type (an LM head stored narrower). The same seed gives the same
// bytes.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_RUNTIME_RANDOMWEIGHTS_H
#define BITNET_RUNTIME_RANDOMWEIGHTS_H

#include "bitnet/Runtime/ArtifactFormat.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bitnet_rt {

struct RandomFill {
  enum class Kind { Ternary2, F32, F16, BF16 };
  uint64_t offset, size;
  Kind kind;
};

/// The artifact's fill plan. An artifact with all its weights: true with
/// `fills` empty and `total` = sectionBytes. False with `error` set if the
/// plan is malformed (out of order, overlapping, past the blob, or not
/// adding up with the section's size).
bool readRandomFills(const ArtifactFile &artifact, size_t sectionBytes,
                     std::vector<RandomFill> &fills, uint64_t &total,
                     std::string &error);

/// Writes the whole blob (`total` bytes) to `out`: the section's bytes in
/// order around the fills, each fill from `seed`. Uses the machine's cores.
void expandRandomWeights(const uint8_t *section, size_t sectionBytes,
                         const std::vector<RandomFill> &fills, uint64_t seed,
                         uint8_t *out, uint64_t total);

} // namespace bitnet_rt

#endif // BITNET_RUNTIME_RANDOMWEIGHTS_H
