"""The algorithm zoo: name → estimator factory, search space, task, needs, citation.

Each entry builds a plain scikit-learn estimator from a parameter dict; `AutoModel` wraps it in the
preprocessing it needs (imputation, scaling, target scaling) and tunes the parameters with Optuna.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from matforge.errors import InputError

__all__ = ["ModelSpec", "MODELS", "get_model", "available_models", "default_models", "resolve_models"]


@dataclass(frozen=True)
class ModelSpec:
    """One algorithm.

    factory(task, params, seed, n_jobs) builds the estimator; space(trial) samples parameters from an Optuna
    trial; defaults are the first configuration tried (so even a tiny budget gets a sensible model).
    cheaper(defaults, factor) gives the defaults cut to about `factor` (below 1) of their fitting time, for a
    budget that cannot pay for them (`matforge.learn.AutoModel._plan`), and the share of that time they are
    expected to take (the factor within the cut's bounds); None where nothing cuts the cost in proportion (one
    fit of a kernel or linear model is what it is).
    timing(defaults) gives a configuration that costs a known share of the defaults' fit, and that share, for a
    model whose default fit is too dear to time itself (`AutoModel._plan` times it and divides by the share;
    never searched or saved); None: the plan times the defaults.
    imports: the modules an `extra` model needs installed (`available`).
    reseed: fits of other seeds err differently enough that their average beats one (networks): a stage that
    has time left after fitting its members fits this model again with the next seeds and averages them
    (`AutoModel._reseed`, `SeedAveraged`); its search goes past the default only where its share holds
    `STARTUP_TRIALS` more trials (`matforge.learn._search`), so that a few random trials do not take the seeds' time.
    """

    name: str
    title: str
    tasks: tuple[str, ...]
    factory: Callable[..., Any]
    space: Callable[[Any], dict]
    defaults: dict
    citation: str
    needs_scaling: bool = False
    scale_target: bool = False
    max_samples: int | None = None
    feature_set: str = "main"
    extra: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    regression_space: Callable[[Any], dict] | None = None
    cheaper: Callable[[dict, float], tuple[dict, float]] | None = None
    timing: Callable[[dict], tuple[dict, float]] | None = None
    imports: tuple[str, ...] = ("torch",)
    reseed: bool = False

    def sample(self, trial, task: str) -> dict:
        """Parameters for one search trial: `space`, plus `regression_space` when the task is regression (so a
        classification search never spends trials on a parameter its estimator ignores)."""
        params = self.space(trial)
        if task == "regression" and self.regression_space is not None:
            params.update(self.regression_space(trial))
        return params

    @property
    def uses_fractions(self) -> bool:
        """Whether the model reads the element-fraction columns (the ``"fractions"`` feature set)."""
        return self.feature_set in ("fractions", "fractions+main")

    def columns(self, sets: dict[str, list[str]]) -> list[str]:
        """The columns of a fitted `TableFeaturizer`'s ``feature_sets_`` this model's pipeline selects, in order:
        the main set or the element fractions, then the process columns; ``"fractions+main"`` (a model with
        two stages, `ResidualBoostedRegressor`) the 118 fractions first, then the main set and the process
        columns."""
        if self.feature_set == "fractions+main":
            return sets["fractions"] + sets["main"] + sets["process"]
        return (sets["fractions"] if self.feature_set == "fractions" else sets["main"]) + sets["process"]

    def available(self) -> bool:
        if self.extra is None:
            return True
        import importlib.util

        return all(importlib.util.find_spec(module) is not None for module in self.imports)

    def build(self, task: str, params: dict | None = None, seed: int = 0, n_jobs: int = 1):
        if task not in self.tasks:
            raise InputError(f"model '{self.name}' does not do {task}", hint=f"It does: {', '.join(self.tasks)}")
        merged = {**self.defaults, **(params or {})}
        return self.factory(task, merged, seed, n_jobs)


SKLEARN = "F. Pedregosa et al., Scikit-learn: Machine Learning in Python, JMLR 12, 2825-2830 (2011)."


def _linear(task, p, seed, n_jobs):
    from sklearn.linear_model import LinearRegression

    return LinearRegression()


def _logistic(task, p, seed, n_jobs):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=p["C"], max_iter=2000)


def _ridge(task, p, seed, n_jobs):
    from sklearn.linear_model import Ridge

    return Ridge(alpha=p["alpha"])


def _lasso(task, p, seed, n_jobs):
    from sklearn.linear_model import Lasso

    return Lasso(alpha=p["alpha"], max_iter=20000, random_state=seed)


def _knn(task, p, seed, n_jobs):
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    cls = KNeighborsRegressor if task == "regression" else KNeighborsClassifier
    return cls(n_neighbors=p["n_neighbors"], weights=p["weights"], p=p["p"], n_jobs=n_jobs)


def _svm(task, p, seed, n_jobs):
    from sklearn.svm import SVR

    from matforge.models._svc import PlattSVC

    if task == "regression":
        return SVR(C=p["C"], gamma=p["gamma"], epsilon=p["epsilon"])
    # Platt's sigmoid on 5-fold decision values, as SVC(probability=True) (deprecated in scikit-learn 1.9) did
    return PlattSVC(C=p["C"], gamma=p["gamma"], random_state=seed)


def _tree(task, p, seed, n_jobs):
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    cls = DecisionTreeRegressor if task == "regression" else DecisionTreeClassifier
    return cls(max_depth=p["max_depth"], min_samples_leaf=p["min_samples_leaf"], random_state=seed)


def _forest(kind):
    def build(task, p, seed, n_jobs):
        from sklearn import ensemble

        if task == "regression" and p.get("leaf_statistic", "mean") == "median":
            from matforge.models._median_forest import MedianForestRegressor

            return MedianForestRegressor(
                kind={"rf": "random_forest", "et": "extra_trees"}[kind], n_estimators=p["n_estimators"],
                max_features=p["max_features"], min_samples_leaf=p["min_samples_leaf"], random_state=seed, n_jobs=n_jobs,
            )  # fmt: skip
        name = {"rf": "RandomForest", "et": "ExtraTrees"}[kind] + ("Regressor" if task == "regression" else "Classifier")
        return getattr(ensemble, name)(
            n_estimators=p["n_estimators"], max_features=p["max_features"], min_samples_leaf=p["min_samples_leaf"],
            random_state=seed, n_jobs=n_jobs,
        )  # fmt: skip

    return build


def _lightgbm(task, p, seed, n_jobs):
    import lightgbm

    cls = lightgbm.LGBMRegressor if task == "regression" else lightgbm.LGBMClassifier
    # regression loss is searched: L1/Huber fit the conditional median, which is what MAE rewards and what
    # a target with a mass at one value (zero band gaps of metals) needs; classification keeps log-loss
    extra = {"objective": p.get("objective", "regression")} if task == "regression" else {}
    return cls(
        **extra, n_estimators=p["n_estimators"], learning_rate=p["learning_rate"], num_leaves=p["num_leaves"],
        min_child_samples=p["min_child_samples"], subsample=p["subsample"], subsample_freq=1,
        # one thread: LightGBM's OpenMP threads were 2-20x slower than one on these 2-core machines
        colsample_bytree=p["colsample_bytree"], reg_lambda=p["reg_lambda"], random_state=seed, n_jobs=1,
        verbose=-1,
    )  # fmt: skip


def _gaussian_process(task, p, seed, n_jobs):
    from sklearn.gaussian_process import GaussianProcessClassifier, GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    if task == "regression":
        kernel = ConstantKernel(1.0) * RBF(length_scale=p["length_scale"]) + WhiteKernel(p["noise"])
        return GaussianProcessRegressor(kernel=kernel, normalize_y=True, random_state=seed, n_restarts_optimizer=0)
    return GaussianProcessClassifier(kernel=ConstantKernel(1.0) * RBF(p["length_scale"]), random_state=seed, n_jobs=n_jobs)


def _kernel_ridge(task, p, seed, n_jobs):
    from sklearn.kernel_ridge import KernelRidge

    return KernelRidge(alpha=p["alpha"], kernel=p["kernel"], gamma=p["gamma"])


def _naive_bayes(task, p, seed, n_jobs):
    from sklearn.naive_bayes import GaussianNB

    return GaussianNB(var_smoothing=p["var_smoothing"])


def _lda(task, p, seed, n_jobs):
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    return LinearDiscriminantAnalysis(solver="lsqr", shrinkage=p["shrinkage"])


def _gmm(task, p, seed, n_jobs):
    from matforge.models._gmm import GaussianMixtureClassifier

    return GaussianMixtureClassifier(n_components=p["n_components"], covariance_type=p["covariance_type"], reg_covar=p["reg_covar"], random_state=seed)


def _mlp(task, p, seed, n_jobs):
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    cls = MLPRegressor if task == "regression" else MLPClassifier
    width, depth = p["width"], p["depth"]
    return cls(
        hidden_layer_sizes=(width,) * depth, alpha=p["alpha"], learning_rate_init=p["learning_rate_init"],
        early_stopping=True, max_iter=500, n_iter_no_change=20, random_state=seed,
    )  # fmt: skip


def _deep_mlp(task, p, seed, n_jobs):
    from matforge.models._torch import ResidualMLP

    return ResidualMLP(task=task, width=p["width"], depth=p["depth"], dropout=p["dropout"], lr=p["lr"], weight_decay=p["weight_decay"], random_state=seed, n_jobs=n_jobs)


def _tabm(task, p, seed, n_jobs):
    from matforge.models._tabm import TabM

    return TabM(task=task, k=p["k"], n_blocks=p["n_blocks"], d_block=p["d_block"], dropout=p["dropout"], n_bins=p["n_bins"], d_embedding=p["d_embedding"], lr=p["lr"], weight_decay=p["weight_decay"], random_state=seed, n_jobs=n_jobs)


def _atom_table_cnn(task, p, seed, n_jobs):
    from matforge.models._torch import AtomTableCNN

    return AtomTableCNN(task=task, channels=p["channels"], lr=p["lr"], weight_decay=p["weight_decay"], random_state=seed, n_jobs=n_jobs)


def _composition_attention(task, p, seed, n_jobs):
    from matforge.models._attention import CompositionAttention, auto_size

    network = CompositionAttention(
        task=task, d_model=p["d_model"], n_layers=p["n_layers"], dropout=p["dropout"], lr=p["lr"], weight_decay=p["weight_decay"],
        loss=p["loss"], batch_size=p["batch_size"], max_time=ATTENTION_MAX_TIME, random_state=seed, n_jobs=n_jobs,
    )  # fmt: skip
    if p.get("_steps_share", 1.0) < 1.0:  # `_fewer_steps`, `_timing_steps`: a share of the mini-batches the device's size plans
        network.max_steps = max(1, round(auto_size(network._device())["max_steps"] * p["_steps_share"]))
    return network


def _composition_attention_boosted(task, p, seed, n_jobs):
    from matforge.chem import ELEMENT_SYMBOLS
    from matforge.models._boosted import ResidualBoostedRegressor

    booster = None
    if p["boost_trees"] > 0:
        # the residual is what an L1 fit leaves, so the trees fit its conditional median too (L1 objective); the
        # rest as measured in benchmarks/attention_boosted.py (mp_e_form, 5 folds, 1000 trees of 63 leaves on the
        # features alone: 0.0937 -> 0.0864 eV/atom; the current size and prediction column: the comments below)
        # the same share of its trees as of the network's mini-batches (`_fewer_steps`, `_timing_steps`): the cost of
        # both is in proportion to them, and the searched choices of boost_trees stay what the search knows
        trees = max(1, round(p["boost_trees"] * p.get("_steps_share", 1.0)))
        booster = _lightgbm("regression", {**MODELS["lightgbm"].defaults, "n_estimators": trees, "num_leaves": p["boost_leaves"], "min_child_samples": 20, "reg_lambda": 0.0, "objective": "regression_l1"}, seed, n_jobs)
    # the trees also see the network's prediction: every one of the 5 mp_e_form folds better by 0.0001-0.0006
    # eV/atom (mean 0.0813 -> 0.0809 on the GPU networks, benchmarks/results/attention_gpu_boosted_pred.json)
    return ResidualBoostedRegressor(_composition_attention(task, p, seed, n_jobs), booster, n_base_columns=len(ELEMENT_SYMBOLS), with_prediction=True)


def _f(trial, name, low, high, log=False):
    return trial.suggest_float(name, low, high, log=log)


def _i(trial, name, low, high, log=False):
    return trial.suggest_int(name, low, high, log=log)


def _c(trial, name, choices):
    return trial.suggest_categorical(name, choices)


ATTENTION_MAX_TIME = 3600.0
"""Safety bound (seconds) on one fit of the attention model; its cost is set by max_steps (24,000 mini-batches of
256; 23 ms each on MatBench mp_e_form on one core of its own, benchmarks/attention_steps.py; before the per-batch
trimming, steps took 58 ms at load 3-6 against 30 ms alone, so allow about twice: ~9-18 min)
and by early stopping, which ends a fit on a few thousand rows within a minute."""

FOREST_TREES = (100, 600)
"""The forests' searched range of trees; a default cut for a small budget (`_fewer_trees`) stays in it."""

