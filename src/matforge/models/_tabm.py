"""TabM: an ensemble of k MLPs in one network, with piecewise-linear feature embeddings (the ``[deep]`` extra).

Y. Gorishniy, A. Kotelnikov, A. Babenko, TabM: Advancing tabular deep learning with parameter-efficient
ensembling, ICLR (2025). The k members share their weights but for per-member scalings (BatchEnsemble), are
trained side by side, each on its own loss, and predict as their average; every input column first passes a
piecewise-linear encoding on bins at its training quantiles (Gorishniy, Rubachev, Babenko, On embeddings for
numerical features in tabular deep learning, NeurIPS 2022). The network and the embeddings come from the
authors' `tabm` and `rtdl_num_embeddings` packages; this module adds the scikit-learn estimator around them
(the shared training loop of `matforge.models._torch`, weights saved as numpy arrays for skops).

Why it is here beside `deep_mlp`: on MatBench glass (the 5 official folds, the 410 `magpie_wide` columns, default
settings, no search; benchmarks/tabm_vs_trees.py) it ranks at ROC-AUC 0.9465 against the residual MLP's 0.9204,
better in every fold, though still below extra trees (0.9577) and about 40 times their fitting time on the CPU
(docs/benchmark.md, "TabM for glass").
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np

from matforge.models._torch import _TaskMixin, _torch, _TorchEstimator

__all__ = ["TabM"]


def _packages():
    try:
        import rtdl_num_embeddings
        import tabm
    except ImportError as err:  # pragma: no cover - depends on the install
        from matforge.errors import InputError

        raise InputError("the TabM model needs the tabm package", hint="pip install 'matforge[deep]'") from err
    return tabm, rtdl_num_embeddings


@contextmanager
def _one_bin_is_fine():
    # a column with two distinct values (an element present or not) gets one bin, i.e. a min-max scaling: what it
    # should get, not something to warn a user about once per column at every fit and prediction
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*has just two bin edges", category=UserWarning)
        yield


class TabM(_TaskMixin, _TorchEstimator):
    """TabM (k weight-sharing MLPs trained together) with piecewise-linear embeddings of the input columns.

    Parameters
    ----------
    task : ``"regression"`` or ``"classification"``.
    k : number of ensemble members in the network.
    n_blocks, d_block, dropout : depth, width and dropout of each member's MLP.
    n_bins : quantile bins per column for the piecewise-linear embeddings (at most one fewer than the training
        rows); 0: the columns enter as they are (plain TabM).
    d_embedding : size of each column's embedding.
    lr, weight_decay : AdamW settings (the paper's defaults: 2e-3 and 3e-4).
    max_epochs, patience, batch_size, max_time : training schedule (early stopping on a 10 % validation split,
        on the members' average); ``max_time`` in seconds.
    device, n_jobs, random_state : as `matforge.models.ResidualMLP`.

    Columns constant on the training rows are dropped inside the network (the embeddings need two distinct
    values; a composition table holds many never-present element fractions).
    """

    def __init__(self, task="regression", k=32, n_blocks=2, d_block=256, dropout=0.1, n_bins=48, d_embedding=16, lr=2e-3, weight_decay=3e-4, max_epochs=300, patience=16, batch_size=256, max_time=600.0, random_state=None, device=None, n_jobs=None):
        self.task = task
        self.k = k
        self.n_blocks = n_blocks
        self.d_block = d_block
        self.dropout = dropout
        self.n_bins = n_bins
        self.d_embedding = d_embedding
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_epochs = max_epochs
        self.patience = patience
        self.batch_size = batch_size
        self.max_time = max_time
        self.random_state = random_state
        self.device = device
        self.n_jobs = n_jobs

    def _prepare(self, X: np.ndarray) -> None:
        # the varying columns and their bin edges, from the rows the network is trained on (not the validation split)
        torch = _torch()
        _, rne = _packages()
        self.columns_ = np.flatnonzero(np.ptp(X, axis=0) > 0)
        if len(self.columns_) == 0:  # nothing varies: one column, which the network then learns a constant from
            self.columns_ = np.array([0])
        self.bins_ = None
        if self.n_bins and len(X) > 2 and np.ptp(X[:, self.columns_], axis=0).min() > 0:
            n_bins = int(min(self.n_bins, len(X) - 1))
            with _one_bin_is_fine():
                self.bins_ = [b.numpy() for b in rne.compute_bins(torch.as_tensor(X[:, self.columns_], dtype=torch.float32), n_bins=n_bins)]

    def predict_members(self, X) -> np.ndarray:
        """Each member's prediction, shape (rows, k): regression targets (in the units the network was fitted in),
        or for classification the members' probabilities of the last class (binary: the positive one). Their
        mean is `predict` / `predict_proba`; their spread is the network's own uncertainty
        (`matforge.learn._uncertainty.prediction_variance`)."""
        torch = _torch()
        classification = self.task == "classification"

        def members(module, x):
            out = module.members(x)  # dropout off (eval mode)
            return torch.softmax(out, dim=-1)[..., -1] if classification else out[..., 0]

        return self._forward(X, call=members).astype(float)

    def _chunk_rows(self) -> int:
        # the first layer scales every member's copy of the embedded row: rows × k × columns × embedding floats at
        # once (MatBench glass: 32 × 410 × 16 per row, 3.4 GB for 4,096 rows); 2^25 floats (128 MB) a chunk
        width = len(self.columns_) * (self.d_embedding if self.bins_ is not None else 1)
        return max(16, int(2**25 // (self.k * max(width, self.d_block))))

    def _network(self, n_inputs: int, n_outputs: int):
        torch = _torch()
        tabm, rne = _packages()
        nn = torch.nn
        columns = torch.as_tensor(self.columns_, dtype=torch.long)
        embeddings = None
        if self.bins_ is not None:
            bins = [torch.as_tensor(b) for b in self.bins_]
            with _one_bin_is_fine():
                embeddings = rne.PiecewiseLinearEmbeddings(bins, d_embedding=self.d_embedding, activation=False, version="B")
        network = tabm.TabM.make(n_num_features=len(columns), d_out=n_outputs, num_embeddings=embeddings, k=self.k, n_blocks=self.n_blocks, d_block=self.d_block, dropout=self.dropout)
        classification = self.task == "classification"

        class Net(nn.Module):
            # training: every member's output (rows, k, outputs), each member trained on its own loss (_fit);
            # evaluation: the members' average (of probabilities for classes, returned as log-probabilities)
            def __init__(self):
                super().__init__()
                self.register_buffer("columns", columns)
                self.tabm = network

            def members(self, x):  # every member's output, (rows, k, outputs)
                return self.tabm(x[:, self.columns])

            def forward(self, x):
                out = self.members(x)
                if self.training:
                    return out
                if classification:
                    return torch.logsumexp(torch.log_softmax(out, dim=-1), dim=1) - np.log(out.shape[1])
                return out.mean(dim=1)

        return Net()
