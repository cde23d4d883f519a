"""Encoders, decoders and the autoencoder family, named as in Kingma & Welling (2014).

One class, ``LatentModel``, covers the three kinds so that every tool treats them alike:

* ``vae``  -- q(z|x) = N(mu(x), diag(sigma^2(x))), decoder p(x|z); beta weights the KL.
* ``cvae`` -- the one-hot label c is concatenated to the encoder input and to z
  (Sohn et al. 2015): q(z|x, c), p(x|z, c).
* ``ae``   -- deterministic: z = mu(x), no KL; the baseline the lecture contrasts with.

The decoder returns logits; ``torch.sigmoid(logits)`` gives pixel probabilities.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.config import ModelConfig

CONV_CHANNELS = (32, 64)  # two stride-2 convolutions: 28x28 -> 14x14 -> 7x7


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` in eval mode for the block, back in its own mode after (also on an exception).
    eval() and train() walk every module: a model already in eval mode is left alone (per hover)."""
    was_training = model.training
    if was_training:
        model.eval()
    try:
        yield model
    finally:
        if was_training:
            model.train()


def _mlp(widths: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width_in, width_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(width_in, width_out), nn.ReLU()]
    return nn.Sequential(*layers)


class MLPEncoder(nn.Module):
    """x (B, C*H*W) [+ label (B, classes)] -> features (B, hidden[-1])."""

    def __init__(self, config: ModelConfig, condition_dim: int):
        super().__init__()
        self.body = _mlp([config.input_dim + condition_dim, *config.hidden])
        self.feature_dim = config.hidden[-1]

    def forward(self, x: Tensor, condition: Tensor | None) -> Tensor:
        x = x.flatten(1)  # (B, C*H*W)
        if condition is not None:
            x = torch.cat([x, condition], dim=1)
        return self.body(x)


class MLPDecoder(nn.Module):
    """z (B, latent) [+ label] -> logits (B, C, H, W)."""

    def __init__(self, config: ModelConfig, condition_dim: int):
        super().__init__()
        widths = [config.latent_dim + condition_dim, *reversed(config.hidden)]
        self.body = _mlp(widths)
        self.to_logits = nn.Linear(widths[-1], config.input_dim)
        self.image_shape = config.image_shape

    def forward(self, z: Tensor, condition: Tensor | None) -> Tensor:
        if condition is not None:
            z = torch.cat([z, condition], dim=1)
        return self.to_logits(self.body(z)).view(-1, *self.image_shape)


class ConvEncoder(nn.Module):
    """Two stride-2 convolutions, then the MLP widths. The label joins after the convolutions."""

    def __init__(self, config: ModelConfig, condition_dim: int):
        super().__init__()
        channels, height, width = config.image_shape
        c1, c2 = CONV_CHANNELS
        self.conv = nn.Sequential(
            nn.Conv2d(channels, c1, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(c1, c2, 4, stride=2, padding=1), nn.ReLU(),
        )
        conv_dim = c2 * (height // 4) * (width // 4)
        self.body = _mlp([conv_dim + condition_dim, *config.hidden])
        self.feature_dim = config.hidden[-1]

    def forward(self, x: Tensor, condition: Tensor | None) -> Tensor:
        h = self.conv(x).flatten(1)  # (B, 64*H/4*W/4)
        if condition is not None:
            h = torch.cat([h, condition], dim=1)
        return self.body(h)


class ConvDecoder(nn.Module):
    """Mirror of ConvEncoder with transposed convolutions."""

    def __init__(self, config: ModelConfig, condition_dim: int):
        super().__init__()
        channels, height, width = config.image_shape
        c1, c2 = CONV_CHANNELS
        self.grid = (c2, height // 4, width // 4)
        widths = [config.latent_dim + condition_dim, *reversed(config.hidden)]
        self.body = _mlp(widths)
        self.to_grid = nn.Sequential(nn.Linear(widths[-1], c2 * self.grid[1] * self.grid[2]), nn.ReLU())
        self.deconv = nn.Sequential(
            nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(c1, channels, 4, stride=2, padding=1),
        )

    def forward(self, z: Tensor, condition: Tensor | None) -> Tensor:
        if condition is not None:
            z = torch.cat([z, condition], dim=1)
        h = self.to_grid(self.body(z)).view(-1, *self.grid)  # (B, 64, H/4, W/4)
        return self.deconv(h)  # (B, C, H, W) logits


_ENCODERS = {"mlp": MLPEncoder, "conv": ConvEncoder}
_DECODERS = {"mlp": MLPDecoder, "conv": ConvDecoder}


class LatentModel(nn.Module):
    """VAE, CVAE or plain autoencoder, chosen by ``config.kind``."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        condition_dim = config.num_classes if config.is_conditional else 0
        self.encoder = _ENCODERS[config.arch](config, condition_dim)
        self.decoder = _DECODERS[config.arch](config, condition_dim)
        self.fc_mu = nn.Linear(self.encoder.feature_dim, config.latent_dim)
        self.fc_logvar = nn.Linear(self.encoder.feature_dim, config.latent_dim) if config.is_variational else None

    def condition(self, labels: Tensor | None) -> Tensor | None:
        """The condition c (B, classes) for a CVAE; None for the unconditional kinds.

        Integer labels (B,) become one-hot rows. A float (B, classes) tensor is taken as c itself:
        a soft one-hot, the natural extension of the one-hot input, such as the
        (1 - t) onehot(c0) + t onehot(c1) of a morph that changes class.
        """
        if not self.config.is_conditional:
            return None
        if labels is None:
            raise ValueError("a CVAE needs class labels to encode and decode")
        if labels.is_floating_point() and labels.dim() == 2:
            if labels.shape[1] != self.config.num_classes:
                raise ValueError(f"a soft class condition needs {self.config.num_classes} columns, "
                                 f"got shape {tuple(labels.shape)}")
            return labels.to(self.fc_mu.weight.dtype)  # (B, classes)
        return F.one_hot(labels.long(), self.config.num_classes).to(self.fc_mu.weight.dtype)  # (B, classes)

    def encode(self, x: Tensor, labels: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """x (B, C, H, W) in [0, 1] -> mu (B, latent), logvar (B, latent) or None for an AE."""
        features = self.encoder(x, self.condition(labels))
        mu = self.fc_mu(features)
        logvar = self.fc_logvar(features) if self.fc_logvar is not None else None
        return mu, logvar

    @staticmethod
    def reparameterize(mu: Tensor, logvar: Tensor | None, generator: torch.Generator | None = None) -> Tensor:
        """z = mu + sigma * eps with eps ~ N(0, I): the noise is outside the gradient path."""
        if logvar is None:
            return mu
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    def decode(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """z (B, latent) -> logits (B, C, H, W)."""
        return self.decoder(z, self.condition(labels))

    def forward(
        self, x: Tensor, labels: Tensor | None = None, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor, Tensor | None]:
        """Returns (logits, mu, logvar); logvar is None for a plain autoencoder."""
        mu, logvar = self.encode(x, labels)
        z = self.reparameterize(mu, logvar, generator)
        return self.decode(z, labels), mu, logvar


def build_model(config: ModelConfig, seed: int | None = None) -> LatentModel:
    """A freshly initialised model; the same seed gives the same weights."""
    if seed is None:
        return LatentModel(config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return LatentModel(config)
