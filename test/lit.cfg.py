# -*- Python -*-
import os

import lit.formats
from lit.llvm import llvm_config

config.name = "bitnet"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir"]
config.excludes = ["lit.cfg.py", "lit.site.cfg.py", "CMakeLists.txt", "Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.bitnet_obj_root, "test")
config.substitutions.append(("%bitnet_src_root", config.bitnet_src_root))
config.substitutions.append(("%cc", config.host_cc))
config.substitutions.append(("%python", "/usr/bin/python3"))

# gpu-module-to-binary makes cubins with the CUDA toolkit's ptxas.
import shutil
ptxas = shutil.which("ptxas") or "/usr/local/cuda/bin/ptxas"
if os.path.exists(ptxas):
    config.available_features.add("ptxas")
config.substitutions.append(("%ptxas", ptxas))

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.add_tool_substitutions(
    ["bitnet-opt", "bitnet-compile", "bitnet-run", "bitnet-run-min"], [config.bitnet_tools_dir]
)
llvm_config.add_tool_substitutions(["FileCheck", "not", "count"],
                                   [config.llvm_tools_dir])
