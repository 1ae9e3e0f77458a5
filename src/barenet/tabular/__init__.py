"""The tabular recipes' layers: numeric embeddings, parameter-efficient ensembles,
input scaling and retrieval.
"""
