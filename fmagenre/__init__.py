"""fmagenre: find the best model to classify a music track's genre on the Free Music Archive."""

__version__ = "0.1.0"
