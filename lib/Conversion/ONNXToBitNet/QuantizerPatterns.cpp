//===- QuantizerPatterns.cpp - Recognize BitNet subgraphs in ONNX ---------===//
//
// The STE quantizer as torch.onnx.export (TorchScript, opset 17) writes it:
//
//   s   = ReduceMax(Abs(x), axes=[-1], keepdims=1)      absmax, per token
//       | ReduceMean(Abs(x), axes=[-1], keepdims=1)     absmean, per token
//       | ReduceMean(Abs(w), keepdims=0)                ternary, per tensor
//   d   = Clip(s, eps) | Add(s, eps)
//   m   = Mul(Reciprocal(d), Q) | Div(Q, d)
//   c   = Clip(Round(Mul(x, m)), lo, hi)
//   out = Add(x, Sub(Div(c, m), x))
//
// with Q = 2^(b-1) - 1 (absmax), sqrt(2^(b-1) - 1) rounded to f32 (absmean)
// or 1 (ternary), and [lo, hi] = [-Q-1, Q] ([-1, 1] for ternary).
//
// FP4 E2M1 MinMax (bitnet_ref.py's form of Eq. 8-9) has the same frame with
// Q = 6 and, in place of Clip(Round(v)), the step of v's binade:
//
//   step = Where(|v| >= 4, 2, Where(|v| >= 2, 1, 0.5))
//   c    = Clip(Mul(Round(Div(v, step)), step), -6, 6)
//
// which is round-half-to-even onto the E2M1 grid (docs/RationaleBitNet.md).
//
//===----------------------------------------------------------------------===//

#include "QuantizerPatterns.h"

#include "onnx/onnx_pb.h"

#include <cmath>

using namespace mlir::bitnet::onnx_import;

