//===- ONNXImporter.h - Build MLIR from a validated ONNX model --*- C++ -*-===//
//
// Turns the main graph of an ONNX model into one func.func on static tensors:
// symbolic dimensions are bound to values first (e.g. seq=64), shape
// arithmetic (Shape, Gather, Concat, Range, ...) is evaluated during import,
// and every other node becomes linalg/tensor/arith/math IR with ONNX's
// numpy-style broadcasting. The result runs through the same reference CPU
// path as bitnet IR.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_CONVERSION_ONNXTOBITNET_ONNXIMPORTER_H
#define BITNET_CONVERSION_ONNXTOBITNET_ONNXIMPORTER_H

#include "bitnet/Conversion/ONNXToBitNet/ONNXModel.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include "llvm/ADT/StringMap.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mlir::bitnet::onnx_import {

/// Large initializers' attributes by name, for imports of one model into one
/// context (an artifact's steps): each is built once, not once per step
/// (building one hashes and compares all of its bytes to unique it).
using LargeConstantCache = llvm::StringMap<DenseElementsAttr>;

struct ImportOptions {
  /// Values of symbolic dimensions, by name (dim_param), e.g. {"seq", 64}.
  std::map<std::string, int64_t> dims;
  /// Where to find and keep large initializers' attributes; null: each
  /// import builds its own.
  LargeConstantCache *largeConstants = nullptr;
  /// Name of the generated function.
  std::string funcName = "main";
  /// Add llvm.emit_c_interface so C++ can call the compiled function.
  bool emitCInterface = true;
  /// Also return the i8 codes of every recognized activation quantizer,
  /// after the graph outputs, in ImportStats::activationQuantizerNodes order
  /// (for comparing codes with the framework's).
  bool exposeActivationCodes = false;
  /// Also return, after those, the number of non-zero codes of every
  /// recognized activation quantizer per token: i32 [quantizers, tokens]
  /// (a quantizer's tokens: the product of its codes' leading dims). The
  /// runtime's sparsity table (the paper's Table 2) is made of these.
  bool countActivationNonzeros = false;
  /// When > 0, derive a KV-cached step instead of the full-sequence forward
  /// (ImporterKVCache.cpp): the `seq` graph positions are new tokens at
  /// positions [start, start + seq) and attention also reads a cache of this
  /// many positions. The function takes the graph inputs, `start`
  /// (tensor<i64>), then K and V caches per layer (f32 [1, kv_heads, length,
  /// head_dim] each, as one argument [2 * layers, 1, kv_heads, length,
  /// head_dim]: K of layer l at 2l, V at 2l + 1); it returns the graph
  /// outputs, then the new tokens' K and V the same way ([2 * layers, 1,
  /// kv_heads, seq, head_dim]), for the caller to store at positions
  /// [start, start + seq).
  int64_t kvCacheLength = 0;
  /// What the cache holds (ImporterKVCache.cpp):
  ///   F32   K/V values as f32 (after the model's KV quantizer, if any);
  ///   F16   the same rounded to f16 (the paper's 16-bit cache: half the
  ///         bytes to keep and to read); attention widens them to f32;
  ///   Q4    the KV quantizer's own codes, two 4-bit codes per byte, then
  ///         the (token, head) scale as 4 f32 bytes: rows of head_dim / 2 + 4
  ///         i8 instead of head_dim values (a 3-bit cache's codes, BOS at 4
  ///         bits, fit too). Needs a KV quantizer on every
  ///         layer's K and V; attention dequantizes as it reads, exactly as
  ///         the quantizer's dequantize does, so logits equal F32's;
  ///   Q3    the same for 3-bit codes in three bit planes (bit p of code d
  ///         at bit d % 8 of byte p D / 8 + d / 8): rows of 3 head_dim / 8
  ///         + 4 i8, and one more row per (layer, head) after the positions
  ///         for the BOS row's fourth plane (its codes may be 4-bit);
  ///   Auto  Q3 or Q4 by the model's KV bits, F32 when it does not quantize
  ///         K/V.
  /// The new K and V are returned in the same form (Q3: rows of all four
  /// planes and the scale, head_dim / 2 + 4 i8, for the runtime to store
  /// three and the BOS row's fourth). ImportStats::kvStorage says what was
  /// chosen.
  enum class KVStorage { F32, F16, Q4, Q3, Auto };
  KVStorage kvStorage = KVStorage::F32;
  /// KV quantizer (bits, BOS bits) found by an import with seq > 1: with
  /// one token a 3-bit cache whose BOS is at 4 bits reads as 4-bit, so the
  /// decode step is told. {0, 0}: none.
  std::pair<int64_t, int64_t> kvBitsHint{0, 0};
  /// KV-cached step: an attention layer whose scores reach the softmax
  /// through positive scale factors and a causal mask only (checked on the
  /// mask's values) becomes one bitnet.cached_attention (f32 and f16
  /// caches); other layers, and every layer when false, are imported as
  /// their ops. The CUDA path sets it: the op is one kernel there.
  bool fuseCachedAttention = false;
};

