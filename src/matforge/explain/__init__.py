"""Why a model predicts what it does: permutation importance, SHAP, partial dependence, sensitivity matrix.

Each function takes a run's `Predictor` (``matforge.learn.load_run(dir).predictor``) and a feature table
(``predictor.featurizer.transform(table)``, or `features_of`) and returns a plain DataFrame.
"""

from matforge.explain._files import explain_run
from matforge.explain._importance import partial_dependence, permutation_importance, sensitivity_matrix
from matforge.explain._inputs import features_of, model_output, output_names
from matforge.explain._shap import ShapValues, shap_values, tree_member

__all__ = [
    "ShapValues",
    "explain_run",
    "features_of",
    "model_output",
    "output_names",
    "partial_dependence",
    "permutation_importance",
    "sensitivity_matrix",
    "shap_values",
    "tree_member",
]
