"""The device a run trains on: its name in words, and exact resume of the noise generator on every
device type. The CUDA test runs only where a CUDA device is; everything else runs on the CPU."""

from dataclasses import replace

import pytest
import torch

from core.config import ModelConfig, TrainConfig
from core.device import describe_device
from core.files import load_checkpoint, save_checkpoint
from core.training import Trainer
from core.training_control import TrainingControl

NO_CUDA = "needs a CUDA device (torch.cuda.is_available() is False here)"
MODEL = ModelConfig(hidden=(64,), latent_dim=3)
TRAIN = TrainConfig(epochs=2, batch_size=100, lr=2e-3, device="cpu", seed=5)  # 6 steps per epoch on tiny_data


def test_describe_device_names_the_cpu_and_its_threads():
    one, four = describe_device(torch.device("cpu"), threads=1), describe_device("cpu", threads=4)
    assert one.startswith("CPU (") and one.endswith(", 1 thread)")
    assert four.endswith(", 4 threads)")
    assert describe_device("cpu").endswith(f", {torch.get_num_threads()} thread{'s' * (torch.get_num_threads() != 1)})")


def _stopped_at(data, train, stop_after, path, resume=None):
    control = TrainingControl()

    def maybe_stop(report):
        if report.global_step == stop_after:
            control.request_stop()

    return Trainer(MODEL, train, data, control=control, on_step=maybe_stop, checkpoint_path=path, resume=resume).run()


def test_a_cpu_noise_state_round_trips_with_its_device(tiny_data, tmp_path):
    path = tmp_path / "m.safetensors"
    result = _stopped_at(tiny_data, TRAIN, 4, path)
    loaded = load_checkpoint(path)
    assert result.record.noise_rng_device == loaded.noise_rng_device == "cpu"
    assert torch.equal(loaded.noise_rng_state, result.record.noise_rng_state)
    trainer = Trainer(MODEL, TRAIN, tiny_data, resume=loaded)
    assert trainer.resume_note == ""
    assert torch.equal(trainer.noise.get_state(), result.record.noise_rng_state)


def test_a_file_without_the_device_field_reads_as_a_cpu_state(tiny_data, tmp_path):
    """Files written before the field existed held CPU states only."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    path = tmp_path / "m.safetensors"
    _stopped_at(tiny_data, TRAIN, 4, path)
    with safe_open(str(path), framework="pt") as reader:
        metadata = {k: v for k, v in reader.metadata().items() if k != "noise_rng_device"}
        tensors = {key: reader.get_tensor(key) for key in reader.keys()}
    save_file(tensors, str(path), metadata=metadata)
    assert load_checkpoint(path).noise_rng_device == "cpu"


def _cuda_like_record(tiny_data, tmp_path):
    """A record stopped mid-run whose noise state is a CUDA generator's (seed, Philox offset): 16 bytes."""
    record = _stopped_at(tiny_data, TRAIN, 4, tmp_path / "cpu.safetensors").record
    state = torch.tensor([TRAIN.seed, 4 * 64], dtype=torch.int64).view(torch.uint8)
    return replace(record, noise_rng_state=state, noise_rng_device="cuda")


def test_a_file_claiming_a_cuda_state_loads_on_any_machine(tiny_data, tmp_path):
    record = _cuda_like_record(tiny_data, tmp_path)
    loaded = load_checkpoint(save_checkpoint(record, tmp_path / "cuda.safetensors"))
    assert loaded.noise_rng_device == "cuda"
    assert torch.equal(loaded.noise_rng_state, record.noise_rng_state)


@pytest.mark.parametrize("device, size", [("cpu", 16), ("cuda", 5056), ("cuda", 17), ("tpu", 16)])
def test_a_noise_state_of_the_wrong_size_for_its_device_is_refused(tiny_data, tmp_path, device, size):
    from core.errors import CheckpointError

    record = replace(_cuda_like_record(tiny_data, tmp_path), noise_rng_state=torch.zeros(size, dtype=torch.uint8),
                     noise_rng_device=device)
    path = save_checkpoint(record, tmp_path / "bad.safetensors")
    with pytest.raises(CheckpointError, match="random-number state|noise_rng_device"):
        load_checkpoint(path)


