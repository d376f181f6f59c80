// Calls the AOT-compiled @quantize_project of aot-object.mlir through its C
// interface and prints the codes, scales and outputs.
#include <stdint.h>
#include <stdio.h>

typedef struct { float *base, *data; int64_t offset, sizes[2], strides[2]; } MemRefF32x2;
typedef struct { float *base, *data; int64_t offset, sizes[1], strides[1]; } MemRefF32x1;
typedef struct { int8_t *base, *data; int64_t offset, sizes[2], strides[2]; } MemRefI8x2;

void _mlir_ciface_quantize_project(MemRefF32x2 *x, MemRefI8x2 *w, MemRefI8x2 *codes,
                                   MemRefF32x1 *scale, MemRefF32x2 *y);

int main(void) {
  float x[2][8] = {{0.5f, -1.0f, 2.0f, 0.0f, 1.5f, -0.25f, 0.75f, -2.0f},
                   {0, 0, 0, 0, 0, 0, 0, 0}};
  int8_t w[3][8] = {{1, 0, -1, 1, 0, 0, 1, -1},
                    {0, 1, 1, 0, -1, 1, 0, 0},
                    {-1, -1, 0, 0, 1, 1, 0, 1}};
  int8_t codes[2][8];
  float scale[2], y[2][3];
  MemRefF32x2 xm = {&x[0][0], &x[0][0], 0, {2, 8}, {8, 1}};
  MemRefI8x2 wm = {&w[0][0], &w[0][0], 0, {3, 8}, {8, 1}};
  MemRefI8x2 cm = {&codes[0][0], &codes[0][0], 0, {2, 8}, {8, 1}};
  MemRefF32x1 sm = {scale, scale, 0, {2}, {1}};
  MemRefF32x2 ym = {&y[0][0], &y[0][0], 0, {2, 3}, {3, 1}};
  _mlir_ciface_quantize_project(&xm, &wm, &cm, &sm, &ym);
  for (int r = 0; r < 2; ++r) {
    printf("codes");
    for (int i = 0; i < 8; ++i)
      printf(" %d", codes[r][i]);
    printf(" scale %.9g y", scale[r]);
    for (int n = 0; n < 3; ++n)
      printf(" %.9g", y[r][n]);
    printf("\n");
  }
  return 0;
}
