//===- CpuFeatures.h - x86 features an artifact needs and a host has -*- C++ -*-===//
//
// The compiler records in the artifact which of these features the code may
// use (those its --mcpu implies); the runtime reads CPUID and XGETBV (the OS
// must also save the wider registers) and refuses artifacts that need more.
// Names are LLVM's feature names.
//
//===----------------------------------------------------------------------===//

#ifndef BITNET_RUNTIME_CPUFEATURES_H
#define BITNET_RUNTIME_CPUFEATURES_H

#include <set>
#include <string>
#include <vector>

namespace bitnet_rt {

/// Every feature the runtime can check, in a fixed order.
const std::vector<std::string> &checkableCpuFeatures();

/// The checkable features this CPU has (and the OS enables).
std::set<std::string> hostCpuFeatures();

/// Empty if `host` has every feature in `required` (a comma-separated
/// list); otherwise a message naming what is missing or cannot be checked.
std::string missingCpuFeatures(const std::string &required,
                               const std::set<std::string> &host);

} // namespace bitnet_rt

#endif // BITNET_RUNTIME_CPUFEATURES_H
