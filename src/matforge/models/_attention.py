"""Self-attention over the elements of a composition (PyTorch, the ``[deep]`` extra).

A composition is a short, unordered set of (element, fraction) pairs. Each element becomes a token: its
mat2vec/matscholar vector (shipped inside the matminer wheel, projected and fine-tuned) plus an encoding of
its fraction; transformer layers let every element's representation depend on the others (Ga next to N is
not Ga next to Sb); the tokens are pooled with the atomic fractions as weights and a small head predicts
the property. This is the architecture of CrabNet (A. Y.-T. Wang et al., Compositionally restricted
attention-based network for materials property predictions, npj Comput. Mater. 7, 77 (2021)), whose
message passing between elements follows Roost (R. E. A. Goodall, A. A. Lee, Predicting materials
properties without crystal structure: deep representation learning from stoichiometry, Nat. Commun. 11,
6280 (2020)). Sized for the device by default: on the CPU smaller and shorter-trained than the published model
so that it fits a CPU search budget; on a CUDA GPU 256-wide tokens in 3 layers (CrabNet: 512 in 3).

Input: the element-fraction columns H..Og first (the ``"fractions"`` feature set), then any process
columns, which join the head after standardisation.
"""

from __future__ import annotations

import numpy as np

from matforge.chem import ELEMENT_SYMBOLS
from matforge.models._torch import _TaskMixin, _torch, _TorchEstimator

__all__ = ["CompositionAttention", "auto_size", "fraction_encoding"]

_N_FREQ = 6  # sinusoid octaves per scale: resolves fractions down to ~1/64 linearly, ~0.04 decades in log


def fraction_encoding(frac):
    """Features of atomic fractions (a torch tensor of any shape, values in (0, 1]) → shape + (2 + 4·6,).

    CrabNet encodes a fraction with sinusoids on a linear and on a log scale, so that 0.5 vs 0.45 and
    0.001 vs 0.01 are both told apart; the same idea here with octave frequencies."""
    torch = _torch()
    frac = frac.clamp(min=1e-6, max=1.0)
    log = 1.0 + torch.log10(frac) / 6.0  # 1e-6 .. 1 → 0 .. 1
    scales = torch.stack([frac, log], dim=-1)  # (..., 2)
    angles = scales.unsqueeze(-1) * (np.pi * 2.0 ** torch.arange(_N_FREQ, dtype=frac.dtype, device=frac.device))
    return torch.cat([scales, torch.sin(angles).flatten(-2), torch.cos(angles).flatten(-2)], dim=-1)


_CPU_SIZE = {"d_model": 64, "n_layers": 2, "batch_size": 256, "max_steps": 24000}
_GPU_SIZE = {"d_model": 256, "n_layers": 3, "batch_size": 512, "max_steps": 14000}


def auto_size(device) -> dict[str, int]:
    """What ``"auto"`` means for d_model, n_layers, batch_size and max_steps on `device` (a torch device):
    the sizes measured on a CUDA GPU there, else those measured on the CPU (see `CompositionAttention`)."""
    return dict(_GPU_SIZE if getattr(device, "type", str(device)) == "cuda" else _CPU_SIZE)


