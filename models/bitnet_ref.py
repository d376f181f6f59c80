"""PyTorch reference of the model family bitnet-mlir compiles.

A LLaMA-style decoder (token embedding, N x [RMSNorm, attention with RoPE,
causal softmax and GQA, residual, RMSNorm, FFN, residual], RMSNorm, LM head)
in the variants of DESIGN.md section 1:

  llama    float everywhere, SwiGLU
  b158     BitNet b1.58 (W1.58A8): INT8 absmax into every BitLinear
  a48      BitNet a4.8: INT4 absmean into QKV and gate/up, TopK 50% then INT8
           into the attention output projection, ReLU^2-GLU, INT8 into down
  a48fp4   BitNet a4.8 with FP4 E2M1 MinMax where a48 has INT4 (and after TopK)

BitLinear is written the way users write it: the straight-through estimator
`x + (q(x) - x).detach()`, with the eps guard as `clamp(min=eps)` or `+ eps`,
and TopK as topk + scatter or as a threshold mask. Optional KV-cache
quantization (post-RoPE, per head, unsigned absmax; 3-bit keeps the BOS
token's heads at 4 bits) follows docs/RationaleBitNet.md.

Every quantizer records its integer codes in `model.codes` while
`model.record_codes` is set, so the compiler's codes can be compared.
"""

import dataclasses
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclasses.dataclass
class Config:
    variant: str = "a48"          # llama | b158 | a48 | a48fp4
    vocab: int = 256              # byte-level
    hidden: int = 128
    layers: int = 2
    heads: int = 4
    kv_heads: int = 2
    ffn: int = 320
    max_seq: int = 64
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    quant_eps: float = 1e-5
    eps_form: str = "clamp"       # clamp | add
    topk_form: str = "scatter"    # scatter | threshold
    topk_ratio: float = 0.5
    kv_bits: int = 0              # 0 (float), 4 or 3 (BOS heads at 4)
    ffn_act: str = ""             # swiglu | relu2; default by variant

    @property
    def head_dim(self):
        return self.hidden // self.heads

    def act(self):
        if self.ffn_act:
            return self.ffn_act
        return "swiglu" if self.variant in ("llama", "b158") else "relu2"


def ste(x, q):
    """Forward q, backward identity."""
    return x + (q - x).detach()


class Quantizers:
    """The activation and weight quantizers of the paper, as PyTorch code."""

    def __init__(self, cfg, recorder):
        self.cfg = cfg
        self.rec = recorder

    def guard(self, s):
        eps = self.cfg.quant_eps
        return s.clamp(min=eps) if self.cfg.eps_form == "clamp" else s + eps

    def absmax(self, x, name, bits=8):
        q_max = 2 ** (bits - 1) - 1
        mult = q_max / self.guard(x.abs().amax(dim=-1, keepdim=True))
        q = (x * mult).round().clamp(-q_max - 1, q_max)
        self.rec(name, q)
        return ste(x, q / mult)

    def absmean(self, x, name, bits=4):
        q_max = 2 ** (bits - 1) - 1
        mult = q_max ** 0.5 / self.guard(x.abs().mean(dim=-1, keepdim=True))
        q = (x * mult).round().clamp(-q_max - 1, q_max)
        self.rec(name, q)
        return ste(x, q / mult)

    def fp4(self, x, name):
        # Eq. 8-9 with E2M1: scale max|x| to 6, round within each binade
        # (step 0.5 below 2, 1 below 4, 2 above), saturate at 6.
        mult = 6.0 / self.guard(x.abs().amax(dim=-1, keepdim=True))
        v = x * mult
        a = v.abs()
        step = torch.where(a >= 4.0, torch.full_like(a, 2.0),
                           torch.where(a >= 2.0, torch.ones_like(a),
                                       torch.full_like(a, 0.5)))
        q = ((v / step).round() * step).clamp(-6.0, 6.0)
        self.rec(name, q * 2.0)  # 2x an E2M1 value is an integer
        return ste(x, q / mult)

    def topk(self, x):
        k = max(1, int(math.floor(self.cfg.topk_ratio * x.shape[-1] + 1e-9)))
        if self.cfg.topk_form == "scatter":
            idx = x.abs().topk(k, dim=-1).indices
            mask = torch.zeros_like(x).scatter(-1, idx, 1.0)
        else:
            thr = x.abs().topk(k, dim=-1).values[..., -1:]
            mask = (x.abs() >= thr).to(x.dtype)
        return x * mask

    def ternary(self, w):
        mult = 1.0 / self.guard(w.abs().mean())
        q = (w * mult).round().clamp(-1, 1)
        return ste(w, q / mult)


