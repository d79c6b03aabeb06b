"""Audio: decoding MP3s, the decoded store's rows, the spectrogram maths."""
