//===- PackingLoweringTest.cpp - Packing in IR vs bitnet/Support ----------===//
//
// pack_ternary and unpack_ternary lowered to linalg must produce exactly the
// bytes of the plain C++ layout definition, and so must the constant folder.
// The functions take and return !bitnet.packed_ternary directly, which also
// exercises the signature conversion of the reference lowering.
//
//===----------------------------------------------------------------------===//

#include "JitTestUtils.h"

#include "bitnet/Support/TernaryPacking.h"

#include <cstdlib>
#include <random>

using namespace ternary;
using namespace bitnet;
using namespace bitnet::test;

namespace {

struct PackCase {
  std::string layout;
  int64_t k;
};

void PrintTo(const PackCase &c, std::ostream *os) {
  *os << c.layout << " k=" << c.k;
}

class PackingLoweringTest : public ::testing::TestWithParam<PackCase> {};

std::string packModule(const PackCase &c, int64_t rows) {
  std::string codes = "tensor<" + std::to_string(rows) + "x" +
                      std::to_string(c.k) + "xi8>";
  std::string packed = "!bitnet.packed_ternary<" + std::to_string(rows) + "x" +
                       std::to_string(c.k) + ", " + c.layout + ">";
  return "func.func @pack(%x: " + codes + ") -> " + packed +
         " attributes {llvm.emit_c_interface} {\n"
         "  %p = bitnet.pack_ternary %x : " + codes + " -> " + packed + "\n"
         "  return %p : " + packed + "\n}\n"
         "func.func @unpack(%p: " + packed + ") -> " + codes +
         " attributes {llvm.emit_c_interface} {\n"
         "  %x = bitnet.unpack_ternary %p : " + packed + " -> " + codes + "\n"
         "  return %x : " + codes + "\n}\n";
}

TEST_P(PackingLoweringTest, MatchesSupportLayoutBitForBit) {
  const PackCase &c = GetParam();
  const int64_t rows = 3;
  PackedLayout layout =
      c.layout == "bits2" ? PackedLayout::Bits2 : PackedLayout::Trits5;
  int64_t bytesPerRow = packedRowBytes(layout, c.k);

  static std::unique_ptr<mlir::MLIRContext> context =
      mlir::bitnet::createReferenceContext();
  auto engine =
      mlir::bitnet::compileReferenceJit(*context, packModule(c, rows));
  ASSERT_TRUE(bool(engine)) << llvm::toString(engine.takeError());

  std::mt19937 rng(23);
  std::vector<int8_t> codes(rows * c.k);
  for (int8_t &v : codes)
    v = int8_t(int(rng() % 3) - 1);
  codes[0] = 5; // out of range: clamps to 1
  codes[1] = -9;
  std::vector<int8_t> clamped(codes);
  clamped[0] = 1;
  clamped[1] = -1;

  auto in = view<int8_t, 2>(codes, {rows, c.k});
  StridedMemRefType<int8_t, 2> packed{};
  llvm::Error err = (*engine)->invoke("pack", &packed, &in);
  ASSERT_FALSE(err) << llvm::toString(std::move(err));
  ASSERT_EQ(packed.sizes[0], rows);
  ASSERT_EQ(packed.sizes[1], bytesPerRow);
  std::vector<uint8_t> want(rows * bytesPerRow);
  packTernaryRows(layout, codes.data(), rows, c.k, want.data());
  for (int64_t i = 0; i < rows * bytesPerRow; ++i)
    ASSERT_EQ(uint8_t(packed.data[packed.offset + i]), want[i]) << "byte " << i;

  StridedMemRefType<int8_t, 2> unpacked{};
  err = (*engine)->invoke("unpack", &unpacked, &packed);
  ASSERT_FALSE(err) << llvm::toString(std::move(err));
  for (int64_t i = 0; i < rows * c.k; ++i)
    ASSERT_EQ(unpacked.data[unpacked.offset + i], clamped[i]) << "weight " << i;
  std::free(packed.basePtr);
  std::free(unpacked.basePtr);
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, PackingLoweringTest,
    ::testing::Values(PackCase{"bits2", 64}, PackCase{"bits2", 67},
                      PackCase{"trits5", 65}, PackCase{"trits5", 67},
                      PackCase{"trits5", 1}),
    [](const ::testing::TestParamInfo<PackCase> &info) {
      return info.param.layout + "_k" + std::to_string(info.param.k);
    });

// The column-contiguous layout: [k, colBlocks(n), 64] bytes; n = 300 has a
// partial second block, whose missing rows must pack as code 1.
TEST(PackingLoweringTest, ColumnLayoutMatchesSupportBitForBit) {
  const int64_t n = 300, k = 5, blocks = colBlocks(n);
  const char *source = R"mlir(
func.func @pack(%x: tensor<300x5xi8>) -> !bitnet.packed_ternary<300x5, bits2_cols> attributes {llvm.emit_c_interface} {
  %p = bitnet.pack_ternary %x : tensor<300x5xi8> -> !bitnet.packed_ternary<300x5, bits2_cols>
  return %p : !bitnet.packed_ternary<300x5, bits2_cols>
}
func.func @unpack(%p: !bitnet.packed_ternary<300x5, bits2_cols>) -> tensor<300x5xi8> attributes {llvm.emit_c_interface} {
  %x = bitnet.unpack_ternary %p : !bitnet.packed_ternary<300x5, bits2_cols> -> tensor<300x5xi8>
  return %x : tensor<300x5xi8>
}
)mlir";
  static std::unique_ptr<mlir::MLIRContext> context =
      mlir::bitnet::createReferenceContext();
  auto engine = mlir::bitnet::compileReferenceJit(*context, source);
  ASSERT_TRUE(bool(engine)) << llvm::toString(engine.takeError());
  std::mt19937 rng(29);
  std::vector<int8_t> codes(n * k);
  for (int8_t &v : codes)
    v = int8_t(int(rng() % 3) - 1);
  auto in = view<int8_t, 2>(codes, {n, k});
  StridedMemRefType<int8_t, 3> packed{};
  llvm::Error err = (*engine)->invoke("pack", &packed, &in);
  ASSERT_FALSE(err) << llvm::toString(std::move(err));
  ASSERT_EQ(packed.sizes[0], k);
  ASSERT_EQ(packed.sizes[1], blocks);
  ASSERT_EQ(packed.sizes[2], kColBlockBytes);
  std::vector<uint8_t> want(blocks * k * kColBlockBytes);
  packTernaryCols(codes.data(), n, k, want.data());
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_EQ(uint8_t(packed.data[packed.offset + i]), want[i]) << "byte " << i;
  StridedMemRefType<int8_t, 2> unpacked{};
  err = (*engine)->invoke("unpack", &unpacked, &packed);
  ASSERT_FALSE(err) << llvm::toString(std::move(err));
  for (int64_t i = 0; i < n * k; ++i)
    ASSERT_EQ(unpacked.data[unpacked.offset + i], codes[i]) << "weight " << i;
  std::free(packed.basePtr);
  std::free(unpacked.basePtr);
}