def test_a_cuda_run_resumed_on_the_cpu_says_its_noise_restarts(tiny_data, tmp_path):
    record = _cuda_like_record(tiny_data, tmp_path)
    resume = load_checkpoint(save_checkpoint(record, tmp_path / "c.safetensors"))
    trainer = Trainer(MODEL, TRAIN, tiny_data, resume=resume)
    assert "trained on CUDA, resumed on CPU" in trainer.resume_note and "seed 5" in trainer.resume_note
    fresh = torch.Generator().manual_seed(TRAIN.seed).get_state()
    assert torch.equal(trainer.noise.get_state(), fresh)
    assert trainer.run().status == "finished"


def test_a_state_torch_refuses_resumes_with_a_fresh_generator_and_says_so(tiny_data, tmp_path):
    record = _stopped_at(tiny_data, TRAIN, 4, tmp_path / "m.safetensors").record
    record = replace(record, noise_rng_state=torch.zeros_like(record.noise_rng_state))  # right size, invalid
    trainer = Trainer(MODEL, TRAIN, tiny_data, resume=record)
    assert "does not fit this torch" in trainer.resume_note
    assert torch.equal(trainer.noise.get_state(), torch.Generator().manual_seed(TRAIN.seed).get_state())


@pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)
def test_cancel_and_resume_on_cuda_equals_an_uninterrupted_run(tiny_data, tmp_path, monkeypatch):
    """The MLP runs cuBLAS matmuls, elementwise kernels and tree reductions on one stream: the same
    inputs give the same bits (cuBLAS is reproducible per architecture on one stream; no atomics).
    cudnn is not used by the MLP; it is pinned anyway in case a conv model joins this test."""
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    train = replace(TRAIN, device="cuda")
    uninterrupted = Trainer(MODEL, train, tiny_data).run()
    path = tmp_path / "m.safetensors"
    stopped = _stopped_at(tiny_data, train, 4, path)  # mid-epoch 1 (6 steps per epoch)
    assert stopped.status == "cancelled" and stopped.position.global_step == 4
    resume = load_checkpoint(path)
    assert resume.noise_rng_device == "cuda"
    trainer = Trainer(MODEL, train, tiny_data, resume=resume)
    assert trainer.resume_note == ""
    result = trainer.run()
    assert result.status == "finished"
    a, b = uninterrupted.model.state_dict(), result.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a), "resumed weights differ from an uninterrupted CUDA run"
    assert result.history.steps == uninterrupted.history.steps


def test_train_resume_says_so_when_the_noise_cannot_continue_exactly(tiny_data, tmp_path, capsys):
    import json

    from core.cli import run_cli

    path = save_checkpoint(_cuda_like_record(tiny_data, tmp_path), tmp_path / "c.safetensors")
    assert run_cli(["train", "--resume", str(path), "--epochs", "1", "--out", str(tmp_path / "o.safetensors"),
                    "--device", "cpu", "--json"]) == 0
    out, err = capsys.readouterr()
    assert "trained on CUDA, resumed on CPU" in json.loads(out)["resume_note"]
    assert "latent-morph train: note: trained on CUDA" in err


def test_a_model_mps_cannot_run_trains_on_the_cpu_and_says_why(tiny_data, monkeypatch):
    """No Apple GPU here: the MPS device and its missing operation are simulated. The probe's verdict
    moves the run to the CPU before any data goes to the device, and the note says why."""
    import core.training

    monkeypatch.setattr(core.training, "resolve_device", lambda name: torch.device("mps"))
    monkeypatch.setattr(core.training, "mps_missing_op", lambda model, x, labels: "the Apple GPU (MPS) cannot "
                        "run this model (aten::foo is not implemented): training on the CPU instead")
    trainer = Trainer(MODEL, replace(TRAIN, device="mps"), tiny_data)
    assert trainer.device.type == "cpu" and trainer.data.train_x.device.type == "cpu"
    assert "training on the CPU instead" in trainer.device_note
    assert trainer.run().status == "finished"


def test_the_mps_probe_reports_a_missing_operation_instead_of_raising(tiny_data):
    from core.device import mps_missing_op
    from core.models import build_model

    note = mps_missing_op(build_model(MODEL), tiny_data.train_x[:2], tiny_data.train_y[:2])
    if torch.backends.mps.is_available():
        assert note == ""
    else:  # here: moving to "mps" fails, as a missing operation would
        assert note.startswith("the Apple GPU (MPS) cannot run this model (") and "on the CPU instead" in note
