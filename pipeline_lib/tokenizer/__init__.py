"""RQ-VAE item tokenizer: item embeddings → residual codes → unique semantic IDs (DECOR eq. 2–8, ETEGRec 3.2.1).

Public API for later stages (DECOR reuses the codebooks, ETEGRec keeps training the model):
``load_rqvae`` / ``save_rqvae`` / ``load_codebooks``, ``RQVAE.forward`` (codes, residuals, soft
code distributions via ``out.quant.code_probs()``, reconstruction), ``RQVAE.encode``,
``sq_loss`` / ``batch_loss`` (L_SQ and its parts), ``train_rqvae`` and ``assign_semantic_ids``.
LETTER's and CoST's losses: :mod:`pipeline_lib.tokenizer.objectives` (``make_objective``, passed to
``train_rqvae``) with their terms in :mod:`pipeline_lib.tokenizer.contrastive`.
"""
