//===- ImporterRecognition.cpp - BitNet subgraphs to bitnet ops ---===//
//
// Where QuantizerPatterns.h matches a quantizer, TopK or BitLinear, emit
// the bitnet ops that compute it.
//
//===----------------------------------------------------------------------===//

#include "GraphImporter.h"

using namespace mlir;
using namespace mlir::bitnet;
using namespace mlir::bitnet::onnx_import;
using namespace mlir::bitnet::onnx_import::detail;
using llvm::StringRef;
using llvm::Twine;

//===----------------------------------------------------------------------===//
// Recognition of BitNet subgraphs
//===----------------------------------------------------------------------===//

GraphView GraphImporter::graphView() {
  GraphView g;
  g.producer = [this](const std::string &v) -> const onnx::NodeProto * {
    auto it = producers.find(v);
    return it == producers.end() ? nullptr : it->second;
  };
  g.scalar = [this](const std::string &v) -> std::optional<double> {
    auto it = env.find(v);
    if (it == env.end())
      return std::nullopt;
    return it->second.splatValue();
  };
  g.ints = [this](const std::string &v) -> std::optional<std::vector<int64_t>> {
    auto it = env.find(v);
    if (it == env.end() || !it->second.known() ||
        !isa<IntegerType>(it->second.elementType()))
      return std::nullopt;
    std::vector<int64_t> out;
    for (double x : *it->second.data)
      out.push_back(int64_t(x));
    return out;
  };
  g.values = [this](const std::string &v) -> std::optional<std::vector<double>> {
    auto it = env.find(v);
    if (it == env.end() || !it->second.known())
      return std::nullopt;
    return *it->second.data;
  };
  g.shape = [this](const std::string &v) -> std::vector<int64_t> {
    auto it = env.find(v);
    if (it == env.end())
      return {};
    return std::vector<int64_t>(it->second.shape().begin(),
                                it->second.shape().end());
  };
  g.lastDim = [this](const std::string &v) -> int64_t {
    auto it = env.find(v);
    return it == env.end() || it->second.rank() == 0 ? -1
                                                     : it->second.shape().back();
  };
  g.rank = [this](const std::string &v) -> int64_t {
    auto it = env.find(v);
    return it == env.end() ? -1 : it->second.rank();
  };
  return g;
}

/// The float32 tensor `name`, or null (unknown, or another element type).
Tensor *GraphImporter::f32Value(const std::string &name) {
  auto it = env.find(name);
  if (it == env.end() || !it->second.elementType().isF32())
    return nullptr;
  return &it->second;
}

