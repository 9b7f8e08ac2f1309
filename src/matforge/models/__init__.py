"""The algorithm zoo: every model matforge can train, with its search space and citation."""

from matforge.models._registry import (
    MODELS,
    ModelSpec,
    available_models,
    default_models,
    get_model,
    resolve_models,
)

__all__ = ["MODELS", "ModelSpec", "available_models", "default_models", "get_model", "resolve_models"]
