"""Exports a model with explicit past key/values (a KV-cache step).

    /usr/bin/python3 models/export_past.py [names...]      (default: a48 llama)

Inputs: input_ids [1, seq] and, per layer i, past_k_i / past_v_i
[1, kv_heads, past, head_dim] (post-RoPE); outputs: logits [1, seq, vocab]
and present_k_i / present_v_i with the new positions appended. The weights
come from the committed full-sequence export (models/onnx/<name>.onnx); the
TorchScript exporter (torch 1.13, opset 17) writes models/onnx/<name>_past.onnx.
models/reference/<name>_past.npz holds one decode step: the 64th prompt token
with the cache of the first 63 (computed by PyTorch), and PyTorch's logits
and present K/V for it.
"""

import json
import os
import sys

import numpy as np
import onnx
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bitnet_ref import BitNetLM, Config, PastStep, past_export_names  # noqa: E402,E501
from export_dynamo import state_from_onnx  # noqa: E402


def main():
    names = sys.argv[1:] or ["a48", "llama"]
    manifest = json.load(open(os.path.join(HERE, "manifest.json")))
    for name in names:
        cfg = Config(**manifest["models"][name]["config"])
        model = BitNetLM(cfg).eval()
        state_from_onnx(os.path.join(HERE, "onnx", f"{name}.onnx"), model)
        ref = np.load(os.path.join(HERE, "reference", f"{name}.npz"))
        ids = torch.from_numpy(ref["input_ids"])
        empty = [(torch.zeros(1, cfg.kv_heads, 0, cfg.head_dim),) * 2
                 for _ in range(cfg.layers)]
        with torch.no_grad():
            _, past = model.forward_with_past(ids[:, :-1], empty)
            step_logits, present = model.forward_with_past(ids[:, -1:], past)
        flat_past = [t for kv in past for t in kv]
        in_names, out_names, axes = past_export_names(cfg.layers)
        path = os.path.join(HERE, "onnx", f"{name}_past.onnx")
        with torch.no_grad():
            torch.onnx.export(PastStep(model), (ids[:, -1:], *flat_past), path,
                              opset_version=17, input_names=in_names,
                              output_names=out_names, dynamic_axes=axes)
        onnx.checker.check_model(onnx.load(path), full_check=True)
        arrays = {"input_ids": ids[:, -1:].numpy().astype(np.int64),
                  "logits": step_logits.numpy().astype(np.float32),
                  "full_logits": ref["logits"][:, -1:].astype(np.float32)}
        for i, (k, v) in enumerate(past):
            arrays[f"past_k_{i}"] = k.numpy()
            arrays[f"past_v_{i}"] = v.numpy()
        for i, (k, v) in enumerate(present):
            arrays[f"present_k_{i}"] = k.numpy()
            arrays[f"present_v_{i}"] = v.numpy()
        np.savez(os.path.join(HERE, "reference", f"{name}_past.npz"), **arrays)
        diff = float(np.abs(arrays["logits"] - arrays["full_logits"]).max())
        print(f"{path}: {os.path.getsize(path)} bytes; PyTorch decode step vs "
              f"full-sequence logits max|d| {diff:.2e}")


if __name__ == "__main__":
    main()
