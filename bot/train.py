"""`rasa train`, with Rasa's training-data validator built once (bot/rasa_speedups.py).

`make train` runs `python -m bot.train <rasa train's arguments>`: the same command line, the
same model; reading `data/nlu/` no longer dominates the training time (docs/performance.md).
"""

from __future__ import annotations

import sys

from rasa.__main__ import main

from bot import rasa_speedups

if __name__ == "__main__":
    rasa_speedups.install()
    sys.argv = ["rasa", "train", *sys.argv[1:]]
    main()
