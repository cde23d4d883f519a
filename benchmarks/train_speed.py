"""Training throughput: the engine (core.training.Trainer) against the classic PyTorch VAE example.

Both train the reference architecture -- VAE, MLP 784-400-20 (mu, logvar) -20-400-784, Bernoulli
(BCE) likelihood, Adam lr 1e-3, batch 128 -- on full MNIST for the same number of epochs in the
same process, one after the other. The baseline is written the way the tutorials write it:
torchvision ``datasets.MNIST(transform=ToTensor())`` + ``DataLoader(batch_size=128, shuffle=True)``,
``F.binary_cross_entropy(sigmoid(...), reduction="sum")`` + KL, ``loss.item()`` every step.

Prints samples/s of both, the ratio (target >= 2.5x), the test -ELBO of both (the engine's must be
equal or lower), achieved matmul FLOP/s and the machine's measured float32 matmul peak.

    python benchmarks/train_speed.py [--epochs 1] [--quick]
"""

from __future__ import annotations

import argparse
import time

import _common  # noqa: F401  (sets sys.path and the data dir)
from _common import Results, machine, median

import torch
import torch.nn.functional as F
from torch import nn

IN, HID, LAT = 784, 400, 20
FWD_FLOPS = 2 * (IN * HID + HID * LAT * 2 + LAT * HID + HID * IN)  # matmul FLOPs per sample, forward
TRAIN_FLOPS = 3 * FWD_FLOPS  # backward ~ 2x forward


