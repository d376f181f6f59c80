#!/usr/bin/env python3
"""Merges bitnet-gpu-bench records (one file per kernel-library variant) and
baselines.py's into the markdown table of bench/results/gpu-*.md.

  python3 bench/gpu/report.py ours-*.json torch.json
"""
import json
import sys


def sparse_vs_dense(title, fraction, counted, count_key, us_label, runs_by,
                    ours, bw):
    """A table of kernels that skip work (keyed (layer, per mille, M))
    against the dense kernel of the same layer."""
    print(f"\n{title}\n")
    print(f"| layer | N x K | M | {fraction} | {counted} | {us_label} | "
          "dense us | speedup | bytes bound us | exact |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (name, permille, m), runs in sorted(runs_by.items()):
        variant, best = min(runs, key=lambda vr: vr[1]["us"])
        dense = min((r["us"] for _, r in ours.get((name, m), [])), default=0)
        bound = best["bytes"] / (bw * 1e3) if bw else 0
        print(f"| {name} | {best['n']}x{best['k']} | {m} | {permille / 10:.1f}% | "
              f"{best.get(count_key, '?')} | {best['us']:.2f} ({variant}) | "
              f"{dense:.2f} | {dense / best['us'] if best['us'] else 0:.2f}x | "
              f"{bound:.2f} | "
              f"{'yes' if all(r['exact'] for _, r in runs) else 'NO'} |")


def main():
    ours, fused, gated, glu, glu_fused, cols, torch_rows, hbm = (
        {}, {}, {}, {}, {}, {}, {}, [])
    for path in sys.argv[1:]:
        variant = path.rsplit("/", 1)[-1].replace(".json", "").replace("ours-", "")
        for line in open(path):
            r = json.loads(line)
            if r["what"] == "hbm_read":
                hbm.append(r["gbs"])
            elif r["what"] == "bitlinear" and "_cols" in r["kernel"]:
                name, zeros = r["kernel"].rsplit("_m", 1)[0].split("_cols")
                cols.setdefault((name, int(zeros), r["m"]), []).append((variant, r))
            elif r["what"] == "bitlinear" and "_glu" in r["kernel"]:
                name, rest = r["kernel"].rsplit("_m", 1)[0].split("_glu")
                closed = int(rest.split("_")[0])
                which = glu_fused if rest.endswith("_fused") else glu
                which.setdefault((name, closed, r["m"]), []).append((variant, r))
            elif r["what"] == "bitlinear" and "_gated" in r["kernel"]:
                name, closed = r["kernel"].rsplit("_m", 1)[0].split("_gated")
                gated.setdefault((name, int(closed), r["m"]), []).append((variant, r))
            elif r["what"] == "bitlinear" and r.get("prologue"):
                name = r["kernel"].rsplit("_m", 1)[0].replace("_fused", "")
                fused.setdefault((name, r["m"]), []).append((variant, r))
            elif r["what"] == "bitlinear":
                name = r["kernel"].rsplit("_m", 1)[0]
                ours.setdefault((name, r["m"]), []).append((variant, r))
            elif r["what"] == "torch":
                torch_rows[(r["name"], r["m"])] = r
    bw = max(hbm) if hbm else 0
    print(f"HBM read bandwidth (our streaming kernel, 2 GiB): {bw:.0f} GB/s\n")
    print("| layer | N x K | M | ours us (variant) | read floor us | bytes bound us | "
          "floor/ours | cuBLAS bf16 us | vs bf16 | cuBLASLt int8 us | exact |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for (name, m), runs in sorted(ours.items(), key=lambda kv: (kv[0][0][:3], kv[0][0], kv[0][1])):
        variant, best = min(runs, key=lambda vr: vr[1]["us"])
        t = torch_rows.get((name, m), {})
        bound = best["bytes"] / (bw * 1e3) if bw else 0
        bf16 = t.get("bf16_us")
        int8 = t.get("int8_us")
        print(f"| {name} | {best['n']}x{best['k']} | {m} | {best['us']:.2f} ({variant}) | "
              f"{best['floor_us']:.2f} | {bound:.2f} | "
              f"{best['floor_us'] / best['us']:.2f} | "
              f"{bf16 if bf16 is not None else 'n/a'} | "
              f"{(bf16 / best['us']) if bf16 else 0:.2f}x | "
              f"{int8 if int8 is not None else 'n/a'} | "
              f"{'yes' if all(r['exact'] for _, r in runs) else 'NO'} |")
    if fused:
        print("\nQuantizer prologue: the kernel quantizes f32 activations "
              "itself (quantize-into-GEMM), against the same layer taking "
              "codes (both the best launch shape):\n")
        print("| layer | N x K | M | prologue | fused us | codes-in us | "
              "overhead | read floor us | floor/fused | exact |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for (name, m), runs in sorted(fused.items()):
            variant, best = min(runs, key=lambda vr: vr[1]["us"])
            plain = min((r["us"] for _, r in ours.get((name, m), [])), default=0)
            print(f"| {name} | {best['n']}x{best['k']} | {m} | {best['prologue']} | "
                  f"{best['us']:.2f} ({variant}) | {plain:.2f} | "
                  f"{best['us'] / plain if plain else 0:.2f}x | "
                  f"{best['floor_us']:.2f} | {best['floor_us'] / best['us']:.2f} | "
                  f"{'yes' if all(r['exact'] for _, r in runs) else 'NO'} |")
    if gated:
        sparse_vs_dense(
            "Gate-first up projection (bitnet.gated_bitlinear): only the rows "
            "whose gate is open are read, against the dense layer (both the "
            "best launch shape; gates closed at random rows):",
            "gates closed", "open rows", "open_rows", "gated us", gated, ours, bw)
    if glu:
        print("\nGate-first ReLU2-GLU in one kernel (gate projection, then the "
              "up rows whose gate is open, relu2_glu), against the dense FFN "
              "front: the gate and up projections as two dense kernels, and "
              "against the dense gate plus the gated up kernel above (best "
              "launch shapes):\n")
        print("| layer | N x K | M | gates closed | up rows read | GLU kernel us | "
              "dense gate + up us | speedup | dense gate + gated up us | "
              "bytes bound us | GLU with quantizer prologue us | exact |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for (name, closed, m), runs in sorted(glu.items()):
            variant, best = min(runs, key=lambda vr: vr[1]["us"])
            dense = min((r["us"] for _, r in ours.get((name, m), [])), default=0)
            gup = min((r["us"] for _, r in gated.get((name, closed, m), [])), default=0)
            bound = best["bytes"] / (bw * 1e3) if bw else 0
            up_rows = best.get("open_rows", 0) - best["n"]
            fused_runs = glu_fused.get((name, closed, m), [])
            fvariant, fbest = min(fused_runs, key=lambda vr: vr[1]["us"],
                                  default=("-", {"us": 0}))
            exact = all(r["exact"] for _, r in runs + fused_runs)
            print(f"| {name} | {best['n']}x{best['k']} | {m} | {closed / 10:.1f}% | "
                  f"{up_rows} | {best['us']:.2f} ({variant}) | {2 * dense:.2f} | "
                  f"{2 * dense / best['us'] if best['us'] else 0:.2f}x | "
                  f"{dense + gup:.2f} | {bound:.2f} | "
                  f"{fbest['us']:.2f} ({fvariant}) | "
                  f"{'yes' if exact else 'NO'} |")
    if cols:
        sparse_vs_dense(
            "Column kernel (bits2_cols weights): only the weight columns of "
            "non-zero inputs are read, against the dense layer (best launch "
            "shape; zero inputs at random positions):",
            "zero inputs", "columns read", "nonzero_cols", "column us", cols,
            ours, bw)
    print("\nAll variants (us):\n")
    variants = sorted({v for runs in ours.values() for v, _ in runs})
    print("| layer | M | " + " | ".join(variants) + " |")
    print("|---|---|" + "---|" * len(variants))
    for (name, m), runs in sorted(list(ours.items()) +
                                  [((n + " (fused)", m), r) for (n, m), r in fused.items()] +
                                  [((f"{n} (gated {c / 10:.1f}%)", m), r)
                                   for (n, c, m), r in gated.items()] +
                                  [((f"{n} (GLU {c / 10:.1f}%)", m), r)
                                   for (n, c, m), r in glu.items()] +
                                  [((f"{n} (GLU {c / 10:.1f}%, f32 in)", m), r)
                                   for (n, c, m), r in glu_fused.items()] +
                                  [((f"{n} (columns, {z / 10:.1f}% zeros)", m), r)
                                   for (n, z, m), r in cols.items()]):
        by = {v: r["us"] for v, r in runs}
        print(f"| {name} | {m} | " + " | ".join(f"{by[v]:.2f}" if v in by else "-" for v in variants) + " |")


if __name__ == "__main__":
    main()