BOOST_ROUNDS, BOOST_RATE = (100, 2000), (0.01, 0.2)
"""LightGBM's searched ranges of boosting rounds and learning rate; a default cut for a small budget
(`_fewer_rounds`) stays in them."""


def _fewer_trees(params: dict, factor: float) -> tuple[dict, float]:
    """A forest's configuration at about `factor` of its cost: the fitting time is proportional to the trees,
    and fewer trees average fewer draws of the same model (noisier, not biased). At least the fewest the search
    tries, so the cut configuration is one the search could have proposed (and Optuna takes it as such)."""
    trees = max(FOREST_TREES[0], min(params["n_estimators"], round(params["n_estimators"] * factor)))
    return {**params, "n_estimators": trees}, trees / params["n_estimators"]


def _fewer_rounds(params: dict, factor: float) -> tuple[dict, float]:
    """LightGBM's configuration at about `factor` of its cost: fewer boosting rounds with a learning rate raised
    so that rounds x rate stays what it was, the usual trade of a boosted model's accuracy for time; within the
    searched ranges, as `_fewer_trees`."""
    rounds = max(BOOST_ROUNDS[0], min(params["n_estimators"], round(params["n_estimators"] * factor)))
    rate = min(BOOST_RATE[1], params["learning_rate"] * params["n_estimators"] / rounds)
    return {**params, "n_estimators": rounds, "learning_rate": max(params["learning_rate"], round(rate, 4))}, rounds / params["n_estimators"]


