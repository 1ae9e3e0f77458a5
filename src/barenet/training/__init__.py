"""From options to a trained model: the hyper-parameter specification and recipes,
``TrainConfig``, the networks a configuration describes, the fit itself and the
metrics.
"""
