"""Shared inputs of the 2-process tests (`test_layerdrop`, `test_distill`): a small random latent/text set and a perturbed tiny DiT."""
import torch

def toy_data():
    g = torch.Generator().manual_seed(0)
    latents, states = torch.randn(32, 16, 16, generator=g), torch.randn(32, 3, 384, generator=g)
    return latents, {'states': states, 'mask': torch.ones(32, 3, dtype=torch.bool), 'pooled': states.mean(1)}

def toy_base():
    from presto.dit import make_denoiser
    torch.manual_seed(0)
    m = make_denoiser('tiny', 1.0)
    with torch.no_grad():
        for p in m.parameters(): p.add_(0.05 * torch.randn(p.shape))
    return m
