# Shared by bench/gpu/prepare-*.sh, sourced after they set root and build.

# need_2b4t DIR: fails, saying how to make it, unless DIR/2b4t.onnx exists.
need_2b4t() {
  [ -f "$1/2b4t.onnx" ] || {
    echo "no $1/2b4t.onnx: run python3 models/make_2b4t.py $1 first" >&2
    exit 1
  }
}

# fresh_carry DEST [TARGET...]: DEST emptied; bitnet-compile, bitnet-run-min,
# the runtime and the TARGETs built; bitnet-run-min and the runtime (what
# runs artifacts on the GPU machine) copied into DEST.
fresh_carry() {
  local dest=$1
  shift
  rm -rf "$dest"
  mkdir -p "$dest"
  ninja -C "$build" bitnet-compile bitnet-run-min bitnet_runtime "$@" >/dev/null
  cp "$build/bin/bitnet-run-min" "$build/runtime/libbitnet_runtime.so" "$dest/"
}
