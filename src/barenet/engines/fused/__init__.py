"""The fused engine's step (``FusedStep``): the notebook's four methods with
fewer NumPy calls, and its compiled loops.
"""
