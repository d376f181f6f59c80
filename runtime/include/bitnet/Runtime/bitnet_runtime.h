/*===- bitnet_runtime.h - The C API of the bitnet model runtime ------------===*
 *
 * Loads a model artifact made by `bitnet-compile --target=x86_64 -o m.bnx`
 * (or `--target=cuda`: the model runs on the GPU; the CUDA driver is opened
 * at run time, so the runtime needs none to run CPU artifacts) and runs it:
 * prefill a prompt, decode one token at a time against the KV cache the
 * runtime owns. Plain C; the runtime links neither MLIR nor LLVM.
 * Every call that can fail returns BITNET_OK or an error code, and
 * bitnet_last_error() says why. A model is not thread-safe: use one per
 * thread (the code inside may use several threads).
 *
 *===----------------------------------------------------------------------===*/

#ifndef BITNET_RUNTIME_BITNET_RUNTIME_H
#define BITNET_RUNTIME_BITNET_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bitnet_model bitnet_model;

enum {
  BITNET_OK = 0,
  BITNET_ERROR_IO = 1,        /* cannot read / corrupt / wrong version */
  BITNET_ERROR_CPU = 2,       /* this CPU lacks features the code needs */
  BITNET_ERROR_ARGUMENT = 3,  /* token id out of range, null pointer, ... */
  BITNET_ERROR_CONTEXT = 4,   /* the tokens do not fit the context */
  BITNET_ERROR_DEVICE = 5,    /* a CUDA model, and no GPU that can run it */
};

typedef struct bitnet_model_info {
  const char *variant;   /* "bitnet-a4.8", "bitnet-b1.58", "llama", ... */
  const char *tokenizer; /* "bytes" or "none" */
  int64_t vocab, hidden, layers, heads, kv_heads, head_dim, ffn;
  int64_t max_context, prefill_chunk;
  int64_t kv_bits;       /* 16 (float cache), 4 or 3 */
  int64_t kv_bos_bits;   /* BOS heads' bits with kv_bits 3; 0 otherwise */
  int64_t kv_cache_bytes;
  int64_t weight_bytes;
  int64_t ternary_weights; /* BitLinear weights (for bits per weight) */
  const char *cpu;       /* CPU the code was compiled for */
  const char *cpu_features;
  const char *device;    /* "cpu", or the GPU a CUDA artifact runs on */
  const char *gpu_arch;  /* the GPU code's arch (sm_90a, ...); "" on a CPU */
  int random_weights;    /* 1: compiled with --random-weights, the runtime
                            filled the weights with seeded random values
                            (timing only: outputs mean nothing) */
  int64_t prefill_wide_chunk; /* tokens of the wide prefill step prompts
                                 take while 3/4 of it is left; 0: none */
} bitnet_model_info;

typedef struct bitnet_stats {
  int64_t prefill_tokens, decode_tokens;
  double prefill_seconds, decode_seconds;
  int64_t position; /* tokens in the cache */
  /* Prefill steps of each size (a 1-token rest runs the decode step and
   * counts as a prefill step). */
  int64_t prefill_steps, prefill_wide_steps;
} bitnet_stats;

/* One row of the sparsity table: the input of a group of projections that
 * share an activation quantizer (e.g. "q_proj,k_proj,v_proj"). */
typedef struct bitnet_sparsity_row {
  const char *projections;
  const char *scheme;       /* "int4_absmean", "int8_absmax", ... */
  int64_t sites;            /* quantizers (one per layer) in the row */
  double input_sparsity;    /* zero codes / codes, over the run */
  int64_t weight_params;    /* parameters of the projections in the row */
  double active_params;     /* weight_params * (1 - sparsity) */
} bitnet_sparsity_row;

/* Opens and validates an artifact; checks this CPU. *out is NULL on
 * failure, and `error` (if not NULL) receives the message. */
int bitnet_create(const char *path, bitnet_model **out, char *error,
                  size_t error_size);
void bitnet_free(bitnet_model *model);
const char *bitnet_last_error(const bitnet_model *model);
int bitnet_info(const bitnet_model *model, bitnet_model_info *info);

/* Appends `n` tokens at the current position. `logits` receives n * vocab
 * floats (every position) if `all_rows`, else the last position's vocab
 * floats; it may be NULL. */
int bitnet_prefill(bitnet_model *model, const int32_t *ids, int64_t n,
                   float *logits, int all_rows);
/* Appends one token; `logits` (vocab floats, may be NULL) receives its
 * next-token logits. */
int bitnet_decode(bitnet_model *model, int32_t id, float *logits);
/* Empties the KV cache (position 0), keeps the statistics. */
void bitnet_reset(bitnet_model *model);
int bitnet_stats_get(const bitnet_model *model, bitnet_stats *stats);
/* Rows of the sparsity table measured so far; returns the row count. */
int64_t bitnet_sparsity(const bitnet_model *model, bitnet_sparsity_row *rows,
                        int64_t max_rows);

#ifdef __cplusplus
}
#endif

#endif /* BITNET_RUNTIME_BITNET_RUNTIME_H */
