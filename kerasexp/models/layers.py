"""Custom Keras layers the builders share; registered so saved models load by name."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerasexp")
class GeMPooling2D(keras.layers.Layer):
    """Generalised-mean pooling (Radenovic et al.; report 001): (mean over H, W of x^p)^(1/p)
    per channel, with a learnable exponent p (one scalar). p = 1 is average pooling, large p
    tends to max pooling. Inputs are clipped at `eps` so the power is defined (they follow a
    ReLU in a ResNet)."""

    def __init__(self, p: float = 3.0, eps: float = 1e-6, trainable_p: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.initial_p, self.eps, self.trainable_p = float(p), float(eps), bool(trainable_p)

    def build(self, input_shape):
        self.p = self.add_weight(
            name="p",
            shape=(),
            initializer=keras.initializers.Constant(self.initial_p),
            trainable=self.trainable_p,
        )

    def call(self, inputs):
        x = ops.power(ops.maximum(inputs, self.eps), self.p)
        return ops.power(ops.mean(x, axis=(1, 2)), 1.0 / self.p)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "p": self.initial_p, "eps": self.eps, "trainable_p": self.trainable_p}
