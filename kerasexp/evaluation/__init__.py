"""After training: metrics, predictions with TTA, tables and
figures, comparisons, and inference on new images."""