ATTENTION_STEPS = (0.25, 1.0)
"""The share of the attention models' planned mini-batches (and residual trees) a default cut for a small budget
(`_fewer_steps`) keeps: at least a quarter (6,000 mini-batches on the CPU)."""


def _fewer_steps(params: dict, factor: float) -> tuple[dict, float]:
    """The attention models' configuration at about `factor` of its cost: that share of the mini-batches the
    device's size plans, the cosine learning rate then running its course over them, and of the boosted form's
    residual trees (``_steps_share``, a fixed parameter, so every trial of the search and the final fit train that
    long). Fewer steps fit less well (MatBench mp_e_form fold 0, the network alone: 15,000 mini-batches 0.0983
    eV/atom, 24,000 0.0912; `CompositionAttention`), the trade LightGBM makes with fewer rounds; within
    `ATTENTION_STEPS`. A configuration cut already (``_steps_share`` below 1: a stage's cut default, which
    `AutoModel._reseed` may cut again for a last seed) is cut from what it trains; the share returned is of that."""
    before = params.get("_steps_share", 1.0)
    share = max(ATTENTION_STEPS[0], min(ATTENTION_STEPS[1], before * factor))
    if share >= before:
        return params, 1.0
    return {**params, "_steps_share": share}, share / before


def _timing_steps(params: dict) -> tuple[dict, float]:
    """The attention models' configuration for timing (`ModelSpec.timing`): a tenth of the network's
    mini-batches and of the residual trees (``_steps_share``, of what the configuration trains already). Their
    default fit is minutes (MatBench mp_e_form, 53,000 rows: 24,000 mini-batches of about 21 ms on one core, then
    2,000 trees of 255 leaves), so `AutoModel._plan` cannot time it whole as it times the others; both parts
    cost in proportion to their steps, and the fixed costs divided by the share make the estimate err on the
    dear side."""
    share = 0.1
    return {**params, "_steps_share": params.get("_steps_share", 1.0) * share}, share


