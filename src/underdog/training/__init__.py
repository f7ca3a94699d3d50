"""The training engine: :func:`fit`, the built-in networks and data-parallel launching.

:func:`fit` trains any module with any loss and sampler.

- :mod:`underdog.training.loop`: the loop (:func:`fit`, :class:`TrainEvent`,
  :class:`TrainResult`);
- :mod:`underdog.training.networks`: :func:`mlp` and batched inference
  (:func:`predict_logits`);
- :mod:`underdog.training.ensembles`: the balanced bag of MLPs
  (:class:`BalancedBaggedMLP`, :func:`fit_balanced_bag`);
- :mod:`underdog.training.forests`: decision forests as tensors (:class:`TreeEnsemble`,
  :func:`fit_balanced_forest`) and the bag blended with one (:class:`BagForestBlend`);
- :mod:`underdog.training.launch`: local processes joined by ``torch.distributed``.
"""

from .ensembles import BalancedBaggedMLP, fit_balanced_bag
from .forests import BagForestBlend, TreeEnsemble, fit_balanced_forest
from .loop import TrainEvent, TrainResult, fit
from .networks import mlp, predict_logits

__all__ = [
    "BagForestBlend",
    "BalancedBaggedMLP",
    "TrainEvent",
    "TrainResult",
    "TreeEnsemble",
    "fit",
    "fit_balanced_bag",
    "fit_balanced_forest",
    "mlp",
    "predict_logits",
]
