"""barenet's speed machinery, kept apart from the notebook's methods.

A reader learning how a network trains can skip this package: it computes exactly
what the notebook's methods compute, only with fewer NumPy calls.

- ``fused.packing``: an optimiser created with ``fused=True`` keeps its parameters in one
  flat buffer per dtype, so an update is a handful of NumPy calls instead of a few
  per array (as tinygrad's ``fused=`` option).
- ``fused.step``: when every layer, the loss, the optimiser and the model's own
  ``forward``/``loss``/``backward``/``update`` are barenet's built-ins, unchanged,
  ``MLP.train`` runs each batch through ``FusedStep`` instead of the model's
  methods: the same operations, writing gradients in place and skipping the first
  layer's unused input gradient. Anything a user overrides switches it off, so a
  learner's change always takes effect. The tests check that both paths give
  bit-identical weights.
- ``names``, ``select``: which engine trains and predicts (``MLP.train``'s one
  ``engine=`` knob): ``methods`` (the notebook's methods), ``fused`` (``FusedStep``,
  with small numba loops in ``fused.loops``) or ``compiled``; ``compiled``
  (``kernels``, ``formulas``, ``training``, ``predict``): the compiled engine,
  whole chunks of batches in numba kernels that compute the same formulas
  (``tests/engines/test_engine.py`` checks that the weights agree to rounding).
"""

from barenet.engines.hooks import install

install()  # the core asks barenet.registry.ENGINES, never this package
