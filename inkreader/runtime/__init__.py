"""Reading lines with a model: the Recognizer over the PyTorch, ONNX Runtime and OpenVINO
backends."""
