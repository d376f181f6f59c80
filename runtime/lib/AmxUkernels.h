//===- AmxUkernels.h - The AMX tile kernel of the BitLinear GEMM -*- C++ -*-===//
//
// Internal to runtime/lib: what Ukernels.cpp dispatches prefill-sized
// BitLinear calls (takesAmx) to on CPUs with
// AMX-INT8 (Sapphire Rapids and later) whose kernel grants this process the
// tile state. Same contract and the same integers as the VNNI kernels.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_RUNTIME_LIB_AMXUKERNELS_H
#define BITNET_RUNTIME_LIB_AMXUKERNELS_H

#include "BitLinearRows.h"

#include <cstdint>

namespace bitnet_rt::detail {

/// Bytes of a tile as the kernels configure them: 16 rows of 64 bytes.
constexpr int64_t kAmxTileBytes = 1024;

/// Whether a call of `rows` activation rows, `count` weight rows and `kq`
/// packed bytes a row takes the tile kernel: one tile multiply covers 16
/// activation rows, so fewer leave most of it idle (decode, one row, streams
/// weights on VNNI at the DRAM's pace anyway), and small layers do not pay
/// for repacking the activations and configuring the tiles (toy models).
bool takesAmx(int64_t rows, int64_t count, int64_t kq);

/// Whether this process may use AMX-INT8 tiles: the CPU has amx-tile and
/// amx-int8 (and AVX-512 BW for the unpacking), the OS enables the tile
/// state, and Linux granted the permission asked for on the first call.
bool amxUsable();

/// Configures this thread's tiles for the kernels: tiles 0..7 of 16 rows x
/// 64 bytes (palette 1). Callers release them (_tile_release) when done.
void amxConfigureTiles();

/// The 2-bit BitLinear on AMX tiles: out[m, n] += sum_k x[m, k] w(n, k) for
/// m < rows over the weight rows n of [0, count) (with `gated`: its listed
/// rows, or every row with the gate deciding each output).
void amxBitLinear(const int8_t *x, int64_t rows, int64_t xStride,
                  const uint8_t *w, const GatedRows *gated, int64_t count,
                  int64_t kq, int64_t wStride, int32_t *out, int64_t outStride);

} // namespace bitnet_rt::detail

#endif // BITNET_RUNTIME_LIB_AMXUKERNELS_H
