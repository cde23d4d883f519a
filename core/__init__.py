"""Latent Morph engine: VAE, CVAE, beta-VAE and autoencoder training and latent tools.

torch + numpy only; never Qt. Usable from a script or a notebook::

    from core.config import ModelConfig, TrainConfig
    from core.data import load_dataset
    from core.training import Trainer
"""

__version__ = "0.1.0"
