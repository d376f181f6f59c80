//===- ImporterKVCache.cpp - A KV-cached step from a full-sequence export --===//
//
// Derives, while importing, a step function that processes `seq` new tokens
// at absolute positions [start, start + seq) against a KV cache of
// `kvCacheLength` positions, from the plain full-sequence forward that users
// export (ImportOptions::kvCacheLength). With seq = 1 it is the decode entry,
// with seq = P a prefill chunk. Nothing in the graph names the cache; the
// importer finds it from the attention structure:
//
//   positions   a Range whose limit depends on a graph input and whose
//               value is 0, 1, ..., seq - 1 becomes start + Range (RoPE's
//               cos/sin are then computed at run time); a graph computing
//               arange(0, head_dim / 2) with head_dim / 2 == seq would be
//               misread, so callers pick seq to avoid that;
//               A Slice [0:seq) of a constant table (precomputed cos/sin)
//               becomes the slice [start, start + seq); the table must
//               cover the cache;
//   scores      the MatMul feeding a Softmax through scale/mask ops: its K
//               operand is walked back through the GQA layout ops to the
//               per-KV-head tensor [1, kv_heads, seq, head_dim] (post-RoPE,
//               post-KV-quantizer) that the step returns and the cache holds;
//               the cached columns Q Kc^T [1, heads, seq, C] are computed
//               beside the graph's own [1, heads, seq, seq];
//   scale/mask  ops between the scores and the softmax whose other operands
//               are uniform constants are applied to the cached columns too;
//               any other op (the causal mask) applies to the new columns
//               only, and cached column j is kept iff j < start;
//   softmax     runs over [cached columns, new columns];
//   P V         the MatMul taking the softmax: new columns times the graph's
//               V plus cached columns times Vc.
// The cache is one argument [2 * layers, 1, kv_heads, C, head_dim] (K of
// layer l at 2l, V at 2l + 1, layers in the order their attention blocks
// appear) and the new K/V one result [2 * layers, 1, kv_heads, seq,
// head_dim], so the entry's signature does not grow with the model. Cache positions >= start are never read (they
// get probability 0) but must hold finite values; the runtime zeroes them.
//
//===----------------------------------------------------------------------===//

#include "GraphImporter.h"

#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::bitnet;
using namespace mlir::bitnet::onnx_import;
using namespace mlir::bitnet::onnx_import::detail;

namespace {
const std::set<StringRef> kScorePathOps = {"Add", "Mul", "Div", "Where",
                                           "Sub"};
const std::set<StringRef> kLayoutOps = {"Transpose", "Reshape", "Expand",
                                        "Unsqueeze"};
} // namespace

void GraphImporter::analyzeAttention() {
  const onnx::GraphProto &g = model.proto->graph();
  // Values that depend on a graph input (not an initializer).
  std::set<std::string> initializers, dependent;
  for (const onnx::TensorProto &t : g.initializer())
    initializers.insert(t.name());
  for (const onnx::ValueInfoProto &vi : g.input())
    if (!initializers.count(vi.name()))
      dependent.insert(vi.name());
  for (const onnx::NodeProto &n : g.node()) {
    bool dep = llvm::any_of(n.input(), [&](const std::string &in) {
      return dependent.count(in) > 0;
    });
    if (dep)
      for (const std::string &out : n.output())
        dependent.insert(out);
    if (n.op_type() == "Range" && n.input_size() == 3 &&
        dependent.count(n.input(1)) && !dependent.count(n.input(0)))
      cache.positionRanges.insert(&n);
    // table[0:seq] of a constant table (precomputed RoPE cos/sin).
    if (n.op_type() == "Slice" && n.input_size() >= 3 &&
        !dependent.count(n.input(0)) && !dependent.count(n.input(1)) &&
        dependent.count(n.input(2)))
      cache.positionSlices.insert(&n);
  }

  // Softmax <- (scale/mask ops) <- MatMul: the attention scores.
  std::function<const onnx::NodeProto *(const std::string &, int,
                                        std::vector<const onnx::NodeProto *> &)>
      findScores = [&](const std::string &v, int depth,
                       std::vector<const onnx::NodeProto *> &path)
      -> const onnx::NodeProto * {
    auto it = producers.find(v);
    if (it == producers.end() || depth > 6)
      return nullptr;
    const onnx::NodeProto *p = it->second;
    if (p->op_type() == "MatMul")
      return p;
    if (!kScorePathOps.count(p->op_type()))
      return nullptr;
    path.push_back(p);
    for (const std::string &in : p->input())
      if (const onnx::NodeProto *m = findScores(in, depth + 1, path))
        return m;
    path.pop_back();
    return nullptr;
  };
  for (const onnx::NodeProto &n : g.node()) {
    if (n.op_type() != "Softmax")
      continue;
    std::vector<const onnx::NodeProto *> path;
    const onnx::NodeProto *scores = findScores(n.input(0), 0, path);
    if (!scores)
      continue;
    const onnx::NodeProto *pv = nullptr;
    for (const onnx::NodeProto &m : g.node())
      if (m.op_type() == "MatMul" && m.input(0) == n.output(0))
        pv = &m;
    if (!pv)
      continue;
    int layer = int(cache.scores.size());
    cache.scores[scores] = layer;
    cache.softmaxes.insert(&n);
    cache.pv[pv] = layer;
    for (const onnx::NodeProto *p : path)
      cache.pathNodes.insert(p);
  }
}

/// The per-KV-head tensor [1, h, seq, headDim] that `v` (an operand of an
/// attention MatMul) is a GQA replication / transposition of: the deepest
/// such tensor along the chain of layout ops.
Tensor *GraphImporter::kvSource(const std::string &v, int64_t heads,
                                int64_t seq, int64_t headDim) {
  Tensor *found = nullptr;
  std::string cur = v;
  for (int step = 0; step < 12; ++step) {
    auto t = env.find(cur);
    if (t == env.end())
      break;
    ArrayRef<int64_t> s = t->second.shape();
    if (s.size() == 4 && s[0] == 1 && s[2] == seq && s[3] == headDim &&
        s[1] > 0 && heads % s[1] == 0 && !t->second.known())
      found = &t->second;
    auto p = producers.find(cur);
    if (p == producers.end() || !kLayoutOps.count(p->second->op_type()))
      break;
    cur = p->second->input(0);
  }
  return found;
}

