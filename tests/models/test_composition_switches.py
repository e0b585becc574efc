"""Each model.* composition switch changes only what it names (tiny model, fixed seed)."""

import pytest
import torch
from tiny_genrec import TINY, batch, model

from pipeline_lib.models.config import GenRecConfig
from pipeline_lib.models.variants import variant_config
from pipeline_lib.training.weight_decay import no_decay_names, param_groups

DECOR = dict(fusion=True, composition=True, alpha=0.5, bos_queries=4)


def outputs(m, hist, target):
    """Encoder output and decoder input embeddings [B, 4, d] (BOS at 0)."""
    table = m.embed.table()
    history = m.encode(hist, table)
    return history.hidden, m.decoder_embeddings(table, history, target[:, :-1])


def same_state(a, b, skip=()):
    sa, sb = a.state_dict(), b.state_dict()
    for key in set(sa) | set(sb):
        if key not in skip:
            torch.testing.assert_close(sa[key], sb[key], msg=key)


def test_bos_residual_changes_only_the_bos_embedding():
    printed, residual = model(**DECOR), model(**DECOR, bos_residual=True)
    same_state(printed, residual)
    hist, target = batch(printed)
    (enc_p, dec_p), (enc_r, dec_r) = outputs(printed, hist, target), outputs(residual, hist, target)
    torch.testing.assert_close(enc_p, enc_r)
    torch.testing.assert_close(dec_p[:, 1:], dec_r[:, 1:])
    assert not torch.allclose(dec_p[:, 0], dec_r[:, 0])
    # eq. 19 as printed: ê_BOS = Σ α_n q_n; the residual form mixes it with e_BOS by α
    table = printed.embed.table()
    u = printed.composition.context(printed._position_contexts(table, printed.encode(hist, table), target[:, :-1]))
    composed = printed.composition.compose(u[:, :1], printed.bos.queries[None])[:, 0]
    torch.testing.assert_close(dec_p[:, 0], composed)
    # camera-ready §3.4.1 (bos_static zero, the default): e_BOS is a zero vector, so ê_BOS = α·Φ only
    torch.testing.assert_close(dec_r[:, 0], 0.5 * composed)
    learned = model(**DECOR, bos_residual=True, bos_static="learned")
    dec_l = outputs(learned, hist, target)[1]
    torch.testing.assert_close(dec_l[:, 1:], dec_r[:, 1:])
    torch.testing.assert_close(dec_l[:, 0], 0.5 * composed + 0.5 * table[printed.vocab.BOS])


def test_tied_head_is_the_token_table_and_untied_is_its_own_matrix():
    """Camera-ready §3.6 (tie_lm_head, the default): the (fused) token table is the prediction head, no lm_head."""
    for kw in ({}, DECOR):
        tied, untied = model(**kw), model(**kw, tie_lm_head=False)
        assert tied.lm_head is None and not any(name.startswith("lm_head") for name, _ in tied.named_parameters())
        assert untied.lm_head is not None
        hist, target = batch(tied)
        table = tied.embed.table()
        hidden = tied.hidden_states(hist, target)[1]
        torch.testing.assert_close(tied(hist, target), hidden @ table.t())
        torch.testing.assert_close(untied(hist, target), untied.lm_head(untied.hidden_states(hist, target)[1]))
        tied.train()
        tied.loss(hist, target).backward()  # the head's gradient reaches the table's (or the fusion's) parameters
        assert all(p.grad is not None for name, p in tied.embed.named_parameters() if p.requires_grad)


def test_tied_head_scale_multiplies_the_states_by_one_over_sqrt_d():
    plain, scaled = model(), model(tied_head_scale=True)
    hist, target = batch(plain)
    torch.testing.assert_close(scaled(hist, target), plain(hist, target) * 16**-0.5)


def test_unknown_bos_static():
    with pytest.raises(ValueError, match="bos_static"):
        GenRecConfig(bos_static="ones")


def test_bos_token_scale_init_changes_only_the_query_norms():
    normal, scaled = model(**DECOR), model(**DECOR, bos_query_init="token_scale")
    same_state(normal, scaled, skip={"bos.queries"})
    norms = scaled.bos.queries.norm(dim=-1)
    torch.testing.assert_close(norms, torch.full_like(norms, float(scaled.embed.table().norm(dim=-1).mean())))
    cosine = torch.nn.functional.cosine_similarity(normal.bos.queries, scaled.bos.queries, dim=-1)
    torch.testing.assert_close(cosine, torch.ones_like(cosine))
    assert not torch.allclose(normal.bos.queries.norm(dim=-1), norms)


def test_unknown_bos_query_init():
    with pytest.raises(ValueError, match="bos_query_init"):
        GenRecConfig(bos_query_init="xavier")