namespace {

using onnx::NodeProto;

const NodeProto *producedBy(const GraphView &g, const std::string &v,
                            const char *op) {
  const NodeProto *n = g.producer(v);
  return n && n->op_type() == op ? n : nullptr;
}

/// For a commutative binary node: the operand that is not `known`, if the
/// other one is.
std::optional<std::string> otherOperand(const NodeProto &n,
                                        const std::string &known) {
  if (n.input_size() != 2)
    return std::nullopt;
  if (n.input(0) == known)
    return n.input(1);
  if (n.input(1) == known)
    return n.input(0);
  return std::nullopt;
}

const onnx::AttributeProto *attr(const NodeProto &n, const char *name) {
  for (const onnx::AttributeProto &a : n.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

/// The reduction axes: the `axes` attribute (opset < 18) or the second input
/// (opset >= 18, as the dynamo exporter writes). Empty means every axis.
std::optional<std::vector<int64_t>> reductionAxes(const NodeProto &r,
                                                  const GraphView &g) {
  if (const onnx::AttributeProto *axes = attr(r, "axes"))
    return std::vector<int64_t>(axes->ints().begin(), axes->ints().end());
  if (r.input_size() > 1 && !r.input(1).empty())
    return g.ints(r.input(1));
  return std::vector<int64_t>{};
}

bool keepsDims(const NodeProto &r) {
  const onnx::AttributeProto *keep = attr(r, "keepdims");
  return !keep || keep->i() == 1;
}

/// Reduction over the last axis with keepdims=1 (per token).
bool reducesLastAxis(const NodeProto &r, int64_t rank, const GraphView &g) {
  std::optional<std::vector<int64_t>> axes = reductionAxes(r, g);
  return keepsDims(r) && axes && axes->size() == 1 &&
         ((*axes)[0] == -1 || (*axes)[0] == rank - 1);
}

/// Reduction over every axis (per tensor): keepdims=0, or keepdims=1
/// followed by a Squeeze to a scalar (the dynamo exporter's form).
bool reducesEverything(const NodeProto &r, const GraphView &g) {
  std::optional<std::vector<int64_t>> axes = reductionAxes(r, g);
  const onnx::AttributeProto *noop = attr(r, "noop_with_empty_axes");
  return axes && axes->empty() && !(noop && noop->i() == 1);
}

/// |v| >= t, written as GreaterOrEqual(Abs(v), t).
bool isAbsAtLeast(const GraphView &g, const std::string &cond,
                  const std::string &v, double t) {
  const NodeProto *ge = producedBy(g, cond, "GreaterOrEqual");
  if (!ge || ge->input_size() != 2 || g.scalar(ge->input(1)) != t)
    return false;
  const NodeProto *abs = producedBy(g, ge->input(0), "Abs");
  return abs && abs->input(0) == v;
}

/// step = Where(|v| >= 4, 2, Where(|v| >= 2, 1, 0.5)).
bool isE2M1Step(const GraphView &g, const std::string &step,
                const std::string &v) {
  const NodeProto *outer = producedBy(g, step, "Where");
  if (!outer || outer->input_size() != 3 ||
      !isAbsAtLeast(g, outer->input(0), v, 4.0) ||
      g.scalar(outer->input(1)) != 2.0)
    return false;
  const NodeProto *inner = producedBy(g, outer->input(2), "Where");
  return inner && inner->input_size() == 3 &&
         isAbsAtLeast(g, inner->input(0), v, 2.0) &&
         g.scalar(inner->input(1)) == 1.0 && g.scalar(inner->input(2)) == 0.5;
}

/// The rounding step: Round(v) (integer quantizers) or the E2M1 binade
/// rounding of v. Returns v's name and whether it is the FP4 form.
std::optional<std::pair<std::string, bool>>
matchRounding(const GraphView &g, const std::string &rounded) {
  if (const NodeProto *round = producedBy(g, rounded, "Round"))
    return std::make_pair(round->input(0), false);
  // Mul(Round(Div(v, step)), step) with step the E2M1 step of v.
  const NodeProto *mul = producedBy(g, rounded, "Mul");
  if (!mul || mul->input_size() != 2)
    return std::nullopt;
  const NodeProto *round = producedBy(g, mul->input(0), "Round");
  if (!round)
    return std::nullopt;
  const NodeProto *div = producedBy(g, round->input(0), "Div");
  if (!div || div->input(1) != mul->input(1) ||
      !isE2M1Step(g, mul->input(1), div->input(0)))
    return std::nullopt;
  return std::make_pair(div->input(0), true);
}

} // namespace

std::optional<TopKMatch>
mlir::bitnet::onnx_import::matchTopKScatter(const NodeProto &mul,
                                            const GraphView &g) {
  if (mul.op_type() != "Mul" || mul.input_size() != 2)
    return std::nullopt;
  for (int xi = 0; xi < 2; ++xi) {
    const std::string &x = mul.input(xi);
    const NodeProto *scatter = producedBy(g, mul.input(1 - xi), "ScatterElements");
    if (!scatter || scatter->input_size() != 3)
      continue;
    const onnx::AttributeProto *axis = attr(*scatter, "axis");
    int64_t rank = g.rank(x);
    if (!axis || !(axis->i() == -1 || axis->i() == rank - 1))
      continue;
    if (const onnx::AttributeProto *r = attr(*scatter, "reduction"))
      if (r->s() != "none")
        continue;
    if (g.scalar(scatter->input(0)) != 0.0 || g.scalar(scatter->input(2)) != 1.0)
      continue;
    const NodeProto *topk = producedBy(g, scatter->input(1), "TopK");
    if (!topk || topk->output_size() < 2 || topk->output(1) != scatter->input(1))
      continue;
    const onnx::AttributeProto *largest = attr(*topk, "largest");
    const onnx::AttributeProto *tAxis = attr(*topk, "axis");
    if ((largest && largest->i() != 1) ||
        (tAxis && !(tAxis->i() == -1 || tAxis->i() == rank - 1)))
      continue;
    const NodeProto *abs = producedBy(g, topk->input(0), "Abs");
    std::optional<double> k = g.scalar(topk->input(1));
    if (!abs || abs->input(0) != x || !k || *k < 1 || *k > g.lastDim(x))
      continue;
    return TopKMatch{x, int64_t(*k)};
  }
  return std::nullopt;
}

std::optional<QuantizerMatch>
mlir::bitnet::onnx_import::matchQuantizerSTE(const NodeProto &add,
                                             const GraphView &g) {
  if (add.op_type() != "Add" || add.input_size() != 2)
    return std::nullopt;
  // out = Add(x, Sub(deq, x)), either operand order of the Add.
  for (int xi = 0; xi < 2; ++xi) {
    const std::string &x = add.input(xi);
    const NodeProto *sub = producedBy(g, add.input(1 - xi), "Sub");
    if (!sub || sub->input_size() != 2 || sub->input(1) != x)
      continue;
    const NodeProto *deq = producedBy(g, sub->input(0), "Div");
    if (!deq)
      continue;
    const std::string &m = deq->input(1);
    const NodeProto *clip = producedBy(g, deq->input(0), "Clip");
    if (!clip || clip->input_size() != 3)
      continue;
    std::optional<double> lo = g.scalar(clip->input(1)),
                          hi = g.scalar(clip->input(2));
    auto rounding = matchRounding(g, clip->input(0));
    if (!lo || !hi || !rounding)
      continue;
    const NodeProto *scaled = producedBy(g, rounding->first, "Mul");
    if (!scaled || otherOperand(*scaled, x) != m)
      continue;
    bool fp4 = rounding->second;

    QuantizerMatch match;
    match.input = x;
    // m = Mul(Reciprocal(d), Q) or Div(Q, d).
    std::string d;
    std::optional<double> q;
    if (const NodeProto *mul = producedBy(g, m, "Mul")) {
      for (int i = 0; i < 2 && d.empty(); ++i)
        if (const NodeProto *rec = producedBy(g, mul->input(i), "Reciprocal")) {
          d = rec->input(0);
          q = g.scalar(mul->input(1 - i));
        }
      match.recipMul = true;
    } else if (const NodeProto *div = producedBy(g, m, "Div")) {
      d = div->input(1);
      q = g.scalar(div->input(0));
    } else if (const NodeProto *rec = producedBy(g, m, "Reciprocal")) {
      // Q = 1 folded away: m = 1 / d.
      d = rec->input(0);
      q = 1.0;
      match.recipMul = true;
    }
    if (d.empty() || !q)
      continue;
    // d = Clip(s, eps) or Add(s, eps).
    std::string s;
    std::optional<double> eps;
    if (const NodeProto *c = producedBy(g, d, "Clip")) {
      if (c->input_size() < 2 || (c->input_size() > 2 && !c->input(2).empty()))
        continue;
      s = c->input(0);
      eps = g.scalar(c->input(1));
      match.clampEps = true;
    } else if (const NodeProto *a = producedBy(g, d, "Add")) {
      for (int i = 0; i < 2 && !eps; ++i)
        if ((eps = g.scalar(a->input(i))))
          s = a->input(1 - i);
    }
    if (!eps || !(*eps > 0))
      continue;
    match.eps = float(*eps);
    // s = Reduce(Abs(x)), or Squeeze(Reduce(...)) of a per-tensor mean.
    const NodeProto *reduce = g.producer(s);
    bool squeezed = false;
    if (reduce && reduce->op_type() == "Squeeze") {
      reduce = g.producer(reduce->input(0));
      squeezed = true;
    }
    if (!reduce || reduce->input_size() < 1)
      continue;
    const NodeProto *abs = producedBy(g, reduce->input(0), "Abs");
    if (!abs || abs->input(0) != x)
      continue;
    int64_t rank = g.rank(x);
    bool perToken = !squeezed && reducesLastAxis(*reduce, rank, g);
    bool perTensor = reducesEverything(*reduce, g) &&
                     (squeezed ? keepsDims(*reduce) : !keepsDims(*reduce));
    if (fp4) {
      if (reduce->op_type() != "ReduceMax" || !perToken || *q != 6.0 ||
          *lo != -6.0 || *hi != 6.0)
        continue;
      match.kind = QuantKind::FP4;
      match.bits = 4;
      return match;
    }
    if (reduce->op_type() == "ReduceMax" && perToken) {
      match.kind = QuantKind::Absmax;
    } else if (reduce->op_type() == "ReduceMean" && perToken) {
      match.kind = QuantKind::Absmean;
    } else if (reduce->op_type() == "ReduceMean" && perTensor) {
      match.kind = QuantKind::Ternary;
    } else {
      continue;
    }
    // The constants must be those of one bit width.
    if (match.kind == QuantKind::Ternary) {
      if (*q != 1.0 || *lo != -1.0 || *hi != 1.0)
        continue;
      match.bits = 2;
      return match;
    }
    for (int bits = 2; bits <= 8; ++bits) {
      double qmax = double((1 << (bits - 1)) - 1);
      double expected = match.kind == QuantKind::Absmax
                            ? qmax
                            : double(float(std::sqrt(qmax)));
      if (float(*q) == float(expected) && *lo == -qmax - 1 && *hi == qmax) {
        match.bits = bits;
        return match;
      }
    }
  }
  return std::nullopt;
}

std::optional<KVQuantMatch>
mlir::bitnet::onnx_import::matchKVQuantSTE(const NodeProto &add,
                                           const GraphView &g) {
  if (add.op_type() != "Add" || add.input_size() != 2)
    return std::nullopt;
  for (int xi = 0; xi < 2; ++xi) {
    const std::string &x = add.input(xi);
    if (g.rank(x) != 4)
      continue;
    const NodeProto *sub = producedBy(g, add.input(1 - xi), "Sub");
    if (!sub || sub->input(1) != x)
      continue;
    const NodeProto *deq = producedBy(g, sub->input(0), "Div");
    if (!deq)
      continue;
    const std::string &m = deq->input(1);
    // c = Max(Min(Round(Mul(x, m)), Q), Sub(Neg(Q), 1))
    const NodeProto *mx = producedBy(g, deq->input(0), "Max");
    if (!mx || mx->input_size() != 2)
      continue;
    const NodeProto *mn = producedBy(g, mx->input(0), "Min");
    if (!mn || mn->input_size() != 2)
      continue;
    const std::string &q = mn->input(1);
    const NodeProto *lo = producedBy(g, mx->input(1), "Sub");
    if (!lo || g.scalar(lo->input(1)) != 1.0)
      continue;
    const NodeProto *neg = producedBy(g, lo->input(0), "Neg");
    if (!neg || neg->input(0) != q)
      continue;
    const NodeProto *round = producedBy(g, mn->input(0), "Round");
    if (!round)
      continue;
    const NodeProto *scaled = producedBy(g, round->input(0), "Mul");
    if (!scaled || otherOperand(*scaled, x) != m)
      continue;
    // m = Div(Q, Add(ReduceMax(Abs(x), -1), eps))
    const NodeProto *div = producedBy(g, m, "Div");
    if (!div || div->input(0) != q)
      continue;
    const NodeProto *addEps = producedBy(g, div->input(1), "Add");
    if (!addEps)
      continue;
    std::optional<double> eps;
    std::string s;
    for (int i = 0; i < 2 && !eps; ++i)
      if ((eps = g.scalar(addEps->input(i))))
        s = addEps->input(1 - i);
    if (!eps || !(*eps > 0))
      continue;
    const NodeProto *reduce = producedBy(g, s, "ReduceMax");
    if (!reduce || !reducesLastAxis(*reduce, 4, g))
      continue;
    const NodeProto *abs = producedBy(g, reduce->input(0), "Abs");
    if (!abs || abs->input(0) != x)
      continue;
    // Q is known, per token ([T, 1]) or a scalar; all tokens but the first
    // share one width.
    std::optional<std::vector<double>> qv = g.values(q);
    if (!qv || qv->empty())
      continue;
    std::vector<int64_t> qShape = g.shape(q), xShape = g.shape(x);
    int64_t tokens = xShape[2];
    bool perToken = qShape.size() == 2 && qShape[0] == tokens && qShape[1] == 1;
    if (!(qv->size() == 1 || perToken))
      continue;
    auto widthOf = [](double qmax) {
      for (int bits = 2; bits <= 8; ++bits)
        if (qmax == double((1 << (bits - 1)) - 1))
          return bits;
      return 0;
    };
    int first = widthOf(qv->front());
    int rest = qv->size() > 1 ? widthOf((*qv)[1]) : first;
    bool uniform = true;
    for (size_t i = 1; i < qv->size(); ++i)
      uniform &= (*qv)[i] == (*qv)[1];
    if (!first || !rest || !uniform || first < rest)
      continue;
    KVQuantMatch match;
    match.input = x;
    match.bits = rest;
    match.bosBits = first != rest ? first : 0;
    match.eps = float(*eps);
    return match;
  }
  return std::nullopt;
}
