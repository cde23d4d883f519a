"""Train the digit judge shipped in resources/judge_mnist.safetensors.

Usage: python resources/make_judge.py [PATH_TO_MNIST_ROOT] [--epochs N] [--seed S]

The judge (core.judge.DigitJudge) is a small CNN that reads a 28 x 28 digit and says which of
0-9 it is, with a confidence. core.generation_metrics uses it to say what a model's decoded images
are (prior-sample quality, a CVAE's conditional fidelity, reconstruction accuracy).

    conv 3x3 1->16, maxpool 2, ReLU -> conv 3x3 16->32, maxpool 2, ReLU
    -> linear 1568->128, ReLU, dropout 0.25 -> linear 128->10
    206,922 parameters, stored as float16 (~0.4 MB)

Training: full MNIST (60,000 training digits, torchvision's layout under the root), seeded,
4 epochs of Adam (lr 2e-3, cosine decay to 0, batch 128, weight decay 1e-4) with each digit
shifted by up to 2 pixels each way (random, integer). The test accuracy on the 10,000 MNIST test
digits, measured on the float16 weights as shipped, is recorded in the file and printed; it must
be at least 99.0% or nothing is written. Shipped: 99.09% (seed 0, 4 epochs, torch 2.14.1),
after 6.5 CPU-minutes of training: about 3.5 minutes on two idle cores.

MNIST: Y. LeCun, C. Cortes, C. J. C. Burges; CC BY-SA 3.0 (see CREDITS.md).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.data import load_dataset  # noqa: E402  (after the path is set)
from core.judge import DigitJudge, load_judge, save_judge  # noqa: E402

OUT = Path(__file__).resolve().parent / "judge_mnist.safetensors"
MIN_ACCURACY = 0.990
MAX_SHIFT = 2  # pixels, each way


def shifted(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image (B, 1, 28, 28) moved by a random whole number of pixels in -MAX_SHIFT..MAX_SHIFT."""
    b, _, h, w = x.shape
    shifts = torch.randint(-MAX_SHIFT, MAX_SHIFT + 1, (b, 2), generator=generator).float()  # (B, 2) pixels
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, 0, 2] = -2.0 * shifts[:, 0] / w  # affine_grid works in [-1, 1]: 2/w per pixel
    theta[:, 1, 2] = -2.0 * shifts[:, 1] / h
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)


@torch.inference_mode()
def accuracy(net: DigitJudge, x: torch.Tensor, y: torch.Tensor) -> float:
    net.eval()
    correct = 0
    for start in range(0, len(x), 1000):
        xb = x[start:start + 1000].contiguous(memory_format=torch.channels_last)
        correct += int((net(xb).argmax(1) == y[start:start + 1000]).sum())
    return correct / len(x)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default=os.environ.get("LATENT_MORPH_DATA", str(ROOT.parent / "shared" / "datasets")))
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)

    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    data = load_dataset("mnist", args.root, val_fraction=0.0, download=False)
    net = DigitJudge().to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3, weight_decay=1e-4)
    batch_size = 128
    steps = args.epochs * math.ceil(len(data.train_x) / batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * step / steps)))
    start_time = time.perf_counter()
    for epoch in range(args.epochs):
        net.train()
        order = torch.randperm(len(data.train_x), generator=generator)
        total = 0.0
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            xb = shifted(data.train_x[index], generator).contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(net(xb), data.train_y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(index)
        print(f"epoch {epoch + 1}/{args.epochs}: loss {total / len(order):.4f}, test accuracy "
              f"{accuracy(net, data.test_x, data.test_y):.4f}, {time.perf_counter() - start_time:.0f} s", flush=True)
    train_seconds = time.perf_counter() - start_time

    temp = Path(args.out).with_suffix(".tmp")
    save_judge(net, temp, 0.0)  # float16, as shipped: the accuracy that counts is the stored weights'
    shipped = accuracy(load_judge(temp).net, data.test_x, data.test_y)
    temp.unlink()
    if shipped < MIN_ACCURACY:
        print(f"test accuracy {shipped:.4f} is below {MIN_ACCURACY}; nothing written", file=sys.stderr)
        return 1
    notes = {"epochs": args.epochs, "seed": args.seed, "train_seconds": round(train_seconds, 1),
             "threads": torch.get_num_threads(), "torch": torch.__version__}
    out = save_judge(net, args.out, shipped, notes)
    print(f"wrote {out} ({out.stat().st_size / 1e3:.0f} KB): test accuracy {shipped:.4f} (float16), "
          f"trained in {train_seconds:.0f} s on {torch.get_num_threads()} threads")
    return 0


if __name__ == "__main__":
    sys.exit(main())
