//===- BufferRoots.h - The buffer a memref is a view of --------*- C++ -*-===//
//
// Passes over bufferized code ask which buffer a memref value reads or
// writes: the value defined by the allocation, global or argument behind
// its chain of views (subview, reshape, cast, ...).
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_TRANSFORMS_BUFFERROOTS_H
#define BITNET_TRANSFORMS_BUFFERROOTS_H

#include "mlir/IR/Value.h"

namespace mlir::bitnet {

/// The memref `value` is a view of, followed back through every
/// ViewLikeOpInterface op (memref.cast included); `value` itself if it is
/// no view.
Value getBufferRoot(Value value);

/// Whether memrefs `a` and `b` may share memory: only distinct roots of
/// which one is a fresh allocation (alloc, alloca), or two different
/// globals, cannot.
bool buffersMayAlias(Value a, Value b);

/// Whether the memory memrefs `a` and `b` view may overlap. Both roots must
/// be buffers (an allocation, a global or a function argument; anything
/// else, e.g. a root picked at run time by select, may be any of them);
/// then buffersMayAlias decides, refined for two views of one buffer when
/// both reach it through subview, cast and reshape ops with static layouts
/// (their element spans in it must intersect).
bool viewsMayOverlap(Value a, Value b);

} // namespace mlir::bitnet

#endif // BITNET_TRANSFORMS_BUFFERROOTS_H
