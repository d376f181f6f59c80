//===- ImporterBitNetDomain.cpp - The exact ai.bitnet op set ---------------===//
//
// Exporters that want to be exact write BitNet layers with the ops of domain
// ai.bitnet (docs/ONNXCustomOps.md) instead of decomposed float math; each
// maps to one bitnet op. Attribute values are checked here so that a bad
// model gets a message naming the node, not an IR verifier error.
//
//===----------------------------------------------------------------------===//

#include "GraphImporter.h"

using namespace mlir;
using namespace mlir::bitnet;
using namespace mlir::bitnet::onnx_import;
using namespace mlir::bitnet::onnx_import::detail;
using llvm::StringRef;
using llvm::Twine;

llvm::Error GraphImporter::importBitNetOp() {
  StringRef op = node->op_type();
  auto stringAttr = [&](StringRef name, StringRef dflt) -> std::string {
    const onnx::AttributeProto *a = attr(name);
    return a ? a->s() : dflt.str();
  };
  SmallVector<Tensor *> ins;
  for (int i = 0; i < node->input_size(); ++i) {
    if (node->input(i).empty())
      continue;
    auto t = input(i);
    if (!t)
      return t.takeError();
    materialize(**t);
    ins.push_back(*t);
  }
  auto needInputs = [&](size_t n) -> llvm::Error {
    if (ins.size() < n)
      return nodeError("expects " + Twine(n) + " inputs, got " +
                       Twine(ins.size()));
    return llvm::Error::success();
  };
  auto needF32 = [&](Tensor *t, StringRef what) -> llvm::Error {
    if (!t->elementType().isF32() || t->rank() < 1)
      return nodeError(what + " must be a float32 tensor of rank >= 1");
    return llvm::Error::success();
  };

  // Quantizer attributes shared by the quantize ops.
  float eps = attrFloat("eps", 1e-5f);
  std::string epsMode = stringAttr("eps_mode", "add");
  std::string multForm = stringAttr("mult_form", "div");
  auto quantAttrs = [&]() -> llvm::Error {
    if (!(eps > 0.f) || !std::isfinite(eps))
      return nodeError("eps must be finite and > 0, got " + std::to_string(eps));
    if (epsMode != "add" && epsMode != "clamp")
      return nodeError("eps_mode must be 'add' or 'clamp', got '" + epsMode + "'");
    if (multForm != "div" && multForm != "recip_mul")
      return nodeError("mult_form must be 'div' or 'recip_mul', got '" +
                       multForm + "'");
    return llvm::Error::success();
  };
  auto epsAttr = b.getF32FloatAttr(eps);
  auto modeAttr = [&] {
    return EpsModeAttr::get(ctx, epsMode == "clamp" ? EpsMode::clamp
                                                    : EpsMode::add);
  };
  auto formAttr = [&] {
    return MultFormAttr::get(ctx, multForm == "recip_mul" ? MultForm::recip_mul
                                                          : MultForm::div);
  };
  auto i8Like = [&](Tensor *t) {
    return RankedTensorType::get(t->shape(), b.getI8Type());
  };
  auto perToken = [&](Tensor *t) {
    return RankedTensorType::get(t->shape().drop_back(), b.getF32Type());
  };
  auto set2 = [&](Value codes, Value scale) {
    setOutput(0, Tensor{cast<RankedTensorType>(codes.getType()), codes,
                        std::nullopt});
    setOutput(1, Tensor{cast<RankedTensorType>(scale.getType()), scale,
                        std::nullopt});
  };

  if (op == "AbsmaxQuant" || op == "AbsmeanQuant") {
    if (auto e = needInputs(1))
      return e;
    if (auto e = needF32(ins[0], "the input"))
      return e;
    if (auto e = quantAttrs())
      return e;
    int64_t bits = attrInt("bits", op == "AbsmaxQuant" ? 8 : 4);
    if (bits < 2 || bits > 8)
      return nodeError("bits must be in [2, 8], got " + Twine(bits));
    Value x = ins[0]->value;
    std::string scheme = "int" + std::to_string(bits) +
                         (op == "AbsmaxQuant" ? "_absmax" : "_absmean");
    ++stats.activationQuantizers[scheme];
    Value codes, scale;
    if (op == "AbsmaxQuant") {
      auto q = AbsmaxQuantOp::create(b, loc, i8Like(ins[0]), perToken(ins[0]), x,
                                     b.getI32IntegerAttr(bits), epsAttr,
                                     modeAttr(), formAttr());
      codes = q.getCodes();
      scale = q.getScale();
    } else {
      auto q = AbsmeanQuantOp::create(b, loc, i8Like(ins[0]), perToken(ins[0]),
                                      x, b.getI32IntegerAttr(bits), epsAttr,
                                      modeAttr(), formAttr());
      codes = q.getCodes();
      scale = q.getScale();
    }
    set2(codes, scale);
    stats.activationQuantizerNodes.push_back(nodeName);
    stats.activationQuantizerSchemes.push_back(scheme);
    activationCodes.push_back(codes);
    activationCodeSources.push_back(codes);
    return llvm::Error::success();
  }
  if (op == "TernaryQuant") {
    if (auto e = needInputs(1))
      return e;
    if (auto e = needF32(ins[0], "the weight"))
      return e;
    if (auto e = quantAttrs())
      return e;
    ++stats.weightQuantizers;
    auto q = TernaryQuantOp::create(b, loc, i8Like(ins[0]),
                                    RankedTensorType::get({}, b.getF32Type()),
                                    ins[0]->value, epsAttr, modeAttr(),
                                    formAttr());
    set2(q.getCodes(), q.getScale());
    return llvm::Error::success();
  }
  if (op == "Dequantize") {
    if (auto e = needInputs(2))
      return e;
    Tensor *codes = ins[0], *scale = ins[1];
    if (!codes->elementType().isInteger(8) || !scale->elementType().isF32())
      return nodeError("expects int8 codes and a float32 scale");
    if (scale->rank() != 0 &&
        scale->shape() != codes->shape().drop_back())
      return nodeError("the scale must be per tensor (a scalar) or per token "
                       "(the codes' shape without its last dimension)");
    auto type = RankedTensorType::get(codes->shape(), b.getF32Type());
    Value v = DequantizeOp::create(b, loc, type, codes->value, scale->value);
    setOutput(0, Tensor{type, v, std::nullopt});
    return llvm::Error::success();
  }
  if (op == "TopKSparsify") {
    if (auto e = needInputs(1))
      return e;
    if (auto e = needF32(ins[0], "the input"))
      return e;
    float ratio = attrFloat("ratio", 0.5f);
    if (!(ratio > 0.f && ratio <= 1.f))
      return nodeError("ratio must be in (0, 1], got " + std::to_string(ratio));
    Value v = TopKSparsifyOp::create(b, loc, ins[0]->value,
                                     b.getF64FloatAttr(ratio));
    ++stats.topKs;
    setOutput(0, Tensor{ins[0]->type, v, std::nullopt});
    return llvm::Error::success();
  }
  if (op == "BitLinear") {
    if (auto e = needInputs(4))
      return e;
    Tensor *xq = ins[0], *xs = ins[1], *w = ins[2], *ws = ins[3];
    if (!xq->elementType().isInteger(8) || !w->elementType().isInteger(8) ||
        w->rank() != 2 || ws->rank() != 0 || xq->rank() < 1 ||
        xq->shape().back() != w->shape()[1] ||
        xs->shape() != xq->shape().drop_back())
      return nodeError("expects int8 codes [..., K], their per-token scales "
                       "[...], int8 ternary weights [N, K] and a scalar "
                       "weight scale");
    SmallVector<int64_t> shape(xq->shape().drop_back());
    shape.push_back(w->shape()[0]);
    auto type = RankedTensorType::get(shape, b.getF32Type());
    Value y = BitLinearOp::create(b, loc, type, xq->value, xs->value, w->value,
                                  ws->value);
    setOutput(0, Tensor{type, y, std::nullopt});
    ++stats.bitLinears;
    stats.bitLinearNodes.push_back(nodeName + " (ai.bitnet)");
    ImportStats::BitLinearSite site{nodeName, -1, w->shape()[0], w->shape()[1]};
    for (auto [i, src] : llvm::enumerate(activationCodeSources))
      if (src == xq->value)
        site.quantizer = int64_t(i);
    stats.bitLinearSites.push_back(site);
    return llvm::Error::success();
  }
  if (op == "ReLU2GLU") {
    if (auto e = needInputs(2))
      return e;
    if (ins[0]->type != ins[1]->type || !ins[0]->elementType().isF32())
      return nodeError("gate and up must be float32 tensors of one shape");
    Value v = ReLU2GLUOp::create(b, loc, ins[0]->type, ins[0]->value,
                                 ins[1]->value);
    setOutput(0, Tensor{ins[0]->type, v, std::nullopt});
    return llvm::Error::success();
  }
  if (op == "KVQuant") {
    if (auto e = needInputs(1))
      return e;
    if (auto e = needF32(ins[0], "the K/V input"))
      return e;
    if (ins[0]->rank() < 3)
      return nodeError("expects K/V laid out [..., tokens, heads, head_dim]");
    int64_t bits = attrInt("bits", 4), bosBits = attrInt("bos_bits", 0);
    if (bits < 2 || bits > 8 || (bosBits && (bosBits < bits || bosBits > 8)))
      return nodeError("bits must be in [2, 8] and bos_bits in [bits, 8]");
    Value start;
    if (ins.size() > 1) {
      if (!ins[1]->known() || ins[1]->data->size() != 1)
        return nodeError("the start position must be a known scalar");
      start = arith::ConstantIndexOp::create(b, loc,
                                             int64_t((*ins[1]->data)[0]));
    }
    auto q = KVQuantOp::create(
        b, loc, i8Like(ins[0]), perToken(ins[0]), ins[0]->value, start,
        b.getI32IntegerAttr(bits),
        bosBits ? b.getI32IntegerAttr(bosBits) : IntegerAttr(), epsAttr);
    set2(q.getCodes(), q.getScale());
    return llvm::Error::success();
  }
  return nodeError("is not an ai.bitnet op the importer knows");
}
