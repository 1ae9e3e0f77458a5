"""The compiled engine: numba kernels that train and predict a whole network."""
