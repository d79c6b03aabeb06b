"""The CRNN on log-mel spectrograms: model, streamed batches, training."""
