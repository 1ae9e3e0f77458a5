"""barenet in scikit-learn: ``BarenetRegressor`` and ``BarenetClassifier``, their
checks of labels and targets, and hyper-parameter search (on Dask too).
"""
