"""Benchmark: the cost of streaming the soft-binning plane while training the worked example's
transformer (examples/transformer/checkpoints.py), as a ratio to the same training without
infoplane, measured in the same run (alternating, median of REPEATS).

    python scripts/bench_stream.py [STEPS_PER_EPOCH] [EPOCHS] [REPEATS]

The defaults (125 steps an epoch) are the example's cadence: 1500 steps, 12 checkpoints.

The streamed run uses ``Recorder(record_epochs="none", stream="soft", tokens="tokens:8")``: at
every epoch the analysis set (256 sequences, 2048 tokens) runs through the model and the soft
sums of 4 layers are updated; nothing is stored but the table. Goal: at most 1.05.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "transformer"))
import checkpoints as ex  # noqa: E402

import infoplane  # noqa: E402


def run(steps: int, epochs: int, stream: bool, out: str) -> float:
    torch.manual_seed(0)
    law = ex.language()
    data = torch.as_tensor(ex.sample(4096, *law, seed=1)[0])
    tokens, _ = ex.sample(256, *law, seed=99)
    x, y = torch.as_tensor(tokens[:, :-1]), torch.as_tensor(tokens[:, 1:])
    model = ex.TinyLM()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)

    def one_epoch():
        for _ in range(steps):
            batch = data[torch.randint(len(data), (64,), generator=gen)]
            loss = torch.nn.functional.cross_entropy(model(batch[:, :-1]).reshape(-1, ex.V),
                                                     batch[:, 1:].reshape(-1))
            opt.zero_grad()
            loss.backward()
            opt.step()

    t0 = time.perf_counter()
    if not stream:
        for _ in range(epochs):
            one_epoch()
        return time.perf_counter() - t0
    with infoplane.Recorder(model, out, analysis=(x, y), epochs=epochs, record_epochs="none",
                            layers=["embed", "blocks.0", "blocks.1", "norm"], tokens="tokens:8",
                            gradients=False, progress=False, stream="soft", batch_size=128) as rec:
        for _epoch in rec.epochs():
            one_epoch()
    return time.perf_counter() - t0


def main() -> None:
    given = [int(a) for a in sys.argv[1:4]]
    steps, epochs, repeats = given + [125, 8, 3][len(given):]
    torch.set_num_threads(os.cpu_count() or 1)
    plain, streamed = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(repeats):
            plain.append(run(steps, epochs, False, ""))
            streamed.append(run(steps, epochs, True, os.path.join(tmp, f"s{r}")))
    med = lambda v: sorted(v)[len(v) // 2]  # noqa: E731
    p, s = med(plain), med(streamed)
    print(f"transformer example, {epochs} epochs of {steps} steps (batch 64 x 32 tokens), "
          f"{torch.get_num_threads()} threads, median of {repeats}")
    print(f"plain training:                 {p:.2f} s")
    print(f"with the streamed soft plane:   {s:.2f} s  (analysis set 2048 tokens x 4 layers at "
          f"epochs 0..{epochs})")
    print(f"ratio streamed / plain: {s / p:.3f} (goal ≤ 1.05)")


if __name__ == "__main__":
    main()
