"""On the GPU machine: runs the compiler's TopK kernels (topk.ptx, made by
bench/gpu/prepare-topk.sh from bitnet-launch-topk-kernel)
on crafted rows and compares them with the reference ranking: keep the k
elements of largest |x| (ties: lower index first), NaN always kept."""
import ctypes, re, sys
import numpy as np
import torch

cu = ctypes.CDLL("libcuda.so.1")
def check(r, what):
    if r != 0:
        raise SystemExit(f"{what} failed: {r}")
torch.zeros(1, device="cuda")  # primary context current
ptx = open(sys.argv[1] if len(sys.argv) > 1 else "topk.ptx", "rb").read() + b"\0"
mod = ctypes.c_void_p()
check(cu.cuModuleLoadData(ctypes.byref(mod), ptx), "cuModuleLoadData")

def reference(x, k):
    y = np.zeros_like(x)
    for r in range(x.shape[0]):
        row = x[r]
        nan = np.isnan(row)
        idx = np.nonzero(~nan)[0]
        order = idx[np.lexsort((idx, -np.abs(row[idx])))]
        keep = np.zeros(row.shape, bool)
        keep[order[:k]] = True
        keep |= nan
        y[r] = np.where(keep, row, 0.0)
    return y

def run(name, x, threads):
    m, d = x.shape
    fn = ctypes.c_void_p()
    check(cu.cuModuleGetFunction(ctypes.byref(fn), mod, name.encode()), name)
    xin = torch.from_numpy(x).cuda()
    out = torch.full_like(xin, 12345.0)
    vals = []
    for t in (xin, out):
        p = t.data_ptr()
        vals += [ctypes.c_uint64(p), ctypes.c_uint64(p), ctypes.c_int64(0),
                 ctypes.c_int64(m), ctypes.c_int64(d), ctypes.c_int64(d),
                 ctypes.c_int64(1)]
    params = (ctypes.c_void_p * len(vals))(*[ctypes.cast(ctypes.byref(v), ctypes.c_void_p) for v in vals])
    check(cu.cuLaunchKernel(fn, m, 1, 1, threads, 1, 1, 0, None, params, None), "launch")
    torch.cuda.synchronize()
    return out.cpu().numpy()

rng = np.random.default_rng(1)
kernels = {}
for line in open(sys.argv[1] if len(sys.argv) > 1 else "topk.ptx"):
    mm = re.match(r"\.visible \.entry (topk_m(\d+)_d(\d+)_k(\d+))\(", line)
    if mm:
        kernels[mm.group(1)] = tuple(int(g) for g in mm.groups()[1:])
fails = 0
for name, (m, d, k) in kernels.items():
    threads = min(1024, (d + 31) // 32 * 32)
    cases = {
        "normal": rng.standard_normal((m, d)),
        "ties": rng.choice([-2.0, -1.0, -0.0, 0.0, 1.0, 2.0], (m, d)),
        "zeros": np.zeros((m, d)),
        "few-distinct": rng.choice([3.0, -3.0], (m, d)) * rng.choice([1.0, 1.0, 0.5], (m, d)),
        "inf-denormal": rng.choice([np.inf, -np.inf, 1e-40, -1e-40, 1.0], (m, d)),
    }
    nanrow = rng.standard_normal((m, d)); nanrow[:, ::3] = np.nan
    cases["nan"] = nanrow
    mostly = np.full((m, d), np.nan); mostly[:, :max(1, k // 3)] = rng.standard_normal((m, max(1, k // 3)))
    cases["mostly-nan"] = mostly
    for cname, x in cases.items():
        x = x.astype(np.float32)
        got = run(name, x, threads)
        want = reference(x, k)
        same = np.array_equal(got.view(np.uint32), want.view(np.uint32))
        if not same:
            # -0.0 vs 0.0 counts as a difference too: the reference keeps x.
            bad = np.nonzero(got.view(np.uint32) != want.view(np.uint32))
            print(f"{name} {cname}: MISMATCH at {len(bad[0])} elements, first {bad[0][0]},{bad[1][0]}: got {got[bad][0]} want {want[bad][0]}")
            fails += 1
        else:
            print(f"{name} {cname}: identical ({int((got != 0).sum())} non-zero of {m * d})")
print("topk kernels:", "ALL IDENTICAL" if fails == 0 else f"{fails} MISMATCHES")
sys.exit(1 if fails else 0)
