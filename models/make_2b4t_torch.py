"""Exports a BitNet b1.58 2B4T-shaped model with PyTorch, as a user would.

    /usr/bin/python3 models/make_2b4t_torch.py OUT_DIR [--layers 4]
        [--variant a48|b158|llama] [--past]

make_2b4t.py writes the full 30-layer model in our ai.bitnet op set, which
ONNX Runtime cannot run. This one exports bitnet_ref.BitNetLM at the 2B4T
shapes (hidden 2560, FFN 6912, 20 heads and 5 KV heads of 128, vocab
128256) with random weights through the TorchScript exporter (opset 17),
exactly like the bundled examples: float32 weights, quantizers as standard
ONNX ops. ONNX Runtime runs it as a float graph and bitnet-compile imports
it, so the two run the same export side by side (bench/run.py
--model-2b4t-torch). Float32 weights cost 4 bytes each (the LM head and
embedding alone 2.6 GB), so the default is 4 layers, not 30.

OUT_DIR/2b4t.onnx gets its tensors as external data files next to it and
OUT_DIR/config.json the model's bitnet_ref.Config.
--past also writes OUT_DIR/2b4t_past.onnx, the same weights with explicit
past key/values (models/export_past.py's interface), for ONNX Runtime
decode. Never committed: regenerate it.
"""

import argparse
import dataclasses
import json
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bitnet_ref import (BitNetLM, Config, PastStep,  # noqa: E402
                        past_export_names)

OPSET = 17


def config(variant, layers):
    return Config(variant=variant, vocab=128256, hidden=2560, layers=layers,
                  heads=20, kv_heads=5, ffn=6912, max_seq=2048,
                  rope_theta=500000.0, eps_form="clamp")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--variant", default="a48",
                    choices=["a48", "b158", "llama"])
    ap.add_argument("--past", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.layers < 1:
        sys.exit("make_2b4t_torch.py: --layers must be at least 1")
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(args.seed)
    cfg = config(args.variant, args.layers)
    model = BitNetLM(cfg).eval()
    ids = torch.arange(1000, 1064).view(1, -1)
    t0 = time.time()
    path = os.path.join(args.out, "2b4t.onnx")
    with torch.no_grad():
        torch.onnx.export(model, (ids,), path, opset_version=OPSET,
                          input_names=["input_ids"], output_names=["logits"],
                          dynamic_axes={"input_ids": {1: "seq"},
                                        "logits": {1: "seq"}})
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(dataclasses.asdict(cfg), f, indent=1, sort_keys=True)
    print(f"wrote {path} ({cfg.layers} layers, {args.variant}) in "
          f"{time.time() - t0:.0f} s", flush=True)
    if not args.past:
        return
    empty = [(torch.zeros(1, cfg.kv_heads, 0, cfg.head_dim),) * 2
             for _ in range(cfg.layers)]
    with torch.no_grad():
        _, past = model.forward_with_past(ids[:, :-1], empty)
    flat_past = [t for kv in past for t in kv]
    in_names, out_names, axes = past_export_names(cfg.layers)
    past_dir = os.path.join(args.out, "past")
    os.makedirs(past_dir, exist_ok=True)
    path = os.path.join(past_dir, "2b4t_past.onnx")
    with torch.no_grad():
        torch.onnx.export(PastStep(model), (ids[:, -1:], *flat_past), path,
                          opset_version=OPSET, input_names=in_names,
                          output_names=out_names, dynamic_axes=axes)
    print(f"wrote {path}", flush=True)


if __name__ == "__main__":
    main()