class CompositionAttention(_TaskMixin, _TorchEstimator):
    """CrabNet/Roost-style attention over element embeddings, as a scikit-learn estimator.

    Parameters
    ----------
    task : ``"regression"`` or ``"classification"``.
    d_model, n_layers, n_heads : token width, transformer layers and attention heads.
    dropout, lr, weight_decay : regularisation and AdamW settings.
    loss : regression loss, ``"l1"`` (the conditional median; what MAE rewards) or ``"mse"``.
    embedding : element vectors the tokens start from: ``"matscholar"`` (200-d), ``"megnet"`` (16-d) or
        ``"cgcnn"`` (92-d); elements without a vector start from zero and learn their own.
    max_epochs, max_steps, patience, lr_patience, batch_size, max_time : training schedule: at most
        `max_epochs` passes and `max_steps` mini-batches (so that the cost of a fit stops growing with the
        rows), the learning rate following a cosine from `lr` to 0 over the steps planned (or over `max_time`,
        when that runs out first) and halved after every `lr_patience` epochs without a better loss on a 10 %
        validation split, early stopping after `patience` such epochs; ``max_time`` (seconds) is a safety bound
        that makes a fit depend on the machine's speed when it is reached.

    d_model, n_layers, batch_size and max_steps may be ``"auto"`` (their defaults): sized for the device the
    fit runs on (``auto_size``), because size is the knob where compute is cheap. On the CPU: ``d_model=64,
    n_layers=2``, batches of 256, 24,000 steps. On MatBench mp_e_form (official fold 0, 106,201 training
    rows, one fit alone, 1 thread) 15,000 steps gave MAE 0.0983 eV/atom and 24,000 gave 0.0912, in 9.1 min
    (23 ms per mini-batch; benchmarks/attention_steps.py); ``d_model=128, n_layers=3`` gave 0.0894 for 7.9
    times the CPU time. On a CUDA GPU: ``d_model=256, n_layers=3``, batches of 512, 14,000 steps, as measured
    on one H200 (benchmarks/attention_gpu.py): fold 0 alone 0.0867 eV/atom in 172 s (13,763 steps, 12.5 ms
    each); the five folds, trained side by side, 0.0884 alone and 0.0787 with the residual trees of
    ``composition_attention_boosted`` (benchmarks/results/attention_gpu_boosted_large.json). The sizes chosen are
    kept as ``d_model_``, ``n_layers_``, ``batch_size_`` and ``max_steps_``.

    device : torch device to train and predict on; None: the GPU when one is present, else the CPU.
    n_jobs : CPU threads torch uses while fitting and predicting (-1: every core; None: torch's default).

    A composition with more elements than the most complex training composition keeps its largest fractions.
    """

    def __init__(self, task="regression", d_model="auto", n_layers="auto", n_heads=4, dropout=0.1, lr=1e-3, weight_decay=1e-5, loss="l1", embedding="matscholar", max_epochs=200, max_steps="auto", patience=20, lr_patience=5, batch_size="auto", max_time=3600.0, random_state=None, device=None, n_jobs=None):
        self.task = task
        self.d_model = d_model
        self.n_layers = n_layers
        self.n_heads = n_heads
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.loss = loss
        self.embedding = embedding
        self.max_epochs = max_epochs
        self.max_steps = max_steps
        self.patience = patience
        self.lr_patience = lr_patience
        self.batch_size = batch_size
        self.max_time = max_time
        self.random_state = random_state
        self.device = device
        self.n_jobs = n_jobs

    def _fit(self, X: np.ndarray, target: np.ndarray, classification: bool, sample_weight: np.ndarray | None = None):
        sizes = auto_size(self._device())
        for name in sizes:
            value = getattr(self, name)
            setattr(self, name + "_", sizes[name] if value == "auto" else int(value))
        n_elements = min(X.shape[1], len(ELEMENT_SYMBOLS))
        # sequence length = the most elements any training composition has (padding beyond it is wasted work)
        self.max_elements_ = int(max(1, (X[:, :n_elements] > 0).sum(axis=1).max()))
        extra = X[:, n_elements:]
        self.extra_mean_ = extra.mean(axis=0).astype(np.float32) if extra.shape[1] else np.zeros(0, np.float32)
        std = extra.std(axis=0) if extra.shape[1] else np.ones(0)
        self.extra_scale_ = np.where(std > 0, std, 1.0).astype(np.float32)
        return super()._fit(X, target, classification, sample_weight)

    def _network(self, n_inputs: int, n_outputs: int):
        torch = _torch()
        nn = torch.nn
        from matforge.features._embeddings import embedding_table

        n_elements = min(n_inputs, len(ELEMENT_SYMBOLS))
        table = np.nan_to_num(embedding_table(self.embedding)[:n_elements], nan=0.0).astype(np.float32)
        table /= max(float(np.abs(table).max()), 1e-12)
        # models saved before the sizes could be "auto" hold their numbers in the parameters themselves
        k, d = self.max_elements_, int(getattr(self, "d_model_", self.d_model))
        extra_mean, extra_scale = torch.from_numpy(self.extra_mean_), torch.from_numpy(self.extra_scale_)
        n_extra = n_inputs - n_elements
        n_enc = 2 + 4 * _N_FREQ

        class Net(nn.Module):
            def __init__(self, n_layers, n_heads, dropout):
                super().__init__()
                self.register_buffer("table", torch.from_numpy(table))
                self.register_buffer("extra_mean", extra_mean)
                self.register_buffer("extra_scale", extra_scale)
                self.project = nn.Linear(table.shape[1], d)
                self.own = nn.Embedding(n_elements, d)  # per-element correction, starts at zero
                nn.init.zeros_(self.own.weight)
                self.fraction = nn.Sequential(nn.Linear(n_enc, d), nn.GELU(), nn.Linear(d, d))
                layer = nn.TransformerEncoderLayer(d, n_heads, dim_feedforward=2 * d, dropout=dropout, activation="gelu", batch_first=True, norm_first=True)
                self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
                self.norm = nn.LayerNorm(d)
                self.head = nn.Sequential(nn.Linear(d + n_extra, d), nn.GELU(), nn.Linear(d, n_outputs))

            def forward(self, x):
                # tokens only for as many elements as this batch's most complex row has: padding tokens are
                # masked out of attention and pooling, so trimming them changes no result, only the cost
                # (MP formation energies: 3.3 elements on average, at most 9)
                k_batch = int((x[:, :n_elements] > 0).sum(dim=1).max().clamp(min=1))
                frac, index = x[:, :n_elements].topk(min(k, k_batch, n_elements), dim=1)
                present = frac > 0
                present[:, 0] = True  # a row with no element at all still attends to one (zero-weight) token
                # project the whole element table once, then pick rows: the same numbers as projecting each
                # token's vector, at 118 rows instead of batch × tokens
                tokens = self.project(self.table)[index] + self.own(index) + self.fraction(fraction_encoding(frac))
                hidden = self.norm(self.encoder(tokens, src_key_padding_mask=~present))
                weights = frac * present
                pooled = (hidden * weights.unsqueeze(-1)).sum(1) / weights.sum(1, keepdim=True).clamp(min=1e-6)
                extra = (x[:, n_elements:] - self.extra_mean) / self.extra_scale
                return self.head(torch.cat([pooled, extra], dim=1))

        return Net(int(getattr(self, "n_layers_", self.n_layers)), self.n_heads, self.dropout)
