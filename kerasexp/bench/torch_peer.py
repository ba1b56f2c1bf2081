"""The PyTorch peer of a kerasexp training, timed beside it by `bench train` and `bench speedrun`:
the net built from the same layer list as the Keras model (kerasexp.models.layout), and the
recipe's optimizer, rate schedule, label smoothing, weight average and flip/translate
augmentation in a plain loop (channels_last, threads set to the cores). torch is optional and
imported inside the functions; call them in a child process (kerasexp.processes): torch's optimizers
can crash a process that has loaded TensorFlow."""

from __future__ import annotations

import os
import statistics
import time

import numpy as np

from kerasexp.errors import UserError
from kerasexp.models.layout import LAYOUTS, Layer, model_layers, shapes

# Keras activation names -> torch.nn's module for them (the peer refuses any other).
ACTIVATIONS = {
    "relu": "ReLU",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "elu": "ELU",
    "selu": "SELU",
    "gelu": "GELU",
    "silu": "SiLU",
    "swish": "SiLU",
    "softplus": "Softplus",
    "linear": "Identity",
}

# What the peer implements as the same work, by the recipe's setting: (its value, what it may be).
RECIPE = {
    "training.optimizer": (lambda exp: exp.training.optimizer, ("adam", "adamw", "sgd")),
    "training.schedule": (lambda exp: exp.training.schedule, ("constant", "cosine")),
    "training.loss": (lambda exp: exp.training.loss, ("crossentropy",)),
    "training.class_weight": (lambda exp: exp.training.class_weight, ("none",)),
    "augmentation.policy": (lambda exp: exp.augmentation.policy, ("none", "flip_translate")),
}


def check_recipe(exp, command: str) -> None:
    """A recipe the peer cannot run as the same work is a UserError naming the setting."""
    if exp.model.name not in LAYOUTS:
        raise UserError(
            f"{command}: the PyTorch peer builds {', '.join(LAYOUTS)}, not model {exp.model.name!r}"
        )
    for key, (value, allowed) in RECIPE.items():
        if value(exp) not in allowed:
            raise UserError(
                f"{command}: the PyTorch peer runs {key} {' or '.join(map(repr, allowed))}, not {value(exp)!r}"
            )
    for layer in model_layers(exp.model.name, 10, exp.model.params):
        if layer.kind == "activation" and layer.fn not in ACTIVATIONS:
            raise UserError(
                f"{command}: the PyTorch peer has activations {', '.join(ACTIVATIONS)}, not {layer.fn!r}"
            )


def _modules() -> dict:
    """Layer kind -> (layer, its input shape, channels last) -> torch module. Keras' defaults are
    kept where torch's differ (BatchNormalization's epsilon and momentum); a dense layer's output
    softmax is left to the loss, since torch's cross_entropy takes logits."""
    from torch import nn

    class Rescale(nn.Module):
        def __init__(self, factor: float):
            super().__init__()
            self.factor = factor

        def forward(self, x):
            return x * self.factor

    def batch_norm(layer: Layer, shape):
        kind = nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d
        return kind(shape[-1], eps=1e-3, momentum=0.01)

    return {
        "rescale": lambda layer, s: Rescale(layer.rate),
        "conv": lambda layer, s: nn.Conv2d(
            s[-1], layer.units, layer.size, padding=layer.padding, bias=layer.bias
        ),
        "bn": batch_norm,
        "activation": lambda layer, s: getattr(nn, ACTIVATIONS[layer.fn])(),
        "relu": lambda layer, s: nn.ReLU(),
        "maxpool": lambda layer, s: nn.MaxPool2d(layer.size),
        "dropout": lambda layer, s: nn.Dropout(layer.rate),
        "flatten": lambda layer, s: nn.Flatten(),
        "gap": lambda layer, s: nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()),
        "dense": lambda layer, s: nn.Linear(s[-1], layer.units, bias=layer.bias),
    }


def build(layout: list[Layer], input_shape):
    """The layer list as a torch nn.Sequential, each module named as its Keras layer."""
    from collections import OrderedDict

    from torch import nn

    made = _modules()
    inputs = [tuple(input_shape)] + [shape for shape, _, _ in shapes(layout, input_shape)][:-1]
    return nn.Sequential(OrderedDict((la.name, made[la.kind](la, s)) for la, s in zip(layout, inputs)))


