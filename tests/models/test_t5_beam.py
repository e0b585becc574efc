import torch
from tiny_genrec import batch, model

from pipeline_lib.models.t5_beam import SharedCrossAttentionDecoder


def test_shared_cross_attention_steps_equal_the_full_decoder_pass_for_every_beam():
    """3 beams per user share one key/value copy; each beam's states equal T5Stack over its whole prefix,
    including after the beams are re-ordered (beam 0 of user b continues user b's beam 2, and so on)."""
    m = model()
    hist, _ = batch(m)
    table = m.embed.table()
    history = m.encode(hist, table)
    beams, steps = 3, 4
    inputs = torch.randn(5 * beams, steps, m.config.d_model, generator=torch.Generator().manual_seed(1))
    state = SharedCrossAttentionDecoder(m.decoder, history.hidden, history.mask)
    with torch.no_grad():
        path = inputs[:, :1]
        for t in range(steps):
            out = state.step(path[:, -1:])
            expected = m.decoder(
                inputs_embeds=path,
                encoder_hidden_states=history.hidden.repeat_interleave(beams, 0),
                encoder_attention_mask=history.mask.repeat_interleave(beams, 0).long(),
            ).last_hidden_state[:, -1]
            torch.testing.assert_close(out, expected)
            if t + 1 < steps:
                rows = (torch.arange(5)[:, None] * beams + torch.tensor([2, 0, 0])).flatten()
                state.reorder(rows)
                path = torch.cat([path[rows], inputs[:, t + 1 : t + 2]], dim=1)
    assert state.length == steps


def test_a_user_with_padding_ignores_it_and_users_do_not_mix():
    m = model()
    hist, _ = batch(m)
    table = m.embed.table()
    history = m.encode(hist, table)
    inputs = torch.randn(10, 1, m.config.d_model, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        both = SharedCrossAttentionDecoder(m.decoder, history.hidden, history.mask).step(inputs)
        alone = SharedCrossAttentionDecoder(m.decoder, history.hidden[1:2, :8], history.mask[1:2, :8]).step(inputs[2:4])
    torch.testing.assert_close(both[2:4], alone)  # user 1's padding columns 8.. and the other users change nothing