/// What the importer recognized as BitNet structure.
struct ImportStats {
  int64_t bitLinears = 0;
  int64_t weightQuantizers = 0;
  /// Ternary weights the exporter had already quantized and folded into a
  /// constant (values 0 and +-a).
  int64_t constantTernaryWeights = 0;
  int64_t topKs = 0;
  int64_t kvQuantizers = 0;
  /// Bit width (and BOS width, 0 if none) of the recognized KV quantizers.
  int64_t kvBits = 0, kvBosBits = 0;
  /// The KV cache's storage in a KV-cached step, resolved (never Auto).
  ImportOptions::KVStorage kvStorage = ImportOptions::KVStorage::F32;
  /// Activation quantizers by scheme ("int8_absmax", "int4_absmean", ...).
  std::map<std::string, int64_t> activationQuantizers;
  /// The STE output node of each recognized activation quantizer, in order,
  /// and its scheme ("int8_absmax", "fp4_minmax", ...).
  std::vector<std::string> activationQuantizerNodes;
  std::vector<std::string> activationQuantizerSchemes;
  /// One entry per recognized BitLinear: "<MatMul node> (<scheme>)".
  std::vector<std::string> bitLinearNodes;
  /// Each recognized BitLinear: its node, the index of the activation
  /// quantizer feeding it (in activationQuantizerNodes order; -1: none
  /// recorded), and its weight's [out, in] features.
  struct BitLinearSite {
    std::string node;
    int64_t quantizer = -1, outFeatures = 0, inFeatures = 0;
  };
  std::vector<BitLinearSite> bitLinearSites;
  /// KV-cached step only: attention layers and position vectors rewritten.
  int64_t cachedAttentionLayers = 0, cachedPositionRanges = 0;
  /// Of those, the layers imported as one bitnet.cached_attention.
  int64_t fusedAttentionLayers = 0;
  /// One line for tools: "recognized N BitLinear, ...".
  std::string summary() const;
};

/// Builds a module with one function: graph inputs (initializers excluded)
/// are its arguments, graph outputs its results. STE quantizers and the
/// BitLinear matmuls they feed become bitnet ops (QuantizerPatterns.h);
/// everything else stays the float graph. Errors name the file, node, op
/// and reason.
llvm::Expected<OwningOpRef<ModuleOp>>
importONNXModel(const ONNXModel &model, MLIRContext &context,
                const ImportOptions &options, ImportStats *stats = nullptr);

/// The name of a KV storage ("f32", "f16", "q4", "q3", "auto"): the
/// artifact metadata's `kv_storage` and bitnet-compile's --kv-cache.
llvm::StringRef kvStorageName(ImportOptions::KVStorage storage);
/// The storage a name names, or none.
std::optional<ImportOptions::KVStorage> parseKVStorage(llvm::StringRef name);

/// Parses "name=value" into `dims`; false with a message if malformed.
bool parseDimBinding(llvm::StringRef text, std::map<std::string, int64_t> &dims,
                     std::string &error);

} // namespace mlir::bitnet::onnx_import

#endif // BITNET_CONVERSION_ONNXTOBITNET_ONNXIMPORTER_H
