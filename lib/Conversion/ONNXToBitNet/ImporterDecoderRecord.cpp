//===- ImporterDecoderRecord.cpp - The decoder configuration ---------------===//
//
// Reads a LLaMA-style decoder's configuration off the imported graph and
// records it as the module attribute `bitnet.decoder`, which the runtime
// sizes its KV cache from:
//   vocab, hidden   the embedding: Gather of a [V, H] constant by a graph input
//   layers, heads   the attention softmaxes over [B, heads, T, T]
//   head_dim        the Q operand [B, heads, T, head_dim] of the Q K^T whose
//                   result (scaled, masked) feeds the softmax
//   kv_heads        the K operand before GQA replication (width 4-D tensor
//                   whose head count differs), else heads
//   ffn             the widest linear layer (a contraction with a constant
//                   weight) that is not the LM head
//   kv_bits         the recognized KV quantizers (16: a float cache)
//   variant         llama | bitnet-b1.58 | bitnet-a4.8 | bitnet-a4.8-fp4,
//                   from the recognized activation quantizers
// A graph without an embedding or an attention softmax gets no record.
//
//===----------------------------------------------------------------------===//

#include "GraphImporter.h"

using namespace mlir;
using namespace mlir::bitnet;
using namespace mlir::bitnet::onnx_import;
using namespace mlir::bitnet::onnx_import::detail;

DictionaryAttr GraphImporter::recordDecoder() {
  const onnx::GraphProto &g = model.proto->graph();
  auto shapeOf = [&](const std::string &v) -> ArrayRef<int64_t> {
    auto it = env.find(v);
    return it == env.end() ? ArrayRef<int64_t>() : it->second.shape();
  };
  std::set<std::string> graphInputs;
  for (const onnx::ValueInfoProto &in : g.input())
    graphInputs.insert(in.name());
  std::set<std::string> initializers;
  for (const onnx::TensorProto &t : g.initializer())
    initializers.insert(t.name());

  int64_t vocab = 0, hidden = 0, layers = 0, heads = 0, headDim = 0,
          kvHeads = 0, ffn = 0;
  for (const onnx::NodeProto &n : g.node()) {
    if (n.op_type() == "Gather" && n.input_size() == 2 &&
        initializers.count(n.input(0)) && graphInputs.count(n.input(1)) &&
        shapeOf(n.input(0)).size() == 2 && !vocab) {
      vocab = shapeOf(n.input(0))[0];
      hidden = shapeOf(n.input(0))[1];
    }
    if (n.op_type() == "Softmax" && shapeOf(n.input(0)).size() == 4) {
      ++layers;
      heads = shapeOf(n.input(0))[1];
    }
  }
  if (!vocab || !layers)
    return {};

  // Q K^T: the MatMul the first softmax's input comes from (through the
  // scaling and masking ops).
  const onnx::NodeProto *scores = nullptr;
  for (const onnx::NodeProto &n : g.node()) {
    if (n.op_type() != "Softmax" || shapeOf(n.input(0)).size() != 4)
      continue;
    std::string v = n.input(0);
    for (int step = 0; step < 8 && !scores; ++step) {
      auto it = producers.find(v);
      if (it == producers.end())
        break;
      const onnx::NodeProto &p = *it->second;
      if (p.op_type() == "MatMul" && shapeOf(p.input(0)).size() == 4) {
        scores = &p;
        break;
      }
      if (!llvm::is_contained({"Add", "Mul", "Div", "Where", "Sub"},
                              StringRef(p.op_type())))
        break;
      // Follow the operand that carries the scores (rank 4, `heads` heads).
      std::string next;
      for (const std::string &in : p.input())
        if (shapeOf(in).size() == 4 && shapeOf(in)[1] == heads)
          next = in;
      if (next.empty())
        break;
      v = next;
    }
    break;
  }
  if (scores) {
    headDim = shapeOf(scores->input(0))[3];
    // Walk K back through layout ops to a 4-D tensor with fewer heads.
    kvHeads = heads;
    std::string v = scores->input(1);
    for (int step = 0; step < 12; ++step) {
      auto it = producers.find(v);
      if (it == producers.end())
        break;
      const onnx::NodeProto &p = *it->second;
      if (!llvm::is_contained({"Transpose", "Reshape", "Expand", "Unsqueeze"},
                              StringRef(p.op_type())))
        break;
      v = p.input(0);
      ArrayRef<int64_t> s = shapeOf(v);
      if (s.size() == 4 && s[3] == headDim && s[1] != heads && s[1] > 0 &&
          heads % s[1] == 0) {
        kvHeads = s[1];
        break;
      }
    }
  }
  // The widest projection output that is not the vocabulary (the LM head).
  for (const auto &entry : env) {
    const Tensor &t = entry.second;
    if (!t.value || t.rank() < 2)
      continue;
    Operation *def = t.value.getDefiningOp();
    if (!def || !isa<BitLinearOp, linalg::GenericOp>(def))
      continue;
    // A float linear layer: a contraction with a constant (weight) operand.
    if (auto generic = dyn_cast<linalg::GenericOp>(def))
      if (generic.getNumReductionLoops() != 1 ||
          generic.getNumDpsInputs() != 2 ||
          !generic.getDpsInputs()[1].getDefiningOp<arith::ConstantOp>())
        continue;
    int64_t width = t.shape().back();
    if (width != vocab && width > ffn)
      ffn = width;
  }
  std::string variant = "llama";
  const auto &acts = stats.activationQuantizers;
  if (acts.count("fp4_minmax"))
    variant = "bitnet-a4.8-fp4";
  else if (acts.count("int4_absmean"))
    variant = "bitnet-a4.8";
  else if (stats.bitLinears)
    variant = "bitnet-b1.58";

  SmallVector<NamedAttribute> fields{
      b.getNamedAttr("variant", b.getStringAttr(variant)),
      b.getNamedAttr("vocab", b.getI64IntegerAttr(vocab)),
      b.getNamedAttr("hidden", b.getI64IntegerAttr(hidden)),
      b.getNamedAttr("layers", b.getI64IntegerAttr(layers)),
      b.getNamedAttr("heads", b.getI64IntegerAttr(heads)),
      b.getNamedAttr("kv_heads", b.getI64IntegerAttr(kvHeads)),
      b.getNamedAttr("head_dim", b.getI64IntegerAttr(headDim)),
      b.getNamedAttr("ffn", b.getI64IntegerAttr(ffn)),
      b.getNamedAttr("kv_bits", b.getI64IntegerAttr(stats.kvQuantizers
                                                       ? stats.kvBits
                                                       : 16)),
      b.getNamedAttr("kv_bos_bits", b.getI64IntegerAttr(stats.kvBosBits)),
      b.getNamedAttr("bitlinear_layers", b.getI64IntegerAttr(stats.bitLinears)),
  };
  return b.getDictionaryAttr(fields);
}
