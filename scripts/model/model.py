"""A tiny Llama-style decoder: RMSNorm, rotary positions, SwiGLU, grouped-query attention, tied embeddings.

Follows the Llama conventions (rotate-half RoPE, rms_norm_eps, rope_theta) so that config.json with
model_type "llama" describes it truthfully. One forward() serves training (block-diagonal mask over
packed documents), cached generation in Python, and the ONNX export.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

MASKED = -1e4  # finite, so fully masked (padding) rows stay NaN-free


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


class Attention(nn.Module):
    def __init__(self, hidden, heads, kv_heads, head_dim):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, head_dim
        self.q_proj = nn.Linear(hidden, heads * head_dim, bias=False)
        self.k_proj = nn.Linear(hidden, kv_heads * head_dim, bias=False)
        self.v_proj = nn.Linear(hidden, kv_heads * head_dim, bias=False)
        self.o_proj = nn.Linear(heads * head_dim, hidden, bias=False)

    def forward(self, x, cos, sin, allowed, past_key=None, past_value=None):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.kv_heads, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past_key is not None:
            k = torch.cat([past_key, k], dim=2)
            v = torch.cat([past_value, v], dim=2)
        present_key, present_value = k, v
        # grouped-query attention: query heads of one group share a key/value head
        group = self.heads // self.kv_heads
        q = q.reshape(B, self.kv_heads, group * T, self.head_dim)
        scores = (q @ k.transpose(-1, -2)) * self.head_dim ** -0.5  # [B, kv, group*T, S]
        scores = scores.view(B, self.kv_heads, group, T, -1)
        scores = scores.masked_fill(~allowed.unsqueeze(1), MASKED)  # allowed: [B, 1, T, S]
        probs = F.softmax(scores, dim=-1).view(B, self.kv_heads, group * T, -1)
        y = (probs @ v).view(B, self.heads, T, self.head_dim).transpose(1, 2).reshape(B, T, -1)
        return self.o_proj(y), present_key, present_value


class DecoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h = cfg["hidden_size"]
        self.input_layernorm = RMSNorm(h, cfg["rms_norm_eps"])
        self.self_attn = Attention(h, cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"])
        self.post_attention_layernorm = RMSNorm(h, cfg["rms_norm_eps"])
        self.gate_proj = nn.Linear(h, cfg["intermediate_size"], bias=False)
        self.up_proj = nn.Linear(h, cfg["intermediate_size"], bias=False)
        self.down_proj = nn.Linear(cfg["intermediate_size"], h, bias=False)

    def forward(self, x, cos, sin, allowed, past_key=None, past_value=None):
        a, k, v = self.self_attn(self.input_layernorm(x), cos, sin, allowed, past_key, past_value)
        x = x + a
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h)), k, v


class TinyLlama(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList([DecoderLayer(cfg) for _ in range(cfg["num_hidden_layers"])])
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        hd = cfg["head_dim"]
        inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2).float() / hd))
        freqs = torch.arange(cfg["max_position_embeddings"]).float()[:, None] * inv_freq[None, :]
        angles = torch.cat([freqs, freqs], dim=-1)  # [max_pos, head_dim]
        self.register_buffer("rope_cos", angles.cos(), persistent=False)
        self.register_buffer("rope_sin", angles.sin(), persistent=False)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)

    def forward(self, input_ids, position_ids, allowed, past=None):
        """allowed: bool [B, 1, T, past+T], True where a query may attend a key.
        past: list of (key, value) per layer or None. Returns logits and the new per-layer (key, value)."""
        x = self.embed_tokens(input_ids)
        cos = self.rope_cos[position_ids].unsqueeze(1)  # [B, 1, T, head_dim]
        sin = self.rope_sin[position_ids].unsqueeze(1)
        presents = []
        for i, layer in enumerate(self.layers):
            pk, pv = past[i] if past is not None else (None, None)
            x, k, v = layer(x, cos, sin, allowed, pk, pv)
            presents.append((k, v))
        logits = F.linear(self.norm(x), self.embed_tokens.weight)  # tied output head
        return logits, presents


def cached_attention_mask(attention_mask, query_len):
    """Causal + padding mask for the last query_len positions of attention_mask [B, past+T]."""
    total = attention_mask.shape[1]
    past_len = total - query_len
    key_pos = torch.arange(total, device=attention_mask.device)
    query_pos = torch.arange(query_len, device=attention_mask.device) + past_len
    causal = key_pos.unsqueeze(0) <= query_pos.unsqueeze(1)  # [T, S]
    return causal.unsqueeze(0).unsqueeze(0) & (attention_mask > 0).unsqueeze(1).unsqueeze(2)


class OnnxDecoder(nn.Module):
    """Optimum/transformers.js signature: (input_ids, attention_mask, position_ids,
    past_key_values.0.key, past_key_values.0.value, ...) -> (logits, present.0.key, present.0.value, ...)."""

    def __init__(self, lm: TinyLlama):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids, attention_mask, position_ids, *past_flat):
        allowed = cached_attention_mask(attention_mask, input_ids.shape[1])
        past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(len(past_flat) // 2)]
        logits, presents = self.lm(input_ids, position_ids, allowed, past)
        return (logits, *[t for kv in presents for t in kv])
