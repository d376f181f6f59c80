#!/usr/bin/env python3
"""The GPU benchmark's baselines, measured the way bitnet-gpu-bench measures
our kernels: per (shape, M), `calls` launches captured in one CUDA graph,
each on a different copy of the weights (>= 256 MiB cycled: every call reads
HBM), median replay time / calls.

  cuBLAS bf16      torch.matmul(x, W^T), x [M, K], W [N, K] bf16
  cuBLASLt int8    torch._int_mm(x, W^T) (PyTorch refuses M <= 16)

  python3 bench/gpu/baselines.py --json torch.json
"""
import argparse
import json

import torch

SHAPES = [
    ("b2b4t_qkv", 3840, 2560), ("b2b4t_out", 2560, 2560),
    ("b2b4t_gate_up", 6912, 2560), ("b2b4t_down", 2560, 6912),
    ("b7b_qkv", 12288, 4096), ("b7b_out", 4096, 4096),
    ("b7b_gate_up", 11008, 4096), ("b7b_down", 4096, 11008),
]
MS = [1, 16, 128, 2048]


def time_graph(fn, calls, reps=30):
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for i in range(calls):  # warm-up, outside the graph
            fn(i)
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        for i in range(calls):
            fn(i)
    for _ in range(3):
        g.replay()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        g.replay()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) * 1000.0 / calls)
    times.sort()
    return times[len(times) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", required=True)
    args = ap.parse_args()
    torch.manual_seed(0)
    out = open(args.json, "w")
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    for name, n, k in SHAPES:
        wbytes = n * k * 2
        copies = max(8, (256 << 20) // wbytes + 1)
        ws = [torch.randn(n, k, device="cuda", dtype=torch.bfloat16) for _ in range(copies)]
        wi = None
        for m in MS:
            x = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
            y = torch.empty(m, n, device="cuda", dtype=torch.bfloat16)
            bf16 = time_graph(lambda i: torch.matmul(x, ws[i].t(), out=y), copies)
            rec = {"what": "torch", "name": name, "m": m, "n": n, "k": k,
                   "bf16_us": round(bf16, 3), "int8_us": None}
            if m > 16:
                if wi is None:
                    icopies = max(8, (256 << 20) // (n * k) + 1)
                    wi = [torch.randint(-1, 2, (n, k), device="cuda", dtype=torch.int8)
                          for _ in range(icopies)]
                xi = torch.randint(-128, 128, (m, k), device="cuda", dtype=torch.int8)
                rec["int8_us"] = round(time_graph(lambda i: torch._int_mm(xi, wi[i].t()),
                                                  len(wi)), 3)
            print(json.dumps(rec), flush=True)
            out.write(json.dumps(rec) + "\n")
        del ws, wi
        torch.cuda.empty_cache()
    out.close()


if __name__ == "__main__":
    main()
