"""Export to ONNX / OpenVINO IR with proof (parity, same text), and INT8 quantisation."""
