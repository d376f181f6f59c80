//===- BitLinearRows.h - Which weight rows a BitLinear tile computes -*- C++ -*-===//
//
// Internal to runtime/lib: the row kernels of every instruction set take
// their weight rows either as an affine range (dense, optionally masked by
// a gate) or as a list of open rows (gate-first sparsity's up projection).
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_RUNTIME_LIB_BITLINEARROWS_H
#define BITNET_RUNTIME_LIB_BITLINEARROWS_H

#include <cstdint>

namespace bitnet_rt::detail {

/// Rows n .. n + NB of a dense call (and, for a gated call with most rows
/// open, the gate deciding each output). The dense form keeps its
/// addresses affine, which the prefetch and loads need to run as fast as
/// they did before gating existed (measured: an index list costs the dense
/// M = 1 kernel 1.3-1.7x).
struct DenseRows {
  int64_t n;
  const float *gate = nullptr; // a gated call with most rows open
  int64_t gateStride = 0;
  /// Rows ahead whose bytes the tile prefetches (0: none), and the end of
  /// the rows that may be prefetched.
  int64_t ahead = 0, end = 0;
  int64_t row(int b) const { return n + b; }
  bool open(int64_t m, int64_t r) const {
    return !gate || gate[m * gateStride + r] > 0.0f;
  }
  /// Whether a tile of nb rows prefetches the rows `ahead` on, and their
  /// indices.
  bool prefetches(int64_t nb) const { return ahead && n + ahead + nb <= end; }
  int64_t aheadRow(int b) const { return n + ahead + b; }
};

/// The listed rows of a gated call (idx null: every row, gate per output).
struct GatedRows {
  const int64_t *idx;
  const float *gate;
  int64_t gateStride;
  /// Listed rows ahead whose bytes the tile prefetches (0: none), and how
  /// many listed rows there are from idx on.
  int64_t ahead = 0, left = 0;
  int64_t row(int b) const { return idx[b]; }
  bool open(int64_t m, int64_t n) const {
    return gate[m * gateStride + n] > 0.0f;
  }
  bool prefetches(int64_t nb) const { return ahead && ahead + nb <= left; }
  int64_t aheadRow(int b) const { return idx[ahead + b]; }
};

/// Packed bytes per activation plane are padded to a multiple of this (the
/// widest vector any row kernel reads); the padding holds zeros.
constexpr int64_t kPlanePad = 64;

/// Gated rows prefetched into L2 ahead of the tile being computed (8 / 16
/// / 32 measured alike on the VNNI kernel; 16 chosen).
constexpr int64_t kGatedLookahead = 16;

/// Gated rows ahead that the VNNI decode tile also prefetches into L1, a
/// line per 64-byte step (2B4T up projection, 1 thread, 57.7% closed:
/// 240-255 -> 176-190 us; 8 rows alike, 2 slower).
constexpr int64_t kGatedNear = 4;

} // namespace bitnet_rt::detail

#endif // BITNET_RUNTIME_LIB_BITLINEARROWS_H