/// The KV-cache STE on [B, H, T, D] becomes kv_quant + kv_dequant on the
/// op's [B, T, H, D] layout, between two transposes.
bool GraphImporter::tryKVQuant() {
  std::optional<KVQuantMatch> m = matchKVQuantSTE(*node, graphView());
  if (!m)
    return false;
  Tensor *xp = f32Value(m->input);
  if (!xp)
    return false;
  Tensor &x = *xp;
  ArrayRef<int64_t> s = x.shape();
  // One token cannot show a BOS position in the per-position bit widths: a
  // 3-bit cache with BOS at 4 looks like a 4-bit one. A decode step takes
  // the widths an import with more tokens found (ImportOptions::kvBitsHint).
  if (cache.length > 0 && s[2] == 1 && options.kvBitsHint.first &&
      !m->bosBits && m->bits == options.kvBitsHint.second) {
    m->bits = options.kvBitsHint.first;
    m->bosBits = options.kvBitsHint.second;
  }
  SmallVector<int64_t> tokensFirst{s[0], s[2], s[1], s[3]};
  Value t = linalg::TransposeOp::create(
                b, loc, materialize(x), emptyTensor(tokensFirst, b.getF32Type()),
                ArrayRef<int64_t>{0, 2, 1, 3})
                .getResult()[0];
  auto codesType = RankedTensorType::get(tokensFirst, b.getI8Type());
  auto scaleType = RankedTensorType::get({s[0], s[2], s[1]}, b.getF32Type());
  IntegerAttr bos = m->bosBits ? b.getI32IntegerAttr(m->bosBits) : IntegerAttr();
  // In a KV-cached step the graph's first token is at position `start`: only
  // absolute position 0 is the BOS token.
  Value start;
  if (cache.length > 0 && bos)
    start = arith::IndexCastOp::create(b, loc, b.getIndexType(), startScalar());
  auto q = KVQuantOp::create(b, loc, codesType, scaleType, t, start,
                             b.getI32IntegerAttr(m->bits), bos,
                             b.getF32FloatAttr(m->eps));
  Value deq = KVDequantOp::create(b, loc, t.getType(), q.getCodes(),
                                  q.getScale(), start,
                                  b.getI32IntegerAttr(m->bits), bos);
  Value back = linalg::TransposeOp::create(b, loc, deq,
                                           emptyTensor(s, b.getF32Type()),
                                           ArrayRef<int64_t>{0, 2, 1, 3})
                   .getResult()[0];
  setOutput(0, Tensor{x.type, back, std::nullopt});
  ++stats.kvQuantizers;
  stats.kvBits = m->bits;
  stats.kvBosBits = m->bosBits;
  return true;
}

/// An STE quantizer ending at this Add becomes a bitnet quantizer and a
/// dequantize; the float nodes before it are left dead and erased later.
bool GraphImporter::tryQuantizer() {
  std::optional<QuantizerMatch> m = matchQuantizerSTE(*node, graphView());
  if (!m)
    return tryKVQuant();
  Tensor *xp = f32Value(m->input);
  if (!xp || xp->rank() < 1)
    return false;
  Tensor &x = *xp;
  Value xv = materialize(x);
  auto codesType = RankedTensorType::get(x.shape(), b.getI8Type());
  auto eps = b.getF32FloatAttr(m->eps);
  auto mode = EpsModeAttr::get(ctx, m->clampEps ? EpsMode::clamp : EpsMode::add);
  auto form = MultFormAttr::get(ctx, m->recipMul ? MultForm::recip_mul
                                                 : MultForm::div);
  auto tokenScale = RankedTensorType::get(x.shape().drop_back(), b.getF32Type());
  Value codes, scale;
  if (m->kind == QuantKind::Ternary) {
    auto q = TernaryQuantOp::create(b, loc, codesType,
                                    RankedTensorType::get({}, b.getF32Type()),
                                    xv, eps, mode, form);
    codes = q.getCodes();
    scale = q.getScale();
    ++stats.weightQuantizers;
  } else if (m->kind == QuantKind::Absmax) {
    auto q = AbsmaxQuantOp::create(b, loc, codesType, tokenScale, xv,
                                   b.getI32IntegerAttr(m->bits), eps, mode, form);
    codes = q.getCodes();
    scale = q.getScale();
    ++stats.activationQuantizers["int" + std::to_string(m->bits) + "_absmax"];
  } else if (m->kind == QuantKind::FP4) {
    auto fp4Type = RankedTensorType::get(x.shape(), b.getType<Float4E2M1FNType>());
    auto q = FP4QuantOp::create(b, loc, fp4Type, tokenScale, xv, eps, mode, form);
    codes = q.getCodes();
    scale = q.getScale();
    ++stats.activationQuantizers["fp4_minmax"];
  } else {
    auto q = AbsmeanQuantOp::create(b, loc, codesType, tokenScale, xv,
                                    b.getI32IntegerAttr(m->bits), eps, mode, form);
    codes = q.getCodes();
    scale = q.getScale();
    ++stats.activationQuantizers["int" + std::to_string(m->bits) + "_absmean"];
  }
  if (m->kind == QuantKind::FP4 &&
      (options.exposeActivationCodes || options.countActivationNonzeros)) {
    // Exposed as 2 * value in i8 (every E2M1 value doubled is an integer),
    // as bitnet_ref.py records FP4 codes.
    Tensor ones{cast<RankedTensorType>(scale.getType()), Value(),
                std::vector<double>(numElements(tokenScale.getShape()), 1.0)};
    Value values = DequantizeOp::create(b, loc, x.type, codes, materialize(ones));
    Tensor v{x.type, values, std::nullopt};
    auto twice = elementwise(
        {&v}, b.getI8Type(),
        [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value two = arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(2.0));
          return arith::FPToSIOp::create(
              nb, nl, nb.getI8Type(), arith::MulFOp::create(nb, nl, a[0], two));
        },
        nullptr);
    if (twice) {
      stats.activationQuantizerNodes.push_back(nodeName);
      stats.activationQuantizerSchemes.push_back("fp4_minmax");
      activationCodes.push_back(twice->value);
      activationCodeSources.push_back(codes);
    } else {
      llvm::consumeError(twice.takeError());
    }
  } else if (m->kind != QuantKind::Ternary && m->kind != QuantKind::FP4) {
    stats.activationQuantizerNodes.push_back(nodeName);
    stats.activationQuantizerSchemes.push_back(
        "int" + std::to_string(m->bits) +
        (m->kind == QuantKind::Absmax ? "_absmax" : "_absmean"));
    activationCodes.push_back(codes);
    activationCodeSources.push_back(codes);
  }
  Value deq = DequantizeOp::create(b, loc, x.type, codes, scale);
  setOutput(0, Tensor{x.type, deq, std::nullopt});
  quantized[node->output(0)] = Quantized{codes, scale, m->kind};
  return true;
}

