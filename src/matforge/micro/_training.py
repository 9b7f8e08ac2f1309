"""One training loop for both networks: AdamW, warm-up + cosine learning rate, early stopping on a
validation split, best weights kept. Also device choice and seeding, so every network trains the same way.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from matforge.models._torch import pick_device  # one device rule for every network
from matforge.progress import progress_bar

log = logging.getLogger("matforge.micro")

__all__ = ["pick_device", "seeded_generator", "TrainingSchedule", "recalibrate_batchnorm", "train_network"]


def seeded_generator(seed: int) -> torch.Generator:
    """Seed torch's global state (weight initialisation, dropout) and return a CPU generator for sampling."""
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


@dataclass
class TrainingSchedule:
    """How long and how fast to train.

    epochs : maximum passes over the training images. steps_per_epoch : optimizer steps in one pass.
    lr : peak learning rate of AdamW (Loshchilov & Hutter, ICLR 2019), reached after `warmup_epochs` and
    then annealed on a cosine to zero at `epochs`. patience : stop after this many epochs without a
    better validation score (Prechelt, "Early stopping - but when?", 1998). min_epochs : never stop earlier.
    swa_epochs : with a positive value, stochastic weight averaging (Izmailov et al., "Averaging weights
    leads to wider optima and better generalization", UAI 2018): the cosine anneals to `swa_lr` x `lr`
    (instead of zero) at `epochs - swa_epochs`, the learning rate then stays there and the weights at the
    end of each of these last `swa_epochs` epochs are averaged; the average (BatchNorm statistics
    re-estimated for it) is the result, so early stopping is off.
    """

    epochs: int = 40
    steps_per_epoch: int = 20
    lr: float = 3e-3
    weight_decay: float = 5e-4
    warmup_epochs: int = 2
    patience: int = 10
    min_epochs: int = 0
    swa_epochs: int = 0
    swa_lr: float = 0.25


def _lr_factor(step: int, warmup: int, total: int, floor: float = 0.0) -> float:
    """Linear warm-up over `warmup` steps, then a cosine from 1 down to `floor` at step `total`, then `floor`."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def recalibrate_batchnorm(net: torch.nn.Module, batch: Callable[[], tuple[torch.Tensor, torch.Tensor]], n_batches: int) -> None:
    """Recompute BatchNorm running statistics as a plain average over `n_batches` with the current weights.

    With few optimizer steps (tens of images) the exponential running averages still remember the
    early weights, and evaluation-mode outputs then disagree with training-mode ones; averaging afresh
    with the final weights removes that lag.
    """
    norms = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # None = cumulative average in torch
    net.train()
    with torch.no_grad():
        for _ in range(n_batches):
            net(batch()[0])
    for m, momentum in zip(norms, saved, strict=True):
        m.momentum = momentum
    net.eval()


def train_network(
    net: torch.nn.Module,
    batch: Callable[[], tuple[torch.Tensor, torch.Tensor]],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    validate: Callable[[torch.nn.Module], tuple[float, float]],
    schedule: TrainingSchedule,
    *,
    device: torch.device,
    description: str = "training",
) -> list[dict]:
    """Train `net` in place and leave it holding the weights of its best validation epoch.

    `batch()` returns one augmented training batch (inputs, targets) on `device`; `validate(net)` returns
    (validation loss, validation score), higher score better, ties broken by lower loss. Returns the
    per-epoch history (epoch, train_loss, val_loss, val_score, lr, seconds); with `schedule.swa_epochs`,
    the last entry also holds swa_val_loss and swa_val_score, the scores of the averaged weights returned.
    """
    # swa_epochs and swa_lr are checked where users set them (MicrographClassifier.fit)
    swa = max(0, min(int(schedule.swa_epochs), schedule.epochs))
    opt = torch.optim.AdamW(net.parameters(), lr=schedule.lr, weight_decay=schedule.weight_decay)
    total = (schedule.epochs - swa) * schedule.steps_per_epoch
    warmup = min(schedule.warmup_epochs * schedule.steps_per_epoch, total)
    floor = schedule.swa_lr if swa else 0.0
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: _lr_factor(s, warmup, total, floor))
    averaged: dict[str, torch.Tensor] = {}
    n_averaged = 0
    best = (-math.inf, math.inf)
    best_state = copy.deepcopy(net.state_dict())
    since_best, history = 0, []
    start = time.perf_counter()
    with progress_bar() as bar:
        task = bar.add_task(description, total=schedule.epochs)
        for epoch in range(schedule.epochs):
            net.train()
            losses = []
            for _ in range(schedule.steps_per_epoch):
                x, y = batch()
                loss = loss_fn(net(x), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                losses.append(loss.item())
            recalibrate_batchnorm(net, batch, min(schedule.steps_per_epoch, 4))
            with torch.no_grad():
                val_loss, val_score = validate(net)
            history.append(
                {
                    "epoch": epoch + 1,
                    "train_loss": float(np.mean(losses)),
                    "val_loss": float(val_loss),
                    "val_score": float(val_score),
                    "lr": float(sched.get_last_lr()[0]),
                    "seconds": round(time.perf_counter() - start, 2),
                }
            )
            bar.update(task, advance=1, description=f"{description} (val {val_score:.3f})")
            log.info("%s: epoch %d, train loss %.4f, val loss %.4f, val score %.4f, %.0f s", description,
                     epoch + 1, history[-1]["train_loss"], val_loss, val_score, history[-1]["seconds"])
            if (val_score, -val_loss) > (best[0], -best[1]):
                best, since_best = (val_score, val_loss), 0
                best_state = copy.deepcopy(net.state_dict())
            else:
                since_best += 1
            if epoch >= schedule.epochs - swa:
                # Running mean of the parameters over the SWA epochs (buffers are re-estimated below).
                n_averaged += 1
                for name, p in net.named_parameters():
                    prev = averaged.get(name)
                    value = p.detach().clone()
                    averaged[name] = value if prev is None else prev + (value - prev) / n_averaged
            elif not swa and since_best >= schedule.patience and epoch + 1 >= schedule.min_epochs:
                break
    if swa:
        with torch.no_grad():
            for name, p in net.named_parameters():
                p.copy_(averaged[name])
        # Averaged weights need their own BatchNorm statistics: those of any one epoch do not fit them.
        recalibrate_batchnorm(net, batch, schedule.steps_per_epoch)
        with torch.no_grad():
            val_loss, val_score = validate(net)
        history[-1].update(swa_val_loss=float(val_loss), swa_val_score=float(val_score))
        log.info("%s: weights averaged over the last %d epochs, val loss %.4f, val score %.4f", description,
                 n_averaged, val_loss, val_score)
    else:
        net.load_state_dict(best_state)
    net.eval()
    return history
