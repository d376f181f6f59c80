//===- QuantizerPatterns.h - Recognize BitNet subgraphs in ONNX -*- C++ -*-===//
//
// Matchers over ONNX nodes for the quantizers users write in PyTorch and
// torch.onnx.export decomposes: the straight-through estimator
// `x + (q(x) - x).detach()` around an absmax or absmean quantizer, for
// activations (per token) and for ternary weights (per tensor). A match says
// exactly which bitnet op (and attributes) computes the same codes; anything
// that differs in a constant, an axis or a form is not a match and stays a
// float graph.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_LIB_CONVERSION_ONNXTOBITNET_QUANTIZERPATTERNS_H
#define BITNET_LIB_CONVERSION_ONNXTOBITNET_QUANTIZERPATTERNS_H

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace onnx {
class NodeProto;
} // namespace onnx

namespace mlir::bitnet::onnx_import {

/// What a matcher may ask of the graph.
struct GraphView {
  /// The node that produces `value`, or null (graph input, initializer).
  std::function<const onnx::NodeProto *(const std::string &value)> producer;
  /// The value of `value` if it is known and every element equals it (a
  /// scalar, or a splat such as the output of ConstantOfShape).
  std::function<std::optional<double>(const std::string &value)> scalar;
  /// The contents of `value` if it is a known integer tensor.
  std::function<std::optional<std::vector<int64_t>>(const std::string &value)>
      ints;
  /// The contents of `value` if it is known (any element type).
  std::function<std::optional<std::vector<double>>(const std::string &value)>
      values;
  /// The shape of `value`.
  std::function<std::vector<int64_t>(const std::string &value)> shape;
  /// The size of the last dimension of `value`.
  std::function<int64_t(const std::string &value)> lastDim;
  /// The rank of `value`.
  std::function<int64_t(const std::string &value)> rank;
};

enum class QuantKind { Absmax, Absmean, Ternary, FP4 };

/// A recognized STE quantizer: `output = input + (dequant(q(input)) - input)`.
struct QuantizerMatch {
  QuantKind kind;
  std::string input;
  int bits = 8;       // Absmax/Absmean; 2 for Ternary, 4 for FP4
  float eps = 1e-5f;
  bool clampEps = false; // clamp(min=eps) rather than + eps
  bool recipMul = false; // multiplier (1 / d) * Q rather than Q / d
};

/// Matches the STE quantizer whose final Add is `add`.
std::optional<QuantizerMatch> matchQuantizerSTE(const onnx::NodeProto &add,
                                                const GraphView &graph);

/// The KV-cache quantizer of bitnet_ref.py on [B, H, T, D] (post-RoPE K or
/// V): per (token, head) absmax with Q = 2^(bits-1) - 1 per token (the BOS
/// token may have its own width), codes clipped to [-Q-1, Q], as an STE:
///   Add(x, Sub(Div(Max(Min(Round(Mul(x, m)), Q), -Q-1), m), x)),
///   m = Div(Q, Add(ReduceMax(Abs(x), -1), eps)).
struct KVQuantMatch {
  std::string input;
  int bits = 4;
  int bosBits = 0; // 0: the BOS token uses `bits` too
  float eps = 1e-5f;
};
std::optional<KVQuantMatch> matchKVQuantSTE(const onnx::NodeProto &add,
                                            const GraphView &graph);

/// TopK sparsification written as topk + scatter:
///   Mul(x, ScatterElements(zeros, TopK(Abs(x), K).indices, ones, axis=-1)).
struct TopKMatch {
  std::string input;
  int64_t k = 0;
};
std::optional<TopKMatch> matchTopKScatter(const onnx::NodeProto &mul,
                                          const GraphView &graph);

} // namespace mlir::bitnet::onnx_import

#endif // BITNET_LIB_CONVERSION_ONNXTOBITNET_QUANTIZERPATTERNS_H
