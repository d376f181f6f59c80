// RUN: bitnet-opt %s --bitnet-dependent-launch -split-input-file -verify-diagnostics

// Declared block reads must be (argument, bytes) pairs.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    // expected-error @+1 {{bitnet.block_reads must hold (argument, bytes) pairs}}
    gpu.func @odd(%w: memref<8x128xi8>) kernel
        attributes {bitnet.grid_size = array<i32: 2, 1, 1>,
                    bitnet.block_reads = array<i64: 0>} {
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @kernels {
    // expected-error @+1 {{bitnet.block_reads names argument 3 of a kernel with 1}}
    gpu.func @past_end(%w: memref<8x128xi8>) kernel
        attributes {bitnet.grid_size = array<i32: 2, 1, 1>,
                    bitnet.block_reads = array<i64: 3, 512>} {
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @kernels {
    // expected-error @+1 {{bitnet.block_reads names argument 0, which is not a memref of static shape and identity layout}}
    gpu.func @dynamic(%w: memref<?x128xi8>) kernel
        attributes {bitnet.grid_size = array<i32: 2, 1, 1>,
                    bitnet.block_reads = array<i64: 0, 512>} {
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @kernels {
    // expected-error @+1 {{bitnet.block_reads: 500 bytes a block is not a positive multiple of 16 (at most 2^30)}}
    gpu.func @unaligned_size(%w: memref<8x128xi8>) kernel
        attributes {bitnet.grid_size = array<i32: 2, 1, 1>,
                    bitnet.block_reads = array<i64: 0, 500>} {
      gpu.return
    }
  }
}

// -----

// Three blocks of 512 bytes read past a 1024-byte weight.
module attributes {gpu.container_module} {
  gpu.module @kernels {
    // expected-error @+1 {{bitnet.block_reads: 3 blocks of 512 bytes do not fit argument 0 (1024 bytes; the grid is bitnet.grid_size)}}
    gpu.func @past_weight(%w: memref<8x128xi8>) kernel
        attributes {bitnet.grid_size = array<i32: 3, 1, 1>,
                    bitnet.block_reads = array<i64: 0, 512>} {
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @kernels {
    // expected-error @+1 {{bitnet.block_reads: 0 blocks of 512 bytes do not fit argument 0 (1024 bytes; the grid is bitnet.grid_size)}}
    gpu.func @no_grid(%w: memref<8x128xi8>) kernel
        attributes {bitnet.block_reads = array<i64: 0, 512>} {
      gpu.return
    }
  }
}
