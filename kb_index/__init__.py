"""Atiende's knowledge-base retrieval: the store's own help articles, searched and cited.

- :mod:`kb_index.documents` — Markdown / CSV / JSONL loaders, heading chunks, corpus hash;
- :mod:`kb_index.encoders` — USE multilingual (default), MiniLM, any sentence-transformers model;
- :mod:`kb_index.lexical` — BM25 with Spanish/English stemming;
- :mod:`kb_index.store` — FAISS exact / IVF / HNSW;
- :mod:`kb_index.index` — build, persist, load and hybrid search (:class:`KBIndex`);
- :mod:`kb_index.evaluate`, :mod:`kb_index.report` — recall@k, MRR, threshold calibration;
- ``python -m kb_index build|search|eval|compare`` — :mod:`kb_index.cli`.

Nothing is imported here, so ``import kb_index`` stays cheap (no FAISS, no torch).
"""
