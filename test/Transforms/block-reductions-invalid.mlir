// RUN: bitnet-opt %s --pass-pipeline="builtin.module(func.func(bitnet-block-reductions{block-size=48}))" -verify-diagnostics

// expected-error @below {{block-size must be a multiple of 32 in [32, 1024]}}
func.func @bad_block_size() {
  return
}
