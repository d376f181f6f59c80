//===- JitTestUtils.h - Build, JIT and call small bitnet functions -*- C++ -*-===//
//
// A test writes one `func.func @run` whose arguments are memrefs: inputs are
// read with bufferization.to_tensor, outputs written with
// materialize_in_destination. It is then lowered by the reference pipeline,
// JIT-compiled, and called with descriptors over std::vectors.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_UNITTESTS_NUMERICS_JITTESTUTILS_H
#define BITNET_UNITTESTS_NUMERICS_JITTESTUTILS_H

#include "bitnet/ExecutionEngine/ReferenceJit.h"

#include "mlir/ExecutionEngine/CRunnerUtils.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace bitnet::test {

inline std::string shapeText(const std::vector<int64_t> &shape,
                             const std::string &elem) {
  std::string s;
  for (int64_t d : shape)
    s += (d < 0 ? std::string("?") : std::to_string(d)) + "x";
  return s + elem;
}

/// Text of `func.func @run` with memref arguments.
class RunFunction {
public:
  /// Adds a memref input; returns the SSA name of its tensor.
  std::string input(const std::string &name, const std::vector<int64_t> &shape,
                    const std::string &elem) {
    std::string mem = "memref<" + shapeText(shape, elem) + ">";
    std::string ten = "tensor<" + shapeText(shape, elem) + ">";
    addArg("%" + name + ": " + mem);
    body += "  %" + name + "_t = bufferization.to_tensor %" + name +
            " restrict : " + mem + " to " + ten + "\n";
    return "%" + name + "_t";
  }
  /// Adds a memref output that receives tensor `value`.
  void output(const std::string &name, const std::string &value,
              const std::vector<int64_t> &shape, const std::string &elem) {
    std::string mem = "memref<" + shapeText(shape, elem) + ">";
    std::string ten = "tensor<" + shapeText(shape, elem) + ">";
    addArg("%out_" + name + ": " + mem);
    body += "  bufferization.materialize_in_destination " + value +
            " in restrict writable %out_" + name + " : (" + ten + ", " + mem +
            ") -> ()\n";
  }
  void scalarArg(const std::string &decl) { addArg(decl); }
  void line(const std::string &text) { body += "  " + text + "\n"; }
  std::string str() const {
    return "func.func @run(" + args +
           ") attributes {llvm.emit_c_interface} {\n" + body + "  return\n}\n";
  }

private:
  void addArg(const std::string &a) { args += (args.empty() ? "" : ", ") + a; }
  std::string args, body;
};

/// A row-major descriptor over `data`.
template <typename T, int N>
StridedMemRefType<T, N> view(std::vector<T> &data,
                             const std::array<int64_t, N> &shape) {
  StridedMemRefType<T, N> m;
  m.basePtr = m.data = data.data();
  m.offset = 0;
  int64_t stride = 1;
  for (int i = N - 1; i >= 0; --i) {
    m.sizes[i] = shape[i];
    m.strides[i] = stride;
    stride *= shape[i];
  }
  return m;
}

template <typename T> StridedMemRefType<T, 0> scalarView(std::vector<T> &data) {
  StridedMemRefType<T, 0> m;
  m.basePtr = m.data = data.data();
  m.offset = 0;
  return m;
}

/// Parses `source` and runs the textual pass `pipeline` on it; a null
/// module, with the test failed and the reason given, if either fails.
mlir::OwningOpRef<mlir::ModuleOp> parseAndRunPasses(mlir::MLIRContext &context,
                                                    const std::string &source,
                                                    const std::string &pipeline);

/// Lowers and JIT-compiles `fn`; fails the test with the diagnostics if not.
std::unique_ptr<mlir::ExecutionEngine> compileOrFail(const RunFunction &fn);

/// Distance in units in the last place between two floats (0 when equal,
/// including +0 == -0).
int64_t ulpDistance(float a, float b);

/// Expects a and b to agree within `maxUlp` everywhere.
void expectNear(const std::vector<float> &got, const std::vector<float> &want,
                int64_t maxUlp, const std::string &what);

/// Expects bit-identical codes.
void expectSameCodes(const std::vector<int8_t> &got,
                     const std::vector<int8_t> &want, const std::string &what,
                     int mask = 0xff);

} // namespace bitnet::test

#endif // BITNET_UNITTESTS_NUMERICS_JITTESTUTILS_H
