"""Learning: AutoModel (nested CV, Optuna search, ensembling, uncertainty) and run folders."""

from matforge.learn._automodel import AutoModel, cut_defaults, unreached_models
from matforge.learn._pipeline import METRICS, build_pipeline, score_predictions
from matforge.learn._predictor import Predictor
from matforge.learn._protocols import PROTOCOLS, chemical_systems, loco_clusters, make_splits, protocol_groups
from matforge.learn._run import Run, load_run, write_run
from matforge.learn._uncertainty import DomainGuard, IntervalCalibrator, ProbabilityCalibrator
from matforge.learn._workflow import predict_file, train, write_table

__all__ = [
    "METRICS",
    "PROTOCOLS",
    "AutoModel",
    "DomainGuard",
    "IntervalCalibrator",
    "Predictor",
    "ProbabilityCalibrator",
    "Run",
    "build_pipeline",
    "chemical_systems",
    "cut_defaults",
    "load_run",
    "loco_clusters",
    "make_splits",
    "predict_file",
    "protocol_groups",
    "score_predictions",
    "train",
    "unreached_models",
    "write_run",
    "write_table",
]
