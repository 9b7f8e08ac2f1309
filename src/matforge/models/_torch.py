"""Deep networks (PyTorch, the ``[deep]`` extra) as scikit-learn estimators.

The trained weights are kept as numpy arrays (``state_``) so that skops can save and load the estimator
without pickle; the torch module is rebuilt on demand.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from matforge.chem import ELEMENT_SYMBOLS

__all__ = ["ResidualMLP", "AtomTableCNN", "atom_table_positions", "pick_device", "torch_threads"]


def _torch():
    try:
        import torch
    except ImportError as err:  # pragma: no cover - depends on the install
        from matforge.errors import InputError

        raise InputError("deep models need PyTorch", hint="pip install 'matforge[deep]'") from err
    return torch


def pick_device(device: str | None = None):
    """`device` as given ("cpu", "cuda", "cuda:1", ...), else the first CUDA GPU when one is present, else the CPU."""
    from matforge.errors import InputError

    torch = _torch()
    if not device:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except RuntimeError as err:
        raise InputError(f"unknown torch device '{device}'", hint="Use cpu, cuda or cuda:N (or leave it unset: the GPU when present).") from err
    # torch itself only fails at the first tensor moved there, with a message about how it was compiled
    if chosen.type == "cuda" and (not torch.cuda.is_available() or (chosen.index or 0) >= torch.cuda.device_count()):
        raise InputError(f"device '{device}' asked for, but this machine has {torch.cuda.device_count()} CUDA GPU(s) that torch can use",
                         hint="Pass device='cpu', or leave the device unset to take the GPU when there is one.")
    return chosen


@contextmanager
def torch_threads(n_jobs: int | None):
    """Run the block with torch's intra-op threads set to `n_jobs` (as `worker_count` reads it; None: torch's
    own default, every core), then restore them. A network's mini-batches are small, so threads gain little,
    and threads spread over cores another process is using wait for each other: 240 steps of the attention
    model on 20,000 MatBench mp_e_form rows took 6.4 s with one thread and 97.8 s with two on the 2-core
    machine while a second job ran (side measurement, `/tmp` script)."""
    if not n_jobs:
        yield
        return
    from matforge._workers import worker_count

    torch = _torch()
    before = torch.get_num_threads()
    torch.set_num_threads(worker_count(n_jobs))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def atom_table_positions(n_elements: int = 103) -> np.ndarray:
    """(row, column) of each element H.. in a 9 × 18 periodic table (lanthanides/actinides in rows 8 and 9)."""
    from pymatgen.core.periodic_table import Element

    positions = []
    for symbol in ELEMENT_SYMBOLS[:n_elements]:
        element = Element(symbol)
        if element.is_lanthanoid or element.is_actinoid:
            first = 57 if element.is_lanthanoid else 89
            positions.append((7 if element.is_lanthanoid else 8, 2 + element.Z - first))
        else:
            positions.append((element.row - 1, element.group - 1))
    return np.asarray(positions)


class _TorchEstimator(BaseEstimator):
    """Shared training loop: AdamW, mini-batches, early stopping on a 10% validation split, a time limit.

    Training and prediction run on `device` (an estimator parameter; None: the GPU when present, else the CPU);
    the fitted weights are kept on the CPU as numpy arrays, so a model trained on a GPU loads and predicts
    anywhere.
    """

    def _network(self, n_inputs: int, n_outputs: int):  # pragma: no cover - abstract
        raise NotImplementedError

    def _chunk_rows(self) -> int:
        """Rows evaluated at once (validation, prediction): a network whose activations per row are large
        (`matforge.models._tabm.TabM`: members × embedded columns) asks for fewer."""
        return 4096

    def _prepare(self, X: np.ndarray) -> None:
        """Fit what the network's shape depends on from the rows it is trained on (not the validation split),
        before `_network` builds it: `matforge.models._tabm.TabM`'s varying columns and bin edges; nothing here."""

    def _module(self):
        torch = _torch()
        module = self._network(self.n_features_in_, self.n_outputs_)
        module.load_state_dict({k: torch.from_numpy(v) for k, v in self.state_.items()})
        module.eval()
        return module.to(self._device())

    def _device(self):
        # estimators saved before the parameter existed have no such attribute: they take the default device
        return pick_device(getattr(self, "device", None))

    def _fit(self, X: np.ndarray, target: np.ndarray, classification: bool, sample_weight: np.ndarray | None = None):
        torch = _torch()
        torch.manual_seed(int(self.random_state or 0))
        rng = np.random.default_rng(self.random_state)
        order = rng.permutation(len(X))
        n_val = max(1, int(0.1 * len(X))) if len(X) >= 20 else 0
        val, train = order[:n_val], order[n_val:]
        device = self._device()
        Xt = torch.as_tensor(X, dtype=torch.float32, device=device)
        yt = torch.as_tensor(target, dtype=torch.long if classification else torch.float32, device=device)
        self._prepare(X[train])
        module = self._network(X.shape[1], self.n_outputs_).to(device)
        optimizer = torch.optim.AdamW(module.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        # regression loss: squared error by default; "l1" fits the conditional median, which MAE rewards
        per_row = torch.nn.CrossEntropyLoss(reduction="none") if classification else (torch.nn.L1Loss(reduction="none") if getattr(self, "loss", "mse") == "l1" else torch.nn.MSELoss(reduction="none"))
        weight = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        wt = None if weight is None else torch.as_tensor(weight, dtype=torch.float32, device=device)

        def loss_fn(out, rows, weighted: bool = False):
            if out.ndim == 3:  # an ensemble network's members, (rows, members, outputs): each member on its own loss
                members = out.shape[1]
                flat = out.reshape(-1, out.shape[-1])
                losses = per_row(flat if classification else flat[:, 0], yt[rows].repeat_interleave(members)).view(-1, members).mean(dim=1)
            else:
                losses = per_row(out if classification else out[:, 0], yt[rows])
            if not weighted or wt is None:
                return losses.mean()
            w = wt[rows]
            return (losses * w).sum() / w.sum().clamp(min=1e-12)

        def epoch_rows() -> np.ndarray:
            # a row of weight w is drawn w times per epoch (stochastic rounding for fractions), as if it were
            # w rows: for w duplicates merged into one this is the unmerged epoch. Measured on MatBench
            # mp_e_form fold 0 (attention model, merged rows, 24,000 steps): multiplying the loss by the
            # weights instead gave MAE 0.1000 eV/atom against 0.0945 unweighted and 0.0929 with rows repeated
            # (side runs, not a committed script); the likely cause, not measured apart, is that a heavily
            # weighted row makes its batch's gradient jump, while repeated rows keep every row in a batch equal.
            w = None if weight is None else weight[train]
            if w is None or w.sum() <= 0:
                return rng.permutation(train)
            reps = np.floor(w).astype(int) + (rng.random(len(train)) < w - np.floor(w))
            return rng.permutation(np.repeat(train, reps))

        best, best_state, stale, start = np.inf, None, 0, time.monotonic()
        # optional (estimators that define them): a cap on optimizer steps, so that the cost of a fit stops
        # growing with the rows once they are many (deterministic, unlike max_time), with the rate following a
        # cosine from lr to 0 over the steps planned, or over max_time when that runs out first (a fit stopped
        # by its time bound still ends with its rate annealed, not cut off mid-schedule); and halving the rate
        # each time the validation loss has stalled for lr_patience epochs
        # an estimator that sizes itself by the device (CompositionAttention's "auto") keeps the numbers as size_
        max_steps, lr_patience = getattr(self, "max_steps_", getattr(self, "max_steps", None)), getattr(self, "lr_patience", None)
        n_batches = max(1, int(len(train) if weight is None else weight[train].sum()) // getattr(self, "batch_size_", self.batch_size))
        planned = min(max_steps, self.max_epochs * n_batches) if max_steps else None
        scale = 1.0  # plateau halvings so far

        def schedule_progress() -> float:  # share of the cosine run: by steps or by time, whichever is further
            return max(steps / planned, (time.monotonic() - start) / self.max_time)

        self.n_epochs_ = steps = 0
        for epoch in range(self.max_epochs):
            module.train()
            rows = epoch_rows()
            for batch in np.array_split(rows, max(1, min(n_batches, len(rows)))):
                if planned:
                    progress = schedule_progress()
                    if progress >= 1.0:
                        break
                    for group in optimizer.param_groups:
                        group["lr"] = self.lr * scale * 0.5 * (1.0 + np.cos(np.pi * progress))
                optimizer.zero_grad()
                batch = torch.as_tensor(batch, device=device)
                out = module(Xt[batch])
                loss = loss_fn(out, batch)
                loss.backward()
                optimizer.step()
                steps += 1
                if max_steps and steps >= max_steps:
                    break
            self.n_epochs_ = epoch + 1
            if n_val:
                module.eval()
                with torch.no_grad():
                    val_rows = torch.as_tensor(val, device=device)
                    out = torch.cat([module(Xt[part]) for part in torch.split(val_rows, self._chunk_rows())])
                    score = float(loss_fn(out, val_rows, weighted=True))
                if score < best - 1e-6:
                    best, stale = score, 0
                    best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
                else:
                    stale += 1
                    if lr_patience and stale % lr_patience == 0:
                        scale *= 0.5
                        for group in optimizer.param_groups:
                            group["lr"] *= 0.5
                if stale >= self.patience:
                    break
            if time.monotonic() - start > self.max_time or (max_steps and steps >= max_steps):
                break
        self.n_steps_ = steps
        # how far the rate's cosine ran (1.0: to its end, by steps or by time); None without a planned schedule
        self.schedule_progress_ = min(1.0, schedule_progress()) if planned else None
        if best_state is not None:
            module.load_state_dict(best_state)
        self.state_ = {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
        return self

    def _forward(self, X, call=None) -> np.ndarray:
        """The fitted network's output for X, in chunks of `_chunk_rows`; `call(module, x)` instead of
        ``module(x)`` reads something else from it (`matforge.models._tabm.TabM.predict_members`)."""
        check_is_fitted(self, "state_")
        torch = _torch()
        X = validate_data(self, X, reset=False).astype(np.float32)
        module = self._module()
        device = self._device()
        call = call or (lambda network, x: network(x))
        with torch.no_grad(), torch_threads(getattr(self, "n_jobs", None)):
            return np.concatenate([call(module, torch.from_numpy(part).to(device)).cpu().numpy() for part in np.array_split(X, max(1, len(X) // self._chunk_rows()))])


class _TaskMixin:
    def fit(self, X, y, sample_weight=None):
        """Train; `sample_weight` (one non-negative number per row) weights each row's loss."""
        X, y = validate_data(self, X, y)
        X = X.astype(np.float32)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        # getattr: estimators saved before `n_jobs` existed use torch's default threads
        with torch_threads(getattr(self, "n_jobs", None)):
            if self.task == "classification":
                self.classes_, codes = np.unique(y, return_inverse=True)
                self.n_outputs_ = len(self.classes_)
                return self._fit(X, codes, True, sample_weight)
            self.n_outputs_ = 1
            return self._fit(X, np.asarray(y, dtype=np.float32), False, sample_weight)

    def predict(self, X):
        out = self._forward(X)
        if self.task == "classification":
            return self.classes_[np.argmax(out, axis=1)]
        return out[:, 0].astype(float)

    def predict_proba(self, X):
        if self.task != "classification":
            raise AttributeError("predict_proba is only available for classification")
        out = self._forward(X)
        out = np.exp(out - out.max(axis=1, keepdims=True))
        return out / out.sum(axis=1, keepdims=True)

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, RegressorTags

        tags = super().__sklearn_tags__()
        if self.task == "classification":
            tags.estimator_type, tags.classifier_tags = "classifier", ClassifierTags()
        else:
            tags.estimator_type, tags.regressor_tags = "regressor", RegressorTags()
        return tags

    def score(self, X, y):
        from sklearn.metrics import accuracy_score, r2_score

        return accuracy_score(y, self.predict(X)) if self.task == "classification" else r2_score(y, self.predict(X))


class ResidualMLP(_TaskMixin, _TorchEstimator):
    """A deep fully connected network with residual blocks, layer norm, dropout and early stopping.

    Parameters
    ----------
    task : ``"regression"`` or ``"classification"``.
    width, depth : units per hidden layer and number of residual blocks.
    dropout, lr, weight_decay : regularisation and AdamW settings.
    max_epochs, patience, batch_size, max_time : training schedule; ``max_time`` in seconds.
    device : torch device to train and predict on (``"cpu"``, ``"cuda"``, ``"cuda:1"``); None: the GPU when one is
        present, else the CPU (``CUDA_VISIBLE_DEVICES=""`` hides the GPU from every model at once).
    n_jobs : CPU threads torch uses while fitting and predicting (-1: every core; None: torch's default).
    """

    def __init__(self, task="regression", width=256, depth=4, dropout=0.1, lr=1e-3, weight_decay=1e-5, max_epochs=300, patience=20, batch_size=128, max_time=120.0, random_state=None, device=None, n_jobs=None):
        self.task = task
        self.width = width
        self.depth = depth
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.patience = patience
        self.batch_size = batch_size
        self.max_time = max_time
        self.random_state = random_state
        self.device = device
        self.n_jobs = n_jobs

    def _network(self, n_inputs: int, n_outputs: int):
        nn = _torch().nn
        width, dropout = self.width, self.dropout

        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width), nn.GELU(), nn.Dropout(dropout), nn.Linear(width, width))

            def forward(self, x):
                return x + self.body(x)

        return nn.Sequential(nn.Linear(n_inputs, width), *[Block() for _ in range(self.depth)], nn.LayerNorm(width), nn.Linear(width, n_outputs))


class AtomTableCNN(_TaskMixin, _TorchEstimator):
    """Atom-table CNN (Zeng et al., npj Comput. Mater. 5, 84, 2019).

    A composition is drawn as a 9 × 18 periodic-table image whose pixels hold atomic fractions; convolutions
    then see chemically neighbouring elements together. Input: the element-fraction columns (H..Og) first, then any
    process columns, which join the dense head. Parameters as `ResidualMLP`, `channels` instead of width/depth.
    """

    def __init__(self, task="regression", channels=32, lr=1e-3, weight_decay=1e-5, max_epochs=300, patience=20, batch_size=128, max_time=120.0, random_state=None, device=None, n_jobs=None):
        self.task = task
        self.channels = channels
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.patience = patience
        self.batch_size = batch_size
        self.max_time = max_time
        self.random_state = random_state
        self.device = device
        self.n_jobs = n_jobs

    def _network(self, n_inputs: int, n_outputs: int):
        torch = _torch()
        nn = torch.nn
        n_elements = min(n_inputs, len(ELEMENT_SYMBOLS))
        n_extra = n_inputs - n_elements  # process columns (temperatures, times) join the dense head
        positions = atom_table_positions(n_elements)
        flat = torch.as_tensor(positions[:, 0] * 18 + positions[:, 1], dtype=torch.long)
        c = self.channels

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.register_buffer("flat", flat)
                self.conv = nn.Sequential(
                    nn.Conv2d(1, c, 3, padding=1), nn.GELU(), nn.Conv2d(c, c, 3, padding=1), nn.GELU(),
                    nn.Conv2d(c, 2 * c, 3, padding=1), nn.GELU(), nn.AdaptiveAvgPool2d((3, 6)), nn.Flatten(),
                )  # fmt: skip
                self.head = nn.Sequential(nn.Linear(2 * c * 18 + n_extra, 128), nn.GELU(), nn.Linear(128, n_outputs))

            def forward(self, x):
                image = x.new_zeros((x.shape[0], 9 * 18))
                image[:, self.flat] = x[:, :n_elements]
                features = self.conv(image.view(-1, 1, 9, 18))
                return self.head(torch.cat([features, x[:, n_elements:]], dim=1))

        return Net()
