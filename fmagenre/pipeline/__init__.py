"""One module per DVC stage, named after it, holding that stage's logic."""
