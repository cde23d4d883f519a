"""Latent Morph engine: VAE, CVAE, beta-VAE and autoencoder training and latent tools.

torch + numpy only; never Qt. Usable from a script or a notebook::

    from core.config import ModelConfig, TrainConfig
    from core.data import load_dataset
    from core.training import Trainer
"""

import os

# Threads of torch's OpenMP pool that finish a parallel region early sleep instead of spinning.
# With the default (spin ~0.3 s before sleeping) any other busy thread -- the GUI thread, a
# second process -- stalls every matmul's barrier: on a 2-core machine with one other busy
# process the reference VAE trained at ~1,200 samples/s spinning against ~15,000 passive
# (benchmarks/README.md). libgomp reads this once, when torch is first imported, so it must be
# set before that; ``core`` is imported before torch by both main.py paths. setdefault: a
# user's own OMP_WAIT_POLICY wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