Value GraphImporter::startScalar() {
  if (!cache.start) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(cache.entry);
    cache.start = tensor::ExtractOp::create(b, loc, cache.startArg, ValueRange{});
  }
  return cache.start;
}

/// The kv_dequant that `v` (a post-KV-quantizer K or V) is the transposed
/// result of (GraphImporter::tryKVQuant), or null.
static KVDequantOp kvQuantizerOf(Value v) {
  auto t = v.getDefiningOp<linalg::TransposeOp>();
  return t ? t.getInput().getDefiningOp<KVDequantOp>() : KVDequantOp();
}

/// Settles what the cache holds at the first K or V it will hold, and
/// checks every later one can be held that way.
llvm::Error GraphImporter::resolveCacheStorage(Value fresh) {
  using Storage = ImportOptions::KVStorage;
  KVDequantOp quantizer = kvQuantizerOf(fresh);
  if (cache.storage == Storage::Auto)
    cache.storage = !quantizer                 ? Storage::F32
                    : quantizer.getBits() <= 3 ? Storage::Q3
                                               : Storage::Q4;
  if (!packedCache())
    return llvm::Error::success();
  bool q3 = cache.storage == Storage::Q3;
  std::string name = q3 ? "a 3-bit KV cache (q3)" : "a 4-bit KV cache (q4)";
  if (!quantizer)
    return nodeError(name + " holds the codes of the model's KV quantizer, "
                     "and this attention's K or V has none: use an f32 or "
                     "f16 cache");
  int64_t bits = quantizer.getBits();
  int64_t bos = quantizer.getBosBits().value_or(bits);
  if (bits > (q3 ? 3 : 4) || bos > 4)
    return nodeError(name + " cannot hold the " + Twine(bits) +
                     "-bit codes of this KV quantizer (BOS " + Twine(bos) +
                     " bits)");
  int64_t headDim = cast<RankedTensorType>(fresh.getType()).getShape().back();
  if (headDim % (q3 ? 8 : 2))
    return nodeError(name + " needs a head size divisible by " +
                     Twine(q3 ? 8 : 2) + ", got " + Twine(headDim));
  return llvm::Error::success();
}

/// Elements of one cached (layer, head, position) row: the values; for q4
/// the codes' nibbles, for q3 three bit planes of the codes; then the
/// scale's 4 bytes.
int64_t GraphImporter::cacheRowSize(int64_t headDim) const {
  switch (cache.storage) {
  case ImportOptions::KVStorage::Q4:
    return headDim / 2 + 4;
  case ImportOptions::KVStorage::Q3:
    return 3 * headDim / 8 + 4;
  default:
    return headDim;
  }
}

/// Cache rows per (layer, head): the positions, and for q3 one more that
/// holds the fourth bit plane of the BOS row (4-bit codes at position 0).
int64_t GraphImporter::cacheRowCount() const {
  return cache.length + (cache.storage == ImportOptions::KVStorage::Q3);
}

/// Layer `layer`'s K (`isValue` false) or V cache: a slice of the one cache
/// argument [2 * layers, 1, kv_heads, cacheRowCount(), row], created at first
/// use.
Value GraphImporter::cacheSlice(int layer, bool isValue, int64_t kvHeads,
                                int64_t headDim) {
  if (!cache.kvArg) {
    int64_t layers = int64_t(cache.scores.size());
    auto type = RankedTensorType::get(
        {2 * layers, 1, kvHeads, cacheRowCount(), cacheRowSize(headDim)},
        cacheElementType());
    cache.argTypes.push_back(type);
    cache.kvArg = cache.entry->addArgument(type, fileLoc);
    cache.kvShape = {kvHeads, headDim};
  }
  return cacheRowsOf(layer, isValue, 0, cache.length);
}

/// The extra row of a q3 cache [1, kv_heads, 1, row] after layer `layer`'s
/// K or V positions: the fourth bit plane of the BOS row; null otherwise.
Value GraphImporter::bosPlaneSlice(int layer, bool isValue) {
  if (cache.storage != ImportOptions::KVStorage::Q3)
    return Value();
  return cacheRowsOf(layer, isValue, cache.length, 1);
}

