// Calls @reduce of split-reductions-numerics.mlir through its C interface on
// fixed pseudo-random inputs (multiples of 1/64 in [-2, 2), many ties) and
// prints every result.
#include <stdint.h>
#include <stdio.h>

typedef struct { float *base, *data; int64_t offset, sizes[2], strides[2]; } MemRefF32x2;
typedef struct { float *base, *data; int64_t offset, sizes[1], strides[1]; } MemRefF32x1;
typedef struct { int32_t *base, *data; int64_t offset, sizes[2], strides[2]; } MemRefI32x2;

void _mlir_ciface_reduce(MemRefF32x2 *x, MemRefF32x2 *r, MemRefF32x2 *w,
                         MemRefF32x1 *max, MemRefF32x1 *sum, MemRefI32x2 *rank,
                         MemRefF32x1 *total);

static uint32_t state = 12345u;
static float next(void) {
  state = state * 1664525u + 1013904223u;
  return (float)((int)(state >> 25) - 64) / 32.0f; // [-2, 2) in steps of 1/32
}

static float x[20][257], r[521], w[2][1024], mx[20], sm[20], total[2];
static int32_t rank[521];

int main(void) {
  for (int i = 0; i < 20; ++i)
    for (int j = 0; j < 257; ++j)
      x[i][j] = next();
  for (int j = 0; j < 521; ++j)
    r[j] = next();
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 1024; ++j)
      w[i][j] = next();
  MemRefF32x2 xm = {&x[0][0], &x[0][0], 0, {20, 257}, {257, 1}};
  MemRefF32x2 rm = {r, r, 0, {1, 521}, {521, 1}};
  MemRefF32x2 wm = {&w[0][0], &w[0][0], 0, {2, 1024}, {1024, 1}};
  MemRefF32x1 maxm = {mx, mx, 0, {20}, {1}};
  MemRefF32x1 summ = {sm, sm, 0, {20}, {1}};
  MemRefI32x2 rankm = {rank, rank, 0, {1, 521}, {521, 1}};
  MemRefF32x1 totalm = {total, total, 0, {2}, {1}};
  _mlir_ciface_reduce(&xm, &rm, &wm, &maxm, &summ, &rankm, &totalm);
  printf("max");
  for (int i = 0; i < 20; ++i)
    printf(" %.9g", mx[i]);
  printf(" sum");
  for (int i = 0; i < 20; ++i)
    printf(" %.9g", sm[i]);
  printf(" ranks");
  for (int j = 0; j < 521; ++j)
    printf(" %d", rank[j]);
  printf(" total %.9g %.9g\n", total[0], total[1]);
  return 0;
}