def describe(name: str, params: dict, input_shape, num_classes: int) -> list[tuple]:
    """(name, output shape channels last, trainable, non-trainable parameters) of each module of
    the torch net, from one forward pass of a zero image: what a test compares with Keras'."""
    import torch

    net = build(model_layers(name, num_classes, params), input_shape).eval()
    x = torch.zeros(1, input_shape[-1], *input_shape[:-1])
    rows = []
    for layer_name, module in net.named_children():
        x = module(x)
        shape = tuple(x.shape[1:])
        stats = [
            b for key, b in module.named_buffers() if key.split(".")[-1] in ("running_mean", "running_var")
        ]
        rows.append(
            (
                layer_name,
                (*shape[1:], shape[0]) if len(shape) == 3 else shape,
                sum(p.numel() for p in module.parameters()),
                sum(b.numel() for b in stats),
            )
        )
    return rows


def describe_nets(nets: list[tuple]) -> list[list[tuple]]:
    """describe(*net) of each net in one process: importing torch is most of a child's time."""
    return [describe(*net) for net in nets]


def _optimizer(cfg, params):
    import torch

    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, cfg.learning_rate, momentum=cfg.momentum, nesterov=cfg.nesterov)
    decay = cfg.weight_decay or (1e-4 if cfg.optimizer == "adamw" else 0.0)
    return torch.optim.AdamW(params, cfg.learning_rate, weight_decay=decay, eps=1e-7)  # Keras' epsilon


def _rate(cfg, steps: int):
    """The schedule's factor at each step: linear warm-up, then constant or cosine."""
    total, warmup = max(1, cfg.epochs * steps), cfg.warmup_epochs * steps

    def rate(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if cfg.schedule != "cosine":
            return 1.0
        progress = (step - warmup) / max(1, total - warmup)
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + np.cos(np.pi * min(progress, 1.0)))

    return rate


def _augmenter(exp):
    """Random flips and translations (nearest, zero fill) done per image on a whole batch."""
    import torch
    import torch.nn.functional as F

    if exp.augmentation.policy != "flip_translate":
        return lambda images: images
    aug = exp.augmentation.params

    def augment(images):
        n = len(images)
        if aug.get("flip", True):
            flip = torch.rand(n) < 0.5
            images = torch.where(flip[:, None, None, None], images.flip(3), images)
        shift = aug.get("translate", 0.1)
        if shift:
            theta = torch.zeros(n, 2, 3)
            theta[:, 0, 0] = theta[:, 1, 1] = 1.0
            theta[:, :, 2] = (torch.rand(n, 2) * 2 - 1) * shift * 2  # grid units: [-1, 1] spans the image
            grid = F.affine_grid(theta, images.shape, align_corners=False)
            images = F.grid_sample(images, grid, mode="nearest", padding_mode="zeros", align_corners=False)
        return images

    return augment


def torch_round(exp_dict: dict, x, y, epochs: int, compiled: bool = False) -> dict | None:
    """The experiment's training in PyTorch for `epochs` epochs on NHWC uint8 images `x`: training
    images a second (the first epoch not timed), the first step's seconds (torch.compile's tracing
    and code generation when `compiled`) apart; None without torch."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    from kerasexp.config import experiment_from_dict

    exp = experiment_from_dict(exp_dict)
    cfg = exp.training
    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(cfg.seed)
    layout = model_layers(exp.model.name, int(y.max()) + 1, exp.model.params)
    model = build(layout, x.shape[1:]).to(memory_format=torch.channels_last)
    opt = _optimizer(cfg, model.parameters())
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, _rate(cfg, -(-len(x) // cfg.batch_size)))
    augment = _augmenter(exp)
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).astype("float32")).contiguous(
        memory_format=torch.channels_last
    )
    yt = torch.from_numpy(np.asarray(y, dtype="int64"))
    net = torch.compile(model) if compiled else model
    params = list(model.parameters())
    average = [p.detach().clone() for p in params] if cfg.ema_momentum else None  # training.ema_momentum

    def step(idx):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(augment(xt[idx])), yt[idx], label_smoothing=cfg.label_smoothing)
        loss.backward()
        opt.step()
        schedule.step()
        if average is not None:
            with torch.no_grad():
                torch._foreach_lerp_(average, params, 1.0 - cfg.ema_momentum)

    model.train()
    start = time.perf_counter()
    step(torch.arange(cfg.batch_size))
    first_step = time.perf_counter() - start
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), cfg.batch_size):
            step(perm[i : i + cfg.batch_size])
        seconds.append(time.perf_counter() - start)
    return {
        "img_s": len(x) / statistics.median(seconds[1:]),
        "first_step_seconds": first_step,
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "version": torch.__version__,
    }