class BitLinear(nn.Linear):
    """nn.Linear with ternary weights and a quantized input ('scheme')."""

    def __init__(self, cfg, quant, name, n_in, n_out, scheme, topk=False):
        super().__init__(n_in, n_out, bias=False)
        self.cfg, self.quant, self.name = cfg, quant, name
        self.scheme, self.use_topk = scheme, topk

    def forward(self, x):
        if self.scheme == "float":
            return F.linear(x, self.weight)
        if self.use_topk:
            x = self.quant.topk(x)
        if self.scheme == "int8":
            x = self.quant.absmax(x, self.name, 8)
        elif self.scheme == "int4":
            x = self.quant.absmean(x, self.name, 4)
        elif self.scheme == "fp4":
            x = self.quant.fp4(x, self.name)
        return F.linear(x, self.quant.ternary(self.weight))


def schemes(cfg):
    """Input scheme of (qkv, out, gate/up, down) and whether out has TopK."""
    return {
        "llama": ("float", "float", "float", "float", False),
        "b158": ("int8", "int8", "int8", "int8", False),
        "a48": ("int4", "int8", "int4", "int8", True),
        "a48fp4": ("fp4", "fp4", "fp4", "int8", True),
    }[cfg.variant]


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope(x, pos, theta):
    """Rotate-half RoPE on [B, H, T, D]."""
    d = x.shape[-1]
    inv = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
    ang = pos[:, None].float() * inv[None, :]
    cos = torch.cat([ang.cos(), ang.cos()], dim=-1)
    sin = torch.cat([ang.sin(), ang.sin()], dim=-1)
    x1, x2 = x[..., : d // 2], x[..., d // 2:]
    return x * cos + torch.cat([-x2, x1], dim=-1) * sin


class Block(nn.Module):
    def __init__(self, cfg, quant, i):
        super().__init__()
        qkv, out, gu, down, topk = schemes(cfg)
        h, hd = cfg.hidden, cfg.head_dim
        self.cfg, self.quant = cfg, quant
        self.attn_norm = RMSNorm(h, cfg.norm_eps)
        self.q_proj = BitLinear(cfg, quant, f"l{i}.q", h, cfg.heads * hd, qkv)
        self.k_proj = BitLinear(cfg, quant, f"l{i}.k", h, cfg.kv_heads * hd, qkv)
        self.v_proj = BitLinear(cfg, quant, f"l{i}.v", h, cfg.kv_heads * hd, qkv)
        self.o_proj = BitLinear(cfg, quant, f"l{i}.o", cfg.heads * hd, h, out, topk)
        self.ffn_norm = RMSNorm(h, cfg.norm_eps)
        self.gate_proj = BitLinear(cfg, quant, f"l{i}.gate", h, cfg.ffn, gu)
        self.up_proj = BitLinear(cfg, quant, f"l{i}.up", h, cfg.ffn, gu)
        self.down_proj = BitLinear(cfg, quant, f"l{i}.down", cfg.ffn, h, down)
        self.name = f"l{i}"

    def kv_quant(self, x, name):
        """Per (token, head) unsigned absmax on [B, H, T, D]; BOS at 4 bits."""
        bits = torch.full((x.shape[2], 1), float(self.cfg.kv_bits))
        if self.cfg.kv_bits == 3:
            bits[0] = 4.0
        q_max = 2.0 ** (bits - 1) - 1
        mult = q_max / (x.abs().amax(dim=-1, keepdim=True) + self.cfg.quant_eps)
        q = torch.maximum(torch.minimum((x * mult).round(), q_max), -q_max - 1)
        self.quant.rec(name, q + q_max + 1)
        return ste(x, q / mult)

    def forward(self, x, pos, past=None):
        """With `past` = (k, v) of earlier positions ([B, kv_heads, P, hd],
        post-RoPE), attends over them too and also returns the new (k, v)."""
        cfg = self.cfg
        b, t, _ = x.shape
        hd = cfg.head_dim
        h = self.attn_norm(x)
        q = self.q_proj(h).view(b, t, cfg.heads, hd).transpose(1, 2)
        k = self.k_proj(h).view(b, t, cfg.kv_heads, hd).transpose(1, 2)
        v = self.v_proj(h).view(b, t, cfg.kv_heads, hd).transpose(1, 2)
        q, k = rope(q, pos, cfg.rope_theta), rope(k, pos, cfg.rope_theta)
        if cfg.kv_bits:
            k = self.kv_quant(k, f"{self.name}.kcache")
            v = self.kv_quant(v, f"{self.name}.vcache")
        present = None
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
            present = (k, v)
        s = k.shape[2]
        # GQA: each KV head serves heads // kv_heads query heads (expand +
        # reshape, as LLaMA's repeat_kv; repeat_interleave exports as a Loop).
        rep = cfg.heads // cfg.kv_heads
        k = k[:, :, None].expand(b, cfg.kv_heads, rep, s, hd).reshape(b, cfg.heads, s, hd)
        v = v[:, :, None].expand(b, cfg.kv_heads, rep, s, hd).reshape(b, cfg.heads, s, hd)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        if past is None:
            causal = torch.ones(t, t, dtype=torch.bool).tril()
        else:  # query i sits at position P + i and sees positions <= P + i
            causal = torch.ones(t, s, dtype=torch.bool).tril(s - t)
        att = att.masked_fill(~causal, float("-inf")).softmax(dim=-1)
        o = (att @ v).transpose(1, 2).reshape(b, t, cfg.heads * hd)
        x = x + self.o_proj(o)
        h = self.ffn_norm(x)
        g, u = self.gate_proj(h), self.up_proj(h)
        if cfg.act() == "swiglu":
            a = F.silu(g) * u
        else:
            a = F.relu(g).pow(2) * u
        out = x + self.down_proj(a)
        return out if past is None else (out, present)


class BitNetLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.codes = {}
        self.record_codes = False
        quant = Quantizers(cfg, self._record)
        self.embed = nn.Embedding(cfg.vocab, cfg.hidden)
        self.blocks = nn.ModuleList(Block(cfg, quant, i) for i in range(cfg.layers))
        self.norm = RMSNorm(cfg.hidden, cfg.norm_eps)
        # The LM head stays in full precision, as in BitNet.
        self.lm_head = nn.Linear(cfg.hidden, cfg.vocab, bias=False)

    def _record(self, name, q):
        if self.record_codes:
            self.codes[name] = q.detach().to(torch.int8).numpy().copy()

    def forward(self, input_ids):
        pos = torch.arange(input_ids.shape[1])
        x = self.embed(input_ids)
        for blk in self.blocks:
            x = blk(x, pos)
        return self.lm_head(self.norm(x))

    def forward_with_past(self, input_ids, past):
        """One step with a KV cache: `past` holds (k, v) per layer for the
        P earlier positions; returns the logits and the (k, v) with the new
        positions appended."""
        p = past[0][0].shape[2]
        pos = torch.arange(input_ids.shape[1]) + p
        x = self.embed(input_ids)
        present = []
        for blk, kv in zip(self.blocks, past):
            x, kv = blk(x, pos, kv)
            present.append(kv)
        return self.lm_head(self.norm(x)), present


class PastStep(nn.Module):
    """forward_with_past with the past and present (k, v) as flat tensor
    lists, the interface of the explicit past-KV exports."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, *flat_past):
        past = [(flat_past[2 * i], flat_past[2 * i + 1])
                for i in range(len(flat_past) // 2)]
        logits, present = self.model.forward_with_past(input_ids, past)
        return (logits, *[t for kv in present for t in kv])


def past_export_names(layers):
    """The explicit past-KV exports' input and output names and dynamic axes
    (PastStep's interface): input_ids and past_{k,v}_i in, logits and
    present_{k,v}_i out."""
    in_names = ["input_ids"] + [f"past_{kv}_{i}" for i in range(layers)
                                for kv in ("k", "v")]
    out_names = ["logits"] + [f"present_{kv}_{i}" for i in range(layers)
                              for kv in ("k", "v")]
    axes = {"input_ids": {1: "seq"}, "logits": {1: "seq"}}
    axes.update({n: {2: "past"} for n in in_names[1:]})
    axes.update({n: {2: "total"} for n in out_names[1:]})
    return in_names, out_names, axes
