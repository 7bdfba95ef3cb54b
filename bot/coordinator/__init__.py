"""The coordinator console: a web app and its JSON API for the clinic's patient coordinators.

`python -m bot.coordinator serve` (started by `make run`); see docs/coordinators.md.
"""
