//===- WrapSerialLinalgForGPU.cpp - No linalg op left on the host ---------===//
//
// A linalg op without a parallel loop lowers to host code; on the CUDA path
// it becomes a one-thread kernel instead. See the pass description in
// Passes.td.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETWRAPSERIALLINALGFORGPU
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

namespace {

struct BitNetWrapSerialLinalgForGPUPass
    : mlir::bitnet::impl::BitNetWrapSerialLinalgForGPUBase<
          BitNetWrapSerialLinalgForGPUPass> {
  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> serial;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (op.getNumParallelLoops() == 0 && op.hasPureBufferSemantics() &&
          !op->getParentOfType<scf::ParallelOp>())
        serial.push_back(op);
    });
    for (linalg::LinalgOp op : serial) {
      OpBuilder b(op);
      Location loc = op.getLoc();
      Value zero = arith::ConstantIndexOp::create(b, loc, 0);
      Value one = arith::ConstantIndexOp::create(b, loc, 1);
      auto loop = scf::ParallelOp::create(b, loc, ValueRange{zero},
                                          ValueRange{one}, ValueRange{one});
      op->moveBefore(loop.getBody()->getTerminator());
    }
  }
};

} // namespace
