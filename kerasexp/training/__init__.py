"""Training: THE one path (session.py: seed -> model -> policy -> head phase -> train), the loop
(loop.py: compile, callbacks, fit), losses, schedules, optimizers, fine-tuning, distribution."""
