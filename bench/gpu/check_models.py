"""Compares CUDA artifacts' logits with PyTorch and with the CPU artifact.

For each model: the logits bitnet-run --device=cuda dumped for the
reference prompt against PyTorch's (models/reference/*.npz) and against the
CPU artifact's, as relative L2 error, max |difference| and top-1 agreement
over the prompt positions, and the greedy continuation against the CPU
artifact's. The criteria are ArtifactModelTest's: relative L2 <= 2e-3 and
top-1 on every position (<= 2e-2 and all but 4 positions for models that
quantize K/V, where a rounding tie flips a 3- or 4-bit code).
Models named <model>-split are <model> compiled with its reductions split
into parallel partials (float sums in another order); <model>-lmint8 are
<model> with the int8 LM head (--lm-head=int8) on both targets: held to the
criteria against the CPU artifact with the same head, and to the looser
quantized-K/V criteria against PyTorch's float head (its effect reported);
For every model the sparsity table of the greedy run (bitnet-run's
Table 2: non-zero codes counted in the quantizer kernels on the GPU) must
equal the CPU artifact's, line for line (models that quantize K/V: active
parameters within 0.05% of a row's, a code flipped at a rounding tie).
<model>-lmf16 / -lmbf16 have the LM head in f16 / bf16 on both targets,
held to the plain criteria against both (they move the logits by ~7e-5 /
~6e-4 relative on the CPU);
<model>-kvf16 are <model> with an f16 KV cache on both targets, likewise
(the CPU's f16 cache moves the logits of activation-quantized models by up
to ~1.5e-2 against PyTorch); <model>-chunk16 run the prompt in prefill
chunks of 16 tokens on both targets (CUDA's default is 64: tensor-core
layers of 16 rows instead of 64), held to the plain criteria.
"""

import os
import sys

import numpy as np


def compare(got, want):
    got = got.reshape(-1, got.shape[-1])
    want = want.reshape(-1, want.shape[-1])
    rel = float(np.linalg.norm(got - want) / np.linalg.norm(want))
    top1 = int((got.argmax(-1) == want.argmax(-1)).sum())
    return rel, float(np.abs(got - want).max()), top1, got.shape[0]


def sparsity_table(path):
    """The sparsity table bitnet-run printed into the log at `path`."""
    lines, inside = [], False
    for text in open(path).read().splitlines():
        inside = inside or text.startswith("sparsity (measured")
        if inside:
            lines.append(text)
            if text.startswith("  BitLinear parameters active"):
                break
    return "\n".join(lines).strip()


def table_difference(got, want):
    """The largest |active params difference| / params over the rows of two
    sparsity tables, 0 for identical tables; None when they differ in
    anything else (rows, labels, parameter counts)."""
    if got == want:
        return 0.0
    a, b = got.splitlines(), want.splitlines()
    if len(a) != len(b) or not a or a[0] != b[0]:
        return None
    worst = 0.0
    for x, y in zip(a[1:], b[1:]):
        fx, fy = x.split(), y.split()
        # "<label> <quantizer> <sparsity>% <params> <active params>"
        if (len(fx) == len(fy) == 5 and fx[:2] == fy[:2] and fx[3] == fy[3]
                and fx[3].isdigit()):
            worst = max(worst, abs(int(fx[4]) - int(fy[4])) / int(fx[3]))
        elif x.strip().startswith("BitLinear parameters active"):
            continue  # the rows' sum
        elif x != y:
            return None
    return worst


def main(models, out, reference):
    ok = True
    names = sorted(f[:-len(".prompt")] for f in os.listdir(models)
                   if f.endswith(".prompt"))
    for m in names:
        path = os.path.join(out, f"{m}.cuda.npy")
        if not os.path.exists(path):
            print(f"{m:14s} FAIL: no CUDA logits")
            ok = False
            continue
        gpu = np.load(path)
        # "<model>-split": the model compiled with every reduction split
        # (--gpu-split-reductions=64), against the same references.
        base = m.split("-")[0]
        torch = np.load(os.path.join(reference, f"{base}.npz"))["logits"]
        cpu = np.load(os.path.join(models, f"{m}.cpu.npy"))
        kv_quant = "kv" in m
        int8_head = m.endswith("-lmint8")
        half_cache = m.endswith("-kvf16")
        line, good = f"{m:14s}", True
        for label, want in (("torch", torch), ("cpu", cpu)):
            rel, mx, top1, seq = compare(gpu, want)
            line += f" vs {label}: rel L2 {rel:.1e} max|d| {mx:.1e} top-1 {top1}/{seq};"
            loose = kv_quant or ((int8_head or half_cache) and label == "torch")
            good &= rel <= (2e-2 if loose else 2e-3)
            good &= top1 >= (seq - 4 if loose else seq)
        ids = open(os.path.join(out, f"{m}.cuda.ids")).read().split()
        want_ids = open(os.path.join(models, f"{m}.cpu.ids")).read().split()
        same = sum(a == b for a, b in zip(ids, want_ids))
        line += f" greedy tokens = cpu: {same}/{len(want_ids)}"
        # The sparsity table of that greedy run (counts of non-zero codes,
        # taken in the quantizer kernels on the GPU): the CPU's, exactly.
        table = os.path.join(models, f"{m}.cpu.sparsity")
        if os.path.exists(table) and same == len(want_ids):
            want_table = open(table).read().strip()
            got_table = sparsity_table(os.path.join(out, f"{m}.run.log"))
            # (A model without activation quantizers prints no table.)
            # Models that quantize K/V may flip a code at a rounding tie
            # (as their logits criteria allow): their active parameters
            # may differ by 0.05% of a row's.
            diff = table_difference(got_table, want_table)
            agree = diff is not None and diff <= (5e-4 if kv_quant else 0)
            if agree and diff:
                line += f"; sparsity table = cpu within {diff:.1e} of a row's params"
            else:
                line += "; sparsity table = cpu" if agree else "; sparsity table DIFFERS"
            good &= agree
        print(line + ("" if good else "  FAIL"))
        ok &= good
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
