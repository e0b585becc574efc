"""Decoding semantic IDs into items: the catalogue's prefix trie and constrained beam search."""

from pipeline_lib.decoding.beam_search import StepFn, constrained_beam_search
from pipeline_lib.decoding.trie import SemanticIdTrie

__all__ = ["SemanticIdTrie", "StepFn", "constrained_beam_search"]
