"""Trains the small reference models, exports them to ONNX, saves references.

    /usr/bin/python3 models/make_models.py [--steps N] [--out models]

Each variant of bitnet_ref.py is trained briefly (with the STE) as a
byte-level language model on license texts that ship with every Debian
system, so that its next-byte predictions are confident; then exported with
the TorchScript exporter (torch.onnx.export, opset 17) and checked with
onnx.checker. For each export, models/reference/<name>.npz holds the prompt,
PyTorch's logits and every quantizer's integer codes. models/manifest.json
records torch and onnx versions, opset, config, training loss and accuracy.
"""

import argparse
import dataclasses
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bitnet_ref import BitNetLM, Config  # noqa: E402

CORPUS = ["/usr/share/common-licenses/GPL-3",
          "/usr/share/common-licenses/Apache-2.0",
          "/usr/share/common-licenses/MPL-2.0"]
OPSET = 17

# Trained models, and the exports made from each (config overrides).
TRAINED = {
    "llama": dict(variant="llama"),
    "b158": dict(variant="b158", eps_form="clamp"),
    "a48": dict(variant="a48", eps_form="add"),
    "a48fp4": dict(variant="a48fp4", eps_form="clamp"),
}
EXPORTS = {
    "llama": ("llama", {}),
    "b158": ("b158", {}),
    "b158_addeps": ("b158", dict(eps_form="add")),
    "a48": ("a48", {}),
    "a48_threshold": ("a48", dict(topk_form="threshold")),
    "a48fp4": ("a48fp4", {}),
    "a48_kv4": ("a48", dict(kv_bits=4)),
    "a48_kv3": ("a48", dict(kv_bits=3)),
}


def corpus():
    data = b"".join(open(p, "rb").read() for p in CORPUS)
    return torch.tensor(list(data), dtype=torch.long)


def train(cfg, data, steps, seed):
    torch.manual_seed(seed)
    model = BitNetLM(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    batch, seq = 16, cfg.max_seq
    split = int(len(data) * 0.95)
    losses = []
    for step in range(steps):
        ix = torch.randint(0, split - seq - 1, (batch,))
        x = torch.stack([data[i:i + seq] for i in ix])
        y = torch.stack([data[i + 1:i + seq + 1] for i in ix])
        loss = torch.nn.functional.cross_entropy(
            model(x).reshape(-1, cfg.vocab), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    model.eval()
    # Held-out next-byte accuracy.
    with torch.no_grad():
        x = data[split:split + 16 * seq].view(16, seq)
        y = data[split + 1:split + 16 * seq + 1].view(16, seq)
        acc = (model(x).argmax(-1) == y).float().mean().item()
    return model, float(np.mean(losses[-50:])), acc


def greedy(model, prompt, n):
    ids = list(prompt)
    with torch.no_grad():
        for _ in range(n):
            ctx = torch.tensor([ids[-model.cfg.max_seq:]])
            ids.append(int(model(ctx)[0, -1].argmax()))
    return bytes(ids[len(prompt):]).decode("latin-1")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    args = ap.parse_args()
    import onnx

    torch.set_num_threads(os.cpu_count() or 1)
    data = corpus()
    prompt = data[1000:1000 + 64]
    os.makedirs(os.path.join(args.out, "onnx"), exist_ok=True)
    os.makedirs(os.path.join(args.out, "reference"), exist_ok=True)

    trained = {}
    manifest = {"torch": torch.__version__, "onnx": onnx.__version__,
                "exporter": "torchscript (torch.onnx.export)", "opset": OPSET,
                "corpus": CORPUS, "prompt_offset": 1000, "models": {}}
    for name, overrides in TRAINED.items():
        t0 = time.time()
        cfg = Config(**overrides)
        model, loss, acc = train(cfg, data, args.steps, seed=1)
        trained[name] = (model, loss, acc, time.time() - t0)
        sample = greedy(model, prompt.tolist(), 48)
        print(f"{name}: loss {loss:.3f}, held-out top-1 {acc:.3f}, "
              f"{time.time() - t0:.0f} s; continues the prompt with {sample!r}",
              flush=True)

    for name, (base, overrides) in EXPORTS.items():
        model, loss, acc, secs = trained[base]
        cfg = dataclasses.replace(model.cfg, **overrides)
        export = BitNetLM(cfg)
        export.load_state_dict(model.state_dict())
        export.eval()
        path = os.path.join(args.out, "onnx", f"{name}.onnx")
        ids = prompt.view(1, -1)
        with torch.no_grad():
            torch.onnx.export(export, (ids,), path, opset_version=OPSET,
                              input_names=["input_ids"], output_names=["logits"],
                              dynamic_axes={"input_ids": {1: "seq"},
                                            "logits": {1: "seq"}})
            onnx.checker.check_model(onnx.load(path), full_check=True)
            export.record_codes = True
            logits = export(ids).numpy()
        codes = {f"codes/{k}": v for k, v in export.codes.items()}
        # Uncompressed, so that the C++ tests read it without zlib.
        np.savez(os.path.join(args.out, "reference", f"{name}.npz"),
                 input_ids=ids.numpy().astype(np.int64),
                 logits=logits.astype(np.float32), **codes)
        ops = sorted({n.op_type for n in onnx.load(path).graph.node})
        manifest["models"][name] = {
            "file": f"onnx/{name}.onnx", "trained_as": base,
            "config": dataclasses.asdict(cfg), "train_steps": args.steps,
            "train_loss": round(loss, 4), "heldout_top1": round(acc, 4),
            "train_seconds": round(secs, 1), "bytes": os.path.getsize(path),
            "onnx_ops": ops}
        print(f"exported {path} ({os.path.getsize(path)} bytes, {len(ops)} op types)")
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