# leaf_statistic (regression only): the forest's prediction is the mean of its leaves (Breiman) or the weighted
# median of the training targets sharing x's leaves (Meinshausen's quantile regression forest). Selection is by
# MAE, which the median targets; the median is tried first (MatBench steels, extra trees on the fractions,
# 5 official folds: 80.2 MPa mean, 74.5 median) and the search may still pick the mean. A median forest averages
# the medians of 6 groups of its trees (MedianForestRegressor's default `groups`): better than one pooled median at every
# fixed setting tried on steels, by the inner CV as well as on the test folds. Through the whole pipeline it is
# a tie over three seeds (steels 75.61 / 76.57 / 75.84 MPa with 6 groups, 76.11 / 75.39 / 76.41 with one: 76.01
# against 75.97), so the fixed-setting evidence decides; searching the number of groups (1, 3, 6 or 10) gave
# 76.37 at seed 0 (docs/benchmark.md).
_FOREST_SPACE = lambda t: {"n_estimators": _i(t, "n_estimators", *FOREST_TREES, log=True), "max_features": _f(t, "max_features", 0.1, 1.0), "min_samples_leaf": _i(t, "min_samples_leaf", 1, 8)}  # noqa: E731
_LEAF_STATISTIC = lambda t: {"leaf_statistic": _c(t, "leaf_statistic", ["median", "mean"])}  # noqa: E731
_QRF = "; regression (leaf_statistic median): N. Meinshausen, Quantile regression forests, JMLR 7, 983-999 (2006)."
_FOREST_DEFAULTS = {"n_estimators": 300, "max_features": 0.33, "min_samples_leaf": 1, "leaf_statistic": "median"}
_REG, _CLS, _BOTH = ("regression",), ("classification",), ("regression", "classification")


def _attention_space(t):  # shared by the attention model and its boosted form; "auto": sized for the device (auto_size)
    return {"d_model": _c(t, "d_model", ["auto", 32, 64, 128]), "n_layers": _c(t, "n_layers", ["auto", 1, 2, 3]), "dropout": _f(t, "dropout", 0.0, 0.2), "lr": _f(t, "lr", 3e-4, 3e-3, log=True), "weight_decay": _f(t, "weight_decay", 1e-7, 1e-3, log=True), "loss": _c(t, "loss", ["l1", "mse"]), "batch_size": _c(t, "batch_size", ["auto", 128, 256])}


