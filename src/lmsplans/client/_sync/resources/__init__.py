# Generated from src/lmsplans/client/_async/resources/__init__.py
# by scripts/unasync.py: do not edit (edit the source, then run the script).
"""The API's resources (`client.learners`, `client.learning_plans`, `client.courses`,
`client.oauth`), one module each."""