/// Rows [first, first + count) of layer `layer`'s K or V in the cache
/// argument: [1, kv_heads, count, row].
Value GraphImporter::cacheRowsOf(int layer, bool isValue, int64_t first,
                                 int64_t count) {
  auto type = cast<RankedTensorType>(cache.kvArg.getType());
  int64_t kvHeads = type.getShape()[2], row = type.getShape()[4];
  SmallVector<OpFoldResult> offs{b.getIndexAttr(2 * layer + (isValue ? 1 : 0)),
                                 b.getIndexAttr(0), b.getIndexAttr(0),
                                 b.getIndexAttr(first), b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes{b.getIndexAttr(1), b.getIndexAttr(1),
                                  b.getIndexAttr(kvHeads),
                                  b.getIndexAttr(count), b.getIndexAttr(row)};
  SmallVector<OpFoldResult> strides(5, b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(
      b, loc,
      RankedTensorType::get({1, kvHeads, count, row}, type.getElementType()),
      cache.kvArg, offs, sizes, strides);
}

Type GraphImporter::cacheElementType() {
  switch (cache.storage) {
  case ImportOptions::KVStorage::F16:
    return b.getF16Type();
  case ImportOptions::KVStorage::Q4:
  case ImportOptions::KVStorage::Q3:
    return b.getI8Type();
  default:
    return b.getF32Type();
  }
}

/// The cache rows of a new K or V [1, kv_heads, seq, head_dim] (f32), as
/// the step returns them for the runtime to store.
Value GraphImporter::cacheRows(Value fresh) {
  if (packedCache())
    return packCodeRows(kvQuantizerOf(fresh));
  if (cache.storage != ImportOptions::KVStorage::F16)
    return fresh;
  // Rounded to nearest even, as torch's .half().
  auto type = cast<RankedTensorType>(fresh.getType());
  return arith::TruncFOp::create(
      b, loc, RankedTensorType::get(type.getShape(), b.getF16Type()), fresh);
}

/// Packed rows [1, H, T, D / 2 + 4] of the quantizer's codes [1, T, H, D]
/// and scales [1, T, H]: the codes (q4: nibbles; q3: four bit planes, the
/// runtime stores three and keeps the BOS row's fourth apart), then the
/// scale's 4 bytes (little-endian).
Value GraphImporter::packCodeRows(KVDequantOp deq) {
  ArrayRef<int64_t> s =
      cast<RankedTensorType>(deq.getCodes().getType()).getShape();
  int64_t T = s[1], H = s[2], D = s[3];
  Value codes = cache.storage == ImportOptions::KVStorage::Q3
                    ? packBitPlanes(deq)
                    : packNibbles(deq);
  return tensor::ConcatOp::create(
      b, loc, RankedTensorType::get({1, H, T, D / 2 + 4}, b.getI8Type()), 3,
      ValueRange{codes, packScaleBytes(deq)});
}

/// Nibbles [1, H, T, D / 2] of the codes [1, T, H, D]: byte r holds code
/// 2r in its low and code 2r + 1 in its high nibble.
Value GraphImporter::packNibbles(KVDequantOp deq) {
  Value codes = deq.getCodes();
  ArrayRef<int64_t> s = cast<RankedTensorType>(codes.getType()).getShape();
  int64_t T = s[1], H = s[2], D = s[3];
  AffineExpr d0 = b.getAffineDimExpr(0), d1 = b.getAffineDimExpr(1),
             d2 = b.getAffineDimExpr(2), d3 = b.getAffineDimExpr(3);
  Type i8 = b.getI8Type();
  auto i8Const = [](OpBuilder &nb, Location nl, int64_t v) {
    return arith::ConstantOp::create(nb, nl, nb.getI8IntegerAttr(v));
  };
  return linalg::GenericOp::create(
             b, loc, RankedTensorType::get({1, H, T, D / 2}, i8),
             ValueRange{codes, codes}, emptyTensor({1, H, T, D / 2}, i8),
             SmallVector<AffineMap>{
                 AffineMap::get(4, 0, {d0, d2, d1, d3 * 2}, ctx),
                 AffineMap::get(4, 0, {d0, d2, d1, d3 * 2 + 1}, ctx),
                 AffineMap::getMultiDimIdentityMap(4, ctx)},
             SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
             [&](OpBuilder &nb, Location nl, ValueRange a) {
               Value lo =
                   arith::AndIOp::create(nb, nl, a[0], i8Const(nb, nl, 15));
               Value hi = arith::ShLIOp::create(nb, nl, a[1], i8Const(nb, nl, 4));
               linalg::YieldOp::create(
                   nb, nl, Value(arith::OrIOp::create(nb, nl, lo, hi)));
             })
      .getResult(0);
}

/// Bit planes [1, H, T, D / 2] of the codes [1, T, H, D]: plane p (bytes
/// p D / 8 .. (p + 1) D / 8) holds bit p of code d at bit d % 8 of byte
/// d / 8.
Value GraphImporter::packBitPlanes(KVDequantOp deq) {
  Value codes = deq.getCodes();
  ArrayRef<int64_t> s = cast<RankedTensorType>(codes.getType()).getShape();
  int64_t T = s[1], H = s[2], D = s[3], planeBytes = D / 8;
  Type i8 = b.getI8Type();
  AffineExpr d0 = b.getAffineDimExpr(0), d1 = b.getAffineDimExpr(1),
             d2 = b.getAffineDimExpr(2), d3 = b.getAffineDimExpr(3);
  SmallVector<AffineMap> maps;
  SmallVector<Value> inputs;
  for (int64_t i = 0; i < 8; ++i) {
    maps.push_back(
        AffineMap::get(4, 0, {d0, d2, d1, (d3 % planeBytes) * 8 + i}, ctx));
    inputs.push_back(codes);
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(4, ctx));
  return linalg::GenericOp::create(
             b, loc, RankedTensorType::get({1, H, T, D / 2}, i8), inputs,
             emptyTensor({1, H, T, D / 2}, i8), maps,
             SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
             [&](OpBuilder &nb, Location nl, ValueRange a) {
               auto c8 = [&](int64_t v) {
                 return arith::ConstantOp::create(nb, nl, nb.getI8IntegerAttr(v));
               };
               Value plane = arith::IndexCastOp::create(
                   nb, nl, i8,
                   arith::DivUIOp::create(
                       nb, nl, linalg::IndexOp::create(nb, nl, 3),
                       arith::ConstantIndexOp::create(nb, nl, planeBytes)));
               Value byte = c8(0);
               for (int64_t i = 0; i < 8; ++i) {
                 Value bit = arith::AndIOp::create(
                     nb, nl, arith::ShRUIOp::create(nb, nl, a[i], plane), c8(1));
                 byte = arith::OrIOp::create(
                     nb, nl, byte, arith::ShLIOp::create(nb, nl, bit, c8(i)));
               }
               linalg::YieldOp::create(nb, nl, byte);
             })
      .getResult(0);
}

/// The scales [1, T, H] as bytes [1, H, T, 4] (little-endian).
Value GraphImporter::packScaleBytes(KVDequantOp deq) {
  ArrayRef<int64_t> s =
      cast<RankedTensorType>(deq.getScale().getType()).getShape();
  int64_t T = s[1], H = s[2];
  Type i8 = b.getI8Type(), i32 = b.getI32Type();
  AffineExpr d0 = b.getAffineDimExpr(0), d1 = b.getAffineDimExpr(1),
             d2 = b.getAffineDimExpr(2);
  return linalg::GenericOp::create(
             b, loc, RankedTensorType::get({1, H, T, 4}, i8),
             ValueRange{deq.getScale()}, emptyTensor({1, H, T, 4}, i8),
             SmallVector<AffineMap>{AffineMap::get(4, 0, {d0, d2, d1}, ctx),
                                    AffineMap::getMultiDimIdentityMap(4, ctx)},
             SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
             [&](OpBuilder &nb, Location nl, ValueRange a) {
               Value bits = arith::BitcastOp::create(nb, nl, i32, a[0]);
               Value byte = arith::IndexCastOp::create(
                   nb, nl, i32, linalg::IndexOp::create(nb, nl, 3));
               Value shift = arith::MulIOp::create(
                   nb, nl, byte,
                   arith::ConstantOp::create(nb, nl, nb.getI32IntegerAttr(8)));
               Value shifted = arith::ShRUIOp::create(nb, nl, bits, shift);
               linalg::YieldOp::create(
                   nb, nl, Value(arith::TruncIOp::create(nb, nl, i8, shifted)));
             })
      .getResult(0);
}

Value GraphImporter::packNewKV() {
  int64_t n = int64_t(cache.newKV.size());
  auto first = cast<RankedTensorType>(cache.newKV.front().getType());
  ArrayRef<int64_t> s = first.getShape(); // [1, kv_heads, seq, row]
  Value all = emptyTensor({n, 1, s[1], s[2], s[3]}, first.getElementType());
  for (auto [i, rows] : llvm::enumerate(cache.newKV)) {
    SmallVector<OpFoldResult> offs{b.getIndexAttr(i), b.getIndexAttr(0),
                                   b.getIndexAttr(0), b.getIndexAttr(0),
                                   b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes{b.getIndexAttr(1), b.getIndexAttr(1),
                                    b.getIndexAttr(s[1]), b.getIndexAttr(s[2]),
                                    b.getIndexAttr(s[3])};
    SmallVector<OpFoldResult> strides(5, b.getIndexAttr(1));
    all = tensor::InsertSliceOp::create(b, loc, rows, all, offs, sizes, strides);
  }
  return all;
}

bool GraphImporter::isUniformKnown(const Tensor &t) {
  if (!t.known() || t.data->empty())
    return false;
  return llvm::all_of(*t.data, [&](double v) { return v == t.data->front(); });
}

llvm::Expected<bool> GraphImporter::tryCachedAttentionNode() {
  if (node->op_type() == "Range" && cache.positionRanges.count(node))
    return importCachedRange();
  if (node->op_type() == "Slice" && cache.positionSlices.count(node))
    return importCachedTableSlice();
  if (auto it = cache.scores.find(node); it != cache.scores.end())
    return importCachedScores(it->second);
  if (cache.pathNodes.count(node))
    return importCachedScorePath();
  if (cache.softmaxes.count(node))
    return importCachedSoftmax();
  if (auto it = cache.pv.find(node); it != cache.pv.end())
    return importCachedPV(it->second);
  return false;
}

llvm::Expected<bool> GraphImporter::importCachedRange() {
  if (llvm::Error err = importRange())
    return std::move(err);
  Tensor &r = env[node->output(0)];
  // Positions are 0, 1, ..., seq - 1. Other ranges sized from activations
  // (RoPE's arange(0, head_dim, 2)) stay as they are.
  bool positions = r.known() && r.rank() == 1 && r.shape()[0] == cache.tokens;
  for (int64_t i = 0; positions && i < cache.tokens; ++i)
    positions = (*r.data)[i] == double(i);
  if (!positions)
    return true;
  Type elem = r.elementType();
  Value base = materialize(r);
  Value start = castScalar(b, loc, startScalar(), elem);
  auto map = AffineMap::getMultiDimIdentityMap(1, ctx);
  auto generic = linalg::GenericOp::create(
      b, loc, r.type, ValueRange{base}, emptyTensor(r.shape(), elem),
      SmallVector<AffineMap>{map, map},
      SmallVector<utils::IteratorType>{utils::IteratorType::parallel},
      [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value sum = isa<FloatType>(elem)
                        ? Value(arith::AddFOp::create(nb, nl, a[0], start))
                        : Value(arith::AddIOp::create(nb, nl, a[0], start));
        linalg::YieldOp::create(nb, nl, sum);
      });
  r = Tensor{r.type, generic.getResult(0), std::nullopt};
  ++stats.cachedPositionRanges;
  return true;
}

llvm::Expected<bool> GraphImporter::importCachedTableSlice() {
  auto in = input(0);
  if (!in)
    return in.takeError();
  Tensor table = **in;
  if (llvm::Error err = importSlice())
    return std::move(err);
  Tensor &r = env[node->output(0)];
  // Rows [0, seq) along one axis become rows [start, start + seq).
  int64_t axis = -1;
  for (int64_t d = 0; d < r.rank(); ++d)
    if (r.shape()[d] != table.shape()[d]) {
      if (axis >= 0 || r.shape()[d] != cache.tokens)
        return true; // not a position table
      axis = d;
    }
  if (axis < 0)
    return true;
  auto starts = knownInts(1, "starts");
  if (!starts)
    return starts.takeError();
  if (llvm::any_of(*starts, [](int64_t v) { return v != 0; }))
    return true;
  if (table.shape()[axis] < cache.length)
    return nodeError("the position table has " + Twine(table.shape()[axis]) +
                     " rows, fewer than the " + Twine(cache.length) +
                     " positions of the KV cache");
  SmallVector<OpFoldResult> offs(r.rank(), b.getIndexAttr(0));
  offs[axis] = arith::IndexCastOp::create(b, loc, b.getIndexType(), startScalar())
                   .getResult();
  SmallVector<OpFoldResult> sizes, strides(r.rank(), b.getIndexAttr(1));
  for (int64_t d : r.shape())
    sizes.push_back(b.getIndexAttr(d));
  Value v = tensor::ExtractSliceOp::create(b, loc, r.type, materialize(table),
                                           offs, sizes, strides);
  r = Tensor{r.type, v, std::nullopt};
  ++stats.cachedPositionRanges;
  return true;
}

/// out[...] = sum over the last of 5 loops of lhs * kv (f32; an f16 cache
/// widened, a q4 cache dequantized), with `start` as an operand the body
/// ignores so that the runtime kernel the generic is tagged for (`kernel`,
/// `_f16`, `_q4` or `_q3` appended for those caches) can stop at the cache's filled
/// positions. `kvMap` indexes the cache as values [.., j, d]; `quantizer` is
/// the KV quantizer of what a q4 or q3 cache holds, `bosRow` a q3 cache's
/// BOS plane row (bosPlaneSlice).
Value GraphImporter::cachedContraction(Value lhs, Value kv, Value bosRow,
                                       KVDequantOp quantizer, AffineMap lhsMap,
                                       AffineMap kvMap, AffineMap outMap,
                                       ArrayRef<int64_t> outShape,
                                       StringRef kernel) {
  Type f32 = b.getF32Type(), i32 = b.getI32Type();
  Value init = linalg::FillOp::create(b, loc, constantScalar(f32, 0.0),
                                      emptyTensor(outShape, f32))
                   .getResult(0);
  SmallVector<utils::IteratorType> its(4, utils::IteratorType::parallel);
  its.push_back(utils::IteratorType::reduction);
  AffineMap scalarMap = AffineMap::get(5, 0, {}, ctx);
  std::string name = kernel.str();
  linalg::GenericOp generic;
  if (!packedCache()) {
    name += cache.storage == ImportOptions::KVStorage::F16 ? "_f16" : "";
    generic = linalg::GenericOp::create(
        b, loc, init.getType(), ValueRange{lhs, kv, cache.startArg}, init,
        SmallVector<AffineMap>{lhsMap, kvMap, scalarMap, outMap}, its,
        [](OpBuilder &nb, Location nl, ValueRange a) {
          Value kv = a[1];
          if (!kv.getType().isF32())
            kv = arith::ExtFOp::create(nb, nl, nb.getF32Type(), kv);
          Value p = arith::MulFOp::create(nb, nl, a[0], kv);
          linalg::YieldOp::create(
              nb, nl, Value(arith::AddFOp::create(nb, nl, a[3], p)));
        });
  } else {
    // q4: code d of row j is nibble d % 2 of byte d / 2. q3: bit p of code d
    // is bit d % 8 of byte d / 8 of plane p (three planes in the row, the
    // BOS row's fourth in `bosRow`). The scale's bytes follow the codes.
    // The offsets 2^(B-1) (B the bit width of a token) come as a constant
    // [offset, BOS offset] for the kernel.
    bool q3 = cache.storage == ImportOptions::KVStorage::Q3;
    name += q3 ? "_q3" : "_q4";
    ArrayRef<AffineExpr> e = kvMap.getResults();
    int64_t D = cache.kvShape.second;
    unsigned jDim = cast<AffineDimExpr>(e[2]).getPosition(),
             dDim = cast<AffineDimExpr>(e[3]).getPosition();
    auto rowMap = [&](AffineExpr last) {
      return AffineMap::get(5, 0, {e[0], e[1], e[2], last}, ctx);
    };
    SmallVector<AffineMap> maps{lhsMap};
    SmallVector<Value> inputs{lhs};
    int64_t codeOperands = q3 ? 4 : 1, scaleAt = q3 ? 3 * D / 8 : D / 2;
    if (q3) {
      for (int64_t p = 0; p < 3; ++p) {
        maps.push_back(rowMap(e[3].floorDiv(8) + p * D / 8));
        inputs.push_back(kv);
      }
      maps.push_back(AffineMap::get(
          5, 0, {e[0], e[1], b.getAffineConstantExpr(0), e[3].floorDiv(8)},
          ctx));
      inputs.push_back(bosRow);
    } else {
      maps.push_back(rowMap(e[3].floorDiv(2)));
      inputs.push_back(kv);
    }
    for (int64_t i = 0; i < 4; ++i) {
      maps.push_back(rowMap(b.getAffineConstantExpr(scaleAt + i)));
      inputs.push_back(kv);
    }
    int32_t bits = int32_t(quantizer.getBits());
    int32_t bos = int32_t(quantizer.getBosBits().value_or(bits));
    auto offsetsType = RankedTensorType::get({2}, i32);
    Value offsets = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(
                    offsetsType, ArrayRef<int32_t>{1 << (bits - 1),
                                                   1 << (bos - 1)}));
    for (int64_t i = 0; i < 2; ++i) {
      maps.push_back(AffineMap::get(5, 0, {b.getAffineConstantExpr(i)}, ctx));
      inputs.push_back(offsets);
    }
    maps.push_back(scalarMap);
    inputs.push_back(cache.startArg);
    maps.push_back(outMap);
    generic = linalg::GenericOp::create(
        b, loc, init.getType(), inputs, init, maps, its,
        [&](OpBuilder &nb, Location nl, ValueRange a) {
          auto c32 = [&](int64_t v) {
            return arith::ConstantOp::create(nb, nl, nb.getI32IntegerAttr(v));
          };
          auto c8 = [&](int64_t v) {
            return arith::ConstantOp::create(nb, nl, nb.getI8IntegerAttr(v));
          };
          Value d = linalg::IndexOp::create(nb, nl, dDim);
          Value j = linalg::IndexOp::create(nb, nl, jDim);
          Value zero = arith::ConstantIndexOp::create(nb, nl, 0);
          Value isBos =
              arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::eq, j, zero);
          Value code;
          if (q3) {
            Value bit = arith::IndexCastOp::create(
                nb, nl, nb.getI8Type(),
                arith::RemUIOp::create(
                    nb, nl, d, arith::ConstantIndexOp::create(nb, nl, 8)));
            auto planeBit = [&](Value byte, int64_t p) {
              Value one = arith::AndIOp::create(
                  nb, nl, arith::ShRUIOp::create(nb, nl, byte, bit), c8(1));
              return arith::ShLIOp::create(
                  nb, nl, arith::ExtUIOp::create(nb, nl, i32, one), c32(p));
            };
            code = c32(0);
            for (int64_t p = 0; p < 3; ++p)
              code = arith::OrIOp::create(nb, nl, code, planeBit(a[1 + p], p));
            Value fourth = arith::SelectOp::create(nb, nl, isBos,
                                                   planeBit(a[4], 3), c32(0));
            code = arith::OrIOp::create(nb, nl, code, fourth);
          } else {
            Value odd = arith::CmpIOp::create(
                nb, nl, arith::CmpIPredicate::ne,
                arith::RemUIOp::create(
                    nb, nl, d, arith::ConstantIndexOp::create(nb, nl, 2)),
                zero);
            Value byte = arith::SelectOp::create(
                nb, nl, odd, arith::ShRUIOp::create(nb, nl, a[1], c8(4)), a[1]);
            code = arith::ExtUIOp::create(
                nb, nl, i32, arith::AndIOp::create(nb, nl, byte, c8(15)));
          }
          int64_t at = 1 + codeOperands;
          Value offset =
              arith::SelectOp::create(nb, nl, isBos, a[at + 5], a[at + 4]);
          Value scaleBits = c32(0);
          for (int64_t i = 0; i < 4; ++i) {
            Value part = arith::ShLIOp::create(
                nb, nl, arith::ExtUIOp::create(nb, nl, i32, a[at + i]),
                c32(8 * i));
            scaleBits = arith::OrIOp::create(nb, nl, scaleBits, part);
          }
          Value scale = arith::BitcastOp::create(nb, nl, nb.getF32Type(),
                                                 scaleBits);
          Value value = arith::MulFOp::create(
              nb, nl,
              arith::SIToFPOp::create(
                  nb, nl, nb.getF32Type(),
                  arith::SubIOp::create(nb, nl, code, offset)),
              scale);
          Value p = arith::MulFOp::create(nb, nl, a[0], value);
          linalg::YieldOp::create(
              nb, nl, Value(arith::AddFOp::create(nb, nl, a.back(), p)));
        });
  }
  generic->setAttr("bitnet.ukernel", b.getStringAttr(name));
  return generic.getResult(0);
}

llvm::Expected<bool> GraphImporter::importCachedScores(int layer) {
  if (llvm::Error err = importMatMul())
    return std::move(err);
  Tensor &q = env[node->input(0)];
  if (q.rank() != 4 || q.shape()[0] != 1 || !q.elementType().isF32())
    return nodeError("attention scores: Q must be f32 [1, heads, seq, dim] "
                     "to derive a KV-cached step");
  int64_t heads = q.shape()[1], seq = q.shape()[2], headDim = q.shape()[3];
  Tensor *k = kvSource(node->input(1), heads, seq, headDim);
  if (!k)
    return nodeError("attention scores: cannot find K as [1, kv_heads, seq, "
                     "head_dim] behind the GQA layout ops");
  int64_t kvHeads = k->shape()[1], rep = heads / kvHeads, C = cache.length;
  if (cache.kvArg && cache.kvShape != std::make_pair(kvHeads, headDim))
    return nodeError("attention layers differ in KV heads or head size");
  Value fresh = materialize(*k);
  if (llvm::Error err = resolveCacheStorage(fresh))
    return std::move(err);
  Value kc = cacheSlice(layer, /*isValue=*/false, kvHeads, headDim);
  cache.newKV.push_back(cacheRows(fresh));

  // scores_c[0, h, i, j] = sum_d Q[0, h, i, d] * Kc[0, h / rep, j, d]
  AffineExpr h = b.getAffineDimExpr(1), i = b.getAffineDimExpr(2),
             j = b.getAffineDimExpr(3), d = b.getAffineDimExpr(4),
             zero = b.getAffineDimExpr(0); // the batch of 1
  // The CPU kernel (attn_scores_cached) computes only columns j < start,
  // which are the only ones the mask below lets through.
  Value scores = cachedContraction(
      materialize(q), kc, bosPlaneSlice(layer, /*isValue=*/false),
      kvQuantizerOf(fresh), AffineMap::get(5, 0, {zero, h, i, d}, ctx),
      AffineMap::get(5, 0, {zero, h.floorDiv(rep), j, d}, ctx),
      AffineMap::get(5, 0, {zero, h, i, j}, ctx), {1, heads, seq, C},
      "attn_scores_cached");
  cache.cachedColumns[node->output(0)] =
      Tensor{cast<RankedTensorType>(scores.getType()), scores, std::nullopt};
  if (options.fuseCachedAttention && !packedCache()) {
    CachedStep::FusedLayer &f = cache.fused[layer];
    f.q = materialize(q);
    f.k = fresh;
    f.kCache = kc;
    cache.pathLayer[node->output(0)] = layer;
  }
  return true;
}

llvm::Expected<bool> GraphImporter::importCachedScorePath() {
  int pathInput = -1;
  for (int i = 0; i < node->input_size(); ++i)
    if (cache.cachedColumns.count(node->input(i)))
      pathInput = i;
  if (pathInput < 0)
    return false;
  Tensor cached = cache.cachedColumns[node->input(pathInput)];
  CachedStep::FusedLayer *fused = nullptr;
  if (auto it = cache.pathLayer.find(node->input(pathInput));
      it != cache.pathLayer.end()) {
    fused = &cache.fused[it->second];
    cache.pathLayer[node->output(0)] = it->second;
  }
  bool scale = node->op_type() != "Where";
  for (int i = 0; i < node->input_size(); ++i) {
    if (i == pathInput)
      continue;
    auto t = input(i);
    if (!t)
      return t.takeError();
    scale = scale && isUniformKnown(**t);
  }
  if (fused && fused->fusable) {
    // What cached_attention expresses: positive factors (Mul, or Div of
    // the scores) before or after one causal mask.
    StringRef op = node->op_type();
    if (scale) {
      double c = 0.0;
      if (node->input_size() == 2) {
        auto other = input(1 - pathInput);
        if (other)
          c = (*other)->data->front();
        else
          llvm::consumeError(other.takeError());
      }
      if (op == "Mul" && c > 0)
        fused->scale *= c;
      else if (op == "Div" && pathInput == 0 && c > 0)
        fused->scale /= c;
      else
        fused->fusable = false;
    } else if (!fused->masked && isCausalMaskNode(pathInput)) {
      fused->masked = true;
    } else {
      fused->fusable = false;
    }
  }
  Tensor result;
  if (scale) {
    // The same op on the cached columns, through the same handler.
    std::string name = node->input(pathInput);
    Tensor saved = env[name];
    env[name] = cached;
    llvm::Error err = importElementwise(node->op_type());
    env[name] = saved;
    if (err)
      return std::move(err);
    result = env[node->output(0)];
  } else {
    // A mask: cached column j is visible iff j < start.
    Type f32 = b.getF32Type();
    Value start = startScalar();
    Value negInf =
        constantScalar(f32, -std::numeric_limits<double>::infinity());
    auto map = AffineMap::getMultiDimIdentityMap(4, ctx);
    auto generic = linalg::GenericOp::create(
        b, loc, cached.type, ValueRange{materialize(cached)},
        emptyTensor(cached.shape(), f32), SmallVector<AffineMap>{map, map},
        SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
        [&](OpBuilder &nb, Location nl, ValueRange a) {
          Value j = arith::IndexCastOp::create(
              nb, nl, nb.getI64Type(), linalg::IndexOp::create(nb, nl, 3));
          Value visible = arith::CmpIOp::create(
              nb, nl, arith::CmpIPredicate::slt, j, start);
          linalg::YieldOp::create(
              nb, nl,
              Value(arith::SelectOp::create(nb, nl, visible, a[0], negInf)));
        });
    result = Tensor{cached.type, generic.getResult(0), std::nullopt};
    cache.masked.insert(node->output(0));
  }
  for (const std::string &in : node->input())
    if (cache.masked.count(in))
      cache.masked.insert(node->output(0));
  cache.cachedColumns[node->output(0)] = result;
  if (llvm::Error err = importElementwise(node->op_type()))
    return std::move(err);
  return true;
}

llvm::Expected<bool> GraphImporter::importCachedSoftmax() {
  std::string name = node->input(0);
  auto it = cache.cachedColumns.find(name);
  if (it == cache.cachedColumns.end() || !cache.masked.count(name))
    return nodeError("attention softmax: no causal mask found between the "
                     "scores and the softmax, cannot derive a KV-cached step");
  auto in = input(0);
  if (!in)
    return in.takeError();
  Tensor &fresh = **in;
  Tensor &cached = it->second;
  if (fresh.rank() != 4 || cached.rank() != 4)
    return nodeError("attention softmax: expected 4-D scores");
  Shape shape(fresh.shape());
  shape[3] += cached.shape()[3];
  Value joined = tensor::ConcatOp::create(
      b, loc, RankedTensorType::get(shape, b.getF32Type()), 3,
      ValueRange{materialize(cached), materialize(fresh)});
  Tensor saved = fresh;
  env[name] = Tensor{cast<RankedTensorType>(joined.getType()), joined,
                     std::nullopt};
  llvm::Error err = importSoftmax();
  env[name] = saved;
  if (err)
    return std::move(err);
  if (auto layer = cache.pathLayer.find(name); layer != cache.pathLayer.end())
    cache.pathLayer[node->output(0)] = layer->second;
  return true;
}

llvm::Expected<bool> GraphImporter::importCachedPV(int layer) {
  std::string name = node->input(0);
  auto in = input(0);
  if (!in)
    return in.takeError();
  Tensor probs = **in;
  int64_t C = cache.length;
  if (probs.rank() != 4 || probs.shape()[3] <= C)
    return nodeError("attention P V: expected probabilities over the cached "
                     "and the new positions");
  int64_t heads = probs.shape()[1], seq = probs.shape()[2];
  Type f32 = b.getF32Type();
  Value pv = materialize(probs);
  auto slice = [&](int64_t off, int64_t size) {
    SmallVector<OpFoldResult> offs{b.getIndexAttr(0), b.getIndexAttr(0),
                                   b.getIndexAttr(0), b.getIndexAttr(off)};
    SmallVector<OpFoldResult> sizes{b.getIndexAttr(1), b.getIndexAttr(heads),
                                    b.getIndexAttr(seq), b.getIndexAttr(size)};
    SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
    return tensor::ExtractSliceOp::create(b, loc, pv, offs, sizes, strides)
        .getResult();
  };
  Value pc = slice(0, C), pn = slice(C, seq);
  env[name] = Tensor{cast<RankedTensorType>(pn.getType()), pn, std::nullopt};
  llvm::Error err = importMatMul();
  env[name] = probs;
  if (err)
    return std::move(err);
  Tensor newPart = env[node->output(0)];
  if (newPart.rank() != 4)
    return nodeError("attention P V: expected a 4-D result");
  int64_t headDim = newPart.shape()[3];
  Tensor *v = kvSource(node->input(1), heads, seq, headDim);
  if (!v)
    return nodeError("attention P V: cannot find V as [1, kv_heads, seq, "
                     "head_dim] behind the GQA layout ops");
  int64_t kvHeads = v->shape()[1], rep = heads / kvHeads;
  if (cache.kvShape != std::make_pair(kvHeads, headDim))
    return nodeError("attention P V: V differs from K in heads or head size");
  Value vNew = materialize(*v);
  if (llvm::Error err = resolveCacheStorage(vNew))
    return std::move(err);
  Value vc = cacheSlice(layer, /*isValue=*/true, kvHeads, headDim);
  cache.newKV.push_back(cacheRows(vNew));

  // The whole layer as one op (the ops built for it so far fold away).
  if (auto at = cache.pathLayer.find(name);
      at != cache.pathLayer.end() && at->second == layer) {
    CachedStep::FusedLayer &f = cache.fused[layer];
    auto qType = cast<RankedTensorType>(f.q.getType());
    if (f.fusable && f.masked && qType == newPart.type) {
      Value attention = CachedAttentionOp::create(
          b, loc, qType, f.q, f.k, vNew, f.kCache, vc, cache.startArg,
          b.getF32FloatAttr(float(f.scale)));
      setOutput(0, Tensor{qType, attention, std::nullopt});
      ++stats.cachedAttentionLayers;
      ++stats.fusedAttentionLayers;
      return true;
    }
  }

  // out[0, h, i, d] = newPart[0, h, i, d] + sum_j Pc[0, h, i, j] Vc[0, h/rep, j, d]
  AffineExpr h = b.getAffineDimExpr(1), i = b.getAffineDimExpr(2),
             d = b.getAffineDimExpr(3), j = b.getAffineDimExpr(4),
             zero = b.getAffineDimExpr(0); // the batch of 1
  // Columns j >= start have probability 0: the CPU kernel (attn_pv_cached)
  // skips them, exactly (the cache holds finite values).
  Value cachedOut = cachedContraction(
      pc, vc, bosPlaneSlice(layer, /*isValue=*/true), kvQuantizerOf(vNew),
      AffineMap::get(5, 0, {zero, h, i, j}, ctx),
      AffineMap::get(5, 0, {zero, h.floorDiv(rep), j, d}, ctx),
      AffineMap::get(5, 0, {zero, h, i, d}, ctx), newPart.shape(),
      "attn_pv_cached");
  Tensor cachedT{cast<RankedTensorType>(cachedOut.getType()), cachedOut,
                 std::nullopt};
  auto sum = elementwise(
      {&newPart, &cachedT}, f32,
      [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        return arith::AddFOp::create(nb, nl, a[0], a[1]);
      },
      nullptr);
  if (!sum)
    return sum.takeError();
  setOutput(0, std::move(*sum));
  ++stats.cachedAttentionLayers;
  return true;
}

bool GraphImporter::isCausalMaskNode(int pathInput) {
  // A value at or below this is a masked score: its exp is exactly 0.
  constexpr double kMasked = -1e30;
  auto operand = [&](int i) -> const Tensor * {
    if (i < 0 || i >= node->input_size())
      return nullptr;
    auto t = input(i);
    if (!t) {
      llvm::consumeError(t.takeError());
      return nullptr;
    }
    return *t;
  };
  // The values of `t`: known at import, or a static slice of a constant (a
  // mask table too large to be kept as data, e.g. [4096, 4096], sliced to
  // [seq, seq]).
  auto valuesOf = [&](const Tensor *t) -> std::optional<std::vector<double>> {
    if (!t)
      return std::nullopt;
    if (t->known())
      return *t->data;
    auto slice = t->value ? t->value.getDefiningOp<tensor::ExtractSliceOp>()
                          : tensor::ExtractSliceOp();
    DenseElementsAttr table;
    if (!slice || !slice.hasUnitStride() ||
        !matchPattern(slice.getSource(), m_Constant(&table)) ||
        !isa<FloatType>(table.getElementType()) ||
        llvm::any_of(slice.getStaticOffsets(), ShapedType::isDynamic) ||
        llvm::any_of(slice.getStaticSizes(), ShapedType::isDynamic))
      return std::nullopt;
    ArrayRef<int64_t> offs = slice.getStaticOffsets(),
                      sizes = slice.getStaticSizes(),
                      full = table.getType().getShape();
    int64_t n = numElements(sizes);
    if (n > (int64_t(1) << 20))
      return std::nullopt;
    auto all = table.getValues<APFloat>();
    std::vector<double> out(n);
    for (int64_t e = 0; e < n; ++e) {
      int64_t rest = e, at = 0, stride = 1;
      for (int64_t d = int64_t(sizes.size()) - 1; d >= 0; --d) {
        at += (offs[d] + rest % sizes[d]) * stride;
        rest /= sizes[d];
        stride *= full[d];
      }
      out[e] = table.isSplat() ? all[0].convertToDouble()
                               : all[at].convertToDouble();
    }
    return out;
  };
  // visible(v) of the mask's element v: 1 kept, 0 masked, -1 neither.
  const Tensor *mask = nullptr;
  std::function<int(double)> visible;
  StringRef op = node->op_type();
  if (op == "Add" && node->input_size() == 2) {
    mask = operand(1 - pathInput);
    visible = [](double v) { return v == 0.0 ? 1 : v <= kMasked ? 0 : -1; };
  } else if (op == "Where" && node->input_size() == 3 &&
             (pathInput == 1 || pathInput == 2)) {
    const Tensor *other = operand(3 - pathInput);
    std::optional<std::vector<double>> fill = valuesOf(other);
    if (!fill || fill->empty() ||
        llvm::any_of(*fill, [](double v) { return !(v <= kMasked); }))
      return false;
    mask = operand(0);
    bool keepOnTrue = pathInput == 1;
    visible = [keepOnTrue](double v) { return (v != 0.0) == keepOnTrue; };
  }
  std::optional<std::vector<double>> values = valuesOf(mask);
  if (!values)
    return false;
  // The new columns' scores are [.., S, S]: the mask's last two dimensions
  // must be exactly that (any leading ones, every copy checked).
  int64_t S = cache.tokens, rank = mask->rank();
  ArrayRef<int64_t> shape = mask->shape();
  if (S > 1 && (rank < 2 || shape[rank - 1] != S || shape[rank - 2] != S))
    return false;
  for (auto [e, v] : llvm::enumerate(*values)) {
    int64_t j = S > 1 ? int64_t(e) % S : 0, i = S > 1 ? int64_t(e) / S % S : 0;
    if (visible(v) != (j <= i ? 1 : 0))
      return false;
  }
  return true;
}

/// i32 [quantizers, tokens]: the non-zero codes of each recognized
/// activation quantizer, per token (ImportOptions::countActivationNonzeros).
Value GraphImporter::countNonzeros() {
  Type i32 = b.getI32Type();
  int64_t tokens = cache.tokens > 0 ? cache.tokens : 1;
  if (!activationCodes.empty()) {
    auto t = cast<RankedTensorType>(activationCodes.front().getType());
    tokens = numElements(t.getShape().drop_back());
  }
  SmallVector<Value> rows;
  for (Value codes : activationCodes) {
    auto t = cast<RankedTensorType>(codes.getType());
    int64_t rank = t.getRank();
    if (rank < 2 || numElements(t.getShape().drop_back()) != tokens)
      continue;
    Shape lead(t.getShape().drop_back());
    Value init = linalg::FillOp::create(b, loc, constantScalar(i32, 0),
                                        emptyTensor(lead, i32))
                     .getResult(0);
    SmallVector<AffineExpr> outExprs;
    for (int64_t d = 0; d < rank - 1; ++d)
      outExprs.push_back(b.getAffineDimExpr(d));
    SmallVector<AffineMap> maps{AffineMap::getMultiDimIdentityMap(rank, ctx),
                                AffineMap::get(rank, 0, outExprs, ctx)};
    SmallVector<utils::IteratorType> its(rank - 1, utils::IteratorType::parallel);
    its.push_back(utils::IteratorType::reduction);
    Type elem = t.getElementType();
    Value count =
        linalg::GenericOp::create(
            b, loc, init.getType(), codes, init, maps, its,
            [&](OpBuilder &nb, Location nl, ValueRange a) {
              Value zero = arith::ConstantOp::create(nb, nl, nb.getZeroAttr(elem));
              Value nz = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ne,
                                               a[0], zero);
              Value one = arith::ExtUIOp::create(nb, nl, nb.getI32Type(), nz);
              linalg::YieldOp::create(nb, nl,
                                      Value(arith::AddIOp::create(nb, nl, a[1], one)));
            })
            .getResult(0);
    SmallVector<ReassociationIndices> all{ReassociationIndices{}};
    for (int64_t d = 0; d < rank - 1; ++d)
      all[0].push_back(d);
    if (rank - 1 != 1)
      count = tensor::CollapseShapeOp::create(b, loc, count, all);
    rows.push_back(count);
  }
  int64_t n = int64_t(rows.size());
  Value out = emptyTensor({n, tokens}, i32);
  for (auto [i, row] : llvm::enumerate(rows)) {
    SmallVector<OpFoldResult> offs{b.getIndexAttr(i), b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes{b.getIndexAttr(1), b.getIndexAttr(tokens)};
    SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
    out = tensor::InsertSliceOp::create(b, loc, row, out, offs, sizes, strides);
  }
  return out;
}
