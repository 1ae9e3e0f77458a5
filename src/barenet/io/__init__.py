"""Models in and out of files: the model record, ``.npz`` files (never a pickle),
the checks made before a file is built, atomic writes, and the ONNX export.
"""
