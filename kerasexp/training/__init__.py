"""Training: THE one path (session.py: seed -> model -> policy -> head phase -> train), the loop
(loop.py: compile, fit; pipeline.py its tf.data input, callbacks.py its callbacks, resume.py exact
resume), losses, schedules, optimizers, fine-tuning, distribution."""
