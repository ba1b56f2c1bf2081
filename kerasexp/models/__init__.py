"""Model builders, looked up by name: kerasexp.registry.MODELS names them without importing them
(so `import kerasexp.models` imports no Keras); `MODELS[name]` imports the builder's module."""

from kerasexp.models.registry import MODELS, check_model, create_model, register_model


def load_builders() -> None:
    """Import every built-in builder module: registers their custom Keras layers, which loading a
    saved model needs."""
    for name in MODELS:
        if MODELS.target(name) and MODELS.target(name).startswith("kerasexp."):
            MODELS[name]  # noqa: B018  (imports its module)


__all__ = ["MODELS", "check_model", "create_model", "load_builders", "register_model"]
