"""The embedding model: sentence-transformers or the int8 ONNX copy; building the default model offline."""