/// Mul(x, scatter of TopK(|x|) indices into zeros) -> bitnet.topk_sparsify.
bool GraphImporter::tryTopK() {
  std::optional<TopKMatch> m = matchTopKScatter(*node, graphView());
  if (!m)
    return false;
  Tensor *xp = f32Value(m->input);
  if (!xp)
    return false;
  Tensor &x = *xp;
  int64_t d = x.shape().back();
  double ratio = double(m->k) / double(d);
  if (TopKSparsifyOp::getKeptCount(ratio, d) != m->k)
    return false;
  Value y = TopKSparsifyOp::create(b, loc, materialize(x),
                                   b.getF64FloatAttr(ratio));
  setOutput(0, Tensor{x.type, y, std::nullopt});
  ++stats.topKs;
  return true;
}

/// MatMul(quantized x, Transpose(quantized ternary W)) -> bitnet.bitlinear.
bool GraphImporter::tryBitLinear() {
  if (node->op_type() != "MatMul" || node->input_size() != 2)
    return false;
  auto act = quantized.find(node->input(0));
  if (act == quantized.end() || act->second.kind == QuantKind::Ternary)
    return false;
  auto tr = producers.find(node->input(1));
  if (tr == producers.end()) {
    // No producer: an initializer, possibly a weight quantized and folded
    // by the exporter.
    auto wt = env.find(node->input(1));
    if (wt == env.end())
      return false;
    std::optional<std::pair<Value, Value>> w = constantTernaryWeight(wt->second);
    if (!w)
      return false;
    ++stats.constantTernaryWeights;
    return emitBitLinear(act->second, w->first, w->second);
  }
  if (tr->second->op_type() != "Transpose")
    return false;
  const onnx::NodeProto &t = *tr->second;
  bool swaps = false;
  for (const onnx::AttributeProto &a : t.attribute())
    if (a.name() == "perm")
      swaps = a.ints_size() == 2 && a.ints(0) == 1 && a.ints(1) == 0;
  auto w = quantized.find(t.input(0));
  if (!swaps || w == quantized.end() || w->second.kind != QuantKind::Ternary)
    return false;
  return emitBitLinear(act->second, w->second.codes, w->second.scale);
}

