"""Re-exports reference models with the dynamo exporter of current torch.

    python3 models/export_dynamo.py --out DIR [names...]

Needs torch 2.x with onnxscript (the GPU machine has torch 2.11). The
weights come from the committed TorchScript exports (models/onnx/*.onnx):
each initializer is mapped back to its nn.Module parameter (a MatMul's
pre-transposed weight back to [out, in]), the PyTorch model is checked
against models/reference/<name>.npz, then exported with
torch.onnx.export(dynamo=True) and run with ONNX Runtime. Writes
DIR/<name>.dynamo.onnx and DIR/dynamo.json (versions, opset, agreement).
"""

import argparse
import json
import os
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bitnet_ref import BitNetLM, Config  # noqa: E402


def state_from_onnx(path, model):
    m = onnx.load(path)
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    want = model.state_dict()
    state = {k: torch.from_numpy(np.array(v)) for k, v in inits.items() if k in want}
    # Weights the exporter pre-transposed for MatMul: /blocks.0/q_proj/MatMul.
    for node in m.graph.node:
        if node.op_type == "MatMul" and node.input[1] in inits:
            module = node.name.strip("/").rsplit("/", 1)[0].replace("/", ".")
            key = module + ".weight"
            if key in want and key not in state:
                state[key] = torch.from_numpy(np.array(inits[node.input[1]]).T.copy())
    missing = sorted(set(want) - set(state))
    if missing:
        raise SystemExit(f"{path}: cannot recover {missing}")
    model.load_state_dict(state)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("names", nargs="*", default=["llama", "b158", "a48", "a48fp4"])
    args = ap.parse_args()
    import onnxruntime as ort

    manifest = json.load(open(os.path.join(HERE, "manifest.json")))
    os.makedirs(args.out, exist_ok=True)
    report = {"torch": torch.__version__, "onnx": onnx.__version__,
              "onnxruntime": ort.__version__, "exporter": "dynamo", "models": {}}
    for name in args.names:
        cfg = Config(**manifest["models"][name]["config"])
        model = BitNetLM(cfg).eval()
        state_from_onnx(os.path.join(HERE, "onnx", f"{name}.onnx"), model)
        ref = np.load(os.path.join(HERE, "reference", f"{name}.npz"))
        ids = torch.from_numpy(ref["input_ids"])
        with torch.no_grad():
            logits = model(ids).numpy()
        rebuilt = float(np.abs(logits - ref["logits"]).max())
        path = os.path.join(args.out, f"{name}.dynamo.onnx")
        seq = torch.export.Dim("seq", min=2, max=cfg.max_seq)
        program = torch.onnx.export(model, (ids,), dynamo=True,
                                    input_names=["input_ids"],
                                    output_names=["logits"],
                                    dynamic_shapes=({1: seq},), optimize=True)
        program.save(path)
        m = onnx.load(path)
        onnx.checker.check_model(m, full_check=True)
        opset = [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")][0]
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        got = sess.run(["logits"], {"input_ids": ref["input_ids"]})[0]
        rel = float(np.linalg.norm(got - logits) / np.linalg.norm(logits))
        top1 = float((got.argmax(-1) == logits.argmax(-1)).mean())
        ops = sorted({n.op_type for n in m.graph.node})
        report["models"][name] = {"file": f"{name}.dynamo.onnx", "opset": opset,
                                  "rebuilt_max_abs_vs_reference": rebuilt,
                                  "ort_vs_torch_rel_l2": rel,
                                  "ort_vs_torch_top1": top1, "onnx_ops": ops,
                                  "functions": len(m.functions),
                                  "bytes": os.path.getsize(path)}
        print(f"{name}: rebuilt max|d| {rebuilt:.2e}, opset {opset}, "
              f"ORT rel L2 {rel:.2e}, top-1 {top1:.3f}, {len(ops)} op types, "
              f"{len(m.functions)} functions", flush=True)
    json.dump(report, open(os.path.join(args.out, "dynamo.json"), "w"), indent=1,
              sort_keys=True)


if __name__ == "__main__":
    main()
