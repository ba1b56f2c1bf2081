"""Model builders, looked up by name."""

from kerasexp.models import cnn  # noqa: F401  (fills the registry)
from kerasexp.models import ladder, resnet  # noqa: F401  (report 004's ladder; ResNet-18..101)
from kerasexp.models import transfer  # noqa: F401
from kerasexp.models.registry import MODELS, check_model, create_model, register_model

__all__ = ["MODELS", "check_model", "create_model", "register_model"]
