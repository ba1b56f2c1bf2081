"""`kerasexp reports check`: the committed reports prove themselves (check.py), and runs replay
their first epoch (replay.py). Above runs and evaluation: it recomputes, rebuilds and retrains."""
