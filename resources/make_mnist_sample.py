"""Cut the offline MNIST sample shipped in resources/mnist_sample.npz.

Usage: python resources/make_mnist_sample.py PATH_TO_MNIST_ROOT

Takes the first 5,000 training and the first 1,000 test digits of the canonical MNIST files
(Y. LeCun, C. Cortes, C. J. C. Burges; CC BY-SA 3.0), unchanged, as uint8, compressed.
"""

import sys
from pathlib import Path

import numpy as np
from torchvision.datasets import MNIST

TRAIN_COUNT = 5000
TEST_COUNT = 1000


def main(root: str) -> None:
    train, test = MNIST(root, train=True, download=False), MNIST(root, train=False, download=False)
    out = Path(__file__).resolve().parent / "mnist_sample.npz"
    np.savez_compressed(
        out,
        train_images=train.data[:TRAIN_COUNT].numpy(), train_labels=train.targets[:TRAIN_COUNT].numpy().astype(np.uint8),
        test_images=test.data[:TEST_COUNT].numpy(), test_labels=test.targets[:TEST_COUNT].numpy().astype(np.uint8),
    )
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/datasets")
