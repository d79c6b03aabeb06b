"""``fmagenre serve``: a local page and a JSON API that classify and tag uploaded files.

The answers are predict's and tag's own (fmagenre.models.predict on the pipeline's trained
models, musicnn's tagger), so a page, a script and the command line agree. Modules: app
(routes), uploads (receiving a file within the limits), analysis (the work, off the event
loop, bounded), run (the trained models and the leaderboard of the current run),
spectrogram (the picture of a file), static/ (the page, its script and style).
"""
