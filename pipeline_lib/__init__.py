"""Shared library of the decor-repro pipeline: data, text embedding, tokenizer, models, decoding, metrics, reporting."""
