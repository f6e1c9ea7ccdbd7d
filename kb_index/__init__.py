"""Atiende's knowledge-base retrieval: the store's own help articles, searched and cited.

- :mod:`kb_index.documents` — Markdown / CSV / JSONL loaders, heading chunks, corpus hash;
- :mod:`kb_index.importers` — a store's saved help-centre HTML pages or sitemap;
- :mod:`kb_index.facts` — per-market policy files rendered into articles, and the consistency scan;
- :mod:`kb_index.passages` — which section of the chosen article answers the question;
- :mod:`kb_index.encoders` — USE multilingual (default), MiniLM, any sentence-transformers model;
- :mod:`kb_index.lexical` — BM25 with Spanish/English stemming (sparse-matrix scoring);
- :mod:`kb_index.normalise` — a query's missing accents and typos, fixed against the KB's words;
- :mod:`kb_index.store` — FAISS exact / IVF / HNSW;
- :mod:`kb_index.index` — hybrid search with hubness correction (:class:`KBIndex`);
- :mod:`kb_index.persist` — building an index, saving it atomically, loading it (format and
  encoder checks);
- :mod:`kb_index.evaluate`, :mod:`kb_index.report` — recall@k, MRR, passage accuracy, calibration;
- :mod:`kb_index.store_eval` — a store's own shopper questions against its index;
- ``python -m kb_index build|search|eval|eval-store|compare`` — :mod:`kb_index.cli`.

Nothing is imported here, so ``import kb_index`` stays cheap (no FAISS, no torch).
"""
