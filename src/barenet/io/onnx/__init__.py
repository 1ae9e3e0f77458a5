"""The ONNX export: a trained model, preprocessing included, as a standard graph."""
