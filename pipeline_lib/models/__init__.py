"""Recommender models: the T5 generative recommender with DECOR's modules, and classic baselines."""