/// A constant [K, N] weight whose values are 0 and +-a (up to float noise
/// from the STE, `w + (a*t - w)`), as exporters leave a quantized weight
/// they folded: its ternary codes (transposed to [N, K]) and a.
std::optional<std::pair<Value, Value>>
GraphImporter::constantTernaryWeight(Tensor &wt) {
  if (wt.rank() != 2 || !wt.elementType().isF32())
    return std::nullopt;
  std::vector<float> vals;
  if (wt.known()) {
    vals.assign(wt.data->begin(), wt.data->end());
  } else if (auto cst = wt.value ? wt.value.getDefiningOp<arith::ConstantOp>()
                                 : arith::ConstantOp()) {
    auto dense = dyn_cast<DenseElementsAttr>(cst.getValue());
    if (!dense)
      return std::nullopt;
    vals.assign(dense.getValues<float>().begin(), dense.getValues<float>().end());
  } else {
    return std::nullopt;
  }
  // The most frequent nonzero magnitude is the scale; every other nonzero
  // magnitude must be within a few ulps of it.
  std::map<float, int64_t> counts;
  for (float v : vals)
    if (v != 0.f)
      ++counts[std::fabs(v)];
  if (counts.empty())
    return std::nullopt;
  float a = llvm::max_element(counts, [](auto &l, auto &r) {
              return l.second < r.second;
            })->first;
  for (auto &[mag, n] : counts)
    if (std::fabs(mag - a) > a * 1e-5f)
      return std::nullopt;
  int64_t k = wt.shape()[0], n = wt.shape()[1];
  SmallVector<int8_t> codes(n * k);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j) {
      float v = vals[i * n + j];
      codes[j * k + i] = int8_t(v > 0.f ? 1 : v < 0.f ? -1 : 0);
    }
  auto codesType = RankedTensorType::get({n, k}, b.getI8Type());
  Value c = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(codesType, ArrayRef<int8_t>(codes)));
  auto scaleType = RankedTensorType::get({}, b.getF32Type());
  Value sc = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(scaleType, ArrayRef<float>(a)));
  return std::make_pair(c, sc);
}

bool GraphImporter::emitBitLinear(const Quantized &act, Value wCodes,
                                  Value wScale) {
  auto xType = cast<RankedTensorType>(act.codes.getType());
  auto wType = cast<RankedTensorType>(wCodes.getType());
  if (wType.getRank() != 2 || xType.getShape().back() != wType.getDimSize(1))
    return false;
  SmallVector<int64_t> shape(xType.getShape().drop_back());
  shape.push_back(wType.getDimSize(0));
  auto resultType = RankedTensorType::get(shape, b.getF32Type());
  Value y = BitLinearOp::create(b, loc, resultType, act.codes, act.scale,
                                wCodes, wScale);
  setOutput(0, Tensor{resultType, y, std::nullopt});
  ++stats.bitLinears;
  Operation *quant = act.codes.getDefiningOp();
  std::string scheme = "absmax";
  if (auto q = dyn_cast<AbsmaxQuantOp>(quant))
    scheme = "int" + std::to_string(q.getBits()) + "_absmax";
  else if (auto q = dyn_cast<AbsmeanQuantOp>(quant))
    scheme = "int" + std::to_string(q.getBits()) + "_absmean";
  else if (isa<FP4QuantOp>(quant))
    scheme = "fp4_minmax";
  stats.bitLinearNodes.push_back(nodeName + " (" + scheme + ")");
  ImportStats::BitLinearSite site{nodeName, -1, wType.getDimSize(0),
                                  wType.getDimSize(1)};
  for (auto [i, src] : llvm::enumerate(activationCodeSources))
    if (src == act.codes)
      site.quantizer = int64_t(i);
  stats.bitLinearSites.push_back(site);
  return true;
}

