"""Learning: AutoModel (nested CV, Optuna search, ensembling, uncertainty) and run folders."""

from matforge.learn._automodel import AutoModel
from matforge.learn._pipeline import METRICS, build_pipeline, make_splits, score_predictions
from matforge.learn._predictor import Predictor
from matforge.learn._run import Run, load_run, write_run
from matforge.learn._uncertainty import DomainGuard, IntervalCalibrator, ProbabilityCalibrator
from matforge.learn._workflow import predict_file, train, write_table

__all__ = [
    "METRICS",
    "AutoModel",
    "DomainGuard",
    "IntervalCalibrator",
    "Predictor",
    "ProbabilityCalibrator",
    "Run",
    "build_pipeline",
    "load_run",
    "make_splits",
    "predict_file",
    "score_predictions",
    "train",
    "write_run",
    "write_table",
]
