"""A BERT encoder's forward pass in numpy, and a safetensors reader (no torch, no wheel).

Only what a sentence-transformers model of the MiniLM family needs: absolute position
embeddings, post-LayerNorm blocks, exact (erf) GELU, mean pooling over the attention mask.
Pure CPU, no I/O: the caller hands in the file's bytes.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]

_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def read_safetensors(data: bytes) -> dict[str, npt.NDArray[np.generic]]:
    """The tensors of a safetensors file: an 8-byte little-endian header length, a JSON
    header (dtype, shape, byte offsets per tensor), then the raw little-endian data."""
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    base = 8 + header_len
    out: dict[str, npt.NDArray[np.generic]] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<")
        out[name] = np.frombuffer(data, dtype=dtype, count=(end - start) // dtype.itemsize,
                                  offset=base + start).reshape(info["shape"])
    return out


def _gelu(x: F32) -> F32:
    """Exact (erf) GELU to ~1e-7, in place on ``x``; numpy has no erf.

    With erf(z) = 1 - p(z) for z >= 0 (Abramowitz & Stegun 7.1.26, |error| <= 1.5e-7),
    0.5 x (1 + erf(x / sqrt 2)) = max(x, 0) - 0.5 |x| p(|x| / sqrt 2). |x| is capped at 8
    (p is then below float32's resolution): past it exp(-x^2/2) is a subnormal float32, and
    subnormals carried into the next matmul made the forward pass 5x slower."""
    a = np.abs(x)
    np.minimum(a, np.float32(8.0), out=a)
    z = a * np.float32(0.7071067811865476)
    t = z * np.float32(0.3275911)
    t += np.float32(1.0)
    np.reciprocal(t, out=t)
    p = t * np.float32(1.061405429)
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        p += np.float32(c)
        p *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    p *= z
    p *= a
    p *= np.float32(0.5)
    np.maximum(x, np.float32(0.0), out=x)
    x -= p
    return x


def _layer_norm(x: F32, weight: F32, bias: F32, eps: float) -> F32:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return (centred / np.sqrt(var + np.float32(eps)) * weight + bias).astype(np.float32,
                                                                              copy=False)


@dataclass(frozen=True)
class _Layer:
    qkv_w: F32  # (hidden, 3 * hidden): query, key and value in one matmul
    qkv_b: F32
    out_w: F32
    out_b: F32
    ln1_w: F32
    ln1_b: F32
    up_w: F32
    up_b: F32
    down_w: F32
    down_b: F32
    ln2_w: F32
    ln2_b: F32


class BertEncoder:
    """The encoder with mean pooling; weights transposed once so every step is ``x @ W``.

    Args:
        tensors: From :func:`read_safetensors` (BertModel names, no ``bert.`` prefix).
        heads: Attention heads.
        eps: LayerNorm epsilon.
    """

    def __init__(self, tensors: dict[str, npt.NDArray[np.generic]], *, heads: int,
                 eps: float = 1e-12) -> None:
        def f(name: str) -> F32:
            # A copy, so the file's bytes (which the tensors are views of) can be freed.
            return np.array(tensors[name], dtype=np.float32, order="C", copy=True)

        self.heads = heads
        self.eps = eps
        self.word = f("embeddings.word_embeddings.weight")
        self.position = f("embeddings.position_embeddings.weight")
        self.token_type = f("embeddings.token_type_embeddings.weight")
        self.emb_ln_w = f("embeddings.LayerNorm.weight")
        self.emb_ln_b = f("embeddings.LayerNorm.bias")
        self.hidden = self.word.shape[1]
        self.layers: list[_Layer] = []
        i = 0
        while f"encoder.layer.{i}.attention.self.query.weight" in tensors:
            p = f"encoder.layer.{i}."
            att = p + "attention."
            self.layers.append(_Layer(
                qkv_w=np.ascontiguousarray(np.concatenate(
                    [f(att + f"self.{n}.weight") for n in ("query", "key", "value")]).T),
                qkv_b=np.concatenate([f(att + f"self.{n}.bias")
                                      for n in ("query", "key", "value")]),
                out_w=np.ascontiguousarray(f(att + "output.dense.weight").T),
                out_b=f(att + "output.dense.bias"),
                ln1_w=f(att + "output.LayerNorm.weight"),
                ln1_b=f(att + "output.LayerNorm.bias"),
                up_w=np.ascontiguousarray(f(p + "intermediate.dense.weight").T),
                up_b=f(p + "intermediate.dense.bias"),
                down_w=np.ascontiguousarray(f(p + "output.dense.weight").T),
                down_b=f(p + "output.dense.bias"),
                ln2_w=f(p + "output.LayerNorm.weight"),
                ln2_b=f(p + "output.LayerNorm.bias"),
            ))
            i += 1

    @property
    def max_positions(self) -> int:
        return int(self.position.shape[0])

    def pooled(self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.bool_]) -> F32:
        """Mean of the last hidden states over ``mask``: ``ids``/``mask`` (batch, length)
        -> (batch, hidden), not normalised."""
        batch, length = ids.shape
        hd = self.hidden // self.heads
        x = self.word[ids] + self.position[:length] + self.token_type[0]
        x = _layer_norm(x, self.emb_ln_w, self.emb_ln_b, self.eps)
        # Padded keys get -inf-like scores so they weigh nothing in the softmax.
        bias = np.where(mask, 0.0, -1e9).astype(np.float32)[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(hd))
        for layer in self.layers:
            qkv = x @ layer.qkv_w + layer.qkv_b  # (b, l, 3h)
            qkv = qkv.reshape(batch, length, 3, self.heads, hd).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]  # (b, heads, l, hd)
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, self.hidden)
            x = _layer_norm(ctx @ layer.out_w + layer.out_b + x, layer.ln1_w, layer.ln1_b,
                            self.eps)
            h = _gelu(x @ layer.up_w + layer.up_b)
            x = _layer_norm(h @ layer.down_w + layer.down_b + x, layer.ln2_w, layer.ln2_b,
                            self.eps)
        weights = mask.astype(np.float32)[:, :, None]
        summed = (x * weights).sum(axis=1)
        return (summed / np.maximum(weights.sum(axis=1), 1e-9)).astype(np.float32)