# ---- the baseline: https://github.com/pytorch/examples/blob/main/vae/main.py, verbatim in spirit ----
class BaselineVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def baseline_loss(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def run_baseline(epochs: int, limit: int | None, seed: int = 1) -> dict:
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets, transforms

    torch.manual_seed(seed)
    root = _common.data_dir()
    train_set = datasets.MNIST(root, train=True, download=False, transform=transforms.ToTensor())
    test_set = datasets.MNIST(root, train=False, download=False, transform=transforms.ToTensor())
    if limit:
        train_set, test_set = Subset(train_set, range(limit)), Subset(test_set, range(min(limit, 10_000)))
    train_loader = DataLoader(train_set, batch_size=128, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=128, shuffle=False)
    model = BaselineVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    epoch_seconds = []
    for _ in range(epochs):
        model.train()
        train_loss = 0.0
        start = time.perf_counter()
        for data, _ in train_loader:
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data)
            loss = baseline_loss(recon_batch, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        epoch_seconds.append(time.perf_counter() - start)
    model.eval()
    test_loss = 0.0
    with torch.no_grad():
        for data, _ in test_loader:
            recon, mu, logvar = model(data)
            test_loss += baseline_loss(recon, data, mu, logvar).item()
    seconds = sum(epoch_seconds)
    return {"samples_per_second": len(train_set) * epochs / seconds, "seconds": seconds,
            "epoch_seconds": epoch_seconds, "test_elbo": test_loss / len(test_set), "train_size": len(train_set)}


def run_engine(epochs: int, limit: int | None, batch_size: int | None, lr: float | None,
               val_fraction: float | None = None) -> dict:
    from dataclasses import replace

    from core.config import ModelConfig, TrainConfig
    from core.data import load_dataset
    from core.evaluation import evaluate
    from core.training import Trainer

    load_start = time.perf_counter()
    defaults = TrainConfig()
    val_fraction = defaults.val_fraction if val_fraction is None else val_fraction
    data = load_dataset("mnist", _common.data_dir(), val_fraction=val_fraction)
    load_seconds = time.perf_counter() - load_start
    if limit:
        data = replace(data, **{k: getattr(data, k)[:limit] for k in
                                ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y")})
    train_config = TrainConfig(dataset="mnist", epochs=epochs, device="cpu", val_fraction=val_fraction,
                               batch_size=batch_size or 128, lr=lr or defaults.lr)
    model_config = ModelConfig(kind="vae", arch="mlp", hidden=(HID,), latent_dim=LAT)
    epoch_times: list[float] = []
    marks = [time.perf_counter()]

    def on_epoch(report):
        now = time.perf_counter()
        epoch_times.append(now - marks[-1])
        marks.append(now)

    trainer = Trainer(model_config, train_config, data, on_epoch=on_epoch)
    start = marks[0] = time.perf_counter()
    result = trainer.run()
    seconds = time.perf_counter() - start
    metrics = evaluate(result.model, data.test_x, data.test_y)
    n = len(data.train_x)
    return {"samples_per_second": n * epochs / seconds, "seconds": seconds, "epoch_seconds": epoch_times,
            "test_elbo": metrics["elbo"], "train_size": n, "load_seconds": load_seconds,
            "batch_size": train_config.batch_size, "lr": train_config.lr}


def matmul_peak(size: int = 2048, repeats: int = 7, dtype=torch.float32) -> float:
    """FLOP/s of a size x size matmul on this machine, median of ``repeats``."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    torch.mm(a, b)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - start)
    return 2 * size ** 3 / median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="2,000 samples, 1 epoch: a smoke test")
    parser.add_argument("--batch-size", type=int, default=None, help="engine batch size (default: 128)")
    parser.add_argument("--lr", type=float, default=None, help="engine learning rate (default: TrainConfig's)")
    parser.add_argument("--val-fraction", type=float, default=None,
                        help="engine validation split (default: TrainConfig's; 0 trains on all 60,000 like the baseline)")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    limit = 2000 if args.quick else None
    epochs = 1 if args.quick else args.epochs
    info = machine()
    print(f"machine: {info}")
    results = Results("train_speed")
    engine = run_engine(epochs, limit, args.batch_size, args.lr, args.val_fraction)
    print(f"engine:   {engine['samples_per_second']:,.0f} samples/s over {engine['seconds']:.1f} s "
          f"(epochs {[round(s, 2) for s in engine['epoch_seconds']]}), batch {engine['batch_size']}, "
          f"lr {engine['lr']:g}, {engine['train_size']:,} training digits, test -ELBO {engine['test_elbo']:.2f}; dataset load {engine['load_seconds']:.2f} s")
    baseline = None
    if not args.no_baseline:
        baseline = run_baseline(epochs, limit)
        print(f"baseline: {baseline['samples_per_second']:,.0f} samples/s over {baseline['seconds']:.1f} s "
              f"(epochs {[round(s, 2) for s in baseline['epoch_seconds']]}), test -ELBO {baseline['test_elbo']:.2f}")
    peak = matmul_peak(512 if args.quick else 2048)
    peak_bf16 = matmul_peak(512 if args.quick else 2048, dtype=torch.bfloat16)
    achieved = engine["samples_per_second"] * TRAIN_FLOPS
    tag = f"{epochs} epoch{'s' if epochs > 1 else ''}"
    results.add(f"engine train speed ({tag})", engine["samples_per_second"], "samples/s")
    if baseline:
        results.add(f"tutorial baseline train speed ({tag})", baseline["samples_per_second"], "samples/s")
        ratio = engine["samples_per_second"] / baseline["samples_per_second"]
        results.add("engine / baseline speed", ratio, "x", ">= 2.5x", ratio >= 2.5)
        results.add(f"engine test -ELBO ({tag})", engine["test_elbo"], "nats",
                    f"<= baseline {baseline['test_elbo']:.2f}", engine["test_elbo"] <= baseline["test_elbo"],
                    note=f"{engine['train_size']:,} training digits vs {baseline['train_size']:,}")
        results.add(f"baseline test -ELBO ({tag})", baseline["test_elbo"], "nats")
    results.add("engine achieved matmul FLOP/s", achieved / 1e9, "GFLOP/s", note=f"{TRAIN_FLOPS / 1e6:.2f} MFLOP/sample")
    if baseline:
        results.add("baseline achieved matmul FLOP/s", baseline["samples_per_second"] * TRAIN_FLOPS / 1e9, "GFLOP/s")
    results.add("machine fp32 matmul peak (2048^2, median of 7)", peak / 1e9, "GFLOP/s",
                note=f"engine at {100 * achieved / peak:.0f}% of it")
    from core.device import cpu_has_fast_bf16

    results.add("machine bf16 matmul peak (2048^2, median of 7)", peak_bf16 / 1e9, "GFLOP/s",
                note="the engine trains under bf16 autocast here" if cpu_has_fast_bf16()
                else "not used: no AMX/AVX512-BF16")
    results.finish()


if __name__ == "__main__":
    main()