// Constant folding (pack of a constant, then unpack of the packed constant)
// through the whole pipeline gives back the codes.
TEST(PackingFolderTest, FoldedPackThenUnpackGivesTheCodes) {
  const char *source = R"mlir(
func.func @unpack_const() -> tensor<2x7xi8> attributes {llvm.emit_c_interface} {
  %c = arith.constant dense<[[1, -1, 0, 0, 1, 1, -1], [0, 0, 0, -1, 1, 0, 1]]> : tensor<2x7xi8>
  %p = bitnet.pack_ternary %c : tensor<2x7xi8> -> !bitnet.packed_ternary<2x7, trits5>
  %u = bitnet.unpack_ternary %p : !bitnet.packed_ternary<2x7, trits5> -> tensor<2x7xi8>
  return %u : tensor<2x7xi8>
}
)mlir";
  static std::unique_ptr<mlir::MLIRContext> context =
      mlir::bitnet::createReferenceContext();
  auto engine = mlir::bitnet::compileReferenceJit(*context, source);
  ASSERT_TRUE(bool(engine)) << llvm::toString(engine.takeError());
  StridedMemRefType<int8_t, 2> out{};
  llvm::Error err = (*engine)->invoke("unpack_const", &out);
  ASSERT_FALSE(err) << llvm::toString(std::move(err));
  const int8_t want[] = {1, -1, 0, 0, 1, 1, -1, 0, 0, 0, -1, 1, 0, 1};
  for (int i = 0; i < 14; ++i)
    EXPECT_EQ(out.data[out.offset + i], want[i]) << i;
}

} // namespace
