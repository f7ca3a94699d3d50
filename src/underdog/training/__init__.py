"""The training engine: :func:`fit` for any module, loss and sampler, the built-in
networks, and the launch of data-parallel processes.

- :mod:`underdog.training.loop`: the loop (:func:`fit`, :class:`TrainEvent`,
  :class:`TrainResult`);
- :mod:`underdog.training.networks`: :func:`mlp` and batched inference
  (:func:`predict_logits`);
- :mod:`underdog.training.launch`: local processes joined by ``torch.distributed``.
"""

from .loop import TrainEvent, TrainResult, fit
from .networks import mlp, predict_logits

__all__ = ["TrainEvent", "TrainResult", "fit", "mlp", "predict_logits"]
