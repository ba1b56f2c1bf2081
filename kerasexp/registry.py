"""One form for every named choice (models, datasets, augmentation policies, optimizers, losses,
schedules, pruners, TTA views): a dict from name to builder, filled by a decorator or a literal,
whose unknown names are one UserError listing the known ones. timm's registry, in a few lines.
Registries import no TensorFlow: their builders import it when called, so reading and checking
an experiment file stays light."""

from __future__ import annotations

from kerasexp.errors import UserError


def unknown_choice(kind: str, name, choices) -> str:
    """The one message for a name no registry knows."""
    return f"unknown {kind} {name!r}; choose one of: {', '.join(map(str, choices))}"


class Registry(dict):
    """name -> builder. `REG[name]` of an unknown name raises UserError(unknown_choice(...))."""

    def __init__(self, kind: str, entries: dict | None = None):
        super().__init__(entries or {})
        self.kind = kind

    def register(self, name: str):
        def decorator(builder):
            if name in self:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            self[name] = builder
            return builder

        return decorator

    def __missing__(self, name):
        raise UserError(unknown_choice(self.kind, name, self))

    def check(self, name) -> None:
        self[name]  # noqa: B018  (raises for an unknown name)