def test_center_context_changes_composed_embeddings_not_the_encoder():
    plain, centred = model(**DECOR), model(**DECOR, composition_center_context=True)
    same_state(plain, centred, skip={"composition.context_mean"})
    hist, target = batch(plain)
    plain.train(), centred.train()  # dropout 0: train mode only switches centring to the batch mean
    (enc_p, dec_p), (enc_c, dec_c) = outputs(plain, hist, target), outputs(centred, hist, target)
    torch.testing.assert_close(enc_p, enc_c)
    assert not torch.allclose(dec_p, dec_c)
    # training updated the running mean, which eval mode uses: a user's embeddings do not depend on the batch
    assert centred.composition.context_mean.abs().sum() > 0
    centred.eval()
    _, together = outputs(centred, hist, target)
    _, alone = outputs(centred, hist[1:2, :8], target[1:2])  # user 1's history is 8 tokens long
    torch.testing.assert_close(alone[0], together[1])


def test_self_context_puts_each_decoder_input_in_its_own_context():
    plain, own = model(**DECOR), model(**DECOR, composition_self_context=True)
    same_state(plain, own)
    hist, target = batch(plain)
    (enc_p, dec_p), (enc_o, dec_o) = outputs(plain, hist, target), outputs(own, hist, target)
    torch.testing.assert_close(enc_p, enc_o)
    torch.testing.assert_close(dec_p[:, 0], dec_o[:, 0])  # BOS: history only either way
    assert not torch.allclose(dec_p[:, 1:], dec_o[:, 1:])
    changed = target.clone()
    changed[:, 1] = own.vocab.level_offset(1) + (target[:, 1] - own.vocab.level_offset(1) + 1) % 8
    _, dec_changed = outputs(own, hist, changed)
    torch.testing.assert_close(dec_changed[:, :2], dec_o[:, :2])  # y_1 reaches positions ≥ 2 only
    assert not torch.allclose(dec_changed[:, 2], dec_o[:, 2])


@pytest.mark.parametrize("switch", ["composition_center_context", "composition_self_context", "bos_residual"])
def test_switches_leak_no_future_target_token(switch):
    m = model(**DECOR, **{switch: True})
    hist, target = batch(m)
    logits = m(hist, target)
    for k in range(4):
        changed = target.clone()
        changed[:, k] = m.vocab.level_offset(k) + (target[:, k] - m.vocab.level_offset(k) + 1) % 8
        torch.testing.assert_close(m(hist, changed)[:, : k + 1], logits[:, : k + 1])


def test_weight_decay_exclude_changes_only_the_param_groups():
    plain, excluding = model(**DECOR), model(**DECOR, weight_decay_exclude=True)
    same_state(plain, excluding)
    hist, target = batch(plain)
    torch.testing.assert_close(plain(hist, target), excluding(hist, target))
    everything = param_groups(plain, 0.05, exclude=False)
    assert len(everything) == 1 and everything[0]["weight_decay"] == 0.05
    assert len(everything[0]["params"]) == len(list(plain.parameters()))
    decay, no_decay = param_groups(excluding, 0.05, exclude=True)
    assert decay["weight_decay"] == 0.05 and no_decay["weight_decay"] == 0.0
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(excluding.parameters()))
    skipped = no_decay_names(excluding)
    assert {"bos.queries", "embed.collaborative.weight", "embed.norm_pre.weight", "embed.norm_pre.bias",
            "pooling.score_hidden.bias", "encoder.final_layer_norm.weight",
            "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"} <= skipped
    assert not {"lm_head.weight", "composition.query.weight", "composition.key.weight", "embed.fuse.weight",
                "pooling.score_hidden.weight"} & skipped


def test_variant_config_resets_the_switches_of_modules_a_variant_lacks():
    switches = dict(composition_center_context=True, composition_self_context=True, bos_residual=True,
                    bos_query_init="token_scale", weight_decay_exclude=True, bos_static="learned",
                    alpha_trainable=True, tie_lm_head=False)
    backbone = {k: v for k, v in TINY.items() if k not in ("codebook_size", "code_dim")} | switches
    tiger = variant_config("tiger", backbone, alpha=0.5, bos_queries=4, code_dim=6, codebook_size=8)
    tokcomp = variant_config("tokcomp", backbone, alpha=0.5, bos_queries=4, code_dim=6, codebook_size=8)
    decor = variant_config("decor", backbone, alpha=0.5, bos_queries=4, code_dim=6, codebook_size=8)
    defaults = GenRecConfig()
    for key in ("composition_center_context", "composition_self_context", "bos_residual", "bos_query_init",
                "bos_static", "alpha_trainable"):
        assert getattr(tiger, key) == getattr(defaults, key)
        assert getattr(decor, key) == switches[key]
    assert not tiger.tie_lm_head and not decor.tie_lm_head  # the head is every variant's
    assert tokcomp.composition_center_context and not tokcomp.bos_residual and tokcomp.bos_query_init == "normal"
    assert tiger.weight_decay_exclude and decor.weight_decay_exclude
