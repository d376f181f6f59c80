//===- LowerUkernels.cpp - Tagged linalg.generic -> runtime kernel calls --===//
//
// After bufferization, a linalg.generic tagged `bitnet.ukernel = NAME` (the
// 2-bit packed BitLinear contraction, BitLinearToLinalg.cpp; float linear
// layers x W and x W^T, the ONNX importer's MatMul) becomes a call
// of the runtime's kernel `bitnet_ukernel_NAME` on unranked memrefs (MLIR's C
// interface: `_mlir_ciface_bitnet_ukernel_NAME(UnrankedMemRef *...)`), which
// picks AVX-512 VNNI or portable code on the machine it runs on and uses its
// threads. The kernel computes exactly what the generic does. Without this
// pass the generic becomes loops, which is the reference path.
//
//===----------------------------------------------------------------------===//

#include "bitnet/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"

namespace mlir::bitnet {
#define GEN_PASS_DEF_BITNETLOWERUKERNELS
#include "bitnet/Transforms/Passes.h.inc"
} // namespace mlir::bitnet

using namespace mlir;

namespace {

struct LowerUkernelsPass
    : public mlir::bitnet::impl::BitNetLowerUkernelsBase<LowerUkernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<linalg::GenericOp> tagged;
    module.walk([&](linalg::GenericOp op) {
      if (op->hasAttr("bitnet.ukernel"))
        tagged.push_back(op);
    });
    OpBuilder b(module.getContext());
    for (linalg::GenericOp op : tagged) {
      auto name = op->getAttrOfType<StringAttr>("bitnet.ukernel");
      if (!name || !llvm::is_contained({StringRef("bitlinear_i8_bits2"),
                                        StringRef("bitlinear_i8_bits2_gated"),
                                        StringRef("bitlinear_i8_bits2_cols"),
                                        StringRef("matmul_f32"),
                                        StringRef("matmul_f32_nt"),
                                        StringRef("matmul_f32_i8w_nt"),
                                        StringRef("matmul_i8_i4w_nt"),
                                        StringRef("matmul_f32_f16w_nt"),
                                        StringRef("matmul_f32_bf16w_nt"),
                                        StringRef("bmm_f32"),
                                        StringRef("topk_rank_f32"),
                                        StringRef("attn_scores_cached"),
                                        StringRef("attn_pv_cached"),
                                        StringRef("attn_scores_cached_f16"),
                                        StringRef("attn_pv_cached_f16"),
                                        StringRef("attn_scores_cached_q4"),
                                        StringRef("attn_pv_cached_q4"),
                                        StringRef("attn_scores_cached_q3"),
                                        StringRef("attn_pv_cached_q3")},
                                       name.getValue())) {
        op.emitError("unknown ukernel ") << op->getAttr("bitnet.ukernel");
        return signalPassFailure();
      }
      if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1) {
        op.emitError("ukernel generics must be bufferized, with 1 output");
        return signalPassFailure();
      }
      SmallVector<Value> operands(op.getDpsInputs());
      operands.push_back(op.getDpsInits()[0]);
      SmallVector<Type> types;
      b.setInsertionPoint(op);
      SmallVector<Value> unranked;
      for (Value v : operands) {
        auto type = cast<MemRefType>(v.getType());
        auto u = UnrankedMemRefType::get(type.getElementType(),
                                         type.getMemorySpace());
        unranked.push_back(memref::CastOp::create(b, op.getLoc(), u, v));
        types.push_back(u);
      }
      std::string callee = ("bitnet_ukernel_" + name.getValue()).str();
      auto fn = module.lookupSymbol<func::FuncOp>(callee);
      if (!fn) {
        OpBuilder mb(module.getBodyRegion());
        fn = func::FuncOp::create(mb, module.getLoc(), callee,
                                  mb.getFunctionType(types, {}));
        fn.setPrivate();
        fn->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                    mb.getUnitAttr());
      }
      func::CallOp::create(b, op.getLoc(), fn, unranked);
      op.erase();
    }
  }
};

} // namespace
