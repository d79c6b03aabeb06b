"""The Free Music Archive itself: its facts, download, archives, metadata, labels and splits."""
