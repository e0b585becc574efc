"""Item text: the metadata template and the sentence-transformers encoder."""
