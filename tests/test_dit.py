"""presto.dit: adaLN-Zero identity init, subsets of blocks, hidden states, the text mask, CFG batching,
gradient flow after zero init, presets and errors, dtype/device handling. Tiny configs: a few seconds."""
import pytest
import torch

from presto.dit import (DiT, DiTConfig, DiTError, PRESETS, count_params, dit_config, make_denoiser, param_table, sinusoidal,
                        patchify, pos_encoding, unpatchify)
from presto.edm import EDMDenoiser, cfg as cfg_mix, guided
from presto.text import null_cond

TINY = dit_config('tiny')


def text(B, L=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    mask = torch.arange(L) < torch.randint(1, L, (B,), generator=g)[:, None]
    return {'states': torch.randn(B, L, 384, generator=g) * mask[..., None], 'mask': mask,
            'pooled': torch.randn(B, 384, generator=g)}


def randomise(net, seed=0, std=0.05):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters(): p.add_(std * torch.randn(p.shape, generator=g))
    return net


@pytest.fixture
def batch():
    torch.manual_seed(0)
    return torch.randn(3, 16, 64) * 4.94, torch.randn(3) * 0.3, text(3)


def test_fresh_block_is_identity_and_fresh_dit_outputs_zero(batch):
    x, c_noise, cond = batch
    net = DiT(TINY)
    h, c = torch.randn(3, 64, TINY.width), torch.randn(3, TINY.width)
    for blk in net.blocks: assert torch.equal(blk(h, c, cond['states'], cond['mask']), h)
    assert torch.equal(net(x, c_noise, cond), torch.zeros_like(x))
    D = EDMDenoiser(net, 4.94)
    sigma = torch.tensor([0.01, 1., 80.])
    c_skip = (4.94 ** 2 / (sigma ** 2 + 4.94 ** 2))[:, None, None]
    torch.testing.assert_close(D(x, sigma, cond), c_skip * x, rtol=0, atol=0)


def test_subset_of_blocks(batch):
    x, c_noise, cond = batch
    net = randomise(DiT(TINY))
    full = net(x, c_noise, cond)
    assert torch.equal(net(x, c_noise, cond, blocks=TINY.depth), full)
    for n in range(TINY.depth + 1):
        assert torch.equal(net(x, c_noise, cond, blocks=n), net(x, c_noise, cond, blocks=list(range(n))))
    assert not torch.allclose(net(x, c_noise, cond, blocks=2), full, atol=1e-4)
    assert not torch.allclose(net(x, c_noise, cond, blocks=[0, 1, 3]), net(x, c_noise, cond, blocks=[0, 1, 2]), atol=1e-4)


def test_hidden_states_match_running_the_prefix(batch):
    x, c_noise, cond = batch
    net = randomise(DiT(TINY))
    out, hid = net(x, c_noise, cond, return_hidden=[1, 3])
    assert sorted(hid) == [1, 3] and hid[1].shape == (3, 64, TINY.width)
    assert torch.equal(out, net(x, c_noise, cond))
    # the hidden state after block 1, fed through the final layer, is the 2-block output
    c = net.sigma_mlp(sinusoidal(c_noise, TINY.fourier_dim, 1., 1000.)) + net.pooled_embed(cond['pooled'])
    torch.testing.assert_close(unpatchify(net.final(hid[1], c), 1), net(x, c_noise, cond, blocks=2))
    out2, hid2 = net(x, c_noise, cond, blocks=[0, 2], return_hidden=[2])
    assert list(hid2) == [2]
    assert not torch.allclose(hid2[2], net(x, c_noise, cond, blocks=3, return_hidden=[2])[1][2], atol=1e-4)


def test_mask_ignores_padding_but_not_real_tokens(batch):
    x, c_noise, cond = batch
    net = randomise(DiT(TINY))
    y = net(x, c_noise, cond)
    junk = dict(cond, states=torch.where(cond['mask'][..., None], cond['states'], 50 * torch.randn_like(cond['states'])))
    torch.testing.assert_close(net(x, c_noise, junk), y, rtol=1e-5, atol=1e-5)
    real = dict(cond, states=cond['states'].clone()); real['states'][:, 0] += torch.randn(384)
    assert (net(x, c_noise, real) - y).abs().max() > 1e-3
    # padding the condition with extra masked positions changes nothing either
    longer = {'states': torch.cat([cond['states'], torch.randn(3, 4, 384)], 1),
              'mask': torch.cat([cond['mask'], torch.zeros(3, 4, dtype=torch.bool)], 1), 'pooled': cond['pooled']}
    torch.testing.assert_close(net(x, c_noise, longer), y, rtol=1e-5, atol=1e-5)


def test_cfg_one_batch_equals_two_calls(batch):
    x, _, cond = batch
    den = make_denoiser('tiny', 4.94); randomise(den.net)
    sigma = torch.tensor([0.3, 2., 40.])
    null = null_cond(3, cond['states'].shape[1], 384)
    with torch.no_grad():
        g = guided(den, 4.0, null)(x, sigma, cond)
        ref = cfg_mix(den(x, sigma, null), den(x, sigma, cond), 4.0)
    torch.testing.assert_close(g, ref, rtol=1e-4, atol=1e-4)
    assert (g - den(x, sigma, cond)).abs().max() > 1e-3       # guidance does something
    # cond=None is the null condition
    torch.testing.assert_close(den(x, sigma, None), den(x, sigma, null_cond(3, 1, 384)), rtol=1e-5, atol=1e-5)


def _grads(net):
    return {n: (p.grad is not None and p.grad.abs().sum().item() > 0) for n, p in net.named_parameters()}


def test_gradient_reaches_every_parameter_after_zero_init(batch):
    x, c_noise, cond = batch
    torch.manual_seed(0)
    net = DiT(dit_config('tiny', depth=2, extra_cond_dim=4))
    extra, target = torch.randn(3, 4), torch.randn_like(x)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    seen = []
    for step in range(3):
        opt.zero_grad()
        (net(x, c_noise, cond, extra=extra) - target).pow(2).mean().backward()
        seen.append(_grads(net))
        opt.step()
    # zero init: at first only the output linear gets a gradient ...
    assert {n for n, g in seen[0].items() if g} == {'final.linear.weight', 'final.linear.bias'}
    # ... after one step the gates open (adaLN linears get gradients), after two every parameter has one
    assert seen[1]['blocks.0.ada.1.weight'] and seen[1]['final.ada.1.weight']
    assert all(seen[2].values()), [n for n, g in seen[2].items() if not g]
    assert all(torch.isfinite(p).all() for p in net.parameters())


def test_presets_and_config_errors():
    assert set(PRESETS) == {'tiny', 'small', 'base', 'large'}
    assert dit_config('small').depth >= 8
    with pytest.raises(DiTError, match="allowed: tiny, small, base, large"): dit_config('medium')
    with pytest.raises(ValueError, match="unknown DiTConfig field"): dit_config('tiny', widht=32)
    with pytest.raises(ValueError, match="not divisible"): DiTConfig(width=30, heads=4)
    with pytest.raises(ValueError, match="depth must be an integer >= 1"): DiTConfig(depth=0)
    rows = {r['preset']: r['params_M'] for r in param_table()}
    assert rows['tiny'] < rows['small'] < rows['base'] < rows['large']
    assert count_params(TINY) == sum(p.numel() for p in DiT(TINY).parameters())
    assert make_denoiser(TINY, 4.94).sigma_data == pytest.approx(4.94)


def test_input_errors(batch):
    x, c_noise, cond = batch
    net = DiT(TINY)
    with pytest.raises(DiTError, match=r"\(B, 16, T\)"): net(torch.randn(3, 8, 64), c_noise, cond)
    with pytest.raises(DiTError, match=r"\(B, 16, T\)"): net(torch.randn(16, 64), c_noise, cond)
    with pytest.raises(DiTError, match="multiple of patch=4"): DiT(dit_config('tiny', patch=4))(torch.randn(3, 16, 66), c_noise, cond)
    for bad in ([1, 0], [0, 0], [0, 9], [-1], 5, -1, True, [0.5]):
        with pytest.raises(DiTError, match="blocks="): net(x, c_noise, cond, blocks=bad)
    with pytest.raises(DiTError, match="not run"): net(x, c_noise, cond, blocks=[0, 1], return_hidden=[2])
    with pytest.raises(DiTError, match="extra_cond_dim=0"): net(x, c_noise, cond, extra=torch.randn(3, 4))
    with pytest.raises(DiTError, match=r"extra must be \(B, 4\)"):
        DiT(dit_config('tiny', extra_cond_dim=4))(x, c_noise, cond, extra=torch.randn(3, 5))


def test_variable_length_and_patching():
    net = randomise(DiT(dit_config('tiny', patch=2)))
    for T in (64, 128, 200):
        assert net(torch.randn(2, 16, T), torch.zeros(2), text(2)).shape == (2, 16, T)
    x = torch.randn(2, 16, 12)
    assert torch.equal(unpatchify(patchify(x, 3), 3), x)
    assert torch.equal(pos_encoding(200, 32)[:64], pos_encoding(64, 32))


def test_dtype_device_and_bf16_autocast(batch):
    x, c_noise, cond = batch
    net = randomise(DiT(TINY, device='cpu', dtype=torch.float64))
    assert all(p.dtype == torch.float64 and p.device.type == 'cpu' for p in net.parameters())
    net32 = randomise(DiT(TINY))
    y32 = net32(x, c_noise, cond)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        y16 = net32(x, c_noise, cond)
    assert y16.shape == x.shape and torch.isfinite(y16).all()
    assert (y16.float() - y32).abs().max() < 0.1 * y32.abs().max()
    den = make_denoiser(TINY, 4.94); randomise(den.net)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        d = den(x, torch.ones(3), cond)
    assert d.dtype == x.dtype and torch.isfinite(d).all()
