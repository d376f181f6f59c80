#!/usr/bin/env python3
"""PyTorch bf16 baseline for the 2B4T-shaped model, run beside run-2b4t.sh.

The same architecture and shapes as models/make_2b4t.py's export (hidden
2560, 30 layers, 20 query / 5 KV heads of 128, RoPE, RMSNorm, ReLU^2-GLU FFN
6912, tied embedding / LM head, vocab 128256) as a plain bf16 model with
random weights and a static KV cache of --context positions; full-precision
linears (what a user runs without our compiler; the BitNet quantizers are
left out, which only makes the baseline faster). Measures, batch 1:

  prefill  a --prompt-token prompt in one step (eager, as a CUDA graph, and
           with --compile torch.compile of the step inside the graph)
  decode   --tokens greedy steps, eager and replayed as a CUDA graph (the
           step reads its position from a device tensor, so one graph
           serves every step), and with --compile, torch.compile of the
           step inside the graph

  python3 bench/gpu/torch_2b4t.py [--layers 30] [--compile]
"""
import argparse
import time

import torch

HIDDEN, FFN, HEADS, KV_HEADS, HEAD_DIM, VOCAB = 2560, 6912, 20, 5, 128, 128256


class Model:
    def __init__(self, layers, context):
        g = torch.Generator(device="cuda").manual_seed(0)
        bf = torch.bfloat16

        def w(*shape):
            return torch.randn(*shape, device="cuda", dtype=bf, generator=g) * 0.02

        self.emb = w(VOCAB, HIDDEN)
        self.layers = [dict(
            ln1=torch.ones(HIDDEN, device="cuda", dtype=bf),
            wqkv=w((HEADS + 2 * KV_HEADS) * HEAD_DIM, HIDDEN),
            wo=w(HIDDEN, HEADS * HEAD_DIM),
            ln2=torch.ones(HIDDEN, device="cuda", dtype=bf),
            wgu=w(2 * FFN, HIDDEN),
            wd=w(HIDDEN, FFN)) for _ in range(layers)]
        self.norm = torch.ones(HIDDEN, device="cuda", dtype=bf)
        self.k = torch.zeros(layers, KV_HEADS, context, HEAD_DIM, device="cuda", dtype=bf)
        self.v = torch.zeros_like(self.k)
        inv = 1.0 / (500000.0 ** (torch.arange(0, HEAD_DIM, 2, device="cuda") / HEAD_DIM))
        ang = torch.arange(context, device="cuda")[:, None] * inv[None, :]
        self.cos = torch.cat([ang.cos()] * 2, -1).to(bf)
        self.sin = torch.cat([ang.sin()] * 2, -1).to(bf)
        self.keys = torch.arange(context, device="cuda")

    @staticmethod
    def rmsnorm(x, w):
        v = x.float().pow(2).mean(-1, keepdim=True)
        return (x.float() * torch.rsqrt(v + 1e-5)).to(x.dtype) * w

    def rope(self, x, pos):
        c, s = self.cos[pos][None], self.sin[pos][None]
        half = HEAD_DIM // 2
        rot = torch.cat([-x[..., half:], x[..., :half]], -1)
        return x * c + rot * s

    def step(self, ids, start):
        """ids [T] int64, start: int64 tensor [1] on the device."""
        t = ids.shape[0]
        pos = start + torch.arange(t, device="cuda")
        x = self.emb[ids]
        # Keys visible to each query: the cache up to its own position.
        mask = torch.where(self.keys[None, :] <= pos[:, None], 0.0,
                           float("-inf")).to(x.dtype)
        for i, p in enumerate(self.layers):
            h = self.rmsnorm(x, p["ln1"])
            qkv = h @ p["wqkv"].T
            q, k, v = qkv.split([HEADS * HEAD_DIM, KV_HEADS * HEAD_DIM,
                                 KV_HEADS * HEAD_DIM], -1)
            q = self.rope(q.view(t, HEADS, HEAD_DIM).transpose(0, 1), pos)
            k = self.rope(k.view(t, KV_HEADS, HEAD_DIM).transpose(0, 1), pos)
            v = v.view(t, KV_HEADS, HEAD_DIM).transpose(0, 1)
            self.k[i].index_copy_(1, pos, k)
            self.v[i].index_copy_(1, pos, v)
            kk = self.k[i].repeat_interleave(HEADS // KV_HEADS, 0)
            vv = self.v[i].repeat_interleave(HEADS // KV_HEADS, 0)
            att = torch.softmax((q @ kk.transpose(1, 2)) * HEAD_DIM ** -0.5
                                + mask, -1)
            o = (att @ vv).transpose(0, 1).reshape(t, HEADS * HEAD_DIM)
            x = x + o @ p["wo"].T
            h = self.rmsnorm(x, p["ln2"])
            g, u = (h @ p["wgu"].T).chunk(2, -1)
            x = x + (torch.relu(g).square() * u) @ p["wd"].T
        return self.rmsnorm(x[-1:], self.norm) @ self.emb.T


def timed(fn, reps):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / reps


def graphed(fn):
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(2):
            fn()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        fn()
    return g


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=30)
    ap.add_argument("--context", type=int, default=256)
    ap.add_argument("--prompt-tokens", type=int, default=32)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--compile", action="store_true")
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = True
    m = Model(a.layers, a.context)
    prompt = torch.arange(1000, 1000 + a.prompt_tokens, device="cuda")
    zero = torch.zeros(1, dtype=torch.int64, device="cuda")
    with torch.inference_mode():
        sec = timed(lambda: m.step(prompt, zero), 5)
        print(f"torch bf16 eager: prefill {a.prompt_tokens} tokens "
              f"{a.prompt_tokens / sec:.1f} tokens/s")
        g = graphed(lambda: m.step(prompt, zero))
        sec = timed(g.replay, 10)
        print(f"torch bf16 graph: prefill {a.prompt_tokens} tokens "
              f"{a.prompt_tokens / sec:.1f} tokens/s")

        if a.compile:
            compiled_prefill = torch.compile(m.step)
            gp = graphed(lambda: compiled_prefill(prompt, zero))
            sec = timed(gp.replay, 10)
            print(f"torch bf16 compile+graph: prefill {a.prompt_tokens} tokens "
                  f"{a.prompt_tokens / sec:.1f} tokens/s")

        ids = torch.zeros(1, dtype=torch.int64, device="cuda")
        pos = torch.full((1,), a.prompt_tokens, dtype=torch.int64, device="cuda")
        out = {}

        def decode():
            out["logits"] = m.step(ids, pos)

        def run(label, one_step):
            pos.fill_(a.prompt_tokens)
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            for _ in range(a.tokens):
                one_step()
                ids.copy_(out["logits"].argmax(-1))
                pos.add_(1)
            torch.cuda.synchronize()
            sec = time.perf_counter() - t0
            print(f"torch bf16 {label}: decode {a.tokens} tokens "
                  f"{a.tokens / sec:.1f} tokens/s")

        run("eager", decode)
        gd = graphed(decode)
        run("graph", gd.replay)
        if a.compile:
            compiled = torch.compile(m.step)

            def decode_compiled():
                out["logits"] = compiled(ids, pos)

            gc = graphed(decode_compiled)
            run("compile+graph", gc.replay)


if __name__ == "__main__":
    main()
