// The "read floor" kernel of bench/gpu: streams n 16-byte vectors once, four
// independent loads in flight per thread (grid-stride), the least a kernel
// that must read those bytes can do. It stores only if the XOR of all it
// read equals a value that never occurs, so nothing is optimized away.
// bitnet-compile --target=cuda compiles it into the benchmark's library
// beside the generated BitLinear kernels.
module attributes {gpu.container_module} {
  gpu.module @bitnet_kernels {
    gpu.func @read_bytes(%p: !llvm.ptr<1>, %n: i64, %sink: !llvm.ptr<1>) kernel
        attributes {known_block_size = array<i32: 256, 1, 1>,
                    bitnet.grid_size = array<i32: 1056, 1, 1>} {
      %tid = gpu.thread_id x
      %bid = gpu.block_id x
      %bdim = gpu.block_dim x
      %gdim = gpu.grid_dim x
      %b = arith.muli %bid, %bdim : index
      %t = arith.addi %b, %tid : index
      %s = arith.muli %gdim, %bdim : index
      %start = arith.index_cast %t : index to i64
      %stride = arith.index_cast %s : index to i64
      %c4 = arith.constant 4 : i64
      %c1 = arith.constant 1 : i64
      %step = arith.muli %stride, %c4 : i64
      %last = arith.subi %n, %c1 : i64
      %zero = arith.constant dense<0> : vector<4xi32>
      %r = scf.for %i = %start to %n step %step iter_args(%acc = %zero) -> (vector<4xi32>) : i64 {
        %i1 = arith.addi %i, %stride : i64
        %i2 = arith.addi %i1, %stride : i64
        %i3 = arith.addi %i2, %stride : i64
        // Past the end: re-read the last vector (cached), never out of bounds.
        %j1 = arith.minsi %i1, %last : i64
        %j2 = arith.minsi %i2, %last : i64
        %j3 = arith.minsi %i3, %last : i64
        %p0 = llvm.getelementptr %p[%i] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, vector<4xi32>
        %p1 = llvm.getelementptr %p[%j1] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, vector<4xi32>
        %p2 = llvm.getelementptr %p[%j2] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, vector<4xi32>
        %p3 = llvm.getelementptr %p[%j3] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, vector<4xi32>
        %v0 = llvm.load %p0 {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xi32>
        %v1 = llvm.load %p1 {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xi32>
        %v2 = llvm.load %p2 {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xi32>
        %v3 = llvm.load %p3 {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xi32>
        %x0 = arith.xori %acc, %v0 : vector<4xi32>
        %x1 = arith.xori %v1, %v2 : vector<4xi32>
        %x2 = arith.xori %x0, %v3 : vector<4xi32>
        %x3 = arith.xori %x2, %x1 : vector<4xi32>
        scf.yield %x3 : vector<4xi32>
      }
      %e0 = vector.extract %r[0] : i32 from vector<4xi32>
      %e1 = vector.extract %r[1] : i32 from vector<4xi32>
      %e2 = vector.extract %r[2] : i32 from vector<4xi32>
      %e3 = vector.extract %r[3] : i32 from vector<4xi32>
      %a = arith.xori %e0, %e1 : i32
      %c = arith.xori %e2, %e3 : i32
      %all = arith.xori %a, %c : i32
      %magic = arith.constant 0x7eadbeef : i32
      %hit = arith.cmpi eq, %all, %magic : i32
      scf.if %hit {
        llvm.store %all, %sink : i32, !llvm.ptr<1>
      }
      gpu.return
    }
  }
}
