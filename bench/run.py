#!/usr/bin/env python3
"""One command, one machine, one run: bitnet-mlir's CPU numbers side by side
with their baselines, written as a markdown table.

  kernels   the runtime's ternary BitLinear kernel at BitNet b1.58 2B4T shapes
            (M = 1 decode GEMV, M = 16 prefill chunk; 1 thread and all) vs the
            DRAM read bandwidth measured in the same run and vs PyTorch CPU
            float32 linear on the same shapes (Debian's python3-torch);
  models    every bundled export compiled to an artifact and run by bitnet-run
            (64-token prompt, 64 new tokens) vs ONNX Runtime on the same
            export: prefill = the full-sequence export on the 64-token prompt,
            decode = the explicit past-KV export (models/onnx/*_past.onnx,
            where one exists), 64 steps;
  sparse    the a4.8 FFN decode step at 2B4T shapes, gate-first + zero
            skipping kernels vs our dense kernels, at the paper's sparsities
            and at the bundled a4.8 model's (gate closed fraction measured by
            ONNX Runtime on the prompt, down-projection input zeros by
            bitnet-run's sparsity table), and the TopK-50% output projection;
  2B4T      (with --model-2b4t PATH, models/make_2b4t.py's output): compile
            time, artifact size and bits per ternary weight, prefill and
            decode tokens/s, with and without the sparse kernels;
  2B4T torch (with --model-2b4t-torch DIR, repeatable: models/
            make_2b4t_torch.py's exports, a few layers at 2B4T shapes in
            standard ONNX ops): bitnet-run vs ONNX Runtime on the same export,
            prefill and decode (its past-KV export).
--sections picks some of kernels, models, 2b4t, 2b4t-torch (default: all).

Run with the ONNX Runtime venv's python (scripts/bench-cpu does it all):
  .venv-ort/bin/python bench/run.py --build build --out bench/results/cpu.md
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROMPT = [int(v) for v in
          "111,32,102,114,101,101,100,111,109,44,32,110,111,116,10,112,114,105,"
          "99,101,46,32,32,79,117,114,32,71,101,110,101,114,97,108,32,80,117,"
          "98,108,105,99,32,76,105,99,101,110,115,101,115,32,97,114,101,32,"
          "100,101,115,105,103,110,101,100,32".split(",")]
MODELS = ["llama", "b158", "a48", "a48fp4", "a48_kv4"]


def run(cmd, env=None, timeout=3600):
    e = dict(os.environ)
    if env:
        e.update(env)
    p = subprocess.run(cmd, capture_output=True, text=True, env=e,
                       timeout=timeout)
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{p.stdout}{p.stderr}")
    return p.stdout


def results(text, kind):
    out = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 2 and f[0] == "RESULT" and f[1] == kind:
            out[tuple(f[2:-2])] = (float(f[-2]), float(f[-1]))
    return out


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def example_sparsity(build, tmp):
    """The bundled a4.8 export's FFN sparsity on the prompt: the fraction of
    gate pre-activations <= 0 (ONNX Runtime, the gate MatMuls' outputs) and
    the fraction of zero down-projection input codes (bitnet-run's table)."""
    import onnx
    path = os.path.join(ROOT, "models", "onnx", "a48.onnx")
    model = onnx.load(path)
    gates = [n.output[0] for n in model.graph.node
             if n.op_type == "MatMul" and "gate_proj" in n.name]
    for g in gates:
        model.graph.output.append(onnx.ValueInfoProto(name=g))
    sess = ort.InferenceSession(model.SerializeToString(),
                                providers=["CPUExecutionProvider"])
    outs = sess.run(gates, {"input_ids": np.array([PROMPT], dtype=np.int64)})
    closed = float(np.mean(np.concatenate([(o <= 0).ravel() for o in outs])))
    art = os.path.join(tmp, "a48-sparsity.bnx")
    run([os.path.join(build, "bin", "bitnet-compile"), path, "-o", art])
    text = run([os.path.join(build, "bin", "bitnet-run"), art, "--prompt-ids",
                ",".join(map(str, PROMPT)), "--max-new-tokens", "0"])
    down = float(re.search(r"^\s*down\s+\S+\s+([\d.]+)%", text, re.M).group(1))
    return closed, down / 100


def bench_kernels(build, threads, sparsity=None):
    out = {}
    extra = []
    if sparsity:
        extra = ["--sparsity", "paper:0.675:0.80",
                 "--sparsity", "example:%.4f:%.4f" % sparsity]
    for t in (1, threads):
        text = run([os.path.join(build, "bin", "bitnet-bench-kernels")] + extra,
                   env={"BITNET_NUM_THREADS": str(t)})
        for line in text.splitlines():
            f = line.split()
            if len(f) == 8 and f[:2] == ["RESULT", "ffn"]:
                out[("ffn", f[2], float(f[3]), float(f[4]), t)] = (
                    float(f[6]), float(f[7]))
            if len(f) == 6 and f[:2] == ["RESULT", "oproj"]:
                out[("oproj", float(f[2]), t)] = (float(f[4]), float(f[5]))
            if len(f) == 7 and f[:2] == ["RESULT", "prefill"]:
                out[("prefill", f[2], int(f[3]), t)] = (float(f[5]),
                                                        float(f[6]))
            if len(f) == 7 and f[:2] == ["RESULT", "attention"]:
                out[("attention", int(f[2]), f[3], t)] = (float(f[5]),
                                                          float(f[6]))
        km = re.search(r"kernel: (\S+)", text)
        if km:
            out["kernel"] = km.group(1)
        bw = [l for l in text.splitlines() if l.startswith("RESULT bandwidth")]
        bws = {int(l.split()[2]): float(l.split()[3]) for l in bw}
        for key, val in results(text, "kernel").items():
            if key[0] in ("ffn", "oproj", "attention", "prefill"):
                continue
            out[(key[0], int(key[1]), t)] = (val[0], val[1], bws.get(t, bws[1]))
        torch_text = run(["/usr/bin/python3", os.path.join(ROOT, "bench",
                                                          "torch_linear.py"),
                          str(t)])
        for key, val in results(torch_text, "torch").items():
            out[("torch", key[0], int(key[1]), t)] = val
    return out


def kernel_name(build):
    """The runtime's row kernel on this CPU (bitnet-bench-kernels says)."""
    text = run([os.path.join(build, "bin", "bitnet-bench-kernels"),
                "--print-kernel"])
    return text.split("kernel:", 1)[1].strip()


def bitnet_model(build, onnx_path, tmp, reps=3, env=None, max_context=128,
                 new_tokens=64, compile_args=()):
    """(prefill, decode) tokens/s and compile seconds; the artifact is
    compiled once and reused by later calls (env: e.g. BITNET_UKERNEL)."""
    art = os.path.join(tmp, os.path.basename(onnx_path) + ".bnx")
    compile_s = None
    if not os.path.exists(art):
        t0 = time.perf_counter()
        run([os.path.join(build, "bin", "bitnet-compile"), onnx_path,
             f"--max-context={max_context}", *compile_args, "-o", art])
        compile_s = time.perf_counter() - t0
    # One process, the generation repeated from an empty cache: the best
    # run is warm (weights paged in), like ONNX Runtime's after its warm-up.
    text = run([os.path.join(build, "bin", "bitnet-run"), art,
                "--prompt-ids", ",".join(map(str, PROMPT)),
                "--max-new-tokens", str(new_tokens), "--repeat", str(reps + 1)],
               env=env)
    m = re.search(r"prefill: \d+ tokens in [\d.]+ s \(([\d.]+) tokens/s\); "
                  r"decode: \d+ tokens in [\d.]+ s \(([\d.]+) tokens/s\)", text)
    best = (float(m.group(1)), float(m.group(2)))
    return best, compile_s


def ort_model(full_path, past_path, reps=3, new_tokens=64):
    """ONNX Runtime's best (prefill, decode) tokens/s on the prompt: the
    full-sequence export, and new_tokens steps of the past-KV export after
    the prompt (decode None without one)."""
    so = ort.SessionOptions()
    full = ort.InferenceSession(full_path, so,
                                providers=["CPUExecutionProvider"])
    ids = np.array([PROMPT], dtype=np.int64)
    full.run(None, {"input_ids": ids})
    prefill = 0.0
    for _ in range(reps):
        t0 = time.perf_counter()
        full.run(None, {"input_ids": ids})
        prefill = max(prefill, len(PROMPT) / (time.perf_counter() - t0))
    del full
    if not past_path or not os.path.exists(past_path):
        return prefill, None
    sess = ort.InferenceSession(past_path, so, providers=["CPUExecutionProvider"])
    inputs = sess.get_inputs()
    decode = 0.0
    for _ in range(reps):
        feeds = {}
        for i in inputs[1:]:
            shape = [1 if s == 1 else (0 if isinstance(s, str) else s) for s in i.shape]
            feeds[i.name] = np.zeros(shape, dtype=np.float32)
        # Prompt first (not timed), then the single-token steps.
        feeds["input_ids"] = ids
        outs = sess.run(None, feeds)
        tok = int(np.argmax(outs[0][0, -1]))
        t0 = time.perf_counter()
        for _ in range(new_tokens):
            for j, i in enumerate(inputs[1:]):
                feeds[i.name] = outs[1 + j]
            feeds["input_ids"] = np.array([[tok]], dtype=np.int64)
            outs = sess.run(None, feeds)
            tok = int(np.argmax(outs[0][0, -1]))
        decode = max(decode, new_tokens / (time.perf_counter() - t0))
    return prefill, decode


def ort_decode_cells(ort_decode, ours, digits):
    """The table cells of ONNX Runtime's decode tok/s (`digits` decimals)
    and of each of `ours` against it; without a past-KV export, n/a."""
    if not ort_decode:
        return "n/a (no past-KV export)", ["-" for _ in ours]
    return (f"{ort_decode:.{digits}f}",
            [f"{o / ort_decode:.1f}x" for o in ours])


def compile_2b4t(build, path, art, lm_head="f32", sparse=True):
    """Compiles the 2B4T-shaped export; its compile time and sizes."""
    t0 = time.perf_counter()
    text = run([os.path.join(build, "bin", "bitnet-compile"), path,
                "--max-context=256", "--lm-head=" + lm_head,
                "--sparse-kernels=" + ("true" if sparse else "false"), "-o", art])
    compile_s = time.perf_counter() - t0
    m = re.search(r"weights (\d+) bytes in \d+ tensors, (\d+) ternary", text)
    return {"compile_s": compile_s, "artifact_bytes": os.path.getsize(art),
            "weight_bytes": int(m.group(1)), "ternary": int(m.group(2)),
            "prefill": 0.0, "decode": 0.0}


def run_2b4t(build, art, r):
    """One bitnet-run process (best of 3 generations); keeps r's best."""
    out = run([os.path.join(build, "bin", "bitnet-run"), art, "--prompt-ids",
               ",".join(map(str, PROMPT)), "--max-new-tokens", "16",
               "--repeat", "3"])
    m = re.search(r"prefill: \d+ tokens in [\d.]+ s \(([\d.]+) tokens/s\); "
                  r"decode: \d+ tokens in [\d.]+ s \(([\d.]+) tokens/s\)", out)
    r["prefill"] = max(r["prefill"], float(m.group(1)))
    r["decode"] = max(r["decode"], float(m.group(2)))


def kernel_tables(args, threads, say):
    """The kernel, sparse FFN, prefill GEMM and attention tables."""
    with tempfile.TemporaryDirectory() as tmp:
        closed, down = example_sparsity(args.build, tmp)
    k = bench_kernels(args.build, threads, (closed, down))
    kernel = k.pop("kernel", "?")
    say("## Ternary BitLinear kernel vs DRAM bandwidth and PyTorch f32 linear")
    say()
    say(f"Kernel: {kernel}. Shapes are BitNet b1.58 2B4T's (N x K). GB/s = bytes the kernel must "
        "read (packed 2-bit weights + int8 inputs) / time; weights cycle "
        "through >= 512 MiB of copies so every call reads DRAM.")
    say()
    say("| shape | M | threads | ours (us) | ours GB/s | % of DRAM read BW | "
        "torch f32 (us) | speedup vs torch |")
    say("|---|---|---|---|---|---|---|---|")
    for (shape, m, t), (us, gbs, bw) in sorted(
            ((key, v) for key, v in k.items()
             if key[0] not in ("torch", "ffn", "oproj", "attention", "prefill")),
            key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
        tus = k.get(("torch", shape, m, t), (float("nan"),))[0]
        say(f"| {shape} | {m} | {t} | {us:.1f} | {gbs:.2f} | "
            f"{100 * gbs / bw:.0f}% of {bw:.1f} GB/s | {tus:.1f} | {tus / us:.1f}x |")
    say()

    say("## a4.8 sparse FFN decode vs our dense FFN (2B4T shapes, M = 1)")
    say()
    say("dense = gate+up 13824 x 2560 and down 2560 x 6912 on the row "
        "kernel; sparse = gate 6912 x 2560, the up projection over open gates "
        "only (gated kernel) and the down projection over non-zero inputs "
        "only (column kernel, bits2_cols). Zeros placed at random; weights "
        "cycle through >= 512 MiB so every step reads DRAM. The bundled a4.8 "
        f"model's own sparsity on the prompt: {100 * closed:.1f}% of gate "
        f"pre-activations <= 0 (ONNX Runtime), {100 * down:.1f}% of "
        "down-projection input codes zero (bitnet-run).")
    say()
    say("| sparsities | gate closed | down inputs zero | threads | dense (us) | "
        "sparse (us) | speedup |")
    say("|---|---|---|---|---|---|---|")
    for key in sorted(x for x in k if x[0] == "ffn"):
        dus, sus = k[key]
        say(f"| {key[1]} | {100 * key[2]:.1f}% | {100 * key[3]:.1f}% | {key[4]} | "
            f"{dus:.1f} | {sus:.1f} | {dus / sus:.2f}x |")
    say()
    say("TopK-50% output projection (2560 x 2560): row kernel vs column kernel "
        "over the non-zero half.")
    say()
    say("| threads | dense (us) | sparse (us) | speedup |")
    say("|---|---|---|---|")
    for key in sorted(x for x in k if x[0] == "oproj"):
        dus, sus = k[key]
        say(f"| {key[2]} | {dus:.1f} | {sus:.1f} | {dus / sus:.2f}x |")
    say()

    say("## Prefill GEMM: the VNNI row kernel vs AMX tiles (2B4T shapes)")
    say()
    say("The dense BitLinear kernel at prefill sizes, the same calls on each "
        "kernel (weights from DRAM, mean of the calls); AMX where the CPU has "
        "AMX-INT8 (the runtime takes it from 16 activation rows). down_cols and "
        "o_cols: the column kernel of the sparse down (80% zeros a row) and "
        "output (50%) projections, whose union over the rows is nearly dense.")
    say()
    say("| shape | M | threads | VNNI (us) | AMX (us) | AMX GMAC/s | speedup |")
    say("|---|---|---|---|---|---|---|")
    dims = {"qkv": (3840, 2560), "o": (2560, 2560), "gate_up": (13824, 2560),
            "down": (2560, 6912), "down_cols": (2560, 6912),
            "o_cols": (2560, 2560)}
    for key in sorted((x for x in k if x[0] == "prefill"),
                      key=lambda x: (list(dims).index(x[1]), x[2], x[3])):
        vus, aus = k[key]
        n, kk = dims[key[1]]
        if aus > 0:
            say(f"| {key[1]} | {key[2]} | {key[3]} | {vus:.1f} | {aus:.1f} | "
                f"{key[2] * n * kk / aus / 1e3:.0f} | {vus / aus:.2f}x |")
        else:
            say(f"| {key[1]} | {key[2]} | {key[3]} | {vus:.1f} | n/a (no AMX) "
                f"| - | - |")
    say()

    say("## Decode attention over the KV cache (2B4T shapes)")
    say()
    say("One decode step's cached attention (scores and P V) over all 30 "
        "layers, 20 query heads on 5 KV heads of 128, the cache full to the "
        "context; f32 and f16 caches hold values, q4 the KV quantizer's 4-bit "
        "codes and a scale per row (a48_kv4 artifacts), q3 its 3-bit codes as "
        "bit planes and a scale (a48_kv3); q4 and q3 give logits identical "
        "to f32. Best of 15 steps.")
    say()
    say("| context | threads | cache | cache MB | us per step | GB/s | vs f32 |")
    say("|---|---|---|---|---|---|---|")
    for key in sorted((x for x in k if x[0] == "attention"),
                      key=lambda x: (x[1], x[3], ["f32", "f16", "q4", "q3"].index(x[2]))):
        us, mb = k[key]
        f32us = k[("attention", key[1], "f32", key[3])][0]
        say(f"| {key[1]} | {key[3]} | {key[2]} | {mb:.1f} | {us:.0f} | "
            f"{mb / us * 1e3:.2f} | {f32us / us:.2f}x |")
    say()



def model_table(args, say):
    """The bundled exports: bitnet-run vs ONNX Runtime."""
    say("## Whole models: bitnet-run artifacts vs ONNX Runtime on the same export")
    say()
    say("64-token prompt, 64 new tokens (greedy). ORT prefill: the "
        "full-sequence export on the prompt; ORT decode: the past-KV export; "
        "each the best of 3 runs after a warm-up run. Ours: the best of 4 "
        "generations in one bitnet-run process (--repeat 4; the first is "
        f"cold). Ours and ORT alternate for {args.rounds} rounds; each "
        "column is its side's best.")
    say()
    say(f"Kernels: {kernel_name(args.build)} (what this CPU gets); the last two columns run "
        "the same artifact on the portable C++ kernels (BITNET_UKERNEL="
        "portable) in the same run.")
    say()
    say("| model | ours prefill tok/s | ORT prefill tok/s | ratio | ours decode "
        "tok/s | ORT decode tok/s | ratio | compile s | portable prefill / "
        "decode tok/s | ours / portable |")
    say("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in MODELS:
            onnx_path = os.path.join(ROOT, "models", "onnx", name + ".onnx")
            onnx_dir = os.path.join(ROOT, "models", "onnx")
            # Ours and ORT alternate, each side's best of the rounds: this
            # VM's speed moves by up to 2x for seconds at a time, and a
            # slow spell on one side only would skew the ratio.
            pf = dc = opf = 0.0
            odc = None
            cs = None
            for _ in range(args.rounds):
                (p, d), c = bitnet_model(args.build, onnx_path, tmp)
                pf, dc = max(pf, p), max(dc, d)
                cs = c if c is not None else cs
                op, od = ort_model(os.path.join(onnx_dir, name + ".onnx"),
                                   os.path.join(onnx_dir, name + "_past.onnx"))
                opf = max(opf, op)
                odc = od if odc is None else max(odc, od)
            (ppf, pdc), _ = bitnet_model(args.build, onnx_path, tmp,
                                         env={"BITNET_UKERNEL": "portable"})
            odc_s, (ratio,) = ort_decode_cells(odc, [dc], 0)
            say(f"| {name} | {pf:.0f} | {opf:.0f} | {pf / opf:.1f}x | {dc:.0f} | "
                f"{odc_s} | {ratio} | {cs:.1f} | {ppf:.0f} / {pdc:.0f} | "
                f"{pf / ppf:.1f}x / {dc / pdc:.1f}x |")
        say()


def table_2b4t(args, say):
    """models/make_2b4t.py's export: compile time, size, tokens/s."""
    with tempfile.TemporaryDirectory() as tmp:
        say("## BitNet b1.58 2B4T shapes (random weights, a4.8 scheme)")
        say()
        say("64-token prompt, 16 new tokens; the best of 3 generations in "
            "one process (--repeat 3; the first pays for paging the "
            "weights in). The int8-head sparse and dense artifacts "
            f"alternate for {args.rounds} such processes, each row its "
            "best. The LM head "
            "(vocab 128256 x 2560, tied to the embedding) is float32 as "
            "exported, f16 with --lm-head=f16 (half the bytes), "
            "int8 with --lm-head=int8 (a quarter) or int4 with "
            "--lm-head=int4 (0.625 bytes a weight; logits move the "
            "most).")
        say()
        say("| LM head | kernels | compile s | artifact MiB | bits per "
            "ternary weight | prefill tok/s | decode tok/s |")
        say("|---|---|---|---|---|---|---|")
        rows = []
        for head in ("f32", "f16", "int4"):
            art = os.path.join(tmp, "2b4t.bnx")
            r = compile_2b4t(args.build, args.model_2b4t, art, head)
            run_2b4t(args.build, art, r)
            os.remove(art)
            rows.append((head, True, r))
        # Sparse against dense kernels (int8 head): the two artifacts
        # alternate for the rounds, each row its best.
        arts = {sp: os.path.join(tmp, f"2b4t-{sp}.bnx") for sp in (True, False)}
        pair = {sp: compile_2b4t(args.build, args.model_2b4t, arts[sp], "int8",
                                 sp) for sp in (True, False)}
        for _ in range(args.rounds):
            for sp in (True, False):
                run_2b4t(args.build, arts[sp], pair[sp])
        for sp in (True, False):
            os.remove(arts[sp])
            rows.append(("int8", sp, pair[sp]))
        for head, sparse, r in rows:
            say(f"| {head} | {'sparse' if sparse else 'dense'} | "
                f"{r['compile_s']:.0f} | "
                f"{r['artifact_bytes'] / 2**20:.0f} | 2.0 (packed: "
                f"{r['ternary'] / 1e9:.2f} G weights in "
                f"{r['ternary'] / 4 / 2**20:.0f} MiB) | {r['prefill']:.1f} | "
                f"{r['decode']:.2f} |")
        say()


def table_2b4t_torch(args, say):
    """models/make_2b4t_torch.py's exports: bitnet-run vs ONNX Runtime."""
    say("## 2B4T shapes as a PyTorch export: bitnet-run vs ONNX Runtime")
    say()
    say("models/make_2b4t_torch.py: bitnet_ref.BitNetLM at the 2B4T shapes "
        "(hidden 2560, FFN 6912, 20/5 heads, vocab 128256, untied float32 LM "
        "head), random weights, exported by torch.onnx.export like the "
        "bundled examples, with fewer layers than 30 (float32 weights: "
        "ONNX Runtime needs 4 bytes a weight). Both run the same export: ORT "
        "the full-sequence graph (prefill, 64-token prompt; all 64 "
        "positions' logits, as exported) and the past-KV graph (16 decode "
        "steps); ours the artifact compiled from the full-sequence graph "
        "(the LM head of a prefill runs on the last position only), best of "
        "3 generations in one process after a cold one; ours and ORT "
        f"alternate for {args.rounds} rounds, each column its side's best. "
        "The int8-head columns "
        "are the same export compiled with --lm-head=int8 (changes the "
        "logits; a prefill reads the head once, for its last position).")
    say()
    say("| variant | layers | ours prefill tok/s | ORT prefill tok/s | ratio "
        "| ours prefill, int8 head | ratio | ours decode tok/s | ORT decode "
        "tok/s | ratio | ours decode, int8 head | ratio | compile s |")
    say("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for d in args.model_2b4t_torch:
        cfg = json.load(open(os.path.join(d, "config.json")))
        full = os.path.join(d, "2b4t.onnx")
        pf = dc = pf8 = dc8 = opf = 0.0
        odc = None
        cs = None
        with tempfile.TemporaryDirectory() as tmp, \
                tempfile.TemporaryDirectory() as tmp8:
            # Ours (f32 and int8 heads) and ORT alternate, each its best.
            for _ in range(args.rounds):
                (p, dd), c = bitnet_model(args.build, full, tmp,
                                          max_context=128, new_tokens=16)
                pf, dc = max(pf, p), max(dc, dd)
                cs = c if c is not None else cs
                (p8, d8), _ = bitnet_model(args.build, full, tmp8,
                                           max_context=128, new_tokens=16,
                                           compile_args=["--lm-head=int8"])
                pf8, dc8 = max(pf8, p8), max(dc8, d8)
                op, od = ort_model(full,
                                   os.path.join(d, "past", "2b4t_past.onnx"),
                                   reps=2, new_tokens=16)
                opf = max(opf, op)
                odc = od if odc is None else max(odc, od)
        odc_s, (ratio, ratio8) = ort_decode_cells(odc, [dc, dc8], 2)
        say(f"| {cfg['variant']} | {cfg['layers']} | {pf:.1f} | {opf:.1f} | "
            f"{pf / opf:.1f}x | {pf8:.1f} | {pf8 / opf:.1f}x | {dc:.2f} | "
            f"{odc_s} | {ratio} | {dc8:.2f} | "
            f"{ratio8} | {cs:.0f} |")
    say()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--out", default=None)
    ap.add_argument("--model-2b4t", default=None,
                    help="models/make_2b4t.py's 2b4t.onnx")
    ap.add_argument("--model-2b4t-torch", action="append", default=[],
                    metavar="DIR", help="a models/make_2b4t_torch.py output "
                    "folder (repeatable: one per variant)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="whole-model comparisons: rounds in which ours and "
                    "the baseline alternate (each side's best is reported)")
    ap.add_argument("--sections", default="kernels,models,2b4t,2b4t-torch",
                    help="comma-separated subset of kernels, models, 2b4t, "
                    "2b4t-torch (the last two also need their models)")
    args = ap.parse_args()
    if args.rounds < 1:
        sys.exit("bench: --rounds must be at least 1")
    sections = set(args.sections.split(","))
    unknown = sections - {"kernels", "models", "2b4t", "2b4t-torch"}
    if unknown:
        sys.exit(f"bench: unknown --sections {','.join(sorted(unknown))}")
    threads = os.cpu_count()
    lines = []
    say = lambda s="": (print(s, flush=True), lines.append(s))  # noqa: E731
    say(f"# bitnet-mlir CPU benchmark, {datetime.date.today()}")
    say()
    say(f"- CPU: {cpu_name()}, {threads} logical cores")
    say(f"- command: `{' '.join(sys.argv)}`")
    say(f"- ONNX Runtime {ort.__version__} (CPUExecutionProvider, default "
        f"threads); PyTorch from Debian's python3-torch")
    say()
    if "kernels" in sections:
        kernel_tables(args, threads, say)
    if "models" in sections:
        model_table(args, say)
    if "2b4t" in sections and args.model_2b4t:
        table_2b4t(args, say)
    if "2b4t-torch" in sections and args.model_2b4t_torch:
        table_2b4t_torch(args, say)
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