# "auto" sizes: d_model 64, 2 layers, batches of 256, 24,000 steps on the CPU; 256, 3, 512 and 14,000 on a CUDA GPU
_ATTENTION_DEFAULTS = {"d_model": "auto", "n_layers": "auto", "dropout": 0.1, "lr": 1e-3, "weight_decay": 1e-5, "loss": "l1", "batch_size": "auto"}
_ATTENTION_CITATION = "A. Y.-T. Wang et al., Compositionally restricted attention-based network for materials property predictions, npj Comput. Mater. 7, 77 (2021); R. E. A. Goodall, A. A. Lee, Nat. Commun. 11, 6280 (2020)."


_SPECS = [
    ModelSpec("linear", "ordinary least-squares linear regression", _REG, _linear, lambda t: {}, {}, SKLEARN, needs_scaling=True),
    ModelSpec("ridge", "ridge regression", _REG, _ridge, lambda t: {"alpha": _f(t, "alpha", 1e-4, 1e3, log=True)}, {"alpha": 1.0}, "A. E. Hoerl, R. W. Kennard, Ridge regression, Technometrics 12, 55-67 (1970).", needs_scaling=True),
    ModelSpec("lasso", "lasso regression", _REG, _lasso, lambda t: {"alpha": _f(t, "alpha", 1e-5, 1.0, log=True)}, {"alpha": 1e-3}, "R. Tibshirani, Regression shrinkage and selection via the lasso, J. R. Stat. Soc. B 58, 267-288 (1996).", needs_scaling=True, scale_target=True),
    ModelSpec("logistic", "logistic regression", _CLS, _logistic, lambda t: {"C": _f(t, "C", 1e-3, 1e3, log=True)}, {"C": 1.0}, SKLEARN, needs_scaling=True),
    ModelSpec("naive_bayes", "Gaussian naive Bayes", _CLS, _naive_bayes, lambda t: {"var_smoothing": _f(t, "var_smoothing", 1e-12, 1e-2, log=True)}, {"var_smoothing": 1e-9}, "H. Zhang, The optimality of naive Bayes, FLAIRS (2004).", needs_scaling=True),
    ModelSpec("lda", "linear discriminant analysis", _CLS, _lda, lambda t: {"shrinkage": _f(t, "shrinkage", 0.0, 1.0)}, {"shrinkage": 0.1}, "R. A. Fisher, The use of multiple measurements in taxonomic problems, Ann. Eugen. 7, 179 (1936).", needs_scaling=True),
    ModelSpec("knn", "k-nearest neighbours", _BOTH, _knn, lambda t: {"n_neighbors": _i(t, "n_neighbors", 1, 30), "weights": _c(t, "weights", ["uniform", "distance"]), "p": _c(t, "p", [1, 2])}, {"n_neighbors": 5, "weights": "distance", "p": 1}, "T. Cover, P. Hart, Nearest neighbor pattern classification, IEEE Trans. Inf. Theory 13, 21-27 (1967).", needs_scaling=True),
    ModelSpec("svm", "support vector machine (SVR / SVC)", _BOTH, _svm, lambda t: {"C": _f(t, "C", 1e-1, 1e3, log=True), "gamma": _f(t, "gamma", 1e-4, 1.0, log=True), "epsilon": _f(t, "epsilon", 1e-3, 0.5, log=True)}, {"C": 10.0, "gamma": 0.01, "epsilon": 0.05}, "C. Cortes, V. Vapnik, Support-vector networks, Mach. Learn. 20, 273-297 (1995).", needs_scaling=True, scale_target=True, max_samples=20000),
    ModelSpec("decision_tree", "decision tree", _BOTH, _tree, lambda t: {"max_depth": _i(t, "max_depth", 2, 30), "min_samples_leaf": _i(t, "min_samples_leaf", 1, 20)}, {"max_depth": 12, "min_samples_leaf": 2}, "L. Breiman et al., Classification and Regression Trees, Wadsworth (1984)."),
    ModelSpec("random_forest", "random forest", _BOTH, _forest("rf"), _FOREST_SPACE, _FOREST_DEFAULTS, "L. Breiman, Random forests, Mach. Learn. 45, 5-32 (2001)" + _QRF, tags=("tree_ensemble",), regression_space=_LEAF_STATISTIC, cheaper=_fewer_trees),
    ModelSpec("extra_trees", "extremely randomized trees", _BOTH, _forest("et"), _FOREST_SPACE, _FOREST_DEFAULTS, "P. Geurts, D. Ernst, L. Wehenkel, Extremely randomized trees, Mach. Learn. 63, 3-42 (2006)" + _QRF, tags=("tree_ensemble",), regression_space=_LEAF_STATISTIC, cheaper=_fewer_trees),
    # one alloy family (steels, superalloys): the Magpie statistics are smooth functions of a few dominant
    # elements and drown the minor additions; trees on the fractions alone split on those directly (MatBench
    # steels, 5 official folds, 500 trees: 83.5 MPa on magpie_extended, 78.7-79.8 on the fractions)
    ModelSpec("extra_trees_fractions", "extremely randomized trees on the element fractions only", _BOTH, _forest("et"), _FOREST_SPACE, {"n_estimators": 300, "max_features": 1.0, "min_samples_leaf": 2, "leaf_statistic": "median"}, "P. Geurts, D. Ernst, L. Wehenkel, Extremely randomized trees, Mach. Learn. 63, 3-42 (2006)" + _QRF, feature_set="fractions", tags=("tree_ensemble",), regression_space=_LEAF_STATISTIC, cheaper=_fewer_trees),
    ModelSpec("lightgbm", "gradient boosting (LightGBM)", _BOTH, _lightgbm, lambda t: {"n_estimators": _i(t, "n_estimators", *BOOST_ROUNDS, log=True), "learning_rate": _f(t, "learning_rate", *BOOST_RATE, log=True), "num_leaves": _i(t, "num_leaves", 8, 128, log=True), "min_child_samples": _i(t, "min_child_samples", 3, 50, log=True), "subsample": _f(t, "subsample", 0.5, 1.0), "colsample_bytree": _f(t, "colsample_bytree", 0.2, 1.0), "reg_lambda": _f(t, "reg_lambda", 1e-3, 10.0, log=True), "objective": _c(t, "objective", ["regression", "regression_l1", "huber"])}, {"n_estimators": 500, "learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 10, "subsample": 0.8, "colsample_bytree": 0.5, "reg_lambda": 0.1, "objective": "regression"}, "G. Ke et al., LightGBM: A highly efficient gradient boosting decision tree, NeurIPS 30 (2017).", cheaper=_fewer_rounds),
    ModelSpec("gaussian_process", "Gaussian process", _BOTH, _gaussian_process, lambda t: {"length_scale": _f(t, "length_scale", 0.3, 30.0, log=True), "noise": _f(t, "noise", 1e-4, 1.0, log=True)}, {"length_scale": 5.0, "noise": 0.1}, "C. E. Rasmussen, C. K. I. Williams, Gaussian Processes for Machine Learning, MIT Press (2006).", needs_scaling=True, max_samples=3000),
    ModelSpec("kernel_ridge", "kernel ridge regression", _REG, _kernel_ridge, lambda t: {"alpha": _f(t, "alpha", 1e-4, 10.0, log=True), "gamma": _f(t, "gamma", 1e-4, 1.0, log=True), "kernel": _c(t, "kernel", ["rbf", "laplacian"])}, {"alpha": 0.1, "gamma": 0.01, "kernel": "laplacian"}, "K. P. Murphy, Machine Learning: A Probabilistic Perspective, MIT Press (2012), ch. 14.", needs_scaling=True, scale_target=True, max_samples=15000),
    ModelSpec("gmm", "EM: class-conditional Gaussian mixtures", _CLS, _gmm, lambda t: {"n_components": _i(t, "n_components", 1, 6), "covariance_type": _c(t, "covariance_type", ["diag", "full"]), "reg_covar": _f(t, "reg_covar", 1e-4, 1.0, log=True)}, {"n_components": 2, "covariance_type": "diag", "reg_covar": 1e-2}, "A. P. Dempster, N. M. Laird, D. B. Rubin, Maximum likelihood from incomplete data via the EM algorithm, J. R. Stat. Soc. B 39, 1-38 (1977).", needs_scaling=True),
    ModelSpec("mlp", "neural network (multilayer perceptron)", _BOTH, _mlp, lambda t: {"width": _c(t, "width", [32, 64, 128, 256]), "depth": _i(t, "depth", 1, 3), "alpha": _f(t, "alpha", 1e-6, 1e-1, log=True), "learning_rate_init": _f(t, "learning_rate_init", 1e-4, 1e-2, log=True)}, {"width": 128, "depth": 2, "alpha": 1e-4, "learning_rate_init": 1e-3}, "D. E. Rumelhart, G. E. Hinton, R. J. Williams, Learning representations by back-propagating errors, Nature 323, 533-536 (1986).", needs_scaling=True, scale_target=True),
    ModelSpec("deep_mlp", "deep residual network (PyTorch)", _BOTH, _deep_mlp, lambda t: {"width": _c(t, "width", [128, 256, 512]), "depth": _i(t, "depth", 2, 6), "dropout": _f(t, "dropout", 0.0, 0.3), "lr": _f(t, "lr", 1e-4, 3e-3, log=True), "weight_decay": _f(t, "weight_decay", 1e-7, 1e-3, log=True)}, {"width": 256, "depth": 4, "dropout": 0.1, "lr": 1e-3, "weight_decay": 1e-5}, "K. He et al., Deep residual learning for image recognition, CVPR (2016); D. Jha et al., ElemNet, Sci. Rep. 8, 17593 (2018).", needs_scaling=True, scale_target=True, extra="deep"),
    # TabM's recipe (the paper's defaults for k, depth, rate and decay; 256 wide instead of 512, for the CPU's sake).
    # Opt-in, not in the default set: on MatBench glass (5 official folds, `magpie_wide`, no search,
    # benchmarks/tabm_vs_trees.py) ROC-AUC 0.9465 against deep_mlp's 0.9204 (every fold better) but extra trees' 0.9577,
    # at 526-606 s a fit on 2 cores (the trees: 13-15 s), and averaged with the trees 0.9569, below the trees alone
    ModelSpec("tabm", "TabM: an ensemble of MLPs in one network, piecewise-linear embeddings (PyTorch)", _BOTH, _tabm, lambda t: {"k": _c(t, "k", [16, 32]), "n_blocks": _i(t, "n_blocks", 1, 4), "d_block": _c(t, "d_block", [128, 256, 512]), "dropout": _f(t, "dropout", 0.0, 0.5), "n_bins": _c(t, "n_bins", [0, 16, 32, 48]), "d_embedding": _c(t, "d_embedding", [8, 16, 32]), "lr": _f(t, "lr", 1e-4, 5e-3, log=True), "weight_decay": _f(t, "weight_decay", 1e-5, 1e-1, log=True)}, {"k": 32, "n_blocks": 2, "d_block": 256, "dropout": 0.1, "n_bins": 48, "d_embedding": 16, "lr": 2e-3, "weight_decay": 3e-4}, "Y. Gorishniy, A. Kotelnikov, A. Babenko, TabM: Advancing tabular deep learning with parameter-efficient ensembling, ICLR (2025); Y. Gorishniy, I. Rubachev, A. Babenko, On embeddings for numerical features in tabular deep learning, NeurIPS 35 (2022).", needs_scaling=True, scale_target=True, extra="deep", imports=("torch", "tabm", "rtdl_num_embeddings")),
    ModelSpec("composition_attention", "attention over element embeddings, CrabNet/Roost-like (PyTorch)", _BOTH, _composition_attention, _attention_space, _ATTENTION_DEFAULTS, _ATTENTION_CITATION, scale_target=True, feature_set="fractions", extra="deep", cheaper=_fewer_steps, timing=_timing_steps, reseed=True),
    # the attention model underfits 10^5 compositions within its step cap (MatBench mp_e_form fold 0: training MAE
    # 0.085, test 0.092 eV/atom); LightGBM on the Magpie statistics fitted to its residuals finds what it left
    # (a large booster, 2000 trees of 255 leaves: on the fold-0 GPU network 0.0795 with 1000 x 63, 0.0772 with
    # 2000 x 255, 0.0768 with 4000 x 255; 5 folds in benchmarks/results/attention_gpu_boosted_large.json; through
    # the CPU pipeline 0.0859 -> 0.0814 eV/atom, benchmarks/results/matbench_mp_e_form_large.json)
    ModelSpec("composition_attention_boosted", "attention over element embeddings, its residuals fitted by LightGBM on the main features (PyTorch)", _REG, _composition_attention_boosted, lambda t: {**_attention_space(t), "boost_trees": _c(t, "boost_trees", [0, 1000, 2000, 4000]), "boost_leaves": _c(t, "boost_leaves", [63, 127, 255, 511])}, {**_ATTENTION_DEFAULTS, "boost_trees": 2000, "boost_leaves": 255}, _ATTENTION_CITATION + " J. H. Friedman, Greedy function approximation: a gradient boosting machine, Ann. Stat. 29, 1189-1232 (2001).", scale_target=True, feature_set="fractions+main", extra="deep", cheaper=_fewer_steps, timing=_timing_steps, reseed=True),
    ModelSpec("atom_table_cnn", "atom-table CNN (PyTorch)", _BOTH, _atom_table_cnn, lambda t: {"channels": _c(t, "channels", [16, 32, 64]), "lr": _f(t, "lr", 1e-4, 3e-3, log=True), "weight_decay": _f(t, "weight_decay", 1e-7, 1e-3, log=True)}, {"channels": 32, "lr": 1e-3, "weight_decay": 1e-5}, "S. Zeng et al., Atom table convolutional neural networks for an accurate prediction of compounds properties, npj Comput. Mater. 5, 84 (2019).", scale_target=True, feature_set="fractions", extra="deep"),
]  # fmt: skip

MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in _SPECS}
"""Every algorithm by name; the common model test runs over this registry."""

_ALIASES = {"svr": "svm", "svc": "svm", "rf": "random_forest", "et": "extra_trees", "gbm": "lightgbm", "gp": "gaussian_process", "nb": "naive_bayes", "em": "gmm", "ann": "mlp", "logistic_regression": "logistic", "linear_regression": "linear"}  # fmt: skip


def get_model(name: str) -> ModelSpec:
    """The registry entry for a model name (aliases like ``rf``, ``svr``, ``gbm`` accepted)."""
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in MODELS:
        raise InputError(f"unknown model '{name}'", hint=f"Choose from: {', '.join(MODELS)}")
    return MODELS[key]


def available_models(task: str) -> list[str]:
    """Models that do `task` and whose optional dependencies are installed."""
    return [name for name, spec in MODELS.items() if task in spec.tasks and spec.available()]


LARGE_ROWS = 50_000
"""Above this many rows the default model set and the inner CV change (see `default_models`, AutoModel)."""


def default_models(task: str, n_samples: int) -> list[str]:
    """The models tried when the user names none: strong, fast, diverse.

    Above 2000 rows the random forest is left out: extra trees make near-identical predictions at a third of
    the cost (no split search), and the budget is better spent on more trials of the others. Above 50,000
    rows extra trees and k-NN are left out too (memory and prediction time grow with the rows), and the
    composition attention model joins when PyTorch (the ``[deep]`` extra) is installed, for regression with its
    residuals boosted by LightGBM (`composition_attention_boosted`)."""
    names = _default_names(task, n_samples)
    if n_samples > 2000:
        names = [n for n in names if n != "random_forest"]
    if n_samples > LARGE_ROWS:
        # fully grown extra trees keep about one leaf per training row in every tree (gigabytes at 10^5 rows)
        # and k-NN compares each prediction with every training row: gradient boosting and ridge stay linear
        names = [n for n in names if n not in ("extra_trees", "knn")]
        if MODELS["composition_attention"].available():
            # with the [deep] extra: at this size attention over element embeddings beats the boosted trees on
            # composition (MatBench mp_e_form, 5 official folds, default pipeline: 0.0949 eV/atom vs LightGBM's
            # 0.1211); for regression its residuals are fitted by LightGBM on the main features (5 official folds,
            # the models alone: 0.0937 -> 0.0864, benchmarks/attention_boosted.py), which the search may switch off
            names.append("composition_attention_boosted" if task == "regression" else "composition_attention")
    return [n for n in names if (MODELS[n].max_samples or n_samples) >= n_samples]


def _default_names(task: str, n_samples: int) -> list[str]:
    if task == "regression":
        names = ["lightgbm", "extra_trees", "random_forest", "svm", "ridge", "knn"]
        if n_samples <= 2000:
            names += ["gaussian_process", "extra_trees_fractions"]
    else:
        names = ["lightgbm", "extra_trees", "random_forest", "logistic", "knn"]
        if n_samples <= 2000:
            # SVC's probabilities come from an internal 5-fold Platt fit: ~6x an SVR's cost, too dear at scale
            names.insert(3, "svm")
    return names


def resolve_models(models: str | list[str] | None, task: str, n_samples: int, compositions: bool = True) -> list[str]:
    """The model names to train: the default set (None), every available one ("all"), or the names given,
    checked against the task and the installed extras. Without `compositions` (a table with no formula or
    structure column) the models that read element fractions are left out of the default and "all" sets, and
    refused when named: they would see the process columns only, or no column at all."""
    if models in (None, "auto", "default") or models == "all" or models == ["all"]:
        names = default_models(task, n_samples) if models in (None, "auto", "default") else available_models(task)
        names = names if compositions else [n for n in names if not MODELS[n].uses_fractions]
    else:
        requested = [m for m in (models.split(",") if isinstance(models, str) else models) if m]
        names = []
        for name in requested:
            spec = get_model(name)
            if task not in spec.tasks:
                raise InputError(f"model '{spec.name}' does not do {task}", hint=f"Models for {task}: {', '.join(available_models(task))}")
            if not spec.available():
                raise InputError(f"model '{spec.name}' needs the [{spec.extra}] extra", hint=f"pip install 'matforge[{spec.extra}]'")
            if spec.uses_fractions and not compositions:
                raise InputError(f"model '{spec.name}' reads element fractions, and the table has no formula or structure column", hint="Leave it out of --models")
            if spec.name not in names:
                names.append(spec.name)
    if not names:
        raise InputError("no model to train", hint="Name models with --models")
    return names
