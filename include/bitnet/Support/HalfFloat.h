//===- HalfFloat.h - f16 and bf16 words to and from float -------*- C++ -*-===//
//
// The 16-bit float formats the compiler stores (an f16 or bf16 LM head) and
// the runtime reads (the same heads, the f16 KV cache), in plain C++ so both
// sides round and widen the same way. Narrowing rounds to nearest, ties to
// even, as IEEE conversion and torch's .half() / .bfloat16() do; widening
// is exact.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_SUPPORT_HALFFLOAT_H
#define BITNET_SUPPORT_HALFFLOAT_H

#include <cmath>
#include <cstdint>
#include <cstring>

namespace halffloat {

inline uint32_t floatBits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

inline float bitsFloat(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

/// IEEE half to float, exactly.
inline float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h >> 15) << 31, exp = (h >> 10) & 31, man = h & 1023;
  if (exp == 31) // inf / NaN
    return bitsFloat(sign | 0x7f800000u | (man << 13));
  if (exp == 0) // zero / subnormal: man * 2^-24
    return bitsFloat(floatBits(float(man) * 5.9604644775390625e-8f) | sign);
  return bitsFloat(sign | ((exp + 112) << 23) | (man << 13));
}

/// Float to IEEE half, nearest even; past 65504 (from 65520 up) infinite,
/// NaN stays NaN.
inline uint16_t floatToHalf(float f) {
  uint32_t x = floatBits(f);
  uint16_t sign = uint16_t((x >> 16) & 0x8000);
  uint32_t mag = x & 0x7fffffffu;
  if (mag > 0x7f800000u) // NaN: quiet, keep the sign
    return sign | 0x7e00;
  if (mag >= 0x477ff000u) // >= 65520: rounds past the largest half
    return sign | 0x7c00;
  if (mag < 0x38800000u) // below 2^-14: a subnormal half, man = x * 2^24
    // The product is exact (a power of two) and nearbyint rounds it to
    // nearest even; 1024 comes out as the smallest normal's encoding.
    return sign | uint16_t(std::nearbyint(bitsFloat(mag) * 16777216.0f));
  // Rebias the exponent (127 -> 15), round 23 fraction bits to 10; a carry
  // out of the fraction steps the exponent, as it should.
  uint32_t m = mag - 0x38000000u;
  m += 0xfffu + ((m >> 13) & 1);
  return sign | uint16_t(m >> 13);
}

/// bfloat16 to float, exactly.
inline float bf16ToFloat(uint16_t h) { return bitsFloat(uint32_t(h) << 16); }

/// Float to bfloat16, nearest even (finite values past the largest bf16
/// become infinite), NaN stays NaN.
inline uint16_t floatToBF16(float f) {
  uint32_t x = floatBits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u)
    return uint16_t((x >> 16) | 0x40);
  return uint16_t((x + 0x7fffu + ((x >> 16) & 1)) >> 16);
}

} // namespace halffloat

#endif // BITNET_SUPPORT_HALFFLOAT_H
