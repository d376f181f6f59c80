"""PyTorch CPU float32 linear at the BitNet b1.58 2B4T shapes (the baseline
bench/run.py compares the ternary kernel with). Like bitnet-bench-kernels it
cycles through >= 512 MiB of weight copies so weights come from DRAM.
Prints "RESULT torch <shape> <M> <threads> <us> <GB/s>" lines."""
import sys
import time

import torch

SHAPES = [("qkv", 3840, 2560), ("o", 2560, 2560), ("gate_up", 13824, 2560),
          ("down", 2560, 6912)]


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else torch.get_num_threads()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    for name, n, k in SHAPES:
        copies = max(2, (512 << 20) // (n * k * 4))
        ws = [torch.randn(n, k) for _ in range(copies)]
        for m in (1, 16):
            x = torch.randn(m, k)
            torch.nn.functional.linear(x, ws[0])
            iters = min(copies, 200 if m == 1 else 40)
            t0 = time.perf_counter()
            for i in range(iters):
                torch.nn.functional.linear(x, ws[i])
            dt = (time.perf_counter() - t0) / iters
            gbs = (n * k * 4 + m * k * 4) / dt / 1e9
            print(f"RESULT torch {name} {m} {threads} {dt * 1e6:.3f} {gbs:.3f}",
                  flush=True)
        del ws


if __name__ == "__main__":
    main()
