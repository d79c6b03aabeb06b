"""The models: classic pipelines, feature reduction, evaluation, model files, inference, CRNN, musicnn."""
