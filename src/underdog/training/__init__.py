"""The training engine: :func:`fit`, the built-in networks and data-parallel launching.

:func:`fit` trains any module with any loss and sampler.

- :mod:`underdog.training.loop`: the loop (:func:`fit`, :class:`TrainEvent`,
  :class:`TrainResult`);
- :mod:`underdog.training.networks`: :func:`mlp` and batched inference
  (:func:`predict_logits`);
- :mod:`underdog.training.launch`: local processes joined by ``torch.distributed``.
"""

from .loop import TrainEvent, TrainResult, fit
from .networks import mlp, predict_logits

__all__ = ["TrainEvent", "TrainResult", "fit", "mlp", "predict_logits"]
